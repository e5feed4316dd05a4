"""Post-processing: turn the raw maps of :mod:`labkit.inference` into the maps and polygons that are delivered.

Takes class maps ``(y, x)`` and probabilities ``(class, y, x)`` on one grid (in memory, dask-backed, or the COGs that
:func:`labkit.inference.write_map` wrote) and returns maps of the same kind, polygons, or one mosaic file. Comes
after :mod:`labkit.inference`, before :mod:`labkit.accuracy`. In the order of a chain:

* :func:`bayesian_smoothing`: sits' Bayesian smoothing of the probabilities (each class's logit pulled towards the
  mean of its neighbourhood, by their variances); :func:`label_probabilities` then takes the most probable class.
* :func:`fuse_class_maps` / :func:`fuse_probabilities`: fuse the maps of several runs (seeds, folds, models), by
  majority vote or by the mean of the probabilities; they also read ``class_map.tif`` / ``probabilities.tif``.
  The vote is iota2's fusion of classifications (OTB's ``FusionOfClassifications``, majority voting): unclassified
  inputs do not vote, and a tie gives :data:`~labkit.datamodel.UNDECIDED` rather than a class drawn at random.
* :func:`majority_filter`: each pixel takes the most frequent class of its window (iota2's regularisation).
* :func:`sieve`: the minimum mapping unit: patches smaller than ``min_size`` pixels merge into a neighbour.
* :func:`vectorize`: the class map as polygons (a GeoDataFrame, for :func:`labkit.io.write_vector`), simplified.
* :func:`mosaic`: tiles of a map (COGs, possibly overlapping) into one COG, or a VRT.

Every map operation walks the grid through :func:`labkit.tiling.map_blocks` (or :func:`~labkit.tiling.reduce_blocks`)
with the halo its neighbourhood needs, so a dask-backed input stays lazy, memory stays bounded, and a result computed
block by block equals the one computed on the whole image. Unclassified pixels (``nodata``,
:data:`~labkit.datamodel.NO_CLASS`) never spread into classes and stay where they were.

Example
-------
>>> import numpy as np, xarray as xr
>>> noisy = xr.DataArray(np.array([[1, 1, 1], [1, 2, 1], [1, 1, 255]], "uint8"), dims=("y", "x"),
...                      coords={"y": [25.0, 15.0, 5.0], "x": [5.0, 15.0, 25.0]})
>>> majority_filter(noisy).values.tolist()
[[1, 1, 1], [1, 1, 1], [1, 1, 255]]
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from . import tiling
from .datamodel import NO_CLASS, UNDECIDED, validate
from .errors import ConfigError, DataModelError, GridMismatchError, ReadError
from .io import CLASS_NAMES_TAG, tagged_class_names
from .params import flag, integer, number

__all__ = ["CONNECTIVITIES", "MOSAIC_METHODS", "bayesian_smoothing", "fuse_class_maps", "fuse_probabilities",
           "label_probabilities", "majority_filter", "mosaic", "sieve", "vectorize"]

RUN_DIM = "run"

CONNECTIVITIES = (4, 8)
"""Pixels of one patch touch by a side (4) or also by a corner (8)."""
MOSAIC_METHODS = ("first", "last", "min", "max")
"""Which tile's value a :func:`mosaic` keeps where tiles overlap (a VRT: ``first`` or ``last`` only)."""

_LOGIT_EPS = 1e-4
"""Probabilities are clipped to ``[eps, 1 - eps]`` before their logit (sits stores them to 1e-4): 0 and 1 would
give infinite logits."""


# ------------------------------------------------------------------------------------------------ shared helpers


def _is_dask(obj: xr.DataArray) -> bool:
    return hasattr(obj.data, "dask")


def _check_same_grid(arrays: Sequence[xr.DataArray], what: str, kind: str) -> None:
    """Every array on the first one's grid: same dims, sizes, y/x coordinates and CRS."""
    first = arrays[0]
    for i, other in enumerate(arrays[1:], start=1):
        if other.sizes != first.sizes:
            raise GridMismatchError(f"{what}: {kind} {i} has sizes {dict(other.sizes)}, {kind} 0 has "
                                    f"{dict(first.sizes)}; every run must be on the same grid.")
        for dim in ("y", "x"):
            a, b = first[dim].values, other[dim].values
            if not np.allclose(a, b, rtol=0, atol=1e-6 * max(1.0, float(np.abs(a).max(initial=0)))):
                raise GridMismatchError(f"{what}: the '{dim}' coordinates of {kind} {i} differ from those of {kind} 0 "
                                        f"(first {dim} {b[0]} vs {a[0]}); every run must be on the same grid.")
        crs_a, crs_b = first.rio.crs, other.rio.crs
        if crs_a is not None and crs_b is not None and crs_a != crs_b:
            raise GridMismatchError(f"{what}: {kind} {i} is in {crs_b}, {kind} 0 in {crs_a}; reproject one first "
                                    "(rio.reproject_match).")


def _runs(values, name: str, what: str, kind: str) -> list:
    """The runs given to a fusion as a list: a sequence of arrays, not one array (which would be split into rows)."""
    if isinstance(values, xr.DataArray | np.ndarray | str | os.PathLike) or not isinstance(values, Sequence | Iterable):
        raise ConfigError(f"{what}: {name} must be a sequence of {kind}, one per run (a list); got a "
                          f"{type(values).__name__}.")
    return list(values)


def _georeference_like(result: xr.DataArray, like: xr.DataArray, nodata) -> xr.DataArray:
    if like.rio.crs is not None:
        result = result.rio.write_crs(like.rio.crs)
    return result.rio.write_nodata(nodata)


def _checked(obj, kind: str, name: str, what: str) -> xr.DataArray:
    """``obj`` validated as a ``kind`` (``"class_map"`` or ``"probs"``), the error naming the function."""
    try:
        validate(obj, kind)
    except DataModelError as error:
        noun = {"class_map": "a class map", "probs": "a probability array"}[kind]
        raise DataModelError(f"{what}: {name} is not {noun}: {error}") from None
    return obj


def _window(window, what: str) -> int:
    window = integer(window, "window", what, low=1)
    if window % 2 == 0:
        raise ConfigError(f"{what}: window must be an odd integer >= 1 (a square centred on the pixel); got {window}.")
    return window


def _like_input(result: xr.DataArray, like: xr.DataArray, nodata) -> xr.DataArray:
    """``result`` (from the block engine) with ``like``'s name, attributes (class names...), CRS and nodata."""
    result = result.rename(like.name)
    result.attrs = {k: v for k, v in like.attrs.items() if k not in ("_FillValue", "nodata")}
    return _georeference_like(result, like, nodata)


# ------------------------------------------------------------------------------------ reading written products


def _raster(path, what: str):
    """``path`` opened with rasterio (the caller closes it), or a :class:`ReadError` naming it."""
    import rasterio
    from rasterio.errors import RasterioIOError

    from .outputs import refuse_temporary

    refuse_temporary(path)
    if not Path(path).exists():
        raise ReadError(f"{what}: {path} does not exist.")
    try:
        return rasterio.open(path)
    except RasterioIOError as error:
        raise ReadError(f"{what}: cannot read {path} as a raster ({error}).") from None


