"""Readers and writers: every layout reads back what was written; every bad input names the file and the problem;
a failed write leaves nothing behind."""

import argparse
import json
import os
import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from affine import Affine

import labkit.datamodel as dm
import labkit.io as lio
from labkit.cli import info as info_cli
from labkit.errors import BandError, ConfigError, DataModelError, GridMismatchError, ReadError

pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning"),  # affine, called by rioxarray
]

TRANSFORM = (10.0, 0.0, 500000.0, 0.0, -10.0, 4000000.0)
DATES = ["2020-01-01", "2020-01-11", "2020-01-21"]
MIRROR = Path(__file__).parents[1].parent / "shared/data/mirror"
MODIS = "github/e-sensing/sits/60e37332f346a1d0f0a1b9b16bd36b473788698f/inst/extdata/raster/mod13q1"
TEMPCNN = "github/charlotte-pel/temporalCNN/d081da2f6eef19f36b5517549eab3bbbedd18598"
S2_TINY = ("github/Open-EO/openeo-processes-dask/7c39308073bf658d82d6fd325a6821032070eb4d"
           "/tests/data/s2_l2a_zarr_sample.zarr")


def make_cube(dates=DATES, bands=("B04", "B08"), crs="EPSG:32631", transform=TRANSFORM, shape=(4, 5), dask=False):
    rng = np.random.default_rng(0)
    data = rng.uniform(0, 1, (len(dates), len(bands), *shape)).astype("float32")
    data[0, 0, 0, 0] = np.nan
    data[-1, :, 1, 2] = np.nan
    if dask:
        data = da.from_array(data, chunks=(1, len(bands), 2, 2))
    cube = dm.make_cube(data, dates, list(bands), transform=transform, crs=crs)
    cube.name = None  # not the dask array's name
    return cube


def assert_same_cube(a, b):
    xr.testing.assert_identical(a, b)
    assert a.rio.crs == b.rio.crs
    assert a.rio.transform() == b.rio.transform()
    assert a.dtype == b.dtype == np.float32


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def write_tif(path, data, *, crs="EPSG:32631", transform=Affine(*TRANSFORM), descriptions=None, nodata=None,
              scales=None, offsets=None, tags=None):
    """A raster written with plain rasterio, to read files labkit did not write."""
    data = np.asarray(data)
    profile = dict(driver="GTiff", count=data.shape[0], height=data.shape[1], width=data.shape[2], dtype=data.dtype)
    if crs is not None:
        profile["crs"] = crs
    if transform is not None:
        profile["transform"] = transform
    with warnings.catch_warnings():  # rasterio warns about files without georeferencing, written on purpose
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        dst = rasterio.open(path, "w", nodata=nodata, **profile)
    with dst:
        dst.write(data)
        if descriptions:
            dst.descriptions = tuple(descriptions)
        if scales:
            dst.scales = scales
        if offsets:
            dst.offsets = offsets
        for i, layer_tags in enumerate(tags or [], start=1):
            dst.update_tags(i, **layer_tags)
    return Path(path)


@pytest.fixture
def mirror():
    if not MIRROR.is_dir():
        pytest.skip(f"the data mirror {MIRROR} is absent (see shared/data/README.md)")
    return MIRROR


# ----------------------------------------------------------------------------------------- one file per date


def test_dates_round_trip(tmp_path):
    cube = make_cube()
    files = lio.write_dates(cube, tmp_path / "out", prefix="S2_")
    assert [f.name for f in files] == ["S2_2020-01-01.tif", "S2_2020-01-11.tif", "S2_2020-01-21.tif"]
    with rasterio.open(files[0]) as src:
        assert src.descriptions == ("B04", "B08")
    assert_same_cube(lio.read_dates(files), cube)
    assert_same_cube(lio.read_dates(str(tmp_path / "out" / "S2_*.tif")), cube)


def test_dates_lazy_read_stays_lazy_and_matches(tmp_path):
    cube = make_cube(dask=True)
    files = lio.write_dates(cube, tmp_path)
    lazy = lio.read_dates(files, chunks={"y": 2, "x": 3})
    assert isinstance(lazy.data, da.Array)
    assert lazy.data.chunks[0] == (1, 1, 1) and lazy.data.chunks[2] == (2, 2)
    lazy_selected = lio.read_dates(files, bands=["B08"], chunks="auto")
    assert isinstance(lazy_selected.data, da.Array)
    assert_same_cube(lazy.compute(), cube.compute())
    np.testing.assert_array_equal(lazy_selected.values, cube.sel(band=["B08"]).values)


def test_dates_with_time_of_day_round_trip(tmp_path):
    cube = make_cube(dates=["2020-01-01T10:30:15", "2020-01-03T10:29:59"])
    files = lio.write_dates(cube, tmp_path)
    assert files[0].name == "2020-01-01T103015.tif"
    assert_same_cube(lio.read_dates(files), cube)


def test_dates_sorted_and_bands_selected(tmp_path):
    cube = make_cube()
    files = lio.write_dates(cube, tmp_path)
    back = lio.read_dates(files[::-1], bands=["B08", "B04"])
    assert back.band.values.tolist() == ["B08", "B04"]
    np.testing.assert_array_equal(back.time.values, cube.time.values)
    np.testing.assert_array_equal(back.sel(band="B04").values, cube.sel(band="B04").values)


def test_dates_given_explicitly(tmp_path):
    cube = make_cube()
    files = [write_tif(tmp_path / f"img{i}.tif", cube.isel(time=i).values, descriptions=["B04", "B08"])
             for i in range(3)]
    back = lio.read_dates([files[2], files[0], files[1]], dates=[DATES[2], DATES[0], DATES[1]])
    assert_same_cube(back, cube)
    with pytest.raises(ConfigError, match="3 files but 2 dates"):
        lio.read_dates(files, dates=DATES[:2])


