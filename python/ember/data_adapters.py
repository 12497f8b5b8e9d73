"""Streaming input for ``fit``, ``evaluate`` and ``predict``.

Besides in-memory arrays, the trainer takes:

* a :class:`PyDataset` (Keras 3's contract: ``__len__`` batches,
  ``__getitem__(index)`` one batch, ``on_epoch_begin``/``on_epoch_end``);
  ``workers`` > 1 prepares batches ahead in threads, ``use_multiprocessing``
  in forked processes that hand each batch back through shared memory;
* a Python generator or any other iterator (read once, across epochs);
* any other iterable of batches (read again each epoch), such as
  ``timeseries_dataset_from_array``'s result.

A batch is ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``, where
``x`` and ``y`` may be arrays, lists or dicts of arrays. Batches are yielded
in index order whatever the number of workers, so training from a PyDataset
gives the same weights for any ``workers``: the trainer's random draws
(shuffled order, dropout) all happen in the calling thread.
"""
import collections
import itertools
import multiprocessing
import os
import pickle
import queue
import secrets
import signal
import threading
import traceback
import types
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import numpy as np

# How long a blocked wait sleeps before it looks again (for a dead worker
# process, and so that Ctrl-C is seen promptly).
_POLL_S = 0.05
# Shared-memory blocks are aligned and grown in these units.
_ALIGN = 64
_MIN_SLOT = 1 << 20


