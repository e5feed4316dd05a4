"""Inference: classify every pixel of a cube with a fitted model, block by block.

Takes a cube (the same bands and dates the model was trained on) and a fitted classifier; returns a class map
``(y, x)`` and a confidence map (the highest class probability). Only one block of the cube is in memory at a time,
so a dask-backed cube larger than memory streams through. Comes after :mod:`labkit.models`, before
:mod:`labkit.accuracy`.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from .datamodel import validate
from .errors import ConfigError

#: Class-map value of pixels that could not be classified (no valid value on some date and band).
NO_CLASS = 255


def predict_cube(
    cube: xr.DataArray, model, *, block_size: int = 256, progress: bool = False
) -> tuple[xr.DataArray, xr.DataArray]:
    """Classify every pixel of a cube.

    Parameters
    ----------
    cube : cube (time, band, y, x)
        Numpy or dask; read ``block_size`` x ``block_size`` pixels at a time.
    model : fitted classifier with ``predict_proba`` and ``classes_``
        Fed ``(n_pixels, n_time, n_band)`` arrays.
    block_size : int
        Side of the square blocks, in pixels.
    progress : bool
        Show a tqdm progress bar over blocks.

    Returns
    -------
    class_map : (y, x) uint8, :data:`NO_CLASS` where a pixel has a NaN value
    confidence : (y, x) float32 in [0, 1], NaN where not classified

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
    validate(cube, "cube")
    if int(block_size) < 1:
        raise ConfigError(f"predict_cube: block_size must be a positive number of pixels; got {block_size}.")
    classes = np.asarray(getattr(model, "classes_", []))
    if classes.size == 0:
        raise ConfigError("predict_cube: the model is not fitted (no classes_). Call model.fit(X, y) first.")
    if classes.min() < 0 or classes.max() >= NO_CLASS:
        raise ConfigError(f"predict_cube: class codes must lie in 0..{NO_CLASS - 1} for a uint8 class map; "
                          f"got {classes.min()}..{classes.max()}.")
    height, width = cube.sizes["y"], cube.sizes["x"]
    class_map = np.full((height, width), NO_CLASS, dtype="uint8")
    confidence = np.full((height, width), np.nan, dtype="float32")
    blocks = list(product(range(0, height, block_size), range(0, width, block_size)))
    for y0, x0 in tqdm(blocks, desc="predict", unit="block", disable=not progress):
        window = {"y": slice(y0, y0 + block_size), "x": slice(x0, x0 + block_size)}
        values = cube.isel(window).transpose("y", "x", "time", "band").values
        bh, bw = values.shape[:2]
        pixels = values.reshape(bh * bw, *values.shape[2:])
        ok = ~np.isnan(pixels).any(axis=(1, 2))
        if ok.any():
            proba = model.predict_proba(pixels[ok])
            best = proba.argmax(axis=1)
            block_classes = np.full(bh * bw, NO_CLASS, dtype="uint8")
            block_conf = np.full(bh * bw, np.nan, dtype="float32")
            block_classes[ok] = classes[best]
            block_conf[ok] = proba[np.arange(len(best)), best]
            class_map[window["y"], window["x"]] = block_classes.reshape(bh, bw)
            confidence[window["y"], window["x"]] = block_conf.reshape(bh, bw)
    coords = {"y": cube.y, "x": cube.x}
    crs = cube.rio.crs
    class_da = xr.DataArray(class_map, dims=("y", "x"), coords=coords, name="class").rio.write_crs(crs)
    class_da = class_da.rio.write_nodata(NO_CLASS)
    conf_da = xr.DataArray(confidence, dims=("y", "x"), coords=coords, name="confidence").rio.write_crs(crs)
    return class_da, conf_da.rio.write_nodata(np.nan)