@pytest.mark.parametrize(
    "name, expected",
    [
        ("TERRA_MODIS_012010_NDVI_2013-09-14.jp2", "2013-09-14"),
        ("S2A_MSIL2A_20220602T101559_N0400_R065_T32TPS.tif", "2022-06-02T10:15:59"),
        ("LC08_L2SP_196030_20200101_20200113_02_T1.tif", "2020-01-01"),
        ("ndvi_2021_05_01.tif", "2021-05-01"),
        ("tile_99999999_20210230_20210301.tif", "2021-03-01"),  # not dates: 9999-99-99, Feb 30
    ],
)
def test_date_in_file_name(name, expected):
    assert lio._date_in_name(name) == pd.Timestamp(expected)


def test_dates_integer_storage_with_scale(tmp_path):
    cube = make_cube()
    files = lio.write_dates(cube, tmp_path, dtype="int16", scale=1e-4, nodata=-32768)
    with rasterio.open(files[0]) as src:
        assert src.dtypes[0] == "int16" and src.nodata == -32768 and src.scales == (1e-4, 1e-4)
    back = lio.read_dates(files)
    np.testing.assert_allclose(back.values, cube.values, atol=1e-4)
    np.testing.assert_array_equal(np.isnan(back.values), np.isnan(cube.values))


def test_reader_applies_nodata_scale_offset_of_files(tmp_path):
    raw = np.array([[[100, -9999], [300, 400]]], dtype="int16")
    path = write_tif(tmp_path / "x_2020-01-01.tif", raw, descriptions=["NDVI"], nodata=-9999, scales=[0.01],
                     offsets=[1.0])
    values = lio.read_dates([path]).values[0, 0]
    assert values.dtype == np.float32
    np.testing.assert_allclose(values, [[2.0, np.nan], [4.0, 5.0]])
    overridden = lio.read_dates([path], nodata=100, scale=1, offset=0).values[0, 0]
    np.testing.assert_allclose(overridden, [[np.nan, -9999], [300, 400]])


def test_write_dates_refuses_a_prefix_holding_a_date(tmp_path):
    with pytest.raises(ConfigError, match="prefix='S2_20200101_' holds a date"):
        lio.write_dates(make_cube(), tmp_path, prefix="S2_20200101_")
    assert leftovers(tmp_path) == []


def test_integer_dtype_needs_nodata_and_values_must_fit(tmp_path):
    with pytest.raises(ConfigError, match="needs nodata="):
        lio.write_dates(make_cube(), tmp_path, dtype="uint8")
    message = r"write_dates .*2020-01-01\.tif \(date 2020-01-01\): values .* in band B04 .*do not fit uint8 \(0\.\.255"
    with pytest.raises(DataModelError, match=message):
        lio.write_dates(make_cube() * 1000, tmp_path, dtype="uint8", nodata=255)
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------------------------------- one file per band


def test_bands_round_trip(tmp_path):
    cube = make_cube()
    files = lio.write_bands(cube, tmp_path)
    assert [f.name for f in files] == ["B04.tif", "B08.tif"]
    with rasterio.open(files[0]) as src:
        assert src.descriptions == tuple(DATES)
    assert_same_cube(lio.read_bands(files), cube)
    assert_same_cube(lio.read_bands({"B04": files[0], "B08": files[1]}), cube)


def test_bands_lazy_read_stays_lazy(tmp_path):
    cube = make_cube(dask=True)
    files = lio.write_bands(cube, tmp_path, prefix="tile_")
    lazy = lio.read_bands({"B04": files[0], "B08": files[1]}, chunks=2)
    assert isinstance(lazy.data, da.Array)
    assert lazy.data.chunks[1] == (1, 1)
    assert_same_cube(lazy.compute(), cube.compute())


def test_bands_dates_from_tags_and_sorted(tmp_path):
    data = np.arange(3 * 4 * 5, dtype="float32").reshape(3, 4, 5)
    tags = [{"DATE": "2020-03-01"}, {"date": "2020-01-01"}, {"ACQUISITION_DATE": "2020-02-01T00:00:00Z"}]
    back = lio.read_bands({"NDVI": write_tif(tmp_path / "ndvi.tif", data, tags=tags)})
    assert [str(t)[:10] for t in back.time.values] == ["2020-01-01", "2020-02-01", "2020-03-01"]
    np.testing.assert_array_equal(back.values[:, 0], data[[1, 2, 0]])


def test_bands_without_dates(tmp_path):
    path = write_tif(tmp_path / "b04.tif", np.zeros((3, 4, 5), "float32"))
    with pytest.raises(ReadError, match=r"b04\.tif: layer 1 has no date .* Pass dates="):
        lio.read_bands([path])
    assert lio.read_bands([path], dates=DATES).band.values.tolist() == ["b04"]


def test_bands_layer_count_and_date_mismatch(tmp_path):
    b04 = write_tif(tmp_path / "b04.tif", np.zeros((3, 4, 5), "float32"), descriptions=DATES)
    b08 = write_tif(tmp_path / "b08.tif", np.zeros((2, 4, 5), "float32"), descriptions=DATES[:2])
    with pytest.raises(GridMismatchError, match=r"b08\.tif has 2 layers \(dates\) but .*b04\.tif has 3"):
        lio.read_bands([b04, b08])
    b11 = write_tif(tmp_path / "b11.tif", np.zeros((3, 4, 5), "float32"), descriptions=[*DATES[:2], "2020-01-31"])
    with pytest.raises(GridMismatchError, match=r"b11\.tif has date 2020-01-31 in layer 3 but .*b04\.tif has 2020-01"):
        lio.read_bands([b04, b11])


# ------------------------------------------------------------------------------------------- reader errors


