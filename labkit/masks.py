"""Validity masks: which observation of which pixel may be used.

Takes the quality layers of a product and returns a validity mask ``(time, y, x)`` uint8 in labkit's codes
(0 valid, 1 cloud/shadow/saturated, 2 no acquisition, see :class:`labkit.datamodel.Validity`). Comes after
reading (:mod:`labkit.io`), before gap-filling (:mod:`labkit.gapfill`).

=====================================  ====================================================================
Product                                Function
=====================================  ====================================================================
Sentinel-2 L2A (ESA Sen2Cor), SCL      :func:`mask_from_scl`
Theia / MAJA L2A, CLM + SAT + EDG      :func:`mask_from_maja`
Landsat Collection 2, QA_PIXEL         :func:`mask_from_landsat_qa` (+ QA_RADSAT)
MODIS MOD13 (MOD13Q1...), reliability  :func:`mask_from_modis` (+ VI Quality)
cloud probability (s2cloudless...)     :func:`mask_from_cloud_probability`
any plain cloud mask                   :func:`mask_from_cloud`
the cube's own missing values          :func:`mask_from_nodata`
=====================================  ====================================================================

Then :func:`dilate_mask` widens the clouds by a few pixels (also the ``dilate=`` keyword of every constructor),
:func:`combine_masks` merges masks (worst code wins), :func:`count_valid` and :func:`valid_fraction_per_date`
summarise a mask.

Every function takes and returns xarray objects backed by numpy or dask; dask stays lazy, and values that are not
what the product defines (a code 15 in an SCL layer, a fraction in a bit mask) are reported when the blocks are
computed. Checks of the arguments raise :class:`~labkit.errors.ConfigError`; layers that do not follow the data
model (dims, dtype, grids, values) raise :class:`~labkit.errors.DataModelError`. NaN in a quality layer means "no
data" (code 2), except in :func:`mask_from_cloud`'s cloud layer.

Sources of the codes and bits
-----------------------------
* SCL: ESA, *Sentinel-2 Level-2A Algorithm Theoretical Basis Document* / Sentinel-2 MSI user guide, "Scene
  Classification" (classes 0-11, :data:`SCL_CLASSES`).
* MAJA: Theia, *Sentinel-2 L2A product format*,
  https://labo.obs-mip.fr/multitemp/sentinel-2/theias-sentinel-2-l2a-product-format/ : CLM bits in
  :data:`MAJA_CLM_BITS`, SAT one bit per band (R1: B2, B3, B4, B8), EDG 1 outside the swath. The same layout is used
  by Copernicus HR-WSI's ATBD (CLM bits 5 and 6 = shadows, 4 = thinnest clouds, 7 = high clouds). MAJA's *native*
  format orders bits 2-6 differently (shadows in bits 2-3); the default, "any bit set", does not depend on the
  order.
* Landsat: USGS, *Landsat 8-9 Collection 2 Level-2 Science Product Guide* (LSDS-1619), QA_PIXEL and QA_RADSAT
  tables (:data:`LANDSAT_QA_BITS`, :data:`LANDSAT_QA_CONFIDENCE`).
* MODIS: Didan, Barreto Munoz, Solano & Huete, *MODIS Vegetation Index User's Guide (MOD13 Series)*, Collection
  6.1, University of Arizona / NASA LP DAAC (2019), https://lpdaac.usgs.gov/documents/621/MOD13_User_Guide_V61.pdf
  : pixel reliability (:data:`MODIS_RELIABILITY`) and VI Quality (:data:`MODIS_VI_QUALITY_BITS`,
  :data:`MODIS_VI_USEFULNESS`) tables.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import xarray as xr
from scipy import ndimage

from . import params, tiling
from .bands import modis_layer_name
from .datamodel import CUBE_DIMS, MASK_DIMS, Validity, checked_mask, validate
from .errors import BandError, ConfigError, DataModelError

# --------------------------------------------------------------------------------------------- product codes

#: Sentinel-2 L2A scene classification (SCL) classes, as ESA's Sen2Cor defines them.
SCL_CLASSES = {
    0: "no data", 1: "saturated or defective", 2: "dark area pixels", 3: "cloud shadows", 4: "vegetation",
    5: "not vegetated", 6: "water", 7: "unclassified", 8: "cloud medium probability",
    9: "cloud high probability", 10: "thin cirrus", 11: "snow",
}
#: SCL classes that count as invalid by default: saturated/defective, cloud shadows, clouds (medium and high
#: probability) and thin cirrus. Snow (11) is kept valid: a snowy winter date still tells the land cover apart.
SCL_INVALID = (1, 3, 8, 9, 10)
#: SCL classes that mean "no acquisition".
SCL_NO_DATA = (0,)

#: Bits of Theia/MAJA's cloud mask CLM (``*_CLM_R1.tif``, ``*_CLM_R2.tif``), Theia's L2A product format.
MAJA_CLM_BITS = {
    0: "all clouds except the thinnest, and all shadows",
    1: "all clouds except the thinnest",
    2: "clouds detected via mono-temporal thresholds",
    3: "clouds detected via multi-temporal thresholds",
    4: "thinnest clouds",
    5: "cloud shadows cast by a detected cloud",
    6: "cloud shadows cast by a cloud outside the image",
    7: "high clouds detected by 1.38 µm",
}
#: CLM bits that make a pixel invalid by default: all of them (``CLM != 0``), as iota2 does.
MAJA_CLM_INVALID = tuple(MAJA_CLM_BITS)

#: Single-bit flags of Landsat Collection 2 QA_PIXEL (Landsat 8-9; Landsat 4-7 leave bit 2 unused).
LANDSAT_QA_BITS = {
    0: "fill", 1: "dilated cloud", 2: "cirrus (high confidence)", 3: "cloud", 4: "cloud shadow",
    5: "snow", 6: "clear (no cloud, no dilated cloud)", 7: "water",
}
#: Two-bit confidence fields of QA_PIXEL: name -> first bit. Levels 0 none, 1 low, 2 medium, 3 high.
LANDSAT_QA_CONFIDENCE = {"cloud": 8, "cloud_shadow": 10, "snow_ice": 12, "cirrus": 14}
#: QA_PIXEL bits that make a pixel invalid by default: dilated cloud, cirrus, cloud, cloud shadow.
LANDSAT_QA_INVALID = (1, 2, 3, 4)
#: The QA_PIXEL bit of fill (no data).
LANDSAT_QA_FILL_BIT = 0

#: MOD13 pixel reliability ("250m 16 days pixel reliability" of MOD13Q1; "SummaryQA" in Earth Engine), MOD13
#: user guide: a summary of the VI Quality bits.
MODIS_RELIABILITY = {
    -1: "fill / no data (not processed)", 0: "good data (use with confidence)",
    1: "marginal data (useful, but look at other QA information)", 2: "snow/ice (target covered with snow/ice)",
    3: "cloudy (target not visible, covered with cloud)",
}
#: Pixel reliability values that count as invalid by default: cloudy. Marginal data (1) and snow/ice (2) stay valid.
MODIS_RELIABILITY_INVALID = (3,)
#: Pixel reliability values that mean "no acquisition".
MODIS_RELIABILITY_NO_DATA = (-1,)
#: Single-bit flags of MOD13's VI Quality layer (bits 0-1 MODLAND QA, 2-5 VI usefulness, 6-7 aerosol quantity and
#: 11-13 land/water mask are fields, see :func:`mask_from_modis`).
MODIS_VI_QUALITY_BITS = {8: "adjacent cloud detected", 9: "atmosphere BRDF correction", 10: "mixed clouds",
                         14: "possible snow/ice", 15: "possible shadow"}
#: VI Quality bits that make a pixel invalid by default: adjacent cloud, mixed clouds, possible shadow.
MODIS_VI_QUALITY_INVALID = (8, 10, 15)
#: VI usefulness scores (bits 2-5 of VI Quality); 2-11 are decreasing qualities.
MODIS_VI_USEFULNESS = {0: "highest quality", 1: "lower quality", 12: "lowest quality",
                       13: "quality so low that it is not useful", 14: "L1B data faulty",
                       15: "not useful for any other reason / not processed"}
#: The worst VI usefulness score kept by default: 13 to 15 make a pixel invalid.
MODIS_MAX_USEFULNESS = 12

_NO_DATA, _INVALID, _VALID = np.uint8(Validity.NO_DATA), np.uint8(Validity.INVALID), np.uint8(Validity.VALID)


# ------------------------------------------------------------------------------------------ argument checks


def _whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_codes(func: str, arg: str, values, low: int, high: int, what: str) -> tuple[int, ...]:
    """``values`` as a sorted tuple of whole numbers in ``low..high``, or a ConfigError naming ``arg``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ConfigError(f"{func}: {arg} must be a list of {what} ({low}..{high}); got {values!r}.")
    values = list(values)
    bad = [v for v in values if not _whole(v) or not low <= int(v) <= high]
    if bad:
        raise ConfigError(f"{func}: {arg} must list {what} between {low} and {high}; got {bad} (out of range or "
                          "not whole numbers).")
    return tuple(sorted({int(v) for v in values}))


