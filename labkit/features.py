"""Features: spectral indices, user expressions, user functions and temporal statistics of a (gap-filled) cube.

Takes a cube ``(time, band, y, x)`` from :mod:`labkit.gapfill` and returns the features a classifier learns from.
Comes before sampling (:mod:`labkit.samples`) and the models.

There are two kinds of features, and :func:`compute_features` returns both, as a :class:`Features` pair:

**time-indexed bands**, ``Features.cube``: a cube ``(time, band, y, x)`` with new bands, one value per date.
    Spectral indices from the registry :data:`INDICES` (``indices=["NDVI"]``), arithmetic on band names
    (``expressions={"ratio": "B08 / B04"}``) and user functions that return a series per pixel.
**time-less features**, ``Features.timeless``: a ``DataArray (feature, y, x)``, one value per pixel.
    Temporal statistics of bands (``stats=["max", "amplitude", "doy_of_max"]`` gives ``"NDVI_max"``...) and user
    functions that return one value (or ``k`` values) per pixel.

Any sensor
----------
Index formulas name Sentinel-2's bands; on another sensor's cube, each is played by the cube's band of the same
common name (:mod:`labkit.bands`): NDVI reads ``red`` and ``nir``, ``SR_B4`` and ``SR_B5`` (Landsat 8/9), or
``sur_refl_b01`` and ``sur_refl_b02`` (MODIS). Expressions work the same way (``"B08 / B04"`` on a Landsat cube is
``SR_B5 / SR_B4``). The new bands keep the index's name.

Everything runs block by block: on a dask cube, each spatial chunk (all dates, all bands) goes through one task,
which computes every requested feature of its pixels, and nothing is computed until asked; on a numpy cube, the
whole cube is one block. Values are NaN where they cannot be computed (a division by zero, a missing date).

User functions (iota2's "external features")
--------------------------------------------
``functions={"name": fn}`` runs ``fn(bands)`` on every block, where ``bands`` is a ``dict`` mapping each band
name to a read-only numpy array ``(time, y, x)`` of the block: the cube's bands, then the indices and expressions
of the same call, then the time-indexed outputs of the functions listed before ``fn``. ``fn`` returns a numpy
array, whose shape says what it is:

* ``(time, y, x)``: a new time-indexed band called ``name``;
* ``(y, x)``: one time-less feature called ``name``;
* ``(k, y, x)`` with ``k`` other than the number of dates: ``k`` time-less features ``name_0 ... name_{k-1}``.

Before touching the data, labkit calls ``fn`` once on a made-up block of 2 x 3 pixels (every band uniform in
[0.01, 0.6)) to learn the shape of its output; a block of the data must then give the same kind of output, else a
:class:`~labkit.errors.ConfigError` names the function. A function needs more than the bands (the dates, a
parameter)? Bind it: ``functools.partial(fn, dates=cube.time.values)``.

Example
-------
>>> import numpy as np, labkit.datamodel as dm
>>> cube = dm.make_cube(np.array([0.1, 0.5, 0.2, 0.6]).reshape(2, 2, 1, 1), ["2020-06-01", "2020-06-11"],
...                     ["B04", "B08"], transform=(10, 0, 0, 0, -10, 10), crs="EPSG:32631")
>>> out = compute_features(cube, indices=["NDVI"], stats=["max", "doy_of_max"])
>>> out.cube.band.values.tolist()
['B04', 'B08', 'NDVI']
>>> out.timeless.feature.values.tolist(), out.timeless.values.ravel().round(3).tolist()
(['NDVI_max', 'NDVI_doy_of_max'], [0.667, 153.0])
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import operator
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from . import tiling
from .bands import common_name, resolve
from .datamodel import CUBE_DIMS, validate
from .errors import BandError, ConfigError, DataModelError
from . import params
from .inputs import finite_or_nan

__all__ = [
    "INDICES",
    "STATS",
    "TEMPORAL_STATS",
    "Features",
    "SpectralIndex",
    "available_indices",
    "compute_features",
    "compute_indices",
    "date_of_max",
    "evaluate",
    "expression_bands",
    "feature_bands",
    "index_bands",
    "index_table",
    "temporal_features",
    "temporal_stats",
]

# ------------------------------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class SpectralIndex:
    """A spectral index of the registry :data:`INDICES`.

    Attributes
    ----------
    name : str
    formula : str
        An expression on Sentinel-2 band names (see :func:`evaluate` for what an expression may hold).
    bands : tuple of str
        The bands the formula needs, sorted.
    description : str
        What the index shows, in one sentence.
    reference : str
        Where it comes from.
    """

    name: str
    formula: str
    bands: tuple[str, ...]
    description: str
    reference: str


def _registry(*entries: SpectralIndex) -> dict[str, SpectralIndex]:
    return {entry.name: entry for entry in entries}


#: Spectral indices by name, with their formula on Sentinel-2 band names (B02 blue, B03 green, B04 red, B05 B06 B07
#: red edge at 705, 740 and 783 nm, B08 and B8A near infrared, B11 short-wave infrared at 1610 nm). Any other
#: formula: ``compute_features(cube, expressions={name: formula})``.
INDICES: dict[str, SpectralIndex] = _registry(
    SpectralIndex(
        "NDVI", "(B08 - B04) / (B08 + B04)", ("B04", "B08"),
        "Normalised difference vegetation index: green vegetation reflects near infrared and absorbs red; "
        "about 0.8-0.9 on dense green canopies, near 0 on bare soil, negative on water.",
        "Rouse, Haas, Schell & Deering (1974), Monitoring vegetation systems in the Great Plains with ERTS, "
        "NASA SP-351, 309-317.",
    ),
    SpectralIndex(
        "NDWI", "(B03 - B08) / (B03 + B08)", ("B03", "B08"),
        "Normalised difference water index (green vs near infrared): positive on open water. (iota2's 'NDWI' is "
        "Gao's near infrared vs short-wave infrared index, here NDMI.)",
        "McFeeters (1996), The use of the Normalized Difference Water Index (NDWI) in the delineation of open "
        "water features, Int. J. Remote Sens. 17(7), 1425-1432.",
    ),
    SpectralIndex(
        "NDMI", "(B08 - B11) / (B08 + B11)", ("B08", "B11"),
        "Normalised difference moisture index (near vs short-wave infrared): water content of the canopy.",
        "Gao (1996), NDWI - a normalized difference water index for remote sensing of vegetation liquid water "
        "from space, Remote Sens. Environ. 58(3), 257-266.",
    ),
    SpectralIndex(
        "NDBI", "(B11 - B08) / (B11 + B08)", ("B08", "B11"),
        "Normalised difference built-up index: positive on built-up areas and bare soil.",
        "Zha, Gao & Ni (2003), Use of normalized difference built-up index in automatically mapping urban areas "
        "from TM imagery, Int. J. Remote Sens. 24(3), 583-594.",
    ),
    SpectralIndex(
        "EVI", "2.5 * (B08 - B04) / (B08 + 6 * B04 - 7.5 * B02 + 1)", ("B02", "B04", "B08"),
        "Enhanced vegetation index: like NDVI, corrected for the soil and the atmosphere (blue band), and less "
        "saturated over dense canopies.",
        "Huete, Didan, Miura, Rodriguez, Gao & Ferreira (2002), Overview of the radiometric and biophysical "
        "performance of the MODIS vegetation indices, Remote Sens. Environ. 83(1-2), 195-213.",
    ),
    SpectralIndex(
        "SAVI", "1.5 * (B08 - B04) / (B08 + B04 + 0.5)", ("B04", "B08"),
        "Soil-adjusted vegetation index (L = 0.5): NDVI made less sensitive to the soil under sparse vegetation.",
        "Huete (1988), A soil-adjusted vegetation index (SAVI), Remote Sens. Environ. 25(3), 295-309.",
    ),
    SpectralIndex(
        "brightness", "sqrt(B02 ** 2 + B03 ** 2 + B04 ** 2 + B08 ** 2)", ("B02", "B03", "B04", "B08"),
        "Brightness: the Euclidean norm of the four 10 m bands, as iota2 adds to its default features.",
        "Inglada, Vincent, Arias, Tardy, Morin & Rodes (2017), Operational high resolution land cover map "
        "production at the country scale using satellite image time series, Remote Sens. 9(1), 95.",
    ),
    SpectralIndex(
        "NDRE", "(B8A - B05) / (B8A + B05)", ("B05", "B8A"),
        "Normalised difference red-edge index: chlorophyll content, less saturated than NDVI on dense crops.",
        "Barnes et al. (2000), Coincident detection of crop water stress, nitrogen status and canopy density "
        "using ground-based multispectral data, Proc. 5th Int. Conf. on Precision Agriculture.",
    ),
    SpectralIndex(
        "CIre", "B07 / B05 - 1", ("B05", "B07"),
        "Red-edge chlorophyll index: canopy chlorophyll content, nearly linear in it.",
        "Gitelson, Gritz & Merzlyak (2003), Relationships between leaf chlorophyll content and spectral "
        "reflectance and algorithms for non-destructive chlorophyll assessment in higher plant leaves, J. Plant "
        "Physiol. 160(3), 271-282; with Sentinel-2 bands: Clevers & Gitelson (2013), Int. J. Appl. Earth Obs. "
        "Geoinf. 23, 344-351.",
    ),
    SpectralIndex(
        "MCARI", "((B05 - B04) - 0.2 * (B05 - B03)) * (B05 / B04)", ("B03", "B04", "B05"),
        "Modified chlorophyll absorption in reflectance index: depth of the chlorophyll absorption at 670 nm "
        "relative to 550 and 700 nm.",
        "Daughtry, Walthall, Kim, Brown de Colstoun & McMurtrey (2000), Estimating corn leaf chlorophyll "
        "concentration from leaf and canopy reflectance, Remote Sens. Environ. 74(2), 229-239.",
    ),
    SpectralIndex(
        "S2REP", "705 + 35 * ((B04 + B07) / 2 - B05) / (B06 - B05)", ("B04", "B05", "B06", "B07"),
        "Sentinel-2 red-edge position, in nm (about 700-740): moves to longer wavelengths as chlorophyll "
        "increases.",
        "Frampton, Dash, Watmough & Milton (2013), Evaluating the capabilities of Sentinel-2 for quantitative "
        "estimation of biophysical variables in vegetation, ISPRS J. Photogramm. Remote Sens. 82, 83-92.",
    ),
)


def _unknown_index(names: list[str]) -> ConfigError:
    by_upper = {name.upper(): name for name in INDICES}
    close = {name: by_upper.get(str(name).upper()) or next(iter(difflib.get_close_matches(str(name), INDICES, 1)), None)
             for name in names}
    hints = [f"{name!r}: did you mean {known!r}?" for name, known in close.items() if known]
    return ConfigError(f"Unknown index name(s) {names}{' (' + '; '.join(hints) + ')' if hints else ''}; known: "
                       f"{list(INDICES)}. For your own formula, give expressions (name: band arithmetic).")


def _stand_in_hint(missing: list[str]) -> str:
    """How another sensor's band can play the missing ones: by their common names (empty when they have none)."""
    named = [f"{b}: {alias!r}" for b in missing if (alias := common_name(b, "sentinel-2")) is not None]
    if not named:
        return ""
    return (f" A band of another sensor stands in when named by its common name ({', '.join(named)}) or by a "
            "name in labkit.bands.SENSORS.")