def test_grid_mismatch_names_both_files(tmp_path):
    one = make_cube(dates=DATES[:1])
    lio.write_dates(one, tmp_path / "a")
    lio.write_dates(make_cube(dates=DATES[1:2], crs="EPSG:32632"), tmp_path / "a")
    with pytest.raises(GridMismatchError, match=r"01-11\.tif has CRS EPSG:32632 but .*2020-01-01\.tif has EPSG:32631"):
        lio.read_dates(str(tmp_path / "a" / "*.tif"))
    moved = (TRANSFORM[0], 0, TRANSFORM[2] + 10, 0, TRANSFORM[4], TRANSFORM[5])
    lio.write_dates(make_cube(dates=DATES[1:2], transform=moved), tmp_path / "b")
    with pytest.raises(GridMismatchError, match=r"2020-01-11\.tif has transform .*500010.* but .*2020-01-01\.tif"):
        lio.read_dates([*lio.write_dates(one, tmp_path / "b"), tmp_path / "b" / "2020-01-11.tif"])
    lio.write_dates(make_cube(dates=DATES[1:2], shape=(4, 6)), tmp_path / "c")
    with pytest.raises(GridMismatchError, match=r"2020-01-11\.tif has 4 x 6 pixels .* but .*2020-01-01\.tif has 4 x 5"):
        lio.read_dates([*lio.write_dates(one, tmp_path / "c"), tmp_path / "c" / "2020-01-11.tif"])


def test_not_a_raster_and_missing_file(tmp_path):
    text = tmp_path / "notes_2020-01-01.csv"
    text.write_text("a,b\n1,2\n")
    with pytest.raises(ReadError, match=r"notes_2020-01-01\.csv is not a raster that GDAL can read"):
        lio.read_dates([text], bands=["NDVI"])
    with pytest.raises(ReadError, match=r"nothing_2020-01-01\.tif: no such file"):
        lio.read_dates([tmp_path / "nothing_2020-01-01.tif"])
    with pytest.raises(ReadError, match=r"tmp.* is a folder, not a raster\. Pass its files, or a pattern"):
        lio.read_dates(tmp_path)
    with pytest.raises(ReadError, match=r"No file matches the pattern .*\*\.tif"):
        lio.read_dates(str(tmp_path / "*.tif"))
    with pytest.raises(ReadError, match=r"notes_2020-01-01\.csv is not a raster"):
        lio.read_bands({"B04": text})


def test_missing_band_and_unnamed_bands(tmp_path):
    files = lio.write_dates(make_cube(), tmp_path / "named")
    with pytest.raises(BandError, match=r"2020-01-01\.tif has no band 'B12'; its bands are \['B04', 'B08'\]"):
        lio.read_dates(files, bands=["B04", "B12"])
    unnamed = write_tif(tmp_path / "x_2020-01-01.tif", np.zeros((2, 4, 5), "float32"))
    with pytest.raises(BandError, match=r"x_2020-01-01\.tif: its 2 band\(s\) have no names .* Pass bands="):
        lio.read_dates([unnamed])
    with pytest.raises(BandError, match=r"x_2020-01-01\.tif has 2 unnamed band\(s\) but bands= gives 1 name"):
        lio.read_dates([unnamed], bands=["NDVI"])
    assert lio.read_dates([unnamed], bands=["red", "nir"]).band.values.tolist() == ["red", "nir"]


def test_file_without_date_in_name(tmp_path):
    path = write_tif(tmp_path / "scene.tif", np.zeros((1, 4, 5), "float32"), descriptions=["NDVI"])
    with pytest.raises(ReadError, match=r"scene\.tif: no date in the file name .* Pass dates="):
        lio.read_dates([path])


def test_two_files_with_one_date(tmp_path):
    a = write_tif(tmp_path / "a_2020-01-01.tif", np.zeros((1, 4, 5), "float32"), descriptions=["NDVI"])
    b = write_tif(tmp_path / "b_20200101.tif", np.zeros((1, 4, 5), "float32"), descriptions=["NDVI"])
    with pytest.raises(ReadError, match=r"b_20200101\.tif and .*a_2020-01-01\.tif have the same date 2020-01-01"):
        lio.read_dates([a, b])


def test_file_without_georeferencing(tmp_path):
    path = write_tif(tmp_path / "raw_2020-01-01.tif", np.ones((1, 4, 5), "uint16"), crs=None, transform=None)
    with pytest.raises(ReadError, match=r"raw_2020-01-01\.tif has no georeferencing .* Pass crs= and transform="):
        lio.read_dates([path], bands=["NDVI"])
    with pytest.raises(ReadError, match=r"raw_2020-01-01\.tif has no geotransform"):
        lio.read_dates([path], bands=["NDVI"], crs="EPSG:32631")
    cube = lio.read_dates([path], bands=["NDVI"], crs="EPSG:32631", transform=TRANSFORM, chunks=2)
    assert isinstance(cube.data, da.Array)
    assert cube.rio.crs.to_epsg() == 32631 and tuple(cube.rio.transform())[:6] == TRANSFORM
    assert float(cube.sum()) == 20


def test_bad_chunks_and_transform():
    with pytest.raises(ConfigError, match="chunks= names unknown dims"):
        lio._file_chunks({"row": 5}, "band")
    with pytest.raises(ConfigError, match="transform= must be"):
        lio._as_transform((1, 2, 3))


# ------------------------------------------------------------------------------------------------- Zarr