MAX_DILATION = 1000
"""The widest dilation, in pixels (10 km at 10 m): its disk footprint is (2r + 1)² cells, computed on every date."""


def _check_dilate(func: str, pixels) -> int:
    if not _whole(pixels) or not 0 <= int(pixels) <= MAX_DILATION:
        raise ConfigError(f"{func}: dilate must be a whole number of pixels from 0 to {MAX_DILATION}; got {pixels!r}.")
    return int(pixels)


# -------------------------------------------------------------------------------------------- layer checks


def _layer(func: str, label: str, layer, *, band: str | None = None, transpose: bool = False) -> xr.DataArray:
    """Check that ``layer`` is a ``(time, y, x)`` DataArray of numbers; pull band ``band`` out of a cube."""
    if not isinstance(layer, xr.DataArray):
        raise DataModelError(f"{func}: the {label} layer must be an xarray.DataArray {MASK_DIMS}; "
                             f"got {type(layer).__name__}.")
    if band is not None and layer.dims == CUBE_DIMS:
        names = [str(b) for b in layer["band"].values] if "band" in layer.coords else []
        if band not in names:
            raise BandError(f"{func}: the cube has no band {band!r} (bands: {names}); pass band=... to name the "
                            f"{label} band, or the {label} layer itself.")
        layer = layer.sel(band=band)
    if "band" in layer.coords and "band" not in layer.dims:  # what cube.sel(band="SCL") leaves behind
        layer = layer.drop_vars("band")
    if layer.dims != MASK_DIMS:
        if transpose and set(layer.dims) == set(MASK_DIMS):
            layer = layer.transpose(*MASK_DIMS)
        else:
            fix = f" Use .transpose{MASK_DIMS}." if set(layer.dims) == set(MASK_DIMS) else ""
            raise DataModelError(f"{func}: the {label} layer must have dims {MASK_DIMS}; got {layer.dims}.{fix}")
    if layer.dtype.kind not in "biuf":
        raise DataModelError(f"{func}: the {label} layer must hold integer codes (or floats with NaN); "
                             f"got dtype {layer.dtype}.")
    return layer


def _same_grid(func: str, ref_label: str, ref: xr.DataArray, label: str, other: xr.DataArray) -> xr.DataArray:
    """Check that ``other`` is on ``ref``'s grid (sizes, coordinates, CRS); return it with ``ref``'s coordinates."""
    where = f"{func}: {label} is not on the grid of {ref_label}"
    if dict(other.sizes) != dict(ref.sizes):
        raise DataModelError(f"{where}: sizes {dict(other.sizes)} vs {dict(ref.sizes)}.")
    for dim in MASK_DIMS:
        if dim in ref.coords and dim in other.coords:
            a, b = np.asarray(ref[dim].values), np.asarray(other[dim].values)
            close = (a == b) if dim == "time" or a.dtype.kind not in "fc" else np.isclose(a, b)
            if not np.all(close):
                i = int(np.argmin(close))
                raise DataModelError(f"{where}: the '{dim}' coordinates differ (at position {i}: {b[i]} vs {a[i]}).")
    if ref.rio.crs is not None and other.rio.crs is not None and ref.rio.crs != other.rio.crs:
        raise DataModelError(f"{where}: CRS {other.rio.crs} vs {ref.rio.crs}.")
    other = other.drop_vars([c for c in other.coords if c not in other.dims])
    return other.assign_coords({d: ref[d] for d in MASK_DIMS if d in ref.coords})


def _check_values(values: np.ndarray, func: str, label: str, high: int, low: int = 0) -> None:
    """Raise when a block of a quality layer holds non-integer values or values outside ``low..high`` (NaN
    allowed)."""
    finite = values[~np.isnan(values)] if values.dtype.kind == "f" else values
    if finite.size == 0:
        return
    if finite.dtype.kind == "f":
        fractional = finite != np.floor(finite)
        if fractional.any():
            example = finite[fractional][0]
            raise DataModelError(f"{func}: the {label} layer holds non-integer values (e.g. {example:g}); "
                                 f"its codes must be whole numbers {low}..{high}.")
    bottom, top = finite.min(), finite.max()
    if bottom < low or top > high:
        raise DataModelError(f"{func}: the {label} layer holds values {bottom:g}..{top:g}, outside {low}..{high}; "
                             "is it the right layer?")


