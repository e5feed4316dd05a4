"""Small product folders built to the documented layouts: Theia/MAJA L2A (MUSCATE) and Sentinel-2 L2A SAFE.

For the tests of :mod:`labkit.sources.products`, and for any page that needs a product folder without a download.
Every band holds known digital numbers (:func:`band_dn`): a constant per band and date plus a ramp along x on the
band's own grid, so that a test can say what each pixel must read, resampled or not.

* :func:`write_theia` — ``SENTINEL2A_YYYYMMDD-HHMMSS-mmm_L2A_T31TCJ_C_V2-2/`` with ``<name>_FRE_B2.tif`` ...
  (``int16``, reflectance x 10 000, no-data -10 000; R1 = 10 m: B2 B3 B4 B8, R2 = 20 m: B5 B6 B7 B8A B11 B12), the
  same with ``SRE`` (5 more), and ``MASKS/<name>_CLM_R1.tif``, ``_SAT_R1``, ``_EDG_R1`` and their ``_R2``.
* :func:`write_safe` — ``S2A_MSIL2A_YYYYMMDDTHHMMSS_N0400_R065_T32TPS_....SAFE/`` with ``MTD_MSIL2A.xml``
  (quantification 10 000, ``BOA_ADD_OFFSET`` -1000 from baseline 04.00) and ``GRANULE/L2A_.../IMG_DATA/R10m``,
  ``R20m``, ``R60m`` of lossless JPEG 2000 bands (``uint16``, 0 = no data) and SCL, as ESA delivers them.

Sources: Theia, *Sentinel-2 L2A product format* (https://labo.obs-mip.fr/multitemp/sentinel-2/theias-sentinel-2-l2a-
product-format/); ESA, *Sentinel-2 Products Specification Document* (L2A: folder tree, ``MTD_MSIL2A.xml``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from rasterio.io import MemoryFile
from rasterio.shutil import copy as copy_raster
from rasterio.transform import from_origin

ALL_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
"""The bands a product may hold, in :func:`band_dn`'s order (B10 is in no L2A product)."""
BANDS_10M = ("B02", "B03", "B04", "B08")
BANDS_20M = ("B05", "B06", "B07", "B8A", "B11", "B12")

THEIA_CRS = "EPSG:32631"
THEIA_ORIGIN = (300000.0, 4800000.0)
SAFE_CRS = "EPSG:32632"
SAFE_ORIGIN = (600000.0, 5100000.0)
SRE_SHIFT = 5
"""Theia's SRE bands hold the FRE digital numbers plus this."""
SAFE_BAND_IDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
"""``band_id`` of ``MTD_MSIL2A.xml`` (0..12) -> band."""

# What ESA's R20m and R60m folders hold besides SCL (B08 only at 10 m; B01 and B09 only at 60 m here).
SAFE_FOLDERS = {10: BANDS_10M, 20: ("B02", "B03", "B04") + BANDS_20M,
                60: ("B01", "B02", "B03", "B04") + BANDS_20M[:3] + ("B8A", "B09", "B11", "B12")}


def band_dn(band: str, date_index: int, shape: tuple[int, int], *, dn_offset: int = 0) -> np.ndarray:
    """The digital numbers of ``band`` on date ``date_index``, on a grid of ``shape`` (its own resolution).

    ``1000 + 100 * (position in ALL_BANDS) + 10 * date_index + 20 * column + dn_offset``: a ramp along x, so that
    nearest and bilinear resampling give different, predictable values.
    """
    base = 1000 + 100 * ALL_BANDS.index(band) + 10 * date_index + dn_offset
    return np.broadcast_to(base + 20 * np.arange(shape[1]), shape).astype(np.int64)


def _coarser(array: np.ndarray, factor: int) -> np.ndarray:
    """A 10 m mask or flag array on a grid ``factor`` times coarser: the largest value of each block."""
    if factor == 1:
        return array
    rows, cols = array.shape[0] // factor, array.shape[1] // factor
    return array[:rows * factor, :cols * factor].reshape(rows, factor, cols, factor).max(axis=(1, 3))


def _profile(shape, res: float, dtype: str, crs: str, origin) -> dict:
    return dict(driver="GTiff", height=shape[0], width=shape[1], count=1, dtype=dtype, crs=crs,
                transform=from_origin(origin[0], origin[1], res, res))


