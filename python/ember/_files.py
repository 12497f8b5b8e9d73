"""Fetching files into the cache: download with a hash check and an atomic
rename, and safe unpacking of tar/zip archives.

``ember.utils.get_file`` and the loaders in ``ember.datasets`` both go
through ``ensure``: a file lands in the cache only once its hash matched;
anything else is deleted before the error is raised.
"""
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib

HASH_ALGORITHMS = ("auto", "sha256", "md5")
ARCHIVE_FORMATS = ("tar", "zip")


def ember_home():
    """``$EMBER_HOME`` when set, else ``~/.ember``."""
    return os.environ.get("EMBER_HOME") or os.path.join(os.path.expanduser("~"), ".ember")


def resolve_algorithm(algorithm, file_hash=None):
    """"sha256" or "md5"; "auto" picks sha256 for a 64-digit hash, else md5."""
    if algorithm not in HASH_ALGORITHMS:
        raise ValueError(f"hash_algorithm must be one of {HASH_ALGORITHMS}. Received: {algorithm!r}")
    if algorithm == "auto":
        return "sha256" if file_hash is not None and len(file_hash) == 64 else "md5"
    return algorithm


def hash_file(path, algorithm="sha256"):
    h = hashlib.new(resolve_algorithm(algorithm))
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(url, dest, file_hash=None, algorithm="auto", timeout=30):
    """Fetches url into dest through a temporary file in dest's folder that is
    renamed into place only when complete and, given file_hash, matching.
    On any failure the temporary file is deleted and the error names the url:
    ValueError for a hash mismatch, OSError for the network or a short read."""
    from . import utils  # utils imports this module

    algo = resolve_algorithm(algorithm, file_hash)
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=os.path.dirname(dest) or ".")
    try:
        h = hashlib.new(algo)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
                total = resp.headers.get("Content-Length")
                total = int(total) if total and total.isdigit() else None
                print(f"Downloading data from {url}", file=sys.stderr)
                bar = utils.Progbar(total, stream=sys.stderr, unit_name="byte") if total else None
                done = 0
                for chunk in iter(lambda: resp.read(1 << 16), b""):
                    out.write(chunk)
                    h.update(chunk)
                    done += len(chunk)
                    if bar:
                        bar.update(min(done, total), finalize=False)
                if bar:
                    bar.update(done, finalize=True)
        except (OSError, ValueError) as e:  # URLError, HTTPError, timeouts, bad urls
            raise OSError(f"URL fetch failure on {url}: {e}") from e
        except Exception as e:  # http.client.IncompleteRead and friends
            raise OSError(f"URL fetch failure on {url}: {type(e).__name__}: {e}") from e
        if total is not None and done != total:
            raise OSError(f"URL fetch failure on {url}: truncated download, {done} of {total} bytes")
        if file_hash is not None and h.hexdigest() != file_hash.lower():
            raise ValueError(f"{url}: {algo} mismatch: expected {file_hash}, received {h.hexdigest()}. "
                             "The file was deleted, nothing was cached.")
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def ensure(dest, urls, file_hash=None, algorithm="auto", force=False, hint=None):
    """Makes dest a verified copy of the file at the first url that delivers
    it; returns True when it downloaded, False on a cache hit.

    A cached file whose hash does not match is deleted and fetched again. When
    every url fails: with one url and no hint its own error is raised (as
    get_file does); otherwise an OSError lists each url's error, then hint."""
    if not force and os.path.isfile(dest):
        if file_hash is None or hash_file(dest, resolve_algorithm(algorithm, file_hash)) == file_hash.lower():
            return False
        os.unlink(dest)  # damaged or outdated cache entry
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    errors = []
    for url in urls:
        try:
            download(url, dest, file_hash, algorithm)
            return True
        except (OSError, ValueError) as e:
            errors.append(e)
    if len(errors) == 1 and hint is None:
        raise errors[0]
    raise OSError(f"Could not download {os.path.basename(dest)}. Tried:\n  "
                  + "\n  ".join(str(e) for e in errors or ["(no urls)"]) + (f"\n{hint}" if hint else ""))


# ---------------------------------------------------------------- archives

def _inside(path, base):
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def _check_name(name, base, archive):
    if not name or os.path.isabs(name) or name.startswith(("/", "\\")):
        raise ValueError(f"{archive}: refusing to extract member {name!r}: absolute path")
    target = os.path.realpath(os.path.join(base, name))
    if not _inside(target, base):
        raise ValueError(f"{archive}: refusing to extract member {name!r}: it would land outside "
                         f"the target folder (path traversal)")
    return target


def _extract_tar(archive, base):
    # Members are checked one at a time against the folder as it stands, so a
    # symlink extracted earlier cannot carry a later member outside.
    with tarfile.open(archive) as tar:
        for m in tar:
            _check_name(m.name, base, archive)
            if m.issym():
                where = os.path.dirname(os.path.join(base, m.name))
                if os.path.isabs(m.linkname) or not _inside(
                        os.path.realpath(os.path.join(where, m.linkname)), base):
                    raise ValueError(f"{archive}: refusing to extract symlink {m.name!r} -> {m.linkname!r}: "
                                     "it points outside the target folder")
            elif m.islnk():
                if os.path.isabs(m.linkname) or not _inside(
                        os.path.realpath(os.path.join(base, m.linkname)), base):
                    raise ValueError(f"{archive}: refusing to extract hard link {m.name!r} -> {m.linkname!r}: "
                                     "it points outside the target folder")
            elif not (m.isfile() or m.isdir()):
                raise ValueError(f"{archive}: refusing to extract member {m.name!r}: "
                                 "devices and fifos are not allowed")
            if hasattr(tarfile, "data_filter"):
                tar.extract(m, base, filter="data")  # a second line of defence
            else:
                tar.extract(m, base)


