"""Product folders: Theia/MAJA L2A (MUSCATE format) and Sentinel-2 L2A SAFE, read as a lazy cube and its mask.

* :func:`read_theia` — Theia/MAJA L2A folders as Theia distributes them, unzipped
  (``SENTINEL2A_20180601-105416-456_L2A_T31TCJ_C_V2-2/``); mask from ``MASKS/*_CLM_R1.tif``, ``_SAT_R1``,
  ``_EDG_R1`` (:func:`labkit.masks.mask_from_maja`);
* :func:`read_safe` — ESA's Sen2Cor L2A folders, unzipped
  (``S2A_MSIL2A_20220602T101611_N0400_R065_T32TPS_20220602T162145.SAFE/``); mask from the SCL band
  (:func:`labkit.masks.mask_from_scl`).

Both take a list of folders (or a glob pattern, or one folder) of **one tile**, one product per date, and return
``(cube, mask)``: a cube ``(time, band, y, x)`` of ``float32`` surface reflectance (0-1, ``NaN`` at the product's
no-data), sorted by acquisition time (date and time of day, from the folder's name), bands named as labkit names
them (``B02``... :func:`labkit.bands.sentinel2_name`), and its validity mask ``(time, y, x)`` (0 valid, 1 cloud,
shadow or saturated, 2 no data). Bands stored at another resolution than the one asked for are resampled onto its
grid (GDAL's warper through a ``rasterio`` ``WarpedVRT``, ``resampling=`` as in ``gdalwarp -r``; no-data pixels take
no part in it); quality layers always with ``nearest``. Nothing is read up front but the files' headers and the
SAFE's metadata: both are dask arrays, read block by block (``chunks``) as they are computed.

Layouts (sources: Theia, *Sentinel-2 L2A product format*,
https://labo.obs-mip.fr/multitemp/sentinel-2/theias-sentinel-2-l2a-product-format/; ESA, *Sentinel-2 Products
Specification Document*, Level-2A):

* **Theia**: ``<product>_FRE_B2.tif`` ... one GeoTIFF per band, ``int16`` reflectance x 10 000, no-data ``-10000``;
  ``FRE`` (flat reflectance, corrected for slopes: what iota2 reads) or ``SRE`` (surface reflectance). R1 = 10 m
  (B2 B3 B4 B8), R2 = 20 m (B5 B6 B7 B8A B11 B12); the masks ``MASKS/<product>_CLM_R1.tif``, ``_SAT_R1``,
  ``_EDG_R1`` (``_R2`` at 20 m).
* **SAFE**: ``GRANULE/L2A_.../IMG_DATA/R10m/T32TPS_20220602T101611_B02_10m.jp2`` (R10m: B02 B03 B04 B08; R20m: the
  20 m bands, the 10 m ones but B08 resampled, SCL; R60m: all but B08, with B01 and B09), ``uint16``, 0 = no data;
  reflectance = (DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE, both read from ``MTD_MSIL2A.xml`` (the offset,
  -1000, exists from processing baseline 04.00, January 2022, on). A band is read from the folder of the resolution
  asked for when it is there, else from the finest one that holds it, and resampled.

The mask comes built (no need for :mod:`labkit.masks`): next come gap-filling (:mod:`labkit.gapfill`), samples and
inference. Other ways in for the same data: :mod:`labkit.sources.stac` (catalogues), :mod:`labkit.io` (GeoTIFF
series).
"""

from __future__ import annotations

import functools
import os
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from rasterio.enums import Resampling

from ..bands import SENSORS, SENTINEL2_BANDS, sentinel2_name
from ..datamodel import MASK_DIMS
from ..errors import BandError, ConfigError, GridMismatchError, ReadError
from ..inputs import GuardedSource
from ..io import (
    _Raster,
    _check_same_grid,
    _check_unique_dates,
    _decode,
    _describe_layers,
    _expand_files,
    _file_chunks,
    _iso,
    _modified,
    _must_exist,
    _new_cube,
    _open_raster,
    _quiet_georef,
    _stack,
)
from ..masks import mask_from_maja, mask_from_scl

__all__ = ["DEFAULT_BANDS", "SAFE_RESOLUTIONS", "THEIA_RESOLUTIONS", "read_safe", "read_theia"]

