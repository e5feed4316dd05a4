"""Band names of the sensors labkit reads, and their common names (aliases) shared across sensors.

labkit names bands the way each product names them: ``B04`` for Sentinel-2's red, ``SR_B4`` for Landsat 8/9's,
``sur_refl_b01`` for MODIS's. Each band also has a **common name**, the same on every sensor (those of the STAC
``eo`` extension, with ``swir1``/``swir2`` for the two short-wave infrared bands):

=========== =========== ==================== =================== ==========================================
common name Sentinel-2  Landsat 8/9 (OLI)    Landsat 4/5/7       MODIS (MOD09 and MOD13 layers)
=========== =========== ==================== =================== ==========================================
coastal     B01         SR_B1 (B1)
blue        B02         SR_B2 (B2)           SR_B1 (B1)          sur_refl_b03, blue reflectance
green       B03         SR_B3 (B3)           SR_B2 (B2)          sur_refl_b04
red         B04         SR_B4 (B4)           SR_B3 (B3)          sur_refl_b01, red reflectance
rededge1-3  B05 B06 B07
nir         B08         SR_B5 (B5)           SR_B4 (B4)          sur_refl_b02, NIR reflectance
nir08       B8A
swir1       B11         SR_B6 (B6)           SR_B5 (B5)          sur_refl_b06
swir2       B12         SR_B7 (B7)           SR_B7 (B7)          sur_refl_b07, MIR reflectance
=========== =========== ==================== =================== ==========================================

(and ``watervapour`` B09, ``cirrus`` B10 / Landsat B9, ``pan`` Landsat B8, ``lwir1``/``lwir2`` Landsat B10/B11 and
ST_B10.) Where the names come from:

* **Sentinel-2**: ESA's ``B01``...``B12``, ``B8A``; Theia's and iota2's spellings ``B2``, ``B8a`` are the same
  bands.
* **Landsat**: USGS Collection 2, Level-2 surface reflectance ``SR_B1``...``SR_B7`` and surface temperature
  ``ST_B10``, Level-1 ``B1``...``B11``, also as the end of a file name (``LC09_L2SP_..._SR_B4``). Landsat 9 carries
  the same instruments as Landsat 8 (OLI-2, TIRS-2), so the same names. Landsat 4, 5 and 7 (TM, ETM+) number their
  bands otherwise (their ``SR_B4`` is the near infrared): name the sensor (``sensor="landsat-7"``), or keep the
  product id in the name (``LE07_..._SR_B4``), which says it.
* **MODIS**: the layer names GDAL reads from the HDF files, with or without their grid (``sur_refl_b01``,
  ``sur_refl_b01_1`` of MOD09GA/GQ, ``250m 16 days red reflectance`` of MOD13Q1, ``1 km 16 days NIR reflectance``
  of MOD13A2...), and the names of their GeoTIFF exports (AppEEARS' ``MOD13Q1.061__250m_16_days_NDVI_doy2020001
  _aid0001`` pattern, the Planetary Computer's ``250m_16_days_NIR_reflectance``). See :func:`modis_layer_name`.
* sits names the bands of every sensor by upper-case common names (``RED``, ``NIR``, ``NIR08``, ``SWIR16``): they
  are common names; so are STAC's (``nir08``, ``swir16``, ``swir22``, ``rededge071``...), see :data:`SYNONYMS`.

A cube may also name its bands by their common names (``red``, ``nir``). Spectral indices
(:data:`labkit.features.INDICES`) are written on Sentinel-2 names and found on any cube through these aliases:
:func:`resolve` says which band of a cube plays the part of each band an index needs. Comes before
:mod:`labkit.io` (readers name bands) and :mod:`labkit.features` (indices on any sensor).

Example
-------
>>> resolve(["B04", "B08"], ["red", "nir"])
{'B04': 'red', 'B08': 'nir'}
>>> resolve(["B04", "B08"], ["SR_B4", "SR_B5", "SR_B6"])
{'B04': 'SR_B4', 'B08': 'SR_B5'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .errors import BandError, ConfigError, DataModelError

__all__ = ["COMMON_NAMES", "SENSORS", "SENSOR_ALIASES", "STAND_INS", "SYNONYMS", "common_name",
           "modis_layer_name", "resolve", "sentinel2_name", "to_common_names"]

COMMON_NAMES = ("coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "watervapour",
                "cirrus", "swir1", "swir2", "pan", "lwir1", "lwir2")
"""Every common name, in order of wavelength."""

SENTINEL2_BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
"""Sentinel-2's ten land bands at 10 m and 20 m, in labkit's order: what a land-cover chain reads (iota2's default)."""

SYNONYMS = {"swir16": "swir1", "swir22": "swir2", "nir09": "watervapour", "lwir11": "lwir1", "lwir12": "lwir2",
            "mir": "swir2", "rededge071": "rededge1", "rededge075": "rededge2", "rededge078": "rededge3"}
"""Other spellings of common names (STAC's ``eo:common_name`` values; MODIS's "MIR" band is at 2.1 µm)."""

STAND_INS = {"nir": "nir08"}
"""``{common name: the one that plays its part when a cube lacks it}``. An index's broad near infrared (Sentinel-2's
B08, 785-900 nm) is computed from a narrow one (865 nm) when the cube has no other: Landsat's band 5 named by its
STAC asset key ``nir08``, or Sentinel-2's B8A in a cube of 20 m bands."""

_SENTINEL2 = {"B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1", "B06": "rededge2",
              "B07": "rededge3", "B08": "nir", "B8A": "nir08", "B09": "watervapour", "B10": "cirrus", "B11": "swir1",
              "B12": "swir2"}
_LANDSAT_OLI = {"B1": "coastal", "B2": "blue", "B3": "green", "B4": "red", "B5": "nir", "B6": "swir1", "B7": "swir2",
                "B8": "pan", "B9": "cirrus", "B10": "lwir1", "B11": "lwir2"}
_LANDSAT_TM = {"B1": "blue", "B2": "green", "B3": "red", "B4": "nir", "B5": "swir1", "B7": "swir2", "B8": "pan"}
_REFLECTIVE = ("coastal", "blue", "green", "red", "nir", "swir1", "swir2")  # the bands with an SR_ layer
_MODIS = {"sur_refl_b01": "red", "sur_refl_b02": "nir", "sur_refl_b03": "blue", "sur_refl_b04": "green",
          "sur_refl_b06": "swir1", "sur_refl_b07": "swir2", "red_reflectance": "red", "nir_reflectance": "nir",
          "blue_reflectance": "blue", "mir_reflectance": "swir2"}

SENSORS: dict[str, dict[str, str]] = {
    "sentinel-2": _SENTINEL2,
    "landsat-8/9": {**{f"SR_{b}": c for b, c in _LANDSAT_OLI.items() if c in _REFLECTIVE}, "ST_B10": "lwir1",
                    **_LANDSAT_OLI},
    "landsat-4/5/7": {**{f"SR_{b}": c for b, c in _LANDSAT_TM.items() if c in _REFLECTIVE}, **_LANDSAT_TM},
    "modis": _MODIS,
}
"""``{sensor: {band name: common name}}`` for the sensors labkit knows (MODIS keys: :func:`modis_layer_name`)."""

SENSOR_ALIASES = {
    "sentinel-2a": "sentinel-2", "sentinel-2b": "sentinel-2", "sentinel-2c": "sentinel-2",
    "landsat-8": "landsat-8/9", "landsat-9": "landsat-8/9",
    "landsat-4": "landsat-4/5/7", "landsat-5": "landsat-4/5/7", "landsat-7": "landsat-4/5/7",
    "terra": "modis", "aqua": "modis",
}
"""Other names of the sensors of :data:`SENSORS`: STAC's ``platform`` values (``"landsat-9"``, ``"terra"``)."""

# Landsat product ids start with L + sensor (C OLI/TIRS, O OLI, T TM, E ETM+) + mission: the mission tells the table.
_LANDSAT_NAME = re.compile(r"(?:(L[COTE]0[457-9])_\w*?_)?((?:SR_|ST_)?B\d{1,2})", re.IGNORECASE)
_LANDSAT_MISSIONS = {"04": "landsat-4/5/7", "05": "landsat-4/5/7", "07": "landsat-4/5/7", "08": "landsat-8/9",
                     "09": "landsat-8/9"}


def _sensor(sensor: str) -> str:
    """A key of :data:`SENSORS` for a sensor's name (``"Landsat 9"`` -> ``"landsat-8/9"``), or a ConfigError."""
    key = re.sub(r"[\s_]+", "-", str(sensor).strip().lower())
    key = SENSOR_ALIASES.get(key, key)
    if key not in SENSORS:
        raise ConfigError(f"Unknown sensor {sensor!r}; known: {list(SENSORS)} (or {list(SENSOR_ALIASES)}).")
    return key


def modis_layer_name(name: str) -> str:
    """The short, lower-case name of a MODIS layer in any of the spellings GDAL and the data portals give it.

    Drops what names the grid or the file around the layer: an HDF subdataset's path
    (``HDF4_EOS:EOS_GRID:"f.hdf":MODIS_Grid_16DAY_250m_500m_VI:``), MOD13's resolution and period (``250m 16
    days``, ``1 km monthly``, ``CMG 0.05 Deg 16 days``), AppEEARS' product and date (``MOD13Q1.061__``,
    ``_doy2020001_aid0001``), MOD09GA/GQ's observation number (``sur_refl_b01_1``); spaces become ``_``.

    Example
    -------
    >>> [modis_layer_name(n) for n in ("250m 16 days NIR reflectance", "sur_refl_b01_1",
    ...                                "MOD13Q1.061__250m_16_days_pixel_reliability_doy2020001_aid0001",
    ...                                'HDF4_EOS:EOS_GRID:"a.hdf":MODIS_Grid_16DAY_1km_VI:1 km 16 days VI Quality')]
    ['nir_reflectance', 'sur_refl_b01', 'pixel_reliability', 'vi_quality']
    """
    text = str(name).strip().rsplit(":", 1)[-1].lower()
    text = re.sub(r"[\s_]+", "_", text)
    text = re.sub(r"_doy\d{7}(_aid\d+)?$", "", text)
    text = re.sub(r"^m[oyc]d\w*?\.\d{3}_+", "", text)
    text = re.sub(r"^(\d+_?k?m|cmg_0\.05_deg)_(16_days|monthly)_", "", text)
    if match := re.fullmatch(r"sur_refl_b0?(\d{1,2})(_1)?", text):
        return f"sur_refl_b{int(match.group(1)):02d}"
    return text.strip("_")


def _sentinel2_key(band: str) -> str | None:
    """``B2``, ``b02``, ``B8A``, ``B8a`` -> ``B02``, ``B02``, ``B8A``, ``B8A`` (Theia and SAFE spellings)."""
    match = re.fullmatch(r"[Bb]0?(\d{1,2})([Aa]?)", band.strip())
    if match is None:
        return None
    number, suffix = int(match.group(1)), match.group(2).upper()
    return f"B{number}{suffix}" if suffix else f"B{number:02d}"


def _landsat_key(band: str) -> tuple[str | None, str | None]:
    """``(sensor its product id names or None, key)``: ``LC09_L2SP_..._SR_B4`` -> ``("landsat-8/9", "SR_B4")``."""
    match = _LANDSAT_NAME.fullmatch(band.strip())
    if match is None:
        return None, None
    product, key = match.groups()
    return (_LANDSAT_MISSIONS[product[-2:]] if product else None), key.upper()


def _key(sensor: str, band: str) -> str | None:
    """The name of ``band`` in the table of ``sensor`` (None when it is not in its usual spellings)."""
    if sensor == "sentinel-2":
        return _sentinel2_key(band)
    if sensor == "modis":
        return modis_layer_name(band)
    return _landsat_key(band)[1]


def sentinel2_name(band: str) -> str:
    """labkit's name of a Sentinel-2 band given in any usual spelling (``B2``, ``b02``, ``B8a``, ``red``).

    Raises
    ------
    labkit.errors.BandError
        Not a Sentinel-2 band.

    Example
    -------
    >>> [sentinel2_name(b) for b in ("B2", "B8a", "b11", "nir", "swir16")]
    ['B02', 'B8A', 'B11', 'B08', 'B11']
    """
    key = _sentinel2_key(str(band))
    if key in _SENTINEL2:
        return key
    common = SYNONYMS.get(str(band).lower(), str(band).lower())
    for name, alias in _SENTINEL2.items():
        if alias == common:
            return name
    raise BandError(f"{band!r} is not a Sentinel-2 band; they are {list(_SENTINEL2)} (or their common names "
                    f"{list(_SENTINEL2.values())}).")


def common_name(band: str, sensor: str | None = None) -> str | None:
    """The common name of one band (``"B04"`` -> ``"red"``), or None when it has none.

    Parameters
    ----------
    band : str
        A band name: a common name (or a synonym such as ``swir16``, in any case) is its own.
    sensor : str, optional
        A key of :data:`SENSORS` (or of :data:`SENSOR_ALIASES`): read ``band`` as that sensor's. Without it, a
        Landsat product id in the name says which Landsat; otherwise the first table of :data:`SENSORS` that
        knows the name wins: Sentinel-2's, so that a bare number (Theia's ``B5``) is Sentinel-2's band (red edge),
        and Landsat's ``B5`` (near infrared) needs ``sensor="landsat-8/9"`` (``SR_B5`` does not: it is Landsat's
        only).

    Raises
    ------
    labkit.errors.ConfigError
        An unknown sensor.

    Example
    -------
    >>> common_name("B8A"), common_name("SR_B6"), common_name("250m 16 days NIR reflectance"), common_name("NDVI")
    ('nir08', 'swir1', 'nir', None)
    >>> common_name("B5"), common_name("B5", "landsat-9"), common_name("SR_B4", "landsat-7")
    ('rededge1', 'nir', 'nir')
    """
    text = str(band).strip()
    sensors = [_sensor(sensor)] if sensor is not None else None
    if text.lower() in COMMON_NAMES or text.lower() in SYNONYMS:
        return SYNONYMS.get(text.lower(), text.lower())
    if sensors is None:
        named = _landsat_key(text)[0]
        sensors = [named] if named else list(SENSORS)
    for name in sensors:
        key = _key(name, text)
        if key in SENSORS[name]:
            return SENSORS[name][key]
    return None


def _cube_band_names(bands) -> list[str]:
    if hasattr(bands, "dims"):
        if "band" not in bands.coords:
            raise DataModelError(f"expected a cube (time, band, y, x) with a 'band' coordinate, or band names; got "
                                 f"dims {bands.dims}.")
        return [str(b) for b in bands["band"].values]
    if isinstance(bands, str):
        return [bands]
    return [str(b) for b in bands]


def to_common_names(bands, sensor: str | None = None):
    """Rename bands to their common names (those without one keep their name): a cube any index reads.

    Parameters
    ----------
    bands : cube (time, band, y, x), or a sequence of band names
    sensor : str, optional
        As in :func:`common_name`: needed where the names alone do not tell the sensor (Landsat Level-1's ``B5``).

    Returns
    -------
    The cube with its ``band`` coordinate renamed, or the list of new names.

    Raises
    ------
    labkit.errors.BandError
        Two bands would take the same name (``B08`` and ``nir``); the message names them.

    Example
    -------
    >>> to_common_names(["B2", "B3", "B4", "B5", "QA_PIXEL"], "landsat-8/9")
    ['blue', 'green', 'red', 'nir', 'QA_PIXEL']
    """
    names = _cube_band_names(bands)
    renamed = [common_name(b, sensor) or b for b in names]
    for new in set(renamed):
        sources = [old for old, name in zip(names, renamed) if name == new]
        if len(sources) > 1:
            raise BandError(f"Bands {sources} would all be named {new!r}; keep one of them (cube.sel(band=[...])).")
    if isinstance(bands, (str, Sequence)) or not hasattr(bands, "assign_coords"):
        return renamed
    return bands.assign_coords(band=renamed)


def resolve(needed: Iterable[str], bands: Sequence[str], sensor: str | None = None) -> dict[str, str | None]:
    """Which band of ``bands`` stands for each band in ``needed``: itself, else the band of the same common name.

    A needed band is looked for by its name (unless the cube's band of that name is another band of ``sensor``:
    Landsat's ``B11`` is not Sentinel-2's), then by its common name (a needed ``B04`` is read as Sentinel-2's); the
    near infrared may also be played by a narrow near infrared band (:data:`STAND_INS`) when no other is there.

    Parameters
    ----------
    needed : iterable of str
        Band names, usually Sentinel-2's (``B04``) as in index formulas, or common names.
    bands : sequence of str
        The bands a cube has.
    sensor : str, optional
        The sensor of ``bands`` when their names are ambiguous (see :func:`common_name`).

    Returns
    -------
    dict
        ``{needed band: band of the cube, or None when none matches}``.

    Raises
    ------
    labkit.errors.BandError
        Two bands of the cube share the common name that is needed (``red`` and ``SR_B4``): say which one to use
        by renaming or dropping the other.

    Example
    -------
    >>> resolve(["red", "B11"], ["sur_refl_b01", "sur_refl_b02", "sur_refl_b06"])
    {'red': 'sur_refl_b01', 'B11': 'sur_refl_b06'}
    >>> resolve(["B05", "B08"], ["red", "nir08"])
    {'B05': None, 'B08': 'nir08'}
    """
    bands = _cube_band_names(bands)
    by_common: dict[str, list[str]] = {}
    for band in bands:
        if (alias := common_name(band, sensor)) is not None:
            by_common.setdefault(alias, []).append(band)
    found: dict[str, str | None] = {}
    for name in needed:
        alias = common_name(name, "sentinel-2" if _sentinel2_key(name) in _SENTINEL2 else None)
        if name in bands and common_name(name, sensor) in (None, alias):  # Landsat's B11 is not Sentinel-2's
            found[name] = name
            continue
        matches = by_common.get(alias, []) if alias else []
        if not matches and alias in STAND_INS:
            matches = by_common.get(STAND_INS[alias], [])
        if len(matches) > 1:
            raise BandError(f"Bands {matches} of the cube all stand for {alias!r} (needed as {name!r}); keep one "
                            f"of them (cube.sel(band=[...])).")
        found[name] = matches[0] if matches else None
    return found