def write_tif(path: Path, values: np.ndarray, profile: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values.astype(profile["dtype"])[None])
    return path


def write_jp2(path: Path, values: np.ndarray, profile: dict) -> Path:
    """A lossless JPEG 2000 file (GDAL's JP2OpenJPEG writes by copy only: a GeoTIFF in memory first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with MemoryFile() as memory, memory.open(**profile) as tif:
        tif.write(values.astype(profile["dtype"])[None])
        copy_raster(tif, path, driver="JP2OpenJPEG", QUALITY=100, REVERSIBLE="YES")
    return path


def _esa_spelling(band: str) -> str:
    """``B02`` as Theia's file names and ESA's metadata spell it: ``B2`` (``B8A`` stays)."""
    return band if band == "B8A" else f"B{int(band[1:])}"


def theia_name(date: str, tile: str = "31TCJ", satellite: str = "A") -> str:
    """``SENTINEL2A_20180601-105416-456_L2A_T31TCJ_C_V2-2`` for ``date="2018-06-01T10:54:16"``."""
    stamp = pd.Timestamp(date)
    return f"SENTINEL2{satellite}_{stamp:%Y%m%d-%H%M%S}-456_L2A_T{tile}_C_V2-2"


def write_theia(root: Path, date: str = "2018-06-01T10:54:16", *, date_index: int = 0, tile: str = "31TCJ",
                size: int = 40, origin=THEIA_ORIGIN, crs: str = THEIA_CRS, clm=None, sat=None, edg=None,
                nodata=None, bands=BANDS_10M + BANDS_20M, name: str | None = None) -> Path:
    """A Theia L2A product folder under ``root``, ``size`` x ``size`` pixels at 10 m; returns the folder.

    ``clm``, ``sat``, ``edg`` (uint8) and ``nodata`` (bool: every band -10 000 there) are 10 m arrays, default
    zeros; their 20 m versions (``_R2``, and the 20 m bands' no-data) take the largest value of each 2 x 2 block.
    ``name`` replaces the folder's name (the files keep the product's name).
    """
    product = theia_name(date, tile)
    folder = Path(root) / (name or product)
    zeros = np.zeros((size, size), np.uint8)
    layers = {"CLM": zeros if clm is None else clm, "SAT": zeros if sat is None else sat,
              "EDG": zeros if edg is None else edg}
    nodata = zeros.astype(bool) if nodata is None else np.asarray(nodata, bool)
    for level, factor in ((1, 1), (2, 2)):
        profile = _profile((size // factor,) * 2, 10.0 * factor, "uint8", crs, origin)
        for key, values in layers.items():
            write_tif(folder / "MASKS" / f"{product}_{key}_R{level}.tif", _coarser(np.asarray(values), factor),
                      profile)
    for band in bands:
        factor = 1 if band in BANDS_10M else 2
        shape = (size // factor,) * 2
        dn = band_dn(band, date_index, shape)
        dn = np.where(_coarser(nodata, factor), -10000, dn)
        profile = _profile(shape, 10.0 * factor, "int16", crs, origin)  # no nodata tag: the format says -10000
        spelling = _esa_spelling(band)
        write_tif(folder / f"{product}_FRE_{spelling}.tif", dn, profile)
        write_tif(folder / f"{product}_SRE_{spelling}.tif", np.where(dn == -10000, dn, dn + SRE_SHIFT), profile)
    return folder


def safe_name(date: str, tile: str = "32TPS", baseline: str = "04.00") -> str:
    """``S2A_MSIL2A_20220602T101611_N0400_R065_T32TPS_20220602T162145.SAFE`` for ``date="2022-06-02T10:16:11"``."""
    stamp = pd.Timestamp(date)
    return f"S2A_MSIL2A_{stamp:%Y%m%dT%H%M%S}_N{baseline.replace('.', '')}_R065_T{tile}_{stamp:%Y%m%d}T162145.SAFE"


def mtd_xml(baseline: str = "04.00", offsets: dict[str, int] | None = None, quantification: int = 10000) -> str:
    """``MTD_MSIL2A.xml`` as Sen2Cor writes it (the parts labkit reads): offsets -1000 from baseline 04.00 on."""
    if offsets is None:
        offsets = dict.fromkeys(SAFE_BAND_IDS, -1000) if float(baseline) >= 4 else {}
    offset_list = "".join(f'\n        <BOA_ADD_OFFSET band_id="{SAFE_BAND_IDS.index(b)}">{v}</BOA_ADD_OFFSET>'
                          for b, v in offsets.items())
    spectral = "".join(f'\n        <Spectral_Information bandId="{i}" physicalBand="{_esa_spelling(b)}">'
                       "<RESOLUTION>10</RESOLUTION></Spectral_Information>" for i, b in enumerate(SAFE_BAND_IDS))
    offsets_block = (f"\n      <BOA_ADD_OFFSET_VALUES_LIST>{offset_list}\n      </BOA_ADD_OFFSET_VALUES_LIST>"
                     if offsets else "")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">
  <n1:General_Info>
    <Product_Info>
      <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values>
        <SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX>
      </Special_Values>
      <QUANTIFICATION_VALUES_LIST>
        <BOA_QUANTIFICATION_VALUE unit="none">{quantification}</BOA_QUANTIFICATION_VALUE>
        <AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>
        <WVP_QUANTIFICATION_VALUE unit="cm">1000.0</WVP_QUANTIFICATION_VALUE>
      </QUANTIFICATION_VALUES_LIST>{offsets_block}
      <Spectral_Information_List>{spectral}
      </Spectral_Information_List>
    </Product_Image_Characteristics>
  </n1:General_Info>
</n1:Level-2A_User_Product>
"""