DEFAULT_BANDS = SENTINEL2_BANDS
"""The ten bands both readers read by default: Sentinel-2's 10 m and 20 m bands, B02 ... B12 (as iota2 does)."""

THEIA_RESOLUTIONS = {10: 1, 20: 2}
"""Resolutions (m) of Theia products, and the ``R`` level of their files (``_R1`` = 10 m)."""
THEIA_REFLECTANCES = ("FRE", "SRE")
THEIA_QUANTIFICATION = 10_000
THEIA_NODATA = -10_000

SAFE_RESOLUTIONS = (10, 20, 60)
"""Resolutions (m) of the ``IMG_DATA/R10m``, ``R20m`` and ``R60m`` folders of a SAFE product."""
SAFE_NODATA = 0
_SAFE_BAND_IDS = tuple(SENSORS["sentinel-2"])  # BOA_ADD_OFFSET's band_id 0..12: B01 ... B08, B8A, B09 ... B12
_SAFE_QUANTIFICATION_TAGS = ("BOA_QUANTIFICATION_VALUE", "L2A_BOA_QUANTIFICATION_VALUE")  # baseline >= 02.07, older

DEFAULT_CHUNKS = 1024

_THEIA_NAME = re.compile(r"SENTINEL2[A-Z]?_(?P<stamp>\d{8}-\d{6})-\d{3}_L2A_T(?P<tile>\d{2}[A-Z]{3})_")
_SAFE_NAME = re.compile(r"S2[A-Z]_MSIL2A_(?P<stamp>\d{8}T\d{6})_N\d{4}_R\d{3}_T(?P<tile>\d{2}[A-Z]{3})_")
_SAFE_FILE = re.compile(r"T(?P<tile>\d{2}[A-Z]{3})_(?P<stamp>\d{8}T\d{6})_")

_THEIA_LAYOUT = ("a Theia/MAJA L2A product folder (SENTINEL2A_YYYYMMDD-HHMMSS-mmm_L2A_T31TCJ_C_V2-2/ holding "
                 "<product>_FRE_B2.tif ... and MASKS/<product>_CLM_R1.tif, _SAT_R1.tif, _EDG_R1.tif)")
_SAFE_LAYOUT = ("a Sentinel-2 L2A SAFE folder (S2A_MSIL2A_YYYYMMDDTHHMMSS_N0400_R065_T32TPS_....SAFE/ holding "
                "MTD_MSIL2A.xml and GRANULE/L2A_.../IMG_DATA/R10m, R20m, R60m)")


# ------------------------------------------------------------------------------------------ what a folder is


@dataclass(frozen=True)
class _Product:
    """One product folder, ready to read: its date, tile, grid, files and how to decode its bands."""

    folder: str
    stamp: pd.Timestamp
    tile: str
    grid: _Raster  # the grid of the resolution asked for
    bands: dict[str, _Raster]  # labkit band name -> its file
    quality: dict[str, _Raster]  # mask function's argument ("clm", "sat", "edg" or "scl") -> its file
    scale: float  # reflectance = raw * scale + offsets[band]
    offsets: dict[str, float]
    nodata: float


def _layout(folder: Path) -> str | None:
    """``"theia"``, ``"safe"``, ``"safe-l1c"`` or None, from what the folder holds."""
    if (folder / "MTD_MSIL1C.xml").is_file():
        return "safe-l1c"
    if (folder / "MTD_MSIL2A.xml").is_file() or (folder / "GRANULE").is_dir():
        return "safe"
    if any(folder.glob("*_FRE_B*.tif")) or any(folder.glob("*_SRE_B*.tif")):
        return "theia"
    return None


def _contents(folder: Path, limit: int = 8) -> str:
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    if not entries:
        return "it is empty"
    shown = ", ".join(entries[:limit]) + (f" ... ({len(entries)} entries)" if len(entries) > limit else "")
    return f"it holds {shown}"


