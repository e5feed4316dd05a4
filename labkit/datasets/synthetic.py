"""Synthetic Sentinel-2-like scenes: a seeded, lazy stand-in for a real tile, of any size.

:func:`make_synthetic_scene` returns a :class:`SyntheticScene`: a reflectance cube and its validity mask in
labkit's data model (see :mod:`labkit.datamodel`), the true class of every pixel, and reference polygons to
train and validate on. It stands where reading a real product (:mod:`labkit.io`) stands in the chain; what comes
next is the same: validity masks, gap-filling (:mod:`labkit.gapfill`), features, samples.

How a scene is made
-------------------
**Landscape.** Fields (parcels) tile the scene: vertical strips about 40 pixels wide with jittered edges, each cut
into fields whose mean height (24 to 56 pixels) is drawn per strip, so fields are 8 to 100 pixels across. Each
field gets a class, a phenology shift (±10 days), a vigour and a soil brightness from a hash of
``(random_state, field)``.

**Classes** (``n_classes`` keeps the first n, codes start at 1; see :data:`CLASS_NAMES`):

====  ==================  ==========================================================================
code  name                phenology (fraction of green vegetation over the year)
====  ==================  ==========================================================================
1     water               none: open water, NDVI about -0.5
2     built-up            a little vegetation (gardens, trees) over urban materials
3     evergreen forest    high all year (0.78-0.88)
4     grassland           0.35 in winter, green-up in March, peak 0.8 in May-June, dries in August
5     summer crop         bare soil until June, peak 0.9 in July, senescence in September, harvest
6     winter crop         0.3 in winter, green-up in March, peak 0.9 in May, harvest in July, resown in
                          late October
7     bare soil           bare all year
8     deciduous forest    0.22 in winter, leaves out in late April, leaf fall in October
====  ==================  ==========================================================================

**Reflectance.** Each pixel is a linear mix of endmember spectra (green vegetation, soil, water, urban
materials) with the class's vegetation fraction for the day of year: a double logistic (green-up, senescence)
with a sharp drop at harvest for crops (:func:`vegetation_fraction`). NDVI from B08 and B04 therefore follows the
class curves. Small per-field, per-pixel and per-date noise is added. Values are surface reflectance (0-1),
float32.

**Sky.** Every date has smooth cloud blobs (value noise, bright in every band, thin at the edges) and their
shadows (the cloud field shifted, darker). ``cloud_cover`` is the mean fraction of pixels under cloud over the
dates: many dates are almost clear, a few almost overcast; shadows add about a sixth of that. About one date in
ten has a swath edge: part of the tile is not acquired (``NaN`` in the cube, code 2 in the mask). The mask holds
1 under cloud and shadow, 0 elsewhere.

**Determinism.** Every value is a pure function of ``(random_state, date index, band, row, col)`` (plus the
scene's size and dates), computed with counter-based integer hashing (splitmix64) rather than a random stream: a
block computed with ``chunks=64`` equals the same block computed with ``chunks=512``, and a scene is the top-left
crop of a larger one with the same seed (apart from swath edges and the choice of reference polygons). Nothing is
computed until asked: a full 10980 x 10980 tile is built in a fraction of a second and computed block by block.

Example
-------
>>> scene = make_synthetic_scene(32, 32, dates=3, bands=["B04", "B08"], random_state=0)
>>> scene.cube.sizes
Frozen({'time': 3, 'band': 2, 'y': 32, 'x': 32})
>>> scene.class_names[1]
'water'
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from ..bands import SENTINEL2_BANDS
from ..datamodel import Validity, make_cube, make_mask
from .._hashing import GOLDEN, mix64
from ..errors import ConfigError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["CLASS_NAMES", "S2_BANDS", "SyntheticScene", "make_synthetic_scene", "vegetation_fraction",
           "write_synthetic_tiles"]

#: Sentinel-2 L2A bands a synthetic cube can hold (10 m and 20 m bands, all on one grid), in the default order.
S2_BANDS = SENTINEL2_BANDS

# Endmember spectra, surface reflectance for each band of S2_BANDS.
_VEGETATION = np.array([0.030, 0.070, 0.030, 0.100, 0.300, 0.380, 0.420, 0.440, 0.200, 0.100], np.float32)
_SOIL = np.array([0.090, 0.120, 0.160, 0.190, 0.210, 0.220, 0.230, 0.250, 0.330, 0.270], np.float32)
_WATER = np.array([0.060, 0.050, 0.030, 0.025, 0.015, 0.012, 0.010, 0.008, 0.004, 0.003], np.float32)
_URBAN = np.array([0.120, 0.130, 0.140, 0.150, 0.160, 0.170, 0.180, 0.190, 0.220, 0.200], np.float32)
_CLOUD = np.array([0.550, 0.540, 0.530, 0.530, 0.530, 0.530, 0.520, 0.520, 0.400, 0.300], np.float32)


@dataclasses.dataclass(frozen=True)
class _ClassModel:
    name: str
    weight: float  # relative frequency among fields
    vmin: float  # vegetation fraction outside the season
    vmax: float  # at the peak
    green_up: float  # day of year of the half-way point of green-up
    rate_up: float  # days
    senescence: float
    rate_down: float
    harvest: float = 1e4  # day of year; 1e4: never
    regrowth: float = 1e4  # day of year of sowing for next year (winter crops)
    regrowth_level: float = 0.0
    background: tuple[float, float, float] = (1.0, 0.0, 0.0)  # soil, water, urban under the vegetation
    soil_brightness: float = 1.0
    canopy_brightness: float = 1.0


_CLASSES = (
    _ClassModel("water", 0.06, 0.00, 0.02, 150, 15, 240, 15, background=(0.0, 1.0, 0.0)),
    _ClassModel("built-up", 0.08, 0.08, 0.20, 100, 15, 280, 15, background=(0.25, 0.0, 0.75), canopy_brightness=0.9),
    _ClassModel("evergreen forest", 0.15, 0.78, 0.88, 100, 15, 290, 20, soil_brightness=0.55, canopy_brightness=0.7),
    _ClassModel("grassland", 0.18, 0.35, 0.80, 80, 12, 215, 20, soil_brightness=0.9, canopy_brightness=0.95),
    _ClassModel("summer crop", 0.20, 0.03, 0.90, 160, 8, 250, 8, harvest=268),
    _ClassModel("winter crop", 0.20, 0.30, 0.90, 75, 9, 160, 9, harvest=192, regrowth=300, regrowth_level=0.27),
    _ClassModel("bare soil", 0.06, 0.01, 0.05, 100, 20, 220, 20, soil_brightness=1.15),
    _ClassModel("deciduous forest", 0.12, 0.22, 0.90, 115, 7, 290, 9, soil_brightness=0.6, canopy_brightness=0.8),
)
_BARE = 0.03  # vegetation fraction left after harvest

#: Names of all the classes the generator knows, by code; a scene with ``n_classes=n`` uses codes ``1..n``.
CLASS_NAMES = {code: model.name for code, model in enumerate(_CLASSES, start=1)}


def _class_table(attribute: str) -> np.ndarray:
    """One float32 value per class code (index 0 unused)."""
    return np.array([0.0] + [float(getattr(c, attribute)) for c in _CLASSES], np.float32)


_TABLES = {
    key: _class_table(key)
    for key in ("vmin", "vmax", "green_up", "rate_up", "senescence", "rate_down", "harvest", "regrowth",
                "regrowth_level", "soil_brightness", "canopy_brightness")
}
_BACKGROUND = np.array([(0.0, 0.0, 0.0)] + [c.background for c in _CLASSES], np.float32)  # (class, 3)

# Landscape: strips of fields.
_STRIP_PITCH = 40  # mean width of a strip of fields, pixels
_ROW_PITCHES = np.array([24, 32, 40, 56], np.int64)  # mean height of the fields of a strip, one per strip
_EDGE_JITTER = 0.8  # edges move by up to ±40 % of the pitch

# Sky.
_OCTAVES = ((128.0, 0.55), (64.0, 0.30), (32.0, 0.15))  # value-noise lattice spacing (pixels) and weight
_CLOUD_EDGE = 0.08  # noise range over which a cloud goes from thin (edge) to thick
_SWATH_EDGE_SHARE = 0.1  # share of dates with a swath edge

# Default dates: a 5-day revisit over 2021, of which a fixed subset is kept.
_REVISIT_START = np.datetime64("2021-01-02")
_REVISIT_DAYS = 5
_N_REVISITS = 73

# Hash streams: one constant per use, so that no two uses of the hash share values.
(_S_STRIP, _S_PITCH, _S_ROW, _S_CLASS, _S_SHIFT, _S_VIGOUR, _S_SOIL, _S_PIXEL, _S_TEXTURE, _S_ILLUMINATION,
 _S_FNOISE, _S_CLOUD, _S_CLOUD_OFFSET, _S_COVER, _S_SHADOW, _S_SWATH, _S_DATES) = range(1, 18)

_MAX_SEED = 2**63

# -------------------------------------------------------------------------------------------- counter-based hash

_U41 = np.uint64(41)


def _hash(seed: int, stream: int, *keys) -> np.ndarray:
    """uint64 hash of ``(seed, stream, *keys)``; integer key arrays broadcast together. At least 1-D."""
    h = mix64(mix64(np.array([seed], np.uint64)) ^ np.uint64((stream * GOLDEN) & 0xFFFFFFFFFFFFFFFF))
    for key in keys:
        h = mix64(h ^ np.asarray(key, np.int64).astype(np.uint64))
    return h


def _uniform(h: np.ndarray) -> np.ndarray:
    """float32 in the open interval (0, 1) from uint64 hashes."""
    return ((h >> _U41).astype(np.float32) + np.float32(0.5)) * np.float32(2.0**-23)


def _signed(h: np.ndarray) -> np.ndarray:
    """float32 in (-1, 1) from uint64 hashes."""
    return _uniform(h) * np.float32(2) - np.float32(1)


# ------------------------------------------------------------------------------------------------ phenology


def _sigmoid(x):
    return np.float32(0.5) * (np.float32(1) + np.tanh(np.float32(0.5) * x))


def _curve(doy, p: dict) -> np.ndarray:
    """Vegetation fraction for day(s) of year ``doy`` and class parameters ``p`` (arrays that broadcast)."""
    season = _sigmoid((doy - p["green_up"]) / p["rate_up"]) - _sigmoid((doy - p["senescence"]) / p["rate_down"])
    f = p["vmin"] + (p["vmax"] - p["vmin"]) * season
    harvested = _sigmoid((doy - p["harvest"]) / np.float32(2))
    f = f * (np.float32(1) - harvested) + np.float32(_BARE) * harvested
    return f + p["regrowth_level"] * _sigmoid((doy - p["regrowth"]) / np.float32(10))


def vegetation_fraction(class_id: int, dates) -> np.ndarray:
    """Nominal fraction of green vegetation of a class on some dates: the phenology of synthetic scenes.

    A double logistic over the day of year (green-up, then senescence), with a sharp drop at harvest for crops
    and a regrowth after sowing for winter crops. Fields of a scene follow it shifted by up to ±10 days and
    scaled by ±5 %. NDVI from a scene's B08 and B04 increases with it.

    Parameters
    ----------
    class_id : int
        A code of :data:`CLASS_NAMES` (1 to 8).
    dates : sequence of dates, or of numbers
        Anything :func:`pandas.to_datetime` reads, or days of year (1-366) as numbers.

    Returns
    -------
    numpy.ndarray of float32
        One fraction in [0, 1] per date.

    Raises
    ------
    labkit.errors.ConfigError
        If the class code is unknown.

    Example
    -------
    >>> vegetation_fraction(5, ["2021-01-15", "2021-07-20", "2021-10-15"]).round(2)  # summer crop
    array([0.03, 0.89, 0.03], dtype=float32)
    """
    if isinstance(class_id, bool) or not isinstance(class_id, numbers.Integral) or class_id not in CLASS_NAMES:
        raise ConfigError(f"vegetation_fraction: class_id must be one of {sorted(CLASS_NAMES)}; got {class_id!r}.")
    values = np.asarray(dates)
    if values.dtype.kind in "iuf":
        doy = values.astype(np.float32)
    else:
        doy = pd.DatetimeIndex(pd.to_datetime(values.ravel())).day_of_year.to_numpy().astype(np.float32)
        doy = doy.reshape(values.shape)
    params = {key: table[int(class_id)] for key, table in _TABLES.items()}
    return np.clip(_curve(doy, params), 0, 1).astype(np.float32)


# ------------------------------------------------------------------------------------------------ landscape


def _edge_positions(h: np.ndarray, index, pitch) -> np.ndarray:
    """Jittered edge positions ``index * pitch + jitter`` (int64), strictly increasing with ``index``."""
    jitter = np.floor((_uniform(h) - np.float32(0.5)) * np.float32(_EDGE_JITTER) * np.asarray(pitch, np.float32))
    return np.asarray(index, np.int64) * pitch + jitter.astype(np.int64)


def _strip_edge(seed: int, j) -> np.ndarray:
    """Left column of strip ``j``."""
    return _edge_positions(_hash(seed, _S_STRIP, j), j, _STRIP_PITCH)


def _row_pitch(seed: int, j) -> np.ndarray:
    """Mean field height of strip ``j``."""
    return _ROW_PITCHES[(_hash(seed, _S_PITCH, j) % np.uint64(len(_ROW_PITCHES))).astype(np.intp)]


def _row_edge(seed: int, j, i, pitch) -> np.ndarray:
    """Top row of field ``i`` of strip ``j``."""
    return _edge_positions(_hash(seed, _S_ROW, j, i), i, pitch)


def _locate(position: np.ndarray, pitch, edge) -> np.ndarray:
    """Index of the interval ``[edge(k), edge(k + 1))`` that holds ``position`` (jitter < half a pitch)."""
    k = position // pitch
    return k - (position < edge(k)) + (position >= edge(k + 1))


def _parcel_class(seed: int, n_classes: int, j, i) -> np.ndarray:
    """Class code (uint8) of field ``(j, i)``."""
    weights = np.array([c.weight for c in _CLASSES[:n_classes]], np.float64)
    cumulative = np.cumsum(weights / weights.sum())[:-1].astype(np.float32)
    u = _uniform(_hash(seed, _S_CLASS, j, i))
    return (np.searchsorted(cumulative, u, side="right") + 1).astype(np.uint8)


def _land(seed: int, n_classes: int, rows: np.ndarray, cols: np.ndarray, *, attributes: bool = True) -> dict:
    """Class and field attributes of every pixel of a window, as ``(len(rows), len(cols))`` arrays."""
    strip = _locate(cols, _STRIP_PITCH, lambda k: _strip_edge(seed, k))
    strips, where = np.unique(strip, return_inverse=True)
    pitch = _row_pitch(seed, strips)[:, None]  # (n_strips, 1)
    field = _locate(rows[None, :], pitch, lambda k: _row_edge(seed, strips[:, None], k, pitch))  # (n_strips, ny)
    j = strips[:, None]
    tables = {"class": _parcel_class(seed, n_classes, j, field)}
    if attributes:
        tables["shift"] = np.float32(10) * _signed(_hash(seed, _S_SHIFT, j, field))
        tables["vigour"] = np.float32(1) + np.float32(0.05) * _signed(_hash(seed, _S_VIGOUR, j, field))
        tables["soil"] = np.float32(1) + np.float32(0.15) * _signed(_hash(seed, _S_SOIL, j, field))
    pick = (where[None, :], np.arange(len(rows))[:, None])
    return {key: table[pick] for key, table in tables.items()}


# ------------------------------------------------------------------------------------------------------- sky


def _smoothstep(x):
    return x * x * (np.float32(3) - np.float32(2) * x)


def _octave_offsets(seed: int, t, octave: int, spacing: float):
    """Per-date offsets of a value-noise lattice, so that lattices of different dates do not line up."""
    oy = _uniform(_hash(seed, _S_CLOUD_OFFSET, t, octave, 0)) * np.float32(spacing)
    ox = _uniform(_hash(seed, _S_CLOUD_OFFSET, t, octave, 1)) * np.float32(spacing)
    return oy, ox


def _noise_grid(seed: int, t: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Smooth value noise in (0, 1) of date ``t`` on the grid ``rows x cols`` (float positions)."""
    out = np.zeros((len(rows), len(cols)), np.float32)
    for octave, (spacing, weight) in enumerate(_OCTAVES):
        oy, ox = _octave_offsets(seed, t, octave, spacing)
        gy = (rows.astype(np.float32) + oy) / np.float32(spacing)
        gx = (cols.astype(np.float32) + ox) / np.float32(spacing)
        iy, ix = np.floor(gy).astype(np.int64), np.floor(gx).astype(np.int64)
        sy, sx = _smoothstep(gy - iy), _smoothstep(gx - ix)
        y0, x0 = iy.min(), ix.min()
        lattice = _uniform(_hash(seed, _S_CLOUD, t, octave, np.arange(y0, iy.max() + 2)[:, None],
                                 np.arange(x0, ix.max() + 2)[None, :]))
        a, b = iy - y0, ix - x0
        along_x = lattice[:, b] * (1 - sx) + lattice[:, b + 1] * sx  # (lattice rows, columns): few rows
        out += np.float32(weight) * (along_x[a] * (1 - sy)[:, None] + along_x[a + 1] * sy[:, None])
    return out


