"""Super-resolution: the 20 m bands of a Sentinel-2 cube brought onto its 10 m grid, and how well that went.

Takes a cube on the 10 m grid holding the 10 m bands (B02 B03 B04 B08) and the 20 m bands (B05 B06 B07 B8A B11
B12) in one of two ways:

* **a second cube on the 20 m grid** (``cube20=``, the clean way: nothing was resampled): same dates and CRS, pixels
  twice as large, the same upper-left corner, ``ceil(height / 2)`` x ``ceil(width / 2)`` pixels;
* **inside the 10 m cube**, resampled there by nearest neighbour (each 20 m value over its 2 x 2 pixels, as
  ``gdalwarp -r near``, rioxarray's and odc-stac's default do when all bands are read onto one grid): each 2 x 2 block
  is averaged back to its 20 m value (exact for nearest neighbour; an approximation after a smoother resampling).

:func:`superresolve` returns the cube on the 10 m grid with the 20 m bands sharpened by a
:class:`~labkit.models.deep.superres.SuperResolution` network (or interpolated bicubically without one:
:func:`upsample_bicubic`, the baseline), dates, CRS and transform kept, ``NaN`` where an input is missing. It works
date by date, and within a date block by block (``block`` pixels of the 10 m grid, chosen by the block engine of
:mod:`labkit.tiling` from ``memory`` by default, each read with a ``halo`` of neighbours that covers the network's
receptive field and the bicubic kernel, so that the blocks join without a seam: the result does not depend on
``block``). A numpy-backed cube gives a numpy-backed result; a dask-backed one a lazy result. The network
standardises each date with that date's own per-band statistics, computed over the whole date, never per block.

:func:`rmse`, :func:`psnr` and :func:`ssim` (Wang et al. 2004) score a band against its truth, and
:func:`evaluate_wald` scores a model (or the bicubic baseline) on scenes by Wald's protocol: every band degraded by
2, so that the 20 m bands are a truth to restore from their 40 m version. Comes after reading
(:mod:`labkit.io`, :mod:`labkit.datasets`) and before :mod:`labkit.masks`, :mod:`labkit.features`.

Example
-------
>>> import numpy as np, labkit.datamodel as dm
>>> rng = np.random.default_rng(0)
>>> cube = dm.make_cube(rng.random((2, 4, 8, 6), "float32"), ["2021-05-01", "2021-05-11"], list(BANDS_10M),
...                     transform=(10.0, 0, 500000.0, 0, -10.0, 4000000.0), crs="EPSG:32631")
>>> cube20 = dm.make_cube(rng.random((2, 6, 4, 3), "float32"), cube.time.values, list(BANDS_20M),
...                       transform=(20.0, 0, 500000.0, 0, -20.0, 4000000.0), crs="EPSG:32631")
>>> out = superresolve(cube, cube20=cube20)            # no model: bicubic interpolation
>>> out.band.values.tolist()[4:], out.shape, out.rio.transform() == cube.rio.transform()
(['B05', 'B06', 'B07', 'B8A', 'B11', 'B12'], (2, 10, 8, 6), True)
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from . import datamodel as dm
from . import params
from .datasets.superres_data import BANDS_10M, BANDS_20M
from .errors import BandError, ConfigError, DataModelError, GridMismatchError

__all__ = ["BANDS_10M", "BANDS_20M", "evaluate_wald", "psnr", "rmse", "ssim", "superresolve", "upsample_bicubic"]

_BICUBIC_HALO = 6
"""10 m pixels of context the bicubic interpolation of a block needs on each side (even)."""


# ------------------------------------------------------------------------------------------------------ metrics


def _pairs(truth, pred, who: str) -> tuple[np.ndarray, np.ndarray]:
    truth, pred = np.asarray(truth, np.float64), np.asarray(pred, np.float64)
    if truth.shape != pred.shape:
        raise DataModelError(f"{who}: truth and prediction must have the same shape; got {truth.shape} and "
                             f"{pred.shape}.")
    return truth, pred


def rmse(truth, pred) -> float:
    """Root-mean-square error over the pixels where both are finite.

    Example
    -------
    >>> rmse([0.0, 0.0, np.nan], [3.0, 4.0, 1.0])
    3.5355339059327378
    """
    truth, pred = _pairs(truth, pred, "rmse")
    both = np.isfinite(truth) & np.isfinite(pred)
    if not both.any():
        return float("nan")
    return float(np.sqrt(np.mean((truth[both] - pred[both]) ** 2)))


def _data_range(truth: np.ndarray, data_range, who: str) -> float:
    if data_range is not None:
        return params.number(data_range, "data_range", who, low=0, closed="neither")
    finite = truth[np.isfinite(truth)]
    span = float(finite.max() - finite.min()) if finite.size else 0.0
    if span <= 0:
        raise DataModelError(f"{who}: the truth is constant (or empty), so its range is 0; pass data_range=.")
    return span


def psnr(truth, pred, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB: ``20 log10(data_range / rmse)``.

    Parameters
    ----------
    truth, pred : array-like of the same shape
    data_range : float, optional
        The peak; default the truth's range (max - min), as for :func:`ssim`.

    Example
    -------
    >>> round(psnr([0.0, 1.0], [0.1, 0.9]), 2)
    20.0
    """
    truth, pred = _pairs(truth, pred, "psnr")
    error = rmse(truth, pred)
    peak = _data_range(truth, data_range, "psnr")
    return float("inf") if error == 0 else float(20 * np.log10(peak / error))


