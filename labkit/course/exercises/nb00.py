"""Exercises of notebook 00, a tour of the data cube.

Besides four code exercises, two questions: a numeric prediction of the share of cloudy observations
(``00.share_cloudy``), and a multiple choice on what NDVI becomes under a cloud (``00.under_cloud``); both
answers are computed from the data.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import xarray as xr

from ..compare import compare_dates, compare_values, within
from . import Exercise

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


def points_per_class(points: pd.DataFrame, field: str = "label") -> dict[str, int]:
    """How many rows (field points) of each class ``points[field]`` holds, as a dict ``{class: count}``.

    Example
    -------
    >>> import pandas as pd
    >>> points_per_class(pd.DataFrame({"label": ["Forest", "Pasture", "Forest"]}))
    {'Forest': 2, 'Pasture': 1}
    """
    return {str(name): int(count) for name, count in points[field].value_counts().items()}


def compare_counts(answer, expected: dict) -> str | None:
    """:func:`~labkit.course.compare.compare_values` of two dicts of counts; a pandas Series of counts (what
    ``value_counts()`` gives) is read as the dict it holds.

    Example
    -------
    >>> import pandas as pd
    >>> compare_counts(pd.Series({"Forest": 2, "Pasture": 1}), {"Forest": 2, "Pasture": 1}) is None
    True
    >>> compare_counts({"Forest": 2}, {"Forest": 2, "Pasture": 1})
    "missing keys ['Pasture']."
    """
    if isinstance(answer, pd.Series):
        answer = answer.to_dict()
    return compare_values(answer, expected)


def cloud_share(mask: xr.DataArray) -> float:
    """The fraction of all observations (dates × pixels) that clouds hide (code 1), a number in ``[0, 1]``.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> mask = xr.DataArray(np.array([[[0, 1]], [[1, 1]]], "uint8"), dims=("time", "y", "x"))
    >>> cloud_share(mask)
    0.75
    """
    return float((mask == 1).mean())


NDVI_UNDER_CLOUD = {
    "a": "about the same as on clear dates: clouds let the near infrared through",
    "b": "close to 0, whatever the land below",
    "c": "strongly negative (below -0.3), as over water",
}
"""The choices of question ``00.under_cloud``."""


def ndvi_under_cloud(cube: xr.DataArray, mask: xr.DataArray) -> str:
    """Which of :data:`NDVI_UNDER_CLOUD` describes the NDVI of the cloudy observations: ``"a"`` when their median is
    within 0.15 of the clear observations' median, ``"c"`` when it is below -0.3, else ``"b"``.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> cube = xr.DataArray(np.array([0.8, 0.05, 0.75]).reshape(3, 1, 1, 1), dims=("time", "band", "y", "x"),
    ...                     coords={"band": ["NDVI"]})
    >>> mask = xr.DataArray(np.array([0, 1, 0], "uint8").reshape(3, 1, 1), dims=("time", "y", "x"))
    >>> ndvi_under_cloud(cube, mask)
    'b'
    """
    ndvi = cube.sel(band="NDVI")
    cloudy = float(ndvi.where(mask == 1).median())
    clear = float(ndvi.where(mask == 0).median())
    if abs(cloudy - clear) < 0.15:
        return "a"
    return "c" if cloudy < -0.3 else "b"


EXERCISES: dict[str, Exercise] = {
    "00.valid_fraction": Exercise(
        reference=valid_fraction,
        title="fraction of valid observations per date",
        hint="A valid observation has code 0 in the mask. A comparison gives True/False values, and the mean of "
             "True/False values is a fraction.",
        hints=(
            "Average over the two spatial dims only, so that one value per date remains: .mean(dim=...) takes the "
            "dims to average over.",
            "Compare the mask with 0 (valid), then take the mean over the two spatial dims: .mean(dim=('y', 'x')). "
            "The result has one value per date.",
        ),
        compare=functools.partial(compare_values, rtol=1e-6, atol=1e-9),
    ),
    "00.clear_dates": Exercise(
        reference=clear_dates,
        title="dates without a single cloudy pixel",
        hint="A date is clear when every one of its pixels is valid: when its fraction of valid pixels (the "
             "previous exercise) is 1.",
        hints=(
            "Index the time coordinate with a boolean array, one True/False per date: mask.time[condition].",
            "Keep the dates where valid_fraction equals 1: index the time coordinate with a boolean array, e.g. "
            "mask.time[valid_fraction == 1].",
        ),
        compare=compare_dates,
    ),
    "00.pixel_clear_count": Exercise(
        reference=pixel_clear_count,
        title="number of clear observations of one pixel",
        hint="Take the pixel's series of mask codes, one per date, and count the codes that mean valid.",
        hints=(
            "Select a pixel by position with .isel; the sum of True/False values counts the True ones.",
            "Select the pixel by position with mask.isel(y=iy, x=ix), compare with 0 and sum over time.",
        ),
    ),
    "00.points_per_class": Exercise(
        reference=points_per_class,
        title="number of field points of each class",
        hint="Count the rows of `points` for each value of its 'label' column: pandas has a method that counts the "
             "values of a column.",
        hints=(
            "points['label'].value_counts() counts the points of each class; .to_dict() makes it a dict.",
        ),
        compare=compare_counts,
    ),
    "00.share_cloudy": Exercise(
        reference=cloud_share,
        title="your prediction: the share of cloudy observations",
        hint="A prediction is a number between 0 and 1 (0.25 for a quarter). Think of the weather in central "
             "Europe: how often is the sky overcast, in winter and in summer?",
        hints=("Sentinel-2 records every pass, whatever the weather, and most days of a Slovenian winter are grey.",),
        compare=within(abs=0.15),
        explanation="Clouds hide about 40 % of the observations of this patch: more in winter, less in summer. "
                    "Central Europe is cloudy, and Sentinel-2 keeps every pass, clear or not. Over the tropics the "
                    "share is often higher still. This is why every chain masks the clouds and fills the gaps "
                    "before it classifies anything.",
    ),
    "00.under_cloud": Exercise(
        reference=ndvi_under_cloud,
        title="your prediction: the NDVI under a cloud",
        hint="NDVI = (NIR - red) / (NIR + red). What does a cloud, seen from above, look like: which of the two bands "
             "does it reflect more?",
        hints=("A cloud is white: it reflects red and near-infrared light about equally.",),
        choices=NDVI_UNDER_CLOUD,
        explanation="A thick cloud is white: it reflects red and near infrared alike, so NIR - red is close to 0 and "
                    "so is NDVI, whatever grows below. The land is not seen at all. Thin clouds and cloud edges mix "
                    "the two signals, giving values in between: still wrong, and harder to spot.",
    ),
}
