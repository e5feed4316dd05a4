"""Reference samples: turn labelled polygons or points into training pixels, and split them without leakage.

Takes a (gap-filled) cube and reference geometries (geopandas, any CRS) and returns a sample set (see
:mod:`labkit.datamodel`) whose ``group`` is the polygon (or point) each pixel came from and whose ``site`` is the
place (samples at one pixel, or of one group, share it). Comes after :mod:`labkit.features`, before
:mod:`labkit.models`.

**Samples with dates.** A sits sample is a field visited over one season: a start and an end date, and the same
place may come back for other seasons with other classes. ``extract_samples(..., start=FIELD, end=FIELD)`` gives
each sample the cube's dates inside its own window, from position 0 (``doy``: days since the window's first date),
and the split below by ``site`` keeps every season of a place on one side.

**Why split by polygon.** Neighbouring pixels of one parcel are nearly identical. A random pixel split puts some
of them in training and their twins in validation, and the validation score measures memory, not
generalisation. Every splitter here keeps each ``group`` whole, on one side:

* :class:`PolygonSplit` / :func:`split_by_group` / :func:`split_runs`: train/validation split of the polygons of
  each class (ratio, seed), repeated ``n_runs`` times with different draws (iota2's *runs*);
* :class:`SiteSplit` / ``group_by="site"`` in the same functions: whole sites (places observed over several
  seasons, whose class may change from one to the next) on either side, stratified as well as the sites allow;
  :func:`split_balance` reports the classes' shares a split achieved;
* :class:`PolygonKFold` / :func:`split_folds`: group k-fold, stratified by class (scikit-learn's
  ``StratifiedGroupKFold``) or not (``GroupKFold``), by polygon or by site;
* :func:`assign_regions` and :func:`split_by_region`: a region (eco-climatic zone...) per sample, and one sample set
  per region; ``by_region=True`` in the splitters stratifies by (region, class), so that each region is split
  within itself.

:func:`balance_classes` caps large classes (drawing pixels fairly across polygons) and can oversample small ones.
The splitter classes follow scikit-learn's conventions (``split(X, y, groups)`` yields index arrays,
``get_n_splits()``), so they plug into ``cross_val_score`` and ``GridSearchCV``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Iterator
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from rasterio.features import rasterize

from . import tiling
from .datamodel import (SERIES_START, checked_mask, encode_labels, is_text, make_samples, observation_days,
                        validate)
from .errors import ConfigError, DataModelError
from .inputs import finite_or_nan
from .params import flag, integer, number, seed

POLYGON_TYPES = ("Polygon", "MultiPolygon")
POINT_TYPES = ("Point", "MultiPoint")
ON_OPTIONS = ("raise", "drop")
LAZY_BLOCK = 512
"""Side, in pixels, of the windows read from a lazily loaded (not dask) cube."""


def _listed(values, limit: int = 10) -> str:
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    return f"{values[:limit]}"[:-1] + (", ...]" if len(values) > limit else "]")


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _has_field(frame: pd.DataFrame, field) -> bool:
    """Whether ``field`` names a column of ``frame`` (False for a value that cannot name one, such as a list)."""
    return isinstance(field, Hashable) and field in frame.columns


def _check_option(who: str, name: str, value: str) -> None:
    if value not in ON_OPTIONS:
        raise ConfigError(f"{who}: {name} must be one of {ON_OPTIONS}; got {value!r}.")


# ----------------------------------------------------------------------------------------------------- extract


def _which(reference: gpd.GeoDataFrame, rows: np.ndarray, id_field: str | None) -> str:
    """'polygon_id [101, 102]' or 'rows [1, 3]': how a user finds these geometries in their file."""
    if id_field is not None:
        return f"{id_field} {_listed(reference[id_field].to_numpy()[rows])}"
    return f"rows {_listed(reference.index.to_numpy()[rows])}"


def _where(polygons: gpd.GeoDataFrame, rows: np.ndarray, id_field: str | None) -> str:
    """'polygon_id [4], rows [3]' or 'rows [3]'."""
    where = _which(polygons, rows, id_field)
    return where + (f", rows {_listed(polygons.index.to_numpy()[rows])}" if id_field is not None else "")


def _without_coordinates(geometry: gpd.GeoSeries) -> dict[str, np.ndarray]:
    """Geometries with no usable coordinates (boolean per row), by reason: None, empty, NaN or infinite x/y."""
    import shapely

    none = geometry.isna().to_numpy()
    empty = ~none & geometry.is_empty.to_numpy()
    coords, index = shapely.get_coordinates(geometry.to_numpy(), return_index=True)
    not_finite = np.zeros(len(geometry), dtype=bool)
    not_finite[index[~np.isfinite(coords).all(axis=1)]] = True
    return {"without geometry (None)": none, "empty": empty, "with NaN or infinite x/y": not_finite & ~empty}


def _check_coordinates(reference: gpd.GeoDataFrame, id_field: str | None) -> None:
    """Refuse geometries without coordinates, naming their rows (and ids) and why, before any is taken for
    one outside the cube."""
    reasons = _without_coordinates(reference.geometry)
    missing = np.logical_or.reduce(list(reasons.values()))
    if not missing.any():
        return
    rows = np.flatnonzero(missing)
    where = _where(reference, rows, id_field)
    counts = ", ".join(f"{int(found.sum())} {reason}" for reason, found in reasons.items() if found.any())
    raise DataModelError(f"extract_samples: {_plural(len(rows), 'geometry has', 'geometries have')} no coordinates "
                         f"({where}): {counts}. Drop them first, or give them coordinates.")


def _check_reference(reference, class_field: str, id_field: str | None, start: str | None = None,
                     end: str | None = None) -> None:
    if not isinstance(reference, gpd.GeoDataFrame):
        raise ConfigError(f"extract_samples: polygons must be a GeoDataFrame; got {type(reference).__name__}.")
    for name, field in (("class_field", class_field), ("id_field", id_field), ("start", start), ("end", end)):
        if (field is not None or name == "class_field") and not _has_field(reference, field):
            raise ConfigError(f"extract_samples: the polygons have no field {field!r} ({name}); fields: "
                              f"{[c for c in reference.columns if c != reference.geometry.name]}.")
    if reference.crs is None:
        raise ConfigError("extract_samples: the polygons have no CRS. Set it with polygons.set_crs('EPSG:...').")
    if len(reference) == 0:
        raise ConfigError("extract_samples: no polygons or points were given (an empty GeoDataFrame).")
    geometry = reference.geometry
    _check_coordinates(reference, id_field)
    kinds = geometry.geom_type.to_numpy()
    invalid = np.isin(kinds, POLYGON_TYPES) & ~geometry.is_valid.to_numpy()
    if invalid.any():
        raise DataModelError(
            f"extract_samples: {_plural(int(invalid.sum()), 'invalid geometry', 'invalid geometries')} "
            f"({_which(reference, np.flatnonzero(invalid), id_field)}). Repair them with polygons.make_valid()."
        )
    other = ~np.isin(kinds, POLYGON_TYPES + POINT_TYPES)
    if other.any():
        raise ConfigError(
            f"extract_samples: {_plural(int(other.sum()), 'geometry is', 'geometries are')} neither polygons nor "
            f"points ({sorted(set(kinds[other]))}: {_which(reference, np.flatnonzero(other), id_field)}). Buffer "
            "lines into polygons first (reference.buffer(...))."
        )
    labels = reference[class_field]
    if not (pd.api.types.is_integer_dtype(labels.dtype) or is_text(labels.to_numpy())):
        raise ConfigError(f"extract_samples: the class field {class_field!r} must hold integer codes or class names; "
                          f"got {labels.dtype}.")
    if labels.isna().any():
        rows = np.flatnonzero(labels.isna().to_numpy())
        raise ConfigError(f"extract_samples: {_plural(len(rows), 'geometry has', 'geometries have')} no class in "
                          f"{class_field!r} ({_which(reference, rows, id_field)}).")
    if id_field is not None and not pd.api.types.is_integer_dtype(reference[id_field].dtype):
        raise ConfigError(f"extract_samples: the id field {id_field!r} must hold integers (it becomes the samples' "
                          f"group); got {reference[id_field].dtype}. Pass id_field=None to number the rows.")


def _class_codes(reference, class_field: str, name_field: str | None) -> tuple[np.ndarray, dict[int, str] | None]:
    """Integer class code per geometry, and ``{code: name}`` (names given as text get the codes of
    :func:`labkit.datamodel.encode_labels`: 1..n in sorted order)."""
    labels = reference[class_field]
    if is_text(labels.to_numpy()):
        return encode_labels(labels.to_numpy())
    names = None
    if name_field and _has_field(reference, name_field):
        names = dict(zip(labels.astype(int), reference[name_field].astype(str)))
    return labels.to_numpy(dtype="int64"), names


def _pixels_of_points(points: gpd.GeoSeries, transform, height: int, width: int):
    """Row and column of the pixel holding each point (-1 when outside the grid)."""
    inverse = ~transform
    col, row = inverse * (points.x.to_numpy(), points.y.to_numpy())
    with np.errstate(invalid="ignore"):
        col, row = np.floor(col), np.floor(row)
        inside = np.isfinite(col) & np.isfinite(row) & (col >= 0) & (col < width) & (row >= 0) & (row < height)
    return np.where(inside, row, -1).astype(np.int64), np.where(inside, col, -1).astype(np.int64)


def _polygon_pixels(geometry: gpd.GeoSeries, polygon_rows: np.ndarray, layer: np.ndarray, transform,
                    shape: tuple[int, int], all_touched: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and reference row of the pixels of the polygons: their row numbers burned, one raster per
    ``layer`` (window; where polygons of one layer overlap, the later row wins), in raster order layer by layer."""
    found = [np.empty(0, np.int64)] * 3
    for value in np.unique(layer[polygon_rows]):
        members = polygon_rows[layer[polygon_rows] == value]
        burned = rasterize([(geometry.iloc[r], int(r) + 1) for r in members], out_shape=shape, transform=transform,
                           fill=0, all_touched=all_touched, dtype="int32")
        iy, ix = np.nonzero(burned)
        found = [np.concatenate([old, new]) for old, new in
                 zip(found, (iy, ix, burned[iy, ix].astype(np.int64) - 1))]
    return tuple(found)


