"""Reading and writing: the first and the last stage of the chain.

Takes files and returns labkit objects (see :mod:`labkit.datamodel`), or the reverse:

======================================  ===================================================================
layout                                  functions
======================================  ===================================================================
one raster per date, all bands in each  :func:`read_dates` / :func:`write_dates` (GeoTIFF, any GDAL raster)
one raster per band, a layer per date   :func:`read_bands` / :func:`write_bands`
a cube (and its mask) in one store      :func:`read_zarr` / :func:`write_zarr` (Zarr)
a class, confidence or probability map  :func:`write_cog` (Cloud-Optimized GeoTIFF)
a sample set                            :func:`read_samples` / :func:`write_samples` (NetCDF)
======================================  ===================================================================

Readers return ``float32`` cubes in physical units: the files' nodata becomes ``NaN`` and their scale/offset are
applied. They return numpy arrays, or lazy dask arrays when given ``chunks``. Every file of a series must share
one grid (CRS, transform, size); when they do not, :class:`~labkit.errors.GridMismatchError` names both files.

Writers check their input first, then write to a temporary file next to the target and move it into place
(:func:`atomic_paths`): a failed write leaves nothing behind, and an existing output is only replaced with
``overwrite=True``.

Before this stage: :mod:`labkit.datasets` fetches the files. After it: :mod:`labkit.tiling` and :mod:`labkit.masks`
take the cube; :mod:`labkit.inference` and :mod:`labkit.postprocess` hand their maps back to :func:`write_cog`.

Example
-------
>>> import tempfile, numpy as np, labkit.datamodel as dm
>>> cube = dm.make_cube(np.ones((2, 1, 3, 4), "float32"), ["2021-05-01", "2021-05-11"], ["NDVI"],
...                     transform=(10.0, 0, 500000.0, 0, -10.0, 4000000.0), crs="EPSG:32631")
>>> files = write_dates(cube, tempfile.mkdtemp(), prefix="ndvi_")
>>> [f.name for f in files]
['ndvi_2021-05-01.tif', 'ndvi_2021-05-11.tif']
>>> read_dates(files).identical(cube)
True
"""

from __future__ import annotations

import contextlib
import functools
import glob as _glob
import json
import math
import os
import re
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from .datamodel import CUBE_DIMS, MASK_DIMS, checked_mask, is_text, label_codes, make_cube, validate
from .errors import (
    BandError,
    ConfigError,
    DataModelError,
    GridMismatchError,
    LabkitError,
    OutputExistsError,
    ReadError,
)
from . import params
from .inputs import GuardedSource, check_fits_in_memory, finite_or_nan, read_failure
from .outputs import atomic_path, atomic_paths, is_zarr_store, refuse_temporary

__all__ = [
    "OutputExistsError",
    "atomic_path",
    "atomic_paths",
    "describe",
    "read_bands",
    "read_dates",
    "read_samples",
    "read_zarr",
    "tagged_class_names",
    "write_bands",
    "write_cog",
    "write_cogs",
    "write_dates",
    "write_json",
    "write_samples",
    "write_vector",
    "write_zarr",
]

ZARR_LAYOUT = "labkit-cube-1"
"""Value of the ``labkit_layout`` attribute of the Zarr stores written by :func:`write_zarr`."""

_ZARR_CHUNK_BYTES = 32 * 2**20  # target size of one chunk of a Zarr cube written from numpy
_CHEAP_SIZE = 5_000_000  # describe() counts missing values only up to this many values


# --------------------------------------------------------------------------------------------- small helpers


_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})([-_]?)(\d{2})\2(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?(?!\d)")
_ISO_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?\s*$")
_DATE_TAGS = ("DATE", "TIME", "DATETIME", "ACQUISITION_DATE", "ACQUISITIONDATE", "SENSING_TIME")


def _date_in_name(name: str) -> pd.Timestamp | None:
    """The first plausible date ``YYYY-MM-DD``, ``YYYY_MM_DD`` or ``YYYYMMDD`` (optionally ``THHMMSS``) in a name."""
    for match in _DATE_IN_NAME.finditer(name):
        year, _, month, day, hh, mm, ss = match.groups()
        if not 1900 <= int(year) <= 2200:
            continue
        try:
            return pd.Timestamp(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0))
        except ValueError:
            continue
    return None


def _date_in_text(text: str | None) -> pd.Timestamp | None:
    """A date written as ISO 8601 (with or without a time) or, failing that, as in a file name."""
    if not text:
        return None
    if _ISO_DATE.match(text):
        with contextlib.suppress(ValueError):
            stamp = pd.Timestamp(text.strip())
            return stamp.tz_convert(None) if stamp.tzinfo is not None else stamp
    return _date_in_name(text)


def _iso(stamp) -> str:
    """``2021-05-01`` for a date at midnight, else ``2021-05-01T10:20:30`` (what :func:`_date_in_text` reads)."""
    stamp = pd.Timestamp(stamp)
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.isoformat()


def _crs_name(crs) -> str:
    if crs is None:
        return "none"
    epsg = crs.to_epsg()
    if epsg is not None:
        return f"EPSG:{epsg}"
    with contextlib.suppress(Exception):  # a CRS that PROJ strings cannot express falls back to its WKT
        if text := crs.to_proj4().replace("=True", ""):
            return text
    text = crs.to_wkt()
    return text if len(text) <= 80 else text[:77] + "..."


def _as_crs(crs) -> CRS | None:
    if crs is None:
        return None
    try:
        return CRS.from_user_input(crs)
    except Exception as error:  # rasterio raises CRSError, pyproj objects may raise others
        raise ConfigError(f"crs={crs!r} is not a CRS rasterio can read ({error}). Use e.g. 'EPSG:32631'.") from None


def _as_transform(transform) -> Affine | None:
    if transform is None or isinstance(transform, Affine):
        return transform
    values = tuple(transform)
    if len(values) not in (6, 9):
        raise ConfigError(
            f"transform= must be an affine.Affine or 6 numbers (a, b, c, d, e, f); got {len(values)} values."
        )
    return Affine(*values[:6])


def _is_remote(path: str) -> bool:
    return path.startswith("/vsi") or "://" in path


def _must_exist(path: str | os.PathLike) -> None:
    """Every reader's first check: the path exists and is not the temporary of an unfinished write."""
    if not _is_remote(str(path)) and not Path(path).exists():
        raise ReadError(f"{path}: no such file or folder (paths are relative to {Path.cwd()}).")
    refuse_temporary(path)


def _expand_files(files, what: str) -> list[str]:
    """A list of paths, or every path a glob pattern matches (sorted)."""
    if isinstance(files, (str, os.PathLike)):
        pattern = os.fspath(files)
        if _glob.has_magic(pattern):
            found = sorted(_glob.glob(pattern))
            if not found:
                raise ReadError(f"No file matches the pattern {pattern!r} (paths are relative to {Path.cwd()}).")
            return found
        return [pattern]
    paths = [os.fspath(f) for f in files]
    if not paths:
        raise ReadError(f"{what}: no files given.")
    return paths


# ------------------------------------------------------------------------------------------------ raster files


@dataclass(frozen=True)
class _Raster:
    """What the readers need to know about one raster file, read once from its header."""

    path: str
    crs: CRS | None
    transform: Affine
    georeferenced: bool
    height: int
    width: int
    count: int
    dtype: str
    nodata: float | None
    scales: tuple[float, ...]
    offsets: tuple[float, ...]
    descriptions: tuple[str | None, ...]
    tags: tuple[dict, ...]
    block: tuple[int, int] = (512, 512)