class PyDataset:
    """Base class of a dataset written in Python, as ``keras.utils.PyDataset``.

    A subclass defines ``__len__`` (the number of batches in an epoch) and
    ``__getitem__(index)`` returning batch ``index``: ``x``, ``(x, y)`` or
    ``(x, y, sample_weight)``, where ``x`` and ``y`` may be arrays, lists or
    dicts of arrays (several inputs or outputs). ``on_epoch_begin`` and
    ``on_epoch_end`` run before and after each epoch.

    Arguments (pass them on through ``super().__init__(**kwargs)``):
        workers: how many workers prepare batches ahead of the trainer.
            With 0 or 1 (and no multiprocessing) batches are made in the
            calling thread when needed, as Keras does.
        use_multiprocessing: prepare batches in forked worker processes
            (for CPU-bound Python preprocessing) instead of threads. Each
            process writes its batch's arrays into a shared-memory block that
            the trainer reads; only a small description of the batch goes
            through a pipe. A dataset that defines ``on_epoch_begin`` or
            ``on_epoch_end`` gets processes forked at each epoch's start, so
            they see the dataset as the hooks left it; one without them
            keeps its processes for every epoch of a fit.
            ``__getitem__`` must not use ember's kernels there (OpenMP does
            not survive ``fork``); NumPy, file reading and decoding are fine.
        max_queue_size: at most this many batches are prepared ahead (which
            bounds the memory the prefetching uses).

    Batches come back in index order whatever ``workers`` is.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _super_init_defaults(self):
        if not all(hasattr(self, a) for a in ("_workers", "_use_multiprocessing", "_max_queue_size")):
            warnings.warn(f"{type(self).__name__} should call `super().__init__(**kwargs)` in its "
                          "constructor (kwargs may hold `workers`, `use_multiprocessing`, "
                          "`max_queue_size`); using the defaults.", stacklevel=3)
            self.__dict__.setdefault("_workers", 1)
            self.__dict__.setdefault("_use_multiprocessing", False)
            self.__dict__.setdefault("_max_queue_size", 10)

    def _setting(name, doc):
        def get(self):
            self._super_init_defaults()
            return getattr(self, "_" + name)

        def put(self, value):
            setattr(self, "_" + name, value)
        return property(get, put, doc=doc)

    workers = _setting("workers", "How many workers prepare batches ahead.")
    use_multiprocessing = _setting("use_multiprocessing", "Workers are processes, not threads.")
    max_queue_size = _setting("max_queue_size", "At most this many batches are prepared ahead.")
    del _setting

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index), returning "
                                  "one batch.")

    @property
    def num_batches(self):
        """Batches per epoch (``len(self)``), or None for an endless dataset."""
        if hasattr(self, "__len__"):
            return self.__len__()  # not len(), so that a wrong type is reported as such
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (batches per epoch) or a "
                                  "`num_batches` property.")

    def __iter__(self):
        count = self.num_batches
        for index in (itertools.count() if count is None else range(count)):
            yield self[index]

    def on_epoch_begin(self):
        """Called before each epoch."""

    def on_epoch_end(self):
        """Called after each epoch."""


#: Keras 2's name for :class:`PyDataset`.
Sequence = PyDataset


# ---------------------------------------------------------------- what is a stream
def _is_pydataset_like(x):
    # A Keras PyDataset (or any object with its methods) is read the same way.
    return isinstance(x, PyDataset) or (
        hasattr(x, "__getitem__") and hasattr(x, "__len__") and hasattr(x, "on_epoch_end")
        and not isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)))


def is_stream(x):
    """True for the inputs this module reads batch by batch: a PyDataset,
    an iterator or generator, or another iterable that is not an array,
    list, tuple, dict or tensor."""
    from .engine import Tensor
    if x is None or isinstance(x, (np.ndarray, Tensor, list, tuple, dict, str, bytes, int, float)):
        return False
    return _is_pydataset_like(x) or isinstance(x, types.GeneratorType) or hasattr(x, "__iter__")


def _check_steps(steps, name):
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps <= 0:
        raise ValueError(f"`{name}` must be a positive int or None. Received: {name}={steps!r}")
    return int(steps)


def get_adapter(x, y=None, sample_weight=None, steps=None, shuffle=False, steps_name="steps_per_epoch",
                what="x"):
    """A :class:`StreamAdapter` for a streaming ``x``, or None for arrays."""
    if not is_stream(x):
        return None
    for name, value in (("y", y), ("sample_weight", sample_weight)):
        if value is not None:
            raise ValueError(f"`{name}` must not be given when `{what}` is a {_kind(x)}: its batches carry "
                             f"(x, y, sample_weight). Received: {name} of type {type(value).__name__}")
    return StreamAdapter(x, _check_steps(steps, steps_name), bool(shuffle), steps_name)


def _kind(x):
    if _is_pydataset_like(x):
        return "PyDataset"
    if isinstance(x, types.GeneratorType):
        return "generator"
    return "iterator" if iter(x) is x else "iterable"


def _standardize(batch, index, source):
    """A batch as the 3-tuple (x, y, sample_weight), missing parts None."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if isinstance(batch, tuple):
        if not 1 <= len(batch) <= 3:
            raise ValueError(f"Batch {index} of the {source} must be x, (x,), (x, y) or (x, y, sample_weight). "
                             f"Received: a tuple of {len(batch)} elements")
        return tuple(batch) + (None,) * (3 - len(batch))
    if batch is None or isinstance(batch, (str, bytes)) or not (
            isinstance(batch, dict) or hasattr(batch, "shape") or hasattr(batch, "__array__")):
        raise TypeError(f"Batch {index} of the {source} must be x, (x,), (x, y) or (x, y, sample_weight) of "
                        f"arrays. Received: {type(batch).__name__} {str(batch)[:80]}")
    return batch, None, None


def _signature(part):
    """Structure, dtypes and per-sample shapes of a batch part (batch size left out)."""
    if part is None:
        return None
    if isinstance(part, (list, tuple)):
        return tuple(_signature(p) for p in part)
    if isinstance(part, dict):
        return {k: _signature(v) for k, v in part.items()}
    from .engine import Tensor
    if isinstance(part, Tensor):
        return ("tensor", tuple(part.shape[1:]))
    arr = part if isinstance(part, np.ndarray) else np.asarray(part)
    return (arr.dtype.str, tuple(arr.shape[1:]))


def _note(exc, text):
    if hasattr(exc, "add_note"):
        exc.add_note(text)
    return exc


