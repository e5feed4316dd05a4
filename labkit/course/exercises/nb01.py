"""Exercises of notebook 01, clouds and validity masks.

Besides four code exercises, two questions: a numeric prediction of the dates that keep more than half of their
pixels (``01.dates_kept``), and a multiple choice on the dates a dilation costs (``01.dilation_dates``); both
answers are computed from the masks.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xarray as xr

from ...masks import mask_from_cloud_probability, mask_from_scl
from ..compare import compare_dates, within
from . import Exercise


def strict_mask(scl: xr.DataArray, invalid: Iterable[int], no_data: Iterable[int]) -> xr.DataArray:
    """The validity mask of SCL layers: 2 where the class is in ``no_data``, else 1 where it is in ``invalid``, else 0.

    Example
    -------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> scl = xr.DataArray(np.array([[[0, 2, 4, 9]]]), dims=("time", "y", "x"),
    ...                    coords={"time": pd.to_datetime(["2022-06-02"]), "y": [0.0], "x": [0.0, 1, 2, 3]})
    >>> strict_mask(scl, invalid=[2, 9], no_data=[0]).values.tolist()
    [[[2, 1, 0, 1]]]
    """
    return mask_from_scl(scl, invalid=list(invalid), no_data=list(no_data))


def cloudy_dates(mask: xr.DataArray, max_valid: float) -> np.ndarray:
    """The dates on which at most ``max_valid`` (a fraction) of the pixels are valid (code 0).

    Example
    -------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> mask = xr.DataArray(np.array([[[0, 0]], [[1, 0]], [[1, 1]]], "uint8"), dims=("time", "y", "x"),
    ...                     coords={"time": pd.to_datetime(["2022-06-02", "2022-06-05", "2022-06-07"])})
    >>> cloudy_dates(mask, max_valid=0.5).astype("datetime64[D]")
    array(['2022-06-05', '2022-06-07'], dtype='datetime64[D]')
    """
    valid_fraction = (mask == 0).mean(dim=("y", "x"))
    return mask["time"].values[(valid_fraction <= max_valid).values]


def dilation_added(mask: xr.DataArray, dilated: xr.DataArray) -> int:
    """How many observations are valid (0) in ``mask`` and invalid (1) in ``dilated``.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> mask = xr.DataArray(np.array([[[0, 1, 0, 2]]], "uint8"), dims=("time", "y", "x"))
    >>> dilated = xr.DataArray(np.array([[[1, 1, 1, 2]]], "uint8"), dims=("time", "y", "x"))
    >>> dilation_added(mask, dilated)
    2
    """
    return int(((mask == 0) & (dilated == 1)).sum())


def probability_mask(prob: xr.DataArray, threshold: float) -> xr.DataArray:
    """The mask of a cloud probability layer in percent: 1 where the probability is above ``threshold`` (in [0, 1]).

    Example
    -------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> prob = xr.DataArray(np.array([[[10, 40, 41, 90]]], "uint8"), dims=("time", "y", "x"), attrs={"units": "%"},
    ...                     coords={"time": pd.to_datetime(["2016-06-01"]), "y": [0.0], "x": [0.0, 1, 2, 3]})
    >>> probability_mask(prob, threshold=0.4).values.tolist()
    [[[0, 0, 1, 1]]]
    """
    return mask_from_cloud_probability(prob, threshold)


def dates_kept(mask: xr.DataArray, min_valid: float = 0.5) -> int:
    """How many dates have more than ``min_valid`` (a fraction) of their pixels valid (code 0).

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> mask = xr.DataArray(np.array([[[0, 0]], [[1, 0]], [[1, 2]]], "uint8"), dims=("time", "y", "x"))
    >>> dates_kept(mask), dates_kept(mask, min_valid=0.4)
    (1, 2)
    """
    return int(((mask == 0).mean(dim=("y", "x")) > min_valid).sum())


DILATION_DATES = {
    "a": "every date that has valid pixels, a little each",
    "b": "only the dates that are partly cloudy",
    "c": "the entirely cloudy dates, most of all",
}
"""The choices of question ``01.dilation_dates``."""


def dilation_dates(mask: xr.DataArray, dilated: xr.DataArray) -> str:
    """Which of :data:`DILATION_DATES` names the dates that lose valid observations to the dilation: ``"b"`` when
    they are all partly cloudy (some pixels valid, some not), else ``"a"``.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> mask = xr.DataArray(np.array([[[0, 0, 0]], [[1, 0, 0]], [[1, 1, 1]]], "uint8"), dims=("time", "y", "x"))
    >>> dilated = xr.DataArray(np.array([[[0, 0, 0]], [[1, 1, 0]], [[1, 1, 1]]], "uint8"), dims=("time", "y", "x"))
    >>> dilation_dates(mask, dilated)
    'b'
    """
    losing = ((mask == 0) & (dilated == 1)).any(dim=("y", "x")).values
    valid = (mask == 0).mean(dim=("y", "x")).values
    partly_cloudy = (valid > 0) & (valid < 1)
    return "b" if not (losing & ~partly_cloudy).any() else "a"


EXERCISES: dict[str, Exercise] = {
    "01.strict_mask": Exercise(
        reference=strict_mask,
        title="a stricter mask from SCL",
        hint="Build the mask in two steps: 1 where the SCL class is one of the invalid classes, else 0; then 2 "
             "where it is a no-data class.",
        hints=(
            "scl.isin(classes) is True where the class is one of `classes`; xr.where(condition, if_true, if_false) "
            "picks values.",
            "scl.isin(classes) is True where the class is one of `classes`. Start from "
            "xr.where(scl.isin(strict_invalid), 1, 0), then put 2 where scl.isin(no_data) with a second xr.where "
            "(no data wins over invalid).",
        ),
    ),
    "01.cloudy_dates": Exercise(
        reference=cloudy_dates,
        title="the dates hidden by clouds",
        hint="First the fraction of valid pixels of each date (as in notebook 00), then keep the dates where it is "
             "at most max_valid.",
        hints=(
            "(mask == 0).mean(dim=('y', 'x')) is the fraction of valid pixels per date; keep the dates where it is "
            "<= max_valid, by indexing mask.time with that boolean array.",
        ),
        compare=compare_dates,
    ),
    "01.dilation_added": Exercise(
        reference=dilation_added,
        title="observations lost to the dilation",
        hint="An observation is lost to the dilation when it was valid before and is invalid after.",
        hints=(
            "An observation is lost where it was valid before (mask == 0) and is invalid after (dilated == 1): "
            "combine the two conditions with &, then sum.",
        ),
    ),
    "01.probability_mask": Exercise(
        reference=probability_mask,
        title="a mask from the cloud probability",
        hint="Check the units: are the probability layer and the threshold on the same scale? (Look at prob.attrs.)",
        hints=(
            "Bring the probability to [0, 1] first; an observation is cloudy when its probability is strictly "
            "above the threshold.",
            "The layer is in percent (prob.attrs['units']) and the threshold a probability: compare prob / 100 "
            "with threshold, strictly (>), and turn the result into 1 and 0 with xr.where.",
        ),
    ),
    "01.dates_kept": Exercise(
        reference=dates_kept,
        title="your prediction: the dates that keep more than half of their pixels",
        hint="Go through the twelve dates: which look clear in true colour, and which does the SCL flag as cloud or "
             "cirrus (the table of shares above)?",
        hints=("Thin cirrus (10) is invalid by default: look at the cirrus row of the table for the dates that look "
               "clear.",),
        compare=within(abs=0.5),
        explanation="Seven dates: the seven clear ones. 2 June keeps about 42 % of its pixels (cloud and cirrus "
                    "over the top and right); 17 June looks clear, but Sen2Cor calls 80 % of it thin cirrus, "
                    "invalid by default, and only about 10 % is left. The missing blue band of 17 and 27 June does "
                    "not count here: it is not in the SCL. What the eye calls clear and what the mask keeps differ.",
    ),
    "01.dilation_dates": Exercise(
        reference=dilation_dates,
        title="your prediction: the dates a dilation costs",
        hint="A dilation turns valid pixels invalid when they are near an invalid pixel of the same date. Which "
             "dates have both?",
        hints=("An entirely clear date has no invalid pixel to grow from; an entirely cloudy one has no valid pixel "
               "left to lose.",),
        choices=DILATION_DATES,
        explanation="The dilation works date by date, and only a valid pixel near an invalid one of the same date "
                    "becomes invalid. An entirely clear date has no cloud to grow from, an entirely cloudy one has "
                    "nothing left to lose: only the partly cloudy dates (here 2 and 17 June) pay, along their cloud "
                    "edges, and the longer the edges, the more they pay.",
    ),
}