def _as_int(values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Integer codes of a block, and where it is NaN (None for integer blocks)."""
    if values.dtype.kind == "f":
        nan = np.isnan(values)
        return np.where(nan, 0, values).astype(np.int64), nan
    return values.astype(np.int64, copy=False), None


def _build(func: str, kernel: Callable, layers: dict[str, xr.DataArray | None], dilate: int,
           new_dims: dict | None = None) -> xr.DataArray:
    """Apply ``kernel`` to the layers' blocks (numpy, or lazily on dask), then wrap and dilate the mask.

    ``new_dims``: the leading dims of the mask when they are not the first layer's (a cube's ``time``)."""
    present = {label: layer for label, layer in layers.items() if layer is not None}
    (ref_label, ref), *others = present.items()
    arrays = [ref] + [_same_grid(func, f"the {ref_label} layer", ref, f"the {label} layer", layer)
                      for label, layer in others]
    codes = tiling.map_blocks(kernel, *arrays, dtype=np.uint8, name=func, new_dims=new_dims)
    mask = codes.rename("validity")
    mask.attrs = {}
    if ref.rio.crs is not None:
        mask = mask.rio.write_crs(ref.rio.crs)
    try:
        validate(mask, "mask", check_values=False)
    except DataModelError as error:
        raise DataModelError(f"{func}: the {ref_label} layer cannot make a mask: {error}") from None
    return dilate_mask(mask, dilate) if dilate else mask


def _codes(invalid: np.ndarray, no_data: np.ndarray) -> np.ndarray:
    out = np.where(invalid, _INVALID, _VALID).astype(np.uint8)
    out[no_data] = _NO_DATA
    return out


# ----------------------------------------------------------------------------------------------- Sentinel-2


def _scl_kernel(scl: np.ndarray, *, lut: np.ndarray, func: str) -> np.ndarray:
    _check_values(scl, func, "SCL", len(lut) - 1)
    values, nan = _as_int(scl)
    out = lut[values]
    if nan is not None:
        out[nan] = _NO_DATA
    return out


def mask_from_scl(
    scl: xr.DataArray,
    *,
    invalid: Iterable[int] = SCL_INVALID,
    no_data: Iterable[int] = SCL_NO_DATA,
    band: str = "SCL",
    dilate: int = 0,
) -> xr.DataArray:
    """Validity mask from Sentinel-2 L2A scene classification (SCL) layers.

    By default, saturated or defective (1), cloud shadows (3), clouds of medium and high probability (8, 9) and thin
    cirrus (10) are invalid, and no data (0) is "no acquisition". **Snow (11) stays valid** by default: snow is a
    state of the land, not an obstacle in the atmosphere, and a snowy winter date still tells a forest from a field;
    Sen2Cor also confuses some bright snow with clouds and the reverse. Where snow should not reach the classifier
    (say, a map of summer crops), add it: ``invalid=SCL_INVALID + (11,)``. A stricter mask also drops dark areas (2,
    often topographic or cloud shadows that Sen2Cor missed) and unclassified pixels (7): ``invalid=SCL_INVALID + (2,
    7)``.

    Parameters
    ----------
    scl : xarray.DataArray (time, y, x), or a cube (time, band, y, x) with an SCL band
        SCL codes 0-11 (numpy or dask), integers or floats with NaN. ``cube.sel(band="SCL")`` works too.
    invalid : iterable of int, default :data:`SCL_INVALID`
        SCL classes marked 1 (cloud, shadow, saturated).
    no_data : iterable of int, default :data:`SCL_NO_DATA`
        SCL classes marked 2 (no acquisition). NaN counts as no data too.
    band : str, default "SCL"
        The SCL band's name, when ``scl`` is a cube.
    dilate : int, default 0
        Widen the invalid pixels by this many pixels (see :func:`dilate_mask`).

    Returns
    -------
    xarray.DataArray (time, y, x) uint8
        Named ``validity``, on the grid and with the CRS of ``scl``; lazy when ``scl`` is dask-backed.

    Raises
    ------
    labkit.errors.DataModelError
        ``scl`` has other dims, is not numeric, or holds values other than 0..11 (for dask: when computed).
    labkit.errors.ConfigError
        A class is outside 0..11, or listed both as invalid and as no data; ``dilate`` is negative.
    labkit.errors.BandError
        ``scl`` is a cube without band ``band``.

    See Also
    --------
    SCL_CLASSES : the names of the classes.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> scl = xr.DataArray(np.array([[[4, 9], [3, 0]]]), dims=("time", "y", "x"),
    ...                    coords={"time": np.array(["2022-06-02"], "datetime64[ns]"),
    ...                            "y": [1.0, 0.0], "x": [0.0, 1.0]})
    >>> mask_from_scl(scl).values.tolist()
    [[[0, 1], [1, 2]]]
    >>> mask_from_scl(scl, invalid=[9]).values.tolist()  # shadows (3) kept
    [[[0, 1], [0, 2]]]
    """
    func = "mask_from_scl"
    invalid = _check_codes(func, "invalid", invalid, 0, 11, "SCL classes")
    no_data = _check_codes(func, "no_data", no_data, 0, 11, "SCL classes")
    if overlap := set(invalid) & set(no_data):
        raise ConfigError(f"{func}: SCL classes {sorted(overlap)} are listed as both invalid and no-data.")
    dilate = _check_dilate(func, dilate)
    scl = _layer(func, "SCL", scl, band=band)
    lut = np.zeros(12, np.uint8)
    lut[list(invalid)] = _INVALID
    lut[list(no_data)] = _NO_DATA
    return _build(func, functools.partial(_scl_kernel, lut=lut, func=func), {"SCL": scl}, dilate)


# -------------------------------------------------------------------------------------------- Theia / MAJA


def _maja_kernel(*arrays: np.ndarray, names: tuple[str, ...], cloud_mask: int, func: str) -> np.ndarray:
    layers = dict(zip(names, arrays))
    for name, values in layers.items():
        _check_values(values, func, name, 255)
    clm, nan = _as_int(layers["clm"])
    invalid = (clm & cloud_mask) != 0
    no_data = np.zeros(clm.shape, bool) if nan is None else nan
    for name in ("sat", "edg"):
        if name in layers:
            values, nan = _as_int(layers[name])
            if name == "sat":
                invalid |= values != 0
            else:
                no_data |= values != 0
            if nan is not None:
                no_data |= nan
    return _codes(invalid, no_data)


def mask_from_maja(
    clm: xr.DataArray,
    sat: xr.DataArray | None = None,
    edg: xr.DataArray | None = None,
    *,
    cloud_bits: Iterable[int] = MAJA_CLM_INVALID,
    dilate: int = 0,
) -> xr.DataArray:
    """Validity mask from the masks of Theia/MAJA L2A products: clouds (CLM), saturation (SAT), edges (EDG).

    A pixel is **no acquisition** (2) where EDG is non-zero (outside the swath); else **invalid** (1) where one of
    ``cloud_bits`` of CLM is set or SAT is non-zero (a band saturated); else valid. By default every CLM bit counts
    (``CLM != 0``), as in iota2: clouds, thin clouds, high clouds and cloud shadows. The bits (Theia's product
    format, :data:`MAJA_CLM_BITS`):

    ===  ===================================================
    bit  meaning
    ===  ===================================================
    0    all clouds except the thinnest, and all shadows
    1    all clouds except the thinnest
    2    clouds detected via mono-temporal thresholds
    3    clouds detected via multi-temporal thresholds
    4    thinnest clouds
    5    cloud shadows cast by a detected cloud
    6    cloud shadows cast by a cloud outside the image
    7    high clouds detected by 1.38 µm
    ===  ===================================================

    ``cloud_bits=[0]`` keeps the thinnest clouds (MAJA's own summary of clouds and shadows); ``cloud_bits=[1]``
    keeps shadows too. SAT holds one bit per band (``SAT_R1``: B2, B3, B4, B8; ``SAT_R2``: B5, B6, B7, B8A, B11,
    B12); EDG is 1 outside the image. Source: Theia, "Sentinel-2 L2A product format",
    https://labo.obs-mip.fr/multitemp/sentinel-2/theias-sentinel-2-l2a-product-format/ (MAJA's *native* format
    orders bits 2-6 differently; the default does not depend on it).

    Parameters
    ----------
    clm : xarray.DataArray (time, y, x)
        CLM bit masks, 0..255 (numpy or dask). NaN means no data.
    sat, edg : xarray.DataArray (time, y, x), optional
        SAT bit masks and EDG edge masks on the grid of ``clm``.
    cloud_bits : iterable of int, default :data:`MAJA_CLM_INVALID` (all bits, 0..7)
        CLM bits that make a pixel invalid.
    dilate : int, default 0
        Widen the invalid pixels by this many pixels (see :func:`dilate_mask`).

    Returns
    -------
    xarray.DataArray (time, y, x) uint8

    Raises
    ------
    labkit.errors.DataModelError
        A layer has other dims, another grid, or values outside 0..255.
    labkit.errors.ConfigError
        A bit outside 0..7; ``dilate`` negative.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> dims = ("time", "y", "x")
    >>> coords = {"time": np.array(["2020-01-01"], "datetime64[ns]"), "y": [0.0], "x": [0., 1, 2, 3]}
    >>> clm = xr.DataArray([[[0, 2, 16, 0]]], dims=dims, coords=coords)  # clear, cloud, thinnest cloud, clear
    >>> edg = xr.DataArray([[[0, 0, 0, 1]]], dims=dims, coords=coords)   # the last pixel is outside the swath
    >>> mask_from_maja(clm, edg=edg).values.tolist()
    [[[0, 1, 1, 2]]]
    >>> mask_from_maja(clm, edg=edg, cloud_bits=[0, 1]).values.tolist()  # thinnest clouds kept
    [[[0, 1, 0, 2]]]
    """
    func = "mask_from_maja"
    bits = _check_codes(func, "cloud_bits", cloud_bits, 0, 7, "CLM bit numbers")
    dilate = _check_dilate(func, dilate)
    layers = {"clm": _layer(func, "clm", clm)}
    for name, layer in (("sat", sat), ("edg", edg)):
        layers[name] = None if layer is None else _layer(func, name, layer)
    names = tuple(name for name, layer in layers.items() if layer is not None)
    kernel = functools.partial(_maja_kernel, names=names, cloud_mask=sum(1 << b for b in bits), func=func)
    return _build(func, kernel, layers, dilate)


# ------------------------------------------------------------------------------------------------- Landsat


def _landsat_kernel(qa, radsat=None, *, invalid_mask: int, confidence: tuple[tuple[int, int], ...],
                    func: str) -> np.ndarray:
    _check_values(qa, func, "qa", 65535)
    values, nan = _as_int(qa)
    invalid = (values & invalid_mask) != 0
    for first_bit, level in confidence:
        invalid |= ((values >> first_bit) & 3) >= level
    no_data = (values & (1 << LANDSAT_QA_FILL_BIT)) != 0
    if nan is not None:
        no_data |= nan
    if radsat is not None:
        _check_values(radsat, func, "radsat", 65535)
        radsat_values, radsat_nan = _as_int(radsat)
        invalid |= radsat_values != 0
        if radsat_nan is not None:
            no_data |= radsat_nan
    return _codes(invalid, no_data)


def mask_from_landsat_qa(
    qa: xr.DataArray,
    radsat: xr.DataArray | None = None,
    *,
    invalid_bits: Iterable[int] = LANDSAT_QA_INVALID,
    confidence: Mapping[str, int] | None = None,
    band: str = "QA_PIXEL",
    dilate: int = 0,
) -> xr.DataArray:
    """Validity mask from Landsat Collection 2 QA_PIXEL layers (and optionally QA_RADSAT).

    A pixel is **no acquisition** (2) where the fill bit (0) is set; else **invalid** (1) where one of
    ``invalid_bits`` is set, where a confidence field reaches the level asked in ``confidence``, or where
    QA_RADSAT is non-zero; else valid. QA_PIXEL (USGS, *Landsat 8-9 Collection 2 Level-2 Science Product Guide*,
    LSDS-1619):

    =====  ==========================================================
    bits   meaning
    =====  ==========================================================
    0      fill
    1      dilated cloud
    2      cirrus, high confidence (Landsat 8-9; unused on 4-7)
    3      cloud
    4      cloud shadow
    5      snow
    6      clear (cloud and dilated cloud bits not set)
    7      water
    8-9    cloud confidence (0 none, 1 low, 2 medium, 3 high)
    10-11  cloud shadow confidence (0 none, 1 low, 3 high)
    12-13  snow/ice confidence (0 none, 1 low, 3 high)
    14-15  cirrus confidence (0 none, 1 low, 3 high)
    =====  ==========================================================

    By default dilated cloud, cirrus, cloud and cloud shadow (bits 1-4) are invalid, as USGS' own examples do;
    snow (5) stays valid, for the reason given in :func:`mask_from_scl`. QA_RADSAT holds one bit per saturated band
    (bits 0-6 bands 1-7, bit 8 band 9 on Landsat 8-9) and bit 11 for terrain occlusion: any of them makes the pixel
    invalid.

    Parameters
    ----------
    qa : xarray.DataArray (time, y, x), or a cube with a QA_PIXEL band
        QA_PIXEL values, 0..65535 (numpy or dask). NaN means no data.
    radsat : xarray.DataArray (time, y, x), optional
        QA_RADSAT on the grid of ``qa``.
    invalid_bits : iterable of int, default :data:`LANDSAT_QA_INVALID` (1, 2, 3, 4)
        QA_PIXEL bits that make a pixel invalid.
    confidence : dict, optional
        Minimum confidence levels that make a pixel invalid, by field: keys among ``"cloud"``,
        ``"cloud_shadow"``, ``"snow_ice"``, ``"cirrus"`` (:data:`LANDSAT_QA_CONFIDENCE`), levels 1 (low),
        2 (medium) or 3 (high). ``{"cloud": 2}`` also drops medium-confidence clouds.
    band : str, default "QA_PIXEL"
        The band's name, when ``qa`` is a cube.
    dilate : int, default 0
        Widen the invalid pixels by this many pixels (see :func:`dilate_mask`).

    Returns
    -------
    xarray.DataArray (time, y, x) uint8

    Raises
    ------
    labkit.errors.DataModelError
        A layer has other dims, another grid, or values outside 0..65535.
    labkit.errors.ConfigError
        A bit outside 0..15, an unknown confidence field or a level outside 1..3; ``dilate`` negative.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> dims = ("time", "y", "x")
    >>> coords = {"time": np.array(["2021-07-01"], "datetime64[ns]"), "y": [0.0], "x": [0., 1, 2, 3]}
    >>> # clear land (bit 6), cloud (bit 3) with high confidence (bits 8-9 = 3), fill, clear with medium confidence
    >>> qa = xr.DataArray([[[21824, 22280, 1, 22080]]], dims=dims, coords=coords)
    >>> mask_from_landsat_qa(qa).values.tolist()
    [[[0, 1, 2, 0]]]
    >>> mask_from_landsat_qa(qa, confidence={"cloud": 2}).values.tolist()
    [[[0, 1, 2, 1]]]
    """
    func = "mask_from_landsat_qa"
    bits = _check_codes(func, "invalid_bits", invalid_bits, 0, 15, "QA_PIXEL bit numbers")
    levels = []
    for field, level in dict(confidence or {}).items():
        if field not in LANDSAT_QA_CONFIDENCE:
            raise ConfigError(f"{func}: confidence has an unknown field {field!r}; choose among "
                              f"{list(LANDSAT_QA_CONFIDENCE)}.")
        if not _whole(level) or not 1 <= int(level) <= 3:
            raise ConfigError(f"{func}: confidence[{field!r}] must be a level 1 (low), 2 (medium) or 3 (high); "
                              f"got {level!r}.")
        levels.append((LANDSAT_QA_CONFIDENCE[field], int(level)))
    dilate = _check_dilate(func, dilate)
    layers = {"qa": _layer(func, "qa", qa, band=band),
              "radsat": None if radsat is None else _layer(func, "radsat", radsat)}
    kernel = functools.partial(_landsat_kernel, invalid_mask=sum(1 << b for b in bits), confidence=tuple(levels),
                               func=func)
    return _build(func, kernel, layers, dilate)


# --------------------------------------------------------------------------------------------------- MODIS


def _modis_kernel(reliability, vi_quality=None, *, lut: np.ndarray, vi_mask: int, max_usefulness: int,
                  func: str) -> np.ndarray:
    _check_values(reliability, func, "reliability", 3, low=-1)
    values, nan = _as_int(reliability)
    out = lut[values + 1]
    if nan is not None:
        out[nan] = _NO_DATA
    if vi_quality is not None:
        _check_values(vi_quality, func, "vi_quality", 65535, low=-32768)
        quality, quality_nan = _as_int(vi_quality)
        quality = quality & 0xFFFF  # an int16 read of the layer: the same 16 bits
        modland = quality & 3
        invalid = (modland == 2) | ((quality & vi_mask) != 0) | (((quality >> 2) & 15) > max_usefulness)
        no_data = modland == 3
        if quality_nan is not None:
            no_data |= quality_nan
        out = np.maximum(out, _codes(invalid, no_data))
    return out


def _named_layer(layer, band: str) -> str:
    """The name of ``layer``'s band that is the MODIS layer ``band`` in another spelling (else ``band``)."""
    if not isinstance(layer, xr.DataArray) or layer.dims != CUBE_DIMS or "band" not in layer.coords:
        return band
    names = [str(b) for b in layer["band"].values]
    if band in names:
        return band
    same = [name for name in names if modis_layer_name(name) == modis_layer_name(band)]
    return same[0] if len(same) == 1 else band