@contextlib.contextmanager
def _quiet_georef():
    """Silence rasterio's NotGeoreferencedWarning: labkit reports a missing georeference itself, as an error."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)
        yield


def _open_raster(path: str) -> _Raster:
    _must_exist(path)
    if not _is_remote(path) and Path(path).is_dir():
        raise ReadError(f"{path} is a folder, not a raster. Pass its files, or a pattern such as '{path}/*.tif'.")
    try:
        with _quiet_georef(), rasterio.open(path) as src:
            return _Raster(
                path=path,
                crs=src.crs,
                transform=src.transform,
                georeferenced=not src.transform.is_identity,
                height=src.height,
                width=src.width,
                count=src.count,
                dtype=src.dtypes[0],
                nodata=src.nodata,
                scales=tuple(src.scales),
                offsets=tuple(src.offsets),
                descriptions=tuple(src.descriptions),
                tags=tuple(src.tags(i) for i in range(1, src.count + 1)),
                block=tuple(src.block_shapes[0]),
            )
    except RasterioIOError as error:
        if isinstance(error.__cause__, PermissionError) or "Permission denied" in str(error):
            raise read_failure(PermissionError(str(error)), path) from None
        raise ReadError(
            f"{path} is not a raster that GDAL can read, or is damaged or truncated ({error}). Pass image files "
            f"(GeoTIFF, JPEG 2000...), complete."
        ) from None
    except (OSError, RuntimeError, ValueError) as error:
        raise read_failure(error, path, "its header") from None


def _check_same_grid(rasters: Sequence[_Raster], *, crs_given: bool, transform_given: bool, layers: str = "") -> None:
    """Raise GridMismatchError naming the first file that differs from the first one, and how."""
    ref = rasters[0]
    for r in rasters[1:]:
        problem = None
        if not crs_given and r.crs != ref.crs:
            problem = f"has CRS {_crs_name(r.crs)} but {ref.path} has {_crs_name(ref.crs)}"
        elif (r.height, r.width) != (ref.height, ref.width):
            problem = (f"has {r.height} x {r.width} pixels (rows x columns) but {ref.path} has "
                       f"{ref.height} x {ref.width}")
        elif not transform_given and not r.transform.almost_equals(ref.transform):
            problem = (f"has transform {tuple(r.transform)[:6]} (pixel size and origin) but {ref.path} has "
                       f"{tuple(ref.transform)[:6]}")
        elif layers and r.count != ref.count:
            problem = f"has {r.count} layers ({layers}) but {ref.path} has {ref.count}"
        if problem:
            raise GridMismatchError(
                f"{r.path} {problem}. All files must share one grid; resample them onto one first "
                f"(e.g. gdalwarp -t_srs/-tr/-te, or rioxarray's reproject_match)."
            )


def _georeference(ref: _Raster, crs, transform) -> tuple[CRS, Affine]:
    crs = _as_crs(crs) or ref.crs
    transform = _as_transform(transform) or (ref.transform if ref.georeferenced else None)
    if crs is None and transform is None:
        raise ReadError(
            f"{ref.path} has no georeferencing (no CRS, no geotransform). Pass crs= and transform= to read it "
            f"anyway, e.g. crs='EPSG:32631', transform=(10, 0, x_left, 0, -10, y_top)."
        )
    if crs is None:
        raise ReadError(f"{ref.path} has no CRS. Pass crs= (e.g. crs='EPSG:32631') to read it anyway.")
    if transform is None:
        raise ReadError(
            f"{ref.path} has no geotransform (pixel size and origin). Pass transform=(x_res, 0, x_left, 0, "
            f"-y_res, y_top) to read it anyway."
        )
    return crs, transform


def _file_chunks(chunks, layer_dim: str) -> dict | None:
    """The chunks of one file ``(band, y, x)`` from the cube's chunks; ``layer_dim`` is what the file's bands are."""
    if chunks is None or chunks is False:
        return None
    if isinstance(chunks, Mapping):
        unknown = sorted(set(chunks) - set(CUBE_DIMS))
        if unknown:
            raise ConfigError(f"chunks= names unknown dims {unknown}; a cube's dims are {CUBE_DIMS}.")
        return {"band": chunks.get(layer_dim, -1), "y": chunks.get("y", "auto"), "x": chunks.get("x", "auto")}
    if chunks is True or chunks == "auto":
        return {"band": -1, "y": "auto", "x": "auto"}
    if isinstance(chunks, (int, np.integer)) and chunks > 0:
        return {"band": -1, "y": int(chunks), "x": int(chunks)}
    raise ConfigError(
        f"chunks={chunks!r} is not understood. Use None (numpy), 'auto', a size in pixels (512) or a dict "
        f"such as {{'y': 512, 'x': 512}}."
    )


def _describe_layers(key: tuple, labels: Sequence[str], what: str, fixed: str) -> str:
    """What a read of ``key`` (layer, y, x) covers, e.g. ``"date 2021-05-01, bands B04..B08"``, for messages."""
    chosen = list(labels)[key[0]] if key and isinstance(key[0], slice) else list(labels)
    if isinstance(chosen, str):
        chosen = [chosen]
    span = chosen[0] if len(chosen) == 1 else f"{chosen[0]}..{chosen[-1]}"
    rows = key[1] if len(key) > 1 and isinstance(key[1], slice) else None
    pixels = f", rows {rows.start or 0}..{rows.stop}" if rows is not None and rows.stop is not None else ""
    noun = what if len(chosen) > 1 else what.removesuffix("s")
    return f"{fixed}{noun} {span}{pixels}"


def _read_layers(raster: _Raster, indexes: list[int], chunks: dict | None, labels: Sequence[str], what: str,
                 fixed: str = ""):
    """The raw values of layers ``indexes`` (1-based), ``(layer, y, x)``: numpy, or dask when ``chunks``.

    ``labels`` name the layers read (their dates or bands, as ``what`` says); read errors name the file and them.
    """
    describe = functools.partial(_describe_layers, labels=list(labels), what=what, fixed=fixed)
    if chunks is None:
        try:
            with _quiet_georef(), rasterio.open(raster.path) as src:
                return src.read(indexes)
        except Exception as error:  # noqa: BLE001  (GDAL and the OS raise many types: all are named)
            raise read_failure(error, raster.path, describe((slice(None),))) from None
    import dask.array as dsa
    import rioxarray

    with _quiet_georef():
        lazy = rioxarray.open_rasterio(raster.path, mask_and_scale=False, parse_coordinates=False, cache=False)
    if indexes != list(range(1, raster.count + 1)):
        lazy = lazy.isel(band=np.asarray(indexes) - 1)
    shape = (len(indexes), raster.height, raster.width)
    wanted = tuple(chunks[d] for d in ("band", "y", "x"))
    blocks = dsa.core.normalize_chunks(wanted, shape, dtype=np.dtype(raster.dtype),
                                       previous_chunks=(1, *raster.block))
    guarded = GuardedSource(lazy, raster.path, describe)
    token = dsa.core.tokenize(raster.path, indexes, blocks, _modified(raster.path))
    return dsa.from_array(guarded, chunks=blocks, asarray=True, fancy=False, name=f"read-{token}",
                          meta=np.empty((0, 0, 0), raster.dtype))


def _modified(path: str) -> float:
    """The modification time of a local file (0 for remote ones): a changed file gets new dask keys."""
    return 0.0 if _is_remote(path) else os.path.getmtime(path)


def _check_eager_size(rasters: Sequence[_Raster], layers: int, chunks, source: str) -> None:
    """Refuse an eager read (``chunks=None``) of ``layers`` layers of each raster that memory cannot hold."""
    if chunks is not None:
        return
    nbytes = sum(layers * r.height * r.width * (4 + np.dtype(r.dtype).itemsize) for r in rasters)
    check_fits_in_memory(nbytes, source)


def _decoding(who: str, nodata, scale, offset) -> tuple[float | None, float | None, float | None]:
    """The ``nodata``, ``scale`` and ``offset`` a reader was given, checked: numbers (nodata may be NaN)."""
    if nodata is not None and not _is_nan(nodata):
        nodata = params.number(nodata, "nodata", who)
    if scale is not None and params.number(scale, "scale", who) == 0:
        raise ConfigError(f"{who}: scale must be a finite, non-zero number; got {scale!r}.")
    offset = None if offset is None else params.number(offset, "offset", who)
    return nodata, (None if scale is None else float(scale)), offset


def _as_float32(raw: np.ndarray, nodata: float | None) -> np.ndarray:
    """Raw values as ``float32``: NaN where they equal ``nodata`` or are no float32 number (±inf, NaN, or beyond
    float32's range, as a float64 file's nodata -1.7e308 is).

    ``nodata`` is a Python float, so numpy compares it in the raw values' own type (GDAL's way): a float32 file's
    nodata -3.40282346638529e38, as its header writes float32's lowest value, matches that value.
    """
    missing = None if nodata is None else raw == nodata
    with np.errstate(over="ignore"):  # beyond float32's range: ±inf, made NaN below
        values = raw.astype(np.float32)
    if missing is not None and missing.any():
        values[missing] = np.nan
    return finite_or_nan(values)


def _decode(raw, raster: _Raster, indexes: list[int], nodata, scale, offset):
    """``float32`` physical values: nodata to NaN, then scale and offset (per layer)."""
    nodata = raster.nodata if nodata is None else nodata
    nodata = None if nodata is None or np.isnan(nodata) else float(nodata)
    if hasattr(raw, "dask"):  # block by block, when dask computes them
        values = raw.map_blocks(_as_float32, nodata=nodata, dtype=np.float32)
    else:
        values = _as_float32(raw, nodata)
    scales = np.asarray([raster.scales[i - 1] for i in indexes] if scale is None else [scale] * len(indexes),
                        np.float32)
    offsets = np.asarray([raster.offsets[i - 1] for i in indexes] if offset is None else [offset] * len(indexes),
                         np.float32)
    if np.any(scales != 1):
        values = values * scales[:, None, None]
    if np.any(offsets != 0):
        values = values + offsets[:, None, None]
    return values


def _stack(arrays: list, axis: int):
    if any(hasattr(a, "dask") for a in arrays):
        import dask.array as dsa

        return dsa.stack(arrays, axis=axis)
    return np.stack(arrays, axis=axis)


def _new_cube(data, times, bands, transform, crs) -> xr.DataArray:
    cube = make_cube(data, times, bands, transform=transform, crs=crs)
    cube.name = None  # xarray names a DataArray after its dask array ("stack-<hash>"): not a name
    return cube


def _check_unique_dates(stamps: list[pd.Timestamp], sources: list[str], what: str) -> None:
    seen: dict[pd.Timestamp, str] = {}
    for stamp, source in zip(stamps, sources):
        if stamp in seen:
            raise ReadError(f"{source} and {seen[stamp]} have the same date {_iso(stamp)}; {what} must differ.")
        seen[stamp] = source


_COMPACT_DATE = re.compile(r"^\s*\d{8}(T\d{6})?\s*$")


def _date_only(text: str) -> pd.Timestamp | None:
    """``text`` as a date when it is a date and nothing else: ISO 8601 (``2021-05-01``, ``2021-05-01T10:20:30``)
    or compact (``20210501``, as iota2 writes them)."""
    if _ISO_DATE.match(text) or _COMPACT_DATE.match(text):
        return _date_in_text(text.strip())
    return None


def _read_dates_file(path: str) -> list[pd.Timestamp]:
    """The dates a text file lists, one a line (``#`` starts a comment): the "timeline" of sits and iota2."""
    _must_exist(path)
    if not _is_remote(path) and Path(path).is_dir():
        raise ReadError(f"{path} is a folder, not a file of dates (one date a line, such as 2021-05-01).")
    try:
        with open(path, encoding="utf-8-sig") as f:
            lines = f.read().splitlines()
    except UnicodeDecodeError:
        raise ReadError(f"{path} is not a text file of dates (one date a line, such as 2021-05-01); is it the "
                        "right file?") from None
    except OSError as error:
        raise read_failure(error, path, "its dates") from None
    stamps = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        stamp = _date_only(text)
        if stamp is None:
            raise ReadError(f"{path}, line {number}: {text!r} is not a date. A file of dates holds one date a line "
                            "(2021-05-01, or 20210501), and comments after '#'.")
        stamps.append(stamp)
    if not stamps:
        raise ReadError(f"{path} lists no date; it must hold one date a line (2021-05-01, or 20210501).")
    return stamps


def _given_dates(dates, who: str) -> tuple[list[pd.Timestamp] | None, str | None]:
    """The dates a reader was given (a sequence, or the path of a file of dates), and that file (else None)."""
    if dates is None:
        return None, None
    if isinstance(dates, (str, os.PathLike)):
        path = os.fspath(dates)
        if _date_only(path) is not None and not Path(path).exists():
            raise ConfigError(f"{who}: dates={path!r} is one date; give a list of dates, one per layer or file, or "
                              "the path of a file that lists them, one a line.")
        return _read_dates_file(path), path
    return list(params.dates(dates, "dates", who)), None


def _files_named(paths: list[str]) -> str:
    """``3 files (a.tif ... c.tif)``, for messages."""
    return f"{len(paths)} file(s) ({paths[0]}{' ... ' + paths[-1] if len(paths) > 1 else ''})"


# ---------------------------------------------------------------------------------------------------- readers


def _band_indexes(raster: _Raster, bands: list[str] | None) -> tuple[list[int], list[str]]:
    """Which layers of a one-date file hold ``bands`` (1-based), and the band names."""
    names = list(raster.descriptions)
    named = all(names)
    if bands is None:
        if not named:
            raise BandError(
                f"{raster.path}: its {raster.count} band(s) have no names (band descriptions). Pass "
                f"bands=[...] with one name per band, in file order (e.g. bands=['B04', 'B08'])."
            )
        return list(range(1, raster.count + 1)), names
    if named:
        for band in bands:
            if band not in names:
                raise BandError(f"{raster.path} has no band {band!r}; its bands are {names}.")
        return [names.index(b) + 1 for b in bands], list(bands)
    if len(bands) != raster.count:
        raise BandError(
            f"{raster.path} has {raster.count} unnamed band(s) but bands= gives {len(bands)} name(s) {bands}. "
            f"Give one name per band, in file order."
        )
    return list(range(1, raster.count + 1)), list(bands)


def read_dates(
    files: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    dates: Sequence | str | os.PathLike | None = None,
    bands: Sequence[str] | str | None = None,
    chunks=None,
    crs=None,
    transform=None,
    nodata: float | None = None,
    scale: float | None = None,
    offset: float | None = None,
) -> xr.DataArray:
    """Read a time series stored as one raster per date, each file holding every band, into a cube.

    Parameters
    ----------
    files : list of path, or str
        The files (GeoTIFF or any raster GDAL reads), or a glob pattern such as ``"data/S2_*.tif"``.
    dates : sequence of dates, or path, optional
        One date per file, in the order of ``files`` (a pattern's matches are sorted by name): a sequence, or the
        path of a text file that lists them, one a line (``2021-05-01`` or ``20210501``; ``#`` starts a comment),
        as the "timeline" files of sits and iota2. By default each file's date is read from its name: the first
        ``YYYY-MM-DD``, ``YYYY_MM_DD`` or ``YYYYMMDD`` in it (optionally followed by ``THHMMSS``).
    bands : list of str, optional
        If the files name their bands (band descriptions, as :func:`write_dates` writes), the bands to read, in
        this order; default: all. If they do not, one name per band, in file order (required).
    chunks : None, "auto", int or dict, optional
        None reads numpy arrays now; otherwise the cube is a lazy dask array with chunks of this many pixels in
        ``y`` and ``x`` (a dict may set ``band``, ``y``, ``x``), one date per chunk.
    crs, transform : optional
        Georeferencing to use instead of the files' own, e.g. for files that have none. ``transform`` is an
        ``affine.Affine`` or 6 numbers ``(a, b, c, d, e, f)`` as in :func:`labkit.datamodel.make_cube`.
    nodata, scale, offset : float, optional
        Used instead of the files' nodata value, scale and offset (e.g. ``scale=1e-4`` for reflectance or NDVI
        stored as integers × 10 000 without a scale tag). Values become ``raw * scale + offset``.

    Returns
    -------
    xarray.DataArray
        A cube ``(time, band, y, x)`` of ``float32``, sorted by date, ``NaN`` where the files hold nodata (and
        where a float64 file holds ±inf or values beyond float32's range, such as a nodata of -1.7e308).

    Raises
    ------
    labkit.errors.ReadError
        A file is missing, is not a raster, has no date in its name, or has no georeferencing; the file of dates
        holds a line that is not a date, or another number of dates than files.
    labkit.errors.GridMismatchError
        Two files differ in CRS, transform or size.
    labkit.errors.BandError
        A file lacks a requested band, or no band names are known.

    See Also
    --------
    read_bands : one file per band.
    write_dates : the writer of this layout.

    Example
    -------
    >>> import tempfile, numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.arange(24, dtype="float32").reshape(2, 2, 2, 3), ["2021-05-01", "2021-05-11"],
    ...                     ["B04", "B08"], transform=(10.0, 0, 0.0, 0, -10.0, 20.0), crs="EPSG:32633")
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_dates(cube, folder, prefix="S2_")
    >>> nir = read_dates(folder + "/S2_*.tif", bands=["B08"], chunks=256)
    >>> nir.sizes["band"], type(nir.data).__name__
    (1, 'Array')
    """
    nodata, scale, offset = _decoding("read_dates", nodata, scale, offset)
    paths = _expand_files(files, "read_dates")
    bands = [bands] if isinstance(bands, str) else (None if bands is None else [str(b) for b in bands])
    given, dates_file = _given_dates(dates, "read_dates")
    if given is not None and len(given) != len(paths):
        if dates_file:
            raise ReadError(f"{dates_file} lists {len(given)} dates but there are {_files_named(paths)}; it must "
                            "list one date per file, in the files' order.")
        raise ConfigError(f"read_dates: {len(paths)} files but {len(given)} dates; give one date per file.")
    rasters = [_open_raster(p) for p in paths]
    if given is None:
        stamps = []
        for r in rasters:
            stamp = _date_in_name(Path(r.path).name)
            if stamp is None:
                series = (" If each layer of this file is one date (a band's time series), read it with read_bands."
                          if len(rasters) == 1 and r.count > 1 else "")
                raise ReadError(
                    f"{r.path}: no date in the file name (looked for YYYY-MM-DD or YYYYMMDD). Pass dates=[...] "
                    f"with one date per file (or the path of a date list, one date a line), or rename the files."
                    + series
                )
            stamps.append(stamp)
    else:
        stamps = given
    _check_unique_dates(stamps, paths, f"the dates of {dates_file}" if dates_file else "the files' dates")
    _check_same_grid(rasters, crs_given=crs is not None, transform_given=transform is not None)
    grid_crs, grid_transform = _georeference(rasters[0], crs, transform)
    _, names = _band_indexes(rasters[0], bands)
    file_chunks = _file_chunks(chunks, "band")
    _check_eager_size(rasters, len(names), file_chunks, paths[0] if len(paths) == 1 else f"{len(paths)} files")
    order = sorted(range(len(rasters)), key=lambda i: stamps[i])
    arrays = []
    for i in order:
        indexes, _ = _band_indexes(rasters[i], names)
        raw = _read_layers(rasters[i], indexes, file_chunks, names, "bands", f"date {_iso(stamps[i])}, ")
        arrays.append(_decode(raw, rasters[i], indexes, nodata, scale, offset))
    return _new_cube(_stack(arrays, axis=0), [stamps[i] for i in order], names, grid_transform, grid_crs)


def _layer_dates(raster: _Raster) -> list[pd.Timestamp | None]:
    dates = []
    for description, tags in zip(raster.descriptions, raster.tags):
        stamp = _date_in_text(description)
        if stamp is None:
            for key, value in tags.items():
                if key.upper() in _DATE_TAGS and (stamp := _date_in_text(value)) is not None:
                    break
        dates.append(stamp)
    return dates


def read_bands(
    files: Mapping[str, str | os.PathLike] | Sequence[str | os.PathLike] | str,
    *,
    dates: Sequence | str | os.PathLike | None = None,
    chunks=None,
    crs=None,
    transform=None,
    nodata: float | None = None,
    scale: float | None = None,
    offset: float | None = None,
) -> xr.DataArray:
    """Read a time series stored as one raster per band, each layer of a file being one date, into a cube.

    Parameters
    ----------
    files : mapping band name -> path, list of path, or str
        The files; with a list (or a glob pattern), each band is named after its file's name without extension.
    dates : sequence of dates, or path, optional
        One date per layer: a sequence, or the path of a text file that lists them, one a line (``2021-05-01`` or
        ``20210501``; ``#`` starts a comment), as the "timeline" files of sits and iota2 that come with their
        one-file-per-band series. By default each layer's date is read from its description (as
        :func:`write_bands` writes it: ``2021-05-01``) or from a ``DATE``/``TIME`` tag of the layer.
    chunks : None, "auto", int or dict, optional
        None reads numpy arrays now; otherwise a lazy dask cube with chunks of this many pixels in ``y`` and
        ``x`` (a dict may set ``time``, ``y``, ``x``), one band per chunk.
    crs, transform, nodata, scale, offset : optional
        As in :func:`read_dates`.

    Returns
    -------
    xarray.DataArray
        A cube ``(time, band, y, x)`` of ``float32``, sorted by date.

    Raises
    ------
    labkit.errors.ReadError
        A file is missing, is not a raster, has a layer without a date, or has no georeferencing; the file of dates
        holds a line that is not a date, or another number of dates than the files have layers.
    labkit.errors.GridMismatchError
        Two files differ in CRS, transform, size, number of layers or dates.

    See Also
    --------
    read_dates : one file per date.
    write_bands : the writer of this layout.

    Example
    -------
    >>> import tempfile, numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.zeros((3, 2, 2, 2), "float32"), ["2021-05-01", "2021-05-11", "2021-05-21"],
    ...                     ["B04", "B08"], transform=(10.0, 0, 0.0, 0, -10.0, 20.0), crs="EPSG:32633")
    >>> red, nir = write_bands(cube, tempfile.mkdtemp())
    >>> back = read_bands({"red": red, "nir": nir})
    >>> back.band.values.tolist(), str(back.time.values[-1])[:10]
    (['red', 'nir'], '2021-05-21')
    """
    nodata, scale, offset = _decoding("read_bands", nodata, scale, offset)
    given, dates_file = _given_dates(dates, "read_bands")
    if isinstance(files, Mapping):
        if not files:
            raise ReadError("read_bands: no files given.")
        names = [str(k) for k in files]
        paths = [os.fspath(files[k]) for k in files]
    else:
        paths = _expand_files(files, "read_bands")
        names = [Path(p).stem for p in paths]
    rasters = [_open_raster(p) for p in paths]
    _check_same_grid(rasters, crs_given=crs is not None, transform_given=transform is not None, layers="dates")
    grid_crs, grid_transform = _georeference(rasters[0], crs, transform)
    n_layers = rasters[0].count
    if given is not None:
        if len(given) != n_layers and dates_file:
            raise ReadError(f"{dates_file} lists {len(given)} dates but {rasters[0].path} has {n_layers} layers; it "
                            "must list one date per layer, in the layers' order.")
        if len(given) != n_layers:
            raise ConfigError(f"read_bands: the files have {n_layers} layers but {len(given)} dates were given.")
        stamps = given
    else:
        stamps = _layer_dates(rasters[0])
        if None in stamps:
            layer = stamps.index(None) + 1
            raise ReadError(
                f"{rasters[0].path}: layer {layer} has no date in its description or tags. Pass dates=[...] with "
                f"one date per layer, or the path of a date list (one date a line, e.g. dates='dates.txt')."
            )
        for r in rasters[1:]:
            theirs = _layer_dates(r)
            for layer, (ours, other) in enumerate(zip(stamps, theirs), start=1):
                if other is not None and other != ours:
                    raise GridMismatchError(
                        f"{r.path} has date {_iso(other)} in layer {layer} but {rasters[0].path} has {_iso(ours)}. "
                        f"All band files must hold the same dates in the same order."
                    )
    _check_unique_dates(stamps, [f"{rasters[0].path} layer {i}" for i in range(1, n_layers + 1)],
                        f"the dates of {dates_file}" if dates_file else "layers' dates")
    order = sorted(range(n_layers), key=lambda i: stamps[i])
    indexes = [i + 1 for i in order]
    file_chunks = _file_chunks(chunks, "time")
    _check_eager_size(rasters, len(indexes), file_chunks, paths[0] if len(paths) == 1 else f"{len(paths)} files")
    labels = [_iso(stamps[i]) for i in order]
    arrays = [_decode(_read_layers(r, indexes, file_chunks, labels, "dates", f"band {name}, "), r, indexes, nodata,
                      scale, offset) for r, name in zip(rasters, names)]
    return _new_cube(_stack(arrays, axis=1), [stamps[i] for i in order], names, grid_transform, grid_crs)


# ---------------------------------------------------------------------------------------------------- writers


def _storage(who: str, values_dtype, dtype, nodata, scale=None, offset=None) -> tuple[np.dtype, float | None]:
    """Check the storage settings of a writer before anything is written; return (dtype, nodata).

    ``values_dtype`` is the type of the values to write; ``dtype`` the type to store (None: the same).
    """
    dtype = params.dtype(values_dtype if dtype is None else dtype, "dtype", who)
    if scale is not None and params.number(scale, "scale", who) == 0:
        raise ConfigError(f"{who}: scale must be a finite, non-zero number; got {scale!r}.")
    if offset is not None:
        params.number(offset, "offset", who)
    if nodata is not None:
        nodata = params.number(nodata, "nodata", who, finite=False) if not _is_nan(nodata) else np.nan
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        if nodata is None and np.issubdtype(values_dtype, np.floating):
            raise ConfigError(
                f"{who}: writing {values_dtype} values as {dtype} needs nodata= (the integer that stands for NaN), "
                f"e.g. nodata={info.min if info.min < 0 else info.max}."
            )
        if nodata is not None and not (float(nodata).is_integer() and info.min <= nodata <= info.max):
            raise ConfigError(f"{who}: nodata={nodata} does not fit dtype {dtype} ({info.min}..{info.max}).")
        return dtype, (None if nodata is None else int(nodata))
    return dtype, (np.nan if nodata is None else nodata)


def _is_nan(value) -> bool:
    return isinstance(value, float | np.floating) and np.isnan(value)


def _encode(values: np.ndarray, dtype: np.dtype, nodata, scale, offset, where: str, bands=None) -> np.ndarray:
    """Physical values -> stored values: ``(v - offset) / scale``, NaN -> nodata, rounded to integers if needed.

    ``where`` and ``bands`` (names of the first axis of a 3-D array) name the place of bad values in messages.
    """
    values = np.asarray(values, dtype=np.float64 if (scale or offset) else None)
    codes = np.issubdtype(values.dtype, np.integer)  # integer codes: their nodata code (255, NO_CLASS) is meant
    if offset:
        values = values - offset
    if scale is not None and scale != 1:
        values = values / scale
    if not np.issubdtype(dtype, np.integer):
        out = values.astype(dtype)
        if nodata is not None and not np.isnan(nodata):
            out[np.isnan(values)] = nodata
        return out
    missing = np.isnan(values) if np.issubdtype(values.dtype, np.floating) else np.zeros(values.shape, bool)
    values = np.rint(values)
    valid = values[~missing]
    if valid.size:
        info = np.iinfo(dtype)
        low, high = valid.min(), valid.max()
        if low < info.min or high > info.max:
            layer = ""
            if values.ndim == 3 and bands is not None:  # name the first band that does not fit
                bad = ((values < info.min) | (values > info.max)).reshape(len(values), -1).any(axis=1)
                layer = f" in band {bands[int(np.argmax(bad))]}"
            raise DataModelError(
                f"{where}: values {low:g}..{high:g}{layer} (after scale/offset) do not fit {dtype} "
                f"({info.min}..{info.max}). Pass scale= or a wider dtype=."
            )
        if nodata is not None and not codes and np.any(valid == nodata):
            raise DataModelError(
                f"{where}: some values equal nodata={nodata} and would read back as missing. Choose another nodata."
            )
    out = np.where(missing, nodata if nodata is not None else 0, values).astype(dtype)
    return out


def _stored_bytes(cube: xr.DataArray, dtype: np.dtype) -> int:
    """Uncompressed size of a cube stored as ``dtype``: what a writer checks against the disk's free space."""
    return int(cube.size) * np.dtype(dtype).itemsize


def _geotiff_profile(cube: xr.DataArray, dtype: np.dtype, nodata, count: int) -> dict:
    height, width = cube.sizes["y"], cube.sizes["x"]
    profile = dict(
        driver="GTiff", height=height, width=width, count=count, dtype=dtype.name, crs=cube.rio.crs,
        transform=cube.rio.transform(), nodata=nodata, compress="deflate", interleave="band",
        predictor=3 if np.issubdtype(dtype, np.floating) else 2, BIGTIFF="IF_SAFER",
    )
    if height >= 256 and width >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    return profile


def _set_scale(dst, scale, offset) -> None:
    if scale is not None and scale != 1:
        dst.scales = (float(scale),) * dst.count
    if offset:
        dst.offsets = (float(offset),) * dst.count


def _safe_stem(name: str, what: str, empty: bool = False) -> str:
    """``name`` if it can start a file name in the output folder (no path separator, no '..')."""
    if not isinstance(name, str):
        raise ConfigError(f"{what} must be a string; got {type(name).__name__}.")
    if (not name and not empty) or name in (".", "..") or re.search(r"[/\\:*?\"<>|\x00-\x1f]", name):
        raise ConfigError(f"{what} {name!r} cannot be used in a file name; rename it (letters, digits, -, _, .).")
    return name


def _write_files(cube, temps: list[Path], targets: list[Path], layout: str, dtype, nodata, scale, offset) -> None:
    """Write ``cube`` to ``temps``: one file per date (``layout="dates"``) or per band (``"bands"``).

    Reads the cube one date at a time, so a dask cube is computed date by date. ``targets`` name the files in
    messages.
    """
    times = [_iso(t) for t in cube["time"].values]
    bands = [str(b) for b in cube["band"].values]
    if layout == "dates":
        profile = _geotiff_profile(cube, dtype, nodata, count=len(bands))
        for t, tmp in enumerate(temps):
            where = f"write_dates {targets[t]} (date {times[t]})"
            values = _encode(cube.isel(time=t).values, dtype, nodata, scale, offset, where, bands)
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(values)
                dst.descriptions = tuple(bands)
                _set_scale(dst, scale, offset)
        return
    profile = _geotiff_profile(cube, dtype, nodata, count=len(times))
    with contextlib.ExitStack() as stack:
        outputs = [stack.enter_context(rasterio.open(tmp, "w", **profile)) for tmp in temps]
        for t in range(len(times)):
            where = f"write_bands {targets[0].parent} (date {times[t]})"
            values = _encode(cube.isel(time=t).values, dtype, nodata, scale, offset, where, bands)
            for b, dst in enumerate(outputs):
                dst.write(values[b], t + 1)
        for dst in outputs:
            dst.descriptions = tuple(times)
            _set_scale(dst, scale, offset)


def _date_file_stems(cube: xr.DataArray, prefix: str) -> list[str]:
    stamps = [pd.Timestamp(t) for t in cube["time"].values]
    daily = all(s == s.normalize() for s in stamps)
    stems = [f"{prefix}{s.strftime('%Y-%m-%d' if daily else '%Y-%m-%dT%H%M%S')}" for s in stamps]
    if len(set(stems)) != len(stems):
        raise DataModelError("write_dates: two dates fall in the same second; the file names would collide.")
    for stem, stamp in zip(stems, stamps):
        if _date_in_name(stem) != stamp:
            raise ConfigError(
                f"write_dates: prefix={prefix!r} holds a date, so {stem}.tif would be read back with the wrong date. "
                f"Use a prefix without digits like a date."
            )
    return stems


def write_dates(
    cube: xr.DataArray,
    folder: str | os.PathLike,
    *,
    prefix: str = "",
    dtype=None,
    nodata: float | None = None,
    scale: float | None = None,
    offset: float | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write a cube as one GeoTIFF per date, ``<prefix><YYYY-MM-DD>.tif``, each holding every band.

    The band descriptions hold the band names, so that :func:`read_dates` reads the files back as the same cube.

    Parameters
    ----------
    cube : xarray.DataArray
        A cube ``(time, band, y, x)``, numpy or dask (computed one date at a time).
    folder : path
        Where to write; created if needed.
    prefix : str, default ""
        Start of each file name. Times that are not at midnight are written ``YYYY-MM-DDTHHMMSS``.
    dtype : numpy dtype, optional
        Type stored in the files; default the cube's. Integer types need ``nodata``.
    nodata : float, optional
        The value that stands for ``NaN`` in the files (default ``NaN`` for float types).
    scale, offset : float, optional
        Store ``(value - offset) / scale`` and record scale and offset in the files (readers undo it), e.g.
        ``dtype="int16", scale=1e-4, nodata=-32768`` for reflectance.
    overwrite : bool, default False
        Replace files that exist.

    Returns
    -------
    list of pathlib.Path
        The files written, in date order.

    Raises
    ------
    labkit.errors.DataModelError
        ``cube`` is not a cube, or its values do not fit ``dtype``.
    OutputExistsError
        A file exists and ``overwrite`` is False. Nothing was written.

    Example
    -------
    >>> import tempfile, numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.full((2, 1, 2, 2), 0.25, "float32"), ["2021-05-01", "2021-05-11"], ["B04"],
    ...                     transform=(10.0, 0, 0.0, 0, -10.0, 20.0), crs="EPSG:32633")
    >>> files = write_dates(cube, tempfile.mkdtemp(), dtype="int16", scale=1e-4, nodata=-32768)
    >>> float(read_dates(files).max())
    0.25
    """
    validate(cube, "cube")
    dtype, nodata = _storage("write_dates", cube.dtype, dtype, nodata, scale, offset)
    stems = _date_file_stems(cube, _safe_stem(prefix, "prefix", empty=True))
    targets = [Path(folder) / f"{stem}.tif" for stem in stems]
    with atomic_paths(targets, overwrite=overwrite, nbytes=_stored_bytes(cube, dtype)) as temps:
        _write_files(cube, temps, targets, "dates", dtype, nodata, scale, offset)
    return targets


def write_bands(
    cube: xr.DataArray,
    folder: str | os.PathLike,
    *,
    prefix: str = "",
    dtype=None,
    nodata: float | None = None,
    scale: float | None = None,
    offset: float | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write a cube as one GeoTIFF per band, ``<prefix><band>.tif``, each layer being one date.

    The layer descriptions hold the dates (``2021-05-01``), so that :func:`read_bands` reads the files back as
    the same cube (given ``{band: path}``, or the list of paths when ``prefix`` is empty).

    Parameters
    ----------
    cube, folder, prefix, dtype, nodata, scale, offset, overwrite
        As in :func:`write_dates`.

    Returns
    -------
    list of pathlib.Path
        The files written, in band order.

    Example
    -------
    >>> import tempfile, numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.zeros((2, 2, 2, 2), "float32"), ["2021-05-01", "2021-05-11"], ["B04", "B08"],
    ...                     transform=(10.0, 0, 0.0, 0, -10.0, 20.0), crs="EPSG:32633")
    >>> files = write_bands(cube, tempfile.mkdtemp())
    >>> [f.name for f in files]
    ['B04.tif', 'B08.tif']
    >>> read_bands(files).identical(cube)
    True
    """
    validate(cube, "cube")
    dtype, nodata = _storage("write_bands", cube.dtype, dtype, nodata, scale, offset)
    _safe_stem(prefix, "prefix", empty=True)
    targets = [Path(folder) / f"{prefix}{_safe_stem(str(b), 'Band name')}.tif" for b in cube["band"].values]
    with atomic_paths(targets, overwrite=overwrite, nbytes=_stored_bytes(cube, dtype)) as temps:
        _write_files(cube, temps, targets, "bands", dtype, nodata, scale, offset)
    return targets


# ------------------------------------------------------------------------------------------------------- COG


def _smallest_int(low: int, high: int) -> np.dtype:
    for candidate in ("uint8", "uint16", "int16", "int32", "int64"):
        info = np.iinfo(candidate)
        if info.min <= low and high <= info.max:
            return np.dtype(candidate)
    return np.dtype("int64")


def _check_colormap(colormap: Mapping, dtype: np.dtype, n_layers: int) -> dict[int, tuple[int, ...]]:
    if n_layers != 1 or dtype not in (np.dtype("uint8"), np.dtype("uint16")):
        raise ConfigError(
            f"A colormap needs a single-band uint8 or uint16 map; this one has {n_layers} band(s) of {dtype}."
        )
    if not isinstance(colormap, Mapping):
        raise ConfigError(f"write_cog: colormap must be a dict {{code: (r, g, b)}}; got {type(colormap).__name__}.")
    checked = {}
    for code, colour in colormap.items():
        if isinstance(code, bool) or not isinstance(code, int | np.integer) or not 0 <= code <= np.iinfo(dtype).max:
            raise ConfigError(f"colormap: code {code!r} is not a class code of a {dtype} map (an integer from 0 to "
                              f"{np.iinfo(dtype).max}).")
        parts = tuple(colour) if isinstance(colour, Sequence) and not isinstance(colour, str) else ()
        if len(parts) not in (3, 4) or not all(isinstance(c, int | np.integer) and 0 <= c <= 255 for c in parts):
            raise ConfigError(f"colormap: the colour of code {code} must be (r, g, b) or (r, g, b, a), integers in "
                              f"0..255; got {colour!r}.")
        checked[int(code)] = tuple(int(c) for c in parts)
    return checked


def _cog_dtype(array: xr.DataArray, dtype, nodata) -> np.dtype | None:
    """The stored type: given, else floats as they are and integers in the smallest type holding their values and
    ``nodata`` (read for a map in memory; a lazy map keeps its own type)."""
    if dtype is not None or not np.issubdtype(array.dtype, np.integer):
        return dtype
    if not isinstance(array.data, np.ndarray):
        return array.dtype
    values = array.values
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    if nodata is not None and float(nodata).is_integer():
        low, high = min(low, int(nodata)), max(high, int(nodata))
    return _smallest_int(low, high)


@dataclass
class _CogJob:
    """One map to write as a COG: its stored layers (lazy), where, and what GDAL must know."""

    layers: object  # dask array (layer, y, x) of stored values
    path: Path
    profile: dict
    descriptions: tuple
    colormap: dict | None
    tags: dict
    class_names: dict[int, str] | None


def _cog_job(array: xr.DataArray, path, *, nodata=None, colormap=None, class_names=None, dtype=None,
             cog_tile: int = 512, tags: Mapping | None = None) -> _CogJob:
    """Check one map before anything is computed, and plan how it is stored (see :func:`write_cog`)."""
    import dask.array as dsa

    who = f"write_cog {path}"
    if not isinstance(array, xr.DataArray) or array.ndim not in (2, 3) or array.dims[-2:] != ("y", "x"):
        dims = getattr(array, "dims", type(array).__name__)
        raise DataModelError(f"write_cog needs a DataArray (y, x) or (band, y, x); got {dims}.")
    for dim in ("y", "x"):
        if dim not in array.coords:
            raise DataModelError(f"write_cog: the map has no '{dim}' coordinate; build it on a cube's grid.")
    if array.rio.crs is None:
        raise DataModelError("write_cog: the map has no CRS. Set it with array.rio.write_crs(cube.rio.crs).")
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise DataModelError(f"write_cog: values must be numbers; got dtype {array.dtype}.")
    cog_tile = params.integer(cog_tile, "cog_tile", "write_cog", low=128, high=4096)
    if cog_tile % 16:
        raise ConfigError(f"write_cog: cog_tile must be a multiple of 16 (a TIFF tile's side); got {cog_tile}.")
    if nodata is not None and not _is_nan(nodata):
        nodata = params.number(nodata, "nodata", "write_cog")
    dtype, nodata = _storage("write_cog", array.dtype, _cog_dtype(array, dtype, nodata), nodata)
    n_layers = 1 if array.ndim == 2 else array.shape[0]
    if colormap is not None:
        colormap = _check_colormap(colormap, dtype, n_layers)
    if class_names is not None:
        if n_layers != 1 or not np.issubdtype(dtype, np.integer):
            raise ConfigError(f"write_cog: class_names need a one-band map of integer class codes; this one has "
                              f"{n_layers} band(s) of {dtype}.")
        class_names = {int(params.integer(k, "a class code of class_names", "write_cog", low=0, high=65535)): str(v)
                       for k, v in dict(class_names).items()}
    if array.ndim == 2:
        descriptions = (_layer_name(array),)
    elif array.dims[0] in array.coords:
        descriptions = tuple(str(v) for v in array[array.dims[0]].values)
    else:
        descriptions = tuple(f"{array.dims[0]} {i}" for i in range(n_layers))
    data = array.data if array.ndim == 3 else array.data[None]
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=(-1, 1024, 1024))
    data = data.rechunk({0: -1})
    layers = data.map_blocks(_encode, dtype, nodata, None, None, who, descriptions, dtype=dtype)
    integer = np.issubdtype(dtype, np.integer)
    profile = dict(
        driver="COG", height=array.sizes["y"], width=array.sizes["x"], count=n_layers, dtype=dtype.name,
        crs=array.rio.crs, transform=array.rio.transform(), nodata=nodata, compress="DEFLATE",
        blocksize=int(cog_tile), overviews="AUTO", resampling="NEAREST" if integer else "AVERAGE",
        predictor="YES", BIGTIFF="IF_SAFER",
    )
    all_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    if class_names:
        all_tags[CLASS_NAMES_TAG] = json.dumps({str(k): v for k, v in sorted(class_names.items())})
    return _CogJob(layers, Path(path), profile, descriptions, colormap, all_tags, class_names)