def _aliases(used: Iterable[str], bands: list[str], who: str, allows: bool = False) -> dict[str, str]:
    """``{name used: band of the cube}`` for the bands an index or expression uses, or a BandError naming those
    missing (and their common names); ``allows``: also list the indices the cube allows."""
    found = resolve(used, bands)
    missing = [b for b, band in found.items() if band is None]
    if missing:
        allowed = f" Indices this cube allows: {available_indices(bands)}." if allows else ""
        raise BandError(f"{who} needs band(s) {missing}, which the cube lacks (it has {bands}).{allowed}"
                        + _stand_in_hint(missing))
    return found


def index_bands(name: str, cube=None) -> list[str]:
    """The bands a registered spectral index needs, sorted; given a cube, the cube's bands that play their parts.

    Parameters
    ----------
    name : str
        A name of :data:`INDICES`.
    cube : cube (time, band, y, x), or band names, optional
        Return, in the same order, the bands of this cube that play the index's bands: the same band, or the band
        of the same common name (:func:`labkit.bands.resolve`).

    Raises
    ------
    labkit.errors.ConfigError
        If ``name`` is not in :data:`INDICES`; the message lists the known names.
    labkit.errors.BandError
        The cube lacks a band of the index; the message names it, and its common name.

    Example
    -------
    >>> index_bands("EVI")
    ['B02', 'B04', 'B08']
    >>> index_bands("NDVI", ["sur_refl_b01", "sur_refl_b02"])
    ['sur_refl_b01', 'sur_refl_b02']
    """
    if name not in INDICES:
        raise _unknown_index([name])
    needed = list(INDICES[name].bands)
    if cube is None:
        return needed
    found = _aliases(needed, _band_names(cube), f"The index {name!r}", allows=True)
    return [found[b] for b in needed]


