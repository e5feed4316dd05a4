"""Features: spectral indices and temporal statistics computed from a (gap-filled) cube.

Takes a cube from :mod:`labkit.gapfill` and returns a cube with more bands (:func:`compute_indices`), or per-pixel
statistics over time (:func:`temporal_stats`). Comes before sampling (:mod:`labkit.samples`) and the models.
"""

from __future__ import annotations

import ast
import contextlib
import operator
import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import xarray as xr

from .datamodel import validate
from .errors import BandError, ConfigError

#: Spectral indices by name: a formula on Sentinel-2 band names (a user may add any with :func:`compute_indices`).
INDICES: dict[str, str] = {
    "NDVI": "(B08 - B04) / (B08 + B04)",
    "NDWI": "(B03 - B08) / (B03 + B08)",
    "NDMI": "(B08 - B11) / (B08 + B11)",
    "NDBI": "(B11 - B08) / (B11 + B08)",
    "EVI": "2.5 * (B08 - B04) / (B08 + 6 * B04 - 7.5 * B02 + 1)",
    "SAVI": "1.5 * (B08 - B04) / (B08 + B04 + 0.5)",
    "NDRE": "(B8A - B05) / (B8A + B05)",
    "brightness": "sqrt(B02 ** 2 + B03 ** 2 + B04 ** 2 + B08 ** 2)",
}

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_FUNCTIONS = {"sqrt": np.sqrt, "abs": np.abs, "log": np.log, "exp": np.exp}


def expression_bands(expression: str) -> list[str]:
    """The band names an expression uses.

    Example
    -------
    >>> expression_bands("(B08 - B04) / (B08 + B04)")
    ['B04', 'B08']
    """
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as error:
        raise ConfigError(f"Cannot parse the expression {expression!r}: {error.msg}.") from None
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - calls)


def evaluate(expression: str, cube: xr.DataArray) -> xr.DataArray:
    """Evaluate an arithmetic expression on band names of a cube; returns ``(time, y, x)``.

    Only numbers, band names, ``+ - * / **``, unary minus and the functions sqrt, abs, log, exp are allowed.

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.array([0.1, 0.5]).reshape(1, 2, 1, 1), ["2020-06-01"], ["B04", "B08"],
    ...                     transform=(10, 0, 0, 0, -10, 10), crs="EPSG:32631")
    >>> evaluate("(B08 - B04) / (B08 + B04)", cube).values.round(4).ravel().tolist()
    [0.6667]
    """
    bands = [str(b) for b in cube.band.values]
    used = expression_bands(expression)
    if not used:
        raise ConfigError(f"The expression {expression!r} uses no band: it would give the same number everywhere. "
                          f"Use band names of the cube ({bands}).")
    missing = [b for b in used if b not in bands]
    if missing:
        raise BandError(f"The expression {expression!r} needs band(s) {missing}, which the cube lacks "
                        f"(it has {bands}).")

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name):
            return cube.sel(band=node.id, drop=True)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
                and len(node.args) == 1 and not node.keywords):
            return _FUNCTIONS[node.func.id](walk(node.args[0]))
        raise ConfigError(f"The expression {expression!r} uses {ast.unparse(node)!r}, which is not allowed: use "
                          f"numbers, band names, + - * / ** and {sorted(_FUNCTIONS)}.")

    with np.errstate(divide="ignore", invalid="ignore"):
        result = walk(ast.parse(expression, mode="eval"))
    return result.where(np.isfinite(result))


def compute_indices(
    cube: xr.DataArray, names: Iterable[str] | Mapping[str, str], *, keep_bands: bool = True
) -> xr.DataArray:
    """Add spectral indices to a cube as new bands.

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
    validate(cube, "cube")
    if isinstance(names, Mapping):
        formulas = dict(names)
    else:
        unknown = [n for n in names if n not in INDICES]
        if unknown:
            raise ConfigError(f"Unknown index name(s) {unknown}; known: {sorted(INDICES)}. "
                              "Pass a mapping {name: expression} for your own.")
        formulas = {n: INDICES[n] for n in names}
    # Indices are real numbers even when the cube holds integers (reflectance stored as int16 x 10 000).
    dtype = cube.dtype if np.issubdtype(cube.dtype, np.floating) else np.float32
    layers = [evaluate(f, cube).astype(dtype).expand_dims(band=[n]) for n, f in formulas.items()]
    parts = ([cube] if keep_bands else []) + [layer.transpose(*cube.dims) for layer in layers]
    out = xr.concat(parts, dim="band", coords="minimal", compat="override", join="exact")
    return out.rio.write_crs(cube.rio.crs)


STATS = ("min", "max", "mean", "std", "amplitude", "argmax")


def temporal_stats(values: np.ndarray, stats: Iterable[str] = STATS, *, axis: int = 1) -> np.ndarray:
    """Statistics over the time axis of an array, stacked on a new last axis.

    ``argmax`` is the position of the maximum along time (the date of the peak). NaN values are ignored.

    Example
    -------
    >>> temporal_stats(np.array([[[0.2], [0.8], [0.5]]]), ["max", "amplitude", "argmax"]).round(2).tolist()
    [[[0.8, 0.6, 1.0]]]
    """
    unknown = [s for s in stats if s not in STATS]
    if unknown:
        raise ConfigError(f"Unknown temporal statistic(s) {unknown}; choose from {STATS}.")
    values = np.asarray(values, dtype="float64")
    filled = np.where(np.isnan(values), -np.inf, values)
    functions = {
        "min": lambda v: np.nanmin(v, axis=axis),
        "max": lambda v: np.nanmax(v, axis=axis),
        "mean": lambda v: np.nanmean(v, axis=axis),
        "std": lambda v: np.nanstd(v, axis=axis),
        "amplitude": lambda v: np.nanmax(v, axis=axis) - np.nanmin(v, axis=axis),
        # A series with no value at all has no peak date: NaN, like its other statistics.
        "argmax": lambda v: np.where(np.isnan(v).all(axis=axis), np.nan, np.argmax(filled, axis=axis)),
    }
    with np.errstate(all="ignore"), _quiet_nan_warnings():
        return np.stack([functions[s](values) for s in stats], axis=-1)


@contextlib.contextmanager
def _quiet_nan_warnings():
    """Silence numpy's warnings about all-NaN slices: those give NaN, which is the answer we want."""
    with warnings.catch_warnings():
        for message in ("All-NaN slice", "Mean of empty slice", "Degrees of freedom"):
            warnings.filterwarnings("ignore", message, RuntimeWarning)
        yield
