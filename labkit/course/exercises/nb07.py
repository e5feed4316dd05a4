"""Exercises of notebook 07, from model to map: margin uncertainty, the block size of a memory budget, and reading
an uncertainty map; questions: where the uncertainty is highest, and what a majority filter leaves of a rare class."""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr
from scipy import ndimage

from ...datamodel import NO_CLASS
from ...tiling import WORKING_FACTOR, block_shape
from ..compare import compare_values, within
from . import Exercise


def margin_uncertainty(probabilities: xr.DataArray) -> xr.DataArray:
    """``1 - (highest probability - second highest)`` at each pixel of probabilities ``(class, y, x)``: 0 when one
    class takes it all, 1 when the two best classes tie; NaN where a pixel has no probabilities.

    Example
    -------
    >>> probs = xr.DataArray([[[0.7, 0.4]], [[0.2, 0.4]], [[0.1, 0.2]]], dims=("class", "y", "x"))
    >>> margin_uncertainty(probs).round(2).values.tolist()
    [[0.5, 1.0]]
    """
    ordered = np.sort(probabilities.transpose("class", ...).values, axis=0)  # lowest first (NaN last)
    other = [d for d in probabilities.dims if d != "class"]
    like = probabilities.isel({"class": 0}, drop=True).transpose(*other)
    return like.copy(data=1 - (ordered[-1] - ordered[-2])).rename("margin")


def predict_map_bytes_per_pixel(n_time: int, n_band: int, n_classes: int) -> int:
    """What one pixel of a block costs while :func:`labkit.inference.predict_map` runs a pixel model on a cube
    without a mask: ``WORKING_FACTOR x (its n_time x n_band float32 values + (4 + n_classes) layers of 8 bytes)``.

    Example
    -------
    >>> predict_map_bytes_per_pixel(90, 1, 5)
    1296
    """
    return int(WORKING_FACTOR * (n_time * n_band * 4 + 8 * (4 + n_classes)))


def block_for_budget(height: int, width: int, n_time: int, n_band: int, n_classes: int, memory: str,
                     workers: int) -> dict:
    """The bytes per pixel and the block ``(rows, columns)`` that ``predict_map`` uses for a grid of ``height`` x
    ``width`` pixels held in memory (no storage tiles), under a budget of ``memory`` shared by ``workers`` threads.

    Example
    -------
    >>> block_for_budget(10980, 10980, 36, 10, 10, memory="4GB", workers=4)
    {'bytes_per_pixel': 4656, 'block': (463, 463)}
    """
    per_pixel = predict_map_bytes_per_pixel(n_time, n_band, n_classes)
    return {"bytes_per_pixel": per_pixel,
            "block": block_shape(height, width, per_pixel, memory=memory, workers=workers)}


def uncertain_share(class_map: xr.DataArray, uncertainty: xr.DataArray, threshold: float) -> dict[int, float]:
    """For each class of the map, the share of its pixels whose uncertainty is above ``threshold`` (unclassified
    pixels left out).

    Example
    -------
    >>> m = xr.DataArray(np.array([[1, 1, 2], [2, 2, 255]], "uint8"), dims=("y", "x"))
    >>> u = xr.DataArray(np.array([[0.9, 0.1, 0.6], [0.2, 0.8, np.nan]]), dims=("y", "x"))
    >>> {code: round(share, 3) for code, share in uncertain_share(m, u, 0.5).items()}
    {1: 0.5, 2: 0.667}
    """
    codes = np.asarray(class_map.values)
    values = np.asarray(uncertainty.values)
    return {int(code): float((values[codes == code] > threshold).mean())
            for code in np.unique(codes) if code != NO_CLASS}


def class_borders(class_map: xr.DataArray) -> np.ndarray:
    """The pixels on a border between classes: those with a pixel of another class among their 8 neighbours.

    Example
    -------
    >>> m = xr.DataArray(np.array([[1, 1, 1, 2], [1, 1, 1, 2], [1, 1, 1, 2]], "uint8"), dims=("y", "x"))
    >>> class_borders(m).astype(int).tolist()
    [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]]
    """
    codes = np.asarray(class_map.values)
    return ndimage.maximum_filter(codes, 3, mode="nearest") != ndimage.minimum_filter(codes, 3, mode="nearest")


def where_uncertain(class_map: xr.DataArray, uncertainty: xr.DataArray, margin: float = 0.05) -> str:
    """Where the uncertainty is highest, as a key of the question's choices: ``"a"`` inside the parcels, ``"b"`` on
    the borders between classes (:func:`class_borders`), ``"c"`` no difference (mean uncertainties within
    ``margin`` of each other).

    Example
    -------
    >>> m = xr.DataArray(np.array([[1, 1, 1, 2], [1, 1, 1, 2], [1, 1, 1, 2]], "uint8"), dims=("y", "x"))
    >>> u = xr.DataArray(np.array([[0.1, 0.1, 0.6, 0.8]] * 3), dims=("y", "x"))
    >>> where_uncertain(m, u)
    'b'
    """
    border = class_borders(class_map)
    values = np.asarray(uncertainty.values, dtype=float)
    difference = np.nanmean(values[border]) - np.nanmean(values[~border])
    return "c" if abs(difference) < margin else ("b" if difference > 0 else "a")