# ---------------------------------------------------------------- the adapter
class StreamAdapter:
    """Reads a streaming input epoch by epoch. ``steps`` is the number of
    batches per epoch when known (from ``steps`` or ``len``), else None
    until the first epoch has run to the end."""

    def __init__(self, data, steps, shuffle, steps_name):
        self.data = data
        self.source = _kind(data)
        self.shuffle = shuffle
        self.steps_name = steps_name
        self._epochs = 0
        self._first = None  # (index, signature) of the first batch seen
        self._iterator = None
        self._pool = None  # worker processes kept across epochs
        self._current = None  # the feeder of the epoch being read
        if self.source == "PyDataset":
            try:
                count = data.num_batches if hasattr(data, "num_batches") else data.__len__()
            except NotImplementedError as exc:
                raise TypeError(f"{exc} Received: {type(data).__name__} without either") from None
            if count is not None:
                if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
                    raise TypeError(f"len() of a PyDataset must be a non-negative int. Received: {count!r}")
                if count == 0:
                    raise ValueError(f"The PyDataset {type(data).__name__} is empty: it must hold at least one "
                                     "batch. Received: len()=0")
                if steps is not None and steps > count:
                    raise ValueError(f"`{steps_name}` must be at most the PyDataset's length {count}. "
                                     f"Received: {steps_name}={steps}")
            elif steps is None:
                raise ValueError(f"The PyDataset {type(data).__name__} has no length (num_batches is None): "
                                 f"give `{steps_name}`. Received: {steps_name}=None")
            self._count = count
            self._workers, self._use_mp, self._queue = _pool_settings(data)
        elif self.source in ("generator", "iterator"):
            self._iterator = data
        if steps is None and self.source == "iterable" and hasattr(data, "__len__"):
            steps = len(data)
            if steps == 0:
                raise ValueError(f"The {self.source} of batches is empty. Received: len()=0")
        self.steps = steps if steps is not None else (self._count if self.source == "PyDataset" else None)

    # -------------------------------------------------------- raw batches
    def _indices(self):
        from . import utils
        if self._count is None:  # endless: carry on counting across epochs
            start = self._epochs * self.steps
            return range(start, start + self.steps)
        order = utils.rng().permutation(self._count) if self.shuffle else np.arange(self._count)
        return [int(i) for i in order[:self.steps]]

    def _pydataset_batches(self):
        self.data.on_epoch_begin()
        indices = self._indices()
        if self._use_mp and self._workers >= 1:
            feeder = self._process_feeder(indices)
        elif self._workers > 1:
            feeder = _ThreadFeeder(self.data, indices, self._workers, self._queue)
        else:
            feeder = _inline(self.data, indices)
        self._current = feeder
        try:
            with feeder:
                yield from feeder
        except GeneratorExit:  # the trainer stopped early (stop_training, or fewer steps)
            self.data.on_epoch_end()
            raise
        self.data.on_epoch_end()

    def _process_feeder(self, indices):
        """The epoch's worker processes. A dataset without its own epoch
        hooks keeps its processes (and shared-memory blocks) from epoch to
        epoch until ``close``, which saves forking them each epoch; one whose
        ``on_epoch_begin``/``on_epoch_end`` may change it gets processes
        forked anew for each epoch, so that they see the change."""
        if self._pool is not None:
            if self._pool.alive():
                self._pool.indices = indices
                return self._pool
            self.close()
        feeder = _ProcessFeeder(self.data, indices, self._workers, self._queue)
        data_type = type(self.data)
        if (isinstance(self.data, PyDataset) and data_type.on_epoch_begin is PyDataset.on_epoch_begin
                and data_type.on_epoch_end is PyDataset.on_epoch_end):
            feeder.persistent = True
            self._pool = feeder
            self._finalizer = weakref.finalize(self, feeder.close)
        return feeder

    def close(self):
        """Stops worker processes kept across epochs (fit, evaluate and
        predict call it when they end; it also runs when the adapter is
        collected)."""
        pool, self._pool = self._pool, None
        current, self._current = self._current, None
        if pool is not None:
            self._finalizer.detach()
            pool.close()
        # An epoch interrupted outside the feeder (an error or Ctrl-C in a
        # training step leaves its generator suspended): stop its workers now
        # rather than when the generator is collected.
        if current is not None and current is not pool:
            current.close()

    def _iterable_batches(self):
        it = self._iterator if self._iterator is not None else iter(self.data)
        index = 0
        while self.steps is None or index < self.steps:
            try:
                batch = next(it)
            except StopIteration:
                break
            except Exception as exc:
                raise _note(exc, f"Raised by the {self.source} while producing batch {index}.")
            yield index, batch
            index += 1
        if index == 0:
            extra = (" A generator is read once: for several epochs give `steps_per_epoch` for each, "
                     "or pass a PyDataset or a re-iterable object.") if self._epochs else ""
            raise ValueError(f"The {self.source} yielded no batch in epoch {self._epochs + 1}.{extra} "
                             "Received: 0 batches")
        if self.steps is not None and index < self.steps:
            raise ValueError(f"The {self.source} ran out of data at batch {index} of epoch {self._epochs + 1}: "
                             f"expected {self.steps} batches per epoch (`{self.steps_name}`). "
                             f"Received: {index} batches")
        if self.steps is None:
            self.steps = index

    def raw_batches(self):
        """(index, batch) for one epoch, each batch a standardized 3-tuple,
        checked to keep the structure, dtypes and shapes of the first."""
        source = self.source
        produce = self._pydataset_batches() if source == "PyDataset" else self._iterable_batches()
        for index, batch in produce:
            batch = _standardize(batch, index, source)
            sig = [_signature(p) for p in batch]
            if self._first is None:
                self._first = (index, sig)
            elif sig != self._first[1]:
                raise ValueError(f"Batch {index} of the {source} differs from batch {self._first[0]} in "
                                 "structure, dtype or per-sample shape (x, y, sample_weight): expected "
                                 f"{self._first[1]}. Received: {sig}")
            yield index, batch
        self._epochs += 1

    # -------------------------------------------------------- model-ready batches
    def batches(self, model, need_y=True, class_weight=None):
        """(x, y, sample_weight) per step, converted as the trainer wants
        them (float32 inputs, checked labels)."""
        for index, (x, y, sw) in self.raw_batches():
            try:
                bx = model._prepare_x(x, "x")
                if not need_y:
                    yield bx, None, None
                    continue
                n = len(_leaf(bx))
                if y is None and model._loss_fns is not None:
                    raise ValueError("fit() and evaluate() need labels: batches must be (x, y) or "
                                     "(x, y, sample_weight). Received: a batch without y")
                by = model._prepare_y(y, n)
                bw = model._sample_weights(sw, class_weight, by, n) if (
                    sw is not None or class_weight is not None) else None
            except (ValueError, TypeError) as exc:
                raise type(exc)(f"Batch {index} of the {self.source}: {exc}") from exc
            yield bx, by, bw


