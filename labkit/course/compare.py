"""Comparators: tell whether a learner's answer matches the reference result, and if not, what differs.

A comparator is any callable ``compare(answer, expected) -> str | None``: ``None`` means "correct", a string
says in one sentence what differs (shape, dims, dtype, which values). :func:`compare_values` is the default of
every exercise; :func:`compare_dates` compares sets of dates. Both are pure functions, used by
:func:`labkit.course.check`.

Example
-------
>>> import numpy as np
>>> compare_values(np.array([0.5, 1.0]), np.array([0.5, 1.0 + 1e-9])) is None
True
>>> compare_values(np.zeros((2, 3)), np.zeros(6))
'shape differs: expected (6,), got (2, 3) (the same number of values, arranged differently).'
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

Comparator = Callable[[Any, Any], "str | None"]
"""The type of a comparator: ``compare(answer, expected)`` returns ``None`` when right, else what differs."""

_FAMILIES = {"b": "bool", "i": "number", "u": "number", "f": "number", "c": "number", "M": "date",
             "m": "duration", "U": "text", "S": "text", "O": "object"}
_DESCRIBE = {"bool": "True/False values", "number": "numbers", "date": "dates", "duration": "durations",
             "text": "text", "object": "Python objects"}


def _fmt(value) -> str:
    """A short human-readable form of one value."""
    if isinstance(value, np.datetime64):
        return str(pd.Timestamp(value)) if not np.isnat(value) else "NaT"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, np.generic):
        return repr(value.item())
    return repr(value)


def _as_plain(value):
    """Bring the many spellings of one value to numpy: DataArray values, pandas, dates, lists."""
    if isinstance(value, xr.DataArray):
        value = value.values
    elif isinstance(value, (pd.Series, pd.Index)):
        value = value.to_numpy()
    if isinstance(value, pd.Timestamp):
        return np.datetime64(value.as_unit("ns").asm8)
    if isinstance(value, (_dt.datetime, _dt.date)):
        return np.datetime64(pd.Timestamp(value).as_unit("ns").asm8)
    if isinstance(value, (list, tuple)):
        try:
            value = np.asarray(value)
        except ValueError:  # ragged
            return value
        if value.dtype == object:
            try:
                value = np.asarray(pd.to_datetime(value.ravel()).values).reshape(value.shape)
            except (TypeError, ValueError):
                pass
    return value


def _a_type(value) -> str:
    """'a numpy array', 'a list', 'a DataArray'... for messages."""
    return "a numpy array" if isinstance(value, np.ndarray) else f"a {type(value).__name__}"


def _family(array: np.ndarray) -> str:
    return _FAMILIES.get(array.dtype.kind, "object")


def _what(value, array: np.ndarray) -> str:
    """'a number (int64)', 'an array of 68 dates'... for messages."""
    if callable(value) and not isinstance(value, np.ndarray):
        return f"a {type(value).__name__} ({getattr(value, '__name__', '?')})"
    family = _family(array)
    if array.ndim == 0:
        single = {"bool": "a True/False value", "number": "a number", "date": "a date", "duration": "a duration",
                  "text": "a text", "object": f"a {type(value).__name__}"}[family]
        return f"{single} ({array.dtype})" if family not in ("object", "text") else single
    return f"an array of {_DESCRIBE[family]} ({array.dtype})"


def compare_values(answer, expected, *, rtol: float = 1e-5, atol: float = 1e-8) -> str | None:
    """Compare an answer to the expected result: type, dims, shape, dtype family, then values.

    Numbers are compared with :func:`numpy.isclose` (``NaN`` equals ``NaN``); dates, text and booleans exactly.
    When the expected result is an ``xarray.DataArray``, the answer must be one too, with the same dims (the rest
    of a notebook may use its coordinates); otherwise numpy arrays, lists, pandas objects and DataArrays are
    compared by their values. Integers and floats are one family
    (``3`` matches ``3.0``); booleans, dates and text are not numbers. Dicts are compared key by key.

    Parameters
    ----------
    answer : object
        What the learner computed.
    expected : object
        The reference result.
    rtol, atol : float, default 1e-5 and 1e-8
        Relative and absolute tolerance on numbers.

    Returns
    -------
    str or None
        ``None`` when the answer is right, else one sentence saying what differs.

    Example
    -------
    >>> compare_values(0.3333, 1 / 3)
    'expected 0.333333, got 0.3333.'
    >>> compare_values(0.3333, 1 / 3, rtol=1e-3) is None
    True
    >>> compare_values([1, 2, 3], [1, 2, 4])
    '1 of 3 values differ; the first at index (2,): expected 4, got 3.'
    """
    if answer is None and expected is not None:
        return "your answer is None: assign the result to the variable (name = ...), do not just print it."
    if isinstance(expected, Mapping):
        return _compare_mappings(answer, expected, rtol=rtol, atol=atol)
    if isinstance(expected, str) or isinstance(answer, str):
        if answer == expected:
            return None
        return f"expected {expected!r}, got {answer!r}."
    if isinstance(expected, xr.DataArray):
        if not isinstance(answer, xr.DataArray):
            return (f"expected an xarray DataArray with dims {expected.dims}, got {_a_type(answer)}: "
                    "keep the DataArray (do not take .values), so that its coordinates come along.")
        if answer.dims != expected.dims:
            return f"dims differ: expected {expected.dims}, got {answer.dims}."
    ans, exp = _as_plain(answer), _as_plain(expected)
    try:
        a, e = np.asarray(ans), np.asarray(exp)
    except (TypeError, ValueError):
        return None if ans == exp else f"expected {exp!r}, got {ans!r}."
    if a.dtype == object and _family(e) == "date":
        try:
            a = np.asarray(pd.to_datetime(a.ravel()).values).reshape(a.shape)
        except (TypeError, ValueError):
            pass
    fam_a, fam_e = _family(a), _family(e)
    if fam_a != fam_e:
        return f"expected {_what(exp, e)}, got {_what(ans, a)}."
    if a.shape != e.shape:
        if e.ndim == 0:
            return f"expected a single value, got an array of shape {a.shape}."
        note = " (the same number of values, arranged differently)" if a.size == e.size else ""
        return f"shape differs: expected {e.shape}, got {a.shape}{note}."
    if fam_e == "number":
        same = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    elif fam_e in ("date", "duration"):
        same = (a == e) | (np.isnat(a) & np.isnat(e))
    elif fam_e == "object":
        try:
            same = np.asarray(a == e, dtype=bool)
            if same.shape != e.shape:
                raise ValueError
        except (TypeError, ValueError):
            return f"expected {exp!r}, got {ans!r}."
    else:
        same = a == e
    if np.all(same):
        return None
    if e.ndim == 0:
        return f"expected {_fmt(e[()])}, got {_fmt(a[()])}."
    wrong = np.argwhere(~np.asarray(same))
    first = tuple(int(i) for i in wrong[0])
    return (f"{len(wrong)} of {e.size} values differ; the first at index {first}: "
            f"expected {_fmt(e[first])}, got {_fmt(a[first])}.")


def _compare_mappings(answer, expected: Mapping, **tolerance) -> str | None:
    if not isinstance(answer, Mapping):
        return f"expected a dict with keys {sorted(expected, key=str)}, got {_a_type(answer)}."
    missing = [k for k in expected if k not in answer]
    extra = [k for k in answer if k not in expected]
    if missing or extra:
        parts = ([f"missing keys {missing}"] if missing else []) + ([f"unexpected keys {extra}"] if extra else [])
        return " and ".join(parts) + "."
    for key in expected:
        problem = compare_values(answer[key], expected[key], **tolerance)
        if problem:
            return f"for key {key!r}: {problem}"
    return None


def _to_dates(value) -> pd.DatetimeIndex:
    value = _as_plain(value)
    array = np.atleast_1d(np.asarray(value)).ravel()
    if array.dtype.kind in "biufc":
        raise TypeError("numbers are not dates")
    if array.dtype.kind in "OUS":  # strings or objects: dates written in ISO 8601, maybe in several precisions
        return pd.DatetimeIndex(pd.to_datetime(list(array), format="ISO8601"))
    return pd.DatetimeIndex(pd.to_datetime(array))


def compare_dates(answer, expected) -> str | None:
    """Compare two collections of dates as sets: order and duplicates do not matter.

    The answer may be a DataArray of dates (e.g. ``cube.time[...]``), numpy ``datetime64`` values, pandas
    timestamps or ISO strings; dates are compared exactly, times included, since the rest of a notebook may
    select the cube with them.

    Example
    -------
    >>> import numpy as np
    >>> expected = np.array(["2016-07-20T10:00:12", "2016-08-09T10:04:27"], dtype="datetime64[ns]")
    >>> compare_dates(["2016-08-09T10:04:27", "2016-07-20T10:00:12"], expected) is None
    True
    >>> compare_dates(expected[:1], expected)
    'missing 1 date(s): 2016-08-09 10:04:27.'
    """
    try:
        got = _to_dates(answer)
    except (TypeError, ValueError):
        return f"expected dates, got {_a_type(answer)}: {answer!r:.60}."
    want = _to_dates(expected)
    got_set, want_set = set(got), set(want)
    missing = sorted(want_set - got_set)
    extra = sorted(got_set - want_set)
    if not missing and not extra:
        return None

    def show(dates):
        text = ", ".join(d.strftime("%Y-%m-%d") if d == d.normalize() else str(d) for d in dates[:4])
        return text + (", ..." if len(dates) > 4 else "")

    parts = ([f"missing {len(missing)} date(s): {show(missing)}"] if missing else [])
    parts += ([f"{len(extra)} date(s) that should not be there: {show(extra)}"] if extra else [])
    return "; ".join(parts) + "."