def _checked_folder(path: str, expected: str, who: str) -> Path:
    """``path`` as a folder of layout ``expected``, or a ReadError saying what was expected and what was found."""
    _must_exist(path)
    folder = Path(path)
    reader = {"theia": "read_theia", "safe": "read_safe"}
    wanted = _THEIA_LAYOUT if expected == "theia" else _SAFE_LAYOUT
    if not folder.is_dir():
        hint = " Unzip it first, and pass the folder." if folder.suffix.lower() == ".zip" else ""
        raise ReadError(f"{who}: {path} is a file; expected {wanted}.{hint}")
    found = _layout(folder)
    if found == expected:
        return folder
    if found in reader:
        raise ReadError(f"{who}: {path} is {_THEIA_LAYOUT if found == 'theia' else _SAFE_LAYOUT}, not {wanted}. "
                        f"Read it with labkit.sources.{reader[found]}.")
    if found == "safe-l1c":
        raise ReadError(f"{who}: {path} is a Sentinel-2 L1C SAFE folder (top-of-atmosphere reflectance, no scene "
                        f"classification); expected {wanted}. Use the L2A product of the same acquisition.")
    inner = sorted(p.name for p in folder.iterdir() if p.is_dir() and _layout(p) == expected)
    hint = f" Pass the product folders themselves, e.g. '{path}/{inner[0]}' or '{path}/*'." if inner else ""
    raise ReadError(f"{who}: {path} is not {wanted}: {_contents(folder)}.{hint}")


def _identity(folder: Path, file: _Raster, patterns: tuple[re.Pattern, re.Pattern], fmt: str, example: str,
               who: str) -> tuple[pd.Timestamp, str]:
    """Acquisition time and tile from the folder's name (first pattern), else from one of its files' (second)."""
    for name, regex in zip((folder.name, Path(file.path).name), patterns):
        if (match := regex.search(name)) is not None:
            return pd.to_datetime(match["stamp"], format=fmt), match["tile"]
    raise ReadError(f"{who}: {folder}: no acquisition time and tile in its name nor in {Path(file.path).name}; "
                    f"expected a name such as {example}. Keep the product's folder name as it was delivered.")


def _one_file(folder: Path, pattern: str, what: str, who: str, error: type[ReadError] | type[BandError]) -> _Raster:
    found = sorted(folder.glob(pattern))
    if not found:
        raise error(f"{who}: {folder} has no file of {what}: expected {folder / pattern}. Is the product complete?")
    if len(found) > 1:
        raise ReadError(f"{who}: {folder} has {len(found)} files of {what} ({', '.join(p.name for p in found)}); "
                        "expected one. Keep one product per folder.")
    return _open_raster(str(found[0]))


# ------------------------------------------------------------------------------------------------ arguments


def _band_names(bands, allowed: Sequence[str], product: str, who: str) -> list[str]:
    if bands is None:
        return list(DEFAULT_BANDS)
    bands = [bands] if isinstance(bands, str) else list(bands)
    if not bands:
        raise ConfigError(f"{who}: bands is empty; choose some of {list(allowed)}.")
    names = [sentinel2_name(b) for b in bands]
    if missing := [b for b in names if b not in allowed]:
        raise BandError(f"{who}: {product} hold no band {missing}; they hold {list(allowed)}.")
    if len(set(names)) < len(names):
        raise ConfigError(f"{who}: bands {bands} name a band twice ({names} in labkit's names).")
    return names


def _choice(value, allowed, name: str, who: str):
    if value not in allowed or isinstance(value, bool):
        raise ConfigError(f"{who}: {name} must be one of {list(allowed)}; got {value!r}.")
    return value


def _resampling(value, who: str) -> Resampling:
    from rasterio.warp import SUPPORTED_RESAMPLING  # what GDAL's warper does

    method = value if isinstance(value, Resampling) else Resampling.__members__.get(str(value).lower())
    if method not in SUPPORTED_RESAMPLING:
        raise ConfigError(f"{who}: resampling must be one of {[r.name for r in SUPPORTED_RESAMPLING]} (as gdalwarp "
                          f"-r); got {value!r}.")
    return method


def _chunks(chunks, who: str) -> dict:
    if chunks is None or chunks is False:
        raise ConfigError(f"{who}: chunks must be a block size in pixels (e.g. 1024), 'auto' or a dict "
                          "{'y': ..., 'x': ...}: product folders are always read lazily (a tile is gigabytes).")
    return _file_chunks(chunks, "band")


