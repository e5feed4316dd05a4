"""Post-processing: fuse the maps of several runs of the chain into one.

Takes the outputs of :mod:`labkit.inference` for several runs (random seeds, training folds, models): class maps
``(y, x)`` or probabilities ``(class, y, x)`` on one grid. Returns one class map, and a confidence map for
probabilities. Comes after :mod:`labkit.inference`, before :mod:`labkit.accuracy`.

* :func:`fuse_class_maps`: majority vote, pixel by pixel. This is iota2's fusion of classifications (it calls
  OTB's ``FusionOfClassifications`` with ``-method majorityvoting``): unclassified inputs do not vote, and a
  pixel where two or more classes share the most votes is *undecided* (:data:`UNDECIDED`), rather than given one
  of them at random.
* :func:`fuse_probabilities`: the mean of the runs' class probabilities; the class of highest mean wins, and that
  mean is the pixel's confidence.

Both accept numpy- and dask-backed inputs; with dask the result stays lazy and is computed block by block.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import xarray as xr

from .datamodel import NO_CLASS, UNDECIDED, validate
from .errors import ConfigError, DataModelError, GridMismatchError
from .params import integer


RUN_DIM = "run"


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
    if isinstance(values, xr.DataArray | np.ndarray | str) or not isinstance(values, Sequence | Iterable):
        raise ConfigError(f"{what}: {name} must be a sequence of {kind}, one per run (a list); got a "
                          f"{type(values).__name__}.")
    return list(values)


def _georeference_like(result: xr.DataArray, like: xr.DataArray, nodata) -> xr.DataArray:
    if like.rio.crs is not None:
        result = result.rio.write_crs(like.rio.crs)
    return result.rio.write_nodata(nodata)


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
    maps: Sequence[xr.DataArray],
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
    maps : sequence of class maps (y, x)
        One per run, on one grid (same sizes, coordinates and CRS), integer codes. Numpy or dask.
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
        dask-backed.

    Raises
    ------
    ConfigError
        No map, an unknown method, ``undecided`` or ``nodata`` not an integer, equal, or not representable in the
        maps' dtype.
    DataModelError
        An input is not a class map.
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
    for i, class_map in enumerate(maps):
        try:
            validate(class_map, "class_map")
        except DataModelError as error:
            raise DataModelError(f"{what}: map {i} is not a class map: {error}") from None
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
    """Class of highest mean probability (last axis) and that probability; ``nodata``/NaN without any value."""
    valid = ~np.isnan(mean).all(axis=-1)
    filled = np.where(np.isnan(mean), -np.inf, mean)
    best = filled.argmax(axis=-1)
    confidence = np.take_along_axis(filled, best[..., None], axis=-1)[..., 0]
    codes = np.where(valid, classes[best], nodata).astype(dtype)
    return codes, np.where(valid, confidence, np.nan).astype("float32")


def fuse_probabilities(
    probs_list: Sequence[xr.DataArray], *, nodata: int = NO_CLASS
) -> tuple[xr.DataArray, xr.DataArray]:
    """Fuse several runs' class probabilities by their mean, and label each pixel with the most probable class.

    A pixel a run could not classify (NaN probabilities) is averaged over the runs that did; where none did, the
    class map holds ``nodata`` and the confidence NaN.

    Parameters
    ----------
    probs_list : sequence of probabilities (class, y, x)
        One per run, on one grid, with the same ``class`` coordinate (the class codes, in the same order). Numpy
        or dask.
    nodata : int, default :data:`~labkit.datamodel.NO_CLASS`
        The class-map code of pixels without any probability.

    Returns
    -------
    class_map : (y, x) integer class codes (uint8 for codes 0..254 and nodata 255)
    confidence : (y, x) float32, the highest mean probability, NaN where not classified
        Both lazy when an input is dask-backed.

    Raises
    ------
    ConfigError
        No probabilities given, no ``class`` coordinate, or a ``nodata`` that is not an integer.
    DataModelError
        An input is not (class, y, x) probabilities in [0, 1], or the runs' classes differ.
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
    for i, probs in enumerate(probs_list):
        try:
            validate(probs, "probs")
        except DataModelError as error:
            raise DataModelError(f"{what}: run {i} is not a probability array: {error}") from None
        if "class" not in probs.coords:
            raise ConfigError(f"{what}: run {i} has no 'class' coordinate; assign the class codes with "
                              "probs.assign_coords({'class': model.classes_}).")
    classes = np.asarray(probs_list[0]["class"].values)
    for i, probs in enumerate(probs_list[1:], start=1):
        other = np.asarray(probs["class"].values)
        if other.shape != classes.shape or not np.array_equal(other, classes):
            raise DataModelError(f"{what}: run {i} has classes {other.tolist()}, run 0 {classes.tolist()}; the runs "
                                 "must give the same classes in the same order (use probs.sel({'class': ...})).")
    if not np.issubdtype(classes.dtype, np.integer):
        raise DataModelError(f"{what}: the 'class' coordinate must hold integer class codes; got {classes.dtype}.")
    _check_same_grid(probs_list, what, "run")
    first = probs_list[0]
    stack = xr.Variable.concat([p.variable.astype("float64") for p in probs_list], dim=RUN_DIM)
    stack = xr.DataArray(stack, coords={"class": classes, "y": first["y"], "x": first["x"]})
    total = stack.sum(RUN_DIM, skipna=True)
    runs = stack.notnull().sum(RUN_DIM)
    mean = total / runs.where(runs > 0)
    dtype = np.promote_types(np.min_scalar_type(int(classes.max(initial=0))), np.min_scalar_type(nodata))
    if classes.min(initial=0) < 0 or nodata < 0:
        dtype = np.promote_types(dtype, np.min_scalar_type(min(int(classes.min()), nodata)))
    if _is_dask(mean):
        mean = mean.chunk({"class": -1})
    class_map, confidence = xr.apply_ufunc(
        _pick, mean, kwargs={"classes": classes, "nodata": nodata, "dtype": dtype},
        input_core_dims=[["class"]], output_core_dims=[[], []], dask="parallelized",
        output_dtypes=[dtype, np.float32],
    )
    class_map = _georeference_like(class_map.transpose("y", "x").rename("class"), first, nodata)
    confidence = _georeference_like(confidence.transpose("y", "x").rename("confidence"), first, np.nan)
    return class_map, confidence
