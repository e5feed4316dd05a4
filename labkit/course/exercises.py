"""The exercises of the course: for each id, how to compute the reference result and how to compare.

An exercise id is ``"NN.name"``: ``NN`` is the notebook's number (``course/NN_*.py``), ``name`` what the learner
computes. A notebook calls ``labkit.course.check("NN.name", answer, **inputs)``; :func:`labkit.course.check`
looks the id up in :data:`EXERCISES`, calls ``reference(**inputs)`` and compares with the exercise's comparator.
The reference functions take the same inputs as the learner had, so ``check`` never needs the notebook's state.

To add an exercise: write its reference function below, add one entry to :data:`EXERCISES`, and use the id in a
notebook (``tests/test_course.py`` fails on an id used in ``course/`` that is not registered here, and on a
registered exercise that no notebook uses).

Example
-------
>>> sorted(EXERCISES)[:2]
['00.clear_dates', '00.pixel_clear_count']
>>> EXERCISES["00.valid_fraction"].title
'fraction of valid observations per date'
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from .compare import Comparator, compare_dates, compare_values


@dataclass(frozen=True)
class Exercise:
    """One self-checked exercise.

    Parameters
    ----------
    reference : callable
        ``reference(**inputs)`` returns the right answer from the exercise's inputs.
    title : str
        A few words saying what is computed, shown in the messages of :func:`labkit.course.check`.
    hint : str
        Shown when the answer is wrong or missing: where to look, not the solution.
    compare : callable, default :func:`~labkit.course.compare.compare_values`
        ``compare(answer, expected)`` returns ``None`` when right, else a sentence saying what differs.

    Example
    -------
    >>> ex = Exercise(reference=lambda a, b: a + b, title="a sum", hint="Use +.")
    >>> ex.compare(ex.reference(a=1, b=2), 3) is None
    True
    """

    reference: Callable[..., Any]
    title: str
    hint: str
    compare: Comparator = field(default=compare_values)


# ------------------------------------------------------------------------------- 00: a tour of the data cube


def valid_fraction(mask: xr.DataArray) -> xr.DataArray:
    """Fraction of the pixels of each date that are valid (code 0), a DataArray ``(time,)`` in ``[0, 1]``.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> mask = xr.DataArray(np.array([[[0, 0]], [[1, 0]]], "uint8"), dims=("time", "y", "x"))
    >>> valid_fraction(mask).values
    array([1. , 0.5])
    """
    return (mask == 0).mean(dim=("y", "x"))


def clear_dates(mask: xr.DataArray) -> np.ndarray:
    """The dates on which every pixel is valid, as ``datetime64`` values.

    Example
    -------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> mask = xr.DataArray(np.array([[[0, 0]], [[1, 0]]], "uint8"), dims=("time", "y", "x"),
    ...                     coords={"time": pd.to_datetime(["2016-01-01", "2016-01-11"])})
    >>> clear_dates(mask).astype("datetime64[D]")
    array(['2016-01-01'], dtype='datetime64[D]')
    """
    everywhere_valid = (mask == 0).all(dim=("y", "x"))
    return mask["time"].values[everywhere_valid.values]


def pixel_clear_count(mask: xr.DataArray, iy: int, ix: int) -> int:
    """How many dates the pixel at row ``iy``, column ``ix`` was observed clear (code 0).

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> mask = xr.DataArray(np.array([[[0, 1]], [[1, 1]], [[0, 2]]], "uint8"), dims=("time", "y", "x"))
    >>> pixel_clear_count(mask, iy=0, ix=0)
    2
    """
    return int((mask.isel(y=iy, x=ix) == 0).sum())


EXERCISES: dict[str, Exercise] = {
    "00.valid_fraction": Exercise(
        reference=valid_fraction,
        title="fraction of valid observations per date",
        hint="Compare the mask with 0 (valid), then take the mean over the two spatial dims: "
             ".mean(dim=('y', 'x')). The result has one value per date.",
        compare=functools.partial(compare_values, rtol=1e-6, atol=1e-9),
    ),
    "00.clear_dates": Exercise(
        reference=clear_dates,
        title="dates without a single cloudy pixel",
        hint="Keep the dates where valid_fraction equals 1: index the time coordinate with a boolean array, "
             "e.g. mask.time[valid_fraction == 1].",
        compare=compare_dates,
    ),
    "00.pixel_clear_count": Exercise(
        reference=pixel_clear_count,
        title="number of clear observations of one pixel",
        hint="Select the pixel by position with mask.isel(y=iy, x=ix), compare with 0 and sum over time.",
    ),
}
"""Every exercise of the course, by id ``"NN.name"``."""