# --------------------------------------------------------------------------------------------- lazy reading


def _same_grid(raster: _Raster, grid: _Raster) -> bool:
    return (raster.crs == grid.crs and (raster.height, raster.width) == (grid.height, grid.width)
            and raster.transform.almost_equals(grid.transform))


def _on_grid(raster: _Raster, grid: _Raster, resampling: Resampling, nodata, chunks: dict, label: str):
    """The first layer of ``raster`` on ``grid``'s pixels, ``(1, y, x)``, as a dask array read block by block.

    A raster on another grid is warped onto it (``WarpedVRT``: ``nodata`` pixels take no part in the resampling
    and stay ``nodata``). Read errors name the file and ``label`` (its date and band).
    """
    import dask.array as dsa
    import rasterio
    import rioxarray
    from rasterio.vrt import WarpedVRT

    warp = None if _same_grid(raster, grid) else {
        "crs": grid.crs, "transform": grid.transform, "width": grid.width, "height": grid.height,
        "resampling": resampling, **({} if nodata is None else {"src_nodata": nodata, "nodata": nodata})}
    options = {"mask_and_scale": False, "parse_coordinates": False, "cache": False, "lock": False}
    with _quiet_georef():  # lock=False: each block opens its file, so that blocks decode in parallel
        if warp is None:
            lazy = rioxarray.open_rasterio(raster.path, **options)
        else:
            with rasterio.open(raster.path) as src, WarpedVRT(src, **warp) as vrt:
                lazy = rioxarray.open_rasterio(vrt, **options)  # keeps the VRT's parameters, reopens it per block
    lazy = lazy.isel(band=[0])
    shape = (1, grid.height, grid.width)
    blocks = dsa.core.normalize_chunks((1, chunks["y"], chunks["x"]), shape, dtype=lazy.dtype,
                                       previous_chunks=(1, *grid.block))
    describe = functools.partial(_describe_layers, labels=[label], what="bands", fixed="")
    warped = None if warp is None else (grid.crs.to_wkt(), tuple(grid.transform), grid.width, grid.height,
                                         resampling.name, nodata)
    token = dsa.core.tokenize(raster.path, _modified(raster.path), warped, blocks)
    return dsa.from_array(GuardedSource(lazy, raster.path, describe), chunks=blocks, asarray=True, fancy=False,
                          name=f"read-{token}", meta=np.empty((0, 0, 0), lazy.dtype))


def _check_one_tile(products: list[_Product], who: str) -> None:
    first = products[0]
    for product in products[1:]:
        if product.tile != first.tile:
            raise GridMismatchError(f"{who}: {product.folder} is tile T{product.tile} but {first.folder} is tile "
                                    f"T{first.tile}; a cube holds one tile. Read each tile on its own (one call "
                                    "per tile), then mosaic the maps (labkit.postprocess.mosaic).")


def _read(products: list[_Product], names: list[str], resampling: Resampling, chunks: dict,
          build_mask: Callable[..., xr.DataArray], who: str) -> tuple[xr.DataArray, xr.DataArray]:
    """The cube and mask of products of one tile (checked: one grid, distinct dates), sorted by date."""
    _check_one_tile(products, who)
    _check_same_grid([p.grid for p in products], crs_given=False, transform_given=False)
    _check_unique_dates([p.stamp for p in products], [p.folder for p in products], "the products' acquisition times")
    products = sorted(products, key=lambda p: p.stamp)
    dates = []
    for p in products:
        layers = []
        for band in names:
            label = f"date {_iso(p.stamp)}, band {band}"
            raw = _on_grid(p.bands[band], p.grid, resampling, p.nodata, chunks, label)
            layers.append(_decode(raw, p.bands[band], [1], p.nodata, p.scale, p.offsets.get(band, 0.0)))
        dates.append(_stack([layer[0] for layer in layers], axis=0))
    grid = products[0].grid
    cube = _new_cube(_stack(dates, axis=0), [p.stamp for p in products], names, grid.transform, grid.crs)
    coords = {dim: cube[dim].values for dim in MASK_DIMS}
    quality = {}
    for key in products[0].quality:
        raw = [_on_grid(p.quality[key], p.grid, Resampling.nearest, None, chunks, f"date {_iso(p.stamp)}, "
                        f"band {key.upper()}")[0] for p in products]
        quality[key] = xr.DataArray(_stack(raw, axis=0), dims=MASK_DIMS, coords=coords).rio.write_crs(grid.crs)
    return cube, build_mask(**quality)