def _sites(iy: np.ndarray, ix: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The site of each sample: samples at the same pixel or of the same group are one place, and so are samples
    linked through a chain of these (connected components), numbered ``0, 1...`` in order of their first sample."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pixel = pd.factorize(pd.MultiIndex.from_arrays([iy, ix]))[0]
    polygon = pixel.max(initial=-1) + 1 + pd.factorize(group)[0]
    n = int(polygon.max(initial=-1)) + 1
    links = coo_matrix((np.ones(pixel.size), (pixel, polygon)), shape=(n, n))
    component = connected_components(links, directed=False)[1]
    return pd.factorize(component[pixel])[0].astype(np.int64)


# ----------------------------------------------------------------------------------------------------- windows


class _Windows(NamedTuple):
    """Each row's window of dates: the days given, the first cube date in it and how many it holds, and a number
    shared by the rows of one window (``layer``)."""

    start: np.ndarray
    end: np.ndarray
    first: np.ndarray
    length: np.ndarray
    layer: np.ndarray


def _window_days(polygons: gpd.GeoDataFrame, field: str, name: str, id_field: str | None) -> np.ndarray:
    """The dates of ``field`` (the ``name`` of each window) as ``datetime64[D]``; a missing or unparsable date is
    refused, naming its rows."""
    who = "extract_samples"
    values = polygons[field]
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values.dt.tz_convert(None) if getattr(values.dt, "tz", None) is not None else values
    elif pd.api.types.is_numeric_dtype(values.dtype):
        raise ConfigError(f"{who}: the {name} field {field!r} must hold dates (datetime64, or text such as "
                          f"'2013-09-14'); got {values.dtype}.")
    else:
        parsed = pd.to_datetime(values, errors="coerce", format="mixed", utc=True).dt.tz_convert(None)
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        shown = ["missing" if pd.isna(v) else repr(v) for v in values.to_numpy()[bad[:3]]]
        raise ConfigError(f"{who}: {_plural(bad.size, 'row has', 'rows have')} no date in the {name} field {field!r} "
                          f"({_where(polygons, bad, id_field)}): {', '.join(shown)}"
                          f"{', ...' if bad.size > 3 else ''}. Write dates as '2013-09-14'.")
    return parsed.to_numpy().astype("datetime64[D]")


def _windows(polygons: gpd.GeoDataFrame, start: str, end: str, id_field: str | None, times: np.ndarray) -> _Windows:
    """Each row's window, from fields ``start`` and ``end``, placed among the cube's ``times``."""
    first_day = _window_days(polygons, start, "start", id_field)
    last_day = _window_days(polygons, end, "end", id_field)
    before = np.flatnonzero(last_day < first_day)
    if before.size:
        k = before[0]
        raise DataModelError(f"extract_samples: {_plural(before.size, 'window ends', 'windows end')} before it starts "
                             f"({_where(polygons, before, id_field)}; e.g. {start} {first_day[k]}, {end} "
                             f"{last_day[k]}). Check the dates, or whether the two fields are swapped.")
    days = times.astype("datetime64[D]")
    first = np.searchsorted(days, first_day, side="left")
    length = np.searchsorted(days, last_day, side="right") - first
    layer = pd.factorize(pd.MultiIndex.from_arrays([first_day, last_day]))[0]
    return _Windows(first_day.astype("datetime64[ns]"), last_day.astype("datetime64[ns]"), first, length, layer)


def _check_dates_inside(polygons: gpd.GeoDataFrame, windows: _Windows, empty: np.ndarray, outside: np.ndarray,
                        id_field: str | None, on_outside: str, times: np.ndarray) -> None:
    """Refuse windows that hold none of the cube's dates (all of them, or any with ``on_outside="raise"``)."""
    if not empty.any():
        return
    days = times.astype("datetime64[D]")
    rows = np.flatnonzero(empty)
    k = rows[0]
    cube_dates = f"the cube's {_plural(days.size, 'date', 'dates')} run from {days[0]} to {days[-1]}"
    described = (f"{_where(polygons, rows, id_field)}; e.g. {windows.start[k].astype('datetime64[D]')} to "
                 f"{windows.end[k].astype('datetime64[D]')}")
    if (empty | outside).all():
        raise DataModelError(f"extract_samples: no window holds a date of the cube ({described}): {cube_dates}. "
                             "Check the windows' fields and the cube's dates.")
    if on_outside == "raise":
        raise DataModelError(f"extract_samples: {_plural(rows.size, 'window holds', 'windows hold')} no date of the "
                             f"cube ({described}): {cube_dates}. Check the dates, or pass on_outside='drop' to leave "
                             "them out.")


def _windowed(values: np.ndarray, first: np.ndarray, length: np.ndarray, fill) -> np.ndarray:
    """``values (sample, time, ...)`` cut to each sample's window (``length`` dates from position ``first``) and
    moved to positions ``0..length-1``; ``fill`` after, up to the longest window."""
    position = np.arange(length.max())
    inside = position < length[:, None]
    taken = values[np.arange(len(values))[:, None], np.minimum(first[:, None] + position, values.shape[1] - 1)]
    return np.where(inside.reshape(inside.shape + (1,) * (values.ndim - 2)), taken, fill)


def _block_edges(chunks: tuple[int, ...]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(chunks)]).astype(np.int64)


def _take(window, ly: np.ndarray, lx: np.ndarray) -> np.ndarray:
    return np.asarray(window)[..., ly, lx]


def _pixel_indices(values, name: str, size: int) -> np.ndarray:
    """Row (or column) numbers as a flat int64 array, each from 0 to ``size - 1`` (a negative one would wrap around)."""
    values = np.asarray(values).ravel()
    if values.size and values.dtype.kind not in "iu":
        raise ConfigError(f"read_pixels: {name} must hold integer pixel positions; got {values.dtype} values such as "
                          f"{values[:1].tolist()[0]!r}.")
    values = values.astype(np.int64)
    outside = (values < 0) | (values >= size)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise ConfigError(f"read_pixels: {name} must hold positions from 0 to {size - 1}; got {int(values[first])} at "
                          f"position {first} ({int(outside.sum())} outside).")
    return values


def read_pixels(cube: xr.DataArray, iy, ix) -> np.ndarray:
    """The values of the cube at pixels ``(iy[k], ix[k])``, as an array ``(sample, time, band)``.

    Reads only what holds the pixels, through the block engine (:mod:`labkit.tiling`): for a dask-backed cube, the
    chunks (blocks) that contain at least one of them, all in one computation; for a lazily loaded cube (a file
    opened without dask), the blocks of the file's own tiles (``LAZY_BLOCK`` x ``LAZY_BLOCK`` pixels when it has
    none) that contain one; a cube in memory is indexed directly.

    Parameters
    ----------
    cube : cube (time, band, y, x)
    iy, ix : arrays of int
        Row and column of each pixel, from 0 (a negative position is refused, not counted from the end).

    Raises
    ------
    ConfigError
        Positions that are not integers, outside the cube, or rows and columns of different lengths.

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.arange(16.).reshape(1, 1, 4, 4), ["2021-05-01"], ["NDVI"],
    ...                     transform=(10, 0, 0, 0, -10, 40), crs="EPSG:32631").chunk({"y": 2, "x": 2})
    >>> read_pixels(cube, [0, 3], [1, 3])[:, 0, 0]
    array([ 1., 15.])
    """
    iy, ix = _pixel_indices(iy, "iy", cube.sizes["y"]), _pixel_indices(ix, "ix", cube.sizes["x"])
    if iy.shape != ix.shape:
        raise ConfigError(f"read_pixels: iy and ix must give one row and one column per pixel; got {iy.size} rows and "
                          f"{ix.size} columns.")
    return _values_at(cube, iy, ix)


