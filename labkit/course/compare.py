"""Comparators: tell whether a learner's answer matches the reference result, and if not, what differs.

A comparator is any callable ``compare(answer, expected) -> str | None``: ``None`` means "correct", a string
says in one sentence what differs: the type, dims, shape or dtype, the scale or units (a factor of 100 or 10 000),
the range, how many values differ and where, which dates are missing or extra. A message never shows the expected
value itself, only the learner's own values, so that it points at the mistake without giving the answer away.
:func:`compare_values` is the default of every exercise; :func:`compare_dates` compares sets of dates;
:func:`compare_choice` judges a multiple-choice question and :func:`within` makes the comparator of a numeric
prediction. All are pure functions, used by :func:`labkit.course.check`.

Example
-------
>>> import numpy as np
>>> compare_values(np.array([0.5, 1.0]), np.array([0.5, 1.0 + 1e-9])) is None
True
>>> compare_values(np.zeros((2, 3)), np.zeros(6))
'shape differs: expected (6,), got (2, 3) (the same number of values, arranged differently).'
>>> compare_values(2600.0, 0.26)
'got 2600: 10 000 times too large. Are the units or the scale right (reflectances stored as integers are scaled by 10 000)?'
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


def _factor(ratio: float) -> str | None:
    """'10 000 times too large', 'the opposite sign'... when ``ratio`` (answer / expected) is a telling factor."""
    if not np.isfinite(ratio) or ratio == 0:
        return None
    if np.isclose(ratio, -1.0, rtol=1e-6):
        return "the opposite sign"
    for factor in (10, 100, 1000, 10_000, 100_000, 1_000_000):
        words = f"{factor:,}".replace(",", " ")
        if np.isclose(ratio, factor, rtol=1e-3):
            return f"{words} times too large"
        if np.isclose(ratio, 1 / factor, rtol=1e-3):
            return f"{words} times too small"
    return None


_FACTOR_ADVICE = {
    "100 times too large": "A percentage where a fraction (0 to 1) is expected?",
    "100 times too small": "A fraction where a percentage is expected?",
    "10 000 times too large": "Are the units or the scale right (reflectances stored as integers are scaled by "
                              "10 000)?",
    "the opposite sign": "Check the order of a subtraction.",
}


def _is_codes(array: np.ndarray) -> bool:
    """Whether an array holds a few whole-number codes (classes, validity codes) rather than measurements."""
    if array.dtype.kind == "f":
        array = array[np.isfinite(array)]
        if not np.all(np.mod(array, 1) == 0):
            return False
    elif array.dtype.kind not in "iu":
        return False
    return np.unique(array).size <= 8


def _number_difference(a: float, e: float) -> str:
    """What differs between two single numbers, without showing ``e``."""
    got = _fmt(a)
    if np.isnan(a):
        return "got NaN where a number is expected."
    if np.isnan(e):
        return f"got {got} where NaN (no value) is expected."
    factor = _factor(a / e) if e != 0 and np.isfinite(a) else None
    if factor:
        return f"got {got}: {factor}. " + _FACTOR_ADVICE.get(factor, "Are the units or the scale right?")
    if float(a).is_integer() and float(e).is_integer() and abs(a - e) == 1:
        return f"got {got}: off by one ({'one too many' if a > e else 'one too few'})."
    direction = "too high" if a > e else "too low"
    if e != 0 and abs(a - e) < 0.01 * abs(e):
        return f"got {got}, slightly {direction} (by less than 1%): rounded too early, or a slightly different formula?"
    return f"got {got}, {direction}."


def _array_difference(a: np.ndarray, e: np.ndarray, same: np.ndarray, family: str) -> str:
    """What differs between two arrays of one shape and family, without showing the expected values."""
    wrong = np.argwhere(~same)
    first = tuple(int(i) for i in wrong[0])
    count = f"{len(wrong)} of {e.size} {'dates' if family == 'date' else 'values'} differ"
    where = f"the first at index {first} (yours: {_fmt(a[first])})"
    if family == "bool" or (family == "number" and e.size > 20 and _is_codes(a) and _is_codes(e)):
        # True/False, class or mask codes: which value stands where another is expected
        pairs = pd.Series(list(zip(a[~same].tolist(), e[~same].tolist()))).value_counts()
        swaps = ", ".join(f"{_fmt(got)} where {_fmt(want)} is expected ({n} times)"
                          for (got, want), n in pairs.head(3).items())
        return f"{count}: {swaps}{', ...' if len(pairs) > 3 else ''}; {where}."
    if family != "number":
        return f"{count}; {where}."
    a, e = a.astype(float), e.astype(float)
    notes, advice = [], ""
    nan_where_value = int((np.isnan(a) & ~np.isnan(e)).sum())
    value_where_nan = int((~np.isnan(a) & np.isnan(e)).sum())
    if nan_where_value:
        notes.append(f"{nan_where_value} NaN where a value is expected")
    if value_where_nan:
        notes.append(f"{value_where_nan} value(s) where NaN (no value) is expected")
    both = ~same & np.isfinite(a) & np.isfinite(e)
    if both.any():
        nonzero = both & (e != 0) & (a != 0)
        ratios = a[nonzero] / e[nonzero]
        factor = _factor(float(np.median(ratios))) if ratios.size else None
        if factor and np.isclose(ratios, np.median(ratios), rtol=1e-3).mean() >= 0.9:
            notes.append(f"your values are {factor}")
            advice = " " + _FACTOR_ADVICE.get(factor, "Are the units or the scale right?")
        else:
            a_low, a_high = np.nanmin(a), np.nanmax(a)
            e_low, e_high = np.nanmin(e), np.nanmax(e)
            margin = 0.01 * max(abs(e_high - e_low), abs(e_high), abs(e_low), 1e-12)
            if a_low < e_low - margin or a_high > e_high + margin:
                notes.append(f"your values range from {_fmt(a_low)} to {_fmt(a_high)}, beyond the range of the "
                             "expected ones")
            difference = a[both] - e[both]
            if (difference > 0).all():
                notes.append("all those that differ are too high")
            elif (difference < 0).all():
                notes.append("all those that differ are too low")
    return f"{count}; {where}" + "".join(f"; {note}" for note in notes) + "." + advice


def compare_values(answer, expected, *, rtol: float = 1e-5, atol: float = 1e-8) -> str | None:
    """Compare an answer to the expected result: type, dims, shape, dtype family, then values.

    Numbers are compared with :func:`numpy.isclose` (``NaN`` equals ``NaN``); dates, text and booleans exactly.
    When the expected result is an ``xarray.DataArray``, the answer must be one too, with the same dims (the rest
    of a notebook may use its coordinates); otherwise numpy arrays, lists, pandas objects and DataArrays are
    compared by their values. Integers and floats are one family
    (``3`` matches ``3.0``); booleans, dates and text are not numbers. Dicts are compared key by key.

    The message says what differs without showing the expected value: for a number, too high or too low, off by
    one, or a telling factor (100, 10 000: units or scale; -1: the sign); for an array, how many values differ
    and where (with the learner's value there), values or NaN where they should not be, a common factor, a range
    beyond the expected one.

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
    'got 0.3333, slightly too low (by less than 1%): rounded too early, or a slightly different formula?'
    >>> compare_values(0.3333, 1 / 3, rtol=1e-3) is None
    True
    >>> compare_values([1, 2, 3], [1, 2, 4])
    '1 of 3 values differ; the first at index (2,) (yours: 3); all those that differ are too low.'
    >>> compare_values(45.0, 0.45)
    'got 45: 100 times too large. A percentage where a fraction (0 to 1) is expected?'
    """
    if answer is None and expected is not None:
        return "your answer is None: assign the result to the variable (name = ...), do not just print it."
    if isinstance(expected, Mapping):
        return _compare_mappings(answer, expected, rtol=rtol, atol=atol)
    if isinstance(expected, str) or isinstance(answer, str):
        if answer == expected:
            return None
        if not isinstance(answer, str):
            return f"expected a text, got {_what(answer, np.asarray(_as_plain(answer), dtype=object))}."
        if not isinstance(expected, str):
            return f"expected {_what(expected, np.asarray(_as_plain(expected)))}, got the text {answer!r:.60}."
        return f"got {answer!r:.60}, which is not the expected text."
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
        return None if ans == exp else f"got {ans!r:.60}, not the expected {type(exp).__name__}."
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
        if a.shape == e.shape[::-1] and a.ndim > 1:
            note = " (transposed?)"
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
            return f"got {ans!r:.60}, not the expected {type(exp).__name__}."
    else:
        same = a == e
    if np.all(same):
        return None
    if e.ndim == 0:
        if fam_e == "number":
            return _number_difference(float(a[()]), float(e[()]))
        if fam_e == "date":
            return f"got {_fmt(a[()])}, {'later' if a[()] > e[()] else 'earlier'} than expected."
        return f"got {_fmt(a[()])}, not the expected value."
    return _array_difference(a, e, np.asarray(same), fam_e)


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
    if array.size == 0:
        return pd.DatetimeIndex([])
    if array.dtype.kind in "biufc":
        raise TypeError("numbers are not dates")
    if array.dtype.kind in "OUS":  # strings or objects: dates written in ISO 8601, maybe in several precisions
        return pd.DatetimeIndex(pd.to_datetime(list(array), format="ISO8601"))
    return pd.DatetimeIndex(pd.to_datetime(array))


def compare_dates(answer, expected) -> str | None:
    """Compare two collections of dates as sets: order and duplicates do not matter.

    The answer may be a DataArray of dates (e.g. ``cube.time[...]``), numpy ``datetime64`` values, pandas
    timestamps or ISO strings; dates are compared exactly, times included, since the rest of a notebook may
    select the cube with them. The message lists the learner's dates that should not be there, counts the missing
    ones and says where they fall (before, between or after the learner's dates), and points out dates on the
    right day at another time of day; it never lists an expected date.

    Example
    -------
    >>> import numpy as np
    >>> expected = np.array(["2016-07-20T10:00:12", "2016-08-09T10:04:27"], dtype="datetime64[ns]")
    >>> compare_dates(["2016-08-09T10:04:27", "2016-07-20T10:00:12"], expected) is None
    True
    >>> compare_dates(expected[:1], expected)
    '1 date is missing (after your last date).'
    >>> compare_dates(["2016-07-20", "2016-08-09T10:04:27", "2016-09-01"], expected)
    '1 of your dates is on the right day at another time of day (yours: 2016-07-20); 1 of your dates should not be there: 2016-09-01.'
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

    missing_days = {d.normalize() for d in missing}
    other_time = [d for d in extra if d.normalize() in missing_days]
    extra = [d for d in extra if d.normalize() not in missing_days]
    missing = [d for d in missing if d.normalize() not in {o.normalize() for o in other_time}]
    parts = [f"{len(other_time)} of your dates {'is' if len(other_time) == 1 else 'are'} on the right day at another "
             f"time of day (yours: {show(other_time)})"]
    parts = parts if other_time else []
    if extra:
        parts.append(f"{len(extra)} of your dates should not be there: {show(extra)}")
    if missing:
        kept = sorted(got_set)
        if not kept:
            parts.append(f"you have no date, {len(missing)} are expected")
        else:
            places = {"before your first date": sum(d < kept[0] for d in missing),
                      "between your dates": sum(kept[0] < d < kept[-1] for d in missing),
                      "after your last date": sum(d > kept[-1] for d in missing)}
            where = ", ".join(f"{n} {place}" if len(missing) > 1 else place for place, n in places.items() if n)
            parts.append(f"{len(missing)} date{' is' if len(missing) == 1 else 's are'} missing ({where})")
    return "; ".join(parts) + "."


def _choice_key(answer, choices: Mapping[str, str]) -> str | None:
    """The key of the choice ``answer`` names: its key or its text, in any case, with spaces or ``")"`` around."""
    text = str(answer).strip().strip(").").strip().casefold()
    for key, choice in choices.items():
        if text in (str(key).casefold(), str(choice).strip().casefold()):
            return key
    return None


def compare_choice(answer, expected: str, choices: Mapping[str, str]) -> str | None:
    """Judge the answer to a multiple-choice question: ``None`` when it names the right choice.

    The answer may be the choice's key (``"b"``, ``"B"``, ``"b)"``) or its text. The message says when the answer
    is not one of the choices, or that the choice named is not the right one; it never names the right one.

    Example
    -------
    >>> choices = {"a": "forest", "b": "grassland", "c": "water"}
    >>> compare_choice("B", "b", choices) is None, compare_choice("Grassland", "b", choices) is None
    (True, True)
    >>> compare_choice("c", "b", choices)
    "'c' (water) is not the right choice."
    >>> compare_choice(2, "b", choices)
    'answer with the key of one choice, as text: one of "a", "b", "c" (got 2).'
    """
    keys = ", ".join(f'"{key}"' for key in choices)
    key = _choice_key(answer, choices) if isinstance(answer, str) else None
    if key is None:
        return f"answer with the key of one choice, as text: one of {keys} (got {answer!r:.40})."
    return None if key == expected else f"{key!r} ({choices[key]}) is not the right choice."


def within(rel: float = 0.0, abs: float = 0.0) -> Comparator:  # noqa: A002 - the name numpy.isclose uses
    """The comparator of a numeric prediction: right when ``|answer - expected| <= max(abs, rel * |expected|)``.

    A prediction is a guess made before computing: the message says whether it was too high or too low, and by
    how much in proportion (not the value), so that the learner can see how far their intuition was.

    Example
    -------
    >>> near = within(rel=0.2)
    >>> near(22, 25) is None, near(40, 25)
    (True, 'your prediction, 40, is too high: 1.6 times the actual value.')
    >>> within(abs=2)(3, 8)
    'your prediction, 3, is too low: 0.38 times the actual value.'
    """
    if rel < 0 or abs < 0 or (rel == 0 and abs == 0):
        raise ValueError(f"within() needs a positive rel or abs tolerance; got rel={rel}, abs={abs}.")

    def compare(answer, expected) -> str | None:
        try:
            guess = float(answer)
        except (TypeError, ValueError):
            return f"a prediction is a number; got {_a_type(answer)}."
        actual = float(expected)
        if not np.isfinite(guess):
            return f"a prediction is a finite number; got {guess}."
        if guess - actual == 0 or np.abs(guess - actual) <= max(abs, rel * np.abs(actual)):
            return None
        side = "too high" if guess > actual else "too low"
        ratio = f": {guess / actual:.2g} times the actual value" if actual else ""
        return f"your prediction, {_fmt(answer)}, is {side}{ratio}."

    return compare