def _band_names(obj) -> list[str]:
    if isinstance(obj, xr.DataArray):
        if "band" not in obj.coords:
            raise DataModelError(f"expected a cube (time, band, y, x) with a 'band' coordinate; got dims {obj.dims}.")
        return [str(b) for b in obj["band"].values]
    if isinstance(obj, str):
        return [obj]
    return [str(b) for b in obj]


def _cube_bands_of(index: SpectralIndex, bands: list[str]) -> list[str] | None:
    """The cube's bands that play the index's, in its order; None when one is missing or ambiguous."""
    try:
        found = resolve(index.bands, bands)
    except BandError:  # two bands of the cube could play one: compute_features says which
        return None
    return None if None in found.values() else [found[b] for b in index.bands]


def available_indices(cube) -> list[str]:
    """The names of the registered indices that can be computed from a cube's bands, in registry order.

    A band of any sensor plays the part of the index's Sentinel-2 band of the same common name (see
    :func:`index_bands`).

    Parameters
    ----------
    cube : cube (time, band, y, x), or an iterable of band names

    Example
    -------
    >>> available_indices(["B02", "B03", "B04", "B08"])
    ['NDVI', 'NDWI', 'EVI', 'SAVI', 'brightness']
    >>> available_indices(["red", "nir", "swir16"])
    ['NDVI', 'NDMI', 'NDBI', 'SAVI']
    """
    bands = _band_names(cube)
    return [name for name, index in INDICES.items() if _cube_bands_of(index, bands) is not None]


def index_table(cube=None) -> pd.DataFrame:
    """The registry :data:`INDICES` as a table: formula, bands (Sentinel-2's and their common names), description,
    reference; given a cube, whether its bands allow each index and which of them it reads.

    Example
    -------
    >>> table = index_table(["SR_B3", "SR_B4", "SR_B5"])
    >>> table.loc["EVI", "common_names"], bool(table.loc["EVI", "available"]), table.loc["NDVI", "cube_bands"]
    ('blue, red, nir', False, 'SR_B4, SR_B5')
    """
    table = pd.DataFrame(
        [{"index": i.name, "formula": i.formula, "bands": ", ".join(i.bands),
          "common_names": ", ".join(common_name(b, "sentinel-2") for b in i.bands), "description": i.description,
          "reference": i.reference} for i in INDICES.values()]
    ).set_index("index")
    if cube is not None:
        bands = _band_names(cube)
        used = [_cube_bands_of(index, bands) for index in INDICES.values()]
        table["available"] = [u is not None for u in used]
        table["cube_bands"] = ["" if u is None else ", ".join(u) for u in used]
    return table


# ------------------------------------------------------------------------------------------------- expressions

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_FUNCTIONS = {"sqrt": np.sqrt, "abs": np.abs, "log": np.log, "exp": np.exp}


def _parse(expression: str) -> ast.Expression:
    if not isinstance(expression, str):
        raise ConfigError(f"An expression must be a string such as '(B08 - B04) / (B08 + B04)'; got "
                          f"{type(expression).__name__} {expression!r}.")
    try:
        return ast.parse(expression, mode="eval")
    except SyntaxError as error:
        raise ConfigError(f"Cannot parse the expression {expression!r}: {error.msg}.") from None


def expression_bands(expression: str) -> list[str]:
    """The band names an expression uses, sorted.

    Example
    -------
    >>> expression_bands("(B08 - B04) / (B08 + B04)")
    ['B04', 'B08']
    """
    tree = _parse(expression)
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - calls)


def _walk(node, expression: str, lookup: Callable[[str], object]):
    """Evaluate an expression's tree with ``lookup(band name)``; with ``lookup=None``, only check what it holds."""
    if isinstance(node, ast.Expression):
        return _walk(node.body, expression, lookup)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name):
        return lookup(node.id) if lookup else None
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _walk(node.left, expression, lookup), _walk(node.right, expression, lookup)
        return _BINARY[type(node.op)](left, right) if lookup else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _walk(node.operand, expression, lookup)
        return (-value if isinstance(node.op, ast.USub) else value) if lookup else None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
            and len(node.args) == 1 and not node.keywords):
        value = _walk(node.args[0], expression, lookup)
        return _FUNCTIONS[node.func.id](value) if lookup else None
    raise ConfigError(f"The expression {expression!r} uses {ast.unparse(node)!r}, which is not allowed: use "
                      f"numbers, band names, + - * / ** and {sorted(_FUNCTIONS)}.")


