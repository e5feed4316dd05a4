"""Pixel series as network inputs: standardisation, masks of missing observations, dates, and batches.

What a network of :mod:`.networks` reads, from what a sample set holds (:mod:`labkit.datamodel`):

* ``x (batch, time, band)`` float32, each band standardised with the mean and standard deviation of the *training*
  set's valid observations (:class:`BandScaler`, saved with the model); missing observations hold 0;
* ``mask (batch, time)`` bool, True where the observation is valid: where ``valid`` says so (when given) and every
  band is finite (NaN and ±inf are missing values everywhere in labkit);
* ``doy (batch, time)`` float32, the day of year (or days since a reference) of each observation; positions
  ``0, 1, 2...`` when the series have no dates.

:class:`SeriesBatches` cuts arrays into such batches. The arrays may be in memory (numpy) or lazy — a dask array or
a Zarr array, e.g. ``read_samples("samples.zarr", chunks=...)["X"].data`` — in which case they are read one block of
samples at a time and shuffled block by block, so that a sample set larger than memory streams through training.

Example
-------
>>> X = np.array([[[1.0], [np.nan], [3.0]], [[2.0], [4.0], [6.0]]], "float32")
>>> scaler = BandScaler.fit(SeriesBatches(X, batch_size=2))
>>> [round(float(v), 2) for v in (*scaler.mean, *scaler.std)]
[3.2, 1.72]
>>> x, doy, mask, _ = next(iter(SeriesBatches(X, batch_size=2, scaler=scaler)))
>>> mask.tolist(), doy[0].tolist()  # a missing observation's value and date are 0: never read
([[True, False, True], [True, True, True]], [0.0, 0.0, 2.0])
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ...errors import DataModelError

__all__ = ["BandScaler", "SeriesBatches", "BLOCK_SAMPLES"]

BLOCK_SAMPLES = 8192
"""Samples read at once from a lazy (dask or Zarr) array: the unit of shuffling and of memory when streaming."""


def _is_lazy(array) -> bool:
    return not isinstance(array, np.ndarray)


def _read(array, rows) -> np.ndarray:
    """Rows of a numpy, dask or Zarr array, as numpy."""
    if array is None:
        return None
    part = array[rows]
    return np.asarray(part.compute() if hasattr(part, "compute") else part)


@dataclass(frozen=True)
class BandScaler:
    """Per-band standardisation learned on a training set: ``(x - mean) / std``, over valid observations only.

    Example
    -------
    >>> BandScaler(np.array([1.0]), np.array([2.0])).transform(np.array([[[5.0]]])).tolist()
    [[[2.0]]]
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, data: SeriesBatches) -> BandScaler:
        """The mean and standard deviation of each band over the valid observations of ``data``, block by block."""
        n_band = data.n_band
        total, squares, count = np.zeros(n_band), np.zeros(n_band), np.zeros(n_band)
        for x, _, mask, _ in data.blocks():
            values = np.where(mask[..., None], x, 0.0).astype(np.float64)
            total += values.sum(axis=(0, 1))
            squares += np.square(values).sum(axis=(0, 1))
            count += mask.sum()
        if not count.any():
            raise DataModelError("The training set has no valid observation (every value is missing): nothing to "
                                 "learn from.")
        mean = total / np.maximum(count, 1)
        std = np.sqrt(np.maximum(squares / np.maximum(count, 1) - mean**2, 0.0))
        return cls(mean.astype(np.float32), np.where(std > 1e-12, std, 1.0).astype(np.float32))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> BandScaler:
        return cls(np.asarray(data["mean"], np.float32), np.asarray(data["std"], np.float32))