def _values_at(array: xr.DataArray, iy: np.ndarray, ix: np.ndarray) -> np.ndarray:
    """The values of ``array`` (a cube, a mask: any dims ending in ``y, x``) at pixels ``(iy[k], ix[k])``, checked
    positions, as ``(pixel, *other dims)``; read block by block as :func:`read_pixels` says."""
    out = np.empty((iy.size, *array.shape[:-2]), dtype=array.dtype)
    if iy.size == 0:
        return out
    if isinstance(array.variable._data, np.ndarray):
        return np.moveaxis(array.variable._data[..., iy, ix], -1, 0)
    if array.chunks is None:  # read lazily from a file: the block engine's blocks, aligned to the file's tiles
        array = tiling.blocked(array, tiling.internal_tiles(array) or (LAZY_BLOCK, LAZY_BLOCK))
    y_edges, x_edges = _block_edges(array.chunks[-2]), _block_edges(array.chunks[-1])
    by = np.searchsorted(y_edges, iy, side="right") - 1
    bx = np.searchsorted(x_edges, ix, side="right") - 1
    key = by * (len(x_edges) - 1) + bx
    order = np.argsort(key, kind="stable")
    blocks, starts = np.unique(key[order], return_index=True)
    members = np.split(order, starts[1:])
    windows = []
    for block, rows in zip(blocks, members):
        row, col = divmod(int(block), len(x_edges) - 1)
        y0, y1, x0, x1 = y_edges[row], y_edges[row + 1], x_edges[col], x_edges[col + 1]
        windows.append((rows, slice(y0, y1), slice(x0, x1), iy[rows] - y0, ix[rows] - x0))
    import dask

    parts = tiling.compute([dask.delayed(_take)(array.data[..., ys, xs], ly, lx) for _, ys, xs, ly, lx in windows])
    for (rows, *_), part in zip(windows, parts):
        out[rows] = np.moveaxis(part, -1, 0)
    return out


def extract_samples(
    cube: xr.DataArray,
    polygons: gpd.GeoDataFrame,
    *,
    class_field: str = "class_id",
    id_field: str | None = "polygon_id",
    name_field: str | None = "class_name",
    all_touched: bool = False,
    on_outside: str = "raise",
    min_samples_per_class: int = 1,
    on_too_few: str = "raise",
    mask: xr.DataArray | None = None,
    start: str | None = None,
    end: str | None = None,
) -> xr.Dataset:
    """Pixels of the cube inside reference polygons, or under reference points, as a sample set.

    Parameters
    ----------
    cube : cube (time, band, y, x)
        Numpy, dask or lazily loaded: only the blocks that hold samples are read (see :func:`read_pixels`).
    polygons : geopandas.GeoDataFrame
        Polygons and/or points, in any CRS (reprojected to the cube's), with a class in ``class_field``.
        A polygon gives the pixels whose centre it contains (rasterised with its id: where polygons overlap, the
        later row wins; with windows, only among polygons of the same window); a point gives the pixel that
        contains it.
    class_field : str, default "class_id"
        Integer class codes, or class names (text: they get codes 1, 2... in alphabetical order and become the
        ``class_name`` of the sample set).
    id_field : str or None, default "polygon_id"
        Integer id of each polygon or point: the samples' ``group``. None numbers the rows ``0..n-1``. Rows that
        share an id are one place (one ``site``, see Returns).
    name_field : str or None, default "class_name"
        Class names for integer codes (ignored when the column is absent).
    all_touched : bool, default False
        Take every pixel a polygon touches, not only those whose centre is inside.
    on_outside : {"raise", "drop"}, default "raise"
        What to do with geometries that lie entirely outside the cube (tiles of a large reference layer: "drop"),
        and with windows that hold none of the cube's dates.
    min_samples_per_class : int, default 1
        The fewest pixels a class may have. A class whose geometries (inside the cube) give fewer is an error; the
        default catches a class whose polygons are all smaller than a pixel.
    on_too_few : {"raise", "drop"}, default "raise"
        "drop" leaves such classes out (their codes are stored in ``attrs["dropped_classes"]``).
    mask : validity mask (time, y, x), optional
        The cube's validity mask (:mod:`labkit.masks`), on its grid: an observation is valid where it is 0.
    start, end : str, optional
        Fields of the first and last day each row was observed over (a sits sample's ``start_date`` and
        ``end_date``: a field visited over one season; the same place may come back in other rows, for other
        seasons, with other classes). Dates, or text dates (``"2013-09-14"``). Each sample then keeps only the
        cube's dates ``d`` with ``start <= d <= end`` (compared by day); every pixel of a polygon shares its
        row's window. Give both or neither.

    Returns
    -------
    sample set
        With ``x``, ``y`` (pixel centres, ``attrs["crs"]`` the cube's CRS), ``group`` = polygon or point id,
        ``site`` = the place: samples at the same pixel or of the same ``group`` (linked through any chain of
        these) share a site, numbered ``0, 1...`` in order of their first sample; ``class_name`` when names are
        known. Polygon pixels first (row by row; with windows, window by window), then points (in row order).
        Without windows, ``time`` holds the cube's dates, ``doy`` their days
        (:func:`labkit.datamodel.observation_days`: the day of year, or days since the first date for a cube that
        spans a year or more), the same for every sample. With windows, ``time`` holds positions ``0..n-1`` (``n``
        the most dates a window holds): each sample's dates from its first one, ``X`` ``NaN`` and ``valid`` False
        past the end of a shorter window; ``date (sample, time)`` the dates (``NaT`` there); ``doy`` the days
        since the first date of the sample's own window (``doy.attrs["reference"] = "start"``: samples of
        different seasons line up by their season's start, the dates L-TAE and the Transformer encode as sits
        does); ``start`` and ``end (sample)`` the windows given; ``attrs["window_lengths"]`` the fewest and most
        dates a window holds (far apart: windows of very different lengths, compare them before training).
        ``valid`` is True where the mask says valid (everywhere without a mask) and no band of ``X`` is missing.
        ``attrs["polygons_without_pixels"]`` counts the polygons inside the cube that cover no pixel centre,
        ``attrs["geometries_outside"]`` those dropped with ``on_outside="drop"``, ``attrs["windows_outside"]``
        the rows whose window holds no date of the cube, so dropped.

    Raises
    ------
    ConfigError
        Not a GeoDataFrame, missing field, no CRS, a class field that holds neither integers nor names, a missing
        class, a non-integer id field, lines, bad options, ``start`` without ``end`` (or the reverse), a window
        field that holds numbers, a missing or unparsable date (naming the rows).
    DataModelError
        Geometries without coordinates (None, empty, NaN or infinite x/y) or invalid, geometries outside the cube,
        a window that ends before it starts or holds no date of the cube (naming the rows and the cube's dates), a
        class with too few samples (each: how many and which), or no pixel at all; a mask that is not a validity
        mask on the cube's grid and dates, or holds codes other than 0, 1, 2.

    Example
    -------
    >>> from labkit.datasets import load_slovenia
    >>> data = load_slovenia()
    >>> samples = extract_samples(data.cube, data.polygons[data.polygons.class_id > 0], mask=data.mask)
    >>> dict(samples.sizes)["band"], int(samples.group.to_series().nunique()) <= 88
    (1, True)
    >>> samples.doy.attrs["reference"], 0.5 < float(samples.valid.mean()) < 0.7  # 2.5 years, 40 % cloudy
    ('2015-07-11', True)

    The same field in two seasons (one row each), as sits samples come:

    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> x, y = float(data.cube.x[10]), float(data.cube.y[10])
    >>> fields = gpd.GeoDataFrame({"label": ["Soy", "Maize"], "start": ["2016-01-01", "2017-01-01"],
    ...                            "end": ["2016-06-30", "2017-03-31"]}, geometry=[Point(x, y)] * 2,
    ...                           crs=data.cube.rio.crs)
    >>> s = extract_samples(data.cube, fields, class_field="label", id_field=None, start="start", end="end")
    >>> np.datetime_as_string(s.date.values[1, :4], unit="D").tolist()  # the second season's dates
    ['2017-01-01', '2017-01-11', '2017-02-20', '2017-03-02']
    >>> s.doy.values[1, :4].tolist(), s.doy.attrs["reference"], s.valid.values.sum(axis=1).tolist()
    ([0.0, 10.0, 50.0, 60.0], 'start', [12, 5])
    >>> s.site.values.tolist(), s.attrs["window_lengths"].tolist()  # one place; windows of 12 and 5 dates
    ([0, 0], [5, 12])
    """
    who = "extract_samples"
    validate(cube, "cube")
    if mask is not None:
        mask = _mask_of(cube, mask, who)
    _check_option(who, "on_outside", on_outside)
    _check_option(who, "on_too_few", on_too_few)
    min_samples_per_class = integer(min_samples_per_class, "min_samples_per_class", who, low=0)
    all_touched = flag(all_touched, "all_touched", who)
    if (start is None) != (end is None):
        raise ConfigError(f"{who}: start and end name the fields of each sample's first and last day; give both "
                          f"(got start={start!r}, end={end!r}).")
    _check_reference(polygons, class_field, id_field, start, end)
    windows = None if start is None else _windows(polygons, start, end, id_field, cube.time.values)
    reference = polygons.to_crs(cube.rio.crs).reset_index(drop=True)
    codes, names = _class_codes(reference, class_field, name_field)
    ids = reference[id_field].to_numpy(dtype="int64") if id_field else np.arange(len(reference))
    height, width = cube.sizes["y"], cube.sizes["x"]
    transform = cube.rio.transform()

    # Geometries that lie entirely outside the cube, windows that hold none of its dates.
    left, bottom, right, top = cube.rio.bounds()
    from shapely.geometry import box

    footprint = box(left, bottom, right, top)
    is_point = np.isin(reference.geometry.geom_type.to_numpy(), POINT_TYPES)
    outside = ~reference.geometry.intersects(footprint).to_numpy()
    if outside.all():
        raise DataModelError(
            f"{who}: none of the {len(reference)} polygons or points overlaps the cube (cube bounds "
            f"{tuple(round(float(b), 2) for b in cube.rio.bounds())} in {cube.rio.crs}; theirs "
            f"{tuple(round(float(b), 2) for b in reference.total_bounds)} once reprojected). Check their CRS and "
            "location."
        )
    if outside.any() and on_outside == "raise":
        described = _which(polygons, np.flatnonzero(outside), id_field)
        raise DataModelError(
            f"{who}: {_plural(int(outside.sum()), 'geometry lies', 'geometries lie')} outside the cube ({described}). "
            "Check their CRS, or pass on_outside='drop' to leave them out."
        )
    out_of_dates = np.zeros(len(reference), bool)
    if windows is not None:
        out_of_dates = (windows.length == 0) & ~outside
        _check_dates_inside(polygons, windows, out_of_dates, outside, id_field, on_outside, cube.time.values)

    # Polygons: burn their row number (window by window); points: the pixel that holds them.
    kept_rows = ~outside & ~out_of_dates
    polygon_rows = np.flatnonzero(~is_point & kept_rows)
    layer = np.zeros(len(reference), np.int64) if windows is None else windows.layer
    iy, ix, rows = _polygon_pixels(reference.geometry, polygon_rows, layer, transform, (height, width), all_touched)
    point_rows = np.flatnonzero(is_point & kept_rows)
    if point_rows.size:
        points = reference.geometry.iloc[point_rows].explode(index_parts=False)
        p_iy, p_ix = _pixels_of_points(points, transform, height, width)
        p_rows = points.index.to_numpy()
        keep = p_iy >= 0
        iy, ix = np.concatenate([iy, p_iy[keep]]), np.concatenate([ix, p_ix[keep]])
        rows = np.concatenate([rows, p_rows[keep]])
    inside_rows = np.flatnonzero(kept_rows)
    without_pixels = np.setdiff1d(inside_rows, rows)
    if rows.size == 0:
        raise DataModelError(f"{who}: none of the {len(reference)} polygons covers a pixel centre of the cube (cube "
                             f"bounds {cube.rio.bounds()}). Check their CRS and location, or use all_touched=True "
                             "for polygons smaller than a pixel.")

    # Classes with too few samples.
    sample_codes = codes[rows]
    classes = np.unique(codes[inside_rows])
    counts = {int(c): int((sample_codes == c).sum()) for c in classes}
    too_few = [c for c, n in counts.items() if n < min_samples_per_class]
    if too_few and on_too_few == "raise":
        described = ", ".join(f"{c} ({names[c]})" if names and c in names else f"{c}" for c in too_few)
        raise DataModelError(
            f"{who}: {_plural(len(too_few), 'class has', 'classes have')} fewer than {min_samples_per_class} "
            f"samples: {described} with {[counts[c] for c in too_few]} pixels. Add reference data, use "
            "all_touched=True for small polygons, lower min_samples_per_class, or pass on_too_few='drop'."
        )
    if too_few:
        keep = ~np.isin(sample_codes, too_few)
        iy, ix, rows, sample_codes = iy[keep], ix[keep], rows[keep], sample_codes[keep]
        if rows.size == 0:
            raise DataModelError(f"{who}: every class has fewer than {min_samples_per_class} samples; none is left.")

    X = finite_or_nan(read_pixels(cube, iy, ix))  # ±inf is not an observation: missing, as NaN is
    valid = np.isfinite(X).all(axis=2)
    if mask is not None:
        valid &= _values_at(mask, iy, ix) == 0
    if names is not None:
        present = set(sample_codes.tolist())
        names = {c: n for c, n in names.items() if c in present}
    times, dates = cube.time.values, None
    if windows is not None:
        first, length = windows.first[rows], windows.length[rows]
        X, valid, dates = (_windowed(v, first, length, fill) for v, fill in
                           ((X, np.nan), (valid, False),
                            (np.broadcast_to(times.astype("datetime64[ns]"), valid.shape), np.datetime64("NaT", "ns"))))
        times = None
    doy, doy_reference = (observation_days(cube.time.values) if dates is None else
                          observation_days(dates, reference=SERIES_START))
    samples = make_samples(
        X, sample_codes, ids[rows], times=times, bands=[str(b) for b in cube.band.values],
        x=cube.x.values[ix], y=cube.y.values[iy], site=_sites(iy, ix, ids[rows]), crs=cube.rio.crs,
        class_names=names, doy=doy, doy_reference=doy_reference, valid=valid,
    )
    samples.attrs["polygons_without_pixels"] = int(len(without_pixels))
    if outside.any():
        samples.attrs["geometries_outside"] = int(outside.sum())
    if too_few:
        samples.attrs["dropped_classes"] = np.asarray(too_few, dtype=np.int64)
    if windows is not None:
        samples = samples.assign(date=(("sample", "time"), dates), start=("sample", windows.start[rows]),
                                 end=("sample", windows.end[rows]))
        lengths = windows.length[rows]
        samples.attrs["window_lengths"] = np.array([lengths.min(), lengths.max()], dtype=np.int64)
        if out_of_dates.any():
            samples.attrs["windows_outside"] = int(out_of_dates.sum())
    return samples