def mask_from_modis(
    reliability: xr.DataArray,
    vi_quality: xr.DataArray | None = None,
    *,
    invalid: Iterable[int] = MODIS_RELIABILITY_INVALID,
    no_data: Iterable[int] = MODIS_RELIABILITY_NO_DATA,
    vi_invalid_bits: Iterable[int] = MODIS_VI_QUALITY_INVALID,
    max_usefulness: int = MODIS_MAX_USEFULNESS,
    band: str = "pixel_reliability",
    dilate: int = 0,
) -> xr.DataArray:
    """Validity mask from MODIS vegetation index products (MOD13Q1, MOD13A1/A2/A3, MYD13...): pixel reliability,
    and optionally VI Quality.

    **Pixel reliability** (MOD13 user guide, :data:`MODIS_RELIABILITY`):

    =====  =============  ==========================================  ==============
    value  summary        meaning                                     labkit's code
    =====  =============  ==========================================  ==============
    -1     fill/no data   not processed                               2 (no data)
    0      good data      use with confidence                         0
    1      marginal data  useful, but look at other QA information    0 (by default)
    2      snow/ice       target covered with snow/ice                0 (by default)
    3      cloudy         target not visible, covered with cloud      1
    =====  =============  ==========================================  ==============

    Marginal data stay valid by default: MOD13 composites already keep the best observation of 16 days, and
    dropping every marginal one leaves few dates in a wet season; VI Quality, when given, says which of them to
    drop. ``invalid=(1, 3)`` drops them all. **Snow/ice stays valid** by default, for the reason given in
    :func:`mask_from_scl`; ``invalid=(2, 3)`` drops it.

    **VI Quality** (16 bits, bit 0 the least significant):

    =====  ==========================  =========================================================================
    bits   field                       labkit's default
    =====  ==========================  =========================================================================
    0-1    MODLAND QA                  0 VI produced, good quality, and 1 VI produced, but check other QA: valid;
                                       2 pixel produced, but most probably cloudy: invalid; 3 pixel not produced
                                       due to other reasons than clouds: no data (2), as is the fill value 65535
    2-5    VI usefulness               0 highest quality ... 12 lowest quality, 13 quality so low that it is not
                                       useful, 14 L1B data faulty, 15 not useful for any other reason / not
                                       processed: invalid above ``max_usefulness`` (12)
    6-7    aerosol quantity            not used (0 climatology, 1 low, 2 intermediate, 3 high)
    8      adjacent cloud detected     invalid
    9      atmosphere BRDF correction  not used
    10     mixed clouds                invalid
    11-13  land/water mask             not used (1 land, 0 shallow ocean, 2 coastlines and lake shorelines...)
    14     possible snow/ice           valid, as snow in the reliability layer: add 14 to ``vi_invalid_bits``
    15     possible shadow             invalid
    =====  ==========================  =========================================================================

    The worse code of the two layers wins.

    Parameters
    ----------
    reliability : xarray.DataArray (time, y, x), or a cube with a pixel reliability band
        Values -1..3 (numpy or dask), integers or floats with NaN (no data).
    vi_quality : xarray.DataArray (time, y, x), optional
        VI Quality on the grid of ``reliability``: 0..65535, or the same bits read as int16 (-32768..32767). NaN
        means no data.
    invalid : iterable of int, default :data:`MODIS_RELIABILITY_INVALID` (3)
        Reliability values marked 1 (invalid).
    no_data : iterable of int, default :data:`MODIS_RELIABILITY_NO_DATA` (-1)
        Reliability values marked 2 (no acquisition).
    vi_invalid_bits : iterable of int, default :data:`MODIS_VI_QUALITY_INVALID` (8, 10, 15)
        VI Quality flags (among 8, 9, 10, 14, 15: :data:`MODIS_VI_QUALITY_BITS`) that make a pixel invalid.
    max_usefulness : int, default :data:`MODIS_MAX_USEFULNESS` (12)
        The worst VI usefulness score (0..15) that is kept.
    band : str, default "pixel_reliability"
        The reliability band's name when ``reliability`` is a cube; MOD13's spellings of it (``250m 16 days pixel
        reliability``, ``250m_16_days_pixel_reliability``...) are found too.
    dilate : int, default 0
        Widen the invalid pixels by this many pixels (see :func:`dilate_mask`).

    Returns
    -------
    xarray.DataArray (time, y, x) uint8

    Raises
    ------
    labkit.errors.DataModelError
        A layer has other dims, another grid, or values out of range (for dask: when computed).
    labkit.errors.ConfigError
        A reliability value outside -1..3, or listed both as invalid and no data; a bit that is not a flag; a
        usefulness outside 0..15; ``dilate`` negative.
    labkit.errors.BandError
        ``reliability`` is a cube without band ``band``.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> dims = ("time", "y", "x")
    >>> coords = {"time": np.array(["2014-01-17"], "datetime64[ns]"), "y": [0.0], "x": [0., 1, 2, 3, 4]}
    >>> reliability = xr.DataArray([[[0, 1, 2, 3, -1]]], dims=dims, coords=coords)
    >>> mask_from_modis(reliability).values.tolist()
    [[[0, 0, 0, 1, 2]]]
    >>> mask_from_modis(reliability, invalid=[1, 2, 3]).values.tolist()
    [[[0, 1, 1, 1, 2]]]
    >>> # good; usefulness 13 (13 << 2 = 52); possible shadow (bit 15); possible snow (bit 14); fill
    >>> quality = xr.DataArray([[[0, 52, 32768, 16384, 65535]]], dims=dims, coords=coords)
    >>> mask_from_modis(reliability, quality).values.tolist()
    [[[0, 1, 1, 1, 2]]]
    """
    func = "mask_from_modis"
    invalid = _check_codes(func, "invalid", invalid, -1, 3, "pixel reliability values")
    no_data = _check_codes(func, "no_data", no_data, -1, 3, "pixel reliability values")
    if overlap := set(invalid) & set(no_data):
        raise ConfigError(f"{func}: pixel reliability values {sorted(overlap)} are listed as both invalid and "
                          "no-data.")
    bits = _check_codes(func, "vi_invalid_bits", vi_invalid_bits, 0, 15, "VI Quality bit numbers")
    if fields := [b for b in bits if b not in MODIS_VI_QUALITY_BITS]:
        raise ConfigError(f"{func}: vi_invalid_bits {fields} are bits of a field (0-1 MODLAND QA, 2-5 usefulness, "
                          f"6-7 aerosols, 11-13 land/water), not flags; choose among {sorted(MODIS_VI_QUALITY_BITS)}"
                          " (and max_usefulness for the usefulness).")
    if not _whole(max_usefulness) or not 0 <= int(max_usefulness) <= 15:
        raise ConfigError(f"{func}: max_usefulness must be a VI usefulness score from 0 (highest quality) to 15; "
                          f"got {max_usefulness!r}.")
    dilate = _check_dilate(func, dilate)
    layers = {"reliability": _layer(func, "reliability", reliability, band=_named_layer(reliability, band)),
              "vi_quality": None if vi_quality is None else _layer(func, "vi_quality", vi_quality)}
    lut = np.zeros(5, np.uint8)  # indexed by reliability + 1
    lut[[v + 1 for v in invalid]] = _INVALID
    lut[[v + 1 for v in no_data]] = _NO_DATA
    kernel = functools.partial(_modis_kernel, lut=lut, vi_mask=sum(1 << b for b in bits),
                               max_usefulness=int(max_usefulness), func=func)
    return _build(func, kernel, layers, dilate)