# -------------------------------------------------------------------------------------------------- Theia


def _theia_band(name: str) -> str:
    """labkit's ``B02`` as Theia spells it in file names, ``B2`` (``B8A`` stays)."""
    return name if name == "B8A" else f"B{int(name[1:])}"


def _theia_product(path: str, names: list[str], reflectance: str, level: int, who: str) -> _Product:
    folder = _checked_folder(path, "theia", who)
    bands = {b: _one_file(folder, f"*_{reflectance}_{_theia_band(b)}.tif", f"band {b} ({reflectance})", who,
                          BandError) for b in names}
    masks = folder / "MASKS"
    quality = {key: _one_file(masks, f"*_{key.upper()}_R{level}.tif", f"the {key.upper()} mask at R{level}", who,
                              ReadError) for key in ("clm", "sat", "edg")}
    stamp, tile = _identity(folder, quality["clm"], (_THEIA_NAME, _THEIA_NAME), "%Y%m%d-%H%M%S",
                            "SENTINEL2A_20180601-105416-456_L2A_T31TCJ_C_V2-2", who)
    return _Product(folder=path, stamp=stamp, tile=tile, grid=quality["clm"], bands=bands, quality=quality,
                    scale=1 / THEIA_QUANTIFICATION, offsets={}, nodata=THEIA_NODATA)


def read_theia(
    folders: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    bands: Sequence[str] | str | None = None,
    reflectance: str = "FRE",
    resolution: int = 10,
    resampling: str = "bilinear",
    chunks=DEFAULT_CHUNKS,
) -> tuple[xr.DataArray, xr.DataArray]:
    """Read Theia/MAJA Sentinel-2 L2A product folders (MUSCATE format) of one tile as a cube and its validity mask.

    Parameters
    ----------
    folders : path, glob pattern or list of paths
        Unzipped product folders, e.g. ``SENTINEL2A_20180601-105416-456_L2A_T31TCJ_C_V2-2``, one per date, of one
        tile. The acquisition time (and tile) comes from the folder's name.
    bands : list of str, optional
        Bands in any usual spelling (``B2``, ``B02``, ``red``), in the cube's order; default :data:`DEFAULT_BANDS`,
        the ten 10 m and 20 m bands. Named as labkit names them (``B02``).
    reflectance : {"FRE", "SRE"}, default "FRE"
        Flat reflectance (also corrected for slopes, what iota2 reads) or surface reflectance.
    resolution : {10, 20}, default 10
        The grid of the cube: the product's 10 m (R1) or 20 m (R2) grid. Bands of the other resolution are
        resampled onto it.
    resampling : str, default "bilinear"
        How bands of the other resolution are resampled (a ``rasterio.enums.Resampling`` name, as ``gdalwarp -r``:
        ``nearest``, ``bilinear``, ``cubic``, ``average``...). The masks are read at the cube's resolution.
    chunks : int, "auto" or dict, default 1024
        Blocks of the dask arrays, in pixels (``{"y": ..., "x": ...}`` for other shapes); one date and band each.

    Returns
    -------
    cube : xarray.DataArray (time, band, y, x) float32
        Reflectance (digital numbers / 10 000), ``NaN`` at no-data (-10 000); dask-backed, sorted by time.
    mask : xarray.DataArray (time, y, x) uint8
        :func:`labkit.masks.mask_from_maja` of the CLM, SAT and EDG masks at the cube's resolution (``_R1`` or
        ``_R2``): 2 outside the swath, 1 where any CLM bit (clouds, shadows) or a SAT bit is set, else 0. For
        other CLM bits, call :func:`~labkit.masks.mask_from_maja` on the layers yourself.

    Raises
    ------
    labkit.errors.ReadError
        A folder is missing, not a Theia product (the message says what it holds), lacks a mask, or has no date
        in its name; two folders have the same acquisition time.
    labkit.errors.BandError
        A band is not in Theia's products (B01, B09, B10), or a folder lacks its file.
    labkit.errors.GridMismatchError
        The folders are of different tiles, or their grids differ.
    labkit.errors.ConfigError
        ``reflectance``, ``resolution``, ``resampling`` or ``chunks`` is not one of the values above.

    Example
    -------
    A product reduced to one band and its masks, 4 x 4 pixels:

    >>> import tempfile, numpy as np, rasterio
    >>> from pathlib import Path
    >>> name = "SENTINEL2B_20180601-105416-456_L2A_T31TCJ_C_V2-2"
    >>> folder = Path(tempfile.mkdtemp()) / name
    >>> (folder / "MASKS").mkdir(parents=True)
    >>> grid = dict(driver="GTiff", width=4, height=4, count=1, crs="EPSG:32631",
    ...             transform=rasterio.Affine(10, 0, 300000, 0, -10, 4800000))
    >>> for file, dtype, value in [("FRE_B2", "int16", 512), ("MASKS/CLM_R1", "uint8", 0),
    ...                            ("MASKS/SAT_R1", "uint8", 0), ("MASKS/EDG_R1", "uint8", 1)]:
    ...     where, _, layer = file.rpartition("/")
    ...     with rasterio.open(folder / where / f"{name}_{layer}.tif", "w", dtype=dtype, **grid) as f:
    ...         f.write(np.full((1, 4, 4), value, dtype))
    >>> cube, mask = read_theia(folder, bands=["B2"])
    >>> cube.dims, cube.band.values.tolist(), str(cube.time.values[0])[:19]
    (('time', 'band', 'y', 'x'), ['B02'], '2018-06-01T10:54:16')
    >>> round(float(cube[0, 0, 0, 0]), 4), int(mask[0, 0, 0])  # EDG set: outside the swath
    (0.0512, 2)
    """
    who = "read_theia"
    names = _band_names(bands, DEFAULT_BANDS, "Theia L2A products", who)
    reflectance = _choice(str(reflectance).upper(), THEIA_REFLECTANCES, "reflectance", who)
    level = THEIA_RESOLUTIONS[_choice(resolution, THEIA_RESOLUTIONS, "resolution", who)]
    method, block = _resampling(resampling, who), _chunks(chunks, who)
    products = [_theia_product(path, names, reflectance, level, who) for path in _expand_files(folders, who)]
    return _read(products, names, method, block, mask_from_maja, who)


