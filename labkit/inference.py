"""Inference: map every pixel of a cube with any fitted model, block by block, under a memory budget.

:func:`predict_map` takes a cube and a fitted classifier (classical, deep pixel or deep spatial) and returns the
**map products** as one lazy Dataset on the cube's grid: the class map, per-class probabilities, the confidence
(highest probability), an uncertainty layer (entropy or margin) and the number of valid observations of each
pixel. It walks the cube through the one block engine (:mod:`labkit.tiling`), so a cube larger than memory streams
through, and the chain runs on the fly per block: masks -> gap-filling onto the model's dates -> the model's
features -> the model. :func:`write_map` writes the products as Cloud-Optimized GeoTIFFs (or Zarr), block by
block, with class names and colours. Before any block, the cube is checked against what the model was fitted on
(:func:`labkit.models.fit_model` records it): its bands are read by name in the model's order, and a missing band,
another number of dates or other days of the year are refused.

Spatial models (a U-Net) read neighbourhoods: each block is read with a halo and predicted as overlapping tiles on
a grid anchored at the image's origin, blended with cosine (or linear) weights that are zero within the network's
receptive field of a tile's inner edges, so that no seam shows between tiles or blocks and tiled prediction equals
whole-image prediction. Comes after :mod:`labkit.models`, before :mod:`labkit.postprocess` and
:mod:`labkit.accuracy`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from . import params, tiling
from .datamodel import NO_CLASS, Validity, validate
from .errors import BandError, ConfigError, DataModelError
from .params import flag, integer

__all__ = ["BLENDS", "PRODUCTS", "UNCERTAINTIES", "predict_cube", "predict_map", "write_map"]

PRODUCTS = ("class_map", "confidence", "uncertainty", "valid_count", "probabilities")
"""The layers :func:`predict_map` makes, and the files :func:`write_map` writes (``NAME.tif``)."""
UNCERTAINTIES = ("entropy", "margin")
"""Uncertainty layers: normalised entropy of the probabilities, or 1 - (best - second best)."""
BLENDS = ("cosine", "linear")
"""Weights of overlapping tiles of a spatial model."""


def _match_signature(cube: xr.DataArray, signature) -> xr.DataArray:
    """The cube's bands in the order of the model's :class:`~labkit.models.InputSignature`, its dates checked."""
    bands = [str(b) for b in cube.band.values]
    missing = [b for b in signature.bands if b not in bands]
    if missing:
        raise BandError(f"predict_cube: the cube has no band(s) {missing}, which the model was fitted on (it reads "
                        f"{signature.describe()}); the cube's bands: {bands}. Compute the missing band(s), or fit the "
                        "model on samples of the cube's bands.")
    if cube.sizes["time"] != signature.n_time:
        raise DataModelError(f"predict_cube: the model was fitted on series of {signature.n_time} dates; the cube has "
                             f"{cube.sizes['time']}. Gap-fill the cube onto the model's dates (fill_gaps with the "
                             "same step and period), or fit the model on samples of this cube.")
    _check_days_of_year(cube, signature)
    if bands == list(signature.bands):
        return cube
    return cube.sel(band=list(signature.bands))


def _day_tolerance(times: np.ndarray) -> float:
    """Days by which a cube's date may differ from the model's: half the median spacing of the model's dates, at least
    1 day (a leap year shifts a calendar date by one)."""
    if len(times) < 2:
        return 1.0
    spacing = np.diff(np.sort(times.astype("datetime64[s]")).astype(np.int64)) / 86400.0
    return max(1.0, float(np.median(spacing)) / 2)


def _check_days_of_year(cube: xr.DataArray, signature) -> None:
    """Refuse a cube whose dates fall on other days of the year than the model's (by more than
    :func:`_day_tolerance`). Another year on the same days is the same calendar (temporal transfer), and passes."""
    cube_times = cube["time"].values
    if signature.times is None or not np.issubdtype(cube_times.dtype, np.datetime64):
        return
    model_times = np.asarray(signature.times, dtype="datetime64[ns]")
    model_doy = pd.DatetimeIndex(model_times).day_of_year.to_numpy()
    cube_doy = pd.DatetimeIndex(cube_times.astype("datetime64[ns]")).day_of_year.to_numpy()
    apart = np.abs(cube_doy - model_doy)
    apart = np.minimum(apart, 365 - apart).clip(min=0)  # circular: Dec 31 and Jan 1 are 1 day apart
    tolerance = _day_tolerance(model_times)
    far = np.flatnonzero(apart > tolerance)
    if far.size:
        k = int(far[0])

        def day(times, doy):
            return f"{np.datetime_as_string(times[k], unit='D')} (day {doy[k]} of its year)"

        raise DataModelError(
            f"predict_cube: the cube's dates fall on other days of the year than the model's: date {k} of the cube is "
            f"{day(cube_times, cube_doy)}, the model's is {day(model_times, model_doy)}, {int(apart[k])} days apart "
            f"({far.size} of {len(apart)} dates beyond the tolerance of {tolerance:g} days: half the median spacing of "
            "the model's dates, at least 1). Gap-fill the cube onto the model's dates (fill_gaps with the same step "
            "and period, in any year), or fit the model on samples of this cube."
        )


def _series_shape(model) -> tuple[int, int] | None:
    """``(n_time, n_band)`` a model's first step (:class:`~labkit.models.SeriesFeatures`) was fitted on, if known."""
    steps = getattr(model, "steps", None)
    first = steps[0][1] if steps else model
    if hasattr(first, "n_time_") and hasattr(first, "n_band_"):
        return int(first.n_time_), int(first.n_band_)
    return None