# ------------------------------------------------------------------------------------- the cube's own no data


def _nodata_kernel(block: np.ndarray, *, nodata: float | None, valid_range: tuple[float, float] | None) -> np.ndarray:
    missing = ~np.isfinite(block) if block.dtype.kind == "f" else np.zeros(block.shape, bool)
    if nodata is not None:
        missing |= block == nodata
    if valid_range is not None:
        missing |= (block < valid_range[0]) | (block > valid_range[1])
    count = missing.sum(axis=1)
    return _codes(count > 0, count == block.shape[1])


def mask_from_nodata(cube: xr.DataArray, nodata: float | None = None, *,
                     valid_range: tuple[float, float] | None = None) -> xr.DataArray:
    """Validity mask from the values a cube lacks: no acquisition where every band of a date is missing.

    A value is missing where it is NaN (labkit's readers turn the files' nodata into NaN), ``±inf``, equal to
    ``nodata``, or outside ``valid_range`` (as the CF conventions' ``valid_range`` attribute). For each date and
    pixel:

    * every band missing: **no acquisition** (2): outside the swath, or not processed;
    * some bands missing, not all: **invalid** (1): the observation is incomplete (a saturated or failed band), and
      its other bands are not used either, as for a saturated pixel;
    * no band missing: valid (0).

    Use it for products without a quality layer (composites; indices such as the MOD13Q1 NDVI cube of sits), or
    combine it with a product's own mask (:func:`combine_masks`): a quality layer seldom says where a band alone
    is missing.

    Parameters
    ----------
    cube : cube (time, band, y, x)
        Numpy or dask; floats, or raw integers with ``nodata``.
    nodata : float, optional
        A value that also means missing (e.g. -3000 in a raw MOD13 NDVI cube read from its HDF files, 0 in a raw
        Sentinel-2 one).
    valid_range : (float, float), optional
        The lowest and highest valid values, bounds included: any other value is missing. Use it where the fill is
        not one exact value: in files compressed with loss (sits' MOD13Q1 JPEG 2000 files smear the fill -3000 over
        about -3300..-2700, NDVI x 1e4) give ``valid_range=(-0.2, 1.0)`` to an NDVI cube.

    Returns
    -------
    xarray.DataArray (time, y, x) uint8
        Named ``validity``, on the cube's grid, with its CRS; lazy when the cube is dask-backed.

    Raises
    ------
    labkit.errors.DataModelError
        ``cube`` is not a cube.
    labkit.errors.ConfigError
        ``nodata`` is not a number; ``valid_range`` is not two numbers, the first not above the second.

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> values = np.array([[0.1, 0.2, np.nan], [0.3, np.nan, np.nan]]).reshape(1, 2, 1, 3)  # (time, band, y, x)
    >>> cube = dm.make_cube(values, ["2021-05-01"], ["B04", "B08"], transform=(10, 0, 0, 0, -10, 10),
    ...                     crs="EPSG:32631")
    >>> mask_from_nodata(cube).values.tolist()
    [[[0, 1, 2]]]
    >>> mask_from_nodata(cube, nodata=0.1).values.tolist()
    [[[1, 1, 2]]]
    >>> mask_from_nodata(cube, valid_range=(0.25, 1.0)).values.tolist()  # 0.1 and 0.2 are out of range
    [[[1, 2, 2]]]
    """
    func = "mask_from_nodata"
    if nodata is not None and not (isinstance(nodata, numbers.Real) and math.isnan(nodata)):
        nodata = params.number(nodata, "nodata", func, finite=False)  # a Python float: compared in the cube's type
    else:
        nodata = None
    try:
        validate(cube, "cube", check_values=False)
    except DataModelError as error:
        raise DataModelError(f"{func}: {error}") from None
    if valid_range is not None:
        if isinstance(valid_range, (str, bytes)) or np.ndim(valid_range) != 1 or len(valid_range) != 2:
            raise ConfigError(f"{func}: valid_range must be two numbers (lowest, highest), e.g. (-0.2, 1.0); got "
                              f"{valid_range!r}.")
        low, high = (params.number(v, "valid_range", func) for v in valid_range)
        if low > high:
            raise ConfigError(f"{func}: valid_range must be (lowest, highest); got {valid_range!r}, lowest above "
                              "highest.")
        valid_range = (low, high)
    kernel = functools.partial(_nodata_kernel, nodata=nodata, valid_range=valid_range)
    return _build(func, kernel, {"cube": cube}, 0, new_dims={"time": cube["time"].values})


