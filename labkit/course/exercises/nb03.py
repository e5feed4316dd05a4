"""Exercises of notebook 03, features: spectral indices and temporal statistics."""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr

from ..compare import compare_values
from . import Exercise


def ndwi(cube: xr.DataArray) -> xr.DataArray:
    """McFeeters' NDWI ``(B03 - B08) / (B03 + B08)`` of every date and pixel, a DataArray ``(time, y, x)``.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> cube = xr.DataArray(np.array([0.3, 0.1]).reshape(1, 2, 1, 1), dims=("time", "band", "y", "x"),
    ...                     coords={"band": ["B03", "B08"]})
    >>> ndwi(cube).values.round(2).ravel().tolist()
    [0.5]
    """
    green, nir = cube.sel(band="B03"), cube.sel(band="B08")
    return (green - nir) / (green + nir)


def amplitude(filled: xr.DataArray) -> xr.DataArray:
    """The NDVI amplitude over time, ``max - min``, of every pixel: a DataArray ``(y, x)``.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> filled = xr.DataArray(np.array([0.2, 0.9, 0.5]).reshape(3, 1, 1, 1), dims=("time", "band", "y", "x"),
    ...                       coords={"band": ["NDVI"]})
    >>> amplitude(filled).values.round(2).ravel().tolist()
    [0.7]
    """
    ndvi = filled.sel(band="NDVI")
    return ndvi.max("time") - ndvi.min("time")


def green_season(filled: xr.DataArray, threshold: float) -> xr.DataArray:
    """Days of the year with NDVI above ``threshold``: dates above it times the days between dates, ``(y, x)``.

    Example
    -------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> filled = xr.DataArray(np.array([0.2, 0.7, 0.8]).reshape(3, 1, 1, 1), dims=("time", "band", "y", "x"),
    ...                       coords={"time": pd.date_range("2016-01-01", periods=3, freq="10D"), "band": ["NDVI"]})
    >>> green_season(filled, threshold=0.5).values.ravel().tolist()
    [20]
    """
    step = int(np.diff(filled["time"].values).astype("timedelta64[D]").astype(int)[0])
    return (filled.sel(band="NDVI") > threshold).sum("time") * step


EXERCISES: dict[str, Exercise] = {
    "03.ndwi": Exercise(
        reference=ndwi,
        title="NDWI by hand from the green and near-infrared bands",
        hint="NDWI is a normalised difference, like NDVI, of the green (B03) and the near-infrared (B08) bands.",
        hints=(
            "Select each band with cube.sel(band=...) and keep DataArrays, so that the dims (time, y, x) remain.",
            "Select the two bands with cube.sel(band='B03') and cube.sel(band='B08'), then (green - nir) / (green "
            "+ nir). The result keeps the dims (time, y, x).",
        ),
        compare=functools.partial(compare_values, rtol=1e-5, atol=1e-6),
    ),
    "03.amplitude": Exercise(
        reference=amplitude,
        title="NDVI amplitude map",
        hint="The amplitude of a series is its largest value minus its smallest, over time, for each pixel.",
        hints=(
            "Take the NDVI band with filled.sel(band='NDVI'), then its .max('time') minus its .min('time'): one "
            "value per pixel, dims (y, x).",
        ),
        compare=functools.partial(compare_values, rtol=1e-5, atol=1e-6),
    ),
    "03.green_season": Exercise(
        reference=green_season,
        title="a feature function: days with NDVI above a threshold",
        hint="Inside the function you have plain numpy arrays: a comparison gives True/False values, and counting "
             "the True ones over time gives a number of dates; dates times STEP gives days.",
        hints=(
            "Count over axis 0 (time), so that the result is (y, x).",
            "In the function, bands['NDVI'] is a numpy array (time, y, x): (ndvi > threshold) is True on green "
            "dates; sum it over axis 0 and multiply by the days between dates (STEP). Then pick the feature with "
            ".timeless.sel(feature='green_days').",
        ),
    ),
}