def _leaf(x):
    while isinstance(x, (list, tuple, dict)):
        x = next(iter(x.values())) if isinstance(x, dict) else x[0]
    return x


def _pool_settings(ds):
    workers = getattr(ds, "workers", 1)
    use_mp = getattr(ds, "use_multiprocessing", False)
    size = getattr(ds, "max_queue_size", 10)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 0:
        raise ValueError(f"`workers` must be a non-negative int. Received: workers={workers!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
        raise ValueError(f"`max_queue_size` must be a positive int. Received: max_queue_size={size!r}")
    return int(workers), bool(use_mp), int(size)


# ---------------------------------------------------------------- feeders
class _inline:
    """Batches made in the calling thread, when asked for."""

    def __init__(self, ds, indices):
        self.ds, self.indices = ds, indices

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def close(self):
        pass

    def __iter__(self):
        for index in self.indices:
            try:
                batch = self.ds[index]
            except Exception as exc:
                raise _note(exc, f"Raised by {type(self.ds).__name__}.__getitem__({index}).")
            yield index, batch


class _ThreadFeeder(_inline):
    """Up to ``queue_size`` batches requested ahead from ``workers`` threads;
    handed out in index order."""

    def __init__(self, ds, indices, workers, queue_size):
        super().__init__(ds, indices)
        self.workers, self.queue_size = workers, queue_size
        self.pool = None

    def __enter__(self):
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="ember-pydataset")
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def __iter__(self):
        pending = collections.deque()
        todo = iter(self.indices)
        for index in itertools.islice(todo, self.queue_size):
            pending.append((index, self.pool.submit(self.ds.__getitem__, index)))
        while pending:
            index, future = pending.popleft()
            for nxt in itertools.islice(todo, 1):
                pending.append((nxt, self.pool.submit(self.ds.__getitem__, nxt)))
            while True:
                try:
                    batch = future.result(timeout=_POLL_S)
                    break
                except FutureTimeout:
                    continue
                except Exception as exc:
                    for _, f in pending:
                        f.cancel()
                    raise _note(exc, f"Raised by {type(self.ds).__name__}.__getitem__({index}) in a worker "
                                     "thread.")
            yield index, batch