def _check_shape(cube: xr.DataArray, model) -> None:
    """For a model without a signature (fitted on arrays): the series shape or feature count it was fitted on."""
    n_time, n_band = cube.sizes["time"], cube.sizes["band"]
    shape = _series_shape(model)
    if shape is not None and shape != (n_time, n_band):
        raise DataModelError(f"predict_cube: the model was fitted on series of {shape[0]} dates x {shape[1]} bands; "
                             f"the cube has {n_time} dates x {n_band} bands ({[str(b) for b in cube.band.values]}). "
                             "Give a cube with the model's dates and bands (fit it with labkit.models.fit_model to "
                             "have the bands matched by name).")
    n_features = getattr(model, "n_features_in_", None)
    if shape is None and n_features is not None and int(n_features) != n_time * n_band:
        raise DataModelError(f"predict_cube: the model was fitted on {n_features} features; the cube gives "
                             f"{n_time} dates x {n_band} bands = {n_time * n_band} per pixel. Give a cube with the "
                             "model's dates and bands.")


def _model_input(cube: xr.DataArray, model) -> xr.DataArray:
    """The cube as the model reads it, checked before any block is classified (see :func:`predict_cube`)."""
    signature = getattr(model, "input_signature_", None)
    if signature is not None:
        return _match_signature(cube, signature)
    _check_shape(cube, model)
    return cube


def _check_class_codes(classes: np.ndarray) -> None:
    """Refuse class labels that are not integer codes (text, fractions): a class map holds codes."""
    if classes.dtype.kind in "iu":
        return
    whole = classes.dtype.kind == "f" and bool(np.all(np.isfinite(classes) & (classes == np.round(classes))))
    if not whole:
        shown = [c.item() if isinstance(c, np.generic) else c for c in classes[:5]]
        raise ConfigError(
            f"predict_cube: the model's classes_ must be integer class codes for a class map; got {shown}"
            f"{' ...' if classes.size > 5 else ''} ({classes.dtype}). Fit the model on integer codes: extract_samples "
            "and the sample-table readers map text labels to codes 1, 2... (the names are kept in the sample set's "
            "class_name)."
        )


def _takes(model, method: str, name: str) -> bool:
    """Whether ``model.method`` has a keyword parameter ``name`` (the dates of a deep model's ``predict``...)."""
    import inspect

    function = getattr(model, method, None)
    if function is None:
        return False
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def _days(cube: xr.DataArray, model) -> np.ndarray:
    """The cube's dates as a model's ``doy``: counted as its training samples' were (day of year by default)."""
    from .models.training import InputSignature

    signature = getattr(model, "input_signature_", None) or InputSignature((), cube.sizes["time"])
    return signature.cube_days(cube["time"].values)


def _is_spatial(model) -> bool:
    """A model that reads neighbourhoods (a U-Net): it predicts windows of a cube, not pixel series."""
    return hasattr(model, "window_probabilities")


def _checked_model(model) -> np.ndarray:
    """The model's class codes, checked to fit a uint8 class map."""
    classes = np.asarray(getattr(model, "classes_", []))
    if classes.size == 0:
        raise ConfigError("predict_map: the model is not fitted (no classes_). Call model.fit(X, y) first.")
    _check_class_codes(classes)
    if classes.min() < 0 or classes.max() >= NO_CLASS - 1:
        raise ConfigError(f"predict_map: class codes must lie in 0..{NO_CLASS - 2} for a uint8 class map (254 and "
                          f"255 are reserved, see labkit.datamodel.MapCode); got {classes.min()}..{classes.max()}.")
    return classes