def share_left_by_majority_filter(class_map: xr.DataArray, code: int, window: int) -> float:
    """The pixels of class ``code`` after a majority filter of ``window`` x ``window`` pixels, as a share of its
    pixels before (1: as many, above 1: more).

    Example
    -------
    >>> codes = np.ones((5, 5), "uint8")
    >>> codes[2] = 2  # a road one pixel wide across a field
    >>> m = xr.DataArray(codes, dims=("y", "x"), coords={"y": np.arange(5.0), "x": np.arange(5.0)})
    >>> share_left_by_majority_filter(m, code=2, window=3)
    0.0
    """
    from ...postprocess import majority_filter  # here: labkit.course stays light to import

    before = int((class_map.values == code).sum())
    return int((majority_filter(class_map, window).values == code).sum()) / before


EXERCISES: dict[str, Exercise] = {
    "07.margin": Exercise(
        reference=margin_uncertainty,
        title="margin uncertainty from the class probabilities",
        hint="For each pixel you need its highest and its second-highest class probability.",
        hints=(
            "Sorting the probabilities along the class dim gives both, as the last two values.",
            "Sort the probabilities of each pixel along the class axis: xr.apply_ufunc(np.sort, probabilities, "
            "input_core_dims=[['class']], output_core_dims=[['rank']]) puts them on a new last dim 'rank', lowest "
            "first. The margin is 1 - (last - the one before it), .isel(rank=-1) and .isel(rank=-2). (Taking the "
            "highest probability below the maximum, with .where(p < p.max('class')), is wrong where two classes "
            "tie.)",
        ),
        compare=functools.partial(compare_values, rtol=1e-5, atol=1e-6),
    ),
    "07.block_for_budget": Exercise(
        reference=block_for_budget,
        title="the block size predict_map picks for a memory budget",
        hint="Two steps: what one pixel of a block costs in bytes, then how many such pixels fit in each worker's "
             "share of the memory.",
        hints=(
            "bytes_per_pixel = WORKING_FACTOR * (n_time * n_band * 4 + 8 * (4 + n_classes)): the pixel's float32 "
            "values plus its output layers of 8 bytes.",
            "bytes_per_pixel = WORKING_FACTOR * (n_time * n_band * 4 + 8 * (4 + n_classes)). The budget is shared "
            "by the workers: each block may take parse_memory(memory) / workers bytes, so its side is "
            "math.isqrt(int(that / bytes_per_pixel)) pixels (capped at the grid's size). block is (side, side), "
            "two ints.",
        ),
    ),
    "07.uncertain_share": Exercise(
        reference=uncertain_share,
        title="share of each class's pixels above an uncertainty threshold",
        hint="Class by class: among the pixels mapped as that class, the share whose uncertainty is above the "
             "threshold.",
        hints=(
            "For each code in np.unique(class_map.values) other than NO_CLASS, take the uncertainty of the pixels "
            "mapped as that class (uncertainty.values[class_map.values == code]) and the mean of (those > "
            "threshold). Build a dict {int(code): float(share)}.",
        ),
        compare=functools.partial(compare_values, rtol=1e-9),
    ),
    "07.where_uncertain": Exercise(
        reference=where_uncertain,
        title="where the uncertainty of the map is highest",
        hint="Think of a 10 m pixel where two parcels meet: what does its series look like, and what does the model "
             "make of it?",
        hints=("A pixel on the border between a meadow and a forest mixes both covers: its NDVI series is neither "
               "class's. Inside a large parcel, the series is typical of its class.",),
        choices={"a": "inside the parcels, away from any other class",
                 "b": "on the borders between classes (pixels with a neighbour mapped as another class)",
                 "c": "nowhere in particular: as high inside the parcels as on their borders"},
        explanation="A pixel on a border mixes two covers (and the small parcels are mostly border), so its series "
                    "fits neither class well and the trees split their votes; inside a large parcel the series is "
                    "typical of its class. The salt-and-pepper pixels of a pixel map sit where the model hesitates.",
    ),
    "07.rare_class_after_filter": Exercise(
        reference=share_left_by_majority_filter,
        title="what a 3 x 3 majority filter leaves of the artificial surfaces",
        hint="What does the majority of a 3 x 3 window look like around a pixel of a road one or two pixels wide?",
        hints=("Each pixel takes the class of most of its 3 x 3 window. A road pixel has at most 3 road pixels in "
               "its window of 9: the fields around it outvote it. Large patches keep their pixels, thin and small "
               "ones lose them.",),
        compare=within(abs=0.2),
        explanation="A majority filter favours the class that dominates each neighbourhood: isolated pixels, thin "
                    "lines and the corners of small patches go to their surroundings. Artificial surfaces are small "
                    "and thin (roads, houses), so they lose pixels while forest, the dominant class, gains. The map's "
                    "areas change with it: a filtered map underestimates small, fragmented classes (notebook 08 "
                    "estimates areas from a sample, not from the map).",
    ),
}