# ------------------------------------------------------------------------------ cloud masks and probabilities


def mask_from_cloud(cloud: xr.DataArray, *, is_data: xr.DataArray | None = None, dilate: int = 0) -> xr.DataArray:
    """Validity mask from a plain cloud mask (true/non-zero where cloudy) and an optional data mask.

    Parameters
    ----------
    cloud : xarray.DataArray with dims time, y, x (in any order)
        Non-zero where cloudy. NaN counts as "not cloudy" (a cloud mask seldom has NaN; give ``is_data`` to say
        where nothing was observed).
    is_data : xarray.DataArray, optional
        Non-zero where the pixel was observed; zero or NaN elsewhere (code 2). On the grid of ``cloud``.
    dilate : int, default 0
        Widen the cloudy pixels by this many pixels (see :func:`dilate_mask`).

    Returns
    -------
    xarray.DataArray (time, y, x) uint8

    Raises
    ------
    labkit.errors.DataModelError
        A layer lacks one of the dims, is not numeric, or is not on the grid of ``cloud``.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> dims = ("time", "y", "x")
    >>> coords = {"time": np.array(["2020-01-01"], "datetime64[ns]"), "y": [0.0], "x": [0.0, 1.0, 2.0]}
    >>> cloud = xr.DataArray([[[0, 1, 0]]], dims=dims, coords=coords)
    >>> data = xr.DataArray([[[1, 1, 0]]], dims=dims, coords=coords)
    >>> mask_from_cloud(cloud, is_data=data).values.tolist()
    [[[0, 1, 2]]]
    """
    func = "mask_from_cloud"
    dilate = _check_dilate(func, dilate)
    layers = {"cloud": _layer(func, "cloud", cloud, transpose=True),
              "is_data": None if is_data is None else _layer(func, "is_data", is_data, transpose=True)}

    def kernel(cloud, is_data=None):
        invalid = np.nan_to_num(cloud, nan=0) != 0
        no_data = np.zeros(cloud.shape, bool) if is_data is None else np.nan_to_num(is_data, nan=0) == 0
        return _codes(invalid, no_data)

    return _build(func, kernel, layers, dilate)