def _spatial_input(cube: xr.DataArray, model) -> xr.DataArray:
    """The cube's bands as a spatial model was fitted on them (by name), its number of dates checked."""
    bands = [str(b) for b in cube.band.values]
    missing = [b for b in model.bands_ if b not in bands]
    if missing:
        raise BandError(f"predict_map: the cube has no band(s) {missing}, which the model was fitted on "
                        f"({model.bands_}); the cube's bands: {bands}.")
    if cube.sizes["time"] != model.n_times_:
        raise DataModelError(f"predict_map: the model was fitted on {model.n_times_} dates; the cube has "
                             f"{cube.sizes['time']}. Gap-fill the cube onto the model's dates.")
    return cube.sel(band=list(model.bands_))


def _model_dates(cube: xr.DataArray, model) -> np.ndarray | None:
    """The model's dates moved into the cube's years (whole years): where to gap-fill the cube for it."""
    signature = getattr(model, "input_signature_", None)
    if signature is None or signature.times is None:
        return None
    dates = pd.DatetimeIndex(np.asarray(signature.times, "datetime64[ns]"))
    cube_times = pd.DatetimeIndex(cube["time"].values)
    apart = (cube_times[0] + (cube_times[-1] - cube_times[0]) / 2) - (dates[0] + (dates[-1] - dates[0]) / 2)
    shift = round(apart / pd.Timedelta(days=365.25))  # whole years between the two periods' middles
    return (dates + pd.DateOffset(years=shift)).to_numpy() if shift else dates.to_numpy()


def _on_the_fly(cube: xr.DataArray, mask, model, gapfill: str | None) -> tuple[xr.DataArray, xr.DataArray | None]:
    """``(the cube the model reads, the validity mask of the raw cube)``: with a mask and a model fitted on other
    dates, the cube is gap-filled lazily onto the model's dates (masks -> gap-filling -> features -> model, per
    block)."""
    if mask is None:
        return cube, None
    from .datamodel import checked_mask

    mask = checked_mask(mask, "predict_map", coords=False)
    if mask.sizes["time"] != cube.sizes["time"]:
        raise DataModelError(f"predict_map: the mask has {mask.sizes['time']} dates, the cube {cube.sizes['time']}.")
    dates = _model_dates(cube, model)
    if gapfill is None or dates is None or (len(dates) == cube.sizes["time"] and np.array_equal(
            dates.astype("datetime64[D]"), cube["time"].values.astype("datetime64[D]"))):
        return cube, mask  # already on the model's dates, or none recorded (a U-Net reads the mask itself)
    from .gapfill import fill_gaps

    chunks = {"time": -1, "band": -1}
    filled, _ = fill_gaps(cube.chunk(chunks) if cube.chunks else cube, mask.chunk({"time": -1}) if mask.chunks
                          else mask, dates=dates, method=gapfill)
    return filled, mask


def _layers(proba: np.ndarray | None, predicted: np.ndarray | None, ok: np.ndarray, classes: np.ndarray,
            uncertainty: str) -> np.ndarray:
    """The product layers of the pixels of a block: ``(4 + n_class, n)`` float32 (class code, confidence,
    uncertainty, valid count left to the caller, then probabilities), NaN where a pixel is not classified."""
    n, k = ok.size, len(classes)
    out = np.full((4 + k, n), np.nan, np.float32)
    out[0] = NO_CLASS
    if proba is None:
        out[0, ok] = predicted
        return out
    best = proba.argmax(axis=1)
    top = proba[np.arange(len(best)), best]
    out[0, ok] = classes[best]
    out[1, ok] = top
    if k == 1:
        out[2, ok] = 0.0
    elif uncertainty == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(proba > 0, proba * np.log(proba), 0.0)
        out[2, ok] = -terms.sum(axis=1) / math.log(k)
    else:
        second = np.partition(proba, k - 2, axis=1)[:, k - 2]
        out[2, ok] = 1.0 - (top - second)
    out[4:, ok] = proba.T
    return out


def _pixel_block(values: np.ndarray, *rest, model, classes, extra, partial, uncertainty) -> np.ndarray:
    """Products of one block ``(time, band, h, w)`` of a pixel model (and its mask ``(time, h, w)``)."""
    _, _, h, w = values.shape
    pixels = values.transpose(2, 3, 0, 1).reshape(h * w, *values.shape[:2])
    finite = np.isfinite(pixels).all(axis=2)  # NaN or ±inf on a band: the observation is missing
    ok = finite.any(axis=1) if partial else finite.all(axis=1)
    proba = predicted = None
    if ok.any():
        chosen = pixels if ok.all() else pixels[ok]
        if hasattr(model, "predict_proba"):
            proba = np.concatenate([np.asarray(model.predict_proba(part, **extra), np.float32)
                                    for part in _batches(chosen)])
        else:
            predicted = np.concatenate([model.predict(part, **extra) for part in _batches(chosen)])
    out = _layers(proba, predicted, ok, classes, uncertainty)
    out[3] = _valid_count(finite, rest)
    return out.reshape(-1, h, w)


