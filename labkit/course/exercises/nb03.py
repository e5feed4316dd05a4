"""Exercises of notebook 03, features: spectral indices and temporal statistics.

Besides three code exercises, two questions: a numeric prediction of the share of pixels with a positive NDWI
(``03.ndwi_positive``), and a multiple choice on the feature that best tells forest from grassland
(``03.forest_from_grassland``); both answers are computed from the data.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import xarray as xr

from ..compare import compare_values, within
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


def ndwi_positive(ndwi: xr.DataArray, when) -> float:
    """The fraction of the pixels with a value (not NaN) whose NDWI is positive on date ``when``.

    Example
    -------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> ndwi = xr.DataArray(np.array([[[0.3, -0.4], [-0.5, np.nan]]]), dims=("time", "y", "x"),
    ...                     coords={"time": pd.to_datetime(["2022-06-15"])})
    >>> round(ndwi_positive(ndwi, "2022-06-15"), 3)
    0.333
    """
    image = ndwi.sel(time=when)
    return float((image > 0).sum() / image.notnull().sum())


FOREST_FROM_GRASSLAND = {"a": "peak NDVI", "b": "NDVI amplitude", "c": "day of the peak"}
"""The choices of question ``03.forest_from_grassland``."""

_FEATURE_OF_CHOICE = {"a": "NDVI_max", "b": "NDVI_amplitude", "c": "NDVI_doy_of_max"}


def forest_from_grassland(stats: xr.DataArray, reference: xr.DataArray, class_names: dict) -> str:
    """Which of :data:`FOREST_FROM_GRASSLAND` separates the forest pixels from the grassland pixels best: the feature
    of ``stats`` (``(feature, y, x)``, from :func:`labkit.features.temporal_features`) whose ROC AUC between the two
    classes of ``reference`` (class codes, named by ``class_names``) is the farthest from 0.5.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> values = np.array([[[0.8, 0.8, 0.8, 0.8]], [[0.3, 0.4, 0.7, 0.8]], [[200, 150, 210, 160]]])
    >>> stats = xr.DataArray(values, dims=("feature", "y", "x"),
    ...                      coords={"feature": ["NDVI_max", "NDVI_amplitude", "NDVI_doy_of_max"]})
    >>> reference = xr.DataArray(np.array([[2, 2, 3, 3]]), dims=("y", "x"))
    >>> forest_from_grassland(stats, reference, {2: "forest", 3: "grassland"})
    'b'
    """
    codes = {name: code for code, name in class_names.items()}
    labels = np.asarray(reference).ravel()
    kept = np.isin(labels, [codes["forest"], codes["grassland"]])
    is_forest = labels[kept] == codes["forest"]
    separation = {key: abs(_roc_auc(is_forest, stats.sel(feature=name).values.ravel()[kept]) - 0.5)
                  for key, name in _FEATURE_OF_CHOICE.items()}
    return max(separation, key=separation.get)


def _roc_auc(positive: np.ndarray, values: np.ndarray) -> float:
    """The ROC AUC of ``values`` for the ``positive`` samples: the chance that a positive sample has a larger value
    than a negative one (Mann-Whitney U), ties counted half; the same as scikit-learn's ``roc_auc_score``, without
    importing it (slow) in every notebook."""
    ranks = pd.Series(values).rank().to_numpy()  # ties get their mean rank
    n_positive, n_negative = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative))


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
    "03.ndwi_positive": Exercise(
        reference=ndwi_positive,
        title="your prediction: the share of pixels with a positive NDWI",
        hint="NDWI = (green - NIR) / (green + NIR) is positive only where the green band is brighter than the near "
             "infrared. On which surfaces is it?",
        hints=("Leaves reflect near infrared strongly, roofs and soil reflect both bands about equally, water "
               "absorbs near infrared.",),
        compare=within(abs=0.05),
        explanation="Only open water reflects more green than near infrared: here, the river, a few percent of the "
                    "pixels. Vegetation reflects near infrared strongly, so its NDWI is strongly negative; roofs, "
                    "streets and bare soil reflect both bands about equally, slightly negative. A positive NDWI is a "
                    "simple water detector: on a clear date, at least.",
    ),
    "03.forest_from_grassland": Exercise(
        reference=forest_from_grassland,
        title="your prediction: the feature that tells forest from grassland",
        hint="Think of the year of each: how green at its best, how much it changes, and when it is greenest.",
        hints=("A meadow is mown several times a year, and a forest stays leafy all summer.",),
        choices=FOREST_FROM_GRASSLAND,
        explanation="The amplitude: grassland is mown several times a year and its NDVI swings widely, while a "
                    "forest changes less. Both reach about the same peak NDVI in summer, so a single summer image, "
                    "or the peak, hardly tells them apart: the calendar does. The day of the peak helps too (many "
                    "meadows peak in late May, before their first cut), but not every meadow does.",
    ),
}
