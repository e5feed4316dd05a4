"""Reference samples: turn labelled polygons into training pixels, and split them without leakage.

Takes a (gap-filled) cube and reference polygons (geopandas, any CRS) and returns a sample set (see
:mod:`labkit.datamodel`) whose ``group`` is the polygon each pixel came from; :func:`split_by_group` then splits it
so that no polygon gives pixels to both sides. Comes after :mod:`labkit.features`, before :mod:`labkit.models`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import xarray as xr
from rasterio.features import rasterize

from .datamodel import make_samples, validate
from .errors import ConfigError, DataModelError


def _check_polygons(polygons: gpd.GeoDataFrame, class_field: str, id_field: str | None) -> None:
    if not isinstance(polygons, gpd.GeoDataFrame):
        raise ConfigError(f"extract_samples: polygons must be a GeoDataFrame; got {type(polygons).__name__}.")
    for name, field in (("class_field", class_field), ("id_field", id_field)):
        if field is not None and field not in polygons.columns:
            raise ConfigError(f"extract_samples: the polygons have no field {field!r} ({name}); fields: "
                              f"{[c for c in polygons.columns if c != polygons.geometry.name]}.")
    if polygons.crs is None:
        raise ConfigError("extract_samples: the polygons have no CRS. Set it with polygons.set_crs('EPSG:...').")
    empty = polygons.geometry.is_empty | polygons.geometry.isna()
    invalid = ~empty & ~polygons.geometry.is_valid
    for problem, rows in (("empty", empty), ("invalid", invalid)):
        if rows.any():
            which = polygons.index[rows].tolist()
            raise DataModelError(
                f"extract_samples: {int(rows.sum())} {problem} geometr{'y' if rows.sum() == 1 else 'ies'} "
                f"(rows {which[:10]}{'...' if len(which) > 10 else ''})."
                + (" Repair them with polygons.make_valid()." if problem == "invalid" else " Drop them first.")
            )
    if not np.issubdtype(polygons[class_field].dtype, np.integer):
        raise ConfigError(f"extract_samples: the class field {class_field!r} must hold integer codes; got "
                          f"{polygons[class_field].dtype}.")


def extract_samples(
    cube: xr.DataArray,
    polygons: gpd.GeoDataFrame,
    *,
    class_field: str = "class_id",
    id_field: str | None = "polygon_id",
    name_field: str | None = "class_name",
    all_touched: bool = False,
) -> xr.Dataset:
    """Pixels of the cube inside reference polygons, as a sample set.

    Parameters
    ----------
    cube : cube (time, band, y, x)
        Numpy or dask; only the pixels inside polygons are read.
    polygons : geopandas.GeoDataFrame
        Any CRS (reprojected to the cube's); integer class codes in ``class_field``.
    class_field, id_field, name_field : str
        Columns with the class code, the polygon id (the samples' ``group``; ``id_field=None`` numbers the polygons
        by row position) and the class name (optional: ignored when the column is absent).
    all_touched : bool
        Take every pixel a polygon touches, not only those whose centre is inside.

    Returns
    -------
    sample set with ``x``, ``y`` (pixel centres), ``group`` = polygon id, ``class_name`` when ``name_field`` exists.

    Raises
    ------
    ConfigError
        Missing field, no CRS, non-integer classes.
    DataModelError
        Empty or invalid geometries (how many and which), polygons that cover no pixel of the cube.

    Example
    -------
    >>> from labkit.datasets import load_slovenia
    >>> data = load_slovenia()
    >>> samples = extract_samples(data.cube, data.polygons[data.polygons.class_id > 0])
    >>> dict(samples.sizes)["band"], int(samples.group.to_series().nunique()) <= 88
    (1, True)
    """
    validate(cube, "cube")
    _check_polygons(polygons, class_field, id_field)
    polygons = polygons.to_crs(cube.rio.crs).reset_index(drop=True)
    height, width = cube.sizes["y"], cube.sizes["x"]
    shapes = ((geom, i + 1) for i, geom in enumerate(polygons.geometry))
    burned = rasterize(shapes, out_shape=(height, width), transform=cube.rio.transform(), fill=0,
                       all_touched=all_touched, dtype="int32")
    iy, ix = np.nonzero(burned)
    rows = burned[iy, ix] - 1
    outside = np.setdiff1d(np.arange(len(polygons)), rows)
    if len(outside) == len(polygons):
        raise DataModelError(f"extract_samples: none of the {len(polygons)} polygons covers a pixel centre of the "
                             f"cube (cube bounds {cube.rio.bounds()}). Check their CRS and location, or use "
                             "all_touched=True for polygons smaller than a pixel.")
    pixels = cube.isel(y=xr.DataArray(iy, dims="sample"), x=xr.DataArray(ix, dims="sample"))
    X = pixels.transpose("sample", "time", "band").values
    ids = polygons[id_field].to_numpy() if id_field else np.arange(len(polygons))
    names = None
    if name_field and name_field in polygons.columns:
        names = dict(zip(polygons[class_field].astype(int), polygons[name_field].astype(str)))
    samples = make_samples(
        X, polygons[class_field].to_numpy()[rows], ids[rows], times=cube.time.values,
        bands=[str(b) for b in cube.band.values], x=cube.x.values[ix], y=cube.y.values[iy], crs=cube.rio.crs,
        class_names=names,
    )
    samples.attrs["polygons_without_pixels"] = len(outside)
    return samples


def split_by_group(
    samples: xr.Dataset, *, train_size: float = 0.7, random_state: int | None = 0
) -> tuple[xr.Dataset, xr.Dataset]:
    """Split a sample set into training and validation sets by polygon, class by class.

    Within each class the polygons (``group``) are shuffled and the first ``train_size`` share of them goes to
    training, at least one on each side when a class has two polygons or more (a class with one polygon goes to
    training only). No polygon gives pixels to both sets, so validation measures how the model does on polygons it
    has never seen (a random pixel split would leak neighbouring, nearly identical pixels).

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> s = dm.make_samples(np.zeros((6, 1, 1)), [1, 1, 1, 2, 2, 2], [1, 1, 2, 3, 4, 4], bands=["NDVI"])
    >>> train, val = split_by_group(s, train_size=0.5, random_state=0)
    >>> set(train.group.values.tolist()) & set(val.group.values.tolist())
    set()
    """
    validate(samples, "samples")
    if not 0 < train_size < 1:
        raise ConfigError(f"split_by_group: train_size must be in (0, 1); got {train_size}.")
    rng = np.random.default_rng(random_state)
    label, group = samples["label"].values, samples["group"].values
    # A polygon whose pixels carry several classes would be drawn once per class: refuse it before splitting.
    pair_groups, pair_counts = np.unique(np.unique(np.stack([group, label], axis=1), axis=0)[:, 0], return_counts=True)
    mixed = pair_groups[pair_counts > 1]
    if mixed.size:
        raise DataModelError(f"split_by_group: polygons {mixed[:10].tolist()} hold pixels of several classes; "
                             "give each polygon a single class.")
    train_groups = []
    for code in np.unique(label):
        groups = np.unique(group[label == code])
        rng.shuffle(groups)
        n_train = len(groups) if len(groups) == 1 else min(max(1, round(train_size * len(groups))), len(groups) - 1)
        train_groups.extend(groups[:n_train])
    in_train = np.isin(group, train_groups)
    return samples.isel(sample=np.flatnonzero(in_train)), samples.isel(sample=np.flatnonzero(~in_train))