def _check_expression(expression: str, bands: list[str]) -> dict[str, str]:
    """Refuse, before any computing, an expression that uses no band, a missing band or a forbidden construct;
    return ``{name used: band of the cube}`` (a band of the same common name where the cube lacks the name)."""
    used = expression_bands(expression)
    if not used:
        raise ConfigError(f"The expression {expression!r} uses no band: it would give the same number everywhere. "
                          f"Use band names of the cube ({bands}).")
    found = _aliases(used, bands, f"The expression {expression!r}")
    _walk(_parse(expression), expression, None)
    return found


def feature_bands(cube, indices=(), expressions=None) -> dict[str, dict[str, str]]:
    """The cube's bands that each index and expression reads, checked before any computing.

    Parameters
    ----------
    cube : cube (time, band, y, x), or band names, or None
        None: check the names and the expressions alone (each reads its own band names), as before any cube is open.
    indices : list of str
        Names of :data:`INDICES`.
    expressions : dict of str to str, optional
        ``{new band: expression}`` (:func:`evaluate`).

    Returns
    -------
    dict
        ``{new band: {band name it uses: band of the cube}}``, indices first: the cube's band is the same name, or
        the band of the same common name (:func:`labkit.bands.resolve`).

    Raises
    ------
    labkit.errors.ConfigError
        An unknown index, an expression that cannot be parsed, uses no band or a forbidden construct, or a new band
        named twice.
    labkit.errors.BandError
        The cube lacks a band that an index or expression needs; the message names the index or expression.

    Example
    -------
    >>> feature_bands(["sur_refl_b01", "sur_refl_b02"], ["NDVI"], {"ratio": "B08 / B04"})
    {'NDVI': {'B04': 'sur_refl_b01', 'B08': 'sur_refl_b02'}, 'ratio': {'B04': 'sur_refl_b01', 'B08': 'sur_refl_b02'}}
    >>> feature_bands(None, ["NDVI"])
    {'NDVI': {'B04': 'B04', 'B08': 'B08'}}
    """
    bands = None if cube is None else _band_names(cube)
    index_names = _names(indices, "indices")
    expressions = _mapping(expressions, "expressions", "{name: expression}")
    unknown = [n for n in index_names if n not in INDICES]
    if unknown:
        raise _unknown_index(unknown)
    found = {name: _aliases(INDICES[name].bands, INDICES[name].bands if bands is None else bands,
                            f"The index {name!r}", allows=True) for name in index_names}
    for name, expression in expressions.items():
        if name in found:
            raise ConfigError(f"compute_features: the new band {name!r} would have the name of another new band "
                              "(choose another name).")
        found[name] = _check_expression(expression, expression_bands(expression) if bands is None else bands)
    return found


def _expression_entry(name: str, text: str, found: dict[str, str]) -> tuple:
    """A new band of the plan: ``(name, "expression", (text, ((name used, band of the cube), ...)))``."""
    return name, "expression", (text, tuple((used, band) for used, band in found.items() if used != band))


def _evaluate(what: tuple, bands: Mapping[str, np.ndarray]):
    """The value of an expression of the plan, ``(text, ((name used, band of the cube), ...))``, on ``bands``."""
    text, aliases = what
    aliases = dict(aliases)
    return _walk(_parse(text), text, lambda name: bands[aliases.get(name, name)])


def evaluate(expression: str, cube: xr.DataArray) -> xr.DataArray:
    """Evaluate an arithmetic expression on band names of a cube; returns ``(time, y, x)``.

    Only numbers, band names, ``+ - * / **``, unary minus and the functions sqrt, abs, log, exp are allowed;
    anything else (attributes, other calls, strings...) is refused before anything is computed. A band name the
    cube lacks reads the cube's band of the same common name (``B08`` is ``SR_B5`` on a Landsat cube). A division by
    zero or the log of a negative number gives NaN. Lazy on a dask cube.

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.array([0.1, 0.5]).reshape(1, 2, 1, 1), ["2020-06-01"], ["B04", "B08"],
    ...                     transform=(10, 0, 0, 0, -10, 10), crs="EPSG:32631")
    >>> evaluate("(B08 - B04) / (B08 + B04)", cube).values.round(4).ravel().tolist()
    [0.6667]
    """
    name = "__expression__"
    series = compute_features(cube, expressions={name: expression}, keep_bands=False).cube
    return series.sel(band=name, drop=True).rename(None)


# ------------------------------------------------------------------------------------------ temporal statistics

#: Statistics over time of :func:`temporal_stats` (numpy arrays, samples): ``argmax`` is the position of the peak.
STATS = ("min", "max", "mean", "std", "amplitude", "argmax")
#: Statistics over time of :func:`compute_features` and :func:`temporal_features` (cubes, which have dates): those
#: of :data:`STATS`, and the day of year (1-366) of the maximum and of the minimum.
TEMPORAL_STATS = STATS + ("doy_of_max", "doy_of_min")
_DEFAULT_TEMPORAL = ("min", "max", "mean", "std", "amplitude", "doy_of_max")