BATCH_PIXELS = 16_384
"""Pixels a pixel model reads at once within a block: its temporaries (features, float64 statistics, probabilities)
stay small whatever the block's size."""


def _batches(pixels: np.ndarray):
    """``pixels`` in slices of :data:`BATCH_PIXELS` (views, no copy)."""
    return (pixels[start:start + BATCH_PIXELS] for start in range(0, len(pixels), BATCH_PIXELS))


def _valid_count(finite: np.ndarray, rest) -> np.ndarray:
    """Valid observations per pixel: from the raw cube's mask when given (code 0), else the finite dates."""
    if rest:
        mask = rest[0]
        return (mask == Validity.VALID).sum(axis=0).ravel()
    return finite.sum(axis=1)


# ----------------------------------------------------------------------------------------------- spatial tiles


def _tile_starts(size: int, tile: int, stride: int) -> list[int]:
    """First rows (columns) of the tiles along an axis of ``size`` pixels: every ``stride``, the last one reaching
    the edge (clipped there)."""
    starts = list(range(0, max(size - tile, 0) + 1, stride))
    if starts[-1] + tile < size:
        starts.append(starts[-1] + stride)
    return starts


def _ramp(length: int, start: int, stop: int, size: int, margin: int, overlap: int, blend: str) -> np.ndarray:
    """Weights along one axis of a tile spanning ``start..stop`` of an axis of ``size`` pixels: 0 within
    ``margin`` of an inner edge (what the network sees of the padding), rising to 1 over the rest of the overlap;
    1 at the image's own edges."""
    d = np.arange(length, dtype=np.float64)
    rise = max(overlap - 2 * margin, 1)
    weights = np.ones(length)
    for distance, inner in ((d, start > 0), (length - 1 - d, stop < size)):
        if inner:
            r = np.clip((distance - margin + 1) / rise, 0.0, 1.0)
            weights = np.minimum(weights, r if blend == "linear" else 0.5 - 0.5 * np.cos(np.pi * r))
    return weights


def _spatial_block(values: np.ndarray, *rest, model, classes, uncertainty, grid, tile, overlap, blend,
                   origin) -> np.ndarray:
    """Products of one block read with a halo: the probabilities of every tile of the image's tile grid that
    meets the block, blended (see the module's documentation)."""
    from .models.deep.spatial import observation_validity

    _, _, h, w = values.shape
    (height, width), (y0, x0) = grid, origin
    stride, margin = tile - overlap, model.halo_
    valid = observation_validity(values, rest[0] if rest else None)
    total = np.zeros((len(classes), h, w), np.float64)
    weight = np.zeros((h, w), np.float64)
    rows = [s for s in _tile_starts(height, tile, stride) if s + tile > y0 and s < y0 + h]
    cols = [s for s in _tile_starts(width, tile, stride) if s + tile > x0 and s < x0 + w]
    for ty in rows:
        for tx in cols:
            gy, gx = slice(ty, min(ty + tile, height)), slice(tx, min(tx + tile, width))
            ly, lx = slice(gy.start - y0, gy.stop - y0), slice(gx.start - x0, gx.stop - x0)
            if ly.start < 0 or lx.start < 0 or ly.stop > h or lx.stop > w:
                continue  # only partly read: the neighbouring block owns the pixels it would add
            wy = _ramp(gy.stop - gy.start, gy.start, gy.stop, height, margin, overlap, blend)
            wx = _ramp(gx.stop - gx.start, gx.start, gx.stop, width, margin, overlap, blend)
            w2 = np.outer(wy, wx)
            total[:, ly, lx] += model.window_probabilities(values[..., ly, lx], valid[:, ly, lx]) * w2
            weight[ly, lx] += w2
    proba = (total / np.where(weight > 0, weight, 1)).reshape(len(classes), -1).T
    ok = np.ones(h * w, bool)
    out = _layers(proba.astype(np.float32), None, ok, classes, uncertainty)
    out[3] = valid.sum(axis=0).ravel()
    return out.reshape(-1, h, w)