# --------------------------------------------------------------------------------------------------- SAFE


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _safe_radiometry(folder: Path, names: list[str], who: str) -> tuple[float, dict[str, float]]:
    """The quantification value and the offset of each band in ``names``, from the product's ``MTD_MSIL2A.xml``."""
    path = folder / "MTD_MSIL2A.xml"
    if not path.is_file():
        raise ReadError(f"{who}: {folder} has no MTD_MSIL2A.xml, the metadata that says how digital numbers become "
                        "reflectance (quantification value, offsets). Copy the whole SAFE folder.")
    try:
        elements = list(ElementTree.parse(path).getroot().iter())
    except (ElementTree.ParseError, OSError) as error:
        raise ReadError(f"{who}: {path} is not readable XML ({error}). Download the product again.") from None
    text = {_local(e.tag): (e.text or "").strip() for e in reversed(elements)}  # the first of each tag wins
    quantification = next((text[t] for t in _SAFE_QUANTIFICATION_TAGS if t in text), None)
    try:
        quantification = float(quantification)
    except (TypeError, ValueError):
        quantification = None
    if not quantification:
        raise ReadError(f"{who}: {path} has no BOA_QUANTIFICATION_VALUE (a positive number, 10000) saying how "
                        "digital numbers become reflectance. Download the product again.")
    band_of_id = {e.get("bandId"): e.get("physicalBand") for e in elements
                  if _local(e.tag) == "Spectral_Information" and e.get("physicalBand")}
    band_of_id = {key: sentinel2_name(value) for key, value in band_of_id.items()} or {
        str(i): name for i, name in enumerate(_SAFE_BAND_IDS)}
    offsets = {band_of_id.get(e.get("band_id")): float(e.text) for e in elements
               if _local(e.tag) == "BOA_ADD_OFFSET" and e.text}
    baseline = text.get("PROCESSING_BASELINE", "")
    if not offsets and re.fullmatch(r"\d+(\.\d+)?", baseline) and float(baseline) >= 4:
        raise ReadError(f"{who}: {path} is of processing baseline {baseline} but has no BOA_ADD_OFFSET (from "
                        "baseline 04.00 on, reflectance = (DN + offset) / quantification). Download it again.")
    if offsets and (missing := [b for b in names if b not in offsets]):
        raise ReadError(f"{who}: {path} gives no BOA_ADD_OFFSET for band(s) {missing}. Download it again.")
    return quantification, {b: offsets.get(b, 0.0) / quantification for b in names}