def write_cog(
    array: xr.DataArray,
    path: str | os.PathLike,
    *,
    nodata: float | None = None,
    colormap: Mapping[int, Sequence[int]] | None = None,
    class_names: Mapping[int, str] | None = None,
    dtype=None,
    cog_tile: int = 512,
    tags: Mapping[str, object] | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Write a map as a Cloud-Optimized GeoTIFF (tiled, DEFLATE-compressed, with overviews), block by block.

    A lazy (dask) map is computed and written block by block (:func:`write_cogs`): it never needs to fit in memory.

    Parameters
    ----------
    array : xarray.DataArray
        ``(y, x)``, a class map or a confidence map, or ``(band, y, x)`` such as probabilities ``(class, y, x)``,
        on a grid with a CRS (rioxarray's ``.rio.crs``), numpy or dask. The first dim's values become the band
        descriptions.
    path : path
        The output file.
    nodata : float, optional
        Nodata value stored in the file; float maps default to ``NaN``.
    colormap : dict {code: (r, g, b) or (r, g, b, a)}, optional
        Colours of a class map (needs a one-band ``uint8`` or ``uint16`` map).
    class_names : dict {code: name}, optional
        Names of a class map's codes: stored in the file's metadata (``CLASS_NAMES``, JSON) and as GDAL category
        names in the ``.aux.xml`` side-car, so that a GIS shows the legend with the colours.
    dtype : numpy dtype, optional
        Stored type. By default floats keep their type and integers of a map in memory use the smallest type that
        holds their values and ``nodata`` (``uint8`` for up to 256 class codes), as viewers and colour tables
        expect; a lazy map keeps its type.
    cog_tile : int, default 512
        Side of the file's internal TIFF tiles (GDAL's ``BLOCKSIZE``), in pixels, a multiple of 16 from 128 to 4096;
        overviews are built until the image fits in one tile. Not the block engine's ``block``.
    tags : dict, optional
        More metadata (GDAL tags) to store.
    overwrite : bool, default False
        Replace an existing file.
    progress : bool
        A progress bar over blocks.

    Returns
    -------
    pathlib.Path
        ``path``: a COG (checked after writing) whose overviews are nearest-neighbour for integer maps (class
        codes stay codes) and averages for float maps.

    Raises
    ------
    labkit.errors.DataModelError
        ``array`` is not a map on a georeferenced grid, or its values do not fit ``dtype``.
    labkit.errors.ConfigError
        The colormap or the class names do not suit the map.
    OutputExistsError
        The file exists and ``overwrite`` is False.

    Example
    -------
    >>> import tempfile, numpy as np, xarray as xr, rasterio
    >>> classes = xr.DataArray(np.array([[1, 2], [2, 3]]), dims=("y", "x"), coords={"y": [15.0, 5.0],
    ...                        "x": [5.0, 15.0]}).rio.write_crs("EPSG:32633")
    >>> out = write_cog(classes, tempfile.mkdtemp() + "/classes.tif", colormap={1: (0, 128, 0), 2: (255, 255, 0)},
    ...                 class_names={1: "forest", 2: "crop", 3: "water"})
    >>> with rasterio.open(out) as src:
    ...     src.dtypes[0], src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"], src.colormap(1)[1], src.tags()["CLASS_NAMES"]
    ('uint8', 'COG', (0, 128, 0, 255), '{"1": "forest", "2": "crop", "3": "water"}')
    """
    job = _cog_job(array, path, nodata=nodata, colormap=colormap, class_names=class_names, dtype=dtype,
                   cog_tile=cog_tile, tags=tags)
    return write_cogs([job], overwrite=overwrite, progress=progress)[0]


def write_cogs(jobs: Sequence, *, overwrite: bool = False, progress: bool = False, workers: int | None = None,
               desc: str = "write") -> list[Path]:
    """Write several maps as COGs in one pass over their blocks, all-or-nothing.

    ``jobs``: ``(array, path, options)`` triples, options being :func:`write_cog`'s keywords (``nodata``,
    ``colormap``, ``class_names``, ``dtype``, ``cog_tile``, ``tags``). Maps computed from one lazy graph (the
    products of :func:`labkit.inference.predict_map`) share its blocks: each block is computed once and written
    into every file. Blocks go into uncompressed tiled GeoTIFFs beside the targets, which GDAL then turns into
    COGs (tiles compressed, overviews built) with bounded memory; everything is written under temporary names and
    moved into place only when all the maps are complete, so an interrupted run leaves nothing that looks finished.

    Example
    -------
    >>> import tempfile, pathlib, numpy as np, xarray as xr
    >>> grid = {"y": [15.0, 5.0], "x": [5.0, 15.0]}
    >>> a = xr.DataArray(np.ones((2, 2), "float32"), dims=("y", "x"), coords=grid).rio.write_crs("EPSG:32633")
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> [p.name for p in write_cogs([(a, folder / "a.tif", {}), (a * 2, folder / "b.tif", {"nodata": -1})])]
    ['a.tif', 'b.tif']
    """
    from . import tiling
    from .outputs import _temporary

    jobs = [job if isinstance(job, _CogJob) else _cog_job(job[0], job[1], **dict(job[2] if len(job) > 2 else {}))
            for job in jobs]
    targets = [job.path for job in jobs]
    sidecars = [_aux_path(job.path) for job in jobs if job.class_names]
    nbytes = 2 * sum(int(np.prod(job.layers.shape)) * job.layers.dtype.itemsize for job in jobs)
    with atomic_paths(targets + sidecars, overwrite=overwrite, nbytes=nbytes) as temps:
        staged = [_temporary(job.path) for job in jobs]
        try:
            lock = threading.Lock()
            writers = [_WindowWriter(_open_staging(job, stage), lock) for job, stage in zip(jobs, staged)]
            try:
                tiling.store([job.layers for job in jobs], writers, lock=lock, workers=workers, progress=progress,
                             desc=desc)
            finally:
                for writer in writers:
                    writer.close()
            for job, stage, tmp in zip(jobs, staged, temps):
                _to_cog(job, stage, tmp)
        finally:
            for stage in staged:
                with contextlib.suppress(FileNotFoundError):
                    stage.unlink()
        for job, tmp in zip([job for job in jobs if job.class_names], temps[len(jobs):]):
            tmp.write_text(_category_names_xml(job.class_names), encoding="utf-8")
    return targets


CLASS_NAMES_TAG = "CLASS_NAMES"
"""The GDAL tag in which :func:`write_cog` stores a class map's names (JSON ``{"code": "name"}``)."""