class SeriesBatches:
    """Batches ``(x, doy, mask, y)`` of numpy arrays from a sample set's arrays, in memory or lazy.

    Parameters
    ----------
    X : array (sample, time, band)
        numpy, dask or Zarr.
    y : array (sample,), optional
        Targets (class indices or values), in memory.
    doy : array (sample, time) or (time,), optional
        Dates of the observations (day of year or days since a reference); default positions ``0..time-1``.
    valid : array (sample, time) of bool, optional
        Where observations are valid; they must also be finite in every band.
    batch_size : int
    shuffle : bool, default False
        Shuffle the samples at every pass: in memory, all of them; lazily, the blocks and the samples in a block.
    random_state : int, default 0
        With ``epoch`` (see :meth:`batches`), what decides the order: the same ``random_state`` gives the same
        batches.
    scaler : BandScaler, optional
        Standardisation applied to ``x``.
    rows : array of int, optional
        The samples to use (a training or validation subset), in this order.
    """

    def __init__(self, X, y=None, doy=None, valid=None, *, batch_size: int = 128, shuffle: bool = False,
                 random_state: int = 0, scaler: BandScaler | None = None, rows: np.ndarray | None = None):
        if len(getattr(X, "shape", ())) != 3:
            raise DataModelError(f"X must be (sample, time, band); got shape {getattr(X, 'shape', type(X))}.")
        self.X, self.y, self.valid, self.scaler = X, y, valid, scaler
        self.doy = doy
        self.batch_size, self.shuffle, self.random_state = int(batch_size), bool(shuffle), int(random_state)
        self.rows = np.arange(X.shape[0]) if rows is None else np.asarray(rows)
        self.lazy = _is_lazy(X)
        _, self.n_time, self.n_band = X.shape
        for name, array, shape in (("y", y, (X.shape[0],)), ("valid", valid, X.shape[:2])):
            if array is not None and tuple(np.shape(array)) != shape:
                raise DataModelError(f"{name} must have shape {shape} (one per sample{', date' if name != 'y' else ''}"
                                     f"); got {tuple(np.shape(array))}.")
        if doy is not None and tuple(np.shape(doy)) not in (X.shape[:2], (self.n_time,)):
            raise DataModelError(f"doy must have shape {X.shape[:2]} or ({self.n_time},); got {tuple(np.shape(doy))}.")

    def __len__(self) -> int:
        """Number of batches of a pass."""
        return -(-len(self.rows) // self.batch_size)

    @property
    def n_samples(self) -> int:
        return len(self.rows)

    def subset(self, rows: np.ndarray, *, shuffle: bool | None = None) -> SeriesBatches:
        """The same arrays, restricted to ``rows`` (positions into the full arrays)."""
        return SeriesBatches(self.X, self.y, self.doy, self.valid, batch_size=self.batch_size,
                             shuffle=self.shuffle if shuffle is None else shuffle, random_state=self.random_state,
                             scaler=self.scaler, rows=np.asarray(rows))

    def with_scaler(self, scaler: BandScaler) -> SeriesBatches:
        copy = self.subset(self.rows)
        copy.scaler = scaler
        return copy

    def _prepare(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        x = np.asarray(_read(self.X, rows), np.float32)
        mask = np.isfinite(x).all(axis=2)
        if self.valid is not None:
            mask &= np.asarray(_read(self.valid, rows), bool)
        if self.doy is None:
            doy = np.broadcast_to(np.arange(self.n_time, dtype=np.float32), mask.shape)
        elif np.ndim(self.doy) == 1:
            doy = np.broadcast_to(np.asarray(self.doy, np.float32), mask.shape)
        else:
            doy = np.asarray(_read(self.doy, rows), np.float32)
        if self.scaler is not None:
            x = self.scaler.transform(x)
        x = np.where(mask[..., None], x, 0.0).astype(np.float32)
        doy = np.where(mask, np.nan_to_num(doy, nan=0.0, posinf=0.0, neginf=0.0), 0.0).astype(np.float32)
        y = None if self.y is None else np.asarray(self.y)[rows]
        return x, doy, mask, y

    def _order(self, epoch: int) -> list[np.ndarray]:
        """The rows of a pass, cut into pieces read at once (blocks of a lazy array, or everything)."""
        rng = np.random.default_rng([self.random_state, epoch])
        if not self.lazy:
            rows = rng.permutation(self.rows) if self.shuffle else self.rows
            return [rows]
        order = np.argsort(self.rows, kind="stable")  # read lazily in storage order, block by block
        pieces = [self.rows[order[i:i + BLOCK_SAMPLES]] for i in range(0, len(order), BLOCK_SAMPLES)]
        if self.shuffle:
            pieces = [rng.permutation(p) for p in (pieces[i] for i in rng.permutation(len(pieces)))]
        return pieces

    def blocks(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]]:
        """The whole set, one piece at a time, in order (what statistics read)."""
        for piece in SeriesBatches(self.X, self.y, self.doy, self.valid, rows=self.rows)._order(0):
            yield self._prepare(np.sort(piece) if self.lazy else piece)

    def batches(self, epoch: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]]:
        """The batches of pass ``epoch``; with ``shuffle``, in an order set by ``random_state`` and the epoch."""
        for piece in self._order(epoch):
            if self.lazy:  # read the block in storage order, then put it in its shuffled order
                sorted_rows = np.sort(piece)
                x, doy, mask, y = self._prepare(sorted_rows)
                where = np.searchsorted(sorted_rows, piece)
                x, doy, mask = x[where], doy[where], mask[where]
                y = None if y is None else y[where]
            else:
                x, doy, mask, y = self._prepare(piece)
            for start in range(0, len(piece), self.batch_size):
                part = slice(start, start + self.batch_size)
                yield x[part], doy[part], mask[part], (None if y is None else y[part])

    def __iter__(self):
        return self.batches(0)