def _granule(folder: Path, who: str) -> Path:
    granules = sorted(p for p in (folder / "GRANULE").glob("*") if (p / "IMG_DATA").is_dir())
    if len(granules) != 1:
        found = ", ".join(p.name for p in granules) or "none"
        raise ReadError(f"{who}: {folder}/GRANULE must hold one granule folder with IMG_DATA/ (L2A_T32TPS_...); "
                        f"found {found}. Pass complete single-tile L2A products.")
    return granules[0] / "IMG_DATA"


def _safe_file(images: Path, band: str, resolution: int, who: str) -> _Raster:
    """Band ``band``'s file at ``resolution`` when the product has it, else at the finest resolution it has."""
    order = [resolution] + [r for r in SAFE_RESOLUTIONS if r != resolution]
    for res in order:
        found = sorted((images / f"R{res}m").glob(f"*_{band}_{res}m.jp2"))
        if len(found) == 1:
            return _open_raster(str(found[0]))
        if found:
            raise ReadError(f"{who}: {images / f'R{res}m'} has {len(found)} files of band {band} "
                            f"({', '.join(p.name for p in found)}); expected one.")
    error = ReadError if band == "SCL" else BandError
    raise error(f"{who}: {images} has no file of band {band}: expected R{resolution}m/*_{band}_{resolution}m.jp2 "
                f"(or the band at another resolution in R10m, R20m, R60m). Is the product complete?")


def _safe_grid(images: Path, resolution: int, who: str) -> _Raster:
    found = sorted((images / f"R{resolution}m").glob(f"*_{resolution}m.jp2"))
    if not found:
        raise ReadError(f"{who}: {images / f'R{resolution}m'} holds no *_{resolution}m.jp2 file, needed for the "
                        f"grid of resolution={resolution}. Is the product complete?")
    return _open_raster(str(found[0]))


def _safe_product(path: str, names: list[str], resolution: int, who: str) -> _Product:
    folder = _checked_folder(path, "safe", who)
    images = _granule(folder, who)
    grid = _safe_grid(images, resolution, who)
    stamp, tile = _identity(folder, grid, (_SAFE_NAME, _SAFE_FILE), "%Y%m%dT%H%M%S",
                            "S2A_MSIL2A_20220602T101611_N0400_R065_T32TPS_20220602T162145.SAFE", who)
    quantification, offsets = _safe_radiometry(folder, names, who)
    return _Product(folder=path, stamp=stamp, tile=tile, grid=grid,
                    bands={b: _safe_file(images, b, resolution, who) for b in names},
                    quality={"scl": _safe_file(images, "SCL", resolution, who)},
                    scale=1 / quantification, offsets=offsets, nodata=SAFE_NODATA)