def _layer_name(array: xr.DataArray) -> str | None:
    """The name of a one-band map: the label it was selected by (``features.sel(feature="NDVI_max")`` keeps
    ``feature="NDVI_max"`` as a scalar coordinate), else the array's name."""
    labels = [str(c.values) for name, c in array.coords.items()
              if name not in array.dims and c.ndim == 0 and c.dtype.kind in "UO"]
    return labels[0] if len(labels) == 1 else (None if array.name is None else str(array.name))


def tagged_class_names(tags: Mapping[str, str]) -> dict[int, str] | None:
    """The class names a COG written by :func:`write_cog` carries in its tags, or None.

    Example
    -------
    >>> tagged_class_names({"CLASS_NAMES": '{"1": "forest", "2": "crop"}'})
    {1: 'forest', 2: 'crop'}
    """
    if CLASS_NAMES_TAG not in tags:
        return None
    return {int(k): v for k, v in json.loads(tags[CLASS_NAMES_TAG]).items()}


def _aux_path(path: Path) -> Path:
    """GDAL's side-car of ``path`` (``map.tif.aux.xml``), where it reads category names."""
    return path.with_name(path.name + ".aux.xml")


def _category_names_xml(class_names: dict[int, str]) -> str:
    """A GDAL PAM side-car naming the codes of band 1 (``<CategoryNames>``, one entry per code from 0)."""
    from xml.sax.saxutils import escape

    names = [escape(class_names.get(code, "")) for code in range(max(class_names) + 1)]
    categories = "".join(f"      <Category>{name}</Category>\n" for name in names)
    return (f'<PAMDataset>\n  <PAMRasterBand band="1">\n    <CategoryNames>\n{categories}'
            "    </CategoryNames>\n  </PAMRasterBand>\n</PAMDataset>\n")