def _probability_kernel(prob, is_data=None, *, threshold: float, scale: float, func: str) -> np.ndarray:
    values = prob.astype(np.float64) / scale
    nan = np.isnan(values)
    finite = values[~nan]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        unit = "%" if scale == 100 else ""
        raise DataModelError(f"{func}: the prob layer holds values {finite.min() * scale:g}..{finite.max() * scale:g}"
                             f"{unit}, outside 0..{scale:g}{unit}; give probabilities in [0, 1] (or in percent "
                             "with attrs['units'] = '%').")
    invalid = np.where(nan, False, values > threshold)
    no_data = nan if is_data is None else nan | (np.nan_to_num(is_data, nan=0) == 0)
    return _codes(invalid, no_data)


def mask_from_cloud_probability(
    prob: xr.DataArray,
    threshold: float = 0.4,
    *,
    is_data: xr.DataArray | None = None,
    dilate: int = 0,
) -> xr.DataArray:
    """Validity mask from a cloud probability layer (s2cloudless, Sentinel Hub's CLP...): cloudy above a threshold.

    A pixel is invalid (1) where its probability is strictly above ``threshold``, no acquisition (2) where it is
    NaN or ``is_data`` is zero. s2cloudless' defaults are a threshold of 0.4, then a dilation of 2 pixels (it also
    smooths the probabilities over 4 pixels first, which this function does not).

    Parameters
    ----------
    prob : xarray.DataArray (time, y, x)
        Probabilities in [0, 1]; or in percent (0..100) when ``prob.attrs["units"] == "%"``.
    threshold : float, default 0.4
        A probability in [0, 1], whatever the layer's units.
    is_data : xarray.DataArray (time, y, x), optional
        Non-zero where observed.
    dilate : int, default 0
        Widen the cloudy pixels by this many pixels (see :func:`dilate_mask`).

    Returns
    -------
    xarray.DataArray (time, y, x) uint8

    Raises
    ------
    labkit.errors.DataModelError
        ``prob`` has other dims or holds values outside [0, 1] (or 0..100 %).
    labkit.errors.ConfigError
        ``threshold`` is not in [0, 1].

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> dims = ("time", "y", "x")
    >>> coords = {"time": np.array(["2020-01-01"], "datetime64[ns]"), "y": [0.0], "x": [0., 1, 2, 3]}
    >>> prob = xr.DataArray([[[0.1, 0.4, 0.9, np.nan]]], dims=dims, coords=coords)
    >>> mask_from_cloud_probability(prob).values.tolist()
    [[[0, 0, 1, 2]]]
    >>> percent = xr.DataArray([[[10, 40, 90, 55]]], dims=dims, coords=coords, attrs={"units": "%"})
    >>> mask_from_cloud_probability(percent, threshold=0.5).values.tolist()
    [[[0, 0, 1, 1]]]
    """
    func = "mask_from_cloud_probability"
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) or not 0 <= threshold <= 1:
        raise ConfigError(f"{func}: threshold must be a probability in [0, 1] (whatever the layer's units); "
                          f"got {threshold!r}.")
    dilate = _check_dilate(func, dilate)
    layer = _layer(func, "prob", prob)
    scale = 100.0 if str(prob.attrs.get("units", "")).strip() == "%" else 1.0
    layers = {"prob": layer, "is_data": None if is_data is None else _layer(func, "is_data", is_data)}
    kernel = functools.partial(_probability_kernel, threshold=float(threshold), scale=scale, func=func)
    return _build(func, kernel, layers, dilate)


# ------------------------------------------------------------------------------------ dilation, combination