def _flatten(obj, leaves):
    """A picklable description of a nest of arrays; the arrays go to ``leaves``."""
    if isinstance(obj, (list, tuple)):
        return ("list" if isinstance(obj, list) else "tuple", [_flatten(o, leaves) for o in obj])
    if isinstance(obj, dict):
        return ("dict", [(k, _flatten(v, leaves)) for k, v in obj.items()])
    if obj is None:
        return ("none",)
    leaves.append(np.asarray(obj))
    return ("leaf", len(leaves) - 1)


def _unflatten(spec, leaves):
    kind = spec[0]
    if kind == "leaf":
        return leaves[spec[1]]
    if kind == "none":
        return None
    if kind == "dict":
        return {k: _unflatten(s, leaves) for k, s in spec[1]}
    items = [_unflatten(s, leaves) for s in spec[1]]
    return items if kind == "list" else tuple(items)


def _layout(leaves):
    """Byte offsets of each array in a block, aligned; and the total size."""
    offsets, total = [], 0
    for a in leaves:
        offsets.append(total)
        total += -(-a.nbytes // _ALIGN) * _ALIGN
    return offsets, total


def _attach(name):
    from multiprocessing import shared_memory
    return shared_memory.SharedMemory(name=name)


def _process_main(ds, tasks, results):
    """A worker process: batches for the indices it is sent, written into
    the shared-memory block named with each task."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    blocks = {}
    while True:
        task = tasks.get()
        if task is None:
            break
        index, slot, name, size = task
        try:
            batch = ds[index]
            leaves = []
            spec = _flatten(batch, leaves)
            offsets, total = _layout(leaves)
            if name is None or total > size or any(a.dtype.hasobject for a in leaves):
                results.put(("pickled", index, slot, pickle.dumps(batch, protocol=5), total))
                continue
            if slot not in blocks or blocks[slot].name != name:
                if slot in blocks:
                    blocks[slot].close()
                blocks[slot] = _attach(name)
            buf = blocks[slot].buf
            for a, off in zip(leaves, offsets):
                np.frombuffer(buf, np.uint8, a.nbytes, off)[:] = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
            results.put(("shm", index, slot, spec, [(a.dtype.str, a.shape, off) for a, off in zip(leaves, offsets)]))
        except BaseException as exc:  # noqa: B902 - every failure goes back to the parent
            text = traceback.format_exc()
            try:
                payload = pickle.dumps(exc)
                pickle.loads(payload)
            except Exception:
                payload = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
            results.put(("error", index, slot, payload, text))
    for block in blocks.values():
        block.close()


class _ProcessFeeder(_inline):
    """``workers`` forked processes; each batch comes back through one of
    ``queue_size`` shared-memory blocks owned (created and unlinked) here."""

    def __init__(self, ds, indices, workers, queue_size):
        super().__init__(ds, indices)
        self.workers, self.queue_size = workers, queue_size
        self.procs, self.blocks = [], [None] * queue_size
        self._tag = f"ember_{os.getpid()}_{secrets.token_hex(4)}"
        self._made = 0
        self.persistent = False  # kept running after an epoch that ends normally
        self._finished = False

    def alive(self):
        return bool(self.procs) and all(p.is_alive() for p in self.procs)

    def __enter__(self):
        self._finished = False
        if self.procs:  # kept from the last epoch
            return self
        from multiprocessing import resource_tracker
        # The tracker must exist before the fork so that the workers share it
        # (their attachments then do not look like leaks when they exit).
        resource_tracker.ensure_running()
        ctx = multiprocessing.get_context("fork")
        self.tasks, self.results = ctx.Queue(), ctx.Queue()
        try:
            for _ in range(self.workers):
                p = ctx.Process(target=_process_main, args=(self.ds, self.tasks, self.results), daemon=True,
                                name="ember-pydataset")
                p.start()
                self.procs.append(p)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        # After a whole epoch no task is in flight: the processes can serve
        # the next one. An error, or an epoch left early, stops them.
        if not (self.persistent and self._finished and exc[:1] in ((), (None,))):
            self.close()
        return False

    def close(self):
        if not hasattr(self, "tasks"):  # never started
            return
        for p in self.procs:
            if p.is_alive():
                try:
                    self.tasks.put_nowait(None)
                except Exception:
                    pass
        for p in self.procs:
            p.join(timeout=0.5)
        for p in self.procs:
            if p.is_alive():
                p.terminate()
                p.join(timeout=1.0)
            if p.is_alive():
                p.kill()
                p.join()
        for q in (self.tasks, self.results):
            q.cancel_join_thread()
            q.close()
        for i, block in enumerate(self.blocks):
            if block is not None:
                block.close()
                block.unlink()
                self.blocks[i] = None
        self.procs = []

    def _grow(self, slot, nbytes):
        from multiprocessing import shared_memory
        old = self.blocks[slot]
        if old is not None and old.size >= nbytes:
            return
        if old is not None:
            old.close()
            old.unlink()
            self.blocks[slot] = None
        size = max(_MIN_SLOT, -(-int(nbytes * 1.25) // _MIN_SLOT) * _MIN_SLOT)
        self._made += 1
        self.blocks[slot] = shared_memory.SharedMemory(name=f"{self._tag}_{self._made}", create=True, size=size)

    def _submit(self, index, slot):
        block = self.blocks[slot]
        self.tasks.put((index, slot, None if block is None else block.name, 0 if block is None else block.size))

    def _receive(self):
        while True:
            try:
                return self.results.get(timeout=_POLL_S)
            except queue.Empty:
                dead = [p for p in self.procs if p.exitcode is not None]
                if dead:
                    raise RuntimeError(f"A PyDataset worker process ({type(self.ds).__name__}) died with exit "
                                       f"code {dead[0].exitcode} while preparing batches.")

    def _read(self, message):
        kind, index, slot = message[:3]
        if kind == "error":
            exc = pickle.loads(message[3])
            raise _note(exc, f"Raised by {type(self.ds).__name__}.__getitem__({index}) in a worker process:\n"
                             f"{message[4]}")
        if kind == "pickled":
            if message[4]:
                self._grow(slot, message[4])
            return pickle.loads(message[3])
        spec, metas = message[3], message[4]
        buf = self.blocks[slot].buf
        leaves = []
        for dtype, shape, off in metas:
            dt = np.dtype(dtype)
            count = int(np.prod(shape, dtype=np.int64))
            leaves.append(np.frombuffer(buf, dt, count, off).reshape(shape).copy())
        del buf
        return _unflatten(spec, leaves)

    def __iter__(self):
        todo = iter(self.indices)
        free = list(range(self.queue_size))[::-1]
        order = collections.deque()
        for index in itertools.islice(todo, self.queue_size):
            slot = free.pop()
            order.append(index)
            self._submit(index, slot)
        done = {}
        while order:
            index = order.popleft()
            while index not in done:
                message = self._receive()
                done[message[1]] = message
            message = done.pop(index)
            batch = self._read(message)
            slot = message[2]
            for nxt in itertools.islice(todo, 1):
                order.append(nxt)
                self._submit(nxt, slot)
            if not order:
                self._finished = True
            yield index, batch


__all__ = ["PyDataset", "Sequence", "is_stream", "get_adapter", "StreamAdapter"]