def _read_lazily(path, what: str) -> tuple[xr.DataArray, dict]:
    """``(band, y, x)`` read lazily in chunks of whole file tiles, and the file's metadata (band count and
    descriptions, tags, nodata)."""
    import rioxarray

    with _raster(path, what) as src:
        height, width = src.block_shapes[0]
        meta = {"descriptions": src.descriptions, "tags": src.tags(), "nodata": src.nodata, "count": src.count}
    chunks = {"band": -1, "y": max(1, 1024 // height) * height, "x": max(1, 1024 // width) * width}
    array = rioxarray.open_rasterio(path, chunks=chunks, mask_and_scale=False)
    return array, meta


def _read_class_map(path, what: str) -> xr.DataArray:
    """A ``class_map.tif`` (as :func:`labkit.inference.write_map` writes it) as a lazy class map ``(y, x)``."""
    array, meta = _read_lazily(path, what)
    if meta["count"] != 1 or not np.issubdtype(array.dtype, np.integer):
        raise DataModelError(f"{what}: {path} is not a class map: it has {meta['count']} band(s) of {array.dtype}; a "
                             "class map has one band of integer codes (class_map.tif).")
    class_map = array.isel(band=0, drop=True).rename("class")
    class_map.attrs = {}
    if (names := tagged_class_names(meta["tags"])) is not None:
        class_map.attrs["class_names"] = names
    return class_map.rio.write_nodata(meta["nodata"])


def _read_probabilities(path, what: str) -> xr.DataArray:
    """A ``probabilities.tif`` as lazy fractions ``(class, y, x)`` float32, NaN where unclassified: percentages
    (uint8, nodata 255, tag ``SCALE=percent``) are divided by 100; the class codes are the band descriptions."""
    array, meta = _read_lazily(path, what)
    codes = []
    for band, text in enumerate(meta["descriptions"], start=1):
        try:
            codes.append(int(text))
        except (TypeError, ValueError):
            raise DataModelError(f"{what}: band {band} of {path} is described {text!r}, not a class code; "
                                 "probabilities.tif names each band after its class code, as "
                                 "labkit.inference.write_map writes it.") from None
    nodata = meta["nodata"]
    values = array.where(array != nodata) if nodata is not None and not np.isnan(nodata) else array
    if meta["tags"].get("SCALE") == "percent" or np.issubdtype(array.dtype, np.integer):
        values = values / 100.0
    probs = values.astype(np.float32).rename({"band": "class"}).assign_coords({"class": codes}).rename(None)
    probs.attrs = {}
    return probs.rio.write_nodata(np.nan)


def _as_run(run, reader, what: str):
    """A run given as a DataArray, or as the path of a file it is read from."""
    return reader(run, what) if isinstance(run, str | os.PathLike) else run


# -------------------------------------------------------------------------------------------------------- fusion


def _vote(stack: np.ndarray, nodata: int, undecided: int) -> np.ndarray:
    """Majority vote over the last axis; ties -> ``undecided``, no vote -> ``nodata``."""
    valid = (stack != nodata) & (stack != undecided)
    n_runs = stack.shape[-1]
    votes = np.zeros(stack.shape, dtype=np.int32)  # votes[..., k]: runs that agree with run k
    for j in range(n_runs):
        votes += (stack == stack[..., j:j + 1]) & valid[..., j:j + 1]
    votes[~valid] = 0
    best = votes.max(axis=-1)
    winner = np.take_along_axis(stack, votes.argmax(axis=-1)[..., None], axis=-1)[..., 0]
    tied = ((votes == best[..., None]) & (stack != winner[..., None]) & valid).any(axis=-1)
    out = np.where(tied, undecided, winner)
    return np.where(best == 0, nodata, out).astype(stack.dtype)


def fuse_class_maps(
    maps: Sequence[xr.DataArray | str | os.PathLike],
    *,
    method: str = "vote",
    undecided: int = UNDECIDED,
    nodata: int = NO_CLASS,
) -> xr.DataArray:
    """Fuse the class maps of several runs by majority vote, pixel by pixel.

    Each run votes for its class at each pixel; the class with strictly more votes than every other wins (a
    plurality: with 5 runs voting 2-1-1-1, the class with 2 wins). Pixels where two classes or more share the
    highest number of votes get ``undecided``, as in iota2 (OTB's ``FusionOfClassifications``, majority voting).
    Unclassified pixels (``nodata``) do not vote, and neither do pixels already ``undecided`` (so fused maps can be
    fused again); a pixel with no vote at all stays ``nodata``. The result does not depend on the order of the maps.

    Parameters
    ----------
    maps : sequence of class maps (y, x), or of paths to ``class_map.tif`` files
        One per run, on one grid (same sizes, coordinates and CRS), integer codes. Numpy or dask; a file (as
        :func:`labkit.inference.write_map` writes it) is read lazily, tile by tile.
    method : {"vote"}
        The fusion rule (majority vote is the only one so far).
    undecided : int, default :data:`UNDECIDED` (254)
        The code of tied pixels; it must not be a class code of the maps.
    nodata : int, default :data:`~labkit.datamodel.NO_CLASS` (255)
        The code of unclassified pixels, in the inputs and the output.

    Returns
    -------
    class map (y, x)
        The dtype of the inputs, the first map's coordinates and CRS, named ``"class"``; lazy when an input is
        dask-backed or a file.

    Raises
    ------
    ConfigError
        No map, an unknown method, ``undecided`` or ``nodata`` not an integer, equal, or not representable in the
        maps' dtype.
    DataModelError
        An input is not a class map (a file: not one band of integer codes).
    ReadError
        A file is missing or not a raster.
    GridMismatchError
        The maps are not on one grid.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> def as_map(rows):
    ...     return xr.DataArray(np.array(rows, "uint8"), dims=("y", "x"), coords={"y": [5.0], "x": [5.0, 15, 25, 35]})
    >>> runs = [as_map([[1, 1, 2, 255]]), as_map([[1, 2, 3, 255]]), as_map([[2, 1, 4, 3]])]
    >>> fuse_class_maps(runs).values.tolist()
    [[1, 1, 254, 3]]
    """
    what = "fuse_class_maps"
    maps = _runs(maps, "maps", what, "class maps (y, x)")
    undecided = integer(undecided, "undecided", what)
    nodata = integer(nodata, "nodata", what)
    if method != "vote":
        raise ConfigError(f"{what}: unknown method {method!r}; the only one is 'vote' (majority vote).")
    if not maps:
        raise ConfigError(f"{what}: no map to fuse; pass one class map (y, x) per run.")
    if undecided == nodata:
        raise ConfigError(f"{what}: undecided and nodata must be different codes; both are {nodata}.")
    maps = [_checked(_as_run(m, _read_class_map, what), "class_map", f"map {i}", what) for i, m in enumerate(maps)]
    _check_same_grid(maps, what, "map")
    dtype = np.result_type(*[m.dtype for m in maps])
    info = np.iinfo(dtype)
    for name, code in (("undecided", undecided), ("nodata", nodata)):
        if not info.min <= code <= info.max:
            raise ConfigError(f"{what}: {name}={code} does not fit the maps' dtype {dtype} ({info.min}..{info.max}); "
                              "cast the maps to a wider integer type first.")
    first = maps[0]
    stack = xr.Variable.concat([m.variable.astype(dtype) for m in maps], dim=RUN_DIM)
    stack = xr.DataArray(stack, coords={"y": first["y"], "x": first["x"]})
    if _is_dask(stack):
        stack = stack.chunk({RUN_DIM: -1})
    fused = xr.apply_ufunc(
        _vote, stack, kwargs={"nodata": nodata, "undecided": undecided},
        input_core_dims=[[RUN_DIM]], dask="parallelized", output_dtypes=[dtype],
    ).transpose("y", "x")
    fused.name = "class"
    return _georeference_like(fused, first, nodata)


def _pick(mean: np.ndarray, classes: np.ndarray, nodata: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Class of highest probability (last axis) and that probability; ``nodata``/NaN without any value."""
    valid = ~np.isnan(mean).all(axis=-1)
    filled = np.where(np.isnan(mean), -np.inf, mean)
    best = filled.argmax(axis=-1)
    confidence = np.take_along_axis(filled, best[..., None], axis=-1)[..., 0]
    codes = np.where(valid, classes[best], nodata).astype(dtype)
    return codes, np.where(valid, confidence, np.nan).astype("float32")


def _class_codes(probs: xr.DataArray, where: str, what: str) -> np.ndarray:
    if "class" not in probs.coords:
        raise ConfigError(f"{what}: {where} has no 'class' coordinate; assign the class codes with "
                          "probs.assign_coords({'class': model.classes_}).")
    classes = np.asarray(probs["class"].values)
    if not np.issubdtype(classes.dtype, np.integer):
        raise DataModelError(f"{what}: the 'class' coordinate must hold integer class codes; got {classes.dtype}.")
    return classes


def label_probabilities(probabilities: xr.DataArray, *, nodata: int = NO_CLASS) -> tuple[xr.DataArray, xr.DataArray]:
    """Label each pixel with its most probable class: the class map and the confidence of probabilities.

    The last step after :func:`bayesian_smoothing` or :func:`fuse_probabilities` (sits' ``sits_label_classification``).
    A pixel whose probabilities are all NaN (not classified) gets ``nodata`` and a NaN confidence.

    Parameters
    ----------
    probabilities : probabilities (class, y, x)
        With a ``class`` coordinate of integer class codes. Numpy or dask.
    nodata : int, default :data:`~labkit.datamodel.NO_CLASS`
        The class-map code of pixels without any probability.

    Returns
    -------
    class_map : (y, x) integer class codes (uint8 for codes 0..254 and nodata 255), named ``"class"``
    confidence : (y, x) float32, the highest probability, NaN where not classified
        Both lazy when ``probabilities`` is dask-backed, with its coordinates and CRS.

    Raises
    ------
    ConfigError
        No ``class`` coordinate, a ``nodata`` that is not an integer.
    DataModelError
        Not probabilities (class, y, x), or class codes that are not integers.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> probs = xr.DataArray([[[0.7, 0.2, np.nan]], [[0.3, 0.8, np.nan]]], dims=("class", "y", "x"),
    ...                      coords={"class": [3, 7], "y": [5.0], "x": [5.0, 15.0, 25.0]})
    >>> class_map, confidence = label_probabilities(probs)
    >>> class_map.values.tolist(), np.round(confidence.values.astype(float), 2).tolist()
    ([[3, 7, 255]], [[0.7, 0.8, nan]])
    """
    what = "label_probabilities"
    nodata = integer(nodata, "nodata", what)
    probs = _checked(probabilities, "probs", "probabilities", what)
    classes = _class_codes(probs, "probabilities", what)
    dtype = np.promote_types(np.min_scalar_type(int(classes.max(initial=0))), np.min_scalar_type(nodata))
    if classes.min(initial=0) < 0 or nodata < 0:
        dtype = np.promote_types(dtype, np.min_scalar_type(min(int(classes.min(initial=0)), nodata)))
    if _is_dask(probs):
        probs = probs.chunk({"class": -1})
    class_map, confidence = xr.apply_ufunc(
        _pick, probs, kwargs={"classes": classes, "nodata": nodata, "dtype": dtype},
        input_core_dims=[["class"]], output_core_dims=[[], []], dask="parallelized",
        output_dtypes=[dtype, np.float32],
    )
    class_map = _georeference_like(class_map.transpose("y", "x").rename("class"), probs, nodata)
    confidence = _georeference_like(confidence.transpose("y", "x").rename("confidence"), probs, np.nan)
    return class_map, confidence


def fuse_probabilities(
    probs_list: Sequence[xr.DataArray | str | os.PathLike], *, nodata: int = NO_CLASS
) -> tuple[xr.DataArray, xr.DataArray]:
    """Fuse several runs' class probabilities by their mean, and label each pixel with the most probable class.

    A pixel a run could not classify (NaN probabilities) is averaged over the runs that did; where none did, the
    class map holds ``nodata`` and the confidence NaN. The labelling is :func:`label_probabilities`'.

    Parameters
    ----------
    probs_list : sequence of probabilities (class, y, x), or of paths to ``probabilities.tif`` files
        One per run, on one grid, with the same ``class`` coordinate (the class codes, in the same order). Numpy
        or dask. A file written by :func:`labkit.inference.write_map` is read lazily: percentages (uint8, nodata
        255) become fractions, float32 files are read as they are, and the class codes come from the band
        descriptions.
    nodata : int, default :data:`~labkit.datamodel.NO_CLASS`
        The class-map code of pixels without any probability.

    Returns
    -------
    class_map : (y, x) integer class codes (uint8 for codes 0..254 and nodata 255)
    confidence : (y, x) float32, the highest mean probability, NaN where not classified
        Both lazy when an input is dask-backed or a file.

    Raises
    ------
    ConfigError
        No probabilities given, no ``class`` coordinate, or a ``nodata`` that is not an integer.
    DataModelError
        An input is not (class, y, x) probabilities in [0, 1], or the runs' classes differ; a file band whose
        description is not a class code.
    ReadError
        A file is missing or not a raster.
    GridMismatchError
        The runs are not on one grid.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> def as_probs(values):
    ...     return xr.DataArray(np.array(values), dims=("class", "y", "x"),
    ...                         coords={"class": [3, 7], "y": [5.0], "x": [5.0, 15.0]})
    >>> classes, confidence = fuse_probabilities([as_probs([[[0.6, 0.2]], [[0.4, 0.8]]]),
    ...                                           as_probs([[[0.8, 0.4]], [[0.2, 0.6]]])])
    >>> classes.values.tolist(), np.round(confidence.values.astype(float), 2).tolist()
    ([[3, 7]], [[0.7, 0.7]])
    """
    what = "fuse_probabilities"
    probs_list = _runs(probs_list, "probs_list", what, "probabilities (class, y, x)")
    nodata = integer(nodata, "nodata", what)
    if not probs_list:
        raise ConfigError(f"{what}: no probabilities to fuse; pass one (class, y, x) array per run.")
    probs_list = [_checked(_as_run(p, _read_probabilities, what), "probs", f"run {i}", what)
                  for i, p in enumerate(probs_list)]
    for i, probs in enumerate(probs_list):
        _class_codes(probs, f"run {i}", what)
    classes = np.asarray(probs_list[0]["class"].values)
    for i, probs in enumerate(probs_list[1:], start=1):
        other = np.asarray(probs["class"].values)
        if other.shape != classes.shape or not np.array_equal(other, classes):
            raise DataModelError(f"{what}: run {i} has classes {other.tolist()}, run 0 {classes.tolist()}; the runs "
                                 "must give the same classes in the same order (use probs.sel({'class': ...})).")
    _check_same_grid(probs_list, what, "run")
    first = probs_list[0]
    stack = xr.Variable.concat([p.variable.astype("float64") for p in probs_list], dim=RUN_DIM)
    stack = xr.DataArray(stack, coords={"class": classes, "y": first["y"], "x": first["x"]})
    total = stack.sum(RUN_DIM, skipna=True)
    runs = stack.notnull().sum(RUN_DIM)
    mean = _georeference_like(total / runs.where(runs > 0), first, np.nan)
    return label_probabilities(mean, nodata=nodata)


# ------------------------------------------------------------------------------------------ Bayesian smoothing


def _smoothness(smoothness, n_classes: int, what: str) -> np.ndarray:
    """One positive smoothness per class, from one number or a sequence in the classes' order."""
    if isinstance(smoothness, Sequence | np.ndarray) and not isinstance(smoothness, str):
        values = list(smoothness)
        if len(values) != n_classes:
            raise ConfigError(f"{what}: smoothness must be one number, or one per class ({n_classes}); got "
                              f"{len(values)} values.")
    else:
        values = [smoothness] * n_classes
    return np.array([number(v, "smoothness", what, low=0, closed="neither") for v in values])


def _logits(probs: np.ndarray) -> np.ndarray:
    """``log(p / (sum - p))`` over the class axis (the logit of normalised probabilities), p clipped away from 0
    and 1; NaN where a pixel has a NaN."""
    p = np.clip(probs.astype(np.float64), _LOGIT_EPS, 1 - _LOGIT_EPS)
    return np.log(p / (p.sum(axis=0) - p))


def _posterior(logit: np.ndarray, window: int, smoothness: float, neigh_fraction: float) -> np.ndarray:
    """The Bayesian estimate of one class's logit ``(h, w)`` from its ``window`` x ``window`` neighbourhood (mirrored
    at the edges, as sits does): the ``neigh_fraction`` highest valid neighbours give the prior's mean and variance."""
    from numpy.lib.stride_tricks import sliding_window_view

    leg = window // 2
    padded = np.pad(logit, leg, mode="symmetric")
    neighbours = sliding_window_view(padded, (window, window)).reshape(*logit.shape, window * window)
    neighbours = -np.sort(-neighbours, axis=-1)  # highest first, NaN last
    count = np.ceil(neigh_fraction * np.count_nonzero(~np.isnan(neighbours), axis=-1)).astype(np.int64)
    used = np.arange(window * window) < count[..., None]
    mean = np.where(used, neighbours, 0.0).sum(axis=-1) / np.maximum(count, 1)
    variance = np.where(used, (neighbours - mean[..., None]) ** 2, 0.0).sum(axis=-1) / np.maximum(count - 1, 1)
    weight = np.where(count >= 2, variance / (variance + smoothness), 1.0)  # one neighbour: no prior, keep the pixel
    return weight * logit + (1 - weight) * mean


def _smooth_block(probs: np.ndarray, *, window: int, smoothness: np.ndarray, neigh_fraction: float) -> np.ndarray:
    from scipy.special import expit

    logits = _logits(probs)
    smoothed = expit(np.stack([_posterior(logits[k], window, smoothness[k], neigh_fraction)
                               for k in range(len(logits))]))
    return smoothed / smoothed.sum(axis=0)


def bayesian_smoothing(
    probabilities: xr.DataArray,
    window: int = 5,
    *,
    smoothness: float | Sequence[float] = 20.0,
    neigh_fraction: float = 0.5,
    memory: str | int | None = None,
    block: int | tuple[int, int] | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> xr.DataArray:
    """Smooth class probabilities with their neighbourhood by Bayesian inference, before labelling (sits' method).

    Each class's probabilities become logits, ``x = log(p / (1 - p))``. At each pixel ``i`` and class ``k``, the
    logits of the ``window`` x ``window`` neighbourhood (the pixel included) give a normal prior: its mean ``m`` and
    variance ``s²`` are those of the highest ``neigh_fraction`` of them (the neighbours most likely of the class).
    The pixel's own logit ``x`` is the likelihood, with variance ``σ²_k = smoothness``. The smoothed logit is the
    posterior mean::

        x' = s² / (s² + σ²_k) · x  +  σ²_k / (s² + σ²_k) · m

    so a pixel in a homogeneous neighbourhood (small ``s²``) is pulled to its neighbours' mean, and one on a real
    border (large ``s²``) keeps its value; a larger ``smoothness`` smooths more. The logits go back to probabilities
    (``1 / (1 + exp(-x'))``), normalised to sum to 1. Take the class with :func:`label_probabilities`.

    Follows sits' ``sits_smooth`` (Simoes et al., 2021, "Satellite image time series analysis for big Earth
    observation data", Remote Sensing 13(13):2428; Camara et al., 2023, "Bayesian inference for post-processing of
    remote sensing image classification"): neighbourhoods are mirrored at the image's edges, and probabilities are
    clipped to ``[1e-4, 1 - 1e-4]`` first. Unlike sits, a pixel without probabilities (NaN, not classified) stays
    NaN; such pixels do not count as neighbours. Where fewer than two neighbours are used the prior has no variance
    to estimate, and the pixel keeps its value.

    Parameters
    ----------
    probabilities : probabilities (class, y, x)
        At least two classes, in [0, 1]; numpy or dask (the result is then lazy).
    window : int, default 5
        Side of the square neighbourhood, odd (1: no smoothing).
    smoothness : float or sequence of float, default 20
        ``σ²_k``, the variance of a pixel's logit around its neighbourhood's: one for all classes, or one per class
        (in the order of the ``class`` coordinate). Positive.
    neigh_fraction : float, default 0.5
        The fraction of the neighbourhood (its highest logits) that makes the prior, in (0, 1].
    memory, block, workers, progress
        The block engine's budget, block (a side or ``(rows, columns)``; default chosen from the budget),
        threads and progress bar (:func:`labkit.tiling.map_blocks`).

    Returns
    -------
    probabilities (class, y, x)
        float32, summing to 1 at each classified pixel, with the input's coordinates and CRS, named
        ``"probabilities"``. Computed block by block with a halo of ``window // 2``: equal to the whole-image result.

    Raises
    ------
    ConfigError
        An even or non-positive window, a smoothness that is not positive (or not one per class), a
        ``neigh_fraction`` outside (0, 1].
    DataModelError
        Not probabilities (class, y, x), or fewer than two classes.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> forest = np.full((3, 3), 0.9)
    >>> forest[1, 1] = 0.2                                   # one noisy pixel in a forest
    >>> probs = xr.DataArray(np.stack([forest, 1 - forest]), dims=("class", "y", "x"),
    ...                      coords={"class": [1, 2], "y": [25.0, 15.0, 5.0], "x": [5.0, 15.0, 25.0]})
    >>> smoothed = bayesian_smoothing(probs, 3)
    >>> int(label_probabilities(probs)[0][1, 1]), int(label_probabilities(smoothed)[0][1, 1])
    (2, 1)
    >>> bool(np.allclose(smoothed.sum("class"), 1))
    True
    """
    what = "bayesian_smoothing"
    _checked(probabilities, "probs", "probabilities", what)
    if probabilities.sizes["class"] < 2:
        raise DataModelError(f"{what}: probabilities need at least two classes; got {probabilities.sizes['class']}.")
    window = _window(window, what)
    smoothness = _smoothness(smoothness, probabilities.sizes["class"], what)
    neigh_fraction = number(neigh_fraction, "neigh_fraction", what, low=0, high=1, closed="right")
    per_pixel = tiling.WORKING_FACTOR * 8 * (window * window + 2 * probabilities.sizes["class"])
    smoothed = tiling.map_blocks(
        _smooth_block, probabilities, halo=window // 2, block=block, memory=memory, workers=workers,
        dtype=np.float32, bytes_per_pixel=per_pixel, name=what, progress=flag(progress, "progress", what),
        kwargs=dict(window=window, smoothness=smoothness, neigh_fraction=neigh_fraction))
    return _georeference_like(smoothed.rename("probabilities"), probabilities, np.nan)


# -------------------------------------------------------------------------------------------- regularisation


def _majority_block(block: np.ndarray, *, window: int, nodata: int) -> np.ndarray:
    """Each pixel's most frequent class in its window (counted per class with a box filter), when one class has
    strictly more votes than every other; else, and at nodata pixels, the pixel's own value."""
    from scipy import ndimage

    votes = block != nodata
    best = np.zeros(block.shape, np.int64)
    winner = block.copy()
    tied = np.zeros(block.shape, bool)
    for code in np.unique(block[votes]):
        share = ndimage.uniform_filter((block == code).astype(np.float64), window, mode="constant")
        count = np.rint(share * window * window).astype(np.int64)
        more = count > best
        tied = np.where(more, False, tied | ((count == best) & (count > 0)))
        winner = np.where(more, code, winner)
        best = np.maximum(best, count)
    return np.where(tied | ~votes, block, winner)


def _engine_options(what: str, memory, block, workers, progress) -> dict:
    return dict(memory=memory, block=block, workers=workers, progress=flag(progress, "progress", what), name=what)


def majority_filter(
    class_map: xr.DataArray,
    window: int = 3,
    *,
    nodata: int = NO_CLASS,
    memory: str | int | None = None,
    block: int | tuple[int, int] | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> xr.DataArray:
    """Regularise a class map: each pixel takes the most frequent class of the square window around it.

    This is iota2's regularisation (OTB's ``ClassificationMapRegularization``): isolated pixels and ragged edges
    give way to the surrounding class. The pixel's own class votes too. A pixel changes only to a class with
    strictly more votes than every other; on a tie it keeps its class. Unclassified pixels (``nodata``) do not vote
    and stay unclassified; outside the image nobody votes.

    Parameters
    ----------
    class_map : class map (y, x)
        Integer codes; numpy or dask (the result is then lazy).
    window : int, default 3
        Side of the square window in pixels, odd (1 changes nothing).
    nodata : int, default :data:`~labkit.datamodel.NO_CLASS`
        The code of unclassified pixels.
    memory, block, workers, progress
        The block engine's budget, block (a side or ``(rows, columns)``; default chosen from the budget),
        threads and progress bar (:func:`labkit.tiling.map_blocks`).

    Returns
    -------
    class map (y, x)
        The input's dtype, name, attributes (class names), coordinates and CRS. Computed block by block with a halo of
        ``window // 2``: equal to the whole-image result.

    Raises
    ------
    ConfigError
        An even, zero or negative window, or a ``nodata`` that is not an integer.
    DataModelError
        Not a class map (y, x) of integers.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> class_map = xr.DataArray(np.array([[1, 1, 2, 2], [1, 3, 2, 2], [1, 1, 2, 255]], "uint8"), dims=("y", "x"),
    ...                          coords={"y": [25.0, 15.0, 5.0], "x": [5.0, 15.0, 25.0, 35.0]})
    >>> majority_filter(class_map).values.tolist()
    [[1, 1, 2, 2], [1, 1, 2, 2], [1, 1, 2, 255]]
    """
    what = "majority_filter"
    _checked(class_map, "class_map", "class_map", what)
    window = _window(window, what)
    nodata = integer(nodata, "nodata", what)
    filtered = tiling.map_blocks(_majority_block, class_map, halo=window // 2,
                                 kwargs=dict(window=window, nodata=nodata),
                                 **_engine_options(what, memory, block, workers, progress))
    return _like_input(filtered, class_map, nodata)


def _patches(block: np.ndarray, valid: np.ndarray, structure: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Patch labels (1..n, 0 where not valid) of the connected regions of each class, and each label's size."""
    from scipy import ndimage

    labels = np.zeros(block.shape, np.int64)
    count = 0
    for code in np.unique(block[valid]):
        patch, n = ndimage.label(block == code, structure=structure)
        labels[patch > 0] = patch[patch > 0] + count
        count += n
    return labels, np.bincount(labels.ravel(), minlength=count + 1)


def _neighbour_pairs(shape: tuple[int, int], structure: np.ndarray):
    """For each neighbour offset of ``structure``: the slices of the pixels and of their neighbours."""
    height, width = shape
    for dy, dx in np.argwhere(structure) - 1:
        if dy == dx == 0:
            continue
        rows = (slice(max(0, -dy), height - max(0, dy)), slice(max(0, dy), height - max(0, -dy)))
        cols = (slice(max(0, -dx), width - max(0, dx)), slice(max(0, dx), width - max(0, -dx)))
        yield (rows[0], cols[0]), (rows[1], cols[1])


def _sieve_block(block: np.ndarray, *, min_size: int, connectivity: int, nodata: int) -> np.ndarray:
    """Small patches take the class of their large neighbours that shares the longest border with them."""
    from scipy import ndimage

    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    valid = block != nodata
    labels, sizes = _patches(block, valid, structure)
    small = valid & (sizes[labels] < min_size)
    if not small.any():
        return block
    large = valid & ~small
    patch, code = [], []
    for here, there in _neighbour_pairs(block.shape, structure):
        border = small[here] & large[there]
        patch.append(labels[here][border])
        code.append(block[there][border].astype(np.int64))
    patch, code = _longest_border(np.concatenate(patch), np.concatenate(code))
    merged = np.zeros(len(sizes), bool)
    target = np.zeros(len(sizes), block.dtype)
    merged[patch] = True
    target[patch] = code
    return np.where(small & merged[labels], target[labels], block)


def _longest_border(patch: np.ndarray, code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From pairs of neighbouring pixels (a small patch's label, a large neighbour's code): each patch once, with
    the code it has the most pairs with (the lowest code on a tie)."""
    if not patch.size:
        return patch, code
    pairs, length = np.unique(np.stack([patch, code]), axis=1, return_counts=True)
    order = np.lexsort((pairs[1], -length, pairs[0]))  # by patch; the longest border first, then the lowest code
    first = order[np.r_[True, np.diff(pairs[0][order]) != 0]]
    return pairs[0][first], pairs[1][first]


def sieve(
    class_map: xr.DataArray,
    min_size: int,
    *,
    connectivity: int = 4,
    nodata: int = NO_CLASS,
    memory: str | int | None = None,
    block: int | tuple[int, int] | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> xr.DataArray:
    """Apply a minimum mapping unit: patches smaller than ``min_size`` pixels merge into a large neighbour.

    A patch is a connected region of one class (pixels touching by a side, or also by a corner with
    ``connectivity=8``). A patch of fewer than ``min_size`` pixels takes the class of the large patches (``min_size``
    pixels or more) around it that shares the longest border with it (counted in pairs of neighbouring pixels;
    on a tie, the lowest class code). A small patch with no large neighbour (amid other small patches or
    unclassified pixels) is kept; sieve again, or run :func:`majority_filter` first, to remove such clusters of noise.
    Unclassified pixels (``nodata``) belong to no patch, are never neighbours and never change.

    Why not GDAL's sieve (``rasterio.features.sieve``): it merges a small patch into its *largest* neighbour, following
    chains of small neighbours, which depends on patches arbitrarily far away, so no halo would make a tiled result
    equal the whole-image one. The border rule depends only on pixels near the patch, so that, with a halo of
    ``2 * min_size`` pixels, each block sees every patch it decides on whole: a patch of fewer than ``min_size``
    pixels spans fewer than ``min_size`` pixels in each direction, so it and its neighbours' pixels lie within
    ``min_size`` of the block, and a patch whose part in the halo reaches the halo's outer edge holds a path of at
    least ``min_size`` pixels: it is large, as it is on the whole image.

    Parameters
    ----------
    class_map : class map (y, x)
        Integer codes; numpy or dask (the result is then lazy).
    min_size : int
        The minimum mapping unit, in pixels (1 changes nothing).
    connectivity : {4, 8}, default 4
        How the pixels of a patch touch: 4 by a side, 8 also by a corner. Neighbours of a patch touch it the same way.
    nodata : int, default :data:`~labkit.datamodel.NO_CLASS`
        The code of unclassified pixels.
    memory, block, workers, progress
        The block engine's budget, block (a side or ``(rows, columns)``; default chosen from the budget),
        threads and progress bar (:func:`labkit.tiling.map_blocks`).

    Returns
    -------
    class map (y, x)
        The input's dtype, name, attributes, coordinates and CRS; equal to the whole-image result.

    Raises
    ------
    ConfigError
        A ``min_size`` that is not an integer >= 1, a connectivity other than 4 or 8, a ``nodata`` that is not an
        integer.
    DataModelError
        Not a class map (y, x) of integers.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> class_map = xr.DataArray(np.array([[1, 1, 1, 1], [1, 2, 2, 1], [1, 2, 1, 1], [3, 3, 3, 3]], "uint8"),
    ...                          dims=("y", "x"), coords={"y": [35.0, 25.0, 15.0, 5.0], "x": [5.0, 15.0, 25.0, 35.0]})
    >>> sieve(class_map, 4).values.tolist()                  # the patch of three 2s is below 4 pixels
    [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1], [3, 3, 3, 3]]
    >>> bool((sieve(class_map, 3) == class_map).all())
    True
    """
    what = "sieve"
    _checked(class_map, "class_map", "class_map", what)
    min_size = integer(min_size, "min_size", what, low=1)
    if connectivity not in CONNECTIVITIES or isinstance(connectivity, bool):
        raise ConfigError(f"{what}: connectivity must be 4 (pixels touch by a side) or 8 (also by a corner); got "
                          f"{connectivity!r}.")
    nodata = integer(nodata, "nodata", what)
    sieved = tiling.map_blocks(_sieve_block, class_map, halo=2 * min_size if min_size > 1 else 0,
                               kwargs=dict(min_size=min_size, connectivity=connectivity, nodata=nodata),
                               **_engine_options(what, memory, block, workers, progress))
    return _like_input(sieved, class_map, nodata)


# ------------------------------------------------------------------------------------------------- polygons


def _block_polygons(block: np.ndarray, y0: int, x0: int, *, nodata: int, grid: tuple[int, int]) -> list[tuple]:
    """``(polygon, code, cut)`` of each patch of a block, in the grid's pixel coordinates (exact integers); ``cut``:
    it touches a side of the block that is not the grid's, so it may continue in the next block."""
    from affine import Affine
    from rasterio.features import shapes
    from shapely.affinity import translate
    from shapely.geometry import shape

    height, width = block.shape
    edges = (x0 if x0 > 0 else None, x0 + width if x0 + width < grid[1] else None,
             y0 if y0 > 0 else None, y0 + height if y0 + height < grid[0] else None)
    values = block if block.dtype in (np.uint8, np.int16, np.uint16, np.int32, np.float32) else block.astype(np.int32)
    traced = Affine.translation(x0 + 1, y0 + 1)  # shifted by a pixel, then back: rasterio warns on the identity
    found = []
    for geometry, code in shapes(values, mask=block != nodata, connectivity=4, transform=traced):
        polygon = translate(shape(geometry), -1, -1)
        minx, miny, maxx, maxy = polygon.bounds
        cut = minx == edges[0] or maxx == edges[1] or miny == edges[2] or maxy == edges[3]
        found.append((polygon, int(code), cut))
    return found


def _dissolve_cuts(pieces: list[tuple]) -> tuple[list, list]:
    """Polygons and codes, the pieces of a polygon that block edges cut joined again (a union by class)."""
    import shapely

    polygons = [p for p, _, cut in pieces if not cut]
    codes = [c for _, c, cut in pieces if not cut]
    for code in sorted({c for _, c, cut in pieces if cut}):
        joined = shapely.union_all([p for p, c, cut in pieces if cut and c == code])
        parts = shapely.get_parts(joined).tolist()
        polygons += parts
        codes += [code] * len(parts)
    return polygons, codes


def _canonical(polygons: list, codes: list) -> tuple[np.ndarray, np.ndarray]:
    """Polygons (in pixel coordinates) without the vertices that joins leave on straight sides, normalised, in one
    order (class, top row, left column, area, then their WKB): the same whatever blocks they were cut into."""
    import shapely

    polygons = shapely.normalize(shapely.simplify(np.array(polygons, dtype=object), 0))
    bounds, areas, wkb = shapely.bounds(polygons), shapely.area(polygons), shapely.to_wkb(polygons)
    order = sorted(range(len(polygons)), key=lambda i: (codes[i], bounds[i, 1], bounds[i, 0], areas[i], wkb[i]))
    return polygons[order], np.array(codes, dtype=np.int64)[order]


def _to_crs(polygons: np.ndarray, transform) -> np.ndarray:
    """Polygons from pixel coordinates (column, row) to the grid's CRS coordinates."""
    import shapely

    def apply(coords: np.ndarray) -> np.ndarray:
        x = transform.a * coords[:, 0] + transform.b * coords[:, 1] + transform.c
        y = transform.d * coords[:, 0] + transform.e * coords[:, 1] + transform.f
        return np.column_stack([x, y])

    return shapely.transform(polygons, apply)


def _class_names(class_names, class_map: xr.DataArray, what: str) -> dict[int, str]:
    names = class_map.attrs.get("class_names") if class_names is None else class_names
    if names is None:
        return {}
    if not isinstance(names, Mapping):
        raise ConfigError(f"{what}: class_names must be a dict {{code: name}}; got {type(names).__name__}.")
    return {int(k): str(v) for k, v in names.items()}


def vectorize(
    class_map: xr.DataArray,
    *,
    simplify: float | None = None,
    min_area: float | None = None,
    class_names: Mapping[int, str] | None = None,
    nodata: int = NO_CLASS,
    memory: str | int | None = None,
    block: int | tuple[int, int] | None = None,
    workers: int | None = None,
    progress: bool = False,
):
    """Turn a class map into polygons, one per patch (pixels of one class touching by a side), for a GIS.

    The map is polygonised block by block (``rasterio.features.shapes``, through
    :func:`labkit.tiling.reduce_blocks`), and the polygons that block edges cut are joined again (a union of the
    cut pieces of each class), so the result does not depend on the blocks. Polygons follow pixel edges; with
    ``simplify`` they are simplified together as a coverage (``shapely.coverage_simplify``, after a vertex is put at
    every pixel corner so that neighbours share their edges exactly): neighbouring polygons keep a common border,
    without the gaps and overlaps that simplifying each polygon alone (``simplify(preserve_topology=True)``) leaves.
    Unclassified pixels (``nodata``) give no polygon.

    Parameters
    ----------
    class_map : class map (y, x)
        Integer codes on a georeferenced grid; numpy or dask (read block by block).
    simplify : float, optional
        The simplification tolerance, in the CRS's units (metres for UTM; about the pixel size removes the
        staircase). Coverage simplification removes the vertices whose triangle has an area below ``simplify²``.
    min_area : float, optional
        Drop the polygons smaller than this, in the CRS's units squared (to merge small patches into their
        neighbours instead, :func:`sieve` the map first).
    class_names : dict {code: name}, optional
        The names of the codes; by default the map's ``class_names`` attribute (set by
        :func:`labkit.inference.predict_map`), else the codes as text.
    nodata : int, default :data:`~labkit.datamodel.NO_CLASS`
        The code of unclassified pixels.
    memory, block, workers, progress
        The block engine's budget, block (a side or ``(rows, columns)``; default chosen from the budget),
        threads and progress bar (:func:`labkit.tiling.reduce_blocks`).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``class`` (the code), ``class_name``, ``area`` (of the polygon, in the CRS's units squared) and
        ``geometry`` (polygons, with holes where other classes lie inside), in the map's CRS; sorted by class, then
        from the top-left corner. Write it with :func:`labkit.io.write_vector` (GeoPackage).

    Raises
    ------
    ConfigError
        A ``simplify`` or ``min_area`` that is negative or not a number, class names that are not a dict.
    DataModelError
        Not a class map (y, x) of integers.

    Example
    -------
    >>> import tempfile, geopandas as gpd, numpy as np, xarray as xr
    >>> from labkit.io import write_vector
    >>> class_map = xr.DataArray(np.array([[1, 1, 2], [1, 2, 2], [255, 2, 2]], "uint8"), dims=("y", "x"),
    ...                          coords={"y": [25.0, 15.0, 5.0], "x": [5.0, 15.0, 25.0]}).rio.write_crs("EPSG:32631")
    >>> polygons = vectorize(class_map, class_names={1: "forest", 2: "crop"})
    >>> polygons[["class", "class_name", "area"]].values.tolist()
    [[1, 'forest', 300.0], [2, 'crop', 500.0]]
    >>> path = write_vector(polygons, tempfile.mkdtemp() + "/map.gpkg")
    >>> len(gpd.read_file(path))
    2
    """
    import geopandas as gpd
    import shapely

    what = "vectorize"
    _checked(class_map, "class_map", "class_map", what)
    nodata = integer(nodata, "nodata", what)
    if simplify is not None:
        simplify = number(simplify, "simplify", what, low=0)
    if min_area is not None:
        min_area = number(min_area, "min_area", what, low=0)
    names = _class_names(class_names, class_map, what)
    grid = (class_map.sizes["y"], class_map.sizes["x"])
    pieces = tiling.reduce_blocks(
        lambda values, y0, x0: _block_polygons(values, y0, x0, nodata=nodata, grid=grid),
        lambda parts: [piece for part in parts for piece in part], class_map,
        block=block, memory=memory, workers=workers, progress=flag(progress, "progress", what), desc=what)
    polygons, codes = _canonical(*_dissolve_cuts(pieces))
    if simplify:
        polygons = shapely.segmentize(polygons, 1.0)  # a vertex at every pixel corner: neighbours' edges match
    polygons = shapely.normalize(_to_crs(polygons, class_map.rio.transform()))
    if simplify:
        polygons = shapely.coverage_simplify(polygons, simplify)
    frame = gpd.GeoDataFrame({"class": codes.astype(class_map.dtype)}, geometry=list(polygons), crs=class_map.rio.crs)
    frame.insert(1, "class_name", [names.get(int(c), str(c)) for c in frame["class"]])
    frame.insert(2, "area", frame.geometry.area.to_numpy())
    if min_area is not None:
        frame = frame[frame["area"] >= min_area]
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------------------------------- mosaic


def _sources(paths, what: str) -> list[Path]:
    if isinstance(paths, str | os.PathLike) or not isinstance(paths, Sequence | Iterable):
        raise ConfigError(f"{what}: paths must be a sequence of raster files (a list); got a {type(paths).__name__}.")
    paths = [Path(p) for p in paths]
    if not paths:
        raise ConfigError(f"{what}: no tile to mosaic; pass the paths of one or more COGs.")
    return paths


def _tile_info(path: Path, what: str) -> dict:
    """What the mosaic needs of one tile: its grid, dtype, bands, nodata and the metadata a class map carries."""
    with _raster(path, what) as src:
        colormap = None
        if src.count == 1:
            try:
                colormap = src.colormap(1)
            except ValueError:  # no colour table
                colormap = None
        return {"path": path, "crs": src.crs, "transform": src.transform, "width": src.width, "height": src.height,
                "count": src.count, "dtype": src.dtypes[0], "nodata": src.nodata, "bounds": src.bounds,
                "descriptions": src.descriptions, "tags": src.tags(), "colormap": colormap,
                "blocks": src.block_shapes[0]}


def _check_tiles(tiles: list[dict], what: str) -> None:
    """One CRS, dtype, band count and pixel grid (same pixel size, origins whole pixels apart, north up)."""
    first = tiles[0]
    for tile in tiles:
        t, name = tile["transform"], tile["path"]
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise GridMismatchError(f"{what}: {name} is not north-up (transform {tuple(t)[:6]}); warp it first "
                                    "(rio.reproject).")
        if tile["crs"] != first["crs"]:
            raise GridMismatchError(f"{what}: {name} is in {tile['crs']}, {first['path']} in {first['crs']}; the tiles "
                                    "of a mosaic share one CRS: reproject it first (rio.reproject).")
        if tile["count"] != first["count"]:
            raise DataModelError(f"{what}: {name} has {tile['count']} band(s), {first['path']} {first['count']}; the "
                                 "tiles of a mosaic hold the same bands.")
        if tile["dtype"] != first["dtype"]:
            raise DataModelError(f"{what}: {name} holds {tile['dtype']}, {first['path']} {first['dtype']}; the tiles "
                                 "of a mosaic hold one data type (cast it first).")
        f = first["transform"]
        offsets = ((t.c - f.c) / f.a, (t.f - f.f) / f.e)
        if not (math.isclose(t.a, f.a, rel_tol=1e-9) and math.isclose(t.e, f.e, rel_tol=1e-9)) or \
                any(abs(o - round(o)) > 1e-6 for o in offsets):
            raise GridMismatchError(f"{what}: {name} is not on the pixel grid of {first['path']} (pixel "
                                    f"{t.a:g} x {-t.e:g} vs {f.a:g} x {-f.e:g}, origin offset {offsets[0]:g}, "
                                    f"{offsets[1]:g} pixels); resample it onto that grid first (rio.reproject_match).")


def _union_grid(tiles: list[dict]):
    """The transform, width and height of the grid that covers every tile."""
    from affine import Affine

    f = tiles[0]["transform"]
    left = min(t["bounds"].left for t in tiles)
    top = max(t["bounds"].top for t in tiles)
    right = max(t["bounds"].right for t in tiles)
    bottom = min(t["bounds"].bottom for t in tiles)
    width, height = round((right - left) / f.a), round((top - bottom) / -f.e)
    return Affine(f.a, 0, left, 0, f.e, top), width, height


def _mosaic_meta(tiles: list[dict], nodata) -> dict:
    """What the mosaic keeps of its first tile: nodata, colour table, class names and the other tags."""
    first = tiles[0]
    tags = {k: v for k, v in first["tags"].items() if k != CLASS_NAMES_TAG}
    return {"nodata": first["nodata"] if nodata is None else nodata, "colormap": first["colormap"],
            "class_names": tagged_class_names(first["tags"]), "tags": tags}


def _vrt_xml(tiles: list[dict], folder: Path, method: str, meta: dict) -> str:
    """A GDAL VRT over the tiles: each band paints them in turn, nodata transparent (the last painted wins)."""
    from xml.sax.saxutils import escape, quoteattr

    import rasterio.dtypes

    transform, width, height = _union_grid(tiles)
    first = tiles[0]
    dtype = rasterio.dtypes.typename_fwd[rasterio.dtypes.dtype_rev[first["dtype"]]]
    nodata = meta["nodata"]
    order = tiles if method == "last" else tiles[::-1]
    lines = [f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">',
             f"  <SRS>{escape(first['crs'].to_wkt())}</SRS>" if first["crs"] else "",
             f"  <GeoTransform>{', '.join(repr(float(v)) for v in transform.to_gdal())}</GeoTransform>",
             "  <Metadata>", *[f"    <MDI key={quoteattr(k)}>{escape(v)}</MDI>" for k, v in first["tags"].items()],
             "  </Metadata>"]
    for band in range(1, first["count"] + 1):
        lines.append(f'  <VRTRasterBand dataType="{dtype}" band="{band}">')
        if first["descriptions"][band - 1]:
            lines.append(f"    <Description>{escape(first['descriptions'][band - 1])}</Description>")
        if nodata is not None:
            lines.append(f"    <NoDataValue>{nodata!r}</NoDataValue>")
        if meta["colormap"]:
            entries = "".join(f'<Entry c1="{r}" c2="{g}" c3="{b}" c4="{a}"/>'
                              for _, (r, g, b, a) in sorted(meta["colormap"].items()))
            lines += ["    <ColorInterp>Palette</ColorInterp>", f"    <ColorTable>{entries}</ColorTable>"]
        for tile in order:
            lines += _vrt_source(tile, band, transform, folder, nodata)
        lines.append("  </VRTRasterBand>")
    lines.append("</VRTDataset>")
    return "\n".join(line for line in lines if line) + "\n"


def _vrt_source(tile: dict, band: int, transform, folder: Path, nodata) -> list[str]:
    """One tile's band as a VRT source, at its place in the mosaic (its path relative to the VRT when it can be)."""
    from xml.sax.saxutils import escape

    try:
        name, relative = os.path.relpath(tile["path"].resolve(), folder.resolve()), 1
    except ValueError:  # another drive
        name, relative = str(tile["path"].resolve()), 0
    column = round((tile["transform"].c - transform.c) / transform.a)
    row = round((tile["transform"].f - transform.f) / transform.e)
    size = f'xSize="{tile["width"]}" ySize="{tile["height"]}"'
    kind = "ComplexSource" if nodata is not None else "SimpleSource"
    return [f"    <{kind}>",
            f'      <SourceFilename relativeToVRT="{relative}">{escape(name)}</SourceFilename>',
            f"      <SourceBand>{band}</SourceBand>",
            f'      <SrcRect xOff="0" yOff="0" {size}/>',
            f'      <DstRect xOff="{column}" yOff="{row}" {size}/>',
            f"      <NODATA>{nodata!r}</NODATA>" if nodata is not None else "",
            f"    </{kind}>"]


def _merged_array(stage: Path, tiles: list[dict]) -> xr.DataArray:
    """The staged merge, read lazily, as the map :func:`labkit.io.write_cog` writes: (y, x) for one band (named
    after its description), else (band, y, x) with the band descriptions as the band coordinate."""
    import rioxarray

    array = rioxarray.open_rasterio(stage, chunks={"band": -1, "y": 1024, "x": 1024}, mask_and_scale=False)
    descriptions = tiles[0]["descriptions"]
    if array.sizes["band"] == 1:
        return array.isel(band=0, drop=True).rename(descriptions[0])
    if all(descriptions):
        array = array.assign_coords(band=list(descriptions))
    return array


def _merge_to_cog(tiles: list[dict], out: Path, method: str, meta: dict, overwrite: bool, progress: bool) -> Path:
    """``rasterio.merge`` streams the tiles into a tiled GeoTIFF beside ``out`` (window by window, bounded memory);
    :func:`labkit.io.write_cog` turns it into the COG, atomically, with the class names and colours."""
    import rasterio.merge

    from .io import write_cog
    from .outputs import _temporary, check_destination

    check_destination(out, overwrite=overwrite)
    created = [p for p in (out.parent, *out.parent.parents) if not p.exists()]
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = _temporary(out)  # a labkit temporary: a run killed half-way leaves a name the next write clears
    transform, width, height = _union_grid(tiles)
    bounds = (transform.c, transform.f + height * transform.e, transform.c + width * transform.a, transform.f)
    done = False
    try:
        rasterio.merge.merge([t["path"] for t in tiles], bounds=bounds, res=(transform.a, -transform.e),
                             nodata=meta["nodata"], method=method, dst_path=stage,
                             dst_kwds={"driver": "GTiff", "tiled": True, "blockxsize": 256, "blockysize": 256})
        merged = _merged_array(stage, tiles)
        nodata = meta["nodata"]
        # write_cog stores NaN as nodata (and refuses a value equal to it): mark the gaps as NaN
        values = merged if nodata is None or np.isnan(nodata) else merged.where(merged != nodata)
        try:
            write_cog(values, out, nodata=nodata, colormap=meta["colormap"], class_names=meta["class_names"],
                      dtype=tiles[0]["dtype"], tags=meta["tags"], overwrite=overwrite, progress=progress)
        finally:
            merged.close()
        done = True
    finally:
        stage.unlink(missing_ok=True)
        for folder in created if not done else []:
            if folder.exists() and not any(folder.iterdir()):
                folder.rmdir()
    return out


def mosaic(
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    method: str = "first",
    nodata: float | None = None,
    vrt: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Mosaic the tiles of a map (COGs on one CRS and pixel grid, possibly overlapping) into one COG, or a VRT.

    The mosaic covers the union of the tiles; where none has data it holds ``nodata``. Where tiles overlap,
    ``method`` chooses the value among those that are not nodata. The COG is made by ``rasterio.merge`` (window by
    window into a staging GeoTIFF beside ``out``, bounded memory) and :func:`labkit.io.write_cog`; the VRT is a small
    XML file that GDAL reads as one raster, listing the tiles in painting order (relative paths when they share a
    drive with it: move them together). It keeps the first tile's band descriptions, colour table, class names and
    tags, so a mosaic of class maps is a class map with its legend. Written atomically
    (:func:`labkit.outputs.atomic_path`).

    Parameters
    ----------
    paths : sequence of paths
        The tiles: one CRS, data type and number of bands, one pixel size, origins a whole number of pixels apart,
        north up (as :func:`labkit.tiling.tile_grid`'s tiles of one map are).
    out : path
        The mosaic (``.tif``, or ``.vrt`` with ``vrt=True``).
    method : {"first", "last", "min", "max"}, default "first"
        Where tiles overlap: the first tile (in ``paths`` order) with data, the last, the lowest or the highest value.
    nodata : float, optional
        The mosaic's nodata, and the value treated as missing in the tiles; by default the first tile's.
    vrt : bool, default False
        Write a VRT over the tiles instead of a COG (``first`` or ``last`` only).
    overwrite : bool, default False
        Replace an existing ``out``.
    progress : bool
        A progress bar over the COG's blocks.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    ConfigError
        No tile, an unknown method (or one a VRT cannot do).
    ReadError
        A tile is missing or not a raster.
    GridMismatchError
        A tile (named) is on another CRS or pixel grid, or not north-up.
    DataModelError
        A tile (named) has another data type or number of bands.
    labkit.errors.OutputExistsError
        ``out`` exists and ``overwrite`` is False.

    Example
    -------
    >>> import tempfile, pathlib, numpy as np, rasterio, xarray as xr
    >>> from labkit.io import write_cog
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> def tile(code, x0):
    ...     grid = {"y": [15.0, 5.0], "x": [x0 + 5.0, x0 + 15.0]}
    ...     values = xr.DataArray(np.full((2, 2), code, "uint8"), dims=("y", "x"), coords=grid)
    ...     return write_cog(values.rio.write_crs("EPSG:32631"), folder / f"tile{code}.tif", nodata=255)
    >>> tiles = [tile(1, 0.0), tile(2, 10.0)]                      # overlapping by one column
    >>> with rasterio.open(mosaic(tiles, folder / "mosaic.tif")) as src:
    ...     src.read(1).tolist(), tuple(src.bounds)
    ([[1, 1, 2], [1, 1, 2]], (0.0, 0.0, 30.0, 20.0))
    >>> with rasterio.open(mosaic(tiles, folder / "mosaic.vrt", method="last", vrt=True)) as src:
    ...     src.read(1).tolist()
    [[1, 2, 2], [1, 2, 2]]
    """
    from .outputs import atomic_path

    what = "mosaic"
    sources = _sources(paths, what)
    vrt = flag(vrt, "vrt", what)
    methods = MOSAIC_METHODS[:2] if vrt else MOSAIC_METHODS
    if method not in methods:
        raise ConfigError(f"{what}: method must be one of {methods}{' for a VRT' if vrt else ''}; got {method!r}.")
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        nodata = number(nodata, "nodata", what)
    tiles = [_tile_info(path, what) for path in sources]
    _check_tiles(tiles, what)
    meta = _mosaic_meta(tiles, nodata)
    out = Path(out)
    if not vrt:
        return _merge_to_cog(tiles, out, method, meta, overwrite, flag(progress, "progress", what))
    with atomic_path(out, overwrite=overwrite) as tmp:
        tmp.write_text(_vrt_xml(tiles, out.parent, method, meta), encoding="utf-8")
    return out