def ssim(truth, pred, data_range: float | None = None, *, sigma: float = 1.5) -> float:
    """Mean structural similarity of two images (Wang, Bovik, Sheikh & Simoncelli 2004).

    Local means, variances and covariance are weighted by a Gaussian window of ``sigma`` = 1.5 px truncated to
    11 x 11 px; ``C1 = (0.01 L)²``, ``C2 = (0.03 L)²`` with ``L = data_range``; the map is averaged over the pixels
    whose window lies inside the image (as the paper's and scikit-image's ``gaussian_weights=True,
    use_sample_covariance=False``).

    Parameters
    ----------
    truth, pred : array-like (y, x), finite, at least 11 x 11 px
    data_range : float, optional
        ``L``; default the truth's range (max - min).
    sigma : float, default 1.5

    Example
    -------
    >>> round(ssim(np.full((16, 16), 0.2), np.full((16, 16), 0.3), data_range=1.0), 6)  # (2xy + C1) / (x² + y² + C1)
    0.923136
    """
    from scipy.ndimage import gaussian_filter

    truth, pred = _pairs(truth, pred, "ssim")
    sigma = params.number(sigma, "sigma", "ssim", low=0, closed="neither")
    radius = int(3.5 * sigma + 0.5)
    if truth.ndim != 2 or min(truth.shape) < 2 * radius + 1:
        raise DataModelError(f"ssim: expected two images (y, x) of at least {2 * radius + 1} x {2 * radius + 1} px; "
                             f"got shape {truth.shape}.")
    if not (np.isfinite(truth).all() and np.isfinite(pred).all()):
        raise DataModelError("ssim: the images hold NaN or infinite values; crop them to a valid window first.")
    peak = _data_range(truth, data_range, "ssim")
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2

    def blur(image):
        return gaussian_filter(image, sigma, truncate=3.5, mode="reflect")

    mx, my = blur(truth), blur(pred)
    vx, vy, cov = blur(truth * truth) - mx * mx, blur(pred * pred) - my * my, blur(truth * pred) - mx * my
    index = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(index[radius:-radius, radius:-radius].mean())