def test_zarr_round_trip_with_mask(tmp_path):
    cube = make_cube()
    mask = dm.make_mask(np.isnan(cube.isel(band=0)).values.astype("uint8") * 2, like=cube)
    store = lio.write_zarr(cube, tmp_path / "cube.zarr", mask=mask)
    back, back_mask = lio.read_zarr(store, chunks=None, with_mask=True)
    assert isinstance(back.data, np.ndarray)
    assert_same_cube(back, cube)
    xr.testing.assert_identical(back_mask, mask)
    assert back_mask.rio.crs == cube.rio.crs
    lazy = lio.read_zarr(store)
    assert isinstance(lazy.data, da.Array)
    assert_same_cube(lazy.compute(), cube)
    assert lio.read_zarr(store, with_mask=True)[1] is not None
    assert lio.read_zarr(lio.write_zarr(cube, tmp_path / "nomask.zarr"), with_mask=True)[1] is None


def test_zarr_keeps_dask_chunks(tmp_path):
    cube = make_cube(dask=True)
    back = lio.read_zarr(lio.write_zarr(cube, tmp_path / "cube.zarr"), chunks={})
    assert back.data.chunks == ((1, 1, 1), (2,), (2, 2), (2, 2, 1))
    assert_same_cube(back.compute(), cube.compute())


def test_zarr_mask_must_match_cube(tmp_path):
    cube = make_cube()
    other = make_cube(dates=["2021-01-01", "2021-01-11", "2021-01-21"])
    with pytest.raises(DataModelError, match="mask's 'time' coordinate differs"):
        lio.write_zarr(cube, tmp_path / "c.zarr", mask=dm.make_mask(np.zeros((3, 4, 5)), like=other))
    assert leftovers(tmp_path) == []


def test_zarr_not_in_labkit_layout(tmp_path):
    xr.Dataset({"B04": (("t", "y", "x"), np.zeros((2, 3, 3)))}).to_zarr(tmp_path / "other.zarr", zarr_format=2)
    with pytest.raises(ReadError, match=r"other\.zarr is not in labkit's Zarr layout \(it holds 'B04' \('t', 'y', "
                                        r"'x'\)\), and cannot be read as a cube in another layout: as_cube: the time "
                                        r"dim has no coordinate"):
        lio.read_zarr(tmp_path / "other.zarr")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReadError, match=r"empty is not a Zarr store"):
        lio.read_zarr(tmp_path / "empty")


# ------------------------------------------------------------------------------------------------------ COG


def grid_map(values, crs="EPSG:32631"):
    values = np.asarray(values)
    height, width = values.shape[-2:]
    coords = {"y": 4000000.0 - 10 * (np.arange(height) + 0.5), "x": 500000.0 + 10 * (np.arange(width) + 0.5)}
    dims = ("y", "x") if values.ndim == 2 else ("class", "y", "x")
    if values.ndim == 3:
        coords["class"] = [1, 2]
    array = xr.DataArray(values, dims=dims, coords=coords)
    return array.rio.write_crs(crs) if crs else array


def test_cog_class_map_with_colormap(tmp_path):
    classes = grid_map(np.random.default_rng(1).integers(1, 4, (600, 500)))
    colours = {1: (0, 128, 0), 2: (255, 255, 0), 3: (0, 0, 255, 255)}
    out = lio.write_cog(classes, tmp_path / "classes.tif", colormap=colours, cog_tile=256)
    with rasterio.open(out) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and src.block_shapes[0] == (256, 256)
        assert src.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"] == "DEFLATE"
        assert src.dtypes[0] == "uint8" and src.overviews(1) == [2, 4]
        assert src.colormap(1)[1] == (0, 128, 0, 255) and src.colormap(1)[3] == (0, 0, 255, 255)
        np.testing.assert_array_equal(src.read(1), classes.values)
        assert src.crs.to_epsg() == 32631 and src.transform == classes.rio.transform()
        assert set(np.unique(src.read(1, out_shape=(150, 125)))) <= {1, 2, 3}  # nearest overviews: codes only


def test_cog_float_and_band_maps(tmp_path):
    confidence = grid_map(np.array([[0.5, np.nan], [1.0, 0.25]], "float32"))
    with rasterio.open(lio.write_cog(confidence, tmp_path / "conf.tif")) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and src.dtypes[0] == "float32"
        np.testing.assert_array_equal(src.read(1), confidence.values)
    probs = grid_map(np.full((2, 3, 4), 0.5, "float32"))
    with rasterio.open(lio.write_cog(probs, tmp_path / "probs.tif")) as src:
        assert src.count == 2 and src.descriptions == ("1", "2")


def test_cog_errors(tmp_path):
    with pytest.raises(DataModelError, match="no CRS"):
        lio.write_cog(grid_map(np.ones((2, 2), "uint8"), crs=None), tmp_path / "a.tif")
    with pytest.raises(ConfigError, match="colormap needs a single-band uint8 or uint16 map; .* float32"):
        lio.write_cog(grid_map(np.ones((2, 2), "float32")), tmp_path / "a.tif", colormap={1: (0, 0, 0)})
    with pytest.raises(ConfigError, match=r"colour of code 1 must be \(r, g, b\)"):
        lio.write_cog(grid_map(np.ones((2, 2), "uint8")), tmp_path / "a.tif", colormap={1: (0, 0, 300)})
    with pytest.raises(DataModelError, match=r"write_cog needs a DataArray \(y, x\) or \(band, y, x\)"):
        lio.write_cog(np.ones((2, 2)), tmp_path / "a.tif")
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------------- sample sets


def sample_set():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5, 3, 2)).astype("float32")
    X[0, 0, 0] = np.nan
    return dm.make_samples(X, [1, 1, 2, 2, 3], [10, 10, 11, 12, 13], times=DATES, bands=["B04", "B08"],
                           x=np.arange(5.0), y=np.arange(5.0), crs="EPSG:32631",
                           class_names={1: "forest", 2: "wäter", 3: "crop land"}, attrs={"source": "test"})


