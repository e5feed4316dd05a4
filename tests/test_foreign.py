"""Tests of labkit.sources.foreign (as_cube): other tools' xarray layouts as labkit cubes, and foreign Zarr stores."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from pyproj import CRS

import labkit
import labkit.datamodel as dm
from labkit.errors import BandError, ConfigError, DataModelError
from labkit.sources.foreign import as_cube

OPENEO = "Open-EO/openeo-processes-dask"
BOLZANO = f"{OPENEO}/83bcd03b5909a0a56c9968861ac87946b680401e/tests/data/stac/S2_L2A_sample.zarr"
BOLZANO_TINY = f"{OPENEO}/7c39308073bf658d82d6fd325a6821032070eb4d/tests/data/s2_l2a_zarr_sample.zarr"
UTM32 = CRS.from_epsg(32632)


def odc_dataset(*, chunks=None) -> xr.Dataset:
    """What odc-stac's ``load`` returns: int16 bands on (time, y, x), a ``nodata`` attribute, a ``spatial_ref``
    coordinate holding the CRS as WKT, dates out of order."""
    rng = np.random.default_rng(0)
    times = pd.to_datetime(["2022-06-05", "2022-06-02", "2022-06-10"])
    y = 5155000 - 10 * np.arange(4) - 5.0
    x = 675000 + 10 * np.arange(5) + 5.0
    variables = {}
    for band in ("B04", "B08", "SCL"):
        data = rng.integers(1, 10000, (3, 4, 5)).astype("int16")
        data[0, 0, 0] = 0
        variables[band] = xr.DataArray(data, dims=("time", "y", "x"), attrs={"nodata": 0, "units": "1"})
        variables[band].encoding["grid_mapping"] = "spatial_ref"
    spatial_ref = xr.DataArray(0, attrs={"crs_wkt": UTM32.to_wkt(), "spatial_ref": UTM32.to_wkt()})
    ds = xr.Dataset(variables, coords={"time": times, "y": y, "x": x, "spatial_ref": spatial_ref})
    return ds.chunk(chunks) if chunks is not None else ds


# ------------------------------------------------------------------------------------------------ layouts


def test_odc_dataset_becomes_a_sorted_scaled_lazy_cube():
    ds = odc_dataset(chunks={"time": 1, "y": 2, "x": 5})
    cube = labkit.as_cube(ds, bands=["B08", "B04"], scale=1e-4, offset=-0.1)
    assert dm.validate(cube) == "cube"
    assert isinstance(cube.data, dsa.Array) and cube.dtype == np.float32
    assert cube.band.values.tolist() == ["B08", "B04"]
    assert pd.DatetimeIndex(cube.time.values).day.tolist() == [2, 5, 10]
    assert cube.rio.crs == UTM32
    assert tuple(cube.rio.transform())[:6] == (10.0, 0.0, 675000.0, 0.0, -10.0, 5155000.0)
    raw = ds["B04"].values.astype(np.float64)
    expected = np.where(raw == 0, np.nan, raw * 1e-4 - 0.1)[[1, 0, 2]]
    np.testing.assert_allclose(cube.sel(band="B04").values, expected, rtol=1e-6, atol=1e-7)
    assert np.isnan(cube.sel(band="B08").values[1, 0, 0])  # nodata of 2022-06-05, now the second date


def test_dataset_default_bands_skip_grid_mapping_variables_and_numpy_stays_numpy():
    ds = odc_dataset().assign(crs=xr.DataArray(np.zeros(1, "S1"), dims="one"))
    cube = as_cube(ds.reset_coords("spatial_ref"))
    assert cube.band.values.tolist() == ["B04", "B08", "SCL"]
    assert isinstance(cube.data, np.ndarray)
    raw = ds["SCL"].values[[1, 0, 2]].astype("float32")
    np.testing.assert_array_equal(cube.sel(band="SCL").values, np.where(raw == 0, np.nan, raw))


def test_dataarray_in_any_dim_names_and_order(make_cube):
    cube = make_cube(n_time=3, bands=("B04", "B08"), height=4, width=5, seed=1)
    lat = np.linspace(45.0, 45.3, 4)  # ascending latitudes: south first
    foreign = xr.DataArray(
        cube.values[::-1, :, ::-1, :].transpose(3, 0, 2, 1),  # dates descending, then (lon, t, lat, bands)
        dims=("lon", "t", "lat", "bands"),
        coords={"lon": np.linspace(5.0, 5.4, 5), "t": cube.time.values[::-1], "lat": lat, "bands": ["B04", "B08"]},
    )
    back = as_cube(foreign)
    assert back.dims == dm.CUBE_DIMS and back.rio.crs.to_epsg() == 4326
    np.testing.assert_array_equal(back.values, cube.values)
    np.testing.assert_allclose(back.y.values, lat[::-1])
    np.testing.assert_array_equal(back.time.values, cube.time.values)


def test_a_cube_is_its_own_cube(make_cube):
    cube = make_cube(chunks={"time": 2})
    again = as_cube(cube)
    assert isinstance(again.data, dsa.Array)
    xr.testing.assert_identical(again.compute(), cube.compute())
    assert again.rio.transform() == cube.rio.transform()


def test_one_band_without_band_dim_takes_its_name_and_a_single_date_its_time():
    ndvi = xr.DataArray(np.ones((2, 2, 3), "float32"), dims=("time", "y", "x"), name="NDVI",
                        coords={"time": ["2021-05-01", "2021-05-11"], "y": [1.5, 0.5], "x": [0.5, 1.5, 2.5]})
    assert as_cube(ndvi, crs="EPSG:32631").band.values.tolist() == ["NDVI"]
    # rioxarray's open_rasterio: (band, y, x), bands numbered 1..n, their names in long_name
    image = xr.DataArray(np.full((2, 2, 3), 7, "uint16"), dims=("band", "y", "x"),
                         coords={"band": [1, 2], "y": [1.5, 0.5], "x": [0.5, 1.5, 2.5]},
                         attrs={"long_name": ("B04", "B08"), "_FillValue": 7, "scale_factor": 1e-4})
    cube = as_cube(image, time="2021-05-01", crs=32631)
    assert cube.band.values.tolist() == ["B04", "B08"] and cube.sizes["time"] == 1
    assert np.isnan(cube.values).all()  # every value is the fill value
    with pytest.raises(DataModelError, match=r"time='2021-05-01'"):
        as_cube(image, crs=32631)


def test_cf_grid_mapping_without_wkt_is_read_from_its_parameters():
    params = CRS.from_epsg(2154).to_cf()  # Lambert-93 as CF parameters only
    params.pop("crs_wkt")
    ds = xr.Dataset(
        {"NDVI": (("time", "y", "x"), np.zeros((1, 2, 2), "float32"), {"grid_mapping": "lambert93"}),
         "lambert93": ((), 0, params)},
        coords={"time": ["2021-05-01"], "y": [6.5e6 + 15, 6.5e6 + 5], "x": [7e5 + 5, 7e5 + 15]},
    )
    cube = as_cube(ds)
    assert cube.band.values.tolist() == ["NDVI"]
    assert cube.rio.crs.to_epsg() == 2154


def test_crs_from_attributes_and_the_override():
    ds = odc_dataset().drop_vars("spatial_ref")
    assert as_cube(ds.assign_attrs({"proj:epsg": 32633})).rio.crs.to_epsg() == 32633
    assert as_cube(ds.assign_attrs(epsg=32633), crs="EPSG:32631").rio.crs.to_epsg() == 32631
    with pytest.raises(DataModelError, match=r"no CRS found.*as_cube\(obj, crs='EPSG"):
        as_cube(ds)
    with pytest.raises(DataModelError, match=r"'crs' = 'not a crs' is not a CRS"):
        as_cube(ds.assign_attrs(crs="not a crs"))
    with pytest.raises(ConfigError, match=r"crs='EPSG:99999999'"):
        as_cube(ds, crs="EPSG:99999999")


def test_nodata_scale_offset_attributes_and_overrides_by_band():
    ds = odc_dataset()
    ds["B04"].attrs.update(scale_factor=2.0, add_offset=1.0)
    cube = as_cube(ds, bands=["B04", "B08"], nodata={"B08": 5000})
    raw04, raw08 = ds["B04"].values[1], ds["B08"].values[1]  # 2022-06-02, the first date once sorted
    np.testing.assert_array_equal(cube.sel(band="B04").values[0], np.where(raw04 == 0, np.nan, raw04 * 2.0 + 1.0))
    np.testing.assert_array_equal(cube.sel(band="B08").values[0], np.where(raw08 == 5000, np.nan, raw08))
    with pytest.raises(ConfigError, match=r"scale must be a finite, non-zero number"):
        as_cube(ds, scale=0)


def test_infinite_values_are_missing():
    a = xr.DataArray(np.array([[[[1.0, np.inf], [-np.inf, 2.0]]]], "float32"), dims=("time", "band", "y", "x"),
                     coords={"time": ["2021-05-01"], "band": ["NDVI"], "y": [1.5, 0.5], "x": [0.5, 1.5]})
    assert np.isnan(as_cube(a, crs=32631).values).sum() == 2


# ------------------------------------------------------------------------------------------------- refusals


def test_refusals_say_what_is_wrong():
    ds = odc_dataset()
    with pytest.raises(BandError, match=r"no band variable\(s\) \['B02'\].*\['B04', 'B08', 'SCL'\]"):
        as_cube(ds, bands=["B02"])
    with pytest.raises(DataModelError, match=r"dates repeat: \['2022-06-05"):
        as_cube(ds.assign_coords(time=pd.to_datetime(["2022-06-05", "2022-06-05", "2022-06-10"])))
    with pytest.raises(DataModelError, match=r"'x' coordinates are not a regular grid"):
        as_cube(ds.assign_coords(x=[0.0, 10, 20, 35, 40]))
    with pytest.raises(DataModelError, match=r"numbers.*decode_times=True"):
        as_cube(ds.assign_coords(time=[3, 1, 2]))
    with pytest.raises(DataModelError, match=r"dim 'level' \(size 2\).*isel\(level=0\)"):
        as_cube(ds.expand_dims(level=2))
    with pytest.raises(DataModelError, match=r"expected an xarray Dataset or DataArray; got ndarray"):
        as_cube(np.zeros((1, 1, 2, 2)))
    unnamed = xr.DataArray(np.zeros((1, 2, 2, 2)), dims=("time", "band", "y", "x"),
                           coords={"time": ["2021-05-01"], "y": [1.5, 0.5], "x": [0.5, 1.5]})
    with pytest.raises(BandError, match=r"bands have no names.*bands=\['B04'"):
        as_cube(unnamed, crs=32631)
    assert as_cube(unnamed, bands=["B04", "B08"], crs=32631).band.values.tolist() == ["B04", "B08"]
    with pytest.raises(DataModelError, match=r"could all be the cube's 'y'"):
        as_cube(unnamed.rename(band="lat").assign_coords(lat=[1.0, 2.0]), crs=32631)


def test_dims_names_any_other_dim():
    ds = odc_dataset().rename(time="acquired")
    with pytest.raises(DataModelError, match=r"dim 'acquired' \(size 3\).*dims=\{'acquired': 'time'\}"):
        as_cube(ds)
    assert as_cube(ds, dims={"acquired": "time"}).sizes["time"] == 3
    with pytest.raises(ConfigError, match=r"'when', which is not a dim"):
        as_cube(ds, dims={"when": "time"})


# --------------------------------------------------------------------------------------------- real data


@pytest.mark.mirror
def test_openeo_bolzano_store(mirror):
    ds = xr.open_zarr(mirror / BOLZANO)
    cube = as_cube(ds, bands=["B02", "B03", "B04", "B08"], scale=1e-4)
    assert isinstance(cube.data, dsa.Array)
    assert dict(cube.sizes) == {"time": 12, "band": 4, "y": 705, "x": 935}
    assert cube.rio.crs.to_epsg() == 32632
    assert tuple(cube.rio.transform())[:6] == (10.0, 0.0, 674990.0, 0.0, -10.0, 5154960.0)
    assert str(cube.time.values[0])[:10] == "2022-06-02"
    window = cube.isel(time=0, y=slice(0, 3), x=slice(0, 3)).sel(band="B04").values
    np.testing.assert_allclose(window, ds["B04"].isel(t=0, y=slice(0, 3), x=slice(0, 3)).values * 1e-4, rtol=1e-6)


def test_validate_names_as_cube_for_a_dataset_or_foreign_dims():
    with pytest.raises(DataModelError, match=r"got Dataset\. labkit\.as_cube\(obj\)"):
        dm.validate(odc_dataset(), "cube")
    with pytest.raises(DataModelError, match=r"got \('time', 'y', 'x'\)\. labkit\.as_cube\(obj\)"):
        dm.validate(odc_dataset()["B04"], "cube")


# ------------------------------------------------------------------------------------------ read_zarr


def openeo_store(path) -> str:
    """An odc-style Dataset saved as openEO does: dims (t, y, x), the CRS in a grid-mapping variable."""
    odc_dataset().sortby("time").rename(time="t").chunk({"t": 1}).to_zarr(path, zarr_format=2)
    return str(path)


def test_read_zarr_reads_a_foreign_store_through_as_cube(tmp_path):
    import labkit.io as lio

    store = openeo_store(tmp_path / "openeo.zarr")
    expected = as_cube(odc_dataset(), bands=["B08", "B04"], scale=1e-4)
    cube, mask = lio.read_zarr(store, chunks=None, with_mask=True, bands=["B08", "B04"], scale=1e-4)
    assert mask is None and isinstance(cube.data, np.ndarray)
    xr.testing.assert_identical(cube, expected)
    lazy = lio.read_zarr(store, chunks={"time": 2, "x": 3}, nodata={"SCL": 5})  # the cube's dim names
    # the pixels' chunks are kept; dates (and bands) are merged into every chunk, as every stage walks a cube
    assert isinstance(lazy.data, dsa.Array) and lazy.data.chunks[:2] == ((3,), (3,)) and lazy.data.chunks[3] == (3, 2)
    assert lazy.band.values.tolist() == ["B04", "B08", "SCL"]
    with pytest.raises(BandError, match=r"openeo\.zarr: as_cube: the Dataset has no band variable\(s\) \['B02'\]"):
        lio.read_zarr(store, bands=["B02"])
    chunk = next((tmp_path / "openeo.zarr" / "B04").glob("0.*"))
    chunk.write_bytes(b"garbage")
    with pytest.raises(labkit.errors.ReadError, match=r"openeo\.zarr: cannot read variable 'B04'"):
        lio.read_zarr(store).compute()


def test_read_zarr_options_of_labkit_stores(tmp_path, make_cube):
    import labkit.io as lio

    store = lio.write_zarr(make_cube(bands=("B04", "B08", "B11")), tmp_path / "cube.zarr")
    assert lio.read_zarr(store, bands=["B11", "B04"]).band.values.tolist() == ["B11", "B04"]
    with pytest.raises(BandError, match=r"cube\.zarr has no band\(s\) \['B02'\]; its bands are \['B04', 'B08'"):
        lio.read_zarr(store, bands=["B02"])
    with pytest.raises(ConfigError, match=r"crs, scale apply to stores in other layouts"):
        lio.read_zarr(store, scale=1e-4, crs="EPSG:32631")
    samples = dm.make_samples(np.ones((2, 1, 1)), [1, 2], [0, 1], bands=["NDVI"])
    with pytest.raises(labkit.errors.ReadError, match=r"holds a sample set, not a cube; read it with "):
        lio.read_zarr(lio.write_samples(samples, tmp_path / "samples.zarr"))


@pytest.mark.mirror
def test_read_zarr_of_openeo_stores(mirror):
    import labkit.io as lio

    cube = lio.read_zarr(mirror / BOLZANO, chunks={}, bands=["B04", "B08"], scale=1e-4)
    assert cube.data.chunks[2][0] == 177 and cube.data.chunks[3][0] == 468  # the store's chunks of pixels,
    assert cube.data.chunks[:2] == ((12,), (2,))  # each holding every date and band: stages take the cube as it is
    from labkit.features import compute_features

    ndvi = compute_features(cube, indices=["NDVI"], keep_bands=False).cube.sel(band="NDVI")
    red, nir = cube.sel(band="B04"), cube.sel(band="B08")
    part = {"time": 0, "y": slice(0, 50)}
    np.testing.assert_allclose(ndvi.isel(part), ((nir - red) / (nir + red)).isel(part), rtol=1e-5)
    assert cube.rio.crs.to_epsg() == 32632 and cube.sizes["time"] == 12
    tiny = lio.read_zarr(mirror / BOLZANO_TINY, chunks=None, scale=1e-4)
    assert dict(tiny.sizes) == {"time": 12, "band": 5, "y": 10, "x": 10}
    np.testing.assert_allclose(tiny.isel(x=slice(0, 10), y=slice(0, 10)).sel(band="B04").values,
                               cube.isel(x=slice(0, 10), y=slice(0, 10)).sel(band="B04").values)


def test_a_one_pixel_wide_cube_keeps_its_pixel_size():
    cube = dm.make_cube(np.ones((1, 1, 3, 1)), ["2021-01-01"], ["NDVI"], transform=(20, 0, 100, 0, -10, 50),
                        crs="EPSG:32631")
    assert as_cube(cube).rio.transform() == cube.rio.transform()
    with pytest.raises(DataModelError, match=r"one pixel along 'x'"):
        as_cube(cube.drop_vars("spatial_ref"), crs=32631)