def _reduce_time(values: np.ndarray, stats: Iterable[str], doy: np.ndarray | None = None) -> list[np.ndarray]:
    """NaN-aware statistics over axis 0 of ``values``, one array per statistic (float64 where averaged).

    A series without any value gives NaN for every statistic; ``±inf`` is no value, as NaN is. ``doy``: day of year
    of each position along axis 0.
    """
    nan = ~np.isfinite(values)
    if values.dtype.kind == "f" and np.isinf(values).any():  # a pass, not a copy of the missing values
        values = np.where(nan, np.nan, values)  # ±inf: not an observation
    empty = nan.all(axis=0)
    cache: dict[str, np.ndarray] = {}

    def get(stat: str) -> np.ndarray:
        if stat in cache:
            return cache[stat]
        if stat == "max":
            result = np.fmax.reduce(values, axis=0)  # fmax skips NaN, and gives NaN only where all are
        elif stat == "min":
            result = np.fmin.reduce(values, axis=0)
        elif stat == "amplitude":
            result = get("max") - get("min")
        elif stat == "count":
            result = values.shape[0] - nan.sum(axis=0)
        elif stat == "mean":
            result = np.where(nan, 0, values).sum(axis=0, dtype=np.float64) / get("count")
        elif stat == "std":
            deviation = np.where(nan, 0, values - get("mean").astype(values.dtype))
            result = np.sqrt(np.square(deviation).sum(axis=0, dtype=np.float64) / get("count"))
        elif stat in ("argmax", "argmin"):
            # The first position that holds the extreme: a pass per date, much faster than np.argmax along axis 0.
            extreme = get(stat[3:])
            result = np.full(extreme.shape, np.nan)
            for t in range(values.shape[0] - 1, -1, -1):
                result[values[t] == extreme] = t
        elif stat in ("doy_of_max", "doy_of_min"):
            position = get("arg" + stat[7:])
            result = np.where(empty, np.nan, doy[np.where(empty, 0, position).astype(np.intp)])
        else:  # pragma: no cover - callers check the names
            raise AssertionError(stat)
        cache[stat] = result
        return result

    with np.errstate(invalid="ignore", divide="ignore"):
        results = [get(stat) for stat in stats]
    del get  # it refers to itself: without this, the block's arrays wait for the cycle collector
    return results


def _check_stats(stats: Iterable[str], allowed: tuple[str, ...]) -> list[str]:
    stats = [stats] if isinstance(stats, str) else list(stats)
    unknown = [s for s in stats if s not in allowed]
    if unknown:
        raise ConfigError(f"Unknown temporal statistic(s) {unknown}; choose from {allowed}.")
    return stats


def temporal_stats(values: np.ndarray, stats: Iterable[str] = STATS, *, axis: int = 1) -> np.ndarray:
    """Statistics over the time axis of an array, stacked on a new last axis.

    ``argmax`` is the position of the maximum along time (the first one on ties). NaN values are ignored; a
    series with no value at all gives NaN. For cubes, which have dates, see :func:`temporal_features`.

    Example
    -------
    >>> temporal_stats(np.array([[[0.2], [0.8], [0.5]]]), ["max", "amplitude", "argmax"]).round(2).tolist()
    [[[0.8, 0.6, 1.0]]]
    """
    stats = _check_stats(stats, STATS)
    values = np.ascontiguousarray(np.moveaxis(values, axis, 0), dtype="float64")  # reductions over time: contiguous
    return np.stack(_reduce_time(values, stats), axis=-1)


# ------------------------------------------------------------------------------------------- the block engine


class Features(NamedTuple):
    """What :func:`compute_features` returns: a pair of DataArrays (unpack it, or use the names).

    Attributes
    ----------
    cube : xarray.DataArray (time, band, y, x)
        The time-indexed bands: the input cube's bands (unless ``keep_bands=False``), then the new ones; float
        (the cube's float type, float32 for an integer cube).
    timeless : xarray.DataArray (feature, y, x)
        The time-less features, float, on the cube's grid; ``feature`` holds their names (``"NDVI_max"``...).
    """

    cube: xr.DataArray
    timeless: xr.DataArray


@dataclass(frozen=True)
class _Plan:
    """What one block must compute; the same plan runs on every block."""

    bands: tuple[str, ...]  # the cube's bands
    keep_bands: bool  # copy them first into the output's time-indexed bands
    dtype: str  # of every output
    series: tuple  # ((name, "expression", (text, aliases)) | (name, "function", fn), ...): the new bands
    timeless_functions: tuple  # ((name, fn, k or None, first feature row), ...)
    stats: tuple  # ((band, (stat, ...), first feature row), ...)
    doy: tuple[float, ...]  # day of year of each date
    n_features: int
    order: tuple  # ("series", i) or ("timeless", j): functions in the order given, after expressions

    @property
    def n_series(self) -> int:
        """Number of time-indexed bands out: the cube's (if kept), then the new ones."""
        return len(self.series) + (len(self.bands) if self.keep_bands else 0)


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


def _shape_problem(name: str, shape: tuple, n_time: int, ny: int, nx: int, expected: str | None = None) -> str:
    wanted = (f"(time, y, x) = {(n_time, ny, nx)} for a new band, (y, x) = {(ny, nx)} for one time-less feature, or "
              f"(k, y, x) for k time-less features")
    got = f"an array of shape {shape}" if shape is not None else "no array"
    where = f"a block of {n_time} dates x {ny} x {nx} pixels"
    message = f"The function {name!r} returned {got} for {where}; it must return {wanted}."
    if expected:
        message += f" On the test block it returned {expected}, and it must return the same kind on every block."
    return message


def _call(name: str, fn, bands: dict, n_time: int, ny: int, nx: int) -> np.ndarray:
    result = fn(bands)
    try:
        return np.asarray(result)
    except Exception:  # noqa: BLE001 - anything that is not an array gets the same message
        raise ConfigError(_shape_problem(name, None, n_time, ny, nx) + f" Got {type(result).__name__}.") from None