def evaluate_wald(scenes: Sequence, model=None, *, bands10: Sequence[str] = BANDS_10M,
                  bands20: Sequence[str] = BANDS_20M) -> pd.DataFrame:
    """Score a super-resolution model (or bicubic interpolation) on scenes by Wald's protocol, per band.

    Each scene is degraded by 2 (:func:`labkit.models.deep.superres.wald_pair`); the 20 m bands are restored from
    the degraded 10 m bands (now 20 m) and 20 m bands (now 40 m), and compared with the real 20 m bands.

    Parameters
    ----------
    scenes : sequence
        :class:`~labkit.datasets.superres_data.Scene` objects, mappings band -> image, or pairs of arrays
        ``(bands10, bands20)``.
    model : SuperResolution, optional
        Default: bicubic interpolation.
    bands10, bands20 : sequence of str
        The bands, when no model says them.

    Returns
    -------
    pandas.DataFrame
        Indexed by band: ``rmse`` (reflectance, over all pixels of all scenes), ``psnr`` (dB) and ``ssim`` (each the
        mean over scenes; peak = the range of the scene's true band), ``n_pixels``.

    Example
    -------
    >>> yy, xx = np.mgrid[0:64, 0:64] / 5.0
    >>> b10 = np.stack([np.sin(xx) + np.cos(yy + k) + 2 for k in range(4)]).astype("float32")
    >>> from labkit.models.deep.superres import degrade
    >>> table = evaluate_wald([(b10, degrade(b10[[0, 1, 2, 3, 0, 1]]))])
    >>> table.columns.tolist(), table.index.tolist()[:2]
    (['rmse', 'psnr', 'ssim', 'n_pixels'], ['B05', 'B06'])
    """
    from .models.deep.superres import _scene_arrays, upsample, wald_pair

    if model is not None:
        bands10, bands20 = tuple(model.bands10), tuple(model.bands20)
    squared, psnrs, ssims, n_pixels = np.zeros(len(bands20)), [], [], 0
    for index, scene in enumerate(scenes):
        b10, b20 = _scene_arrays(scene, index, bands10, bands20)
        x10, x20, target = wald_pair(b10, b20)
        pred = upsample(x20) if model is None else model.predict(x10, x20)
        squared += ((pred - target).astype(np.float64) ** 2).sum(axis=(1, 2))
        n_pixels += target[0].size
        psnrs.append([psnr(t, p) for t, p in zip(target, pred)])
        ssims.append([ssim(t, p) for t, p in zip(target, pred)])
    if not n_pixels:
        raise DataModelError("evaluate_wald: no scenes to evaluate on.")
    return pd.DataFrame({"rmse": np.sqrt(squared / n_pixels), "psnr": np.mean(psnrs, axis=0),
                         "ssim": np.mean(ssims, axis=0), "n_pixels": n_pixels}, index=pd.Index(bands20, name="band"))


# ------------------------------------------------------------------------------------------------------- checks


def _band_list(cube: xr.DataArray) -> list[str]:
    return [str(b) for b in cube.band.values]


def _require_bands(cube: xr.DataArray, wanted: Sequence[str], what: str, fix: str) -> None:
    missing = [b for b in wanted if b not in _band_list(cube)]
    if missing:
        raise BandError(f"superresolve: {what} has no band {missing} (it has {_band_list(cube)}). {fix}")