def _mask_of(cube: xr.DataArray, mask, who: str) -> xr.DataArray:
    """``mask`` checked as the cube's validity mask: on its dates and grid, codes checked as blocks are read."""
    from .masks import _same_grid

    return _same_grid(who, "the cube", cube.isel(band=0, drop=True), "the mask", checked_mask(mask, who))


# --------------------------------------------------------------------------------------------------- splitters


def _as_arrays(who: str, X, y, groups) -> tuple[np.ndarray, np.ndarray]:
    if y is None or groups is None:
        raise ConfigError(f"{who}.split needs the class of each sample (y) and its polygon (groups); got "
                          f"{'y=None' if y is None else 'groups=None'}.")
    y, groups = np.asarray(y).ravel(), np.asarray(groups).ravel()
    n = len(y) if X is None else len(X)
    if not len(y) == len(groups) == n:
        raise ConfigError(f"{who}.split: X, y and groups must have one entry per sample; got {n}, {len(y)} and "
                          f"{len(groups)}.")
    if n == 0:
        raise ConfigError(f"{who}.split: no samples to split.")
    return y, groups


def _check_one_stratum(who: str, y: np.ndarray, groups: np.ndarray, what: str = "classes",
                       unit: str = "polygons") -> None:
    """Refuse polygons (``unit``) whose pixels belong to several strata: they cannot stay whole on one side per
    stratum."""
    pairs = pd.DataFrame({"g": groups, "y": y}).drop_duplicates()
    mixed = np.sort(pairs["g"][pairs["g"].duplicated()].unique())
    if mixed.size:
        fix = ("give each polygon a single class, or, for places observed over several seasons with a class each, "
               "split by site (group_by='site': labkit.samples.SiteSplit)." if what == "classes" else
               "assign whole polygons to regions: assign_regions(samples, regions, by='group').")
        raise DataModelError(f"{who}: {unit} {_listed(mixed)} hold pixels of several {what}; {fix}")


def _n_train(n_groups: int, train_size: float) -> int:
    """Polygons of a class that go to training: the share, at least one on each side when there are two or more."""
    if n_groups == 1:
        return 1
    return min(max(1, round(train_size * n_groups)), n_groups - 1)