def _extract_zip(archive, base):
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            _check_name(info.filename, base, archive)
            zf.extract(info, base)


def _archive_format(path, archive_format):
    if archive_format == "auto":
        formats = list(ARCHIVE_FORMATS)
    elif isinstance(archive_format, str):
        formats = [archive_format]
    elif isinstance(archive_format, (list, tuple)):
        formats = list(archive_format)
    else:
        raise TypeError(f"archive_format must be 'auto', 'tar', 'zip' or a list of them. "
                        f"Received: {archive_format!r}")
    for fmt in formats:
        if fmt not in ARCHIVE_FORMATS:
            raise ValueError(f"archive_format must be 'auto', 'tar', 'zip' or a list of them. Received: {fmt!r}")
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(path) or fmt == "zip" and zipfile.is_zipfile(path):
            return fmt
    raise ValueError(f"{path} is not an archive of format {' or '.join(formats) or '(none)'}")


def extract_archive(path, dest, archive_format="auto"):
    """Unpacks a tar (plain, gz, bz2, xz) or zip archive into the folder dest.

    Members with absolute paths or paths leading outside dest, links pointing
    outside dest, and device files are refused with ValueError. The archive is
    unpacked into a temporary folder that replaces dest only when complete,
    so dest never holds half an archive."""
    path, dest = os.fspath(path), os.fspath(dest)
    fmt = _archive_format(path, archive_format)
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".extract-", dir=parent)
    try:
        base = os.path.realpath(tmp)
        try:
            (_extract_tar if fmt == "tar" else _extract_zip)(path, base)
        except getattr(tarfile, "FilterError", ()) as e:  # Python's own "data" filter said no
            raise ValueError(f"{path}: refusing to extract: {e}") from None
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as e:
            raise ValueError(f"{path}: damaged {fmt} archive ({type(e).__name__}: {e})") from None
        if os.path.isdir(dest) and not os.path.islink(dest):
            old = tempfile.mkdtemp(prefix=".replaced-", dir=parent)
            os.replace(dest, os.path.join(old, "x"))
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            if os.path.lexists(dest):
                os.unlink(dest)
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


# ---------------------------------------------------------------- get_file

def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None,
             force_download=False):
    """Downloads ``origin`` into the cache unless a verified copy is there;
    returns its path (as ``keras.utils.get_file``).

    The file goes to ``<cache_dir>/<cache_subdir>/<fname>``; cache_dir defaults
    to ``$EMBER_HOME`` or ``~/.ember``, fname to the last part of the url's
    path. With ``file_hash`` (sha256, or md5 by its 32 digits, see
    ``hash_algorithm``) a download is kept only when it matches: otherwise it
    is deleted and ValueError names both hashes; a cached copy that does not
    match is fetched again. ``extract=True`` (or the deprecated ``untar``)
    unpacks a tar/zip archive safely and returns the folder: ``<fname>`` when
    fname has no extension (the archive is then kept as ``<fname>_archive``),
    else ``<fname up to its first dot>_extracted``. ``md5_hash`` is the
    deprecated spelling of an md5 ``file_hash``.
    """
    if origin is None:
        raise ValueError("get_file needs the `origin` argument (the url of the file). Received: origin=None")
    if not isinstance(origin, str):
        raise TypeError(f"get_file expects `origin` to be a url string. Received: origin={origin!r}")
    for arg, value in (("file_hash", file_hash), ("md5_hash", md5_hash)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"get_file expects `{arg}` to be a hex string or None. Received: {arg}={value!r}")
    if not isinstance(cache_subdir, (str, os.PathLike)):
        raise TypeError(f"get_file expects `cache_subdir` to be a string. Received: cache_subdir={cache_subdir!r}")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    resolve_algorithm(hash_algorithm, file_hash)  # validates
    if fname is not None and not isinstance(fname, (str, os.PathLike)):
        raise TypeError(f"get_file expects `fname` to be a file name or None. Received: fname={fname!r}")
    fname = os.fspath(fname) if fname is not None else None
    if fname and (os.sep in fname or "/" in fname):
        raise ValueError("get_file's `fname` is a file name; choose the folder with `cache_dir` and "
                         f"`cache_subdir`. Received: fname={fname!r}")
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Cannot take a file name from origin={origin!r}; pass `fname`.")
        named = False
    else:
        named = True

    base = os.path.expanduser(os.fspath(cache_dir)) if cache_dir is not None else ember_home()
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        pass
    if not os.access(base, os.W_OK):  # a read-only home: fall back to the temp folder
        base = os.path.join(tempfile.gettempdir(), ".ember")
    folder = os.path.join(base, os.fspath(cache_subdir))
    os.makedirs(folder, exist_ok=True)

    unpack = bool(extract or untar)
    if unpack and named and "." in fname:
        target = os.path.join(folder, fname)
        unpacked = os.path.join(folder, fname[:fname.index(".")] + "_extracted")
    elif unpack:
        target = os.path.join(folder, fname + "_archive")
        unpacked = os.path.join(folder, fname)
    else:
        target = os.path.join(folder, fname)

    downloaded = ensure(target, [origin], file_hash, hash_algorithm, force=force_download)
    if not unpack:
        return target
    if archive_format is None or (isinstance(archive_format, (list, tuple)) and not archive_format):
        raise ValueError("get_file(extract=True) needs an archive_format. Received: archive_format="
                         f"{archive_format!r}")
    if downloaded or not os.path.isdir(unpacked):
        extract_archive(target, unpacked, "tar" if untar else archive_format)
    return unpacked