def test_samples_round_trip(tmp_path):
    samples = sample_set()
    back = lio.read_samples(lio.write_samples(samples, tmp_path / "s.nc"))
    xr.testing.assert_identical(back, samples)
    assert np.issubdtype(back.time.dtype, np.datetime64)
    assert dm.class_names(back) == {1: "forest", 2: "wäter", 3: "crop land"}


def test_samples_errors(tmp_path):
    with pytest.raises(DataModelError, match="missing variable 'group'"):
        lio.write_samples(sample_set().drop_vars("group"), tmp_path / "bad.nc")
    with pytest.raises(DataModelError, match="cannot be stored as NetCDF"):
        lio.write_samples(sample_set().assign_attrs(meta={"a": 1}), tmp_path / "bad.nc")
    assert leftovers(tmp_path) == []
    xr.Dataset({"a": ("x", [1, 2])}).to_netcdf(tmp_path / "other.nc", engine="h5netcdf")
    with pytest.raises(ReadError, match=r"other\.nc does not hold a labkit sample set: .*missing variable 'X'"):
        lio.read_samples(tmp_path / "other.nc")
    (tmp_path / "table.csv").write_text("label,x\n1,2\n")
    with pytest.raises(ReadError, match=r"table\.csv is not a NetCDF file"):
        lio.read_samples(tmp_path / "table.csv")


# --------------------------------------------------------------------------------- atomic writes, overwrite


def _writers(tmp_path):
    cube = make_cube()
    return {
        "dates": (lambda **kw: lio.write_dates(cube, tmp_path / "dates", **kw), tmp_path / "dates"),
        "bands": (lambda **kw: lio.write_bands(cube, tmp_path / "bands", **kw), tmp_path / "bands"),
        "zarr": (lambda **kw: lio.write_zarr(cube, tmp_path / "out" / "c.zarr", **kw), tmp_path / "out"),
        "cog": (lambda **kw: lio.write_cog(cube.isel(time=0, band=0), tmp_path / "out" / "m.tif", **kw),
                tmp_path / "out"),
        "samples": (lambda **kw: lio.write_samples(sample_set(), tmp_path / "out" / "s.nc", **kw), tmp_path / "out"),
    }


# where each writer does its real work: failing there leaves a half-written temporary behind, unless cleaned
FAIL_AT = {
    "dates": ("labkit.io._encode", 2),  # the second date: one file is already written
    "bands": ("labkit.io._encode", 2),  # the second date: every band file is half written
    "zarr": ("xarray.Dataset.to_zarr", 1),
    "cog": ("labkit.io._to_cog", 1),  # the COG is written from the staged blocks: both files exist
    "samples": ("xarray.Dataset.to_netcdf", 1),
}


@pytest.mark.parametrize("layout", sorted(FAIL_AT))
def test_failed_write_leaves_nothing(tmp_path, monkeypatch, layout):
    write, folder = _writers(tmp_path)[layout]
    target, fail_on_call = FAIL_AT[layout]
    module_name, attr = target.rsplit(".", 1)
    owner = lio if module_name == "labkit.io" else xr.Dataset
    original = getattr(owner, attr)
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        result = original(*args, **kwargs)  # write for real, then fail
        if len(calls) >= fail_on_call:
            raise OSError("disk full")
        return result

    monkeypatch.setattr(owner, attr, failing)
    with pytest.raises(OSError, match="disk full"):
        write()
    assert len(calls) == fail_on_call
    assert not folder.exists(), leftovers(folder)  # the folder was created by the writer: removed too


@pytest.mark.parametrize("layout", sorted(FAIL_AT))
def test_overwrite_refused_then_allowed(tmp_path, layout):
    write, folder = _writers(tmp_path)[layout]
    first = write()
    before = leftovers(folder)
    with pytest.raises(lio.OutputExistsError, match=r"already exists\. Pass overwrite=True"):
        write()
    assert leftovers(folder) == before
    assert write(overwrite=True) == first
    assert leftovers(folder) == before  # replaced in place, no temporary left