def _noise_points(seed: int, t: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The same noise as :func:`_noise_grid`, at scattered points ``(t, rows, cols)`` (1-D arrays)."""
    out = np.zeros(len(rows), np.float32)
    for octave, (spacing, weight) in enumerate(_OCTAVES):
        oy, ox = _octave_offsets(seed, t, octave, spacing)
        gy = (rows.astype(np.float32) + oy) / np.float32(spacing)
        gx = (cols.astype(np.float32) + ox) / np.float32(spacing)
        iy, ix = np.floor(gy).astype(np.int64), np.floor(gx).astype(np.int64)
        sy, sx = _smoothstep(gy - iy), _smoothstep(gx - ix)

        def corner(dy, dx):
            return _uniform(_hash(seed, _S_CLOUD, t, octave, iy + dy, ix + dx))  # noqa: B023

        top = corner(0, 0) * (1 - sx) + corner(0, 1) * sx
        bottom = corner(1, 0) * (1 - sx) + corner(1, 1) * sx
        out += np.float32(weight) * (top * (1 - sy) + bottom * sy)
    return out


@functools.cache
def _noise_quantiles() -> np.ndarray:
    """Quantiles 0, 0.005, ..., 1 of the cloud noise, estimated once from 200 000 scattered points."""
    h = _hash(987654321, _S_CLOUD, np.arange(200_000))
    t = (h % np.uint64(1_000_000)).astype(np.int64)
    rows = ((h >> np.uint64(20)) % np.uint64(10_000_000)).astype(np.int64)
    cols = ((h >> np.uint64(44)) % np.uint64(1_000_000)).astype(np.int64)
    return np.quantile(_noise_points(123, t, rows, cols), np.linspace(0, 1, 201)).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class _Plan:
    """Everything a block needs: scene size, classes, bands, days of year and the per-date sky."""

    seed: int
    height: int
    width: int
    n_classes: int
    bands: tuple[int, ...]  # indices into S2_BANDS
    doy: tuple[float, ...]
    threshold: tuple[float, ...]  # cloud where the noise exceeds it
    shadow_offset: tuple[tuple[int, int], ...]  # (rows, cols) from a shadow to its cloud
    swath: tuple[tuple[float, float, int] | None, ...]  # (edge column at the middle row, slope, side) or None


def _sky_plan(seed: int, n_dates: int, cloud_cover: float, height: int, width: int) -> dict:
    """Per-date cloud thresholds, shadow offsets and swath edges."""
    t = np.arange(n_dates)
    # Cloud fraction per date: stratified quantiles of u**a (mean cloud_cover) in a seeded order, so that some
    # dates are almost clear, a few almost overcast, and the mean over the dates is cloud_cover.
    order = np.argsort(_hash(seed, _S_COVER, t), kind="stable")
    u = np.empty(n_dates)
    u[order] = (np.arange(n_dates) + 0.5) / n_dates
    if cloud_cover <= 0:
        cover = np.zeros(n_dates)
    elif cloud_cover >= 1:
        cover = np.ones(n_dates)
    else:
        cover = u ** ((1 - cloud_cover) / cloud_cover)
    quantiles = _noise_quantiles()
    threshold = np.interp(1 - cover, np.linspace(0, 1, quantiles.size), quantiles)
    threshold = np.where(cover < 1e-4, 2.0, np.where(cover > 1 - 1e-4, -1.0, threshold))
    # Shadows: the cloud that casts a shadow lies 15-60 rows south and 5-30 columns east of it (sun in the south).
    dy = 15 + (_hash(seed, _S_SHADOW, t, 0) % np.uint64(46)).astype(np.int64)
    dx = 5 + (_hash(seed, _S_SHADOW, t, 1) % np.uint64(26)).astype(np.int64)
    # Swath edges: a few dates lose one side of the tile beyond a slightly tilted line.
    n_swath = round(_SWATH_EDGE_SHARE * n_dates) if n_dates >= 5 else 0
    with_edge = set(np.argsort(_hash(seed, _S_SWATH, t, 0), kind="stable")[:n_swath].tolist())
    u_edge, u_slope, u_side = (_uniform(_hash(seed, _S_SWATH, t, k)) for k in (1, 2, 3))
    swath = tuple(
        (float(width * (0.25 + 0.5 * u_edge[k])), float(0.4 * u_slope[k] - 0.2), 1 if u_side[k] > 0.5 else -1)
        if k in with_edge else None
        for k in range(n_dates)
    )
    return {
        "cover": cover,
        "threshold": tuple(float(v) for v in threshold),
        "shadow_offset": tuple((int(a), int(b)) for a, b in zip(dy, dx)),
        "swath": swath,
    }


def _sky(plan: _Plan, t: int, rows: np.ndarray, cols: np.ndarray):
    """Cloud opacity, cloud brightness and shadow strength of date ``t`` on a window (float32, 0 where clear)."""
    shape = (len(rows), len(cols))
    threshold = np.float32(plan.threshold[t])
    if threshold >= 1:  # a clear date
        zero = np.zeros(shape, np.float32)
        return zero, zero, zero
    noise = _noise_grid(plan.seed, t, rows, cols)
    thickness = np.clip((noise - threshold) / np.float32(_CLOUD_EDGE), 0, 1)
    cloud = noise > threshold
    alpha = np.where(cloud, np.float32(0.25) + np.float32(0.75) * thickness, np.float32(0))  # thin at the edges
    brightness = np.float32(0.8) + np.float32(0.35) * thickness
    dy, dx = plan.shadow_offset[t]
    shifted = _noise_grid(plan.seed, t, rows + dy, cols + dx)  # the cloud that casts a shadow here
    depth = np.clip((shifted - threshold) / np.float32(_CLOUD_EDGE), 0, 1)
    beta = np.where((shifted > threshold) & ~cloud, np.float32(0.3) + np.float32(0.7) * depth, np.float32(0))
    return alpha.astype(np.float32), brightness.astype(np.float32), beta.astype(np.float32)


def _no_data(plan: _Plan, t: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray | None:
    """Where date ``t`` was not acquired on a window (bool), or None if it was acquired everywhere."""
    swath = plan.swath[t]
    if swath is None:
        return None
    edge, slope, side = swath
    boundary = edge + slope * (rows[:, None] - plan.height / 2)
    return (cols[None, :] > boundary) if side > 0 else (cols[None, :] < boundary)


# ------------------------------------------------------------------------------------------------------ blocks


def _window(block_info) -> tuple[np.ndarray, np.ndarray]:
    location = block_info[None]["array-location"]
    (y0, y1), (x0, x1) = location[-2], location[-1]
    return np.arange(y0, y1, dtype=np.int64), np.arange(x0, x1, dtype=np.int64)


def _cube_block(plan: _Plan, block_info=None) -> np.ndarray:
    """One ``(time, band, y, x)`` block of reflectance."""
    rows, cols = _window(block_info)
    seed, ny, nx = plan.seed, len(rows), len(cols)
    land = _land(seed, plan.n_classes, rows, cols)
    cls = land["class"]
    params = {key: table[cls] for key, table in _TABLES.items() if key not in ("soil_brightness", "canopy_brightness")}
    pixel = _hash(seed, _S_PIXEL, rows[:, None], cols[None, :])  # (ny, nx) key of each pixel
    f_noise = np.float32(0.03) * _signed(mix64(pixel ^ _hash(seed, _S_FNOISE)))
    bands = list(plan.bands)
    weights = _BACKGROUND[cls]  # (ny, nx, 3)
    soil = (weights[..., 0] * land["soil"] * _TABLES["soil_brightness"][cls])[None]
    background = (soil * _SOIL[bands, None, None] + weights[None, ..., 1] * _WATER[bands, None, None]
                  + weights[None, ..., 2] * _URBAN[bands, None, None])  # (band, ny, nx)
    canopy = _TABLES["canopy_brightness"][cls][None] * _VEGETATION[bands, None, None]
    texture = np.stack([np.float32(1) + np.float32(0.03) * _signed(mix64(pixel ^ _hash(seed, _S_TEXTURE, b)))
                        for b in bands])
    slope = (canopy - background) * texture
    offset = background * texture
    cloud = _CLOUD[bands, None, None]
    out = np.empty((len(plan.doy), len(bands), ny, nx), np.float32)
    for t, doy in enumerate(plan.doy):
        f = _curve(np.float32(doy) - land["shift"], params) * land["vigour"] + f_noise
        np.clip(f, 0, 0.97, out=f)
        illumination = np.float32(1) + np.float32(0.015) * _signed(mix64(pixel ^ _hash(seed, _S_ILLUMINATION, t)))
        rho = out[t]
        np.multiply(slope, f, out=rho)
        rho += offset
        rho *= illumination
        np.maximum(rho, np.float32(0.001), out=rho)
        alpha, brightness, beta = _sky(plan, t, rows, cols)
        if alpha.any():  # otherwise a no-op: rho * 1 + 0
            rho *= np.float32(1) - alpha
            rho += (alpha * brightness) * cloud
        if beta.any():
            rho *= np.float32(1) - np.float32(0.6) * beta
        np.minimum(rho, np.float32(1), out=rho)
        missing = _no_data(plan, t, rows, cols)
        if missing is not None:
            rho[:, missing] = np.nan
    return out


def _mask_block(plan: _Plan, block_info=None) -> np.ndarray:
    """One ``(time, y, x)`` block of validity codes."""
    rows, cols = _window(block_info)
    out = np.zeros((len(plan.doy), len(rows), len(cols)), np.uint8)
    for t in range(len(plan.doy)):
        alpha, _, beta = _sky(plan, t, rows, cols)
        out[t][(alpha > 0) | (beta > 0)] = Validity.INVALID
        missing = _no_data(plan, t, rows, cols)
        if missing is not None:
            out[t][missing] = Validity.NO_DATA
    return out


def _class_block(plan: _Plan, block_info=None) -> np.ndarray:
    """One ``(y, x)`` block of true class codes."""
    rows, cols = _window(block_info)
    return _land(plan.seed, plan.n_classes, rows, cols, attributes=False)["class"]


# ---------------------------------------------------------------------------------------------------- polygons


def _polygons(plan: _Plan, n_polygons: int, transform, crs):
    """Reference polygons: whole fields, shrunk by one pixel, a seeded subset spread evenly over the classes."""
    import geopandas as gpd
    import shapely

    seed, height, width = plan.seed, plan.height, plan.width
    n_strips = width // _STRIP_PITCH + 3  # strips -1 .. width // pitch + 1
    n_rows = height // int(_ROW_PITCHES.min()) + 3
    rng = np.random.default_rng([seed, _S_CLASS])
    if n_strips * n_rows <= 40_000:
        j, i = (a.ravel() for a in np.meshgrid(np.arange(n_strips) - 1, np.arange(n_rows) - 1))
    else:  # a big tile: sample fields rather than list them all
        pairs = np.unique(np.stack([rng.integers(-1, n_strips - 1, 40_000), rng.integers(-1, n_rows - 1, 40_000)]),
                          axis=1)
        j, i = pairs
    pitch = _row_pitch(seed, j)
    c0, c1 = np.maximum(_strip_edge(seed, j), 0) + 1, np.minimum(_strip_edge(seed, j + 1), width) - 1
    r0, r1 = np.maximum(_row_edge(seed, j, i, pitch), 0) + 1, np.minimum(_row_edge(seed, j, i + 1, pitch), height) - 1
    keep = (c1 - c0 >= 2) & (r1 - r0 >= 2)
    j, i, c0, c1, r0, r1 = (a[keep] for a in (j, i, c0, c1, r0, r1))
    classes = _parcel_class(seed, plan.n_classes, j, i).astype(np.int64)
    # Round-robin over the classes in a seeded order: the k-th polygon of every class before any (k+1)-th.
    order = rng.permutation(len(j))
    rank = np.empty(len(j), np.int64)
    for code in np.unique(classes):
        members = order[classes[order] == code]
        rank[members] = np.arange(len(members))
    chosen = np.lexsort((classes, rank))[:n_polygons]
    chosen = chosen[np.lexsort((c0[chosen], r0[chosen]))]  # north to south, west to east
    a, _, xoff, _, e, yoff = tuple(transform)[:6]
    geometry = shapely.box(xoff + a * c0[chosen], yoff + e * r1[chosen], xoff + a * c1[chosen], yoff + e * r0[chosen])
    return gpd.GeoDataFrame(
        {
            "polygon_id": np.arange(1, len(chosen) + 1, dtype=np.int64),
            "class_id": classes[chosen],
            "class_name": pd.array([CLASS_NAMES[int(c)] for c in classes[chosen]], dtype=str),
        },
        geometry=geometry,
        crs=crs,
    )


# --------------------------------------------------------------------------------------------------- the scene


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SyntheticScene:
    """A synthetic scene: what :func:`make_synthetic_scene` returns.

    Attributes
    ----------
    cube : xarray.DataArray (time, band, y, x)
        Surface reflectance (float32, 0-1, ``NaN`` where not acquired), dask-backed, with CRS.
    mask : xarray.DataArray (time, y, x)
        Validity codes (uint8: 0 valid, 1 cloud or shadow, 2 not acquired), dask-backed, on the cube's grid.
    class_map : xarray.DataArray (y, x)
        True class code of every pixel (uint8), dask-backed, on the cube's grid, with CRS.
    polygons : geopandas.GeoDataFrame
        Reference polygons in the cube's CRS: ``polygon_id``, ``class_id``, ``class_name``, geometry. Each is a
        field shrunk by one pixel, so every pixel whose centre it holds has class ``class_id``.
    class_names : dict
        ``{code: name}`` of the scene's classes.

    Example
    -------
    >>> scene = make_synthetic_scene(32, 32, dates=2, random_state=3)
    >>> scene  # doctest: +ELLIPSIS
    SyntheticScene(cube=(2, 10, 32, 32) float32, mask=(2, 32, 32) uint8, class_map=(32, 32) uint8, ...)
    """

    cube: xr.DataArray
    mask: xr.DataArray
    class_map: xr.DataArray
    polygons: gpd.GeoDataFrame
    class_names: dict[int, str]

    def __repr__(self) -> str:
        def describe(array):
            return f"{tuple(array.shape)} {array.dtype}"

        return (f"SyntheticScene(cube={describe(self.cube)}, mask={describe(self.mask)}, "
                f"class_map={describe(self.class_map)}, polygons={len(self.polygons)} rows, "
                f"class_names={self.class_names})")


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ConfigError(f"make_synthetic_scene: {name} must be {kind}; got {value!r}.")
    return operator.index(value)


def _check_dates(dates) -> pd.DatetimeIndex:
    if dates is None:
        dates = 36
    if isinstance(dates, numbers.Integral) and not isinstance(dates, bool):
        if not 1 <= dates <= _N_REVISITS:
            raise ConfigError(f"make_synthetic_scene: dates must be a number of dates in [1, {_N_REVISITS}] (the "
                              f"5-day revisits of one year) or a sequence of dates; got {dates!r}.")
        # A fixed subset of the revisits (the same for every seed), so that scenes of one size share their dates.
        keep = np.sort(np.argsort(_hash(2021, _S_DATES, np.arange(_N_REVISITS)), kind="stable")[: int(dates)])
        return pd.DatetimeIndex(_REVISIT_START + keep * np.timedelta64(_REVISIT_DAYS, "D")).as_unit("ns")
    if isinstance(dates, (str, bytes)) or not isinstance(dates, (Sequence, np.ndarray, pd.Index, xr.DataArray)):
        raise ConfigError(f"make_synthetic_scene: dates must be None, an int or a sequence of dates; got "
                          f"{type(dates).__name__} {dates!r}.")
    try:
        times = pd.DatetimeIndex(pd.to_datetime(list(np.asarray(dates).ravel())))
    except (ValueError, TypeError) as error:
        raise ConfigError(f"make_synthetic_scene: dates could not be read as dates ({error}).") from None
    if len(times) == 0:
        raise ConfigError("make_synthetic_scene: dates is empty; give at least one date.")
    if times.hasnans:
        raise ConfigError("make_synthetic_scene: dates holds missing dates (NaT).")
    if times.tz is not None:
        times = times.tz_convert(None)
    if not times.is_monotonic_increasing or not times.is_unique:
        raise ConfigError("make_synthetic_scene: dates must be strictly increasing; sort them and drop duplicates.")
    return times.as_unit("ns")


def _check_bands(bands) -> tuple[str, ...]:
    if bands is None:
        return S2_BANDS
    if isinstance(bands, str):
        bands = [bands]
    bands = tuple(str(b) for b in bands)
    if not bands:
        raise ConfigError(f"make_synthetic_scene: bands is empty; choose some of {list(S2_BANDS)}.")
    unknown = [b for b in bands if b not in S2_BANDS]
    if unknown:
        raise ConfigError(f"make_synthetic_scene: unknown band name(s) {unknown}; choose among {list(S2_BANDS)}.")
    dupes = sorted({b for b in bands if bands.count(b) > 1})
    if dupes:
        raise ConfigError(f"make_synthetic_scene: bands {dupes} are given more than once.")
    return bands


def _check_crs(crs):
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        parsed = CRS.from_user_input(crs)
    except CRSError as error:
        raise ConfigError(f"make_synthetic_scene: crs {crs!r} is not a CRS ({error}); give e.g. 'EPSG:32631'.") \
            from None
    if not parsed.is_projected:
        raise ConfigError(f"make_synthetic_scene: crs must be a projected CRS in metres, like 'EPSG:32631'; got "
                          f"{parsed.to_string()}.")
    return parsed


def make_synthetic_scene(
    height: int = 256,
    width: int = 256,
    *,
    dates=None,
    bands: Sequence[str] | None = None,
    n_classes: int = 6,
    n_polygons: int = 60,
    resolution: float = 10.0,
    crs="EPSG:32631",
    origin: tuple[float, float] = (600000.0, 5000000.0),
    chunks: int = 512,
    cloud_cover: float = 0.3,
    random_state: int | None = 0,
) -> SyntheticScene:
    """Make a synthetic Sentinel-2 L2A-like scene: cube, validity mask, true classes and reference polygons.

    Fields of several land-cover classes, each with its phenology, seen on irregular dates through clouds, cloud
    shadows and swath edges (see :mod:`labkit.datasets.synthetic` for the model). Every array is lazy
    (dask-backed) and every value is a pure function of the seed, the date index, the band and the pixel's row
    and column: the result does not depend on ``chunks``.

    Parameters
    ----------
    height, width : int, default 256
        Size of the scene in pixels (rows, columns). Any size: 10980 x 10980 is a full Sentinel-2 tile.
    dates : None, int or sequence of dates, default None
        None: 36 irregular dates over 2021; an int ``n`` (1 to 73): ``n`` of the 5-day revisits of 2021, a
        fixed subset; or the dates themselves (anything :func:`pandas.to_datetime` reads, strictly
        increasing). The phenology follows the day of year.
    bands : sequence of str, optional
        Bands to make, among :data:`S2_BANDS` (default: all ten, B02 ... B12, in that order). A band's values do
        not depend on which other bands are asked for.
    n_classes : int, default 6
        Number of classes, 2 to 8: the first ``n_classes`` of :data:`CLASS_NAMES`.
    n_polygons : int, default 60
        Number of reference polygons (fewer if the scene has fewer fields), spread evenly over the classes.
    resolution : float, default 10.0
        Pixel size in CRS units (metres).
    crs : str or pyproj.CRS, default "EPSG:32631"
        A projected CRS.
    origin : (float, float), default (600000.0, 5000000.0)
        Map coordinates ``(x, y)`` of the scene's upper-left corner.
    chunks : int, default 512
        Size in pixels of the square spatial chunks. Each chunk holds every date and every band.
    cloud_cover : float, default 0.3
        Mean fraction of pixels under cloud over the dates, in [0, 1]. Dates vary: many are almost clear, a few
        almost overcast. Cloud shadows come on top (about a sixth of the cloud area).
    random_state : int or None, default 0
        The scene's seed, 0 to 2**63 - 1: its identity (``labkit synth --seed``), the same value making the same
        scene, pixel for pixel, at any size and chunking. None draws a fresh one, stored in
        ``cube.attrs["random_state"]``.

    Returns
    -------
    SyntheticScene
        ``cube``, ``mask``, ``class_map``, ``polygons`` and ``class_names``.

    Raises
    ------
    labkit.errors.ConfigError
        If a parameter is invalid; the message names it and says what is allowed.

    See Also
    --------
    vegetation_fraction : the phenology of each class.

    Example
    -------
    >>> scene = make_synthetic_scene(32, 32, dates=["2021-04-01", "2021-07-15"], bands=["B04", "B08"],
    ...                              cloud_cover=0.0, random_state=9)
    >>> scene.cube.chunks
    ((2,), (2,), (32,), (32,))
    >>> red, nir = scene.cube.sel(band="B04"), scene.cube.sel(band="B08")
    >>> ndvi = (nir - red) / (nir + red)
    >>> ndvi.where(scene.class_map == 5).mean(["y", "x"]).values.round(1)  # summer crop: bare, then green
    array([0.2, 0.8], dtype=float32)
    """
    height = _positive_int(height, "height")
    width = _positive_int(width, "width")
    times = _check_dates(dates)
    band_names = _check_bands(bands)
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or \
            not 2 <= n_classes <= len(_CLASSES):
        raise ConfigError(f"make_synthetic_scene: n_classes must be an int in [2, {len(_CLASSES)}] (the classes are "
                          f"{list(CLASS_NAMES.values())}); got {n_classes!r}.")
    n_polygons = _positive_int(n_polygons, "n_polygons", minimum=0)
    if isinstance(resolution, bool) or not isinstance(resolution, numbers.Real) or not \
            (math.isfinite(resolution) and resolution > 0):
        raise ConfigError(f"make_synthetic_scene: resolution must be a positive number (metres); got {resolution!r}.")
    crs = _check_crs(crs)
    try:
        x_origin, y_origin = (float(v) for v in origin)
        if not (math.isfinite(x_origin) and math.isfinite(y_origin)):
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"make_synthetic_scene: origin must be two finite numbers (x, y) of the upper-left corner; "
                          f"got {origin!r}.") from None
    chunks = _positive_int(chunks, "chunks")
    if isinstance(cloud_cover, bool) or not isinstance(cloud_cover, numbers.Real) or not 0 <= cloud_cover <= 1:
        raise ConfigError(f"make_synthetic_scene: cloud_cover must be a fraction in [0, 1]; got {cloud_cover!r}.")
    if random_state is None:
        random_state = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral) or \
            not 0 <= random_state < _MAX_SEED:
        raise ConfigError(f"make_synthetic_scene: random_state must be an int seed in [0, 2**63) or None; got "
                          f"{random_state!r}.")

    import dask.array as da
    from dask.base import tokenize

    seed = int(random_state)
    sky = _sky_plan(seed, len(times), float(cloud_cover), height, width)
    plan = _Plan(
        seed=seed, height=height, width=width, n_classes=int(n_classes),
        bands=tuple(S2_BANDS.index(b) for b in band_names),
        doy=tuple(float(d) for d in times.day_of_year), threshold=sky["threshold"],
        shadow_offset=sky["shadow_offset"], swath=sky["swath"],
    )
    spatial = (_split(height, chunks), _split(width, chunks))
    token = tokenize("labkit-synthetic", plan, spatial)  # chunks too: keys of differently chunked scenes differ
    n_time, n_band = len(times), len(band_names)
    cube_data = da.map_blocks(_cube_block, plan, chunks=((n_time,), (n_band,)) + spatial, dtype=np.float32,
                              meta=np.empty((0, 0, 0, 0), np.float32), name=f"synthetic-cube-{token}")
    mask_data = da.map_blocks(_mask_block, plan, chunks=((n_time,),) + spatial, dtype=np.uint8,
                              meta=np.empty((0, 0, 0), np.uint8), name=f"synthetic-mask-{token}")
    class_data = da.map_blocks(_class_block, plan, chunks=spatial, dtype=np.uint8, meta=np.empty((0, 0), np.uint8),
                               name=f"synthetic-classes-{token}")

    transform = (float(resolution), 0.0, x_origin, 0.0, -float(resolution), y_origin)
    attrs = {
        "long_name": "surface reflectance",
        "units": "1",
        "source": "labkit.datasets.synthetic.make_synthetic_scene",
        "random_state": seed,
        "cloud_cover": float(cloud_cover),
    }
    cube = make_cube(cube_data, times, band_names, transform=transform, crs=crs, name="reflectance", attrs=attrs)
    mask = make_mask(mask_data, like=cube)
    class_map = xr.DataArray(class_data, dims=("y", "x"), coords={"y": cube.y, "x": cube.x}, name="class",
                             attrs={"long_name": "true class code"})
    class_map = class_map.rio.write_crs(cube.rio.crs).rio.write_transform(cube.rio.transform())
    polygons = _polygons(plan, n_polygons, transform, crs)
    names = {code: CLASS_NAMES[code] for code in range(1, int(n_classes) + 1)}
    return SyntheticScene(cube=cube, mask=mask, class_map=class_map, polygons=polygons, class_names=names)


def _split(size: int, chunk: int) -> tuple[int, ...]:
    """Chunk sizes along one axis: ``chunk`` repeated, then the remainder."""
    full, rest = divmod(size, chunk)
    return (chunk,) * full + ((rest,) if rest else ())


def write_synthetic_tiles(folder, n_tiles: int = 3, size: int = 128, *, dates=12, bands: Sequence[str] | None = None,
                          n_classes: int = 4, cloud_cover: float = 0.3, random_state: int = 0,
                          overwrite: bool = False) -> dict:
    """Write ``n_tiles`` synthetic scenes side by side, as the tiles of a run, and their reference polygons.

    Tile ``i`` is the scene of seed ``random_state + i``, ``size`` pixels a side, placed east of tile ``i - 1``:
    ``FOLDER/tiles/T00.zarr``, ``T01.zarr``... (:func:`labkit.io.write_zarr`, with the mask and the true
    ``class_map``), and every tile's polygons in one ``FOLDER/reference.gpkg`` (ids numbered across the tiles).
    What ``labkit run``'s tests, notebook 09 and ``bench/scale.py`` run on.

    Returns
    -------
    dict
        ``{"tiles": [paths], "reference": path, "class_names": {code: name}}``.

    Example
    -------
    >>> import tempfile
    >>> written = write_synthetic_tiles(tempfile.mkdtemp(), n_tiles=2, size=64, dates=4)
    >>> [p.name for p in written["tiles"]], written["reference"].name
    (['T00.zarr', 'T01.zarr'], 'reference.gpkg')
    """
    from pathlib import Path

    from ..io import atomic_paths, write_vector, write_zarr

    folder = Path(folder)
    paths = [folder / "tiles" / f"T{i:02d}.zarr" for i in range(n_tiles)]
    reference = folder / "reference.gpkg"
    polygons, names = [], {}
    with atomic_paths([*paths, reference], overwrite=overwrite, kind=["store"] * n_tiles + ["file"]) as temps:
        for i, tmp in enumerate(temps[:-1]):
            scene = make_synthetic_scene(size, size, dates=dates, bands=bands, n_classes=n_classes,
                                         origin=(600000.0 + i * size * 10.0, 5000000.0), cloud_cover=cloud_cover,
                                         random_state=random_state + i)
            truth = scene.class_map.drop_vars("spatial_ref")
            write_zarr(scene.cube, tmp, mask=scene.mask, variables={"class_map": truth})
            frame = scene.polygons.copy()
            frame["polygon_id"] = frame["polygon_id"] + 10_000 * i
            polygons.append(frame)
            names.update(scene.class_names)
        merged = pd.concat(polygons, ignore_index=True)
        write_vector(type(polygons[0])(merged, crs=polygons[0].crs), temps[-1], layer="polygons")
    return {"tiles": paths, "reference": reference, "class_names": names}
