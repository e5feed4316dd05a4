"""Small real datasets shipped inside the package, for ``labkit demo``, the course and the tests.

Both come from public repositories (see :mod:`labkit.datasets.remote`), converted to labkit's data model by
:func:`build_slovenia` and :func:`build_bolzano` (``python data-fetch/build_embedded.py`` re-runs the conversion from
the origin or a mirror; a test checks that it reproduces the shipped files).

* ``slovenia.nc`` + ``slovenia_polygons.gpkg`` — eo-learn's TestEOPatch (MIT licence, Sinergise): 68 dates of
  Sentinel-2 NDVI (2015-07-11..2017-12-22), 101 x 100 px at 10 m, EPSG:32633; its real cloud mask and cloud
  probability; the land-cover raster and the 88 reference polygons (Slovenian LPIS/land-use data). Changes: the class
  name "schrubland" is spelled "shrubland" and the 4 polygons without a name are called "no label".
* ``bolzano.nc`` — a 200 x 200 px crop of openEO's Sentinel-2 L2A test cube (Apache-2.0, openeo-processes-dask):
  12 dates in June 2022, B02 B03 B04 B08 as reflectance (stored as int16 x 10 000) and the SCL scene classification.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine

from .. import datamodel as dm
from ..errors import DatasetError
from ..masks import mask_from_cloud, mask_from_scl

DATA = resources.files(__package__).joinpath("data")
SLOVENIA_PATCH = "example_data/TestEOPatch"
BOLZANO_ZARR = "tests/data/stac/S2_L2A_sample.zarr"
BOLZANO_WINDOW = {"y": slice(300, 500), "x": slice(400, 600)}

SLOVENIA_DESCRIPTION = (
    "Sentinel-2 NDVI over a 1 km² patch of Slovenia, 68 dates 2015-07-11..2017-12-22, 10 m, EPSG:32633, with its "
    "cloud mask and 88 land-cover reference polygons. Origin: eo-learn's example data (sentinel-hub/eo-learn "
    "@303e758, example_data/TestEOPatch), MIT licence, (c) Sinergise; contains modified Copernicus Sentinel data."
)
BOLZANO_DESCRIPTION = (
    "Sentinel-2 L2A, 12 dates in June 2022, 200 x 200 px at 10 m near Bolzano (EPSG:32632): B02 B03 B04 B08 "
    "reflectance and the SCL scene classification. Origin: openEO's test cube (Open-EO/openeo-processes-dask "
    "@83bcd03, tests/data/stac/S2_L2A_sample.zarr), Apache-2.0; contains modified Copernicus Sentinel data."
)


@dataclass(frozen=True)
class EOData:
    """A small Earth-observation dataset in labkit's data model.

    Attributes
    ----------
    cube : xarray.DataArray (time, band, y, x)
    mask : xarray.DataArray (time, y, x) uint8 validity codes
    polygons : geopandas.GeoDataFrame or None
        Reference polygons in the cube's CRS with columns ``polygon_id``, ``class_id``, ``class_name``.
    reference : xarray.DataArray (y, x) or None
        A reference land-cover raster on the cube's grid.
    class_names : dict
        ``{class_id: name}``.
    extra : dict
        Other layers of the product (``"cloud_probability"``, ``"scl"``...).
    description : str
        What the data is, where it comes from and its licence.
    """

    cube: xr.DataArray
    mask: xr.DataArray
    polygons: gpd.GeoDataFrame | None = None
    reference: xr.DataArray | None = None
    class_names: dict[int, str] = field(default_factory=dict)
    extra: dict[str, xr.DataArray] = field(default_factory=dict)
    description: str = ""


# ---------------------------------------------------------------------------------------------------- conversion


def build_slovenia(source: str | Path) -> tuple[xr.Dataset, gpd.GeoDataFrame]:
    """Convert eo-learn's TestEOPatch (folder ``source``, the repository root) to labkit's data model.

    Returns the Dataset written to ``slovenia.nc`` (variables ``cube``, ``validity``, ``cloud_probability``,
    ``reference``) and the reference polygons.
    """
    patch = Path(source) / SLOVENIA_PATCH
    ndvi = np.load(patch / "data/NDVI.npy")[..., 0]
    times = pd.to_datetime(json.loads((patch / "timestamps.json").read_text()))
    bbox = json.loads((patch / "bbox.geojson").read_text())
    xs, ys = zip(*bbox["coordinates"][0])
    height, width = ndvi.shape[1:]
    transform = Affine(
        (max(xs) - min(xs)) / width, 0.0, min(xs), 0.0, -(max(ys) - min(ys)) / height, max(ys)
    )
    crs = "EPSG:" + bbox["crs"]["properties"]["name"].rsplit(":", 1)[-1]
    cube = dm.make_cube(ndvi[:, None], times, ["NDVI"], transform=transform, crs=crs)
    layer = cube.isel(band=0, drop=True)
    mask = mask_from_cloud(
        layer.copy(data=np.load(patch / "mask/CLM.npy")[..., 0]),
        is_data=layer.copy(data=np.load(patch / "mask/IS_DATA.npy")[..., 0]),
    )
    clp = np.load(patch / "data/CLP.npy")[..., 0]
    reference = np.load(patch / "mask_timeless/LULC.npy")[..., 0]
    grid = {"y": cube.y, "x": cube.x}
    ds = xr.Dataset(
        {
            "cube": cube.drop_vars("spatial_ref"),
            "validity": mask.drop_vars("spatial_ref"),
            "cloud_probability": (("time", "y", "x"), np.round(clp * 100).astype("uint8"), {"units": "%"}),
            "reference": (("y", "x"), reference.astype("uint16")),
        },
        coords=grid,
    ).rio.write_crs(crs).rio.write_transform(transform)
    polygons = gpd.read_file(patch / "vector_timeless/LULC.gpkg")
    polygons = gpd.GeoDataFrame(
        {
            "polygon_id": polygons["index"].astype("int64"),
            "class_id": polygons["LULC_ID"].astype("int64"),
            "class_name": polygons["LULC_NAME"].replace({"schrubland": "shrubland", "": "no label"}),
        },
        geometry=polygons.geometry.values,
        crs=polygons.crs,
    )
    return ds, polygons


def build_bolzano(source: str | Path) -> xr.Dataset:
    """Crop openEO's Sentinel-2 L2A test cube (repository root ``source``) to the embedded 200 x 200 px window.

    Returns the Dataset written to ``bolzano.nc``: ``cube`` (time, band, y, x) reflectance 0-1 and ``scl``.
    """
    zarr = xr.open_zarr(Path(source) / BOLZANO_ZARR).isel(**BOLZANO_WINDOW).rename(t="time").load()
    bands = ["B02", "B03", "B04", "B08"]
    reflectance = xr.concat([zarr[b] for b in bands], dim=pd.Index(bands, name="band")) / 10_000
    reflectance = reflectance.transpose(*dm.CUBE_DIMS).astype("float32")
    scl = zarr["SCL"].fillna(0).astype("uint8")  # SCL 0 is "no data"
    crs = "EPSG:32632"
    ds = xr.Dataset({"cube": reflectance.drop_vars(["crs", "spatial_ref"], errors="ignore"),
                     "scl": scl.drop_vars(["crs", "spatial_ref"], errors="ignore")})
    ds = ds.rio.write_crs(crs)
    return ds.rio.write_transform(ds.rio.transform(recalc=True))


def write_embedded(ds: xr.Dataset, path: str | Path, *, reflectance: bool = False) -> None:
    """Write an embedded dataset as compressed NetCDF (reflectance packed as int16 x 10 000 when asked)."""
    encoding = {name: {"zlib": True, "complevel": 9, "shuffle": True} for name in ds.data_vars}
    if reflectance:
        encoding["cube"].update(dtype="int16", scale_factor=1e-4, _FillValue=-32768)
    ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)


# ------------------------------------------------------------------------------------------------------ loaders


@cache
def _open(name: str) -> xr.Dataset:
    path = DATA.joinpath(name)
    if not path.is_file():
        raise DatasetError(f"The embedded file {path} is missing; reinstall labkit or run data-fetch/build_embedded.py.")
    with xr.open_dataset(path, engine="h5netcdf", decode_coords="all") as ds:
        return ds.set_coords([v for v in ("spatial_ref",) if v in ds.data_vars]).load()


def _cube_of(ds: xr.Dataset) -> xr.DataArray:
    cube = ds["cube"].astype("float32")
    cube.attrs.pop("units", None)
    return cube.rio.write_crs(ds.rio.crs).rio.write_transform(ds.rio.transform())


def load_slovenia() -> EOData:
    """Real Sentinel-2 NDVI time series with its cloud mask and reference land cover (eo-learn's TestEOPatch).

    68 dates 2015-07-11..2017-12-22, 101 x 100 px at 10 m (EPSG:32633), 88 reference polygons of 5 land-cover
    classes. MIT licence (c) Sinergise; see ``load_slovenia().description``.

    Example
    -------
    >>> data = load_slovenia()
    >>> dict(data.cube.sizes)
    {'time': 68, 'band': 1, 'y': 101, 'x': 100}
    >>> data.class_names[2]
    'forest'
    >>> int((data.mask == 1).sum()) > 0
    True
    """
    ds = _open("slovenia.nc")
    polygons = gpd.read_file(DATA.joinpath("slovenia_polygons.gpkg"))
    names = dict(zip(polygons["class_id"].astype(int), polygons["class_name"]))
    cube = _cube_of(ds)
    return EOData(
        cube=cube.copy(),
        mask=dm.make_mask(ds["validity"].values.copy(), like=cube),
        polygons=polygons,
        reference=ds["reference"].copy(),
        class_names=dict(sorted(names.items())),
        extra={"cloud_probability": ds["cloud_probability"].copy()},
        description=SLOVENIA_DESCRIPTION,
    )


def load_bolzano() -> EOData:
    """Real Sentinel-2 L2A reflectance (B02 B03 B04 B08) and SCL, 12 dates in June 2022, 200 x 200 px near Bolzano.

    The validity mask is derived from SCL with :func:`labkit.masks.mask_from_scl` defaults. Apache-2.0 licence; see
    ``load_bolzano().description``.

    Example
    -------
    >>> data = load_bolzano()
    >>> data.cube.band.values.tolist(), dict(data.cube.sizes)["time"]
    (['B02', 'B03', 'B04', 'B08'], 12)
    """
    ds = _open("bolzano.nc")
    cube = _cube_of(ds)
    scl = ds["scl"].copy()
    return EOData(
        cube=cube.copy(),
        mask=mask_from_scl(scl.rio.write_crs(cube.rio.crs)),
        extra={"scl": scl},
        description=BOLZANO_DESCRIPTION,
    )