def _check_mask(func: str, label: str, mask) -> xr.DataArray:
    return checked_mask(mask, func, label)


@functools.cache
def _disk(radius: int) -> np.ndarray:
    """A disk of ``radius`` pixels, as a ``(1, 2r+1, 2r+1)`` footprint (one date at a time)."""
    y, x = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    return (x * x + y * y <= radius * radius)[None]


def _dilate_block(codes: np.ndarray, pixels: int) -> np.ndarray:
    grown = ndimage.binary_dilation(codes == _INVALID, structure=_disk(pixels))
    return np.where(grown & (codes == _VALID), _INVALID, codes).astype(np.uint8)


def dilate_mask(mask: xr.DataArray, pixels: int) -> xr.DataArray:
    """Widen the invalid pixels (code 1) of each date by ``pixels``, with a disk footprint.

    Cloud edges are fuzzy, thin clouds around a detected one are often missed, and Sentinel-2's bands do not see a
    cloud at exactly the same place (parallax between detectors): operational chains pad their cloud masks (MAJA
    dilates its clouds; s2cloudless pads them by 2 pixels, Fmask by 3, by default). A valid pixel (0) becomes
    invalid (1) when an invalid pixel of the same date lies within ``pixels`` of it (Euclidean distance, so
    ``pixels=1`` adds the 4 neighbours); no acquisition (2) is never changed, and does not spread. With dask, blocks
    overlap by ``pixels`` (the halo of the block engine, :func:`labkit.tiling.map_blocks`), so that the result does
    not depend on the blocks.

    Parameters
    ----------
    mask : xarray.DataArray (time, y, x) uint8
        A validity mask, numpy or dask.
    pixels : int
        The radius of the dilation, in pixels (0 returns the mask as it is).

    Returns
    -------
    xarray.DataArray (time, y, x) uint8
        A new mask; lazy when ``mask`` is.

    Raises
    ------
    labkit.errors.DataModelError
        ``mask`` is not a validity mask.
    labkit.errors.ConfigError
        ``pixels`` is negative or not a whole number.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> codes = np.zeros((1, 5, 5), "uint8"); codes[0, 2, 2] = 1; codes[0, 0, 2] = 2
    >>> mask = xr.DataArray(codes, dims=("time", "y", "x"), coords={"time": np.array(["2020-01-01"], "datetime64[ns]"),
    ...                     "y": np.arange(5.0)[::-1], "x": np.arange(5.0)})
    >>> dilate_mask(mask, 1).values[0].tolist()
    [[0, 0, 2, 0, 0], [0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]]
    """
    func = "dilate_mask"
    pixels = _check_dilate(func, pixels)
    mask = _check_mask(func, "mask", mask)
    if pixels == 0:
        return mask.copy()
    grown = tiling.map_blocks(_dilate_block, mask, halo=pixels, dtype=np.uint8, name=func, kwargs={"pixels": pixels})
    return mask.copy(data=grown.data)


def combine_masks(*masks: xr.DataArray) -> xr.DataArray:
    """Combine validity masks of one grid: the worst code of each observation wins (2 > 1 > 0).

    Use it to merge two products' masks (say, SCL and a cloud probability), or a product's mask with a mask of
    your own (a known haze, a sensor failure).

    Parameters
    ----------
    *masks : xarray.DataArray (time, y, x) uint8
        At least one; all on the grid (dates, y, x and CRS) of the first.

    Returns
    -------
    xarray.DataArray (time, y, x) uint8
        With the coordinates and CRS of the first mask; lazy when any mask is dask-backed.

    Raises
    ------
    labkit.errors.DataModelError
        A mask is not a validity mask, or not on the grid of the first.
    labkit.errors.ConfigError
        No mask given.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> coords = {"time": np.array(["2020-01-01"], "datetime64[ns]"), "y": [0.0], "x": [0.0, 1.0, 2.0]}
    >>> a = xr.DataArray(np.array([[[0, 1, 0]]], "uint8"), dims=("time", "y", "x"), coords=coords)
    >>> b = xr.DataArray(np.array([[[1, 0, 2]]], "uint8"), dims=("time", "y", "x"), coords=coords)
    >>> combine_masks(a, b).values.tolist()
    [[[1, 1, 2]]]
    """
    func = "combine_masks"
    if not masks:
        raise ConfigError(f"{func}: give at least one mask.")
    first = _check_mask(func, "mask 1", masks[0])
    others = [_same_grid(func, "mask 1", first, f"mask {i}", _check_mask(func, f"mask {i}", m))
              for i, m in enumerate(masks[1:], start=2)]
    combined = functools.reduce(np.maximum, others, first)
    combined.attrs = {}
    return combined.rename("validity").astype(np.uint8)


# --------------------------------------------------------------------------------------------------- summaries


def _summary_input(func: str, mask) -> xr.DataArray:
    return checked_mask(mask, func, "mask", coords=False)


def count_valid(mask: xr.DataArray) -> xr.DataArray:
    """Number of valid (clear) dates per pixel, ``(y, x)``.

    The first map to look at before a classification: pixels with few clear dates get gap-filled values on most
    dates, and their classes are less reliable.

    Parameters
    ----------
    mask : xarray.DataArray (time, y, x)
        A validity mask, numpy or dask.

    Returns
    -------
    xarray.DataArray (y, x) int32
        Named ``valid_count``; lazy when ``mask`` is.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.array([[[0, 1]], [[0, 2]]], "uint8"), dims=("time", "y", "x"))
    >>> count_valid(m).values.tolist()
    [[2, 0]]
    """
    mask = _summary_input("count_valid", mask)
    return (mask == Validity.VALID).sum("time").astype("int32").rename("valid_count")


def valid_fraction_per_date(mask: xr.DataArray, *, observed_only: bool = False) -> xr.DataArray:
    """Fraction of the pixels of each date that are valid (code 0), ``(time,)``.

    Parameters
    ----------
    mask : xarray.DataArray (time, y, x)
        A validity mask, numpy or dask.
    observed_only : bool, default False
        Divide by the pixels that were observed on that date (codes 0 and 1) rather than by all pixels: the
        share of clear sky within the swath. A date with no observation at all gets NaN.

    Returns
    -------
    xarray.DataArray (time,) float64
        Named ``valid_fraction``, in [0, 1]; lazy when ``mask`` is.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.array([[[0, 0, 0, 0]], [[0, 1, 2, 2]]], "uint8"), dims=("time", "y", "x"))
    >>> valid_fraction_per_date(m).values.tolist()
    [1.0, 0.25]
    >>> valid_fraction_per_date(m, observed_only=True).values.tolist()
    [1.0, 0.5]
    """
    mask = _summary_input("valid_fraction_per_date", mask)
    valid = (mask == Validity.VALID).sum(("y", "x"))
    if observed_only:
        observed = (mask != Validity.NO_DATA).sum(("y", "x"))
        fraction = valid / observed.where(observed > 0)
    else:
        fraction = valid / (mask.sizes["y"] * mask.sizes["x"])
    return fraction.astype("float64").rename("valid_fraction")