def _spatial_plan(model, tile: int | None, overlap: int | None) -> tuple[int, int]:
    """``(tile, overlap)`` of a spatial model: tiles and strides aligned to the network, the overlap wide enough for
    every pixel to lie farther than the receptive field from some tile's inner edges. Blocks are read with a halo of
    one tile, so that every tile meeting a block lies within what it reads."""
    align, margin = model.alignment_, model.halo_
    overlap = 2 * margin + align if overlap is None else integer(overlap, "overlap", "predict_map", low=0)
    overlap = -(-overlap // align) * align
    if overlap <= 2 * margin:
        raise ConfigError(f"predict_map: tiles of this model must overlap by more than twice its halo ({margin} "
                          f"pixels), so that every pixel is predicted away from a tile's edge; got overlap={overlap}.")
    tile = max(4 * overlap, 256) if tile is None else integer(tile, "tile", "predict_map", low=1)
    tile = -(-tile // align) * align
    if tile <= overlap:
        raise ConfigError(f"predict_map: tile ({tile}) must be larger than the overlap ({overlap}).")
    return tile, overlap


# -------------------------------------------------------------------------------------------------- products


def _as_products(stack: xr.DataArray, classes: np.ndarray, probabilities: bool, names: dict, uncertainty: str,
                 crs) -> xr.Dataset:
    """The layer stack as named products (lazy slices of one computation)."""
    grid = {"y": stack["y"], "x": stack["x"]}
    layer = stack.data

    def named(data, name, dims=("y", "x"), coords=None):
        return xr.DataArray(data, dims=dims, coords={**(coords or {}), **grid}, name=name)

    class_map = named(layer[0].astype(np.uint8), "class_map")
    variables = {
        "class_map": class_map,
        "confidence": named(layer[1], "confidence"),
        "uncertainty": named(layer[2], "uncertainty"),
        "valid_count": named(layer[3].astype(np.uint16), "valid_count"),
    }
    if probabilities:
        variables["probabilities"] = named(layer[4:], "probabilities", ("class", "y", "x"), {"class": classes})
    products = xr.Dataset(variables)
    products["class_map"].attrs.update(nodata=NO_CLASS, class_names={int(k): v for k, v in names.items()})
    products["uncertainty"].attrs.update(method=uncertainty)
    if crs is not None:
        products = products.rio.write_crs(crs)
    return products


def predict_map(
    cube: xr.DataArray,
    model,
    *,
    mask: xr.DataArray | None = None,
    gapfill: str | None = "linear",
    probabilities: bool = True,
    uncertainty: str = "entropy",
    memory: str | int | None = None,
    block: int | tuple[int, int] | None = None,
    workers: int | None = None,
    device: str | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    blend: str = "cosine",
    progress: bool = False,
) -> xr.Dataset:
    """Map every pixel of a cube with a fitted classifier: class, probabilities, confidence, uncertainty, valid count.

    Parameters
    ----------
    cube : cube (time, band, y, x)
        Numpy, dask or lazily read (Zarr, COG): walked block by block, so it may be larger than memory.
    model : fitted classifier
        A pixel model fed ``(n_pixels, n_time, n_band)`` series (scikit-learn, LightGBM, a deep series model;
        ``predict_proba``, or ``predict`` alone for models without probabilities), or a spatial model (a U-Net:
        :class:`~labkit.models.deep.spatial.SpatialClassifier`). Its input signature is checked against the cube
        before any block runs (bands by name, number of dates, days of the year).
    mask : validity mask (time, y, x), optional
        The raw cube's mask. With it, the valid count comes from the mask and, for a model fitted on other dates
        than the cube's, the cube is gap-filled on the fly onto the model's dates (moved into the cube's year).
    gapfill : {"linear", "nearest", "whittaker"} or None
        The gap-filling method of that on-the-fly step (None: never gap-fill).
    probabilities : bool
        Keep the per-class probabilities ``(class, y, x)``.
    uncertainty : {"entropy", "margin"}
        Normalised entropy of the probabilities (0 certain, 1 uniform), or ``1 - (best - second best)``.
    memory : str or int, optional
        Budget of the blocks in flight (``"2GB"``; :data:`labkit.params.DEFAULT_MEMORY` for a cube in memory): it
        sets the block size (:func:`labkit.tiling.block_shape`). A dask cube without it is walked in its own chunks.
    block : int or (int, int), optional
        The block instead: a square's side, or ``(rows, columns)``, in pixels. The products do not depend on it.
    workers : int, optional
        Blocks processed at once (threads); the machine's cores by default.
    device : {"cpu", "cuda"}, optional
        Where a deep model runs (its own device by default); the network stays there for the whole map.
    tile, overlap : int, optional
        Spatial models: the side of the tiles the network reads at once and their overlap, in pixels (defaults:
        an overlap of twice the network's halo plus its alignment, tiles of four overlaps, at least 256).
    blend : {"cosine", "linear"}
        Spatial models: the weights of overlapping tiles.
    progress : bool
        A progress bar over blocks (for a cube in memory; a lazy result shows it when written).

    Returns
    -------
    xarray.Dataset
        ``class_map (y, x)`` uint8 (:data:`~labkit.datamodel.NO_CLASS` where a pixel cannot be classified),
        ``confidence`` and ``uncertainty (y, x)`` float32 (NaN there), ``valid_count (y, x)`` uint16 and, with
        ``probabilities``, ``probabilities (class, y, x)`` float32; on the cube's grid with its CRS; lazy when the
        cube is dask. ``class_map.attrs["class_names"]`` names the codes (the model's ``class_names_``).

    Raises
    ------
    ConfigError
        An unfitted model, class codes that do not fit a uint8 map, a bad option, a memory budget too small.
    BandError, DataModelError
        A cube that does not fit the model (see :func:`predict_cube`).

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> from labkit.models import make_model
    >>> rng = np.random.default_rng(0)
    >>> cube = dm.make_cube(rng.random((2, 1, 6, 6)), ["2020-01-01", "2020-02-01"], ["NDVI"],
    ...                     transform=(10, 0, 0, 0, -10, 60), crs="EPSG:32631")
    >>> model = make_model("rf", n_estimators=10, random_state=0).fit(rng.random((20, 2, 1)), [1, 2] * 10)
    >>> products = predict_map(cube, model, block=(4, 4))
    >>> sorted(products.data_vars), products["probabilities"].dims
    (['class_map', 'confidence', 'probabilities', 'uncertainty', 'valid_count'], ('class', 'y', 'x'))
    >>> bool(np.allclose(products["probabilities"].sum("class"), 1))
    True
    """
    validate(cube, "cube")
    block = params.block(block, "predict_map")
    if memory is not None:
        tiling.parse_memory(memory, "predict_map")
    probabilities = flag(probabilities, "probabilities", "predict_map")
    progress = flag(progress, "progress", "predict_map")
    if uncertainty not in UNCERTAINTIES:
        raise ConfigError(f"predict_map: uncertainty must be one of {UNCERTAINTIES}; got {uncertainty!r}.")
    if blend not in BLENDS:
        raise ConfigError(f"predict_map: blend must be one of {BLENDS}; got {blend!r}.")
    classes = _checked_model(model)
    source, mask = _on_the_fly(cube, mask, model, gapfill)
    if _is_spatial(model):
        source = _spatial_input(source, model)
    else:
        source = _model_input(source, model)
    _use_device(model, device)
    inputs = [source] if mask is None else [source, mask]
    lead = {"layer": 4 + len(classes)}
    per_pixel = tiling.WORKING_FACTOR * (sum(math.prod(a.shape[:-2]) * 4 for a in inputs) + 8 * (4 + len(classes)))
    options = dict(block=block, memory=memory, workers=workers, new_dims=lead, dtype=np.float32,
                   bytes_per_pixel=per_pixel, progress=progress)
    if _is_spatial(model):
        tile, overlap = _spatial_plan(model, tile, overlap)
        stack = tiling.map_blocks(
            _spatial_block, *inputs, halo=tile, multiple=model.alignment_, origin=True, name="predict", **options,
            kwargs=dict(model=model, classes=classes, uncertainty=uncertainty, tile=tile, overlap=overlap, blend=blend,
                        grid=(cube.sizes["y"], cube.sizes["x"])))
    else:
        method = "predict_proba" if hasattr(model, "predict_proba") else "predict"
        extra = {"doy": _days(source, model)} if _takes(model, method, "doy") else {}
        # A model that reads a mask of missing observations classifies a pixel with one; others need them all.
        partial = _takes(model, method, "valid")
        stack = tiling.map_blocks(_pixel_block, *inputs, name="predict", **options,
                                  kwargs=dict(model=model, classes=classes, extra=extra, partial=partial,
                                              uncertainty=uncertainty))
    names = getattr(model, "class_names_", None) or {int(c): str(c) for c in classes}
    with_probs = probabilities and (hasattr(model, "predict_proba") or _is_spatial(model))
    return _as_products(stack, classes, with_probs, names, uncertainty, cube.rio.crs)


def _use_device(model, device: str | None) -> None:
    """Put a deep model's network on ``device`` for the whole map (its blocks then never move it)."""
    if device is None:
        return
    if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
        raise ConfigError(f"predict_map: device must be 'cpu' or 'cuda'; got {device!r}.")
    from .models.training import _final_estimator

    final = _final_estimator(model)
    if getattr(final, "network_", None) is None:
        return  # a classical model: the CPU (tree inference on a GPU: labkit.models.fast_trees)
    from .models.deep.training import resolve_device

    final.device_ = resolve_device(device)
    final.network_ = final.network_.to(final.device_)


def predict_cube(
    cube: xr.DataArray, model, *, block: int | tuple[int, int] | None = None, memory: str | int | None = None,
    progress: bool = False,
) -> tuple[xr.DataArray, xr.DataArray]:
    """Classify every pixel of a cube: the class map and the confidence of :func:`predict_map`, in memory.

    Parameters
    ----------
    cube : cube (time, band, y, x)
        Numpy or dask; read block by block (:mod:`labkit.tiling`).
    model : fitted classifier with ``classes_`` and ``predict_proba`` (or only ``predict``)
        Fed ``(n_pixels, n_time, n_band)`` arrays. Fitted with :func:`labkit.models.fit_model`, it carries the
        bands and number of dates it reads (``input_signature_``): the cube's bands are then taken by name in the
        model's order (any order, extra bands left out). Without it, the cube must match the model's shape
        (``n_time_`` x ``n_band_`` of a :class:`~labkit.models.SeriesFeatures` first step, else ``n_features_in_``).
        A model without ``predict_proba`` (``sklearn.svm.LinearSVC``...) gives its ``predict`` and no confidence.
    block : int or (int, int), optional
        The block of pixels read at a time: a square's side, or ``(rows, columns)``; by default chosen from
        ``memory`` (:func:`labkit.tiling.block_shape`), or a dask cube's own chunks. The result does not depend on it.
    memory : str or int, optional
        Budget of the blocks in flight (``"2GB"``); default :data:`labkit.params.DEFAULT_MEMORY`.
    progress : bool
        Show a tqdm progress bar over blocks.

    Returns
    -------
    class_map : (y, x) uint8, :data:`NO_CLASS` where a pixel has a NaN (or ±inf) value; for a model that reads a
        mask of missing observations (a deep model: its ``predict`` takes ``valid``), only where a pixel has no
        observation at all. A model whose ``predict`` takes ``doy`` gets the day of year of the cube's dates.
    confidence : (y, x) float32 in [0, 1], NaN where not classified, and everywhere for a model without
        ``predict_proba``

    Raises
    ------
    ConfigError
        An unfitted model, class labels that are not integer codes (text) or do not fit a uint8 class map, a
        ``block`` that is not a side (an integer >= 1) or a pair of them, a bad ``memory``, a ``progress`` that is
        not True or False.
    BandError
        The cube lacks a band of the model's signature (names them, and the cube's bands).
    DataModelError
        Not a cube; another number of dates than the model's signature, or dates on other days of the year (by
        more than half the spacing of the model's dates, at least 1 day: the same days in another year pass); a
        model without a signature whose shape (dates x bands, or number of features) differs from the cube's.

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> from sklearn.dummy import DummyClassifier
    >>> cube = dm.make_cube(np.zeros((2, 1, 3, 3)), ["2020-01-01", "2020-02-01"], ["NDVI"],
    ...                     transform=(10, 0, 0, 0, -10, 30), crs="EPSG:32631")
    >>> model = DummyClassifier().fit(np.zeros((2, 2)), [4, 4])
    >>> class_map, confidence = predict_cube(cube, model, block=2)
    >>> class_map.values.tolist()[0], float(confidence.min())
    ([4, 4, 4], 1.0)
    """
    block = params.block(block, "predict_cube")
    progress = flag(progress, "progress", "predict_cube")
    if memory is not None:
        tiling.parse_memory(memory, "predict_cube")
    products = predict_map(cube, model, probabilities=False, block=block, memory=memory, progress=progress)
    products = tiling.compute(products[["class_map", "confidence"]], progress=progress, desc="predict")
    class_da = products["class_map"].rename("class").rio.write_crs(cube.rio.crs).rio.write_nodata(NO_CLASS)
    conf_da = products["confidence"].rio.write_crs(cube.rio.crs).rio.write_nodata(np.nan)
    class_da.attrs.pop("class_names", None)
    return class_da, conf_da


# ----------------------------------------------------------------------------------------------------- writing


def _check_products(products) -> xr.Dataset:
    if not isinstance(products, xr.Dataset) or "class_map" not in products:
        raise ConfigError(f"write_map: needs the products of predict_map (a Dataset with a 'class_map'); got "
                          f"{type(products).__name__}.")
    return products


def write_map(
    products: xr.Dataset,
    folder: str | Path,
    *,
    format: str = "cog",
    probabilities: str | None = "uint8",
    colors: Mapping[int, tuple] | None = None,
    cog_tile: int = 512,
    overwrite: bool = False,
    workers: int | None = None,
    progress: bool = False,
) -> dict[str, Path]:
    """Write the products of :func:`predict_map` into ``folder``, block by block, all-or-nothing.

    Parameters
    ----------
    products : xarray.Dataset
        From :func:`predict_map` (lazy or in memory).
    folder : path
        Receives ``class_map.tif`` (uint8, nodata 255, colour table, class names in its metadata and ``.aux.xml``),
        ``confidence.tif`` and ``uncertainty.tif`` (float32, NaN), ``valid_count.tif`` (uint16) and
        ``probabilities.tif`` (one band per class, named after it); or with ``format="zarr"`` one store
        ``products.zarr`` holding them all.
    probabilities : "uint8", "float32" or None
        Probabilities stored as percentages 0..100 (uint8, nodata 255), as floats, or not at all.
    colors : dict {code: (r, g, b)}, optional
        Class colours (by default conventional land-cover colours for known names, else a palette).
    cog_tile : int, default 512
        The side of the COGs' internal tiles (:func:`labkit.io.write_cog`); a Zarr store keeps the products' chunks.
    overwrite : bool
        Replace earlier outputs.

    Returns
    -------
    dict
        Product name -> path written.

    Example
    -------
    >>> import tempfile, numpy as np, rasterio, labkit.datamodel as dm
    >>> from labkit.models import make_model
    >>> rng = np.random.default_rng(0)
    >>> cube = dm.make_cube(rng.random((2, 1, 6, 6)), ["2020-01-01", "2020-02-01"], ["NDVI"],
    ...                     transform=(10, 0, 0, 0, -10, 60), crs="EPSG:32631")
    >>> model = make_model("rf", n_estimators=10, random_state=0).fit(rng.random((20, 2, 1)), [1, 2] * 10)
    >>> written = write_map(predict_map(cube, model), tempfile.mkdtemp())
    >>> sorted(written)
    ['class_map', 'confidence', 'probabilities', 'uncertainty', 'valid_count']
    >>> with rasterio.open(written["probabilities"]) as src:
    ...     src.count, src.dtypes[0], src.descriptions
    (2, 'uint8', ('1', '2'))
    """
    from .io import write_cogs
    from .report import class_colors

    products = _check_products(products)
    if format not in ("cog", "zarr"):
        raise ConfigError(f"write_map: format must be 'cog' or 'zarr'; got {format!r}.")
    if probabilities not in ("uint8", "float32", None):
        raise ConfigError(f"write_map: probabilities must be 'uint8', 'float32' or None; got {probabilities!r}.")
    folder = Path(folder)
    names = dict(products["class_map"].attrs.get("class_names") or {})
    codes = [int(c) for c in products["probabilities"]["class"].values] if "probabilities" in products else \
        sorted(names)
    colormap = dict(colors) if colors is not None else class_colors(codes, names)
    layers = {name: products[name] for name in PRODUCTS if name in products}
    if "probabilities" in layers:
        if probabilities is None:
            del layers["probabilities"]
        elif probabilities == "uint8":
            percent = (layers["probabilities"] * 100).round()
            layers["probabilities"] = percent.fillna(255).astype(np.uint8)
        layers.get("probabilities", xr.DataArray()).attrs.clear()
    if format == "zarr":
        return {"products": _write_products_zarr(layers, folder / "products.zarr", overwrite, workers, progress)}
    options = {
        "class_map": dict(nodata=NO_CLASS, dtype="uint8", colormap=colormap, class_names=names),
        "confidence": dict(nodata=float("nan")),
        "uncertainty": dict(nodata=float("nan"), tags={"METHOD": products["uncertainty"].attrs.get("method", "")}),
        "valid_count": dict(nodata=None, dtype="uint16"),
        "probabilities": dict(nodata=255 if probabilities == "uint8" else float("nan"),
                              tags={"SCALE": "percent" if probabilities == "uint8" else "fraction"}),
    }
    crs = products.rio.crs
    jobs = [(layer.rio.write_crs(crs), folder / f"{name}.tif", {**options[name], "cog_tile": cog_tile})
            for name, layer in layers.items()]
    paths = write_cogs(jobs, overwrite=overwrite, progress=progress, workers=workers, desc="predict")
    return dict(zip(layers, paths))


def _write_products_zarr(layers: dict, path: Path, overwrite: bool, workers, progress) -> Path:
    """All the products in one Zarr store (one pass over the blocks), written atomically."""
    from .outputs import atomic_path

    dataset = xr.Dataset({name: layer.drop_attrs() if hasattr(layer, "drop_attrs") else layer
                          for name, layer in layers.items()})
    with atomic_path(path, overwrite=overwrite, kind="store") as tmp:
        job = dataset.to_zarr(tmp, mode="w", compute=False, consolidated=True, zarr_format=2)
        tiling.compute(job, workers=workers, progress=progress, desc="predict")
    return path