def read_safe(
    folders: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    bands: Sequence[str] | str | None = None,
    resolution: int = 10,
    resampling: str = "bilinear",
    chunks=DEFAULT_CHUNKS,
) -> tuple[xr.DataArray, xr.DataArray]:
    """Read Sentinel-2 L2A SAFE folders (ESA's Sen2Cor products) of one tile as a cube and its validity mask.

    Parameters
    ----------
    folders : path, glob pattern or list of paths
        Unzipped ``.SAFE`` folders, e.g. ``S2A_MSIL2A_20220602T101611_N0400_R065_T32TPS_20220602T162145.SAFE``, one
        per date, of one tile. The acquisition time (and tile) comes from the folder's name.
    bands : list of str, optional
        Bands in any usual spelling (``B2``, ``B02``, ``nir``), in the cube's order; default
        :data:`DEFAULT_BANDS`; B01 and B09 (60 m) may be asked for too.
    resolution : {10, 20, 60}, default 10
        The grid of the cube: the ``R10m``, ``R20m`` or ``R60m`` one. Each band is read from that folder when it
        holds it, else from the finest one that does, and resampled.
    resampling : str, default "bilinear"
        How bands are resampled when needed (a ``rasterio.enums.Resampling`` name, as ``gdalwarp -r``); the SCL
        band always with ``nearest``.
    chunks : int, "auto" or dict, default 1024
        Blocks of the dask arrays, in pixels (``{"y": ..., "x": ...}``); one date and band each.

    Returns
    -------
    cube : xarray.DataArray (time, band, y, x) float32
        Reflectance, (DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE as ``MTD_MSIL2A.xml`` gives them (no offset
        before processing baseline 04.00), ``NaN`` where DN = 0 (no data); dask-backed, sorted by time.
    mask : xarray.DataArray (time, y, x) uint8
        :func:`labkit.masks.mask_from_scl` of the SCL band (its defaults: clouds, shadows, cirrus, saturated are 1,
        no data 2; snow stays valid). For other classes, read the SCL layer and call it yourself.

    Raises
    ------
    labkit.errors.ReadError
        A folder is missing, not an L2A SAFE folder (the message says what it holds), lacks its metadata, SCL or
        its offsets, or has no date in its name; two folders have the same acquisition time.
    labkit.errors.BandError
        A band is not in L2A products (B10), or a folder lacks its file.
    labkit.errors.GridMismatchError
        The folders are of different tiles, or their grids differ.
    labkit.errors.ConfigError
        ``resolution``, ``resampling`` or ``chunks`` is not one of the values above.

    Example
    -------
    A product reduced to band B02 (10 m) and SCL (20 m), 4 x 4 pixels at 10 m, written as ESA does, in JPEG 2000:

    >>> import tempfile, numpy as np, rasterio
    >>> from pathlib import Path
    >>> from rasterio.io import MemoryFile
    >>> from rasterio.shutil import copy
    >>> safe = Path(tempfile.mkdtemp()) / "S2A_MSIL2A_20220602T101611_N0400_R065_T32TPS_20220602T162145.SAFE"
    >>> images = safe / "GRANULE" / "L2A_T32TPS_A036090_20220602T101611" / "IMG_DATA"
    >>> for band, res, dtype, value in [("B02", 10, "uint16", 1512), ("SCL", 20, "uint8", 9)]:
    ...     (images / f"R{res}m").mkdir(parents=True)
    ...     size = 40 // res
    ...     with MemoryFile() as memory, memory.open(
    ...             driver="GTiff", width=size, height=size, count=1, dtype=dtype, crs="EPSG:32632",
    ...             transform=rasterio.Affine(res, 0, 600000, 0, -res, 5100000)) as f:
    ...         f.write(np.full((1, size, size), value, dtype))
    ...         copy(f, images / f"R{res}m" / f"T32TPS_20220602T101611_{band}_{res}m.jp2",
    ...              driver="JP2OpenJPEG", QUALITY=100, REVERSIBLE="YES")
    >>> _ = (safe / "MTD_MSIL2A.xml").write_text(
    ...     "<Level-2A_User_Product><BOA_QUANTIFICATION_VALUE>10000</BOA_QUANTIFICATION_VALUE>"
    ...     '<BOA_ADD_OFFSET band_id="1">-1000</BOA_ADD_OFFSET></Level-2A_User_Product>')
    >>> cube, mask = read_safe(safe, bands=["B02"])
    >>> cube.sizes["y"], round(float(cube[0, 0, 0, 0]), 4), int(mask[0, 0, 0])  # (1512 - 1000) / 10000; cloud
    (4, 0.0512, 1)
    """
    who = "read_safe"
    names = _band_names(bands, [b for b in _SAFE_BAND_IDS if b != "B10"], "Sentinel-2 L2A products", who)
    resolution = _choice(resolution, SAFE_RESOLUTIONS, "resolution", who)
    method, block = _resampling(resampling, who), _chunks(chunks, who)
    products = [_safe_product(path, names, resolution, who) for path in _expand_files(folders, who)]
    return _read(products, names, method, block, mask_from_scl, who)