def _run_block(block: np.ndarray, plan: _Plan) -> np.ndarray:
    """Compute every feature of one block ``(time, band, y, x)``.

    Returns one array ``(time * n_series + n_features, y, x)``: the time-indexed bands ``(time, band)`` flattened
    (the cube's own first when kept), then the time-less features.
    """
    n_time, _, ny, nx = block.shape
    dtype = np.dtype(plan.dtype)
    out = np.empty((n_time * plan.n_series + plan.n_features, ny, nx), dtype)
    series = out[: n_time * plan.n_series].reshape(n_time, plan.n_series, ny, nx)
    timeless = out[n_time * plan.n_series:]
    first = len(plan.bands) if plan.keep_bands else 0
    if plan.keep_bands:  # the kept bands are the copy the features read: no other copy of the block
        series[:, :first] = block
        values = finite_or_nan(series[:, :first])  # ±inf is not an observation: NaN, in place
    else:  # the block as it comes (maybe a transposed view: numpy's loops follow its memory order)
        values = block if block.dtype == dtype else block.astype(dtype)
    bands = {name: _read_only(values[:, i]) for i, name in enumerate(plan.bands)}

    def store(slot: np.ndarray, result) -> None:
        np.copyto(slot, result, casting="unsafe")
        slot[~np.isfinite(slot)] = np.nan  # a division by zero, the log of 0: not a number

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for kind, i in plan.order:
            if kind == "series":
                name, how, what = plan.series[i]
                slot = series[:, first + i]
                if how == "expression":
                    store(slot, _evaluate(what, bands))
                else:
                    result = _call(name, what, dict(bands), n_time, ny, nx)
                    if result.shape != (n_time, ny, nx):
                        raise ConfigError(_shape_problem(name, result.shape, n_time, ny, nx,
                                                         f"(time, y, x), a new band {name!r}"))
                    store(slot, result)
                bands[name] = _read_only(slot)
            else:
                name, fn, k, row = plan.timeless_functions[i]
                result = _call(name, fn, dict(bands), n_time, ny, nx)
                shape = (ny, nx) if k is None else (k, ny, nx)
                if result.shape != shape:
                    expected = "(y, x), one feature" if k is None else f"(k, y, x) with k = {k}"
                    raise ConfigError(_shape_problem(name, result.shape, n_time, ny, nx, expected))
                store(timeless[row: row + (1 if k is None else k)], result.reshape(-1, ny, nx))
        doy = np.asarray(plan.doy, np.float64)
        for band, stats, row in plan.stats:
            for j, layer in enumerate(_reduce_time(bands[band], stats, doy)):
                np.copyto(timeless[row + j], layer, casting="unsafe")
    return out


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _probe(name: str, fn, bands: dict, n_time: int) -> np.ndarray:
    """Call a user function on the made-up test block; return its output."""
    try:
        with _quiet():
            result = fn(dict(bands))
    except Exception as error:
        raise ConfigError(f"The function {name!r} failed on a test block of {n_time} dates x 2 x 3 pixels (every "
                          f"band uniform in [0.01, 0.6)): {type(error).__name__}: {error}. A feature function takes "
                          "a dict {band name: array (time, y, x)} and returns an array.") from error
    try:
        return np.asarray(result)
    except Exception:  # noqa: BLE001
        raise ConfigError(_shape_problem(name, None, n_time, 2, 3) + f" Got {type(result).__name__}.") from None


def _names(arg, what: str) -> list[str]:
    if arg is None:
        return []
    if isinstance(arg, str):
        return [arg]
    if isinstance(arg, Mapping) or not isinstance(arg, Iterable):
        raise ConfigError(f"compute_features: {what} must be a list of names; got {type(arg).__name__}.")
    return [str(a) for a in arg]


def _mapping(arg, what: str, example: str) -> dict:
    if arg is None:
        return {}
    if not isinstance(arg, Mapping):
        raise ConfigError(f"compute_features: {what} must be a mapping {example}; got {type(arg).__name__}.")
    for key in arg:
        if not isinstance(key, str) or not key:
            raise ConfigError(f"compute_features: the names in {what} must be non-empty strings; got {key!r}.")
    return dict(arg)


def _plan(cube: xr.DataArray, indices, expressions, functions, stats,
          keep_bands: bool) -> tuple[_Plan, list[str], list[str]]:
    """Check every argument against the cube and settle what each block computes (no data is read)."""
    bands = _band_names(cube)
    index_names = _names(indices, "indices")
    expressions = _mapping(expressions, "expressions", "{name: expression}")
    functions = _mapping(functions, "functions", "{name: function}")

    formulas = {**{name: INDICES[name].formula for name in index_names if name in INDICES}, **expressions}
    series = [_expression_entry(name, formulas[name], found)
              for name, found in feature_bands(bands, index_names, expressions).items()]

    taken = {b: "a band of the cube (choose another name, or pass keep_bands=False)" for b in bands} \
        if keep_bands else {}
    for name, _, _ in series:
        if name in taken:
            raise ConfigError(f"compute_features: the new band {name!r} would have the name of {taken[name]}.")
        taken[name] = "another new band (choose another name)"

    # The test block: the cube's bands, uniform in [0.01, 0.6), then what the expressions make of them.
    dtype = cube.dtype if np.issubdtype(cube.dtype, np.floating) else np.dtype(np.float32)
    n_time = cube.sizes["time"]
    rng = np.random.default_rng(0)
    probe = {b: _read_only(rng.uniform(0.01, 0.6, (n_time, 2, 3)).astype(dtype)) for b in bands}
    with _quiet():
        for name, _, expression in series:
            probe[name] = _read_only(np.asarray(_evaluate(expression, probe), dtype))

    order = [("series", i) for i in range(len(series))]
    timeless_functions: list[tuple] = []
    feature_names: list[str] = []
    for name, fn in functions.items():
        if not callable(fn):
            raise ConfigError(f"compute_features: functions[{name!r}] must be a function of a dict {{band name: "
                              f"array (time, y, x)}}; got {type(fn).__name__}.")
        result = _probe(name, fn, probe, n_time)
        if result.shape == (n_time, 2, 3):
            if name in taken:
                raise ConfigError(f"compute_features: the function {name!r} makes a new band with the name of "
                                  f"{taken[name]}.")
            taken[name] = "another new band (choose another name)"
            order.append(("series", len(series)))
            series.append((name, "function", fn))
            probe[name] = _read_only(result.astype(dtype))
        elif result.shape == (2, 3) or (result.ndim == 3 and result.shape[1:] == (2, 3)):
            k = None if result.ndim == 2 else result.shape[0]
            order.append(("timeless", len(timeless_functions)))
            timeless_functions.append((name, fn, k, len(feature_names)))
            feature_names += [name] if k is None else [f"{name}_{j}" for j in range(k)]
        else:
            raise ConfigError(_shape_problem(name, result.shape, n_time, 2, 3))

    new_bands = [name for name, _, _ in series]
    if stats is None:
        requests = {}
    elif isinstance(stats, Mapping):
        requests = {str(band): _check_stats(s, TEMPORAL_STATS) for band, s in stats.items()}
        known = bands + new_bands
        missing = [b for b in requests if b not in known]
        if missing:
            raise BandError(f"compute_features: stats asks for band(s) {missing}, which neither the cube nor this "
                            f"call's new bands hold (there are {known}).")
    else:
        wanted = _check_stats(stats, TEMPORAL_STATS)
        requests = {band: wanted for band in (new_bands or bands)} if wanted else {}
    stat_plan = []
    for band, wanted in requests.items():
        stat_plan.append((band, tuple(wanted), len(feature_names)))
        feature_names += [f"{band}_{s}" for s in wanted]
    dupes = sorted({f for f in feature_names if feature_names.count(f) > 1})
    if dupes:
        raise ConfigError(f"compute_features: the time-less feature name(s) {dupes} would occur more than once; "
                          "rename the functions or drop the repeated statistics.")

    doy = tuple(float(d) for d in pd.DatetimeIndex(cube["time"].values).day_of_year)
    return _Plan(bands=tuple(bands), keep_bands=bool(keep_bands), dtype=np.dtype(dtype).str, series=tuple(series),
                 timeless_functions=tuple(timeless_functions), stats=tuple(stat_plan), doy=doy,
                 n_features=len(feature_names), order=tuple(order)), new_bands, feature_names


