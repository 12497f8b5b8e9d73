"""``timeseries_dataset_from_array``: sliding windows over a series."""
import numpy as np

from .. import utils


def _positive_int(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"`{name}` must be a positive int{' or None' if allow_none else ''}. "
                         f"Received: {name}={value!r}")
    return int(value)


class TimeseriesDataset:
    """The windows made by :func:`timeseries_dataset_from_array`: iterate it
    (any number of times) for NumPy batches ``(x, y)``, or ``x`` alone when
    there are no targets; ``len()`` is the number of batches."""

    def __init__(self, data, targets, starts, offsets, batch_size, rng):
        self.data, self.targets = data, targets
        self.starts, self.offsets = starts, offsets
        self.batch_size, self._rng = batch_size, rng

    @property
    def num_sequences(self):
        return len(self.starts)

    def __len__(self):
        if self.batch_size is None:
            return self.num_sequences
        return -(-self.num_sequences // self.batch_size)

    def __iter__(self):
        starts = self.starts
        if self._rng is not None:
            starts = starts.copy()
            self._rng.shuffle(starts)
        if self.batch_size is None:
            for s in starts:
                x = self.data[s + self.offsets]
                yield x if self.targets is None else (x, self.targets[s])
            return
        for lo in range(0, len(starts), self.batch_size):
            chunk = starts[lo:lo + self.batch_size]
            x = self.data[chunk[:, None] + self.offsets]
            yield x if self.targets is None else (x, self.targets[chunk])


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None):
    """Windows of ``sequence_length`` steps taken from ``data`` with Keras's
    arguments: window ``i`` starts at ``start_index + i * sequence_stride``
    and takes every ``sampling_rate``-th step; its target is
    ``targets[start_index + i * sequence_stride]``. Only rows
    ``start_index:end_index`` of ``data`` are used.

    ember has no tf.data: this returns a :class:`TimeseriesDataset`, an
    iterable that yields NumPy batches ``(x, y)`` of ``batch_size`` windows
    (``x`` alone when ``targets`` is None; single windows when
    ``batch_size`` is None). With ``shuffle`` the windows' order is shuffled
    as Keras shuffles their start positions (``numpy.random.RandomState(seed)``),
    and again, differently, on each later pass; without a ``seed`` the
    shuffle draws from ember's global seed. Keras's tf.data version also
    shuffles within a buffer, so shuffled orders differ from Keras's.
    """
    data = np.asarray(data)
    if data.ndim == 0:
        raise ValueError(f"`data` must be an array of time steps (at least 1-D). Received: {data!r}")
    n = len(data)
    sequence_length = _positive_int(sequence_length, "sequence_length")
    sequence_stride = _positive_int(sequence_stride, "sequence_stride")
    sampling_rate = _positive_int(sampling_rate, "sampling_rate")
    batch_size = _positive_int(batch_size, "batch_size", allow_none=True)
    if sampling_rate >= n:
        raise ValueError(f"`sampling_rate` must be lower than the length of the data ({n}). "
                         f"Received: sampling_rate={sampling_rate}")
    if sequence_stride >= n:
        raise ValueError(f"`sequence_stride` must be lower than the length of the data ({n}). "
                         f"Received: sequence_stride={sequence_stride}")
    for name, v in (("start_index", start_index), ("end_index", end_index)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
            raise ValueError(f"`{name}` must be None or an int. Received: {name}={v!r}")
    start = 0 if start_index is None else int(start_index)
    end = n if end_index is None else int(end_index)
    if not 0 <= start < n:
        raise ValueError(f"`start_index` must be in [0, {n}) for data of length {n}. "
                         f"Received: start_index={start_index}")
    if end_index is not None and not start < end <= n:
        raise ValueError(f"`end_index` must be in ({start}, {n}] (after start_index, within the data). "
                         f"Received: end_index={end_index}")
    if targets is not None:
        targets = np.asarray(targets)
        if targets.ndim == 0:
            raise ValueError(f"`targets` must be an array aligned with `data`, or None. Received: {targets!r}")
    count = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        count = min(count, len(targets) - start)
    starts = start + np.arange(0, max(count, 0), sequence_stride, dtype=np.int64)
    rng = None
    if shuffle:
        if seed is None:
            seed = int(utils.rng().integers(0, 2**31 - 1))
        rng = np.random.RandomState(seed)
    offsets = np.arange(sequence_length, dtype=np.int64) * sampling_rate
    return TimeseriesDataset(data, targets, starts, offsets, batch_size, rng)


__all__ = ["timeseries_dataset_from_array", "TimeseriesDataset"]
