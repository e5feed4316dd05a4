"""labkit's data model: the few objects that every stage of the chain takes and returns.

This page is the one place where they are defined.

**cube**
    ``xarray.DataArray`` with dims ``(time, band, y, x)``. ``time`` holds ``datetime64`` dates, strictly increasing;
    ``band`` holds unique band names (``"B04"``, ``"NDVI"``...); ``y`` and ``x`` hold pixel-centre coordinates in
    the cube's CRS, which rioxarray carries (``cube.rio.crs``, ``cube.rio.transform()``). Values are floats in
    physical units (reflectance 0–1, indices) with ``NaN`` where nothing was observed. The data may be a numpy
    array or a dask array: every stage accepts both and keeps dask arrays lazy.
**validity mask**
    ``xarray.DataArray`` ``(time, y, x)`` of ``uint8`` on the cube's grid, with iota2's codes:
    ``0`` valid, ``1`` cloud, shadow or saturated, ``2`` no acquisition (outside the swath, no-data).
    See :class:`Validity`.
**sample set**
    ``xarray.Dataset`` with ``X (sample, time, band)`` float, ``label (sample)`` the class of each sample, and
    ``group (sample)`` integer id of the polygon a pixel came from (what splits must keep together). Labels are
    integer class codes, or text class names (as in every sits sample table). For **regression** (a numeric
    variable to estimate, such as the leaf area index), ``target (sample)`` holds one finite float per sample,
    and ``label`` may then be left out: a set needs ``label``, ``target`` or both; classifiers fit ``label``,
    regressors ``target`` (:func:`labkit.models.task_of`). Optional:

    * ``region (sample)``, ``x (sample)``, ``y (sample)`` (pixel centres in ``attrs["crs"]``);
    * ``site (sample)`` integer: the place a sample was taken. Samples of one site (a field observed over several
      seasons, possibly of a different class each season) must stay on one side of a split
      (``labkit.samples.split_by_group(samples, group_by="site")``); unlike a ``group``, a site may hold several
      classes;
    * ``class_name (class)``: a name for each integer class code (text labels are their own names);
    * ``doy (sample, time)`` float32: when each observation was made, as its **day of year** ``1..366``; or,
      when ``doy.attrs["reference"]`` holds a date ``"YYYY-MM-DD"``, as **days since that date**; or, when it
      is ``"start"`` (:data:`SERIES_START`), as **days since the first date of the sample's own series** (its
      first position: samples observed over different seasons line up by their season's start, as sits counts
      the dates of its attention networks; a model then counts a cube's dates from the cube's first date). See
      :func:`observation_days` for which one labkit's readers choose;
    * ``valid (sample, time)`` bool: True where the observation is valid (acquired and clear);
    * ``date (sample, time)`` datetime64: each observation's date when ``time`` holds positions (``NaT`` past the
      end of a shorter series); ``start (sample)``, ``end (sample)`` datetime64: the window of dates each sample
      was observed over (a sits sample's ``start_date`` and ``end_date``).

    ``time`` holds dates, or plain positions ``0..n-1`` (samples observed on different dates: then ``doy`` says
    when, and a series shorter than ``n`` is padded with ``NaN`` in ``X`` and ``valid`` False). Whatever the kind
    of label, :func:`label_codes` gives integer codes (text: ``1..n`` in sorted order of the names) and
    :func:`class_names` their names: every stage that needs codes goes through them. Saved as NetCDF with
    :func:`labkit.io.write_samples`.
**class map** and **probabilities**
    ``(y, x)`` integer class codes, and ``(class, y, x)`` floats in ``[0, 1]``, on the cube's grid.

Stages never change their inputs: they return new objects. :func:`validate` checks any of these objects and
raises :class:`~labkit.errors.DataModelError` saying exactly what is wrong.

Example
-------
>>> import numpy as np, labkit.datamodel as dm
>>> cube = dm.make_cube(np.zeros((3, 1, 4, 5), "float32"), times=["2020-01-01", "2020-01-11", "2020-01-21"],
...                     bands=["NDVI"], transform=(10.0, 0, 500000.0, 0, -10.0, 4000000.0), crs="EPSG:32631")
>>> dm.validate(cube)
'cube'
>>> cube.dims
('time', 'band', 'y', 'x')
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine

from . import params
from .errors import DataModelError

CUBE_DIMS = ("time", "band", "y", "x")
MASK_DIMS = ("time", "y", "x")
CLASS_MAP_DIMS = ("y", "x")
PROBS_DIMS = ("class", "y", "x")
SAMPLE_DIMS = ("sample", "time", "band")
KINDS = ("cube", "mask", "samples", "class_map", "probs")


class Validity(enum.IntEnum):
    """Codes of a validity mask (iota2's convention)."""

    VALID = 0
    """The pixel was observed clear on that date."""
    INVALID = 1
    """Observed, but cloud, cloud shadow or saturated: the value must not be used."""
    NO_DATA = 2
    """No acquisition: outside the swath, no-data in the product, or a date filled in later."""


class MapCode(enum.IntEnum):
    """Codes a uint8 class map reserves beside the class codes.

    Example
    -------
    >>> int(MapCode.NO_CLASS), int(MapCode.UNDECIDED)
    (255, 254)
    """

    NO_CLASS = 255
    """The pixel could not be classified: a value the model needs is missing (cloud, no acquisition, no data)."""
    UNDECIDED = 254
    """Runs fused by a majority vote (:func:`labkit.postprocess.fuse_class_maps`) tied at the pixel."""


NO_CLASS = int(MapCode.NO_CLASS)
"""Class-map value of pixels that could not be classified (:class:`MapCode`); the class map's nodata."""
UNDECIDED = int(MapCode.UNDECIDED)
"""Class-map value of pixels where fused runs tie (:class:`MapCode`)."""


# ----------------------------------------------------------------------------------------------------- builders


def _grid_coords(transform: Affine, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(y, x)`` of a north-up grid."""
    if transform.b != 0 or transform.d != 0:
        raise DataModelError(f"Rotated grids are not supported (transform {tuple(transform)[:6]}).")
    x = transform.c + transform.a * (np.arange(width) + 0.5)
    y = transform.f + transform.e * (np.arange(height) + 0.5)
    return y, x


def make_cube(
    data,
    times: Sequence,
    bands: Sequence[str],
    *,
    transform: Affine | Sequence[float],
    crs,
    name: str | None = None,
    attrs: dict | None = None,
) -> xr.DataArray:
    """Wrap a ``(time, band, y, x)`` array (numpy or dask) as a labkit cube.

    Parameters
    ----------
    data : array-like, shape (time, band, y, x)
        The values, numpy or dask; not copied.
    times : sequence of dates
        Anything :func:`pandas.to_datetime` reads.
    bands : sequence of str
        One name per band.
    transform : affine.Affine or 6 floats
        The grid's affine transform (GDAL order ``a, b, c, d, e, f``).
    crs : anything rasterio reads as a CRS (``"EPSG:32633"``, WKT, ``pyproj.CRS``).
    name, attrs : optional name and attributes of the DataArray.

    Returns
    -------
    xarray.DataArray
        Checked with :func:`validate`.

    Example
    -------
    >>> import numpy as np
    >>> cube = make_cube(np.ones((2, 2, 3, 3)), ["2021-05-01", "2021-05-11"], ["B04", "B08"],
    ...                  transform=(20.0, 0, 0.0, 0, -20.0, 60.0), crs="EPSG:32633")
    >>> cube.x.values
    array([10., 30., 50.])
    """
    if np.ndim(data) != 4:
        raise DataModelError(f"make_cube needs a 4-D array (time, band, y, x); got {np.ndim(data)} dims.")
    transform = transform if isinstance(transform, Affine) else Affine(*tuple(transform)[:6])
    n_time, n_band, height, width = data.shape
    if len(times) != n_time or len(bands) != n_band:
        raise DataModelError(
            f"make_cube: data has {n_time} dates and {n_band} bands, but {len(times)} times and "
            f"{len(bands)} band names were given."
        )
    y, x = _grid_coords(transform, height, width)
    cube = xr.DataArray(
        data,
        dims=CUBE_DIMS,
        coords={"time": pd.to_datetime(list(times)).values, "band": [str(b) for b in bands], "y": y, "x": x},
        attrs=dict(attrs or {}),
    )
    cube.name = name  # set after: given a dask array, xarray would take the array's own name
    cube = cube.rio.write_crs(crs).rio.write_transform(transform)
    validate(cube, "cube")
    return cube


def make_mask(data, like: xr.DataArray) -> xr.DataArray:
    """Wrap a ``(time, y, x)`` array of validity codes as a mask on the grid of cube ``like``.

    Example
    -------
    >>> import numpy as np
    >>> cube = make_cube(np.ones((2, 1, 2, 2)), ["2021-05-01", "2021-05-11"], ["NDVI"],
    ...                  transform=(10.0, 0, 0.0, 0, -10.0, 20.0), crs="EPSG:32633")
    >>> mask = make_mask(np.isnan(cube.isel(band=0)).values.astype("uint8"), like=cube)
    >>> validate(mask)
    'mask'
    """
    coords = {k: like.coords[k] for k in ("time", "y", "x")}
    mask = xr.DataArray(data, dims=MASK_DIMS, coords=coords, name="validity")
    if mask.dtype != np.uint8:
        mask = mask.astype(np.uint8)
    if like.rio.crs is not None:
        mask = mask.rio.write_crs(like.rio.crs).rio.write_transform(like.rio.transform())
    validate(mask, "mask")
    return mask


def _text_or_none(labels) -> bool:
    """Whether an array of labels holds text: numpy str, or objects that are each a str or missing (None, NaN)."""
    labels = np.asarray(labels)
    if labels.dtype.kind == "U":
        return True
    if labels.dtype != object or labels.size == 0:
        return False
    return all(isinstance(v, str) or (pd.api.types.is_scalar(v) and pd.isna(v)) for v in labels.ravel())


def is_text(labels) -> bool:
    """Whether ``labels`` are text class names (numpy str, or Python str objects) rather than integer codes.

    Example
    -------
    >>> is_text(np.array(["crop", "water"])), is_text([3, 5]), is_text(np.array(["crop", None], dtype=object))
    (True, False, True)
    """
    labels = np.asarray(labels)
    return _text_or_none(labels) and not (labels.dtype == object and pd.isna(labels).all())


def encode_labels(labels, names: Sequence[str] | None = None) -> tuple[np.ndarray, dict[int, str]]:
    """Text class names as integer codes ``1..n`` in sorted order of the names, and the ``{code: name}``.

    The one mapping between class names and codes: :func:`label_codes`, :func:`labkit.samples.extract_samples`,
    the sample-table readers and :func:`labkit.accuracy.assess_accuracy` all use it.

    Parameters
    ----------
    labels : array-like of str
    names : sequence of str, optional
        The names to number (default: those in ``labels``); more names than ``labels`` holds keep the codes of a
        larger set (e.g. the names of a whole sample set for one of its folds).

    Raises
    ------
    DataModelError
        A label that is not among ``names``.

    Example
    -------
    >>> codes, names = encode_labels(["water", "crop", "water"])
    >>> codes.tolist(), names
    ([2, 1, 2], {1: 'crop', 2: 'water'})
    """
    labels = np.asarray(labels).astype(str)
    ordered = np.array(sorted(set(labels.tolist()) if names is None else {str(n) for n in names}), dtype=str)
    position = np.searchsorted(ordered, labels)
    found = position < len(ordered)
    found[found] = ordered[position[found]] == labels[found]
    if not found.all():
        unknown = sorted(set(labels[~found].tolist()))
        raise DataModelError(f"encode_labels: class name(s) {unknown[:10]} are not among the names "
                             f"{ordered[:20].tolist()}.")
    return (position + 1).astype(np.int64), {code: str(name) for code, name in enumerate(ordered, start=1)}


def _day_span(dates: np.ndarray) -> np.timedelta64:
    """The longest time covered by one series of ``dates`` (``(time,)`` or ``(sample, time)``; NaT ignored)."""
    dates = np.atleast_2d(dates.astype("datetime64[D]"))
    days = np.ma.masked_array(dates.astype(np.int64), mask=np.isnat(dates))
    spans = (days.max(axis=1) - days.min(axis=1)).compressed()  # rows without any date drop out
    return np.timedelta64(int(spans.max()) if spans.size else 0, "D")


SERIES_START = "start"
"""``doy.attrs["reference"]`` of days counted since the first date of each sample's own series."""


def observation_days(dates, *, reference=None) -> tuple[np.ndarray, str | None]:
    """The ``doy`` of observations made on ``dates``: day of year, or days since a reference date; and the reference.

    labkit's readers (:func:`labkit.samples.extract_samples`, :func:`labkit.sample_tables.read_sits_rda`,
    :func:`labkit.sample_tables.read_csv_wide`) fill a sample set's ``doy`` with it. Without ``reference``:

    * the **day of year** (1 on 1 January, up to 366) when every series (each row of ``dates``) spans less than 365
      days, so that no day of year repeats within a series: a model then reads the season and can map another year
      (as :func:`labkit.inference.predict_cube` matches dates by day of year). A series that crosses 1 January
      goes ..., 364, 365, 1, 2, ...; samples of different years line up by season;
    * otherwise (a series longer than a year, where the day of year would give two observations the same day),
      **days since the earliest date**, which becomes the reference.

    Parameters
    ----------
    dates : array of dates, ``(time,)`` or ``(sample, time)``
        Anything :func:`numpy.asarray` makes ``datetime64`` of (NaT gives NaN).
    reference : date or "start", optional
        Count days since this date (``"2020-01-01"``) instead; ``"start"`` (:data:`SERIES_START`): since the first
        date of each series (each row of ``dates``; its earliest date, NaT ignored), so that every series starts
        at day 0 (samples observed over windows of their own, :func:`labkit.samples.extract_samples`).

    Returns
    -------
    (numpy.ndarray of float32, str or None)
        The days, shaped as ``dates``; the reference as ``"YYYY-MM-DD"`` (None for days of year), to store as
        ``samples["doy"].attrs["reference"]``.

    Example
    -------
    >>> observation_days(np.array(["2019-12-31", "2020-01-01", "2020-03-01"], "datetime64[D]"))
    (array([365.,   1.,  61.], dtype=float32), None)
    >>> observation_days(np.array(["2019-01-01", "2020-01-01"], "datetime64[D]"))
    (array([  0., 365.], dtype=float32), '2019-01-01')
    >>> seasons = np.array([["2019-09-14", "2019-10-16"], ["2020-09-30", "NaT"]], "datetime64[D]")
    >>> observation_days(seasons, reference="start")
    (array([[ 0., 32.],
           [ 0., nan]], dtype=float32), 'start')
    """
    dates = np.asarray(dates)
    if not np.issubdtype(dates.dtype, np.datetime64):
        dates = pd.to_datetime(dates.ravel()).to_numpy().reshape(dates.shape)
    days = dates.astype("datetime64[D]")
    missing = np.isnat(days)
    if reference == SERIES_START:
        counted = np.atleast_2d(days).astype(np.int64)
        first = np.ma.masked_array(counted, mask=np.atleast_2d(missing)).min(axis=1).filled(0)
        counted = (counted - first[:, None]).reshape(days.shape)
    elif reference is None and _day_span(days) < np.timedelta64(365, "D"):
        years = days.astype("datetime64[Y]").astype("datetime64[D]")
        counted, reference = (days - years).astype(np.int64) + 1, None
    else:
        start = (days[~missing].min() if reference is None else
                 np.datetime64(params.dates([reference], "reference", "observation_days")[0].date(), "D"))
        counted, reference = (days - start).astype(np.int64), str(start)
    out = counted.astype(np.float32)
    out[missing] = np.nan
    return out, reference


def _per_sample(values, name: str, n_sample: int, n_time: int, dtype) -> np.ndarray:
    """``values`` as a ``(sample, time)`` array of ``dtype``: given per sample, or one row ``(time,)`` for all."""
    values = np.asarray(values)
    if values.shape == (n_time,):
        values = np.broadcast_to(values, (n_sample, n_time))
    if values.shape != (n_sample, n_time):
        raise DataModelError(f"make_samples: {name} must be (sample, time) = ({n_sample}, {n_time}), or (time,) for "
                             f"every sample; got shape {values.shape}.")
    if np.dtype(dtype) == np.bool_ and values.dtype != np.bool_:
        raise DataModelError(f"make_samples: {name} must hold True/False (True where the observation is valid); got "
                             f"{values.dtype}. For a labkit validity mask, valid = (mask == 0).")
    return np.array(values, dtype=dtype)


def _as_labels(label, class_names) -> np.ndarray:
    """``label`` as an array: text held in objects as numpy str; ``class_names`` refused with text labels."""
    label = np.asarray(label)
    if _text_or_none(label) and label.dtype == object and not pd.isna(label).any():
        label = label.astype(str)
    if class_names and is_text(label):
        raise DataModelError("make_samples: class_names names integer class codes, but the labels are text (their own "
                             "names). Leave class_names out.")
    return label


def _as_float(target: np.ndarray) -> np.ndarray:
    """A numeric ``target`` as float64 (what :func:`validate` then checks: finite); text is refused by name."""
    if target.dtype.kind not in "iu":
        raise DataModelError(f"make_samples: target must hold numbers (one per sample, for regression); got dtype "
                             f"{target.dtype}. For class names, pass them as label.")
    return target.astype(np.float64)


def make_samples(
    X,
    label=None,
    group=None,
    *,
    target=None,
    times: Sequence | None = None,
    bands: Sequence[str],
    region=None,
    x=None,
    y=None,
    site=None,
    crs=None,
    class_names: dict[int, str] | None = None,
    doy=None,
    doy_reference=None,
    valid=None,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Build a sample set from arrays.

    Parameters
    ----------
    X : array (sample, time, band)
    label : array (sample,), optional
        The class of each sample: integer codes, or class names (text). May be left out when ``target`` is given.
    group : array (sample,) of integers, optional
        The id of the polygon (or any unit that must not be split) each sample came from. None: every sample is its
        own group (independent samples, such as simulations).
    target : array (sample,) of floats, optional
        A numeric value per sample, finite, for regression (stored as float64 unless already floats).
    times : dates or None
        None numbers the time steps ``0..n-1``.
    bands : band names.
    region, x, y : optional arrays (sample,)
    site : optional array (sample,) of integers
        The place each sample was taken (samples of one site stay on one side of a split, whatever their class).
    crs : CRS of ``x``/``y``, stored as WKT in ``attrs["crs"]``.
    class_names : optional mapping class code -> name (integer labels only: text labels are their own names).
    doy : array (sample, time), or (time,) for every sample, optional
        Day of year of each observation, or days since ``doy_reference``; stored as float32.
    doy_reference : date or "start", optional
        The date ``doy`` counts from (stored as ``doy.attrs["reference"] = "YYYY-MM-DD"``), or ``"start"``: days
        since the first date of each sample's own series; None: days of year.
    valid : bool array (sample, time), or (time,), optional
        True where the observation is valid.

    Raises
    ------
    DataModelError
        What :func:`validate` refuses; neither ``label`` nor ``target``; ``doy`` or ``valid`` of the wrong shape,
        ``valid`` not bool, ``class_names`` with text labels, ``doy_reference`` without ``doy``.

    Example
    -------
    >>> import numpy as np
    >>> s = make_samples(np.zeros((4, 3, 2)), [1, 1, 2, 2], [10, 10, 11, 12], bands=["B04", "B08"])
    >>> dict(s.sizes)
    {'sample': 4, 'time': 3, 'band': 2}
    >>> s = make_samples(np.zeros((2, 3, 1)), ["crop", "water"], [0, 1], bands=["NDVI"], doy=[10, 20, 30],
    ...                  valid=np.array([[True, True, False], [True, True, True]]))
    >>> s.label.values.tolist(), s.doy.values[1].tolist(), int(s.valid.sum())
    (['crop', 'water'], [10.0, 20.0, 30.0], 5)
    >>> r = make_samples(np.zeros((3, 1, 2)), target=[0.5, 2.0, 4.1], bands=["B04", "B08"])
    >>> "label" in r, r.target.values.tolist(), r.group.values.tolist()
    (False, [0.5, 2.0, 4.1], [0, 1, 2])
    """
    X = np.asarray(X)
    if X.ndim != 3:
        raise DataModelError(f"make_samples: X must be (sample, time, band); got {X.ndim} dims.")
    if label is None and target is None:
        raise DataModelError("make_samples: give label (the class of each sample) or target (a number per sample, "
                             "for regression), or both.")
    n_sample, n_time = X.shape[:2]
    variables = {"X": (SAMPLE_DIMS, X)}
    if label is not None:
        variables["label"] = ("sample", _as_labels(label, class_names))
    if target is not None:
        target = np.asarray(target)
        variables["target"] = ("sample", target if target.dtype.kind == "f" else _as_float(target))
    variables["group"] = ("sample", np.arange(n_sample) if group is None else np.asarray(group))
    time = np.arange(n_time) if times is None else pd.to_datetime(list(times)).values
    ds = xr.Dataset(
        variables,
        coords={"time": time, "band": [str(b) for b in bands], "sample": np.arange(n_sample)},
        attrs=dict(attrs or {}),
    )
    for key, value in (("region", region), ("x", x), ("y", y), ("site", site)):
        if value is not None:
            ds[key] = ("sample", np.asarray(value))
    if doy is not None:
        ds["doy"] = (("sample", "time"), _per_sample(doy, "doy", n_sample, n_time, np.float32))
    if doy_reference is not None:
        if doy is None:
            raise DataModelError("make_samples: doy_reference is the date doy counts from; give doy too.")
        ds["doy"].attrs["reference"] = (SERIES_START if doy_reference == SERIES_START else
                                        str(params.dates([doy_reference], "doy_reference", "make_samples")[0].date()))
    if valid is not None:
        ds["valid"] = (("sample", "time"), _per_sample(valid, "valid", n_sample, n_time, np.bool_))
    if crs is not None:
        from pyproj import CRS

        ds.attrs["crs"] = CRS.from_user_input(crs).to_wkt()
    if class_names:
        codes = sorted(class_names)
        ds["class_name"] = xr.DataArray([class_names[c] for c in codes], dims="class", coords={"class": codes})
    validate(ds, "samples")
    return ds


def label_codes(samples: xr.Dataset) -> tuple[np.ndarray, dict[int, str]]:
    """Integer class codes of a sample set's labels, and the ``{code: name}`` of its classes.

    Integer labels are returned as they are, with :func:`class_names`; text labels get codes ``1..n`` in sorted
    order of the names (:func:`encode_labels`), the names kept. Every stage that needs codes (models, folds,
    accuracy) goes through it, so a text-labelled set gives the same codes everywhere.

    Example
    -------
    >>> s = make_samples(np.zeros((3, 1, 1)), ["water", "crop", "water"], [0, 1, 2], bands=["NDVI"])
    >>> codes, names = label_codes(s)
    >>> codes.tolist(), names
    ([2, 1, 2], {1: 'crop', 2: 'water'})
    """
    _need_labels(samples, "label_codes")
    labels = samples["label"].values
    if is_text(labels):
        return encode_labels(labels)
    return labels, class_names(samples)


def _need_labels(samples: xr.Dataset, who: str) -> None:
    """Refuse a sample set without ``label`` (one for regression, holding only ``target``)."""
    if "label" not in samples:
        raise DataModelError(f"{who}: the sample set has no 'label' (class of each sample); it holds "
                             f"{'a numeric target, for regression' if 'target' in samples else 'no labels'}.")


def with_label_codes(samples: xr.Dataset) -> xr.Dataset:
    """The sample set with integer class codes in ``label`` and their names in ``class_name``.

    Text labels become the codes of :func:`label_codes`; a set with integer labels is returned as it is. Stages that
    fit or score on codes call it once on the whole set, so that every part of it (a fold, a split) keeps the codes.

    Example
    -------
    >>> s = make_samples(np.zeros((3, 1, 1)), ["water", "crop", "water"], [0, 1, 2], bands=["NDVI"])
    >>> coded = with_label_codes(s)
    >>> coded.label.values.tolist(), class_names(coded)
    ([2, 1, 2], {1: 'crop', 2: 'water'})
    """
    if "label" not in samples or not is_text(samples["label"].values):
        return samples  # integer codes already, or a set for regression (target only)
    codes, names = label_codes(samples)
    coded = samples.assign(label=("sample", codes, samples["label"].attrs))
    return coded.assign(class_name=xr.DataArray(list(names.values()), dims="class", coords={"class": list(names)}))


def class_names(samples: xr.Dataset) -> dict[int, str]:
    """The ``{code: name}`` of a sample set's classes (codes as names where none are stored).

    Text labels: codes ``1..n`` in sorted order of the names, as :func:`label_codes` gives them. A set without
    ``label`` (regression) has no classes: ``{}``.

    Example
    -------
    >>> import numpy as np
    >>> s = make_samples(np.zeros((2, 1, 1)), [3, 5], [0, 1], bands=["NDVI"], class_names={3: "forest", 5: "water"})
    >>> class_names(s)
    {3: 'forest', 5: 'water'}
    >>> class_names(make_samples(np.zeros((2, 1, 1)), ["water", "crop"], [0, 1], bands=["NDVI"]))
    {1: 'crop', 2: 'water'}
    """
    if "label" not in samples:
        return {}
    labels = samples["label"].values
    if is_text(labels):
        return encode_labels(labels)[1]
    codes = [int(c) for c in np.unique(labels)]
    names = {c: str(c) for c in codes}
    if "class_name" in samples:
        names.update({int(c): str(n) for c, n in zip(samples["class"].values, samples["class_name"].values)})
    return names


# --------------------------------------------------------------------------------------------------- validation

_MAX_CODE = max(v.value for v in Validity)


def check_mask_codes(codes: np.ndarray, where: str = "mask") -> np.ndarray:
    """Raise :class:`~labkit.errors.DataModelError` unless every code of a mask block is 0, 1 or 2; return it.

    The one check of mask codes, used by :func:`validate` and, block by block, by every stage that reads a mask
    (:func:`checked_mask`). ``where`` names the mask in the message.

    Example
    -------
    >>> check_mask_codes(np.array([0, 1, 2], "uint8")).tolist()
    [0, 1, 2]
    >>> check_mask_codes(np.array([0, 3, 255], "uint8"), "fill_gaps: the mask")
    Traceback (most recent call last):
    ...
    labkit.errors.DataModelError: fill_gaps: the mask: codes must be 0 (valid), 1 (cloud/shadow/saturated) or 2 (no acquisition); found [3, 255]. Build masks with labkit.masks (e.g. mask_from_scl), or map your codes onto these three.
    """
    codes = np.asarray(codes)
    if codes.size and (codes.max() > _MAX_CODE or codes.min() < 0):
        bad = np.setdiff1d(np.unique(codes), [v.value for v in Validity])
        _fail(where, f"codes must be 0 (valid), 1 (cloud/shadow/saturated) or 2 (no acquisition); found "
                     f"{bad[:10].tolist()}.",
              "Build masks with labkit.masks (e.g. mask_from_scl), or map your codes onto these three.")
    return codes


def checked_mask(mask: xr.DataArray, who: str, label: str = "the mask", *, coords: bool = True) -> xr.DataArray:
    """``mask`` validated as a mask, its codes checked now (numpy) or as each block is computed (dask).

    Stages call it on the masks they receive, so that a code other than 0, 1 or 2 is an error wherever it enters.
    ``who`` (the stage) and ``label`` (which of its arguments) name the mask in messages. With ``coords=False``
    only the dims, dtype and codes are checked (summaries that need no dates or grid).

    Example
    -------
    >>> import dask.array as da
    >>> cube = make_cube(np.ones((1, 1, 2, 2)), ["2021-05-01"], ["NDVI"], transform=(10, 0, 0, 0, -10, 20),
    ...                  crs="EPSG:32633")
    >>> lazy = make_mask(da.full((1, 2, 2), 7, dtype="uint8"), like=cube)
    >>> checked_mask(lazy, "fill_gaps").compute()
    Traceback (most recent call last):
    ...
    labkit.errors.DataModelError: fill_gaps: the mask: codes must be 0 (valid), 1 (cloud/shadow/saturated) or 2 (no acquisition); found [7]. ...
    """
    where = f"{who}: {label}"
    if not isinstance(mask, xr.DataArray):
        _fail(where, f"expected a validity mask, an xarray.DataArray {MASK_DIMS}; got {type(mask).__name__}.")
    try:
        if coords:
            validate(mask, "mask", check_values=False)
        else:
            _check_dims(mask, MASK_DIMS, "mask")
    except DataModelError as error:
        raise DataModelError(f"{where} is not a validity mask: {error}") from None
    if hasattr(mask.data, "dask"):
        return mask.copy(data=mask.data.map_blocks(check_mask_codes, where, dtype=mask.dtype))
    check_mask_codes(mask.values, where)
    return mask


_AS_CUBE = ("labkit.as_cube(obj) makes a cube of other layouts: a Dataset of bands (odc-stac, openEO), other dim "
            "names and orders (t, bands, lat, lon...), a single band or date.")


def _fail(what: str, problem: str, fix: str = "") -> None:
    raise DataModelError(f"{what}: {problem}" + (f" {fix}" if fix else ""))


def _guess_kind(obj) -> str:
    if isinstance(obj, xr.Dataset):
        return "samples"
    if not isinstance(obj, xr.DataArray):
        _fail("validate", f"expected an xarray DataArray or Dataset; got {type(obj).__name__}.")
    by_dims = {CUBE_DIMS: "cube", MASK_DIMS: "mask", CLASS_MAP_DIMS: "class_map", PROBS_DIMS: "probs"}
    if obj.dims in by_dims:
        return by_dims[obj.dims]
    _fail(
        "validate",
        f"cannot tell what this DataArray is from its dims {obj.dims}.",
        f"A cube has dims {CUBE_DIMS}, a mask {MASK_DIMS}, a class map {CLASS_MAP_DIMS}, probabilities "
        f"{PROBS_DIMS}; use .transpose(...) or .rename(...) to match.",
    )


def _check_dims(obj, expected: tuple[str, ...], what: str) -> None:
    if obj.dims != expected:
        fix = ""
        if set(obj.dims) == set(expected):
            fix = f"Use .transpose{expected}."
        elif missing := [d for d in expected if d not in obj.dims]:
            fix = f"Missing dim(s) {missing}."
        _fail(what, f"dims must be {expected}; got {obj.dims}.", fix)


def _check_grid(obj, what: str, require_crs: bool) -> None:
    for dim in ("y", "x"):
        if dim not in obj.coords:
            _fail(what, f"no '{dim}' coordinate.", "Build it with labkit.datamodel.make_cube(..., transform=...).")
        values = np.asarray(obj[dim].values)
        if values.size > 1:
            steps = np.diff(values)
            if not (np.all(steps > 0) or np.all(steps < 0)):
                _fail(what, f"the '{dim}' coordinate is not monotonic.")
            if not np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9 * max(1.0, abs(float(values[0])))):
                _fail(what, f"the '{dim}' coordinate is not regularly spaced (steps {steps.min()}..{steps.max()}).")
    if require_crs and obj.rio.crs is None:
        _fail(what, "no CRS.", "Set it with obj.rio.write_crs('EPSG:...').")


def _check_time(obj, what: str, allow_positions: bool = False) -> None:
    if "time" not in obj.coords:
        _fail(what, "no 'time' coordinate.", "Assign the dates with obj.assign_coords(time=dates).")
    time = obj["time"].values
    if np.issubdtype(time.dtype, np.datetime64):
        if np.isnat(time).any():
            _fail(what, f"'time' holds {int(np.isnat(time).sum())} missing dates (NaT).")
    elif not (allow_positions and np.issubdtype(time.dtype, np.integer)):
        kinds = "datetime64 dates or integer positions" if allow_positions else "datetime64 dates"
        _fail(what, f"'time' must hold {kinds}; got dtype {time.dtype}.", "Convert with pandas.to_datetime.")
    if time.size > 1 and not np.all(time[1:] > time[:-1]):
        bad = int(np.argmax(~(time[1:] > time[:-1]))) + 1
        _fail(what, f"'time' must be strictly increasing; position {bad} ({time[bad]}) is not after the one before.",
              "Sort with obj.sortby('time') and drop duplicates.")


def _check_bands(obj, what: str) -> None:
    if "band" not in obj.coords:
        _fail(what, "no 'band' coordinate.", "Assign band names with obj.assign_coords(band=[...]).")
    names = [str(b) for b in obj["band"].values]
    dupes = sorted({b for b in names if names.count(b) > 1})
    if dupes:
        _fail(what, f"band names must be unique; {dupes} occur more than once.")


def _is_numpy(obj) -> bool:
    return isinstance(obj.variable._data, np.ndarray) or not hasattr(obj.data, "dask")


def validate(obj, kind: str | None = None, *, check_values: bool | None = None) -> str:
    """Check that ``obj`` follows labkit's data model; return its kind.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
    kind : {"cube", "mask", "samples", "class_map", "probs"}, optional
        What ``obj`` must be. By default it is guessed from the dims.
    check_values : bool, optional
        Also check the values (mask codes, label types, a finite ``target``, probability range). Default: only when
        the data is in memory, so that validating a dask-backed cube never computes it.

    Returns
    -------
    str
        The kind.

    Notes
    -----
    A sample set needs ``label`` (integer codes or text), ``target`` (floats, finite: a regression's numeric
    variable) or both, besides ``X`` and ``group``.

    Raises
    ------
    labkit.errors.DataModelError
        Saying what is wrong and, where there is one, the fix.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> validate(xr.DataArray(np.zeros((2, 3), "uint8"), dims=("y", "x"), coords={"y": [1., 0.], "x": [0., 1., 2.]}))
    'class_map'
    >>> validate(xr.DataArray(np.zeros((2, 3)), dims=("x", "y")), "class_map")
    Traceback (most recent call last):
    ...
    labkit.errors.DataModelError: class map: dims must be ('y', 'x'); got ('x', 'y'). Use .transpose('y', 'x').
    >>> lai = make_samples(np.zeros((2, 1, 1)), target=[1.5, 3.0], bands=["NDVI"])
    >>> validate(lai.assign(target=("sample", [1.5, np.nan])))
    Traceback (most recent call last):
    ...
    labkit.errors.DataModelError: sample set: 'target' is not finite (NaN or ±inf) for 1 of 2 samples (e.g. samples [1]). Drop them first: samples.isel(sample=numpy.isfinite(samples['target']).values).
    """
    if kind is None:
        kind = _guess_kind(obj)
    if kind not in KINDS:
        raise DataModelError(f"validate: unknown kind {kind!r}; choose one of {KINDS}.")
    what = kind.replace("_", " ")
    if kind == "samples":
        _validate_samples(obj, check_values)
        return kind
    if not isinstance(obj, xr.DataArray):
        _fail(what, f"expected an xarray.DataArray; got {type(obj).__name__}.",
              "Functions such as fill_gaps return a pair: unpack it first (filled, flags = fill_gaps(...))."
              if isinstance(obj, tuple) else _AS_CUBE if kind == "cube" and isinstance(obj, xr.Dataset) else "")
    values_too = _is_numpy(obj) if check_values is None else check_values
    if kind == "cube":
        if obj.dims != CUBE_DIMS and set(obj.dims) != set(CUBE_DIMS):
            _fail(what, f"dims must be {CUBE_DIMS}; got {obj.dims}.", _AS_CUBE)
        _check_dims(obj, CUBE_DIMS, what)
        _check_time(obj, what)
        _check_bands(obj, what)
        _check_grid(obj, what, require_crs=True)
        if not (np.issubdtype(obj.dtype, np.floating) or np.issubdtype(obj.dtype, np.integer)):
            _fail(what, f"values must be numbers; got dtype {obj.dtype}.")
    elif kind == "mask":
        _check_dims(obj, MASK_DIMS, what)
        _check_time(obj, what)
        _check_grid(obj, what, require_crs=False)
        if obj.dtype != np.uint8:
            _fail(what, f"dtype must be uint8; got {obj.dtype}.",
                  "Use mask.fillna(2).astype('uint8') (NaN would otherwise become 0, 'valid').")
        if values_too:
            check_mask_codes(np.asarray(obj.values), what)
    elif kind == "class_map":
        _check_dims(obj, CLASS_MAP_DIMS, what)
        _check_grid(obj, what, require_crs=False)
        if not np.issubdtype(obj.dtype, np.integer):
            _fail(what, f"dtype must be an integer type; got {obj.dtype}.")
    elif kind == "probs":
        _check_dims(obj, PROBS_DIMS, what)
        _check_grid(obj, what, require_crs=False)
        if values_too:
            values = np.asarray(obj.values)
            finite = values[np.isfinite(values)]
            if finite.size and (finite.min() < 0 or finite.max() > 1):
                _fail(what, f"probabilities must lie in [0, 1]; found {finite.min():.3g}..{finite.max():.3g}.")
    return kind


def _validate_samples(ds, check_values: bool | None) -> None:
    what = "sample set"
    if not isinstance(ds, xr.Dataset):
        _fail(what, f"expected an xarray.Dataset; got {type(ds).__name__}.")
    _require(ds, "X", SAMPLE_DIMS, what)
    if "label" not in ds and "target" not in ds:  # one of them, or both (checked below)
        _fail(what, "missing variable 'label' ('sample',): the class of each sample (or 'target' ('sample',), a "
                    "number per sample, for regression).", "Build sample sets with labkit.datamodel.make_samples.")
    _require(ds, "group", ("sample",), what)
    for var, dims in (("label", ("sample",)), ("target", ("sample",)), ("region", ("sample",)), ("x", ("sample",)),
                      ("y", ("sample",)), ("doy", ("sample", "time")), ("valid", ("sample", "time")),
                      ("site", ("sample",)), ("start", ("sample",)), ("end", ("sample",)),
                      ("date", ("sample", "time"))):
        if var in ds and ds[var].dims != dims:
            kind = "variable" if var in ("label", "target") else "optional variable"
            _fail(what, f"{kind} '{var}' must have dims {dims}; got {ds[var].dims}.")
    _check_time(ds, what, allow_positions=True)
    _check_bands(ds, what)
    values = check_values is not False
    if "label" in ds:
        _check_labels(ds, what, values)
    if "target" in ds:
        _check_target(ds, what, values)
    if values:
        _check_missing(ds["group"].values, "group", what)
    if not np.issubdtype(ds["group"].dtype, np.integer):
        _fail(what, f"'group' must hold integers; got dtype {ds['group'].dtype}.")
    if not np.issubdtype(ds["X"].dtype, np.number):
        _fail(what, f"'X' must hold numbers; got dtype {ds['X'].dtype}.")
    _check_class_name(ds, what, values)
    if "valid" in ds and ds["valid"].dtype != np.bool_:
        _fail(what, f"'valid' must hold True/False (True where the observation is valid); got dtype "
                    f"{ds['valid'].dtype}.", "From a labkit validity mask: valid = (mask == 0). (samples.fillna and "
                                             "samples.where turn True/False into numbers: fill X alone, "
                                             "samples.assign(X=samples.X.fillna(0)).)")
    if "doy" in ds:
        _check_doy(ds, what, values)
    _check_site_and_window(ds, what, values)


def _check_site_and_window(ds: xr.Dataset, what: str, values: bool) -> None:
    """``site``: integers; ``start``, ``end`` and ``date``: dates, each window's end not before its
    start."""
    if "site" in ds:
        if not np.issubdtype(ds["site"].dtype, np.integer):
            _fail(what, f"'site' must hold integers (an id per place); got dtype {ds['site'].dtype}.",
                  "Number the places, e.g. samples['site'] = ('sample', pandas.factorize(places)[0]).")
    for var in ("start", "end", "date"):
        if var in ds and not np.issubdtype(ds[var].dtype, np.datetime64):
            _fail(what, f"'{var}' must hold dates (datetime64); got dtype {ds[var].dtype}.",
                  f"Convert with samples['{var}'] = samples['{var}'].copy(data=pandas.to_datetime(...)).")
    if values and "start" in ds and "end" in ds:
        before = np.flatnonzero(ds["end"].values < ds["start"].values)
        if before.size:
            _fail(what, f"'end' is before 'start' for {before.size} samples (e.g. samples {before[:5].tolist()}).")


def _require(ds: xr.Dataset, var: str, dims: tuple[str, ...], what: str) -> None:
    """Refuse a sample set without variable ``var``, or with it on other ``dims``."""
    if var not in ds:
        _fail(what, f"missing variable '{var}' {dims}.", "Build sample sets with labkit.datamodel.make_samples.")
    if ds[var].dims != dims:
        _fail(what, f"variable '{var}' must have dims {dims}; got {ds[var].dims}.")


def _check_missing(values: np.ndarray, var: str, what: str) -> None:
    """Refuse missing values (NaN; None in text) in a variable along ``sample``, naming how many and which."""
    if values.dtype.kind not in "fO":
        return
    missing = np.flatnonzero(pd.isna(values))
    if missing.size:
        _fail(what, f"'{var}' is missing ({'NaN' if values.dtype.kind == 'f' else 'NaN or None'}) for "
                    f"{missing.size} of {values.size} samples (e.g. samples {missing[:5].tolist()}).",
              f"Drop them first: samples.isel(sample=samples['{var}'].notnull().values).")


def _check_labels(ds: xr.Dataset, what: str, values: bool) -> None:
    """``label``: integer class codes, or text class names that are neither missing nor empty."""
    labels = ds["label"].values if values or ds["label"].dtype == object else None
    text = ds["label"].dtype.kind == "U" or (labels is not None and _text_or_none(labels))
    if values:
        _check_missing(labels, "label", what)
    if text and values:
        empty = np.flatnonzero(np.char.strip(labels.astype(str)) == "")
        if empty.size:
            _fail(what, f"'label' holds empty class names for {empty.size} of {labels.size} samples (e.g. samples "
                        f"{empty[:5].tolist()}).", "Name their class, or drop them: "
                                                   "samples.isel(sample=(samples['label'] != '').values).")
    elif not text and not np.issubdtype(ds["label"].dtype, np.integer):
        example = ""
        if labels is not None and labels.dtype == object:
            odd = next(v for v in labels.ravel() if not isinstance(v, str))
            example = f" (such as {odd!r}, of type {type(odd).__name__})"
        _fail(what, f"'label' must hold integers (class codes) or text (class names); got dtype "
                    f"{ds['label'].dtype}{example}.",
              "Convert whole-number codes with samples['label'].astype('int64'), class names with .astype(str).")


def _check_target(ds: xr.Dataset, what: str, values: bool) -> None:
    """``target``: floats, finite (a regression cannot fit or score a missing value)."""
    target = ds["target"]
    if target.dtype.kind != "f":
        _fail(what, f"'target' must hold floats (a number per sample, for regression); got dtype {target.dtype}.",
              "Convert numbers with samples['target'].astype('float64'); class names belong in 'label'.")
    if not values:
        return
    bad = np.flatnonzero(~np.isfinite(np.asarray(target.values)))
    if bad.size:
        _fail(what, f"'target' is not finite (NaN or ±inf) for {bad.size} of {target.size} samples (e.g. samples "
                    f"{bad[:5].tolist()}).", "Drop them first: samples.isel(sample=numpy.isfinite(samples['target'])"
                                              ".values).")


def _check_class_name(ds: xr.Dataset, what: str, values: bool) -> None:
    """``class_name (class)``: names of integer codes, one for every code in ``label``."""
    if "class_name" not in ds:
        return
    if ds["class_name"].dims != ("class",):
        _fail(what, f"'class_name' must have dims ('class',); got {ds['class_name'].dims}.")
    if "label" not in ds:
        _fail(what, "'class_name' names class codes, but the sample set has no 'label'.",
              "Drop it: samples.drop_vars(['class_name', 'class']).")
    if not np.issubdtype(ds["label"].dtype, np.integer):
        _fail(what, "'class_name' names integer class codes, but the labels are text (their own names).",
              "Drop it: samples.drop_vars(['class_name', 'class']).")
    if values:
        unnamed = np.setdiff1d(np.unique(ds["label"].values), ds["class"].values)
        if unnamed.size:
            _fail(what, f"labels {unnamed.tolist()} have no entry in 'class_name'.")


def _observations(mask: np.ndarray, limit: int = 3) -> str:
    """``[(sample, time), ...]`` of the first True cells of a ``(sample, time)`` mask, for messages."""
    return str([tuple(int(i) for i in cell) for cell in np.argwhere(mask)[:limit]])


def _check_doy(ds: xr.Dataset, what: str, values: bool) -> None:
    """``doy``: floats; finite where valid (everywhere without ``valid``); 1..366 unless counted from a reference."""
    doy = ds["doy"]
    if doy.dtype.kind != "f":
        _fail(what, f"'doy' must hold floats (days); got dtype {doy.dtype}.", "Use samples['doy'].astype('float32').")
    reference = doy.attrs.get("reference")
    if reference is not None and reference != SERIES_START and not _is_iso_date(reference):
        _fail(what, f"'doy' attribute 'reference' must be a date 'YYYY-MM-DD' (doy counts days since it) or "
                    f"'{SERIES_START}' (days since each series' first date); got {reference!r}.",
              "Remove it when doy holds days of year.")
    if not values:
        return
    days = np.asarray(doy.values)
    counted = np.asarray(ds["valid"].values) if "valid" in ds else np.ones(days.shape, bool)
    bad = counted & ~np.isfinite(days)
    if bad.any():
        which = "valid observations" if "valid" in ds else "observations"
        fix = ("Give every valid observation its day, or set 'valid' False there." if "valid" in ds else
               "Give every observation its day, or add 'valid' (False where there is no observation).")
        _fail(what, f"'doy' is not finite (NaN or ±inf) for {int(bad.sum())} {which} (e.g. (sample, time) "
                    f"{_observations(bad)}).", fix)
    before = counted & (days < 0)
    if reference == SERIES_START and before.any():
        _fail(what, f"'doy' counts days since each series' first date (reference '{SERIES_START}') but holds "
                    f"negative days (e.g. (sample, time) {_observations(before)}).",
              "Count them with labkit.datamodel.observation_days(dates, reference='start').")
    outside = counted & ((days < 1) | (days >= 367))
    if reference is None and outside.any():
        found = days[counted]
        _fail(what, f"'doy' holds days of year outside 1..366 (found {found.min():g}..{found.max():g}; e.g. "
                    f"(sample, time) {_observations(outside)}).",
              "Days counted since a date need doy.attrs['reference'] = 'YYYY-MM-DD'.")


def _is_iso_date(text) -> bool:
    """Whether ``text`` is a real date written ``YYYY-MM-DD``."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        pd.Timestamp(text)
    except ValueError:
        return False
    return True
