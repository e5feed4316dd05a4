"""Reading inputs: the one discipline that every reader of labkit follows.

Data that enters labkit from a file enters through the readers of :mod:`labkit.io`, which use this module so that:

* **every failure names its source**: GDAL/rasterio, Zarr codec and OS errors become a
  :class:`~labkit.errors.ReadError` that names the file (or store and variable) and, where known, the dates and
  bands being read (:func:`read_failure`), including failures that happen later, when a lazy (dask) cube is
  computed chunk by chunk (:class:`GuardedSource`);
* **memory is checked first**: an eager read larger than the memory available is refused with the ``chunks=``
  hint, instead of a ``MemoryError`` half-way (:func:`check_fits_in_memory`);
* **non-finite values are missing**: ``+inf`` and ``-inf`` in a float file read as ``NaN``, labkit's one
  "nothing observed" (:func:`finite_or_nan`), so that no stage takes them for observations.

Example
-------
>>> import numpy as np
>>> finite_or_nan(np.array([1.0, np.inf, -np.inf], "float32")).tolist()
[1.0, nan, nan]
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from .errors import LabkitError, ReadError
from .outputs import format_bytes

__all__ = ["GuardedSource", "available_memory", "check_fits_in_memory", "finite_or_nan", "read_failure"]

MEMORY_SHARE = 0.8
"""An eager read may take at most this share of the memory available now."""


def available_memory() -> int:
    """Bytes of memory available to this process now (psutil's ``available``, or the cgroup limit if lower).

    Example
    -------
    >>> available_memory() > 0
    True
    """
    import psutil

    available = psutil.virtual_memory().available
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(limit_file) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():
            used = psutil.Process().memory_info().rss
            available = min(available, max(0, int(text) - used))
        break
    return int(available)


def check_fits_in_memory(nbytes: int, source: str, *, what: str = "reading it eagerly") -> None:
    """Refuse an eager read of ``nbytes`` that the memory available cannot hold, with the ``chunks=`` hint.

    Raises
    ------
    labkit.errors.ReadError
        Naming ``source``, the size needed and the memory available.

    Example
    -------
    >>> check_fits_in_memory(2**62, "huge.tif")
    Traceback (most recent call last):
    ...
    labkit.errors.ReadError: huge.tif: reading it eagerly needs 4096.0 PiB of memory but ... is available. Pass chunks= (e.g. chunks=512) to read it lazily, block by block.
    """
    available = available_memory()
    if nbytes > MEMORY_SHARE * available:
        raise ReadError(f"{source}: {what} needs {format_bytes(nbytes)} of memory but {format_bytes(available)} is "
                        "available. Pass chunks= (e.g. chunks=512) to read it lazily, block by block.")


def read_failure(error: BaseException, source: str, where: str = "") -> ReadError:
    """A :class:`~labkit.errors.ReadError` for ``error``, raised while reading ``source`` (``where``: what part).

    A labkit error is returned as it is when it already names its source.

    Example
    -------
    >>> str(read_failure(RuntimeError("blosc decompression failed"), "cube.zarr", "variable 'cube', date 2021-05-01"))
    "cube.zarr: cannot read variable 'cube', date 2021-05-01 (RuntimeError: blosc decompression failed). The file is damaged or truncated: write or download it again."
    """
    if isinstance(error, MemoryError):
        return ReadError(f"{source}: out of memory while reading {where or 'it'}. Pass chunks= (e.g. chunks=512) to "
                         "read it lazily, or read a smaller window.")
    if isinstance(error, LabkitError) and source in str(error):
        return error if isinstance(error, ReadError) else ReadError(str(error))
    message = _first_line(error)
    if "previous exception" in message and error.__cause__ is not None:  # rasterio: the cause says what failed
        message = _first_line(error.__cause__) or message
    detail = f"{type(error).__name__}: {message}" if message else type(error).__name__
    if isinstance(error, PermissionError):
        advice = "Check the file's permissions."
    elif isinstance(error, FileNotFoundError):
        advice = "A part of it is missing: write or download it again."
    else:
        advice = "The file is damaged or truncated: write or download it again."
    part = f" {where}" if where else ""
    return ReadError(f"{source}: cannot read{part} ({detail}). {advice}")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""


def finite_or_nan(values: np.ndarray) -> np.ndarray:
    """``values`` with ``+inf`` and ``-inf`` replaced by ``NaN`` (in place when writable); integers unchanged.

    Example
    -------
    >>> finite_or_nan(np.array([0.5, -np.inf])).tolist()
    [0.5, nan]
    """
    if values.dtype.kind != "f":
        return values
    infinite = np.isinf(values)
    if infinite.any():
        if not values.flags.writeable:
            values = values.copy()
        values[infinite] = np.nan
    return values


class GuardedSource:
    """A lazily read array whose read errors name their source: what dask reads chunk by chunk.

    Wraps anything indexable with a tuple of slices that returns an array (a lazily loaded xarray variable, a
    rasterio window reader...). Each read turns ``+inf``/``-inf`` into ``NaN`` and any exception into a
    :class:`~labkit.errors.ReadError` naming ``source`` and, through ``describe(key)``, the part that failed (its
    dates and bands).

    Parameters
    ----------
    array : indexable, with ``shape`` and ``dtype``
    source : str
        The file or store, as the message names it.
    describe : callable, optional
        ``describe(key)`` -> text naming the part read, e.g. ``"dates 2021-05-01..2021-05-11, bands B04"``.

    Example
    -------
    >>> import dask.array as da
    >>> lazy = da.from_array(GuardedSource(np.array([1.0, np.inf]), "demo.tif"), chunks=1)
    >>> lazy.compute().tolist()
    [1.0, nan]
    """

    def __init__(self, array, source: str, describe: Callable[[tuple], str] | None = None):
        self.array = array
        self.source = source
        self.describe = describe
        self.shape = tuple(array.shape)
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key) -> np.ndarray:
        try:
            values = np.asarray(self.array[key])
        except Exception as error:  # noqa: BLE001  (GDAL, codecs and the OS raise many types: all are named)
            where = self.describe(key if isinstance(key, tuple) else (key,)) if self.describe else ""
            raise read_failure(error, self.source, where) from error
        return finite_or_nan(values) if values.dtype.kind == "f" else values

    def __reduce__(self):  # picklable for distributed schedulers
        return GuardedSource, (self.array, self.source, self.describe)

    def __repr__(self) -> str:
        return f"GuardedSource({os.fspath(self.source)!r}, shape={self.shape}, dtype={self.dtype})"
