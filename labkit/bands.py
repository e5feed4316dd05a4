"""Band names of the sensors labkit reads, and their common names (aliases) shared across sensors.

labkit names bands the way each product names them: ``B04`` for Sentinel-2's red, ``SR_B4`` for Landsat 8/9's,
``sur_refl_b01`` for MODIS's. Each band also has a **common name**, the same on every sensor (those of the STAC
``eo`` extension, with ``swir1``/``swir2`` for the two short-wave infrared bands):

=========== =========== ==================== ===================================
common name Sentinel-2  Landsat 8/9 (OLI)    MODIS (MOD09 / MOD13 layers)
=========== =========== ==================== ===================================
coastal     B01         SR_B1 (B1)
blue        B02         SR_B2 (B2)           sur_refl_b03, blue_reflectance
green       B03         SR_B3 (B3)           sur_refl_b04
red         B04         SR_B4 (B4)           sur_refl_b01, red_reflectance
rededge1-3  B05 B06 B07
nir         B08         SR_B5 (B5)           sur_refl_b02, NIR_reflectance
nir08       B8A
swir1       B11         SR_B6 (B6)           sur_refl_b06
swir2       B12         SR_B7 (B7)           sur_refl_b07, MIR_reflectance
=========== =========== ==================== ===================================

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

from .errors import BandError, ConfigError

COMMON_NAMES = ("coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "watervapour",
                "cirrus", "swir1", "swir2", "pan", "lwir1", "lwir2")
"""Every common name, in order of wavelength."""

SYNONYMS = {"swir16": "swir1", "swir22": "swir2", "nir09": "watervapour", "lwir11": "lwir1", "lwir12": "lwir2",
            "mir": "swir2"}
"""Other spellings of common names (STAC's ``eo:common_name`` values; MODIS's "MIR" band is at 2.1 µm)."""

_SENTINEL2 = {"B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1", "B06": "rededge2",
              "B07": "rededge3", "B08": "nir", "B8A": "nir08", "B09": "watervapour", "B10": "cirrus", "B11": "swir1",
              "B12": "swir2"}
_LANDSAT_OLI = {"B1": "coastal", "B2": "blue", "B3": "green", "B4": "red", "B5": "nir", "B6": "swir1", "B7": "swir2",
                "B8": "pan", "B9": "cirrus", "B10": "lwir1", "B11": "lwir2"}
_MODIS = {"sur_refl_b01": "red", "sur_refl_b02": "nir", "sur_refl_b03": "blue", "sur_refl_b04": "green",
          "sur_refl_b06": "swir1", "sur_refl_b07": "swir2", "red_reflectance": "red", "NIR_reflectance": "nir",
          "blue_reflectance": "blue", "MIR_reflectance": "swir2"}

SENSORS: dict[str, dict[str, str]] = {
    "sentinel-2": _SENTINEL2,
    "landsat-8/9": {**{f"SR_{b}": c for b, c in _LANDSAT_OLI.items() if c not in ("pan", "lwir1", "lwir2", "cirrus")},
                    "ST_B10": "lwir1", **_LANDSAT_OLI},
    "modis": _MODIS,
}
"""``{sensor: {band name: common name}}`` for the sensors labkit knows."""


def _modis_key(band: str) -> str:
    """MOD13 layer names ("250m 16 days red reflectance", "250m_16_days_NIR_reflectance") to the table's keys."""
    text = re.sub(r"^\d+m[ _]16[ _]days[ _]", "", band.strip())
    return re.sub(r"\s+", "_", text)


def _sentinel2_key(band: str) -> str | None:
    """``B2``, ``b02``, ``B8A``, ``B8a`` -> ``B02``, ``B02``, ``B8A``, ``B8A`` (Theia and SAFE spellings)."""
    match = re.fullmatch(r"[Bb]0?(\d{1,2})([Aa]?)", band.strip())
    if match is None:
        return None
    number, suffix = int(match.group(1)), match.group(2).upper()
    return f"B{number}{suffix}" if suffix else f"B{number:02d}"


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
        A band name: a common name (or a synonym such as ``swir16``) is its own.
    sensor : str, optional
        A key of :data:`SENSORS`. Without it, a name that two sensors give to different bands (Landsat's ``B5`` is
        near infrared, Sentinel-2's ``B05`` red edge in Theia's spelling ``B5``) is read as Landsat's only when it
        has no leading zero and Sentinel-2's otherwise; names of one sensor only are unambiguous.

    Example
    -------
    >>> common_name("B8A"), common_name("SR_B6"), common_name("250m 16 days NIR reflectance"), common_name("NDVI")
    ('nir08', 'swir1', 'nir', None)
    >>> common_name("B5", "landsat-8/9"), common_name("B5", "sentinel-2")
    ('nir', 'rededge1')
    """
    text = str(band).strip()
    if text.lower() in COMMON_NAMES or text.lower() in SYNONYMS:
        return SYNONYMS.get(text.lower(), text.lower())
    if sensor is not None and sensor not in SENSORS:
        raise ConfigError(f"Unknown sensor {sensor!r}; known: {list(SENSORS)}.")
    tables = [SENSORS[sensor]] if sensor else list(SENSORS.values())
    for table in tables:
        if sensor == "sentinel-2" and (key := _sentinel2_key(text)) in table:
            return table[key]
        for key in (text, _modis_key(text)):
            if key in table:
                return table[key]
    return None


def resolve(needed: Iterable[str], bands: Sequence[str], sensor: str | None = None) -> dict[str, str | None]:
    """Which band of ``bands`` stands for each band in ``needed``: itself, else the band of the same common name.

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
        Two bands of the cube share the common name that is needed (``B08`` and ``nir``): say which one to use by
        renaming or dropping the other.

    Example
    -------
    >>> resolve(["red", "B11"], ["sur_refl_b01", "sur_refl_b02", "sur_refl_b06"])
    {'red': 'sur_refl_b01', 'B11': 'sur_refl_b06'}
    >>> resolve(["B05"], ["red", "nir"])
    {'B05': None}
    """
    bands = [str(b) for b in bands]
    by_common: dict[str, list[str]] = {}
    for band in bands:
        if (alias := common_name(band, sensor)) is not None:
            by_common.setdefault(alias, []).append(band)
    found: dict[str, str | None] = {}
    for name in needed:
        if name in bands:
            found[name] = name
            continue
        alias = common_name(name, "sentinel-2" if _sentinel2_key(name) in _SENTINEL2 else None)
        matches = by_common.get(alias, []) if alias else []
        if len(matches) > 1:
            raise BandError(f"Bands {matches} of the cube all stand for {alias!r} (needed as {name!r}); keep one "
                            f"of them (cube.sel(band=[...])).")
        found[name] = matches[0] if matches else None
    return found