def _open_staging(job: _CogJob, stage: Path):
    """An uncompressed tiled GeoTIFF that receives the blocks in any order, with the COG's metadata."""
    profile = {k: v for k, v in job.profile.items() if k not in ("compress", "overviews", "resampling", "predictor",
                                                                  "blocksize")}
    tiled = job.profile["height"] >= 256 and job.profile["width"] >= 256
    profile.update(driver="GTiff", tiled=tiled, **({"blockxsize": 256, "blockysize": 256} if tiled else {}))
    dataset = rasterio.open(stage, "w", **profile)
    if any(job.descriptions):
        dataset.descriptions = job.descriptions
    if job.colormap:
        dataset.write_colormap(1, job.colormap)
    if job.tags:
        dataset.update_tags(**job.tags)
    return dataset


class _WindowWriter:
    """A :func:`dask.array.store` target that writes each block of ``(layer, y, x)`` into a raster's window.

    Blocks are written under ``lock`` (the one given to the store), and :meth:`close` takes it too: when a block
    fails, the scheduler raises while other threads may still be computing theirs, so the dataset is closed only
    between two writes, and a block that arrives after that is refused instead of written into a closed dataset
    (GDAL would crash the process).
    """

    def __init__(self, dataset, lock: threading.Lock):
        self.dataset, self.lock = dataset, lock

    def close(self) -> None:
        with self.lock:
            self.dataset.close()

    def __setitem__(self, key, block) -> None:
        if self.dataset.closed:
            raise LabkitError("a block arrived after the raster it belongs to was closed (the write had failed).")
        _, rows, cols = key
        window = rasterio.windows.Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
        self.dataset.write(np.asarray(block), window=window)


def _to_cog(job: _CogJob, stage: Path, tmp: Path) -> None:
    """GDAL's COG driver copies the staged GeoTIFF into ``tmp``: tiles compressed, overviews built."""
    import rasterio.shutil

    options = {k: v for k, v in job.profile.items() if k in ("compress", "blocksize", "overviews", "resampling",
                                                             "predictor", "BIGTIFF")}
    rasterio.shutil.copy(stage, tmp, driver="COG", **options)
    with rasterio.open(tmp) as src:
        layout = src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT")
    if layout != "COG":
        raise LabkitError(f"write_cog: GDAL wrote {job.path} with layout {layout!r} instead of a COG.")


# ------------------------------------------------------------------------------------------------------ Zarr