def compute_features(
    cube: xr.DataArray,
    *,
    indices: Iterable[str] | None = None,
    expressions: Mapping[str, str] | None = None,
    functions: Mapping[str, Callable[[dict], np.ndarray]] | None = None,
    stats: Iterable[str] | Mapping[str, Iterable[str]] | None = None,
    keep_bands: bool = True,
) -> Features:
    """Compute spectral indices, expressions, user functions and temporal statistics of a cube, block by block.

    Parameters
    ----------
    cube : cube (time, band, y, x)
        Numpy- or dask-backed; with dask, each chunk must hold every date and every band. Integer cubes
        (reflectance x 10 000) give float32 features.
    indices : list of str, optional
        Names from :data:`INDICES` (see :func:`available_indices`), added as time-indexed bands. On a cube of
        another sensor than Sentinel-2, its bands of the same common names play the formula's (:func:`index_bands`).
    expressions : dict {name: expression}, optional
        Arithmetic on band names (``"(B08 - B04) / (B08 + B04)"``, see :func:`evaluate`), added as time-indexed
        bands. They may use the cube's bands only (by their names, or as for indices by a band of the same common
        name).
    functions : dict {name: function}, optional
        User functions of a dict ``{band name: array (time, y, x)}`` (see the module's documentation for the
        contract): each adds a time-indexed band or time-less features, depending on the shape it returns.
    stats : list of str, or dict {band: list of str}, optional
        Temporal statistics among :data:`TEMPORAL_STATS`, as time-less features named ``"{band}_{stat}"``. A
        list applies to every new time-indexed band of this call (or, when there is none, to every band of the
        cube); a dict says which statistics of which bands (the cube's or the new ones). NaN values are
        ignored; a pixel without any value gives NaN.
    keep_bands : bool, default True
        Keep the cube's bands before the new ones in ``Features.cube`` (copied, as floats).

    Returns
    -------
    Features
        ``(cube, timeless)``: the time-indexed bands ``(time, band, y, x)`` and the time-less features
        ``(feature, y, x)``; either may be empty. Lazy when the input is dask-backed: both come from one task
        per block, so compute them together (``dask.compute(out.cube, out.timeless)``) to read each block once.

    Raises
    ------
    labkit.errors.ConfigError
        An unknown index or statistic, a forbidden expression, a function that fails or returns a wrong shape
        (naming it), a name used twice.
    labkit.errors.BandError
        An index, expression or statistic needs a band the cube lacks; the message names it.
    labkit.errors.DataModelError
        The cube is not a cube, or a dask chunk does not hold every date and band.

    See Also
    --------
    temporal_features : the statistics alone.
    labkit.gapfill.fill_gaps : the stage before.

    Example
    -------
    >>> from labkit.datasets import load_bolzano
    >>> cube = load_bolzano().cube
    >>> def red_share(b):  # a time-indexed feature: the red's share of the visible light
    ...     return b["B04"] / (b["B02"] + b["B03"] + b["B04"])
    >>> out = compute_features(cube, indices=["NDVI", "NDWI"], functions={"red_share": red_share},
    ...                        stats={"NDVI": ["max", "doy_of_max"]}, keep_bands=False)
    >>> out.cube.band.values.tolist(), out.timeless.feature.values.tolist()
    (['NDVI', 'NDWI', 'red_share'], ['NDVI_max', 'NDVI_doy_of_max'])
    >>> compute_features(cube, indices=["NDMI"])
    Traceback (most recent call last):
    ...
    labkit.errors.BandError: The index 'NDMI' needs band(s) ['B11'], which the cube lacks (it has ['B02', 'B03', \
'B04', 'B08']). Indices this cube allows: ['NDVI', 'NDWI', 'EVI', 'SAVI', 'brightness']. A band of another sensor \
stands in when named by its common name (B11: 'swir1') or by a name in labkit.bands.SENSORS.
    """
    validate(cube, "cube")
    keep_bands = params.flag(keep_bands, "keep_bands", "compute_features")
    if cube.chunks is not None:
        for dim, chunks in zip(("time", "band"), cube.chunks[:2]):
            if len(chunks) > 1:
                raise DataModelError(
                    f"compute_features: a dask chunk must hold every date and every band, but '{dim}' is split into "
                    f"{len(chunks)} chunks. Rechunk first: cube.chunk({{'time': -1, 'band': -1}})."
                )
    plan, new_bands, feature_names = _plan(cube, indices, expressions, functions, stats, keep_bands)
    n_time, _, ny, nx = cube.shape
    n_rows = n_time * plan.n_series + plan.n_features
    packed = tiling.map_blocks(_run_block, cube, new_dims={"row": n_rows}, dtype=plan.dtype, name="features",
                               kwargs={"plan": plan}).data
    series_data = packed[: n_time * plan.n_series].reshape(n_time, plan.n_series, ny, nx)
    grid = {"y": cube["y"], "x": cube["x"]}
    crs, transform = cube.rio.crs, cube.rio.transform()

    series = xr.DataArray(series_data, dims=CUBE_DIMS, name=cube.name if keep_bands else None,
                          coords={"time": cube["time"], "band": (_band_names(cube) if keep_bands else []) + new_bands,
                                  **grid}, attrs=dict(cube.attrs) if keep_bands else {})
    series = series.rio.write_crs(crs, inplace=True).rio.write_transform(transform, inplace=True)

    timeless = xr.DataArray(packed[n_time * plan.n_series:], dims=("feature", "y", "x"),
                            coords={"feature": feature_names, **grid}, name="features")
    timeless = timeless.rio.write_crs(crs, inplace=True).rio.write_transform(transform, inplace=True)
    return Features(series, timeless)