def test_failed_overwrite_keeps_the_old_output(tmp_path, monkeypatch):
    cube = make_cube()
    store = lio.write_zarr(cube, tmp_path / "c.zarr")
    monkeypatch.setattr(lio, "_zarr_chunks", lambda cube: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        lio.write_zarr(cube * 2, store, overwrite=True)
    assert_same_cube(lio.read_zarr(store).compute(), cube)
    assert leftovers(tmp_path) == ["c.zarr"]


def test_atomic_paths_checks_before_writing(tmp_path):
    (tmp_path / "b.txt").write_text("old")
    with pytest.raises(lio.OutputExistsError, match=r"b\.txt already exists"):
        with lio.atomic_paths([tmp_path / "new" / "a.txt", tmp_path / "b.txt"]):
            raise AssertionError("the block must not run")
    assert leftovers(tmp_path) == ["b.txt"]
    with pytest.raises(ConfigError, match="same path"):
        with lio.atomic_paths([tmp_path / "a.txt", tmp_path / "a.txt"]):
            pass
    with pytest.raises(DataModelError):
        lio.write_dates(make_cube().transpose("band", "time", "y", "x"), tmp_path / "never")
    assert not (tmp_path / "never").exists()


# --------------------------------------------------------------------------------------------- labkit info


def test_info_describes_each_kind(tmp_path, capsys):
    cube = make_cube()
    tif = lio.write_dates(cube, tmp_path)[0]
    store = lio.write_zarr(cube, tmp_path / "c.zarr")
    samples = lio.write_samples(sample_set(), tmp_path / "s.nc")
    parser = argparse.ArgumentParser()
    info_cli.configure(parser)
    assert info_cli.run(parser.parse_args([str(tif), str(store), str(samples)])) == 0
    out = capsys.readouterr().out
    assert "raster (GTiff)" in out and "5 x 4 px, 2 layer(s)" in out and "B04, B08" in out
    assert "cube (Zarr)" in out and "3: 2020-01-01 .. 2020-01-21" in out and "EPSG:32631" in out
    assert "sample set (NetCDF)" in out and "1 forest: 2, 2 wäter: 2, 3 crop land: 1" in out
    assert "resolution  10 x 10" in out and "nodata share" in out
    assert "extent  500000, 3999960, 500050, 4000000 (west, south, east, north)" in out  # raster and cube alike
    assert out.count("extent (lon/lat)  3.00000, 36.14") == 2
    assert info_cli.run(parser.parse_args([str(tif), "--json"])) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["kind"] == "raster (GTiff)" and record["date"] == "2020-01-01"
    assert info_cli.run(parser.parse_args([str(tmp_path / "nothing.tif"), str(tif)])) == 2
    captured = capsys.readouterr()
    assert "nothing.tif: no such file" in captured.err and "raster (GTiff)" in captured.out


def test_info_of_a_cog(tmp_path):
    out = lio.write_cog(grid_map(np.ones((3, 3), "uint8")), tmp_path / "m.tif")
    assert lio.describe(out)["kind"] == "raster (COG)"


def reference_polygons():
    """Reference polygons as ``labkit synth`` writes them: polygon_id, class_id, class_name."""
    import geopandas as gpd
    from shapely.geometry import box

    return gpd.GeoDataFrame(
        {"polygon_id": [1, 2, 3], "class_id": [4, 2, 4], "class_name": ["grassland", "built-up", "grassland"]},
        geometry=[box(500000, 3999900, 500030, 3999950), box(500040, 3999900, 500050, 3999910),
                  box(500010, 3999960, 500020, 4000000)], crs="EPSG:32631")


@pytest.mark.parametrize("name", ["ref.gpkg", "ref.geojson", "ref.fgb", "ref.shp"])
def test_info_of_vector_files(tmp_path, name):
    path = tmp_path / name
    reference_polygons().to_file(path)
    info = lio.describe(path)
    assert info["kind"].startswith("vector (") and info["features"] == 3 and info["geometry"] == "Polygon"
    assert info["crs"] == "EPSG:32631"
    assert info["extent"] == "500000, 3999900, 500050, 4000000 (west, south, east, north)"
    assert info["extent (lon/lat)"].startswith("3.00000, 36.14")
    assert "polygon_id (int" in info["fields"] and "class_name (text)" in info["fields"]
    assert info["class field"] == "class_id" and info["classes"] == "2 built-up: 1, 4 grassland: 2"


def test_info_of_a_geopackage_of_layers_and_a_csv_of_points(tmp_path, capsys):
    gpkg = lio.write_vector(reference_polygons(), tmp_path / "ref.gpkg", layer="polygons")
    points = reference_polygons().assign(geometry=lambda f: f.centroid).to_crs("EPSG:4326")
    points.to_file(gpkg, layer="points", mode="a")
    info = lio.describe(gpkg)
    assert info["layers"] == ("polygons (Polygon, 3 features), points (Point, 3 features); described below: "
                              "'polygons'")
    table = pd.DataFrame({"longitude": [3.0, 3.1], "latitude": [36.1, 36.2], "label": ["crop", "crop"]})
    table.to_csv(tmp_path / "points.csv", index=False)
    parser = argparse.ArgumentParser()
    info_cli.configure(parser)
    assert info_cli.run(parser.parse_args([str(tmp_path / "points.csv"), "--json"])) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["kind"] == "vector (CSV)" and record["geometry"] == "Point" and record["crs"] == "EPSG:4326"
    assert record["extent"] == "3, 36.1, 3.1, 36.2 (west, south, east, north)" and "extent (lon/lat)" not in record
    assert record["fields"] == "longitude (float64), latitude (float64), label (text)"
    assert record["classes"] == "crop: 2"
    (tmp_path / "notes.txt").write_text("not data")
    with pytest.raises(ReadError, match=r"notes\.txt is neither a raster nor a vector file"):
        lio.describe(tmp_path / "notes.txt")


def test_info_of_foreign_cubes_and_a_sample_set_store(tmp_path):
    data = np.arange(2 * 3 * 4, dtype="int16").reshape(2, 3, 4)
    ds = xr.Dataset({"B04": (("t", "y", "x"), data), "B08": (("t", "y", "x"), data)},
                    coords={"t": pd.to_datetime(["2022-06-02", "2022-06-05"]), "y": [25.0, 15.0, 5.0],
                            "x": [5.0, 15.0, 25.0, 35.0]})
    ds.to_zarr(tmp_path / "nocrs.zarr", zarr_format=2)
    info = lio.describe(tmp_path / "nocrs.zarr")
    assert info["kind"] == "Zarr store (not a cube)" and "'B04' ('t', 'y', 'x')" in info["variables"]
    assert "no CRS found" in info["as a cube"] and "crs='EPSG:32632'" in info["as a cube"]
    ds.assign_attrs(epsg=32632).to_zarr(tmp_path / "openeo.zarr", zarr_format=2)
    info = lio.describe(tmp_path / "openeo.zarr")
    assert info["kind"] == "cube (Zarr, another layout)" and info["crs"] == "EPSG:32632"
    assert info["dates"] == "2: 2022-06-02 .. 2022-06-05" and info["bands"] == "B04, B08"
    assert info["extent"] == "0, 0, 40, 30 (west, south, east, north)" and info["nodata share"] == "0.0%"
    ds.assign_attrs(epsg=32632).to_netcdf(tmp_path / "cube.nc", engine="h5netcdf")
    info = lio.describe(tmp_path / "cube.nc")
    assert info["kind"] == "cube (NetCDF)" and info["dims"] == {"time": 2, "band": 2, "y": 3, "x": 4}
    ds.to_netcdf(tmp_path / "nocrs.nc", engine="h5netcdf")
    assert lio.describe(tmp_path / "nocrs.nc")["kind"] == "NetCDF (neither a sample set nor a cube)"
    info = lio.describe(lio.write_samples(sample_set(), tmp_path / "s.zarr"))
    assert info["kind"] == "sample set (Zarr)" and info["classes"] == "1 forest: 2, 2 wäter: 2, 3 crop land: 1"
    assert info["samples"] == 5 and info["nodata share"] == "3.3%"


# -------------------------------------------------------------------------------------------- real data


@pytest.mark.mirror
def test_modis_ndvi_series_dates_from_names(mirror):
    pattern = os.fspath(mirror / MODIS / "TERRA_MODIS_012010_NDVI_*.jp2")
    cube = lio.read_dates(pattern, bands=["NDVI"], scale=1e-4)
    assert cube.sizes == {"time": 12, "band": 1, "y": 147, "x": 255}
    assert str(cube.time.values[0])[:10] == "2013-09-14" and str(cube.time.values[-1])[:10] == "2014-08-29"
    assert cube.dtype == np.float32 and -1 <= float(cube.min()) and float(cube.max()) <= 1.1
    assert "+proj=sinu" in cube.rio.crs.to_proj4()
    lazy = lio.read_dates(pattern, bands="NDVI", scale=1e-4, chunks=64)
    assert isinstance(lazy.data, da.Array)
    np.testing.assert_array_equal(lazy.values, cube.values)


@pytest.mark.mirror
def test_tempcnn_image_has_no_georeference(mirror):
    image = mirror / TEMPCNN / "example/test_img.tif"
    with pytest.raises(ReadError, match=r"test_img\.tif has no georeferencing .* Pass crs= and transform="):
        lio.read_bands([image], dates=pd.date_range("2010-01-01", periods=447))
    cube = lio.read_bands([image], dates=pd.date_range("2010-01-01", periods=447), crs="EPSG:32631",
                          transform=(20.0, 0, 0.0, 0, -20.0, 320.0), chunks="auto")
    assert cube.sizes == {"time": 447, "band": 1, "y": 16, "x": 16} and isinstance(cube.data, da.Array)
    assert float(cube.isel(time=0).mean()) > 0


@pytest.mark.mirror
def test_mirror_text_files_are_not_rasters(mirror):
    readme = mirror / TEMPCNN / "README.md"
    with pytest.raises(ReadError, match=r"README\.md is not a raster that GDAL can read"):
        lio.read_dates([readme], bands=["NDVI"], dates=DATES[:1])
    with pytest.raises(ReadError, match=r"test_dataset\.csv is not a NetCDF file"):
        lio.read_samples(mirror / TEMPCNN / "example/test_dataset.csv")


@pytest.mark.mirror
def test_mirror_zarr_not_in_labkit_layout(mirror):
    cube = lio.read_zarr(mirror / S2_TINY, bands=["B04", "B08"], scale=1e-4)  # openEO's layout, through as_cube
    assert dict(cube.sizes) == {"time": 12, "band": 2, "y": 10, "x": 10} and cube.rio.crs.to_epsg() == 32632
    assert lio.describe(mirror / S2_TINY)["kind"] == "cube (Zarr, another layout)"


# --------------------------------------------------------------------------- readers: nodata, files of dates


@pytest.mark.parametrize(("dtype", "nodata"), [("float64", -1.7e308), ("float64", -3.4e38),
                                              ("float32", float(np.finfo("float32").min)), ("float32", -3.4e38)])
@pytest.mark.parametrize("chunks", [None, 2])
def test_float_nodata_at_the_end_of_the_range_reads_as_nan_without_warnings(tmp_path, dtype, nodata, chunks):
    big = 1e300 if dtype == "float64" else 1e38  # beyond float32's range in a float64 file: no float32 number
    path = write_tif(tmp_path / "x_2021-05-01.tif", np.array([[[nodata, 0.5, big, -2.0]]], dtype), nodata=nodata)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "overflow encountered in cast" would fail the read
        cube = lio.read_dates([path], bands=["B04"], chunks=chunks).values
        layers = lio.read_bands({"B04": path}, dates=["2021-05-01"], chunks=chunks).values
    expected = [np.nan, 0.5, np.nan if dtype == "float64" else 1e38, -2.0]
    np.testing.assert_allclose(cube.ravel(), np.float32(expected))
    np.testing.assert_array_equal(layers, cube)


def test_gdal_spelling_of_the_lowest_float32_is_its_nodata(tmp_path):
    # GDAL writes float32's lowest value in a header as -3.40282346638529e+38, a float64 just below it.
    values = np.array([[[np.finfo("float32").min, 1.0]]], "float32")
    for given in ({}, {"nodata": -3.40282346638529e38}):
        path = write_tif(tmp_path / "x_2021-05-01.tif", values, nodata=given.get("nodata", -3.40282346638529e38))
        cube = lio.read_dates([path], bands=["B04"], **given)
        assert np.isnan(cube.values[0, 0, 0, 0]) and cube.values[0, 0, 0, 1] == 1.0


def _band_stacks(folder, n_dates=3):
    """Two band files (B04, B08) of ``n_dates`` layers without dates, as sits and iota2 write them."""
    cube = make_cube(dates=pd.date_range("2021-03-01", periods=n_dates, freq="10D"))
    return cube, [write_tif(folder / f"{band}.tif", cube.sel(band=band).values) for band in ("B04", "B08")]


def test_band_files_with_a_file_of_dates(tmp_path):
    cube, files = _band_stacks(tmp_path)
    dates = tmp_path / "dates.txt"
    dates.write_text("# timeline of the series\n20210301\n\n2021-03-11   # ISO works too\n20210321\n")
    for given in (dates, str(dates)):
        back = lio.read_bands(files, dates=given)
        np.testing.assert_array_equal(back.values, cube.values)
        np.testing.assert_array_equal(back.time.values, cube.time.values)
        assert back.band.values.tolist() == ["B04", "B08"]
    lazy = lio.read_bands(files, dates=dates, chunks=2)
    assert isinstance(lazy.data, da.Array) and np.array_equal(lazy.values, cube.values, equal_nan=True)
    # one file per date, with the same file of dates
    per_date = lio.write_dates(cube, tmp_path / "per_date", prefix="image_")
    renamed = [p.rename(p.with_name(f"image_{i}.tif")) for i, p in enumerate(per_date)]  # no date in the names
    assert_same_cube(lio.read_dates(renamed, dates=dates), cube)


def test_a_file_of_dates_that_does_not_fit_is_named_with_the_counts(tmp_path):
    _, files = _band_stacks(tmp_path)
    dates = tmp_path / "dates.txt"
    dates.write_text("2021-03-01\n2021-03-11\n")
    with pytest.raises(ReadError, match=rf"{dates} lists 2 dates but {tmp_path / 'B04.tif'} has 3 layers; it must "
                                        r"list one date per layer"):
        lio.read_bands(files, dates=dates)
    with pytest.raises(ReadError, match=rf"{dates} lists 2 dates but there are 3 file\(s\) \(.*a\.tif \.\.\. "
                                        r".*c\.tif\); it must list one date per file"):
        lio.read_dates([write_tif(tmp_path / f"{c}.tif", np.zeros((1, 2, 2), "float32")) for c in "abc"],
                       dates=dates, bands=["B04"])
    with pytest.raises(ConfigError, match=r"read_bands: the files have 3 layers but 2 dates were given"):
        lio.read_bands(files, dates=["2021-03-01", "2021-03-11"])


@pytest.mark.parametrize(("text", "message"), [
    ("2021-03-01\n2021-03-11\nlater\n", r"dates\.txt, line 3: 'later' is not a date\. A file of dates holds one date "
                                        r"a line \(2021-05-01, or 20210501\), and comments after '#'"),
    ("2021-03-01\n2021-13-11\n2021-03-21\n", r"dates\.txt, line 2: '2021-13-11' is not a date"),
    ("# nothing yet\n\n", r"dates\.txt lists no date"),
    ("2021-03-01\n2021-03-01\n2021-03-21\n", r"have the same date 2021-03-01; the dates of .*dates\.txt must differ"),
])
def test_a_bad_file_of_dates_is_named_with_its_line(tmp_path, text, message):
    _, files = _band_stacks(tmp_path)
    (tmp_path / "dates.txt").write_text(text)
    with pytest.raises(ReadError, match=message):
        lio.read_bands(files, dates=tmp_path / "dates.txt")


def test_a_file_of_dates_that_is_missing_or_not_text(tmp_path):
    _, files = _band_stacks(tmp_path)
    with pytest.raises(ReadError, match=r"nowhere\.txt: no such file or folder"):
        lio.read_bands(files, dates=tmp_path / "nowhere.txt")
    with pytest.raises(ReadError, match=r"B04\.tif is not a text file of dates"):
        lio.read_bands(files, dates=files[0])
    with pytest.raises(ReadError, match=r"is a folder, not a file of dates"):
        lio.read_bands(files, dates=tmp_path)
    with pytest.raises(ConfigError, match=r"read_bands: dates='2021-03-01' is one date; give a list of dates"):
        lio.read_bands(files, dates="2021-03-01")


@pytest.mark.mirror
def test_modis_series_restacked_one_file_per_band_with_a_timeline(mirror, tmp_path):
    pattern = os.fspath(mirror / MODIS / "TERRA_MODIS_012010_NDVI_*.jp2")
    cube = lio.read_dates(pattern, bands=["NDVI"], scale=1e-4, nodata=-3000)  # MOD13's NDVI fill
    raw = np.round(cube.sel(band="NDVI").fillna(-0.3).values / 1e-4).astype("int16")  # back to the stored integers
    stack = write_tif(tmp_path / "NDVI.tif", raw, crs=cube.rio.crs, transform=cube.rio.transform())
    timeline = tmp_path / "dates.txt"
    timeline.write_text("# sits' MOD13Q1 timeline\n" + "\n".join(pd.DatetimeIndex(cube.time.values)
                                                               .strftime("%Y-%m-%d")) + "\n")
    back = lio.read_bands([stack], dates=timeline, scale=1e-4, nodata=-3000)
    assert_same_cube(back, cube)
    from labkit.masks import mask_from_nodata

    mask = mask_from_nodata(back)
    assert set(np.unique(mask.values).tolist()) == {0, 2}  # one band: all missing or none
    np.testing.assert_array_equal(mask.values == 2, np.isnan(cube.values[:, 0]))
    assert int((mask == 2).sum()) == 4  # the four pixels of value -3000 in sits' files
    assert mask.rio.crs == cube.rio.crs and "+proj=sinu" in mask.rio.crs.to_proj4()


def test_a_map_selected_from_a_stack_is_named_by_its_label(tmp_path, make_cube):
    from labkit.features import compute_features

    features = compute_features(make_cube(bands=("B04", "B08")), indices=["NDVI"], stats=["max", "mean"]).timeless
    path = lio.write_cog(features.sel(feature="NDVI_max"), tmp_path / "max.tif")
    with rasterio.open(path) as src:
        assert src.descriptions == ("NDVI_max",)
    renamed = features.sel(feature="NDVI_mean").drop_vars("feature").rename("mean NDVI")
    with rasterio.open(lio.write_cog(renamed, tmp_path / "mean.tif")) as src:
        assert src.descriptions == ("mean NDVI",)