class _RunSplit:
    """What the train/validation splitters share: ``n_runs``, ``train_size``, ``random_state`` and their check."""

    def __init__(self, n_runs: int = 1, *, train_size: float = 0.7, random_state: int | None = None):
        self.n_runs = n_runs
        self.train_size = train_size
        self.random_state = random_state

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n_runs={self.n_runs}, train_size={self.train_size}, "
                f"random_state={self.random_state})")

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The number of runs."""
        return self.n_runs

    def _check(self, who: str | None = None) -> None:
        """Refuse bad parameters (:mod:`labkit.params`), naming ``who`` (the function the user called)."""
        who = who or type(self).__name__
        integer(self.n_runs, "n_runs", who, low=1)
        number(self.train_size, "train_size", who, low=0, high=1, closed="neither")
        seed(self.random_state, who)


class PolygonSplit(_RunSplit):
    """Train/validation split of the polygons of each class, repeated ``n_runs`` times (iota2's *runs*).

    Within each class (stratum), the polygons (``groups``) are shuffled and the first ``train_size`` share goes to
    training, at least one on each side when the class has two polygons or more (a class with a single polygon
    goes to training only). Every run is a new draw of the same random generator, different from the runs before
    it; ``n_runs`` larger than the number of distinct splits that exist is an error.

    Follows scikit-learn's splitter API: ``split(X, y, groups)`` yields ``(train, validation)`` index arrays.

    Parameters
    ----------
    n_runs : int, default 1
    train_size : float in (0, 1), default 0.7
        The share of each class's polygons (not pixels) that goes to training.
    random_state : int or None, default None
        Seed; the same seed gives the same runs.

    See Also
    --------
    split_runs, split_by_group : the same on sample sets.
    PolygonKFold : k-fold cross-validation by polygon.

    Example
    -------
    >>> y, groups = [1, 1, 1, 1, 2, 2, 2, 2], [10, 10, 11, 12, 20, 21, 22, 23]
    >>> splitter = PolygonSplit(n_runs=3, train_size=0.5, random_state=0)
    >>> splitter.get_n_splits()
    3
    >>> for train, validation in splitter.split(None, y, groups):
    ...     assert not set(np.take(groups, train)) & set(np.take(groups, validation))
    """

    def n_distinct_splits(self, y, groups) -> int:
        """How many different splits of these polygons exist (the most runs that can differ).

        Example
        -------
        >>> PolygonSplit(train_size=0.5).n_distinct_splits([1, 1, 1, 1, 2], [1, 2, 3, 4, 5])
        6
        """
        self._check()
        y, groups = np.asarray(y).ravel(), np.asarray(groups).ravel()
        total = 1
        for code in np.unique(y):
            n = np.unique(groups[y == code]).size
            total *= math.comb(n, _n_train(n, self.train_size))
        return total

    def split(self, X, y, groups) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, validation)`` arrays of sample positions, one pair per run.

        Raises
        ------
        ConfigError
            Bad parameters, missing ``y`` or ``groups``, lengths that differ, more runs than distinct splits.
        DataModelError
            A polygon whose samples belong to several classes.
        """
        who = "PolygonSplit"
        self._check(who)
        y, groups = _as_arrays(who, X, y, groups)
        _check_one_stratum(who, y, groups)
        distinct = self.n_distinct_splits(y, groups)
        if self.n_runs > distinct:
            raise ConfigError(f"{who}: {self.n_runs} runs were asked, but these polygons allow only {distinct} "
                              f"different split(s) with train_size={self.train_size}; ask for fewer runs.")
        return self._runs(y, groups)

    def _runs(self, y, groups):
        rng = np.random.default_rng(self.random_state)
        per_class = [np.unique(groups[y == code]) for code in np.unique(y)]
        seen: set[tuple] = set()
        for _ in range(self.n_runs):
            while True:
                train_groups = []
                for class_groups in per_class:
                    drawn = class_groups.copy()
                    rng.shuffle(drawn)
                    train_groups.extend(drawn[:_n_train(len(drawn), self.train_size)].tolist())
                key = tuple(sorted(train_groups))
                if key not in seen:
                    break
            seen.add(key)
            in_train = np.isin(groups, train_groups)
            yield np.flatnonzero(in_train), np.flatnonzero(~in_train)


MAX_DRAWS = 100
"""Draws :class:`SiteSplit` makes for a run before it gives up finding a split unlike the runs before it."""


def _sides(counts: np.ndarray, side: np.ndarray) -> np.ndarray:
    """``(2, class)`` samples of each class on each side (0 training, 1 validation)."""
    return np.stack([counts[side == k].sum(axis=0) for k in (0, 1)])


def _imbalance(held: np.ndarray, target: np.ndarray) -> float:
    """How far two sides are from holding each class in its target shares: the mean over classes of the spread
    between the sides' fills (what a side holds of a class over what it should hold), 0 when exact."""
    return float(np.std(held / target, axis=0).mean())


def _deal_sites(counts: np.ndarray, train_size: float, rng: np.random.Generator) -> np.ndarray:
    """Side of each site (0 training, 1 validation): dealt largest first (ties in random order), each where the
    classes' shares stay closest to their targets (``StratifiedGroupKFold``'s rule); then :func:`_both_sides`."""
    target = np.array([[train_size], [1 - train_size]]) * counts.sum(axis=0)
    order = rng.permutation(len(counts))
    order = order[np.argsort(-counts[order].sum(axis=1), kind="stable")]
    side = np.zeros(len(counts), np.int64)
    held = np.zeros_like(target)
    for site in order:
        costs = []
        for k in (0, 1):
            held[k] += counts[site]
            costs.append((round(_imbalance(held, target), 12), held[k].sum() / target[k].sum()))
            held[k] -= counts[site]
        side[site] = int(costs[1] < costs[0])
        held[side[site]] += counts[site]
    return _both_sides(counts, side, target)


def _both_sides(counts: np.ndarray, side: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Put every class that has two sites or more on both sides: move across the one of its sites that keeps the
    balance best, among those whose move takes no class's last sample off the side it leaves."""
    for code in range(counts.shape[1]):
        holders = counts[:, code] > 0
        if holders.sum() < 2 or len(np.unique(side[holders])) == 2:
            continue
        full = side[holders][0]
        held = _sides(counts, side)
        best = None
        for site in np.flatnonzero(holders & (side == full)):
            if ((counts[site] > 0) & (held[full] - counts[site] == 0)).any():
                continue
            moved = held.copy()
            moved[full] -= counts[site]
            moved[1 - full] += counts[site]
            cost = _imbalance(moved, target)
            if best is None or cost < best[0]:
                best = (cost, site)
        if best is not None:
            side[best[1]] = 1 - full
    return side


def _warn_one_sided(who: str, counts: np.ndarray, side: np.ndarray, codes: np.ndarray) -> None:
    """Warn about classes with two sites or more that could not be put on both sides."""
    several = (counts > 0).sum(axis=0) >= 2
    one_sided = several & ((_sides(counts, side) > 0).sum(axis=0) < 2)
    if one_sided.any():
        warnings.warn(f"{who}: {_plural(int(one_sided.sum()), 'class', 'classes')} {_listed(codes[one_sided])} "
                      "could not be put on both sides: each of their sites on the other side also holds the last "
                      "samples of another class there. Look at split_balance(train, validation).", stacklevel=3)


class SiteSplit(_RunSplit):
    """Train/validation split of sites, places whose samples may belong to several classes, stratified by class as
    well as the sites allow; repeated ``n_runs`` times.

    A site (``groups``) is a place: a field observed over several seasons, say, with a class each season. All its
    samples go to one side, so that a model is never validated on a place it was trained on in another year (the
    leakage :class:`PolygonSplit` prevents for polygons). A site cannot be cut class by class as polygons are, so
    the sites are dealt, largest first (ties in a random order), each to the side where every class's share of
    samples in training stays closest to ``train_size``: the greedy rule of scikit-learn's
    ``StratifiedGroupKFold``, for two sides of unequal size (scikit-learn has no stratified group shuffle split).
    Then a class of two sites or more left on one side gets one of its sites moved across, if one can move without
    taking the last sample of another class off its side; a warning names the classes for which none could.
    Every run is a new draw, different from the runs before it.

    Follows scikit-learn's splitter API: ``split(X, y, groups)`` yields ``(train, validation)`` index arrays.

    Parameters
    ----------
    n_runs : int, default 1
    train_size : float in (0, 1), default 0.7
        The share of each class's samples (not sites) that should go to training.
    random_state : int or None, default None
        Seed; the same seed gives the same runs.

    See Also
    --------
    split_by_group, split_runs : the same on sample sets, with ``group_by="site"``.
    split_balance : the shares a split achieved, class by class.
    PolygonKFold : k-fold cross-validation; sites as its groups need nothing more (``StratifiedGroupKFold``).

    Example
    -------
    >>> y =     [1, 2, 1, 2, 1, 1, 2, 2, 1, 2]  # sites 0, 1, 3, 5 changed class from one season to the next
    >>> sites = [0, 0, 1, 1, 2, 3, 3, 4, 5, 5]
    >>> train, validation = next(SiteSplit(train_size=0.6, random_state=0).split(None, y, sites))
    >>> sorted(set(np.take(sites, train).tolist())), sorted(set(np.take(sites, validation).tolist()))
    ([0, 2, 3, 4], [1, 5])
    >>> np.take(y, validation).tolist()  # 2 of the 5 samples of each class
    [1, 2, 1, 2]
    """

    def split(self, X, y, groups) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, validation)`` arrays of sample positions, one pair per run.

        Raises
        ------
        ConfigError
            Bad parameters, missing ``y`` or ``groups``, lengths that differ; while drawing, a run that
            :data:`MAX_DRAWS` draws could not make unlike the runs before it.
        """
        who = "SiteSplit"
        self._check(who)
        y, groups = _as_arrays(who, X, y, groups)
        return self._runs(who, y, groups)

    def _runs(self, who: str, y: np.ndarray, groups: np.ndarray):
        sites, site_of = np.unique(groups, return_inverse=True)
        codes, code_of = np.unique(y, return_inverse=True)
        counts = np.zeros((sites.size, codes.size))
        np.add.at(counts, (site_of, code_of), 1)
        rng = np.random.default_rng(self.random_state)
        seen: set[bytes] = set()
        for _ in range(self.n_runs):
            for _ in range(MAX_DRAWS):
                side = _deal_sites(counts, self.train_size, rng)
                if side.tobytes() not in seen:
                    break
            else:
                raise ConfigError(f"{who}: {self.n_runs} runs were asked, but {MAX_DRAWS} draws found only "
                                  f"{len(seen)} different split(s) of these {sites.size} sites; ask for fewer runs.")
            seen.add(side.tobytes())
            _warn_one_sided(who, counts, side, codes)
            in_train = side[site_of] == 0
            yield np.flatnonzero(in_train), np.flatnonzero(~in_train)


class PolygonKFold:
    """K-fold cross-validation by polygon: each polygon in exactly one validation fold.

    Wraps scikit-learn's ``StratifiedGroupKFold`` (``stratify=True``: each fold's class proportions as close to the
    whole set's as the polygons allow) or ``GroupKFold`` (``stratify=False``). A class with fewer polygons than
    folds cannot appear in every fold; no warning is raised for it (look at the folds' classes if it matters).

    Parameters
    ----------
    n_splits : int, default 5
    stratify : bool, default True
    shuffle : bool, default True
        Shuffle the polygons before making the folds (with ``random_state``).
    random_state : int or None, default None

    See Also
    --------
    split_folds : the same on sample sets.

    Example
    -------
    >>> y, groups = [1, 1, 1, 2, 2, 2], [1, 2, 3, 4, 5, 6]
    >>> folds = list(PolygonKFold(3, random_state=0).split(None, y, groups))
    >>> sorted(int(i) for _, validation in folds for i in validation)
    [0, 1, 2, 3, 4, 5]
    """

    def __init__(self, n_splits: int = 5, *, stratify: bool = True, shuffle: bool = True,
                 random_state: int | None = None):
        self.n_splits = n_splits
        self.stratify = stratify
        self.shuffle = shuffle
        self.random_state = random_state

    def __repr__(self) -> str:
        return (f"PolygonKFold(n_splits={self.n_splits}, stratify={self.stratify}, shuffle={self.shuffle}, "
                f"random_state={self.random_state})")

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The number of folds."""
        return self.n_splits

    def _check(self, who: str = "PolygonKFold") -> None:
        """Refuse bad parameters (:mod:`labkit.params`), naming ``who`` (the function the user called)."""
        integer(self.n_splits, "n_splits", who, low=2)
        flag(self.stratify, "stratify", who)
        flag(self.shuffle, "shuffle", who)
        seed(self.random_state, who, generator=False)

    def split(self, X, y, groups) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, validation)`` arrays of sample positions, one pair per fold.

        Raises
        ------
        ConfigError
            Fewer polygons than folds, bad parameters, missing ``y`` or ``groups``.
        """
        from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

        who = "PolygonKFold"
        self._check(who)
        y, groups = _as_arrays(who, X, y, groups)
        n_groups = np.unique(groups).size
        if n_groups < self.n_splits:
            raise ConfigError(f"{who}: {self.n_splits} folds need at least {self.n_splits} polygons; these samples "
                              f"come from {n_groups}.")
        # scikit-learn refuses to stratify when every class has fewer samples than folds; there is then nothing to
        # stratify on, and plain group folds are what the user gets.
        stratifiable = np.unique(y, return_counts=True)[1].max() >= self.n_splits
        kind = StratifiedGroupKFold if self.stratify and stratifiable else GroupKFold
        splitter = kind(self.n_splits, shuffle=self.shuffle,
                        random_state=self.random_state if self.shuffle else None)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The least populated class", UserWarning)
            folds = list(splitter.split(np.zeros((len(y), 1)), y, groups))
        return iter(folds)


# ------------------------------------------------------------------------------------- splits of sample sets

GROUPS_KEPT = {"group": "polygons", "site": "sites"}
"""What ``group_by`` usually names, and what its values are called in messages: ``"group"``, the polygon (or
point) of each sample, one class each; ``"site"``, the place, which may hold several classes (several seasons)."""


def _units(who: str, samples: xr.Dataset, group_by: str) -> np.ndarray:
    """The values of ``group_by``, a variable along ``sample``: what a split keeps whole."""
    if not (isinstance(group_by, str) and group_by in samples.data_vars and samples[group_by].dims == ("sample",)):
        along = [n for n, v in samples.data_vars.items() if v.dims == ("sample",) and n not in ("label", "target")]
        hint = (" extract_samples gives each sample its site (same pixel or same group); or set samples['site'] "
                "yourself." if group_by == "site" else "")
        raise ConfigError(f"{who}: group_by must name a variable along 'sample' whose values a split keeps whole "
                          f"('group': polygons; 'site': places); the sample set has no {group_by!r}, its variables "
                          f"along 'sample' are {along}.{hint}")
    units = samples[group_by].values
    missing = np.flatnonzero(pd.isna(units))
    if missing.size:
        raise DataModelError(f"{who}: '{group_by}' is missing for {missing.size} samples (e.g. samples "
                             f"{missing[:5].tolist()}); give them one, or drop them.")
    return units


def _unit_name(group_by: str) -> str:
    return GROUPS_KEPT.get(group_by, f"values of {group_by!r}")


def _run_splitter(group_by: str, n_runs: int, train_size: float, random_state) -> _RunSplit:
    """:class:`PolygonSplit` for polygons (``group``, one class each), :class:`SiteSplit` for anything else."""
    kind = PolygonSplit if group_by == "group" else SiteSplit
    return kind(n_runs, train_size=train_size, random_state=random_state)


def _strata(who: str, samples: xr.Dataset, by_region: bool, units: np.ndarray, group_by: str) -> np.ndarray:
    """What each sample is stratified by: its class, or its (region, class) pair (each unit in one region)."""
    label = samples["label"].values
    if not flag(by_region, "by_region", who):
        return label
    if "region" not in samples:
        raise DataModelError(f"{who}: by_region=True needs a 'region' variable; set it with "
                             "assign_regions(samples, regions, field=...).")
    region = samples["region"].values
    _check_one_stratum(who, region, units, what="regions", unit=_unit_name(group_by))
    pairs = pd.MultiIndex.from_arrays([region, label])
    return pd.factorize(pairs, sort=True)[0]


def _pairs_of(samples: xr.Dataset, indices) -> Iterator[tuple[xr.Dataset, xr.Dataset]]:
    for train, validation in indices:
        yield samples.isel(sample=train), samples.isel(sample=validation)


def split_runs(
    samples: xr.Dataset, n_runs: int = 5, *, train_size: float = 0.7, random_state: int | None = 0,
    by_region: bool = False, group_by: str = "group",
) -> Iterator[tuple[xr.Dataset, xr.Dataset]]:
    """``n_runs`` different train/validation splits of a sample set by polygon, class by class (iota2's runs).

    Parameters
    ----------
    samples : sample set
    n_runs : int, default 5
    train_size : float in (0, 1), default 0.7
        The share of each class's polygons that goes to training (with ``group_by="site"``: of its samples).
    random_state : int or None, default 0
    by_region : bool, default False
        Split each region's polygons within the region (stratify by region and class); needs ``region``.
    group_by : str, default "group"
        What each side keeps whole: ``"group"``, the polygons (one class each, :class:`PolygonSplit`);
        ``"site"`` (or any other variable along ``sample``), places that may hold several classes, such as a field
        observed over several seasons (:class:`SiteSplit`: stratified as well as the sites allow).

    Returns
    -------
    iterator of (train, validation) sample sets
        Checked before the first is drawn (bad parameters raise at the call, not at the first ``next``).

    Raises
    ------
    ConfigError
        ``n_runs`` not an integer >= 1, ``train_size`` not strictly between 0 and 1, a bad ``random_state``
        (:func:`labkit.params.seed`), a ``by_region`` that is not True or False, a ``group_by`` that names no
        variable along ``sample``, before anything is drawn.
    DataModelError
        A polygon whose samples belong to several classes (split those by site), a unit in several regions;
        ``by_region`` without ``region``.

    See Also
    --------
    PolygonSplit, SiteSplit : the splitters behind it.
    split_balance : the classes' shares each run achieved.

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> s = dm.make_samples(np.zeros((8, 1, 1)), [1, 1, 1, 1, 2, 2, 2, 2], [1, 1, 2, 3, 4, 5, 6, 7], bands=["NDVI"])
    >>> runs = list(split_runs(s, 3, train_size=0.5))
    >>> len(runs), [sorted(set(val.group.values.tolist())) for _, val in runs]
    (3, [[2, 4, 5], [3, 4, 6], [2, 5, 7]])
    """
    who = "split_runs"
    splitter = _run_splitter(group_by, n_runs, train_size, random_state)
    splitter._check(who)
    validate(samples, "samples")
    units = _units(who, samples, group_by)
    strata = _strata(who, samples, by_region, units, group_by)
    return _pairs_of(samples, splitter.split(None, strata, units))


def split_by_group(
    samples: xr.Dataset, *, train_size: float = 0.7, random_state: int | None = 0, by_region: bool = False,
    group_by: str = "group",
) -> tuple[xr.Dataset, xr.Dataset]:
    """Split a sample set into training and validation sets by polygon, class by class (or by site).

    Within each class the polygons (``group``) are shuffled and the first ``train_size`` share of them goes to
    training, at least one on each side when a class has two polygons or more (a class with one polygon goes to
    training only). No polygon gives pixels to both sets, so validation measures how the model does on polygons it
    has never seen (a random pixel split would leak neighbouring, nearly identical pixels). The first run of
    :func:`split_runs` with the same arguments.

    With ``group_by="site"``, whole sites go to either side: places that may hold samples of several classes, such
    as a field observed over several seasons (a class each season), so that no place is validated on after being
    trained on in another year. The split is then stratified as well as the sites allow (:class:`SiteSplit`); see
    what it achieved with :func:`split_balance`.

    Parameters
    ----------
    samples : sample set
    train_size : float in (0, 1), default 0.7
    random_state : int or None, default 0
    by_region : bool, default False
        Split each region within itself (needs a ``region`` variable, see :func:`assign_regions`).
    group_by : str, default "group"
        ``"group"`` (polygons, one class each) or ``"site"`` (places, any classes), or another variable along
        ``sample`` whose values hold samples that must stay together.

    Raises
    ------
    ConfigError
        ``train_size`` not strictly between 0 and 1, a bad ``random_state``, a ``by_region`` that is not True or
        False, a ``group_by`` that names no variable along ``sample``, before anything is drawn.
    DataModelError
        A polygon whose samples belong to several classes (split those by site), a unit in several regions;
        ``by_region`` without ``region``.

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> s = dm.make_samples(np.zeros((6, 1, 1)), [1, 1, 1, 2, 2, 2], [1, 1, 2, 3, 4, 4], bands=["NDVI"])
    >>> train, val = split_by_group(s, train_size=0.5, random_state=0)
    >>> set(train.group.values.tolist()) & set(val.group.values.tolist())
    set()

    Two seasons of each of four fields, some of which changed class:

    >>> seasons = dm.make_samples(np.zeros((8, 1, 1)), [1, 2, 1, 1, 2, 2, 2, 1], np.arange(8), bands=["NDVI"],
    ...                           site=[0, 0, 1, 1, 2, 2, 3, 3])
    >>> train, val = split_by_group(seasons, train_size=0.5, group_by="site")
    >>> sorted(set(train.site.values.tolist())), sorted(set(val.site.values.tolist()))
    ([1, 2], [0, 3])
    """
    who = "split_by_group"
    splitter = _run_splitter(group_by, 1, train_size, random_state)
    splitter._check(who)
    validate(samples, "samples")
    units = _units(who, samples, group_by)
    strata = _strata(who, samples, by_region, units, group_by)
    if group_by == "group":
        _check_one_stratum(who, strata, units)
    return next(_pairs_of(samples, splitter.split(None, strata, units)))


def split_folds(
    samples: xr.Dataset, n_splits: int = 5, *, stratify: bool = True, shuffle: bool = True,
    random_state: int | None = 0, by_region: bool = False, group_by: str = "group",
) -> Iterator[tuple[xr.Dataset, xr.Dataset]]:
    """K-fold cross-validation of a sample set by polygon: ``(train, validation)`` sample sets, one per fold.

    Parameters
    ----------
    samples : sample set
    n_splits : int, default 5
    stratify : bool, default True
        Keep the class proportions of each fold close to the whole set's (``StratifiedGroupKFold``).
    shuffle : bool, default True
    random_state : int or None, default 0
    by_region : bool, default False
        Stratify by region and class (needs ``region``).
    group_by : str, default "group"
        What each fold keeps whole: ``"group"`` (polygons), ``"site"`` (places, which may hold several classes:
        ``StratifiedGroupKFold`` stratifies them as well as it can), or another variable along ``sample``.
        (:func:`labkit.models.cross_validate` takes the same ``group_by``.)

    Raises
    ------
    ConfigError
        ``n_splits`` not an integer >= 2, ``stratify``, ``shuffle`` or ``by_region`` not True or False, a bad
        ``random_state`` (None, or an integer from 0 to 2**32 - 1: scikit-learn's splitters take no numpy
        Generator), a ``group_by`` that names no variable along ``sample``, before anything is drawn.
    DataModelError
        A unit in several regions with ``by_region``; ``by_region`` without ``region``.

    See Also
    --------
    PolygonKFold : the splitter behind it.

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> s = dm.make_samples(np.zeros((6, 1, 1)), [1, 1, 1, 2, 2, 2], [1, 2, 3, 4, 5, 6], bands=["NDVI"])
    >>> [val.sizes["sample"] for _, val in split_folds(s, 3)]
    [2, 2, 2]
    """
    who = "split_folds"
    splitter = PolygonKFold(n_splits, stratify=stratify, shuffle=shuffle, random_state=random_state)
    splitter._check(who)
    validate(samples, "samples")
    units = _units(who, samples, group_by)
    strata = _strata(who, samples, by_region, units, group_by)
    return _pairs_of(samples, splitter.split(None, strata, units))


def split_balance(train: xr.Dataset, validation: xr.Dataset, *, group_by: str = "group") -> pd.DataFrame:
    """The classes of a train/validation split: samples and units (polygons, sites) of each class on each side.

    Parameters
    ----------
    train, validation : sample sets
    group_by : str, default "group"
        What the split kept whole (``"group"``, ``"site"``...): counted in the ``*_units`` columns.

    Returns
    -------
    pandas.DataFrame
        One row per class (its label), columns ``train_samples``, ``validation_samples``, ``train_units``,
        ``validation_units`` and ``validation_share`` (the share of the class's samples in validation: about
        ``1 - train_size`` in a well stratified split; 0 or 1 for a class on one side only).

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> s = dm.make_samples(np.zeros((6, 1, 1)), [1, 1, 1, 2, 2, 2], [1, 1, 2, 3, 4, 4], bands=["NDVI"])
    >>> table = split_balance(*split_by_group(s, train_size=0.5))
    >>> table.columns.tolist()
    ['train_samples', 'validation_samples', 'train_units', 'validation_units', 'validation_share']
    >>> table.validation_samples.to_dict(), table.validation_share.round(2).to_dict()
    ({1: 1, 2: 2}, {1: 0.33, 2: 0.67})
    """
    columns = {}
    for side, part in (("train", train), ("validation", validation)):
        validate(part, "samples")
        if "label" not in part:
            raise DataModelError("split_balance: the sample sets have no 'label' (classes) to count.")
        frame = pd.DataFrame({"label": part["label"].values, "unit": _units("split_balance", part, group_by)})
        columns[f"{side}_samples"] = frame.groupby("label").size()
        columns[f"{side}_units"] = frame.groupby("label")["unit"].nunique()
    table = pd.DataFrame(columns).fillna(0).astype(np.int64)
    table = table[["train_samples", "validation_samples", "train_units", "validation_units"]]
    table["validation_share"] = table["validation_samples"] / (table["train_samples"] + table["validation_samples"])
    table.index.name = "label"
    return table


def concat_samples(sets, *, source: str | None = None) -> xr.Dataset:
    """Several sample sets (of tiles, of years...) as one: their samples one after the other.

    The sets must read the same dates and bands. Their classes are united (with their names, which must agree),
    the samples renumbered, and each set's ``site`` numbers shifted so that a site of one set is never another's:
    a ``group`` (a polygon id of one reference file) is kept as it is, so a polygon over two tiles stays one group.

    Parameters
    ----------
    sets : mapping {name: sample set} or sequence of sample sets
        Empty sets are left out.
    source : str, optional
        With a mapping: the name of a new per-sample variable holding each sample's set name (e.g. ``"tile"``).

    Raises
    ------
    DataModelError
        Not sample sets; sets of other dates or bands (named); a class named differently in two sets; no sample.

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> a = dm.make_samples(np.zeros((2, 1, 1)), [1, 2], [7, 8], bands=["NDVI"])
    >>> b = dm.make_samples(np.ones((1, 1, 1)), [3], [7], bands=["NDVI"])
    >>> both = concat_samples({"A": a, "B": b}, source="tile")
    >>> both.label.values.tolist(), both.group.values.tolist(), both.tile.values.tolist()
    ([1, 2, 3], [7, 8, 7], ['A', 'A', 'B'])
    """
    named = dict(sets) if hasattr(sets, "items") else dict(enumerate(sets))
    parts, names, first, offset = [], {}, None, 0
    for name, samples in named.items():
        validate(samples, "samples")
        if samples.sizes["sample"] == 0:
            continue
        if first is None:
            first = (name, samples)
        for dim in ("time", "band"):
            if dim in first[1].dims and not np.array_equal(np.asarray(samples[dim]), np.asarray(first[1][dim])):
                raise DataModelError(f"concat_samples: set {name!r} has other {dim} values than set {first[0]!r} "
                                     f"({samples.sizes.get(dim)} vs {first[1].sizes.get(dim)}); sets of one "
                                     f"concatenation read the same {dim}s.")
        if "class_name" in samples:
            for code, text in zip(samples["class"].values.tolist(), samples["class_name"].values.tolist()):
                if names.setdefault(code, text) != text:
                    raise DataModelError(f"concat_samples: class {code} is {names[code]!r} in one set and {text!r} "
                                         f"in set {name!r}.")
        part = samples.drop_vars([v for v in ("class_name", "class") if v in samples.variables])
        part = part.drop_vars("sample", errors="ignore")
        if "site" in part:
            part["site"] = part["site"] + offset
            offset = int(part["site"].max()) + 1
        if source is not None:
            part[source] = ("sample", np.full(part.sizes["sample"], str(name)))
        parts.append(part)
    if not parts:
        raise DataModelError("concat_samples: no sample in any set.")
    merged = xr.concat(parts, dim="sample", data_vars="minimal", coords="minimal", compat="override",
                       join="exact", combine_attrs="drop_conflicts")
    merged = merged.assign_coords(sample=np.arange(merged.sizes["sample"]))
    if names:
        codes = sorted(names)
        merged = merged.assign_coords({"class": codes})
        merged["class_name"] = ("class", np.array([names[c] for c in codes]))
    validate(merged, "samples")
    return merged


# ---------------------------------------------------------------------------------------------------- regions


def assign_regions(
    samples: xr.Dataset,
    regions: gpd.GeoDataFrame,
    *,
    field: str = "region",
    by: str = "group",
    on_outside: str = "raise",
) -> xr.Dataset:
    """Set each sample's ``region`` from a layer of region polygons (eco-climatic zones...), by its ``x``/``y``.

    Parameters
    ----------
    samples : sample set with ``x``, ``y`` and ``attrs["crs"]``
    regions : geopandas.GeoDataFrame
        Polygons with the region in ``field``, any CRS. Where regions overlap, the first row wins.
    field : str, default "region"
    by : {"group", "sample"}, default "group"
        "group": each polygon goes whole to the region that holds most of its pixels (ties: the smallest region),
        so that splits by region keep polygons whole; "sample": each pixel to the region under it.
    on_outside : {"raise", "drop"}, default "raise"
        What to do with samples in no region (with ``by="group"``: polygons none of whose pixels is in a region).

    Returns
    -------
    sample set
        A new one, with ``region (sample)``.

    Raises
    ------
    ConfigError
        No ``x``/``y`` or CRS, not a GeoDataFrame, missing field, bad options.
    DataModelError
        Samples in no region (how many, which polygons).

    Example
    -------
    >>> import geopandas as gpd, labkit.datamodel as dm
    >>> from shapely.geometry import box
    >>> s = dm.make_samples(np.zeros((3, 1, 1)), [1, 1, 2], [7, 7, 8], bands=["NDVI"], x=[5, 15, 25], y=[5, 5, 5],
    ...                     crs="EPSG:32631")
    >>> zones = gpd.GeoDataFrame({"zone": [1, 2]}, geometry=[box(0, 0, 12, 10), box(12, 0, 30, 10)], crs=32631)
    >>> assign_regions(s, zones, field="zone", by="sample").region.values.tolist()
    [1, 2, 2]
    """
    who = "assign_regions"
    validate(samples, "samples")
    _check_option(who, "on_outside", on_outside)
    if by not in ("group", "sample"):
        raise ConfigError(f"{who}: by must be 'group' or 'sample'; got {by!r}.")
    if not isinstance(regions, gpd.GeoDataFrame):
        raise ConfigError(f"{who}: regions must be a GeoDataFrame; got {type(regions).__name__}.")
    if not _has_field(regions, field):
        raise ConfigError(f"{who}: the regions have no field {field!r}; fields: "
                          f"{[c for c in regions.columns if c != regions.geometry.name]}.")
    if regions.crs is None:
        raise ConfigError(f"{who}: the regions have no CRS. Set it with regions.set_crs('EPSG:...').")
    if "x" not in samples or "y" not in samples:
        raise ConfigError(f"{who}: the samples have no 'x'/'y' coordinates, so their region cannot be found; set "
                          "samples['region'] yourself.")
    if "crs" not in samples.attrs:
        raise ConfigError(f"{who}: the samples have no CRS (attrs['crs']); set it, e.g. "
                          "samples.attrs['crs'] = pyproj.CRS('EPSG:4326').to_wkt().")
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(samples["x"].values, samples["y"].values),
                              crs=samples.attrs["crs"]).to_crs(regions.crs)
    zones = regions[[field, regions.geometry.name]].reset_index(drop=True)
    joined = gpd.sjoin(points, zones, how="left", predicate="intersects")
    joined = joined.assign(_point=joined.index).sort_values(["_point", "index_right"], na_position="last")
    index = joined.drop_duplicates("_point")["index_right"].to_numpy()  # in sample order
    found = ~pd.isna(index)
    region_of = zones[field].to_numpy()[index[found].astype(np.int64)]
    group = samples["group"].values
    if by == "group":
        majority = pd.crosstab(group[found], region_of).idxmax(axis=1)  # ties: the first, smallest, region
        found = np.isin(group, majority.index.to_numpy())
        region_of = majority.reindex(group[found]).to_numpy()
    if not found.all() and on_outside == "raise":
        raise DataModelError(
            f"{who}: {_plural(int((~found).sum()), 'sample lies', 'samples lie')} in no region (polygons "
            f"{_listed(np.unique(group[~found]))}). Check the CRS of both, or pass on_outside='drop' to leave "
            "them out.")
    kept = samples if found.all() else samples.isel(sample=np.flatnonzero(found))
    return kept.assign(region=("sample", region_of))


def split_by_region(samples: xr.Dataset) -> dict:
    """One sample set per region: ``{region: samples of that region}``, in sorted order of the regions.

    Raises
    ------
    DataModelError
        No ``region`` variable (set it with :func:`assign_regions`).

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> s = dm.make_samples(np.zeros((3, 1, 1)), [1, 1, 2], [7, 7, 8], bands=["NDVI"], region=[2, 2, 1])
    >>> {r: part.sizes["sample"] for r, part in split_by_region(s).items()}
    {1: 1, 2: 2}
    """
    validate(samples, "samples")
    if "region" not in samples:
        raise DataModelError("split_by_region: the samples have no 'region' variable; set it with "
                             "assign_regions(samples, regions, field=...).")
    region = samples["region"].values
    out = {}
    for value in np.unique(region):
        key = value.item() if isinstance(value, np.generic) else value
        out[key] = samples.isel(sample=np.flatnonzero(region == value))
    return out


# -------------------------------------------------------------------------------------------------- balancing


def _fair_order(rng: np.random.Generator, positions: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The positions in an order that takes one pixel from each polygon in turn (polygons and pixels shuffled)."""
    shuffled = rng.permutation(positions)
    group_of = groups[shuffled]
    polygons = rng.permutation(np.unique(group_of))
    turn = pd.Series(group_of).groupby(group_of).cumcount().to_numpy()  # k-th pixel drawn from its polygon
    polygon_rank = pd.Series(np.arange(len(polygons)), index=polygons)[group_of].to_numpy()
    return shuffled[np.lexsort((polygon_rank, turn))]


def balance_classes(
    samples: xr.Dataset,
    *,
    max_per_class: int | None = None,
    min_per_class: int | None = None,
    oversample: bool = False,
    random_state: int | None = 0,
) -> xr.Dataset:
    """Cap the samples of large classes, drawing fairly across polygons; optionally oversample small classes.

    A class with more than ``max_per_class`` samples keeps ``max_per_class`` of them, taken in turn from each of its
    polygons (so a large polygon cannot crowd out the others: every polygon keeps ``min(its size, t)`` or ``t + 1``
    pixels for some ``t``). With ``oversample=True``, a class with fewer than ``min_per_class`` samples is completed
    by duplicating its samples, in the same fair order (every sample once before any twice). Duplicates keep their
    ``group`` and ``sample`` coordinate: balance a training set *after* splitting, never before.

    Parameters
    ----------
    samples : sample set
    max_per_class : int, optional
        No cap when None.
    min_per_class : int, optional
        With ``oversample=True``: the size small classes are brought to (default: ``max_per_class``, or the size of
        the largest class).
    oversample : bool, default False
    random_state : int or None, default 0

    Returns
    -------
    sample set
        The kept samples in their original order.

    Raises
    ------
    ConfigError
        ``max_per_class`` or ``min_per_class`` not an integer >= 1, ``oversample`` not True or False, a bad
        ``random_state``, ``min_per_class`` without ``oversample=True`` or above ``max_per_class``.

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> s = dm.make_samples(np.zeros((9, 1, 1)), [1] * 7 + [2] * 2, [1, 1, 1, 1, 1, 2, 3, 4, 4], bands=["NDVI"])
    >>> capped = balance_classes(s, max_per_class=3)
    >>> sorted(capped.group.values.tolist())  # one pixel from each polygon of class 1
    [1, 2, 3, 4, 4]
    >>> np.unique(balance_classes(s, max_per_class=3, oversample=True).label, return_counts=True)[1].tolist()
    [3, 3]
    """
    who = "balance_classes"
    if max_per_class is not None:
        max_per_class = integer(max_per_class, "max_per_class", who, low=1)
    oversample = flag(oversample, "oversample", who)
    random_state = seed(random_state, who)
    if min_per_class is not None:
        min_per_class = integer(min_per_class, "min_per_class", who, low=1)
        if not oversample:
            raise ConfigError(f"{who}: min_per_class={min_per_class} needs oversample=True (without it, small classes "
                              "are left as they are).")
        if max_per_class is not None and min_per_class > max_per_class:
            raise ConfigError(f"{who}: min_per_class ({min_per_class}) is larger than max_per_class "
                              f"({max_per_class}).")
    validate(samples, "samples")
    rng = np.random.default_rng(random_state)
    label, group = samples["label"].values, samples["group"].values
    codes, sizes = np.unique(label, return_counts=True)
    floor = None
    if oversample:
        floor = min_per_class or max_per_class or int(sizes.max())
    kept = []
    for code in codes:
        order = _fair_order(rng, np.flatnonzero(label == code), group)
        if max_per_class is not None and len(order) > max_per_class:
            order = order[:max_per_class]
        if floor is not None and len(order) < floor:
            order = order[np.arange(floor) % len(order)]
        kept.append(order)
    return samples.isel(sample=np.sort(np.concatenate(kept), kind="stable"))
