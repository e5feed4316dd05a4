"""Inference: classify every pixel of a cube with a fitted model, block by block.

Takes a cube (the same bands and dates the model was trained on) and a fitted classifier; returns a class map
``(y, x)`` and a confidence map (the highest class probability). Only one block of the cube is in memory at a time,
so a dask-backed cube larger than memory streams through. Before any block, the cube is checked against what the
model was fitted on (:func:`labkit.models.fit_model` records it): its bands are read by name in the model's order,
and a missing band, another number of dates or other days of the year are refused. Comes after :mod:`labkit.models`,
before :mod:`labkit.accuracy`.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from .datamodel import NO_CLASS, validate
from .errors import BandError, ConfigError, DataModelError
from .params import flag, integer


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


def _classify(model, pixels: np.ndarray, classes: np.ndarray, extra: dict) -> tuple[np.ndarray, np.ndarray]:
    """Class and confidence of each pixel: from ``predict_proba``, or ``predict`` and NaN without it.

    ``extra``: the dates (``doy``) for a model whose methods read them.
    """
    if not hasattr(model, "predict_proba"):
        return model.predict(pixels, **extra), np.full(len(pixels), np.nan, dtype="float32")
    proba = model.predict_proba(pixels, **extra)
    best = proba.argmax(axis=1)
    return classes[best], proba[np.arange(len(best)), best]


def predict_cube(
    cube: xr.DataArray, model, *, block_size: int = 256, progress: bool = False
) -> tuple[xr.DataArray, xr.DataArray]:
    """Classify every pixel of a cube.

    Parameters
    ----------
    cube : cube (time, band, y, x)
        Numpy or dask; read ``block_size`` x ``block_size`` pixels at a time.
    model : fitted classifier with ``classes_`` and ``predict_proba`` (or only ``predict``)
        Fed ``(n_pixels, n_time, n_band)`` arrays. Fitted with :func:`labkit.models.fit_model`, it carries the
        bands and number of dates it reads (``input_signature_``): the cube's bands are then taken by name in the
        model's order (any order, extra bands left out). Without it, the cube must match the model's shape
        (``n_time_`` x ``n_band_`` of a :class:`~labkit.models.SeriesFeatures` first step, else ``n_features_in_``).
        A model without ``predict_proba`` (``sklearn.svm.LinearSVC``...) gives its ``predict`` and no confidence.
    block_size : int
        Side of the square blocks, in pixels.
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
        An unfitted model, class labels that are not integer codes (text) or do not fit a uint8 map, a
        ``block_size`` that is not an integer >= 1, a ``progress`` that is not True or False.
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
    >>> class_map, confidence = predict_cube(cube, model, block_size=2)
    >>> class_map.values.tolist()[0], float(confidence.min())
    ([4, 4, 4], 1.0)
    """
    block_size = integer(block_size, "block_size", "predict_cube", low=1)
    progress = flag(progress, "progress", "predict_cube")
    validate(cube, "cube")
    classes = np.asarray(getattr(model, "classes_", []))
    if classes.size == 0:
        raise ConfigError("predict_cube: the model is not fitted (no classes_). Call model.fit(X, y) first.")
    _check_class_codes(classes)
    if classes.min() < 0 or classes.max() >= NO_CLASS:
        raise ConfigError(f"predict_cube: class codes must lie in 0..{NO_CLASS - 1} for a uint8 class map; "
                          f"got {classes.min()}..{classes.max()}.")
    source = _model_input(cube, model)
    method = "predict_proba" if hasattr(model, "predict_proba") else "predict"
    extra = {"doy": _days(source, model)} if _takes(model, method, "doy") else {}
    # A model that reads a mask of missing observations classifies a pixel with at least one; others need them all.
    partial = _takes(model, method, "valid")
    height, width = cube.sizes["y"], cube.sizes["x"]
    class_map = np.full((height, width), NO_CLASS, dtype="uint8")
    confidence = np.full((height, width), np.nan, dtype="float32")
    blocks = list(product(range(0, height, block_size), range(0, width, block_size)))
    for y0, x0 in tqdm(blocks, desc="predict", unit="block", disable=not progress):
        window = {"y": slice(y0, y0 + block_size), "x": slice(x0, x0 + block_size)}
        values = source.isel(window).transpose("y", "x", "time", "band").values
        bh, bw = values.shape[:2]
        pixels = values.reshape(bh * bw, *values.shape[2:])
        finite = np.isfinite(pixels).all(axis=2)  # NaN or ±inf on a band: the observation is missing
        ok = finite.any(axis=1) if partial else finite.all(axis=1)
        if ok.any():
            block_classes = np.full(bh * bw, NO_CLASS, dtype="uint8")
            block_conf = np.full(bh * bw, np.nan, dtype="float32")
            block_classes[ok], block_conf[ok] = _classify(model, pixels[ok], classes, extra)
            class_map[window["y"], window["x"]] = block_classes.reshape(bh, bw)
            confidence[window["y"], window["x"]] = block_conf.reshape(bh, bw)
    coords = {"y": cube.y, "x": cube.x}
    crs = cube.rio.crs
    class_da = xr.DataArray(class_map, dims=("y", "x"), coords=coords, name="class").rio.write_crs(crs)
    class_da = class_da.rio.write_nodata(NO_CLASS)
    conf_da = xr.DataArray(confidence, dims=("y", "x"), coords=coords, name="confidence").rio.write_crs(crs)
    return class_da, conf_da.rio.write_nodata(np.nan)
