"""Labelled sample tables from other tools, read into labkit sample sets.

Many public land-cover datasets come as tables of pixel (or polygon) time series rather than as images: a CSV with
one row per sample in *wide* form (TempCNN, dl4sits, iota2's learning samples exported to CSV), or an R data file
written by sits (a nested tibble with one time series per row). :func:`read_csv_wide` and :func:`read_sits_rda`
turn them into sample sets (see :mod:`labkit.datamodel`; labels as codes or as the class names the tables hold,
with the days of the observations in ``doy`` where the tables have dates), ready for :mod:`labkit.samples` (splits)
and :mod:`labkit.models`; :func:`labkit.io.write_samples` saves them as NetCDF.

Example
-------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
>>> _ = path.write_text("class,polygon,d1.red,d1.nir,d2.red,d2.nir\\n"
...                     "1,10,500,3000,450,3200\\n2,11,900,1500,950,1400\\n")
>>> s = read_csv_wide(path, label_column="class", group_column="polygon", bands=["red", "nir"], scale=1e-4)
>>> dict(s.sizes), s.X.values[0, :, 1].astype(float).round(2).tolist()
({'sample': 2, 'time': 2, 'band': 2}, [0.3, 0.32])
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from . import params
from .datamodel import make_samples, observation_days
from .errors import BandError, ConfigError, ReadError
from .inputs import finite_or_nan

ORDERS = ("date-major", "band-major")


# ------------------------------------------------------------------------------------------------------- CSV


def _first_line(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.readline().rstrip("\r\n")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.strip() == ""
    return True


def _check_field_counts(path: Path, sep: str, has_header: bool) -> int:
    """The number of fields per row; a row with another count is an error naming its line."""
    expected = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            n = line.count(sep) + 1
            if expected is None:
                expected, first = n, number
            elif n != expected:
                what = "the header" if has_header and first == 1 else f"line {first}"
                raise ReadError(f"{path}: line {number} has {n} fields, but {what} has {expected}. The file is "
                                f"truncated or not a table with one sample per row.")
    if expected is None:
        raise ReadError(f"{path}: the file is empty.")
    return expected


def _column(path: Path, table: pd.DataFrame, column, role: str, has_header: bool):
    """The name of the column given by name or by position."""
    if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
        if not -table.shape[1] <= column < table.shape[1]:
            raise ConfigError(f"{path}: {role} {column} is not a column position; the file has {table.shape[1]} "
                              f"columns.")
        name = table.columns[column]
        return name.item() if isinstance(name, np.generic) else name
    if column not in table.columns:
        if not has_header:
            raise ConfigError(f"{path}: {role} {column!r} is a name, but the file has no header; give the column's "
                              f"position (0 for the first).")
        shown = list(table.columns[:8]) + (["..."] if table.shape[1] > 8 else [])
        raise ConfigError(f"{path}: no column {column!r} ({role}); columns: {shown}.")
    return column


def _integers(path: Path, values: pd.Series, what: str, line_offset: int) -> np.ndarray:
    """A column of integers; the first value that is not one is an error naming its line."""
    if pd.api.types.is_integer_dtype(values.dtype) and not values.isna().any():
        return values.to_numpy(dtype=np.int64)
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() | (numbers.notna() & (numbers != np.round(numbers)))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        value = values.iloc[row]
        value = value.item() if isinstance(value, np.generic) else value
        shown = "nothing (an empty field)" if pd.isna(value) else repr(value)
        raise ReadError(f"{path}, line {row + line_offset}: {what} must be an integer; found {shown} "
                        f"({int(bad.sum())} row(s) like this).")
    return numbers.to_numpy().astype(np.int64)


def _labels(path: Path, values: pd.Series, what: str, line_offset: int) -> np.ndarray:
    """The label column: class names when no field of it is a number (an empty field is an error naming its line),
    else integer codes (:func:`_integers`)."""
    present = values.dropna()
    if len(present) == 0 or pd.api.types.is_numeric_dtype(present.dtype) or (
            pd.to_numeric(present, errors="coerce").notna().any()):
        return _integers(path, values, what, line_offset)
    text = values.astype("string").str.strip()
    empty = text.isna() | (text == "")
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0])
        raise ReadError(f"{path}, line {row + line_offset}: {what} is empty; every sample needs a class name "
                        f"({int(empty.sum())} row(s) like this).")
    return text.to_numpy(dtype=str)


def read_csv_wide(
    path: str | os.PathLike,
    *,
    label_column: str | int,
    group_column: str | int | None = None,
    bands: Sequence[str],
    n_dates: int | None = None,
    order: str = "date-major",
    dates: Sequence | None = None,
    scale: float = 1.0,
    class_names: Mapping[int, str] | None = None,
    header: bool | None = None,
    sep: str = ",",
) -> xr.Dataset:
    """Read a CSV table in wide form (one row per sample, one column per date and band) as a sample set.

    Every column other than the label and the group holds a value, in the order given by ``order``:
    ``"date-major"`` is ``d1.b1, d1.b2, ..., d1.bB, d2.b1, ...`` (all bands of the first date, then of the second
    date...), ``"band-major"`` is ``b1.d1, b1.d2, ..., b1.dD, b2.d1, ...`` (the whole series of the first band, then
    of the second...).

    Parameters
    ----------
    path : path of the CSV file
    label_column : str or int
        The column of labels, by name (files with a header) or position (0 for the first column): integer class
        codes, or class names (a column none of whose fields is a number), kept as text.
    group_column : str or int, optional
        The column of polygon ids (integers), the samples' ``group``. None: each row is its own group (fine for
        points; for pixels of polygons, any split will leak).
    bands : sequence of str
        The band names, in their order within a date (date-major) or in the file (band-major).
    n_dates : int, optional
        The number of dates; by default the number of value columns divided by the number of bands.
    order : {"date-major", "band-major"}, default "date-major"
    dates : sequence of dates, optional
        The acquisition dates (anything :func:`pandas.to_datetime` reads), also as the samples' ``doy``
        (:func:`labkit.datamodel.observation_days`); default positions ``0..n_dates-1`` and no ``doy``.
    scale : float, default 1.0
        Multiplies every value (``1e-4`` for reflectance stored as integers x 10 000).
    class_names : mapping, optional
        ``{code: name}``, stored as the sample set's ``class_name`` (integer labels only).
    header : bool, optional
        Whether the first line holds column names; by default, when one of its fields is not a number.
    sep : str, default ","

    Returns
    -------
    sample set
        ``X`` float32 ``(sample, time, band)``; ``valid`` False where a value is missing (an empty field, NaN);
        ``attrs["source"]`` is the file's path.

    Raises
    ------
    ReadError
        The file is missing or empty, a row has another number of fields than the first, a label is neither an
        integer nor (in a column of names) a name, a group is not an integer, a value is not a number (each naming
        the file, the line and the column).
    ConfigError
        An unknown column, a layout (dates x bands) that does not match the number of value columns, bad options,
        ``class_names`` for labels that are names.

    Example
    -------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "series.csv"
    >>> _ = path.write_text("3,0.1,0.2,0.3,0.7,0.8,0.9\\n5,0.4,0.5,0.6,0.1,0.1,0.1\\n")
    >>> s = read_csv_wide(path, label_column=0, bands=["red", "nir"], order="band-major", dates=[
    ...     "2020-05-01", "2020-05-11", "2020-05-21"])
    >>> s.X.sel(band="nir").values[0].astype(float).round(2).tolist(), str(s.time.values[-1])[:10]
    ([0.7, 0.8, 0.9], '2020-05-21')
    >>> s.doy.values[0].tolist()
    [122.0, 132.0, 142.0]
    """
    path = Path(path)
    if order not in ORDERS:
        raise ConfigError(f"read_csv_wide: order must be one of {ORDERS}; got {order!r}.")
    bands = [str(b) for b in bands]
    if not bands:
        raise ConfigError("read_csv_wide: bands is empty; give the band names, e.g. bands=['B04', 'B08'].")
    if not path.is_file():
        raise ReadError(f"{path}: no such file.")
    if header is None:
        header = not all(_is_number(field) for field in _first_line(path).split(sep))
    _check_field_counts(path, sep, header)
    try:
        table = pd.read_csv(path, sep=sep, header=0 if header else None, skip_blank_lines=True)
    except (ValueError, pd.errors.ParserError) as error:
        raise ReadError(f"{path}: cannot be read as a CSV table ({error}).") from None
    line_offset = 2 if header else 1  # line number of row 0
    label_name = _column(path, table, label_column, "label_column", header)
    group_name = None if group_column is None else _column(path, table, group_column, "group_column", header)
    if group_name is not None and group_name == label_name:
        raise ConfigError(f"{path}: label_column and group_column are the same column ({label_name!r}).")
    value_names = [c for c in table.columns if c not in (label_name, group_name)]
    n_values, n_bands = len(value_names), len(bands)
    scale = params.number(scale, "scale", "read_csv_wide")
    if dates is not None:
        dates = params.dates(dates, "dates", "read_csv_wide", increasing=True)
        if n_dates is not None and n_dates != len(dates):
            raise ConfigError(f"read_csv_wide: n_dates={n_dates} but {len(dates)} dates were given.")
        n_dates = len(dates)
    described = f"label {label_name!r}" + (f" and group {group_name!r}" if group_name is not None else "")
    if n_dates is None:
        if n_values % n_bands:
            raise ConfigError(f"{path}: {n_values} value columns (besides {described}) cannot hold whole series of "
                              f"{n_bands} bands {bands}: {n_values} is not a multiple of {n_bands}.")
        n_dates = n_values // n_bands
    if n_dates * n_bands != n_values:
        raise ConfigError(f"{path}: the layout {n_dates} dates x {n_bands} bands needs {n_dates * n_bands} value "
                          f"columns, but the file has {n_values} besides {described}.")
    if n_dates == 0 or len(table) == 0:
        raise ReadError(f"{path}: no samples (no data rows, or no value columns).")
    label = _labels(path, table[label_name], f"the label (column {label_name!r})", line_offset)
    if class_names and label.dtype.kind == "U":
        raise ConfigError(f"read_csv_wide: class_names names integer class codes, but the labels in {label_name!r} are "
                          "class names. Leave class_names out.")
    group = (np.arange(len(table)) if group_name is None else
             _integers(path, table[group_name], f"the group (column {group_name!r})", line_offset))
    values = table[value_names]
    not_numbers = [c for c in value_names if not pd.api.types.is_numeric_dtype(values[c].dtype)]
    if not_numbers:
        column = not_numbers[0]
        numbers = pd.to_numeric(values[column], errors="coerce")
        row = int(np.flatnonzero((numbers.isna() & values[column].notna()).to_numpy())[0])
        shown = str(values[column].iloc[row])
        raise ReadError(f"{path}, line {row + line_offset}, column {column!r}: {shown!r} is not a "
                        f"number ({len(not_numbers)} column(s) hold text).")
    X = values.to_numpy(dtype=np.float64)
    if order == "date-major":
        X = X.reshape(len(table), n_dates, n_bands)
    else:
        X = X.reshape(len(table), n_bands, n_dates).transpose(0, 2, 1)
    X = finite_or_nan((X * scale).astype(np.float32) if scale != 1 else X.astype(np.float32))  # ±inf: missing
    doy, reference = observation_days(dates.to_numpy()) if dates is not None else (None, None)
    return make_samples(X, label, group, times=dates, bands=bands, class_names=dict(class_names or {}) or None,
                        doy=doy, doy_reference=reference, valid=np.isfinite(X).all(axis=2),
                        attrs={"source": str(path)})


# ------------------------------------------------------------------------------------------------- sits (.rda)


SITS_COLUMNS = ("longitude", "latitude", "label", "time_series")


class _Columns(dict):
    """A data frame read from R as a plain ``{column: values}`` mapping (cheaper than one pandas frame per sample)."""

    def __len__(self) -> int:  # the number of rows, like a data frame
        first = next(iter(self.values()), ())
        return len(first)

    @property
    def columns(self) -> list[str]:
        return list(self.keys())


def _light_frame(obj, attrs) -> _Columns:
    if not isinstance(obj, dict):
        raise ReadError("a data frame without column names")
    return _Columns({str(k): v for k, v in obj.items()})


def _read_rda(path: Path) -> dict:
    try:
        import rdata
    except ImportError as error:  # pragma: no cover - a dependency of labkit
        raise ReadError(f"{path}: reading R data files needs the 'rdata' package ({error}).") from None
    constructors = {**rdata.conversion.DEFAULT_CLASS_MAP, "data.frame": _light_frame}
    with warnings.catch_warnings():
        # sits' classes (sits, tbl_df, Date...) have no Python constructor: rdata builds the underlying data frames
        # and numbers, which is what we want, and says so for every class (and guesses at unknown file types).
        warnings.filterwarnings("ignore", category=UserWarning, module=r"rdata")
        try:
            return rdata.read_rda(path, constructor_dict=constructors)
        except Exception as error:  # rdata raises many types for a file that is not R data
            raise ReadError(f"{path}: cannot be read as an R data file (.rda/.RData) ({type(error).__name__}: "
                            f"{error}).") from None


def _as_columns(obj) -> _Columns | None:
    """A data frame (pandas, or as read by :func:`_read_rda`) as ``{column: values}``; None for anything else."""
    if isinstance(obj, _Columns):
        return obj
    if isinstance(obj, pd.DataFrame):
        return _Columns({str(c): obj[c].to_numpy() for c in obj.columns})
    return None


def _dates_of(index) -> np.ndarray:
    """R ``Date`` values (days since 1970-01-01, as numbers once read) or dates, as ``datetime64[ns]``."""
    index = np.asarray(index)
    if np.issubdtype(index.dtype, np.number):
        days = index.astype(np.float64)
        return np.datetime64("1970-01-01", "ns") + np.round(days * 86400e9).astype("timedelta64[ns]")
    return pd.to_datetime(index).to_numpy(dtype="datetime64[ns]")


def _sits_labels(path: Path, labels) -> np.ndarray:
    """The ``label`` column of a sits table as text; a sample without one (NA, empty) is an error naming it."""
    labels = np.asarray(labels, dtype=object)
    missing = pd.isna(labels) | (np.char.strip(labels.astype(str)) == "")
    if missing.any():
        rows = np.flatnonzero(missing)
        raise ReadError(f"{path}: {rows.size} sample(s) have no label (NA or empty), e.g. samples "
                        f"{rows[:5].tolist()}; drop them in R first (dplyr::filter(samples, !is.na(label))).")
    return labels.astype(str)


def read_sits_rda(
    path: str | os.PathLike, *, name: str | None = None, bands: Sequence[str] | None = None,
) -> xr.Dataset:
    """Read a sits sample table (an R data file holding a nested tibble) as a sample set.

    A sits sample table has one row per sample with columns ``longitude``, ``latitude``, ``start_date``,
    ``end_date``, ``label``, ``cube`` and ``time_series``: a table per sample with an ``Index`` (dates) column and
    one column per band. It is read with the ``rdata`` package (no R needed).

    Each sample is a point of its own: its ``group`` is its position ``0..n-1``, so every sample is its own group
    (sits samples are usually points; if several of them come from one polygon, set ``group`` yourself before
    splitting). Labels are kept as the text they are in sits; models and scores use their codes
    (:func:`labkit.datamodel.label_codes`: ``1, 2...`` in alphabetical order of the names). ``x``/``y`` are the
    longitude and latitude, CRS EPSG:4326.

    When all samples share their dates, they are the sample set's ``time``; otherwise (samples of different years,
    as in ``samples_modis_ndvi``) ``time`` holds positions ``0..n-1`` and a variable ``date (sample, time)`` each
    sample's dates. ``valid`` is False where a band is missing (NA). ``doy (sample, time)`` holds each sample's own days
    (:func:`labkit.datamodel.observation_days`): the day of year when every sample's series spans less than a year,
    so that samples of different years line up by season; else days since the earliest date
    (``doy.attrs["reference"]``).

    Parameters
    ----------
    path : path of the ``.rda`` / ``.RData`` file
    name : str, optional
        The object to read when the file holds several (default: the only table with a ``time_series`` column).
    bands : sequence of str, optional
        The bands to keep, in this order (default: all, in the file's order).

    Returns
    -------
    sample set
        ``attrs["source"]`` is the file, ``attrs["cube"]`` the sits cube name(s) the samples were taken from.

    Raises
    ------
    ReadError
        Not an R data file, no sits table in it, missing columns, samples whose bands or number of dates differ,
        samples without a label.
    BandError
        A requested band is not in the file.

    Example
    -------
    >>> from labkit.datasets import fetch  # doctest: +SKIP
    >>> root = fetch("insitu-rondonia")  # doctest: +SKIP
    >>> s = read_sits_rda(root / "data/samples_S2_T20LKP_2018_2019.rda")  # doctest: +SKIP
    >>> dict(s.sizes), sorted(set(s.label.values))  # doctest: +SKIP
    ({'sample': 481, 'time': 36, 'band': 11}, ['Deforestation', 'Forest', 'NonForest'])
    """
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"{path}: no such file.")
    objects = _read_rda(path)
    tables = {k: v for k, v in objects.items() if _as_columns(v) is not None and "time_series" in _as_columns(v)}
    if name is not None:
        if name not in objects:
            raise ReadError(f"{path}: no object {name!r}; it holds {sorted(objects)}.")
        table = objects[name]
    elif len(tables) == 1:
        name, table = next(iter(tables.items()))
    else:
        found = sorted(tables) if tables else sorted(objects)
        raise ReadError(f"{path}: {'several' if tables else 'no'} sits sample table(s) (a data frame with a "
                        f"'time_series' column) in it; objects: {found}." + (" Choose one with name=..." if tables
                                                                              else ""))
    table = _as_columns(table)
    if table is None:
        raise ReadError(f"{path}: object {name!r} is a {type(objects[name]).__name__}, not a sits sample table.")
    missing = [c for c in SITS_COLUMNS if c not in table]
    if missing:
        raise ReadError(f"{path}: object {name!r} is not a sits sample table: no column(s) {missing}; columns: "
                        f"{table.columns}.")
    if len(table) == 0:
        raise ReadError(f"{path}: object {name!r} holds no samples.")
    series = [_as_columns(ts) for ts in table["time_series"]]
    first = series[0]
    if first is None or "Index" not in first:
        raise ReadError(f"{path}: the time_series of sample 0 is not a table with an 'Index' (dates) column.")
    file_bands = [c for c in first.columns if c != "Index"]
    wanted = file_bands if bands is None else [str(b) for b in bands]
    unknown = [b for b in wanted if b not in file_bands]
    if unknown:
        raise BandError(f"{path}: band(s) {unknown} not in the samples; they have {file_bands}.")
    n_dates = len(first)
    X = np.empty((len(series), n_dates, len(wanted)), dtype=np.float32)
    dates = np.empty((len(series), n_dates), dtype="datetime64[ns]")
    for k, ts in enumerate(series):
        columns = None if ts is None else [c for c in ts.columns if c != "Index"]
        if columns is None or set(columns) != set(file_bands):
            raise ReadError(f"{path}: sample {k} has bands {columns}, sample 0 has {file_bands}.")
        if len(ts) != n_dates:
            raise ReadError(f"{path}: sample {k} has {len(ts)} dates, sample 0 has {n_dates}; sample sets need one "
                            "number of dates.")
        for j, band in enumerate(wanted):
            X[k, :, j] = np.ma.filled(np.ma.asarray(ts[band], dtype=np.float64), np.nan)
        dates[k] = _dates_of(ts["Index"])
    labels = _sits_labels(path, table["label"])
    shared = bool((dates == dates[0]).all())
    cubes = sorted(set(np.asarray(table["cube"]).astype(str).tolist())) if "cube" in table else []
    attrs = {"source": str(path), "object": name}
    if cubes:
        attrs["cube"] = ", ".join(cubes)
    doy, reference = observation_days(dates)
    samples = make_samples(
        X, labels, np.arange(len(table), dtype=np.int64), times=dates[0] if shared else None, bands=wanted,
        x=np.asarray(table["longitude"], dtype=np.float64), y=np.asarray(table["latitude"], dtype=np.float64),
        crs="EPSG:4326", doy=doy, doy_reference=reference, valid=np.isfinite(X).all(axis=2), attrs=attrs,
    )
    if not shared:
        samples["date"] = (("sample", "time"), dates)
    return samples