def _check_grid20(cube: xr.DataArray, cube20: xr.DataArray) -> None:
    """``cube20`` must be on the 20 m grid that shares ``cube``'s upper-left corner: same CRS and dates."""
    if cube.rio.crs != cube20.rio.crs:
        raise GridMismatchError(f"superresolve: cube20's CRS ({cube20.rio.crs}) is not the cube's ({cube.rio.crs}); "
                                "reproject it with cube20.rio.reproject(cube.rio.crs, ...) first.")
    t10, t20 = cube.rio.transform(), cube20.rio.transform()
    if not (np.isclose(t20.a, 2 * t10.a) and np.isclose(t20.e, 2 * t10.e)):
        raise GridMismatchError(f"superresolve: cube20's pixels are {abs(t20.a):g} x {abs(t20.e):g}; they must be "
                                f"twice the cube's ({abs(t10.a):g} x {abs(t10.e):g}).")
    tolerance = 1e-6 * max(1.0, abs(t10.a))
    if abs(t20.c - t10.c) > tolerance or abs(t20.f - t10.f) > tolerance:
        raise GridMismatchError(f"superresolve: cube20's upper-left corner ({t20.c:g}, {t20.f:g}) is not the cube's "
                                f"({t10.c:g}, {t10.f:g}); a 20 m pixel must cover 2 x 2 10 m pixels with the same "
                                "upper-left corner. Crop both to a common corner first.")
    expected = ((cube.sizes["y"] + 1) // 2, (cube.sizes["x"] + 1) // 2)
    if (cube20.sizes["y"], cube20.sizes["x"]) != expected:
        raise GridMismatchError(f"superresolve: cube20 is {cube20.sizes['y']} x {cube20.sizes['x']} px; the cube's "
                                f"{cube.sizes['y']} x {cube.sizes['x']} px at 10 m need {expected[0]} x {expected[1]} "
                                "px at 20 m.")
    if cube.sizes["time"] != cube20.sizes["time"] or not (cube.time.values == cube20.time.values).all():
        raise DataModelError(f"superresolve: cube20's dates ({cube20.sizes['time']}) are not the cube's "
                             f"({cube.sizes['time']}); select the same dates in both (cube20.sel(time=cube.time)).")


def _model(model):
    """``None`` (bicubic), a fitted :class:`SuperResolution`, or the path of a saved one."""
    if model is None:
        return None
    from .models.deep.superres import SuperResolution

    if isinstance(model, (str, os.PathLike)):
        from .models.persistence import load_model

        path, model = model, load_model(model)
        if not isinstance(model, SuperResolution):
            raise ConfigError(f"superresolve: {path} holds a {type(model).__name__}, not a super-resolution model "
                              "(labkit.models.save_model of a fitted SuperResolution).")
    if not isinstance(model, SuperResolution):
        raise ConfigError(f"superresolve: model must be None (bicubic), a SuperResolution or the path of a saved "
                          f"one; got {type(model).__name__}.")
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "network_")
    return model


# -------------------------------------------------------------------------------------------------------- stage