def write_safe(root: Path, date: str = "2022-06-02T10:16:11", *, date_index: int = 0, tile: str = "32TPS",
               size: int = 60, origin=SAFE_ORIGIN, crs: str = SAFE_CRS, baseline: str = "04.00",
               offsets: dict[str, int] | None = None, scl=None, nodata=None,
               folders: dict[int, tuple[str, ...]] = SAFE_FOLDERS, name: str | None = None) -> Path:
    """A Sentinel-2 L2A SAFE folder under ``root``, ``size`` x ``size`` pixels at 10 m; returns the folder.

    Band files hold :func:`band_dn` on their own grid plus 1000 when the product has offsets (what Sen2Cor adds
    from baseline 04.00), so that every baseline reads the same reflectance; 0 where ``nodata`` (a 10 m bool
    array). ``scl`` is the 20 m SCL layer (default 4, vegetation); its 60 m version takes the top-left pixel of
    each 3 x 3 block. ``folders`` says which bands each ``R..m`` folder holds (SCL is added at 20 and 60 m).
    """
    stamp = pd.Timestamp(date)
    folder = Path(root) / (name or safe_name(date, tile, baseline))
    images = folder / "GRANULE" / f"L2A_T{tile}_A036090_{stamp:%Y%m%dT%H%M%S}" / "IMG_DATA"
    mtd = mtd_xml(baseline, offsets)
    (folder / "MTD_MSIL2A.xml").parent.mkdir(parents=True, exist_ok=True)
    (folder / "MTD_MSIL2A.xml").write_text(mtd, encoding="utf-8")
    dn_offset = 1000 if "BOA_ADD_OFFSET" in mtd else 0
    nodata = np.zeros((size, size), bool) if nodata is None else np.asarray(nodata, bool)
    scl = np.full((size // 2, size // 2), 4, np.uint8) if scl is None else np.asarray(scl, np.uint8)
    for res, bands in folders.items():
        factor = res // 10
        shape = (size // factor,) * 2
        profile = _profile(shape, float(res), "uint16", crs, origin)
        stem = images / f"R{res}m" / f"T{tile}_{stamp:%Y%m%dT%H%M%S}"
        for band in bands:
            dn = np.where(_coarser(nodata, factor), 0, band_dn(band, date_index, shape, dn_offset=dn_offset))
            write_jp2(Path(f"{stem}_{band}_{res}m.jp2"), dn, profile)
        if res != 10:
            layer = scl if res == 20 else scl[:: res // 20, :: res // 20]
            write_jp2(Path(f"{stem}_SCL_{res}m.jp2"), layer, {**profile, "dtype": "uint8"})
    return folder