def _zarr_chunks(cube: xr.DataArray) -> tuple[int, ...]:
    """Chunks of a Zarr cube: the dask chunks if any, else every date and band of square pixel blocks of ~32 MiB."""
    if cube.chunks is not None:
        return tuple(c[0] for c in cube.chunks)
    n_time, n_band, height, width = cube.shape
    side = int(math.sqrt(_ZARR_CHUNK_BYTES / max(1, n_time * n_band * cube.dtype.itemsize)))
    side = max(64, side // 64 * 64)
    return n_time, n_band, min(height, side), min(width, side)


def write_zarr(
    cube: xr.DataArray,
    path: str | os.PathLike,
    *,
    mask: xr.DataArray | None = None,
    variables: Mapping[str, xr.DataArray] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a cube, and optionally its validity mask, to a Zarr store in labkit's layout.

    The store is a Dataset with the variable ``cube`` ``(time, band, y, x)``, ``mask`` ``(time, y, x)`` if given,
    and the CRS and transform in a ``spatial_ref`` grid-mapping variable (rioxarray's and CF's convention), so
    that ``xarray.open_zarr`` with ``decode_coords="all"`` also sees the CRS. It is written in Zarr format 2, with
    consolidated metadata, which every Zarr reader supports. Numpy cubes are chunked by blocks of pixels holding
    their whole time series (what classification reads); dask cubes keep their chunks.

    Parameters
    ----------
    cube : xarray.DataArray
        A cube, numpy or dask (computed chunk by chunk while writing).
    path : path
        The store (a folder), e.g. ``"cube.zarr"``.
    mask : xarray.DataArray, optional
        A validity mask on the cube's grid and dates.
    variables : dict of name -> xarray.DataArray, optional
        More variables on the cube's grid (dims among ``time, band, y, x``), e.g. a reference class map ``(y, x)``.
    overwrite : bool, default False
        Replace an existing store (only a Zarr store: labkit never replaces a file or another folder).

    The store is written under a temporary name, marked complete by its last write, and then renamed into place;
    every chunk is written, even an empty one, so that :func:`read_zarr` can tell a missing chunk from an empty one.
    Its size is checked against the disk's free space before anything is computed.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    labkit.errors.DataModelError
        ``cube`` or ``mask`` do not follow the data model, or ``mask`` is not on the cube's dates and grid.
    OutputExistsError
        The store exists and ``overwrite`` is False.

    Example
    -------
    >>> import tempfile, numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.zeros((2, 1, 2, 2), "float32"), ["2021-05-01", "2021-05-11"], ["NDVI"],
    ...                     transform=(10.0, 0, 0.0, 0, -10.0, 20.0), crs="EPSG:32633")
    >>> store = write_zarr(cube, tempfile.mkdtemp() + "/cube.zarr", mask=dm.make_mask(np.zeros((2, 2, 2)), cube))
    >>> back, mask = read_zarr(store, with_mask=True)
    >>> back.identical(cube), mask.dtype.name
    (True, 'uint8')
    """
    validate(cube, "cube")
    grid_coords = [c for c in ("time", "band", "y", "x") if c in cube.coords]
    ds = cube.reset_coords(drop=True).to_dataset(name="cube")
    if mask is not None:
        mask = checked_mask(mask, "write_zarr")
        for dim in MASK_DIMS:
            if mask.sizes[dim] != cube.sizes[dim] or not np.array_equal(mask[dim].values, cube[dim].values):
                raise DataModelError(
                    f"write_zarr: the mask's '{dim}' coordinate differs from the cube's; build it on the cube with "
                    f"labkit.datamodel.make_mask(data, like=cube)."
                )
        ds["mask"] = mask.reset_coords(drop=True)
    for name, var in (variables or {}).items():
        ds[name] = _extra_variable(name, var, cube)
    ds = ds.assign_coords({c: cube[c] for c in grid_coords}).drop_vars("spatial_ref", errors="ignore")
    ds = ds.rio.write_crs(cube.rio.crs).rio.write_transform(cube.rio.transform())
    ds.attrs["labkit_layout"] = ZARR_LAYOUT
    chunks = _zarr_chunks(cube)
    ds = ds.chunk(dict(zip(CUBE_DIMS, chunks)))
    # an explicit encoding replaces the variable's own, which holds rioxarray's grid_mapping: keep it
    by_dim = dict(zip(CUBE_DIMS, chunks))
    encoding = {name: {**var.encoding, "chunks": tuple(by_dim[d] for d in var.dims)} for name, var in ds.data_vars.items()}
    with atomic_path(path, overwrite=overwrite, kind="store", nbytes=int(ds.nbytes)) as tmp:
        ds.to_zarr(tmp, mode="w-", zarr_format=2, consolidated=True, encoding=encoding, write_empty_chunks=True)
        _mark_complete(tmp)
    return Path(path)


def _extra_variable(name: str, var, cube: xr.DataArray) -> xr.DataArray:
    """An extra variable of a Zarr cube store: on the cube's grid, with dims among the cube's."""
    if name in ("cube", "mask", "spatial_ref") or not isinstance(var, xr.DataArray):
        raise DataModelError(f"write_zarr: variables={{{name!r}: ...}} must be a DataArray with a name other than "
                             "'cube', 'mask' or 'spatial_ref'.")
    if not set(var.dims) <= set(CUBE_DIMS) or any(var.sizes[d] != cube.sizes[d] for d in var.dims):
        raise DataModelError(f"write_zarr: variable {name!r} has dims {dict(var.sizes)}; it must lie on the cube's "
                             f"grid {dict(cube.sizes)}.")
    return var.drop_vars([c for c in var.coords if c not in var.dims]).assign_coords({d: cube[d] for d in var.dims})


_COMPLETE = "labkit_complete"
"""Attribute written last into a Zarr store by :func:`write_zarr`: a store without it was not finished."""


def _mark_complete(store: Path) -> None:
    """Mark a store complete: its last write, followed by consolidating its metadata again."""
    import zarr

    group = zarr.open_group(store, mode="r+", zarr_format=2)
    group.attrs[_COMPLETE] = True
    zarr.consolidate_metadata(store, zarr_format=2)


def _open_zarr(path) -> xr.Dataset:
    """A Zarr store's Dataset, lazily indexed (no dask yet, nothing read but metadata)."""
    _must_exist(path)
    last = None
    for consolidated in (True, False):  # try consolidated metadata first, quietly
        try:
            return xr.open_dataset(path, engine="zarr", chunks=None, consolidated=consolidated, decode_coords="all",
                                   cache=False)
        except Exception as error:  # zarr raises several types for "not a Zarr store"
            last = error
    raise ReadError(f"{path} is not a Zarr store that xarray can open ({last}).") from None


def _describe_variables(ds: xr.Dataset) -> str:
    found = ", ".join(f"'{name}' {tuple(map(str, var.dims))}" for name, var in ds.data_vars.items())
    return found or "no data variables"


def _check_zarr_chunks(path, names: Sequence[str]) -> None:
    """Raise ReadError when a variable of the store misses chunk files (zarr would read them as fill values)."""
    import zarr

    try:
        group = zarr.open_group(path, mode="r")
        for name in names:
            array = group[name]
            found, expected = array.nchunks_initialized, array.nchunks
            if found < expected:
                raise ReadError(f"{path}: variable '{name}' misses {expected - found} of its {expected} chunks; the "
                                "store is incomplete or damaged (a missing chunk would read as NaN). Write it again.")
    except LabkitError:
        raise
    except Exception as error:  # noqa: BLE001  (any failure to list the store is a read failure)
        raise read_failure(error, str(path), "its chunk list") from None


def _describe_chunk(key: tuple, name: str, dims: tuple[str, ...], coords: dict) -> str:
    """``variable 'cube', dates 2021-05-01..2021-06-30, bands B02..B08, rows 0..512``: what a chunk read covers."""
    parts = [f"variable '{name}'"]
    for dim, part in zip(dims, key):
        if dim in ("time", "band") and isinstance(part, slice):
            values = coords[dim][part]
            if len(values):
                label = [(_iso(v) if dim == "time" else str(v)) for v in (values[0], values[-1])]
                span = label[0] if len(values) == 1 else f"{label[0]}..{label[1]}"
                parts.append(f"{'date' if dim == 'time' else 'band'}{'s' if len(values) > 1 else ''} {span}")
        elif dim == "y" and isinstance(part, slice):
            parts.append(f"rows {part.start or 0}..{part.stop}")
    return ", ".join(parts)


def _dask_chunks(chunks, var: xr.DataArray, store_chunks: tuple[int, ...]) -> tuple:
    """Dask chunks of a variable from ``read_zarr``'s ``chunks`` (as xarray reads them)."""
    import dask.array as dsa

    if chunks == {}:
        wanted = store_chunks
    elif isinstance(chunks, Mapping):
        unknown = sorted(set(chunks) - set(var.dims))
        if unknown:
            raise ConfigError(f"chunks= names unknown dims {unknown}; the variable's dims are {var.dims}.")
        wanted = tuple(chunks.get(d, c) for d, c in zip(var.dims, store_chunks))
    elif chunks == "auto" or (isinstance(chunks, (int, np.integer)) and chunks > 0):
        wanted = chunks
    else:
        raise ConfigError(f"chunks={chunks!r} is not understood. Use None (numpy), 'auto', {{}} (the store's chunks), "
                          "a number of elements or a dict such as {'y': 512, 'x': 512}.")
    return dsa.core.normalize_chunks(wanted, var.shape, dtype=var.dtype, previous_chunks=store_chunks)


def _guarded(var: xr.DataArray, name: str, path, chunks) -> xr.DataArray:
    """``var`` read lazily chunk by chunk (dask), or now (``chunks=None``); read errors name the store and chunk."""
    import dask.array as dsa

    coords = {d: var[d].values for d in var.dims if d in ("time", "band")}
    describe = functools.partial(_describe_chunk, name=name, dims=var.dims, coords=coords)
    source = GuardedSource(var.variable, str(path), describe)
    if chunks is None:
        return var.copy(data=source[tuple(slice(None) for _ in var.dims)])
    store_chunks = tuple(var.encoding.get("chunks") or var.shape)
    blocks = _dask_chunks(chunks, var, store_chunks)
    token = dsa.core.tokenize(str(path), name, blocks, _modified(str(path)))
    data = dsa.from_array(source, chunks=blocks, asarray=True, fancy=False, name=f"read-zarr-{token}",
                          meta=np.empty((0,) * var.ndim, var.dtype))
    return var.copy(data=data)


def read_zarr(
    path: str | os.PathLike,
    *,
    chunks="auto",
    with_mask: bool = False,
    bands: Sequence[str] | str | None = None,
    crs=None,
    scale=None,
    offset=None,
    nodata=None,
    time=None,
    dims: Mapping[str, str] | None = None,
) -> xr.DataArray | tuple[xr.DataArray, xr.DataArray | None]:
    """Read a cube (and its mask) from a Zarr store: written by :func:`write_zarr`, or in another layout.

    A store in another layout (openEO's, an odc-stac Dataset saved with ``to_zarr``, any Dataset with one variable
    per band, or one variable with a band dim) is read through :func:`labkit.as_cube`, which finds its dims, bands,
    CRS and dates, and takes ``bands``, ``crs``, ``scale``, ``offset``, ``nodata``, ``time`` and ``dims``; it has no
    mask (None).

    Parameters
    ----------
    path : path
        The store.
    chunks : "auto", dict, int or None, default "auto"
        Dask chunks (lazy): ``"auto"`` lets dask choose them (multiples of the store's chunks), ``{}`` keeps the
        store's chunks, a dict such as ``{"y": 512, "x": 512}`` sets them by dim. None reads everything into numpy
        arrays now (refused when it does not fit in memory). A foreign store's variables are then merged so that
        each chunk holds every date and band (see :func:`labkit.as_cube`).
    with_mask : bool, default False
        Also return the mask (None if the store has none).
    bands : list of str, optional
        Only these bands, in this order (a foreign store: the variables holding them).
    crs, scale, offset, nodata, time, dims : optional
        Stores in another layout only, as :func:`labkit.as_cube` takes them: the CRS when the store does not say it,
        physical value = stored * scale + offset, the stored value that means "not observed", the dates when the
        store holds none, names of dims that none of :data:`labkit.sources.foreign.DIM_ALIASES` gives.

    Returns
    -------
    xarray.DataArray, or (xarray.DataArray, xarray.DataArray or None)
        The cube, and with ``with_mask`` the mask. ``+inf`` and ``-inf`` read as ``NaN``.

    Raises
    ------
    labkit.errors.ReadError
        The path is not a Zarr store, is a sample set's, is in another layout that :func:`labkit.as_cube` cannot read
        as a cube (the message lists what it holds, and why), not complete (its writer was interrupted), misses
        chunks, or does not follow the data model. A chunk that cannot be decoded raises it when computed, naming
        the store, the variable, the dates and bands.
    labkit.errors.BandError
        A band of ``bands`` that the store lacks.
    labkit.errors.ConfigError
        ``crs``, ``scale``, ``offset``, ``nodata``, ``time`` or ``dims`` for a store in labkit's layout (which holds
        physical values, its dates and its CRS), or values that cannot be read.

    Example
    -------
    >>> import tempfile, numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.zeros((2, 1, 2, 2), "float32"), ["2021-05-01", "2021-05-11"], ["NDVI"],
    ...                     transform=(10.0, 0, 0.0, 0, -10.0, 20.0), crs="EPSG:32633")
    >>> lazy = read_zarr(write_zarr(cube, tempfile.mkdtemp() + "/cube.zarr"))
    >>> type(lazy.data).__name__, str(lazy.rio.crs)
    ('Array', 'EPSG:32633')

    A store in another layout: one variable per band, dims ``(t, y, x)``, digital numbers, the CRS an attribute:

    >>> ds = xr.Dataset({"B04": (("t", "y", "x"), np.full((1, 2, 2), 500, "uint16"))}, attrs={"epsg": 32632},
    ...                 coords={"t": ["2022-06-02"], "y": [15.0, 5.0], "x": [5.0, 15.0]})
    >>> store = tempfile.mkdtemp() + "/openeo.zarr"
    >>> _ = ds.to_zarr(store, zarr_format=2)
    >>> cube, mask = read_zarr(store, scale=1e-4, with_mask=True)
    >>> cube.dims, round(float(cube.max()), 4), str(cube.rio.crs), mask
    (('time', 'band', 'y', 'x'), 0.05, 'EPSG:32632', None)
    """
    ds = _open_zarr(path)
    if not _in_labkit_layout(ds):
        try:
            cube = _foreign_cube(ds, path, chunks, bands=bands, crs=crs, scale=scale, offset=offset, nodata=nodata,
                                 time=time, dims=dims)
        except BandError as error:
            raise BandError(f"{path}: {error}") from None
        except DataModelError as error:
            raise ReadError(f"{path} is not in labkit's Zarr layout (it holds {_describe_variables(ds)}), and cannot "
                            f"be read as a cube in another layout: {error}") from None
        return (cube, None) if with_mask else cube
    foreign = {"crs": crs, "scale": scale, "offset": offset, "nodata": nodata, "time": time, "dims": dims}
    if given := [k for k, v in foreign.items() if v is not None]:
        raise ConfigError(f"read_zarr: {', '.join(given)} apply to stores in other layouts; {path} is in labkit's "
                          "layout, which holds physical values (NaN where missing) and its CRS. Leave them out.")
    ds = _open_zarr(path)
    layout = "a variable 'cube' (time, band, y, x) and optionally 'mask' (time, y, x)"
    if "cube" not in ds.data_vars or ds["cube"].dims != CUBE_DIMS:
        raise ReadError(
            f"{path} is not in labkit's Zarr layout: expected {layout}; found {_describe_variables(ds)}. Write "
            f"cubes with labkit.io.write_zarr, or open this store with xarray.open_zarr and build a cube with "
            f"labkit.datamodel.make_cube."
        )
    if ds.attrs.get("labkit_layout") == ZARR_LAYOUT and not ds.attrs.get(_COMPLETE):
        raise ReadError(f"{path} is an incomplete store: its writer stopped before the end (it lacks the "
                        f"'{_COMPLETE}' mark that labkit writes last). Delete it and write it again.")
    if "mask" in ds.data_vars and ds["mask"].dims != MASK_DIMS:
        raise ReadError(f"{path}: variable 'mask' has dims {ds['mask'].dims}; expected {MASK_DIMS}.")
    names = ["cube"] + (["mask"] if with_mask and "mask" in ds.data_vars else [])
    _check_zarr_chunks(path, names)
    crs = ds["cube"].rio.crs
    if crs is None and "spatial_ref" in ds.variables and "crs_wkt" in ds["spatial_ref"].attrs:
        crs = CRS.from_wkt(ds["spatial_ref"].attrs["crs_wkt"])
    if crs is None:
        raise ReadError(f"{path}: the cube has no CRS (no grid-mapping variable 'spatial_ref'). Rewrite it with "
                        f"labkit.io.write_zarr from a cube that has one.")
    transform = ds["cube"].rio.transform()
    if chunks is None:
        check_fits_in_memory(sum(int(ds[n].nbytes) for n in names), str(path))

    def tidy(name: str) -> xr.DataArray:
        var = _guarded(ds[name], name, path, chunks).drop_vars("spatial_ref", errors="ignore")
        var.encoding = {}
        var.attrs.pop("grid_mapping", None)
        return var.rio.write_crs(crs).rio.write_transform(transform)

    try:
        cube = tidy("cube").rename(None)
        validate(cube, "cube")
        mask = tidy("mask").rename("validity") if "mask" in names else None
        if mask is not None:
            validate(mask, "mask")
    except DataModelError as error:
        raise ReadError(f"{path}: {error}") from None
    if bands is not None:
        cube = _only_bands(cube, bands, path)
    return (cube, mask) if with_mask else cube


def _in_labkit_layout(ds: xr.Dataset) -> bool:
    """Whether a store was written by :func:`write_zarr` (or holds a variable ``cube`` with a cube's dims)."""
    return ds.attrs.get("labkit_layout") == ZARR_LAYOUT or ("cube" in ds.data_vars and ds["cube"].dims == CUBE_DIMS)


def _only_bands(cube: xr.DataArray, bands, path) -> xr.DataArray:
    wanted = [bands] if isinstance(bands, str) else list(bands)
    names = [str(b) for b in cube["band"].values]
    missing = [b for b in wanted if b not in names]
    if missing:
        raise BandError(f"{path} has no band(s) {missing}; its bands are {names}.")
    return cube.sel(band=wanted)


def _foreign_cube(ds: xr.Dataset, path, chunks, **options) -> xr.DataArray:
    """A store in another layout than labkit's as a cube (:func:`labkit.as_cube`), its variables read chunk by chunk
    with errors that name the store (missing chunks are the writer's fill value: zarr skips empty ones)."""
    from .sources.foreign import as_cube

    if ds.attrs.get("labkit_layout") == SAMPLES_LAYOUT:
        raise ReadError(f"{path} holds a sample set, not a cube; read it with labkit.io.read_samples.")
    lazy = ds.copy()
    for name, var in ds.data_vars.items():
        if var.ndim:
            lazy[name] = _guarded(var, str(name), path, _foreign_chunks(chunks, var))
    cube = as_cube(lazy, **options)
    if chunks is None:
        check_fits_in_memory(cube.size * cube.dtype.itemsize, str(path))
        cube = cube.compute()
    return cube


def _foreign_chunks(chunks, var: xr.DataArray):
    """``read_zarr``'s ``chunks`` for one variable of a foreign store: a dict may name its dims or the cube's."""
    from .sources.foreign import DIM_ALIASES

    if chunks is None:
        return {}
    if not isinstance(chunks, Mapping):
        return chunks
    aliases = {target: dim for dim in var.dims for target, names in DIM_ALIASES.items() if str(dim).lower() in names}
    return {aliases.get(key, key): size for key, size in chunks.items() if aliases.get(key, key) in var.dims}


# ------------------------------------------------------------------------------------------------ sample sets


SAMPLES_LAYOUT = "labkit-samples-1"
"""Value of the ``labkit_layout`` attribute of a sample set written to a Zarr store by :func:`write_samples`."""

SAMPLES_CHUNK = 8192
"""Samples per chunk of a sample set's ``X`` in a Zarr store: what training reads at once when it streams."""


def write_samples(samples: xr.Dataset, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a sample set to a NetCDF (HDF5) file, or to a Zarr store when ``path`` ends in ``.zarr``.

    A Zarr store suits sample sets larger than memory: ``X`` is written chunk by chunk (a dask-backed set is never
    loaded whole), and :func:`read_samples` with ``chunks`` gives it back lazily, for a deep model to stream it
    (:func:`labkit.models.fit_model`). Like a cube's store, it is marked complete by its last write.

    Dates, band names, labels (codes or text), class names (``class_name``), a regression's ``target``, the days
    and validity of the observations (``doy`` with its ``reference``, ``valid``) are kept; :func:`read_samples`
    reads the file back.

    Parameters
    ----------
    samples : xarray.Dataset
        A sample set (see :mod:`labkit.datamodel`).
    path : path
        The file, e.g. ``"samples.nc"``.
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    labkit.errors.DataModelError
        ``samples`` is not a sample set, or holds attributes NetCDF cannot store.
    OutputExistsError
        The file exists and ``overwrite`` is False.

    Example
    -------
    >>> import tempfile, numpy as np, labkit.datamodel as dm
    >>> s = dm.make_samples(np.zeros((2, 1, 1)), [3, 5], [0, 1], bands=["NDVI"], class_names={3: "forest", 5: "water"})
    >>> path = write_samples(s, tempfile.mkdtemp() + "/samples.nc")
    >>> dm.class_names(read_samples(path))
    {3: 'forest', 5: 'water'}
    """
    validate(samples, "samples", check_values=False if hasattr(samples["X"].data, "dask") else None)
    if Path(path).suffix == ".zarr":
        return _write_samples_zarr(samples, Path(path), overwrite)
    with atomic_path(path, overwrite=overwrite, nbytes=int(samples.nbytes)) as tmp:
        try:
            samples.to_netcdf(tmp, engine="h5netcdf")
        except (TypeError, ValueError) as error:
            raise DataModelError(f"write_samples: the sample set cannot be stored as NetCDF ({error}).") from error
    return Path(path)


def _write_samples_zarr(samples: xr.Dataset, path: Path, overwrite: bool) -> Path:
    ds = samples.copy()
    ds.attrs["labkit_layout"] = SAMPLES_LAYOUT
    n_time, n_band = ds.sizes["time"], ds.sizes["band"]
    rows = min(SAMPLES_CHUNK, max(1, ds.sizes["sample"]))
    ds["X"] = ds["X"].chunk({"sample": rows, "time": n_time, "band": n_band})
    encoding = {"X": {"chunks": (rows, n_time, n_band)}}
    with atomic_path(path, overwrite=overwrite, kind="store", nbytes=int(ds.nbytes)) as tmp:
        try:
            ds.to_zarr(tmp, mode="w-", zarr_format=2, consolidated=True, encoding=encoding, write_empty_chunks=True)
        except (TypeError, ValueError) as error:
            raise DataModelError(f"write_samples: the sample set cannot be stored as Zarr ({error}).") from error
        _mark_complete(tmp)
    return path


def read_samples(path: str | os.PathLike, *, chunks: int | None = None) -> xr.Dataset:
    """Read a sample set written by :func:`write_samples`: a NetCDF 3 or 4 file (into memory) or a Zarr store.

    Parameters
    ----------
    path : path
    chunks : int, optional
        Zarr stores only: read ``X`` lazily (dask), in chunks of this many samples (the store's chunks are a good
        choice: :data:`SAMPLES_CHUNK`); the other variables are read now. Without it, everything is read now
        (refused when it does not fit in memory).

    Returns
    -------
    xarray.Dataset
        The sample set, checked with :func:`labkit.datamodel.validate`.

    Raises
    ------
    labkit.errors.ReadError
        The file is missing, is not NetCDF, or does not hold a sample set (the message says what is wrong).

    Example
    -------
    >>> import tempfile, numpy as np, labkit.datamodel as dm
    >>> s = dm.make_samples(np.ones((3, 2, 1)), ["crop", "crop", "water"], [0, 0, 1], bands=["NDVI"],
    ...                     times=["2021-05-01", "2021-05-11"], doy=[121, 131], valid=[True, False])
    >>> back = read_samples(write_samples(s, tempfile.mkdtemp() + "/s.nc"))
    >>> back.identical(s), back.label.values.tolist()
    (True, ['crop', 'crop', 'water'])
    """
    _must_exist(path)
    if Path(path).is_dir() and is_zarr_store(path):
        return _read_samples_zarr(path, chunks)
    if chunks is not None:
        raise ConfigError(f"read_samples: chunks= reads a Zarr store lazily; {path} is a file, read into memory.")
    engine = _netcdf_engine(path)
    if engine is None:
        raise ReadError(f"{path} is not a NetCDF file. Sample sets are written by labkit.io.write_samples.")
    try:
        with xr.open_dataset(path, engine=engine) as ds:
            check_fits_in_memory(int(ds.nbytes), str(path), what="loading this sample set")
            samples = ds.load()
    except LabkitError:
        raise
    except Exception as error:  # noqa: BLE001  (HDF5, codecs and the OS raise many types: all are named)
        raise read_failure(error, str(path), "as NetCDF") from None
    if "label" in samples and samples["label"].dtype == object and is_text(samples["label"].values):
        samples["label"] = samples["label"].astype(str)  # variable-length strings: text labels, as numpy str
    try:
        validate(samples, "samples")
    except DataModelError as error:
        raise ReadError(f"{path} does not hold a labkit sample set: {error}") from None
    if samples["X"].dtype.kind == "f":
        samples["X"].values = finite_or_nan(samples["X"].values)  # ±inf is a missing value, as NaN is
    return samples


def _read_samples_zarr(path, chunks: int | None) -> xr.Dataset:
    """A sample set from a Zarr store: ``X`` lazy (guarded chunk by chunk) with ``chunks``, else everything now."""
    ds = _open_zarr(path)
    if ds.attrs.get("labkit_layout") != SAMPLES_LAYOUT or "X" not in ds.data_vars:
        raise ReadError(f"{path} is not a sample set's Zarr store (found {_describe_variables(ds)}); write sample "
                        "sets with labkit.io.write_samples(samples, 'samples.zarr').")
    if not ds.attrs.get(_COMPLETE):
        raise ReadError(f"{path} is an incomplete store: its writer stopped before the end (it lacks the "
                        f"'{_COMPLETE}' mark that labkit writes last). Delete it and write it again.")
    _check_zarr_chunks(path, ["X"])
    if chunks is None:
        check_fits_in_memory(int(ds.nbytes), str(path), what="loading this sample set")
    else:
        params.integer(chunks, "chunks", "read_samples", low=1)
    X = _guarded(ds["X"], "X", path, None if chunks is None else {"sample": chunks})
    try:
        samples = ds.drop_vars("X").load().assign(X=X)
    except Exception as error:  # noqa: BLE001  (codecs and the OS raise many types: all are named)
        raise read_failure(error, str(path), "its variables") from None
    for key in ("labkit_layout", _COMPLETE):
        samples.attrs.pop(key, None)
    samples = samples[["X", *[v for v in samples.data_vars if v != "X"]]]
    try:
        validate(samples, "samples", check_values=chunks is None)
    except DataModelError as error:
        raise ReadError(f"{path} does not hold a labkit sample set: {error}") from None
    return samples


def _netcdf_engine(path) -> str | None:
    """'h5netcdf' for NetCDF 4 (HDF5), 'scipy' for NetCDF 3, None for anything else, from the file's first bytes."""
    if Path(path).is_dir():
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as error:
        raise read_failure(error, str(path)) from None
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "h5netcdf"
    if head.startswith(b"CDF"):
        return "scipy"
    return None


# ----------------------------------------------------------------------------------------- vectors and JSON


VECTOR_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".fgb": "FlatGeobuf"}
"""The formats :func:`write_vector` writes, by extension: each is one file (a shapefile is several)."""


def write_vector(frame, path: str | os.PathLike, *, layer: str | None = None, overwrite: bool = False) -> Path:
    """Write a GeoDataFrame (reference polygons, points) to a vector file: GeoPackage, GeoJSON or FlatGeobuf.

    The format follows the extension (:data:`VECTOR_DRIVERS`); the file is written atomically. ``layer``
    defaults to the file's name without its extension.

    Example
    -------
    >>> import tempfile, geopandas as gpd
    >>> from shapely.geometry import Point
    >>> frame = gpd.GeoDataFrame({"class": [1]}, geometry=[Point(0, 0)], crs="EPSG:32631")
    >>> path = write_vector(frame, tempfile.mkdtemp() + "/points.gpkg", layer="points")
    >>> len(gpd.read_file(path))
    1
    """
    import geopandas as gpd

    if not isinstance(frame, gpd.GeoDataFrame):
        raise DataModelError(f"write_vector needs a geopandas.GeoDataFrame; got {type(frame).__name__}.")
    suffix = Path(path).suffix.lower()
    if suffix not in VECTOR_DRIVERS:
        why = " (a shapefile is several files that cannot be written all-or-nothing)" if suffix == ".shp" else ""
        raise ConfigError(f"write_vector: cannot write {path}{why}; use one of {sorted(VECTOR_DRIVERS)} (e.g. "
                          f"{Path(path).with_suffix('.gpkg').name}).")
    with atomic_path(path, overwrite=overwrite) as tmp:
        frame.to_file(tmp, driver=VECTOR_DRIVERS[suffix], layer=layer or Path(path).stem)
    return Path(path)


def write_json(data, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``data`` as indented JSON (UTF-8), atomically.

    Values JSON does not know are written as text, and NaN or ±inf as ``null`` (JSON has no such numbers).

    Example
    -------
    >>> import tempfile, json
    >>> path = write_json({"overall_accuracy": 0.85}, tempfile.mkdtemp() + "/metrics.json")
    >>> json.loads(path.read_text())
    {'overall_accuracy': 0.85}
    """
    import json

    try:  # before any file is touched: a bad value fails here
        text = json.dumps(_json_safe(data), indent=2, default=str, allow_nan=False) + "\n"
    except (TypeError, ValueError) as error:
        raise ConfigError(f"write_json: {path}: the data cannot be written as JSON ({error}).") from None
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _json_safe(data, depth: int = 0):
    """``data`` with NaN and ±inf as None (JSON's null), in dicts, lists and tuples; the rest as it is."""
    if depth > 100:
        raise ValueError("nested too deeply, or circular")
    if isinstance(data, float | np.floating):
        return float(data) if np.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _json_safe(value, depth + 1) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_json_safe(value, depth + 1) for value in data]
    return data


# ------------------------------------------------------------------------------------------------- describe


_VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".fgb", ".csv", ".kml", ".gml", ".parquet", ".gpx", ".sqlite",
                    ".tab", ".mif"}
"""Extensions :func:`describe` reads as vector files (any other file GDAL cannot read as a raster is tried too)."""

_CSV_POINTS = {"X_POSSIBLE_NAMES": "lon,long,longitude,x", "Y_POSSIBLE_NAMES": "lat,latitude,y",
               "AUTODETECT_TYPE": "YES"}
"""GDAL's CSV open options: points from longitude/latitude (or x/y) columns, field types detected."""

_CLASS_FIELDS = ("class_id", "class", "classe", "label", "code", "landcover", "land_cover", "lc", "crop", "crop_type",
                 "class_name")
"""Names of a vector file's field that :func:`describe` counts the classes of (the first found; case ignored)."""


def _dates_summary(times) -> str:
    times = np.asarray(times)
    if times.size == 0:
        return "none"
    if not np.issubdtype(times.dtype, np.datetime64):
        return f"{times.size} time steps (no dates)"
    return f"{times.size}: {_iso(times[0])} .. {_iso(times[-1])}"


def _nodata_share(values) -> str:
    values = np.asarray(values)
    return f"{float(np.isnan(values).mean()):.1%}" if values.size else "n/a"


def describe(path: str | os.PathLike) -> dict[str, object]:
    """Say what a file holds; used by ``labkit info``.

    Reads a raster (any GDAL format), a Zarr store (a cube in labkit's layout or in another one, such as openEO's,
    read through :func:`labkit.as_cube`; a sample set), a NetCDF file (a sample set, or a cube) and a vector file
    (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, CSV with longitude/latitude columns...: whatever GDAL reads).
    Only headers are read, except for the share of missing values of a cube or sample set, counted when the data
    is small (up to 5 million values), and the class counts of a vector file's class field.

    Parameters
    ----------
    path : path

    Returns
    -------
    dict
        ``kind`` first, then what suits the kind: ``size``, ``dates``, ``bands``, ``crs``, ``resolution``,
        ``extent`` (west, south, east, north in the CRS) and ``extent (lon/lat)``, ``nodata``; a vector's
        ``features``, ``geometry``, ``fields``, ``classes``...

    Raises
    ------
    labkit.errors.ReadError
        The path does not exist or is none of these.

    Example
    -------
    >>> import tempfile, numpy as np, labkit.datamodel as dm
    >>> s = dm.make_samples(np.ones((3, 2, 1)), [1, 1, 2], [0, 0, 1], bands=["NDVI"], class_names={1: "a", 2: "b"})
    >>> info = describe(write_samples(s, tempfile.mkdtemp() + "/s.nc"))
    >>> info["kind"], info["samples"], info["classes"]
    ('sample set (NetCDF)', 3, '1 a: 2, 2 b: 1')
    >>> s = dm.make_samples(np.ones((3, 2, 1)), ["b", "a", "b"], [0, 0, 1], bands=["NDVI"], doy=[10, 20])
    >>> info = describe(write_samples(s, tempfile.mkdtemp() + "/s.nc"))
    >>> info["classes"], info["doy"]
    ('a: 1, b: 2', 'day of year')
    >>> s = dm.make_samples(np.ones((3, 1, 1)), target=[0.5, 1.0, 3.0], bands=["NDVI"])
    >>> describe(write_samples(s, tempfile.mkdtemp() + "/lai.nc"))["target"]
    '0.5..3 (mean 1.5)'
    >>> cube = dm.make_cube(np.ones((1, 1, 2, 2)), ["2021-05-01"], ["NDVI"], transform=(10, 0, 500000, 0, -10, 20),
    ...                     crs="EPSG:32631")
    >>> info = describe(write_zarr(cube, tempfile.mkdtemp() + "/c.zarr"))
    >>> info["extent"], info["extent (lon/lat)"]
    ('500000, 0, 500020, 20 (west, south, east, north)', '3.00000, 0.00000, 3.00018, 0.00018')
    """
    _must_exist(path)
    path_str = os.fspath(path)
    if Path(path_str).is_dir() or path_str.rstrip("/").endswith(".zarr"):
        return _describe_zarr(path_str)
    if not _is_remote(path_str) and _netcdf_engine(path_str) is not None:
        return _describe_netcdf(path_str)
    if Path(path_str).suffix.lower() in _VECTOR_SUFFIXES:
        return _describe_vector(path_str)
    try:
        return _describe_raster(path_str)
    except ReadError as error:
        if "not recognized as being in a supported file format" not in str(error):
            raise  # a raster, damaged
        return _describe_vector(path_str)  # not a raster: maybe a vector of another extension


def _grid_info(crs, transform: Affine, height: int, width: int) -> dict[str, object]:
    """CRS, resolution and extent of a grid."""
    info: dict[str, object] = {"crs": _crs_name(crs), "resolution": f"{abs(transform.a):g} x {abs(transform.e):g}"}
    from rasterio.transform import array_bounds

    info.update(_extent(crs, array_bounds(height, width, transform)))
    return info


def _extent(crs, bounds) -> dict[str, str]:
    """``extent`` (west, south, east, north) in the CRS, and ``extent (lon/lat)`` where the CRS is not EPSG:4326."""
    from rasterio.warp import transform_bounds

    west, south, east, north = (float(b) for b in bounds)
    info = {"extent": f"{west:.10g}, {south:.10g}, {east:.10g}, {north:.10g} (west, south, east, north)"}
    if crs is None or crs.to_epsg() == 4326:
        return info
    with contextlib.suppress(Exception):  # a CRS PROJ cannot transform to lon/lat: the extent in it is enough
        lonlat = transform_bounds(crs, "EPSG:4326", west, south, east, north, densify_pts=21)
        if all(np.isfinite(lonlat)):
            info["extent (lon/lat)"] = ", ".join(f"{v:.5f}" for v in lonlat)
    return info


def _cube_info(cube: xr.DataArray, kind: str) -> dict[str, object]:
    info: dict[str, object] = {"kind": kind, "dims": dict(cube.sizes), "dates": _dates_summary(cube.time),
                               "bands": ", ".join(map(str, cube.band.values)), "dtype": str(cube.dtype)}
    info.update(_grid_info(cube.rio.crs, cube.rio.transform(), cube.sizes["y"], cube.sizes["x"]))
    return info


def _describe_zarr(path: str) -> dict[str, object]:
    ds = _open_zarr(path)
    if ds.attrs.get("labkit_layout") == SAMPLES_LAYOUT:
        return _describe_samples(read_samples(path, chunks=SAMPLES_CHUNK), "sample set (Zarr)")
    if _in_labkit_layout(ds):
        cube, mask = read_zarr(path, chunks="auto", with_mask=True)
        info = _cube_info(cube, "cube (Zarr)")
        info["mask"] = "yes" if mask is not None else "no"
    else:
        try:
            cube = _foreign_cube(ds, path, "auto")
        except (DataModelError, BandError) as error:
            return {"kind": "Zarr store (not a cube)", "dims": dict(ds.sizes), "variables": _describe_variables(ds),
                    "as a cube": str(error)}
        info = _cube_info(cube, "cube (Zarr, another layout)")
        info["variables"] = _describe_variables(ds)
    if cube.size <= _CHEAP_SIZE:
        info["nodata share"] = _nodata_share(cube.values)
    return info


def _describe_netcdf(path: str) -> dict[str, object]:
    from .sources.foreign import as_cube

    engine = _netcdf_engine(path)
    try:
        with xr.open_dataset(path, engine=engine, chunks={}, decode_coords="all") as ds:
            if "X" not in ds.data_vars:  # not a sample set: a cube, perhaps
                try:
                    cube = as_cube(ds)
                except (DataModelError, BandError) as error:
                    return {"kind": "NetCDF (neither a sample set nor a cube)", "dims": dict(ds.sizes),
                            "variables": _describe_variables(ds), "as a cube": str(error)}
                info = _cube_info(cube, "cube (NetCDF)")
                if cube.size <= _CHEAP_SIZE:
                    info["nodata share"] = _nodata_share(cube.values)
                return info
    except LabkitError:
        raise
    except Exception as error:  # noqa: BLE001  (HDF5, codecs and the OS raise many types: all are named)
        raise read_failure(error, path, "as NetCDF") from None
    return _describe_samples(read_samples(path), "sample set (NetCDF)")


def _describe_samples(samples: xr.Dataset, kind: str) -> dict[str, object]:
    info: dict[str, object] = {
        "kind": kind,
        "samples": samples.sizes["sample"],
        "dates": _dates_summary(samples.time),
        "bands": ", ".join(map(str, samples.band.values)),
    }
    if "label" in samples:
        text = is_text(samples["label"].values)
        codes, names = label_codes(samples)
        codes, counts = np.unique(codes, return_counts=True)
        info["classes"] = ", ".join((names[c] if text else _class_label(int(c), names)) + f": {n}"
                                    for c, n in zip(codes, counts))
    if "target" in samples:
        target = samples["target"].values
        info["target"] = (f"{target.min():.4g}..{target.max():.4g} (mean {target.mean():.4g})" if target.size
                          else "n/a")
    info["groups"] = int(np.unique(samples["group"].values).size)
    if "doy" in samples:
        reference = samples["doy"].attrs.get("reference")
        info["doy"] = f"days since {reference}" if reference else "day of year"
    if "valid" in samples:
        info["valid observations"] = f"{float(samples['valid'].values.mean()):.1%}" if samples["valid"].size else "n/a"
    if "crs" in samples.attrs:
        try:
            info["crs"] = _crs_name(CRS.from_user_input(samples.attrs["crs"]))
        except Exception as error:  # noqa: BLE001  (rasterio's CRSError and others: the file is still described)
            info["crs"] = f"unreadable attribute 'crs' ({str(error).splitlines()[0]})"
    if samples["X"].size <= _CHEAP_SIZE:
        info["nodata share"] = _nodata_share(samples["X"].values)
    return info


def _class_label(code: int, names: dict[int, str]) -> str:
    return f"{code} {names[code]}" if names[code] != str(code) else str(code)


def _describe_raster(path: str) -> dict[str, object]:
    r = _open_raster(path)
    try:
        with _quiet_georef(), rasterio.open(path) as src:
            driver = src.driver
            layout = src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT")
            tags = src.tags()
            values = src.read(masked=True) if r.count * r.height * r.width <= _CHEAP_SIZE else None
    except Exception as error:  # noqa: BLE001  (GDAL raises many types: all are named)
        raise read_failure(error, path, "its pixels") from None
    info: dict[str, object] = {
        "kind": f"raster ({'COG' if layout == 'COG' else driver})",
        "size": f"{r.width} x {r.height} px, {r.count} layer(s)",
        "dtype": r.dtype,
    }
    stamp = _date_in_name(Path(path).name)
    layer_dates = _layer_dates(r)
    if stamp is not None:
        info["date"] = _iso(stamp)
    elif all(d is not None for d in layer_dates):
        info["dates"] = _dates_summary(np.array([d.to_datetime64() for d in layer_dates]))
    if all(r.descriptions) and not all(d is not None for d in layer_dates):
        shown = list(r.descriptions[:12]) + (["..."] if r.count > 12 else [])
        info["bands"] = ", ".join(shown)
    if r.georeferenced or r.crs is not None:
        info.update(_grid_info(r.crs, r.transform, r.height, r.width))
    else:
        info["crs"] = "none (not georeferenced)"
    info["nodata"] = "none" if r.nodata is None else f"{r.nodata:g}"
    with contextlib.suppress(ValueError, AttributeError):  # a class map of write_cog / write_map: its legend
        if (names := tagged_class_names(tags)) is not None:
            info["classes"] = ", ".join(f"{code} {name}" for code, name in names.items())
    if any(s != 1 for s in r.scales) or any(o != 0 for o in r.offsets):
        info["scale, offset"] = f"{r.scales[0]:g}, {r.offsets[0]:g}"
    if values is not None:
        missing = np.ma.getmaskarray(values)
        if np.issubdtype(values.dtype, np.floating):
            missing = missing | np.isnan(values.filled(0))
        info["nodata share"] = f"{float(missing.mean()):.1%}" if missing.size else "n/a"
    return info


def _describe_vector(path: str) -> dict[str, object]:
    """A vector file's layers, features, geometry type, CRS, extent, fields and the class counts of a class field."""
    import pyogrio

    options = _CSV_POINTS if Path(path).suffix.lower() == ".csv" else {}
    try:
        layers = [(str(name), meta) for name, _ in pyogrio.list_layers(path)
                  for meta in [pyogrio.read_info(path, layer=str(name), force_feature_count=True,
                                                 force_total_bounds=True, **options)]]
    except Exception as error:  # noqa: BLE001  (pyogrio raises its own types, GDAL others)
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ReadError(f"{path} is neither a raster nor a vector file that GDAL can read ({message}). labkit info "
                        "describes rasters, Zarr stores, NetCDF sample sets and vector files.") from None
    if not layers:
        raise ReadError(f"{path}: a vector file without layers.")
    name, meta = layers[0]
    info: dict[str, object] = {"kind": f"vector ({meta['driver']})"}
    if len(layers) > 1:
        info["layers"] = ", ".join(f"{n} ({m['geometry_type'] or 'no geometry'}, {m['features']} features)"
                                   for n, m in layers) + f"; described below: '{name}'"
    else:
        info["layer"] = name
    info["features"] = int(meta["features"])
    info["geometry"] = meta["geometry_type"] or "none (a table)"
    crs = meta["crs"]
    fields = [str(f) for f in meta["fields"]]
    if crs is None and meta["driver"] == "CSV" and meta["geometry_type"] and {"lon", "long", "longitude"} & {
            f.lower() for f in fields}:
        crs = "EPSG:4326"  # points from longitude/latitude columns
    crs = CRS.from_user_input(crs) if crs else None
    info["crs"] = _crs_name(crs)
    bounds = meta["total_bounds"]
    if bounds is not None and meta["features"] and np.all(np.isfinite(bounds)):
        info.update(_extent(crs, bounds))
    types = {"object": "text", "datetime64[ms]": "datetime"}
    info["fields"] = ", ".join(f"{f} ({types.get(str(t), str(t))})" for f, t in zip(fields, meta["dtypes"])) or "none"
    field = next((f for wanted in _CLASS_FIELDS for f in fields if f.lower() == wanted), None)
    if field is not None and 0 < meta["features"] <= _CHEAP_SIZE:
        info["class field"] = field
        info["classes"] = _class_counts(path, name, field, "class_name" if "class_name" in fields else None, options)
    return info


def _class_counts(path: str, layer: str, field: str, name_field: str | None, options: Mapping) -> str:
    """``1 crop: 20, 2 water: 3`` (codes with their names) or ``crop: 20, water: 3``: features per class."""
    import pyogrio

    columns = [field] + ([name_field] if name_field and name_field != field else [])
    try:
        table = pyogrio.read_dataframe(path, layer=layer, columns=columns, read_geometry=False, **options)
    except Exception as error:  # noqa: BLE001  (pyogrio raises its own types, GDAL others)
        raise read_failure(error, path, f"field {field!r}") from None
    counts = table[field].value_counts(dropna=False).sort_index()
    names = table.dropna().groupby(field)[name_field].first() if len(columns) > 1 else {}
    parts = [f"{'missing' if pd.isna(code) else code}{' ' + str(names[code]) if code in names else ''}: {n}"
             for code, n in counts.items()]
    return ", ".join(parts[:30] + ([f"... ({len(parts)} classes)"] if len(parts) > 30 else []))