def compute_indices(
    cube: xr.DataArray, names: Iterable[str] | Mapping[str, str], *, keep_bands: bool = True
) -> xr.DataArray:
    """Add spectral indices to a cube as new bands: ``compute_features(...).cube`` for indices alone.

    Parameters
    ----------
    cube : cube (time, band, y, x)
    names : names from :data:`INDICES`, or a mapping ``{new band name: expression}`` for user expressions.
    keep_bands : bool, default True
        Keep the cube's bands before the new ones; otherwise return only the indices.

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.array([0.1, 0.5]).reshape(1, 2, 1, 1), ["2020-06-01"], ["B04", "B08"],
    ...                     transform=(10, 0, 0, 0, -10, 10), crs="EPSG:32631")
    >>> compute_indices(cube, ["NDVI"]).band.values.tolist()
    ['B04', 'B08', 'NDVI']
    """
    if isinstance(names, Mapping):
        return compute_features(cube, expressions=names, keep_bands=keep_bands).cube
    return compute_features(cube, indices=names, keep_bands=keep_bands).cube


def temporal_features(
    cube: xr.DataArray, stats: Iterable[str] = _DEFAULT_TEMPORAL, *, bands: Iterable[str] | None = None
) -> xr.DataArray:
    """Temporal statistics of a cube's bands as time-less features ``(feature, y, x)``, named ``"{band}_{stat}"``.

    Parameters
    ----------
    cube : cube (time, band, y, x)
        Typically gap-filled (:func:`labkit.gapfill.fill_gaps`); NaN values are ignored, and a pixel without any
        value gives NaN.
    stats : list of str, default ``("min", "max", "mean", "std", "amplitude", "doy_of_max")``
        Among :data:`TEMPORAL_STATS`: ``min``, ``max``, ``mean``, ``std`` (population, ddof=0), ``amplitude``
        (max - min), ``argmax`` (position of the maximum along time, the first on ties), ``doy_of_max`` and
        ``doy_of_min`` (day of year 1-366 of the date of the maximum or minimum). For the dates themselves, see
        :func:`date_of_max`.
    bands : list of str, optional
        Default: every band of the cube.

    Returns
    -------
    xarray.DataArray (feature, y, x)
        Lazy when the cube is dask-backed.

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.array([0.2, 0.9, np.nan]).reshape(3, 1, 1, 1), ["2021-03-01", "2021-06-01",
    ...                     "2021-09-01"], ["NDVI"], transform=(10, 0, 0, 0, -10, 10), crs="EPSG:32631")
    >>> features = temporal_features(cube, ["max", "amplitude", "doy_of_max"])
    >>> dict(zip(features.feature.values.tolist(), features.values.ravel().round(2).tolist()))
    {'NDVI_max': 0.9, 'NDVI_amplitude': 0.7, 'NDVI_doy_of_max': 152.0}
    """
    names = _band_names(cube) if bands is None else _names(bands, "bands")
    stats = _check_stats(stats, TEMPORAL_STATS)
    return compute_features(cube, stats={band: stats for band in names}, keep_bands=False).timeless


def date_of_max(cube: xr.DataArray) -> xr.DataArray:
    """The date of each band's maximum over time, per pixel: ``(band, y, x)`` of ``datetime64[ns]``.

    NaN values are ignored; a pixel without any value gives NaT. On ties, the first date. Lazy on a dask cube.

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.array([0.2, np.nan, 0.9, np.nan]).reshape(2, 1, 1, 2), ["2021-03-01",
    ...                     "2021-06-01"], ["NDVI"], transform=(10, 0, 0, 0, -10, 10), crs="EPSG:32631")
    >>> np.datetime_as_string(date_of_max(cube).values.ravel(), unit="D").tolist()
    ['2021-06-01', 'NaT']
    """
    validate(cube, "cube")
    times = np.asarray(cube["time"].values, "datetime64[ns]")
    position = temporal_features(cube, ["argmax"])  # (band, y, x) as features "{band}_argmax"

    def to_dates(p: np.ndarray) -> np.ndarray:
        found = np.isfinite(p)
        return np.where(found, times[np.where(found, p, 0).astype(np.intp)], np.datetime64("NaT", "ns"))

    dates = xr.apply_ufunc(to_dates, position, dask="parallelized", output_dtypes=[times.dtype])
    dates = dates.rename(feature="band").assign_coords(band=_band_names(cube)).rename("date_of_max")
    return dates.rio.write_crs(cube.rio.crs, inplace=True).rio.write_transform(cube.rio.transform(), inplace=True)