def _to_20m(values: np.ndarray) -> np.ndarray:
    """``(band, y, x)`` resampled by nearest neighbour onto the 10 m grid -> its 20 m values (2 x 2 means)."""
    band, height, width = values.shape
    padded = np.full((band, height + height % 2, width + width % 2), np.nan, np.float32)
    padded[:, :height, :width] = values
    blocks = padded.reshape(band, padded.shape[1] // 2, 2, padded.shape[2] // 2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN block is NaN
        return np.nanmean(blocks, axis=(2, 4)).astype(np.float32)


def _sharpen_block(x10: np.ndarray, x20_fine: np.ndarray, *, model, stats) -> np.ndarray:
    """One block of every date, read by the block engine on the 10 m grid at an even row and column:
    ``(time, n10, h, w)`` and the 20 m bands repeated 2 x 2 onto that grid -> ``(time, n20, h, w)``."""
    from .models.deep.superres import _bicubic_with_gaps

    height, width = x10.shape[-2:]
    x20 = np.asarray(x20_fine[..., ::2, ::2], np.float32)  # the 20 m pixels of the block, exactly
    out = np.empty((x20.shape[0], x20.shape[1], height, width), np.float32)
    for t in range(x20.shape[0]):
        if model is None:
            part = _bicubic_with_gaps(x20[t])
        else:
            part = model.predict(np.asarray(x10[t], np.float32), x20[t], stats=stats[t])
        out[t] = part[:, :height, :width]
    return out


def _date_stats(model, x10, x20) -> list | None:
    """The statistics each date is standardised with (:meth:`SuperResolution.image_stats`): one set per date, for
    every block of it, so that blocks join without a seam. Lazy bands are reduced by dask, block by block."""
    if model is None:
        return None
    if not (_is_dask(x10) or _is_dask(x20)) or model.standardise == "training":
        return [model.image_stats(np.asarray(x10[t]), np.asarray(x20[t])) for t in range(x20.shape[0])]
    import dask
    import dask.array as da

    def moments(x):
        x = da.asarray(x).astype(np.float64)
        return da.nanmean(x, axis=(-2, -1)), da.nanstd(x, axis=(-2, -1))

    (m10, s10), (m20, s20) = dask.compute(moments(x10), moments(x20))
    return [(m10[t].astype(np.float32), (s10[t] + 1e-4).astype(np.float32), m20[t].astype(np.float32),
             (s20[t] + 1e-4).astype(np.float32)) for t in range(x20.shape[0])]


def _inputs(cube: xr.DataArray, cube20: xr.DataArray | None, bands10: Sequence[str], bands20: Sequence[str]):
    """``(10 m bands (time, n10, H, W), 20 m bands (time, n20, h, w), in_cube)`` as numpy or dask arrays."""
    x10 = cube.sel(band=list(bands10)).data
    if cube20 is not None:
        return x10, cube20.sel(band=list(bands20)).data
    resampled = cube.sel(band=list(bands20)).data
    if _is_dask(resampled):
        import dask.array as da

        shape = (len(bands20), (resampled.shape[2] + 1) // 2, (resampled.shape[3] + 1) // 2)
        dates = [da.from_delayed(_delayed(_to_20m)(resampled[t]), shape, np.float32)
                 for t in range(resampled.shape[0])]
        return x10, da.stack(dates)
    return x10, np.stack([_to_20m(np.asarray(resampled[t], np.float32)) for t in range(resampled.shape[0])])


def _is_dask(array) -> bool:
    return hasattr(array, "dask")


def _delayed(function):
    import dask

    return dask.delayed(function, pure=True)


def superresolve(cube: xr.DataArray, model=None, *, cube20: xr.DataArray | None = None,
                 bands20: Sequence[str] | None = None, keep_bands: bool = True,
                 block: int | tuple[int, int] | None = None, memory: str | int | None = None,
                 halo: int | None = None) -> xr.DataArray:
    """The cube with its 20 m bands on its 10 m grid: sharpened by a network, or interpolated bicubically.

    Parameters
    ----------
    cube : cube (time, band, y, x)
        On the 10 m grid; holds the 10 m bands the model reads (``model.bands10``: B02 B03 B04 B08), and the 20 m
        bands too when ``cube20`` is None (resampled onto the 10 m grid by nearest neighbour).
    model : SuperResolution or path, optional
        A fitted :class:`~labkit.models.deep.superres.SuperResolution` or the file it was saved to; default: bicubic
        interpolation (:func:`upsample_bicubic`), which needs no 10 m band.
    cube20 : cube (time, band, y, x), optional
        The 20 m bands on the 20 m grid: same CRS and dates, pixels twice as large, same upper-left corner,
        ``ceil(height / 2)`` x ``ceil(width / 2)`` pixels.
    bands20 : sequence of str, optional
        The 20 m bands to bring to 10 m; default ``model.bands20`` (B05 B06 B07 B8A B11 B12). A model needs all of
        its own.
    keep_bands : bool, default True
        Return the cube's bands too (a 20 m band it held, resampled, is replaced by the sharpened one, in place);
        False: only the 20 m bands.
    block : int or (int, int), optional
        The blocks each date is processed in: a square's side, or ``(rows, columns)``, in 10 m pixels, even (a 20 m
        pixel covers 2 x 2 of them); by default chosen from ``memory`` (:func:`labkit.tiling.block_shape`, even
        sides), or a dask cube's own chunks when they are even. The result does not depend on it.
    memory : str or int, optional
        Budget of the blocks in flight (``"2GB"``); default :data:`labkit.params.DEFAULT_MEMORY`.
    halo : int, optional
        Pixels of context read around each block (even); default what the model needs (its receptive field and the
        bicubic kernel: :attr:`SuperResolution.halo`), or 6 for bicubic interpolation.

    Returns
    -------
    cube (time, band, y, x), float32
        On the cube's grid (same ``x``, ``y``, CRS and transform), same dates; ``NaN`` where a 10 m band is missing
        at the pixel or a 20 m band at the 20 m pixel that covers it. Dask-backed if an input is.

    Raises
    ------
    labkit.errors.DataModelError
        Not a cube, or ``cube20``'s dates differ.
    labkit.errors.BandError
        A band the model reads, or a 20 m band, is missing (the message names it and where it was looked for).
    labkit.errors.GridMismatchError
        ``cube20`` is not on the matching 20 m grid (CRS, pixel size, upper-left corner or size).
    labkit.errors.ConfigError
        A ``block`` or ``halo`` that is not even, a bad ``memory``, ``bands20`` that are not the model's.

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> values = np.repeat(np.repeat(np.arange(4.0, dtype="float32").reshape(1, 1, 2, 2), 2, 2), 2, 3)
    >>> cube = dm.make_cube(values, ["2021-05-01"], ["B05"], transform=(10.0, 0, 0.0, 0, -10.0, 40.0), crs="EPSG:32631")
    >>> sharp = superresolve(cube, bands20=["B05"])   # the 20 m values [[0, 1], [2, 3]], resampled by nearest
    >>> sharp.values[0, 0, 0].astype(float).round(2).tolist()   # bicubic: Keys' kernel overshoots at the edge
    [-0.21, 0.06, 0.66, 0.93]
    """
    from . import tiling

    dm.validate(cube, "cube")
    model = _model(model)
    keep_bands = params.flag(keep_bands, "keep_bands", "superresolve")
    block = params.block(block, "superresolve", low=2)
    if memory is not None:
        tiling.parse_memory(memory, "superresolve")
    bands20 = tuple(bands20) if bands20 is not None else (tuple(model.bands20) if model is not None else BANDS_20M)
    if isinstance(bands20, str) or not bands20:
        raise ConfigError(f"superresolve: bands20 must be a non-empty sequence of band names; got {bands20!r}.")
    if model is not None and sorted(bands20) != sorted(model.bands20):
        raise ConfigError(f"superresolve: the model sharpens {list(model.bands20)} together; bands20={list(bands20)} "
                          "must name the same bands.")
    bands10 = tuple(model.bands10) if model is not None else ()
    default_halo = model.halo if model is not None else _BICUBIC_HALO
    halo = default_halo if halo is None else params.integer(halo, "halo", "superresolve", low=0)
    if (block is not None and (block[0] % 2 or block[1] % 2)) or halo % 2:
        shown = "None" if block is None else (block[0] if block[0] == block[1] else block)
        raise ConfigError(f"superresolve: block and halo must be even (a 20 m pixel covers 2 x 2 pixels of the "
                          f"block); got block={shown}, halo={halo}.")
    _require_bands(cube, bands10, "the cube", "The network reads these 10 m bands.")
    if cube20 is not None:
        dm.validate(cube20, "cube")
        _require_bands(cube20, bands20, "cube20", "Pass the 20 m bands in cube20.")
        _check_grid20(cube, cube20)
    else:
        _require_bands(cube, bands20, "the cube", "Pass the 20 m bands on their 20 m grid as cube20=..., or "
                                                  "resampled onto the cube's grid.")
    order = list(model.bands20) if model is not None else list(bands20)
    x10, x20 = _inputs(cube, cube20, bands10, order)
    sharp = _sharpen(x10, x20, model, block, memory, halo, cube.sizes["y"], cube.sizes["x"])
    sharp = sharp[:, [order.index(b) for b in bands20]]
    return _assemble(cube, sharp, bands20, keep_bands, model)


def _sharpen(x10, x20, model, block: tuple[int, int] | None, memory, halo: int, height: int, width: int):
    """``(time, n20, H, W)`` through the block engine (:func:`labkit.tiling.map_blocks`): numpy, or lazy for dask.
    Blocks start at even rows and columns (``multiple=2``); a pixel's bytes count the network's feature maps."""
    from . import tiling

    n_time, n20 = x20.shape[0], x20.shape[1]
    if n_time == 0:
        return np.empty((0, n20, height, width), np.float32)
    stats = _date_stats(model, x10, x20)
    if _is_dask(x20):
        import dask.array as da

        fine = da.repeat(da.repeat(x20, 2, axis=-2), 2, axis=-1)[..., :height, :width]
    else:
        fine = np.repeat(np.repeat(np.asarray(x20), 2, axis=-2), 2, axis=-1)[..., :height, :width]
    dims = ("time", "band", "y", "x")
    per_pixel = tiling.WORKING_FACTOR * 4 * n_time * (x10.shape[1] + 2 * n20)
    if model is not None:  # one date's feature maps in flight in the network (float32)
        per_pixel += 8 * 4 * int(model.features)
    out = tiling.map_blocks(_sharpen_block, xr.DataArray(x10, dims=dims), xr.DataArray(fine, dims=dims), halo=halo,
                            block=block, memory=memory, multiple=2, bytes_per_pixel=per_pixel,
                            new_dims={"time": n_time, "band": n20}, dtype=np.float32, name="superresolve",
                            kwargs={"model": model, "stats": stats})
    return out.data


def _assemble(cube: xr.DataArray, sharp, bands20: Sequence[str], keep_bands: bool, model) -> xr.DataArray:
    """The output cube: the cube's bands (the 20 m ones replaced) and the sharpened ones, on the cube's grid."""
    data, names = sharp, list(bands20)
    kept = [b for b in _band_list(cube) if b not in names] if keep_bands else []
    if kept:
        others = cube.sel(band=kept).data.astype(np.float32)
        if _is_dask(sharp) or _is_dask(others):
            import dask.array as da

            data = da.concatenate([da.asarray(others), da.asarray(sharp)], axis=1)
        else:
            data = np.concatenate([others, sharp], axis=1)
        names = kept + names
        # the cube's bands in their order (its 20 m bands replaced in place), then the new ones
        order = [names.index(b) for b in _band_list(cube)] + [names.index(b) for b in bands20
                                                               if b not in _band_list(cube)]
        data, names = data[:, order], [names[i] for i in order]
    out = xr.DataArray(data, dims=dm.CUBE_DIMS, coords={"time": cube.time.values, "band": names,
                                                         "y": cube.y.values, "x": cube.x.values},
                       attrs={**cube.attrs, "superresolution": "bicubic" if model is None else
                              f"SuperResolution(features={model.features}, n_blocks={model.n_blocks})"},
                       name=cube.name)
    return out.rio.write_crs(cube.rio.crs).rio.write_transform(cube.rio.transform())


def upsample_bicubic(cube: xr.DataArray, *, cube20: xr.DataArray | None = None,
                     bands20: Sequence[str] = BANDS_20M, keep_bands: bool = True,
                     block: int | tuple[int, int] | None = None, memory: str | int | None = None) -> xr.DataArray:
    """The baseline: the 20 m bands interpolated bicubically onto the cube's 10 m grid (see :func:`superresolve`).

    Keys' cubic convolution (``a = -0.5``) with pixel centres placed inside the 20 m pixels, edges clamped; a
    missing 20 m pixel is read as its nearest valid neighbour by the kernel and is ``NaN`` in the result.

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.zeros((1, 1, 4, 4), "float32"), ["2021-05-01"], ["B02"],
    ...                     transform=(10.0, 0, 0.0, 0, -10.0, 40.0), crs="EPSG:32631")
    >>> cube20 = dm.make_cube(np.ones((1, 1, 2, 2), "float32"), ["2021-05-01"], ["B11"],
    ...                       transform=(20.0, 0, 0.0, 0, -20.0, 40.0), crs="EPSG:32631")
    >>> upsample_bicubic(cube, cube20=cube20, bands20=["B11"]).sel(band="B11").values.tolist()[0][0]
    [1.0, 1.0, 1.0, 1.0]
    """
    return superresolve(cube, None, cube20=cube20, bands20=bands20, keep_bands=keep_bands, block=block, memory=memory)
