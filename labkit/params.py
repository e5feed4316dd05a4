"""Checks of parameters: the one place where a function of labkit checks the numbers, flags and types it is given.

Each check returns the value in a plain Python (or numpy) type, or raises :class:`~labkit.errors.ConfigError` in one
wording, ``WHO: NAME must be EXPECTED; got VALUE.``, before any work. ``bool`` is never taken for a number, nor a
string for a flag. (The command line checks its options with the argparse converters of ``labkit.cli._options``.)

Example
-------
>>> integer(3, "folds", "cross_validate", low=2)
3
>>> number(float("nan"), "z", "estimate_area", low=0, closed="neither")
Traceback (most recent call last):
...
labkit.errors.ConfigError: estimate_area: z must be a finite number > 0; got nan.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from .errors import ConfigError

__all__ = ["SEED_MAX", "block", "dates", "dtype", "flag", "integer", "number", "seed"]

SEED_MAX = 2**32 - 1
"""The largest seed that numpy's legacy generators, hence scikit-learn's ``random_state``, take."""


DEFAULT_MEMORY = "1GB"
"""The memory budget of a stage when none is given: what its blocks in flight may hold together
(:mod:`labkit.tiling`)."""


def _fail(who: str, name: str, expected: str, value) -> None:
    raise ConfigError(f"{who}: {name} must be {expected}; got {value!r}.")


def _bounds(low, high, closed: str) -> str:
    left = ">=" if closed in ("both", "left") else ">"
    right = "<=" if closed in ("both", "right") else "<"
    if low is not None and high is not None:
        if closed == "both":
            return f" from {low:g} to {high:g}"
        return f" {left} {low:g} and {right} {high:g}"
    if low is not None:
        return f" {left} {low:g}"
    return f" {right} {high:g}" if high is not None else ""


def _inside(value, low, high, closed: str) -> bool:
    if low is not None and (value < low or (value == low and closed in ("neither", "right"))):
        return False
    return not (high is not None and (value > high or (value == high and closed in ("neither", "left"))))


def integer(value, name: str, who: str, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]`` (None: no bound); a whole float such as ``3.0`` is not taken.

    Example
    -------
    >>> integer(np.int64(5), "folds", "cross_validate", low=2)
    5
    >>> integer(2.5, "halo", "superresolve", low=0)
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: superresolve: halo must be an integer >= 0; got 2.5.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not _inside(value, low, high, "both"):
        _fail(who, name, "an integer" + _bounds(low, high, "both"), value)
    return int(value)


def number(value, name: str, who: str, *, low: float | None = None, high: float | None = None,
           closed: str = "both", finite: bool = True) -> float:
    """``value`` as a float between ``low`` and ``high`` (``closed``: which bounds are allowed), finite by default.

    Example
    -------
    >>> number("95%", "z", "estimate_area", low=0, closed="neither")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: estimate_area: z must be a finite number > 0; got '95%'.
    """
    if closed not in ("both", "neither", "left", "right"):
        raise ConfigError(f"number: closed must be 'both', 'neither', 'left' or 'right'; got {closed!r}.")
    expected = ("a finite number" if finite else "a number") + _bounds(low, high, closed)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(who, name, expected, value)
    value = float(value)
    if (finite and not math.isfinite(value)) or math.isnan(value) or not _inside(value, low, high, closed):
        _fail(who, name, expected, value)
    return value


def seed(value, who: str, name: str = "random_state", *, generator: bool = True):
    """A random seed as scikit-learn and numpy take it: None, an integer from 0 to 2**32 - 1, or a generator.

    ``generator=False`` refuses numpy's ``Generator`` (scikit-learn takes a ``RandomState`` only).

    Example
    -------
    >>> seed(None, "split_by_group") is None, seed(7, "split_by_group")
    (True, 7)
    >>> seed(-1, "split_by_group")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: split_by_group: random_state must be None or an integer from 0 to 4294967295; got -1.
    """
    if isinstance(value, np.random.Generator) and not generator:
        _fail(who, name, f"None, an integer from 0 to {SEED_MAX} or a numpy RandomState (scikit-learn takes no "
                         "numpy Generator)", value)
    if value is None or isinstance(value, np.random.Generator | np.random.RandomState):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value <= SEED_MAX:
        _fail(who, name, f"None or an integer from 0 to {SEED_MAX}", value)
    return int(value)


def block(value, who: str, name: str = "block", *, low: int = 1) -> tuple[int, int] | None:
    """The block of pixels a stage walks a grid in (:mod:`labkit.tiling`), as ``(rows, columns)``, or None.

    None lets the block engine choose it from the memory budget; an integer is the side of a square block; a pair
    is ``(rows, columns)``. Every side is an integer >= ``low``.

    Example
    -------
    >>> block(256, "predict_cube"), block((128, 512), "predict_cube"), block(None, "predict_cube")
    ((256, 256), (128, 512), None)
    >>> block(2.5, "predict_cube")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: predict_cube: block must be None (chosen from the memory budget), an integer >= 1 (a square block's side) or a (rows, columns) pair of them; got 2.5.
    """
    if value is None:
        return None
    expected = (f"None (chosen from the memory budget), an integer >= {low} (a square block's side) or a "
                "(rows, columns) pair of them")

    def side(v) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_) and v >= low

    if side(value):
        return int(value), int(value)
    if isinstance(value, tuple | list | np.ndarray) and len(value) == 2 and all(side(v) for v in value):
        return int(value[0]), int(value[1])
    _fail(who, name, expected, value)


def flag(value, name: str, who: str) -> bool:
    """``value`` as a bool: only True or False (a string such as ``"no"`` would otherwise count as true).

    Example
    -------
    >>> flag("no", "keep_bands", "compute_features")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: compute_features: keep_bands must be True or False; got 'no'.
    """
    if not isinstance(value, bool | np.bool_):
        _fail(who, name, "True or False", value)
    return bool(value)


def dtype(value, name: str, who: str) -> np.dtype:
    """``value`` as a numpy dtype of numbers (``"int16"``, ``np.float32``...).

    Example
    -------
    >>> dtype("floot32", "dtype", "write_dates")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: write_dates: dtype must be a numeric type such as 'float32', 'int16' or 'uint8'; got 'floot32'.
    """
    try:
        result = np.dtype(value)
    except TypeError:
        result = None
    if result is None or not (np.issubdtype(result, np.integer) or np.issubdtype(result, np.floating)):
        _fail(who, name, "a numeric type such as 'float32', 'int16' or 'uint8'", value)
    return result


def dates(values, name: str, who: str, *, increasing: bool = False) -> pd.DatetimeIndex:
    """``values`` as dates (time zones dropped), naming the first one that is not a date; strictly increasing if asked.

    Example
    -------
    >>> dates(["2021-05-01", "2021-05-11"], "dates", "read_dates").strftime("%m-%d").tolist()
    ['05-01', '05-11']
    >>> dates(["2021-05-01", "yesterday"], "dates", "read_dates")
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: read_dates: dates[1] = 'yesterday' is not a date; write dates as '2021-05-01'.
    >>> dates(["2021-05-11", "2021-05-01"], "dates", "fill_gaps", increasing=True)
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: fill_gaps: dates must be strictly increasing; dates[1] (2021-05-01) is not after the date before it. Sort them and drop duplicates.
    """
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        _fail(who, name, "a sequence of dates", values)
    stamps = []
    for i, value in enumerate(values):
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            shown = value.item() if isinstance(value, np.generic) else value
            raise ConfigError(f"{who}: {name}[{i}] = {shown!r} is not a date; write dates as '2021-05-01'.") from None
        if pd.isna(stamp):
            raise ConfigError(f"{who}: {name}[{i}] is missing (NaT).")
        stamps.append(stamp.tz_convert(None) if stamp.tzinfo is not None else stamp)
    index = pd.DatetimeIndex(stamps)
    if increasing and len(index) > 1 and not (index[1:] > index[:-1]).all():
        bad = int(np.argmax(~(index[1:] > index[:-1]))) + 1
        raise ConfigError(f"{who}: {name} must be strictly increasing; {name}[{bad}] ({index[bad].date()}) is not "
                          "after the date before it. Sort them and drop duplicates.")
    return index
