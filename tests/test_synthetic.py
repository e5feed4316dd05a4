"""Tests of labkit.datasets.synthetic (the synthetic Sentinel-2-like scene) and of ``labkit synth``."""

from __future__ import annotations

import argparse
import dataclasses
import tracemalloc

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rasterio.features import rasterize

from labkit.datamodel import Validity, validate
from labkit.datasets.synthetic import (
    CLASS_NAMES,
    S2_BANDS,
    SyntheticScene,
    make_synthetic_scene,
    vegetation_fraction,
)
from labkit.errors import ConfigError, OutputExistsError

pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning"),  # affine, through rioxarray
]


def compute(*arrays):
    """Compute several DataArrays at once, on threads."""
    return dask.compute(*(a.data for a in arrays), scheduler="threads")


def ndvi(cube: xr.DataArray) -> np.ndarray:
    red, nir = cube.sel(band="B04").values, cube.sel(band="B08").values
    return (nir - red) / (nir + red)


# --------------------------------------------------------------------------------------------- structure


def test_structure_follows_the_data_model():
    scene = make_synthetic_scene(70, 90, chunks=32, random_state=1)
    assert isinstance(scene, SyntheticScene)
    cube, mask, class_map = scene.cube, scene.mask, scene.class_map
    assert cube.dims == ("time", "band", "y", "x") and cube.shape == (36, 10, 70, 90)
    assert cube.dtype == np.float32 and mask.dtype == np.uint8 and np.issubdtype(class_map.dtype, np.integer)
    assert mask.dims == ("time", "y", "x") and class_map.dims == ("y", "x")
    assert list(cube.band.values) == list(S2_BANDS)
    assert np.issubdtype(cube.time.dtype, np.datetime64) and np.all(np.diff(cube.time.values) > np.timedelta64(0))
    assert pd.DatetimeIndex(cube.time.values).year.unique().tolist() == [2021]
    assert validate(cube) == "cube" and validate(mask) == "mask" and validate(class_map) == "class_map"
    for array in (cube, mask, class_map):
        assert isinstance(array.data, da.Array)
        assert array.rio.crs == cube.rio.crs == "EPSG:32631"
        np.testing.assert_array_equal(array.x, cube.x)
        np.testing.assert_array_equal(array.y, cube.y)
    assert tuple(cube.rio.transform())[:6] == (10.0, 0.0, 600000.0, 0.0, -10.0, 5000000.0)
    assert cube.x.values[0] == 600005.0 and cube.y.values[0] == 4999995.0
    assert cube.chunks == ((36,), (10,), (32, 32, 6), (32, 32, 26))
    assert mask.chunks == ((36,), (32, 32, 6), (32, 32, 26)) and class_map.chunks == ((32, 32, 6), (32, 32, 26))
    assert scene.class_names == {1: "water", 2: "built-up", 3: "evergreen forest", 4: "grassland",
                                 5: "summer crop", 6: "winter crop"}
    assert cube.attrs["random_state"] == 1
    assert "SyntheticScene(cube=(36, 10, 70, 90) float32" in repr(scene)
    with pytest.raises(dataclasses.FrozenInstanceError):
        scene.cube = None


def test_values_are_reflectances_and_codes():
    scene = make_synthetic_scene(64, 64, n_classes=8, random_state=2)
    cube, mask, class_map = compute(scene.cube, scene.mask, scene.class_map)
    finite = cube[np.isfinite(cube)]
    assert finite.size > 0.8 * cube.size
    assert finite.min() > 0 and finite.max() <= 1
    assert validate(scene.mask.copy(data=mask), check_values=True) == "mask"
    assert set(np.unique(class_map)) <= set(range(1, 9))


def test_options_grid_dates_and_bands():
    dates = ["2020-02-29", "2020-06-01", "2020-12-31"]
    scene = make_synthetic_scene(8, 12, dates=dates, bands=["B8A", "B03"], resolution=20.0, crs="EPSG:32633",
                                 origin=(300000.0, 4500000.0), random_state=5)
    assert list(scene.cube.time.values) == list(pd.to_datetime(dates).values)
    assert list(scene.cube.band.values) == ["B8A", "B03"]
    assert tuple(scene.cube.rio.transform())[:6] == (20.0, 0.0, 300000.0, 0.0, -20.0, 4500000.0)
    assert scene.cube.rio.crs == "EPSG:32633" and scene.polygons.crs == "EPSG:32633"
    ten = make_synthetic_scene(8, 8, dates=10)
    times = pd.DatetimeIndex(ten.cube.time.values)
    assert len(times) == 10 and set(np.diff(times).astype("timedelta64[D]").astype(int) % 5) == {0}
    default = pd.DatetimeIndex(make_synthetic_scene(8, 8).cube.time.values)
    assert len(default) == 36 and set(times) <= set(default)
    gaps = np.diff(default).astype("timedelta64[D]").astype(int)
    assert gaps.min() == 5 and gaps.max() > 5  # a 5-day revisit, irregularly kept
    seeded = make_synthetic_scene(8, 8, random_state=None)
    again = make_synthetic_scene(8, 8, random_state=seeded.cube.attrs["random_state"])
    np.testing.assert_array_equal(seeded.cube.values, again.cube.values)


# ------------------------------------------------------------------------------- determinism and chunking


def test_same_seed_same_values_other_seed_other_values():
    kwargs = dict(dates=8, bands=["B04", "B08"])
    a = make_synthetic_scene(48, 40, random_state=11, **kwargs)
    b = make_synthetic_scene(48, 40, random_state=11, **kwargs)
    c = make_synthetic_scene(48, 40, random_state=12, **kwargs)
    for x, y in zip(compute(a.cube, a.mask, a.class_map), compute(b.cube, b.mask, b.class_map)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.cube.values, c.cube.values, equal_nan=True)
    assert not np.array_equal(a.class_map.values, c.class_map.values)
    pd.testing.assert_frame_equal(a.polygons, b.polygons)


def test_values_do_not_depend_on_chunks():
    small = make_synthetic_scene(256, 300, chunks=64, random_state=7)
    large = make_synthetic_scene(256, 300, chunks=200, random_state=7)
    assert small.cube.data.numblocks == (1, 1, 4, 5) and large.cube.data.numblocks == (1, 1, 2, 2)
    for x, y in zip(compute(small.cube, small.mask, small.class_map), compute(large.cube, large.mask, large.class_map)):
        np.testing.assert_array_equal(x, y)
    pd.testing.assert_frame_equal(small.polygons, large.polygons)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**63 - 1),
    height=st.integers(1, 70),
    width=st.integers(1, 70),
    chunks=st.integers(6, 40),
    extra=st.tuples(st.integers(0, 30), st.integers(0, 30)),
)
@example(seed=0, height=3, width=5, chunks=1, extra=(0, 40))  # one-pixel chunks
@example(seed=2**63 - 1, height=1, width=1, chunks=1, extra=(200, 1))
def test_a_scene_is_the_crop_of_a_larger_one_whatever_the_chunks(seed, height, width, chunks, extra):
    # Fewer than 5 dates: no swath edge, whose position depends on the scene's width.
    kwargs = dict(dates=4, bands=["B02", "B11"], cloud_cover=0.5, random_state=seed)
    scene = make_synthetic_scene(height, width, chunks=chunks, **kwargs)
    larger = make_synthetic_scene(height + extra[0], width + extra[1], chunks=64, **kwargs)
    window = dict(y=slice(0, height), x=slice(0, width))
    got = compute(scene.cube, scene.mask, scene.class_map)
    expected = compute(larger.cube.isel(window), larger.mask.isel(window), larger.class_map.isel(window))
    for x, y in zip(got, expected):
        np.testing.assert_array_equal(x, y)


def test_a_band_does_not_depend_on_the_other_bands():
    full = make_synthetic_scene(40, 40, dates=6, random_state=3)
    some = make_synthetic_scene(40, 40, dates=6, bands=["B12", "B04"], random_state=3)
    np.testing.assert_array_equal(some.cube.values, full.cube.sel(band=["B12", "B04"]).values)


def test_a_full_tile_is_lazy_and_computed_block_by_block():
    scene = make_synthetic_scene(10980, 10980, dates=12, chunks=256, random_state=0)
    cube = scene.cube
    assert isinstance(cube.data, da.Array) and isinstance(scene.mask.data, da.Array)
    assert cube.chunks[:2] == ((12,), (10,))  # a chunk holds every date and every band
    assert set(cube.chunks[2][:-1]) == set(cube.chunks[3][:-1]) == {256}
    assert cube.chunks[2][-1] == cube.chunks[3][-1] == 10980 - 42 * 256
    assert scene.mask.chunks[1:] == scene.class_map.chunks == cube.chunks[2:]
    assert len(scene.polygons) == 60
    block = cube.data.blocks[0, 0, 20, 31]
    assert block.shape == (12, 10, 256, 256)
    tracemalloc.start()
    try:
        values = block.compute(scheduler="synchronous")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.isfinite(values).any()
    assert peak < 0.05 * cube.nbytes
    assert peak < 5 * values.nbytes  # the block and its working arrays, nothing of the rest of the tile


# ------------------------------------------------------------------------------------------ clouds and gaps


def test_mask_matches_clouds_shadows_and_gaps():
    kwargs = dict(bands=["B02", "B04", "B08", "B11"], random_state=4)
    scene = make_synthetic_scene(160, 160, cloud_cover=0.4, **kwargs)
    clear = make_synthetic_scene(160, 160, cloud_cover=0.0, **kwargs)
    cube, mask, clear_cube, clear_mask = compute(scene.cube, scene.mask, clear.cube, clear.mask)
    nan = np.isnan(cube)
    assert np.array_equal(nan, np.broadcast_to((mask == Validity.NO_DATA)[:, None], cube.shape))
    assert np.array_equal(clear_mask == Validity.NO_DATA, mask == Validity.NO_DATA)
    assert not (clear_mask == Validity.INVALID).any()
    valid = mask == Validity.VALID
    np.testing.assert_array_equal(cube.transpose(1, 0, 2, 3)[:, valid], clear_cube.transpose(1, 0, 2, 3)[:, valid])
    invalid = mask == Validity.INVALID
    blue, clear_blue = cube[:, 0], clear_cube[:, 0]
    cloud = invalid & (blue > clear_blue)
    shadow = invalid & (cube < clear_cube).all(axis=1)
    assert np.array_equal(cloud | shadow, invalid) and not (cloud & shadow).any()
    assert (blue[cloud] > 0.25).mean() > 0.9  # clouds are bright
    acquired = mask != Validity.NO_DATA
    assert cloud.sum() / acquired.sum() == pytest.approx(0.4, abs=0.08)
    assert 0.02 < shadow.sum() / acquired.sum() < 0.2


def test_cloud_cover_varies_over_dates_and_follows_the_parameter():
    fractions = {}
    for cover in (0.0, 0.15, 0.6, 1.0):
        scene = make_synthetic_scene(128, 128, bands=["B02"], cloud_cover=cover, random_state=9)
        mask = scene.mask.values
        acquired = mask != Validity.NO_DATA
        per_date = (mask == Validity.INVALID).sum(axis=(1, 2)) / acquired.sum(axis=(1, 2))
        fractions[cover] = per_date
    assert (fractions[0.0] == 0).all() and (fractions[1.0] == 1).all()
    assert fractions[0.15].mean() < fractions[0.6].mean()
    assert fractions[0.15].mean() == pytest.approx(0.15 * 1.15, abs=0.08)  # clouds and their shadows
    assert (fractions[0.6] < 0.05).sum() >= 2 and (fractions[0.6] > 0.9).sum() >= 3  # clear and overcast dates


def test_some_dates_have_a_swath_edge():
    mask = make_synthetic_scene(64, 64, bands=["B02"], cloud_cover=0.0, random_state=6).mask.values
    missing = (mask == Validity.NO_DATA).mean(axis=(1, 2))
    assert (missing > 0).sum() == 4  # a tenth of the 36 dates
    assert (missing < 1).all()
    few = make_synthetic_scene(16, 16, dates=4, bands=["B02"]).mask.values
    assert not (few == Validity.NO_DATA).any()


# ----------------------------------------------------------------------------------------------- phenology


@pytest.fixture(scope="module")
def red_nir():
    scene = make_synthetic_scene(256, 256, n_classes=8, bands=["B04", "B08"], random_state=0)
    cube, mask, class_map = compute(scene.cube, scene.mask, scene.class_map)
    return scene, scene.cube.copy(data=cube), mask, class_map


def class_ndvi(red_nir, code):
    """Mean NDVI of the valid pixels of a class, per date."""
    scene, cube, mask, class_map = red_nir
    values = ndvi(cube)
    chosen = (class_map == code)[None] & (mask == Validity.VALID)
    return np.array([values[t][chosen[t]].mean() if chosen[t].sum() > 20 else np.nan for t in range(len(values))])


def test_ndvi_follows_the_class_curves(red_nir):
    scene = red_nir[0]
    for code in range(1, 9):
        mean = class_ndvi(red_nir, code)
        curve = vegetation_fraction(code, scene.cube.time.values)
        seen = np.isfinite(mean)
        assert seen.sum() > 15
        if code not in (1, 7):  # water and bare soil hardly change
            assert np.corrcoef(mean[seen], curve[seen])[0, 1] > 0.95, CLASS_NAMES[code]


def test_phenology_of_crops_forest_and_water(red_nir):
    months = pd.DatetimeIndex(red_nir[0].cube.time.values).month
    summer_crop, winter_crop = class_ndvi(red_nir, 5), class_ndvi(red_nir, 6)
    assert months[np.nanargmax(summer_crop)] in (6, 7, 8)
    assert months[np.nanargmax(winter_crop)] in (4, 5)
    assert np.nanmax(summer_crop) > 0.7 and np.nanmin(summer_crop) < 0.3  # bare soil, then a full canopy
    assert np.nanmin(class_ndvi(red_nir, 3)) > 0.7  # evergreen forest
    assert np.nanmax(class_ndvi(red_nir, 1)) < 0  # water
    deciduous = class_ndvi(red_nir, 8)
    assert np.nanmean(deciduous[np.isin(months, (6, 7, 8))]) > np.nanmean(deciduous[np.isin(months, (1, 2, 12))]) + 0.3


def test_vegetation_fraction():
    days = np.arange(1, 366)
    for code in CLASS_NAMES:
        f = vegetation_fraction(code, days)
        assert f.shape == (365,) and f.dtype == np.float32 and 0 <= f.min() <= f.max() <= 1
    summer = vegetation_fraction(5, days)
    assert summer[:120].max() < 0.1 and summer[180:225].min() > 0.8 and summer[290:].max() < 0.1  # harvested
    np.testing.assert_allclose(vegetation_fraction(6, ["2021-05-01"]), vegetation_fraction(6, [121]))
    with pytest.raises(ConfigError, match=r"vegetation_fraction: class_id must be one of \[1, 2, .*got 9"):
        vegetation_fraction(9, days)


# ------------------------------------------------------------------------------------------------ polygons


def burn(polygons: gpd.GeoDataFrame, like: xr.DataArray, column: str) -> np.ndarray:
    return rasterize(zip(polygons.geometry, polygons[column]), out_shape=like.shape, transform=like.rio.transform(),
                     fill=0, dtype="int32")


@pytest.mark.parametrize("size, seed", [((256, 256), 0), ((300, 170), 8)])
def test_polygons_are_pure_fields_of_their_class(size, seed):
    scene = make_synthetic_scene(*size, n_classes=7, random_state=seed)
    polygons, class_map = scene.polygons, scene.class_map.values
    assert list(polygons.columns) == ["polygon_id", "class_id", "class_name", "geometry"]
    assert polygons.crs == scene.cube.rio.crs
    assert polygons.polygon_id.is_unique and 30 <= len(polygons) <= 60
    assert all(scene.class_names[c] == n for c, n in zip(polygons.class_id, polygons.class_name))
    classes = burn(polygons, scene.class_map, "class_id")
    inside = classes > 0
    assert np.array_equal(class_map[inside], classes[inside])
    ids = burn(polygons, scene.class_map, "polygon_id")
    assert set(np.unique(ids[inside])) == set(polygons.polygon_id)  # every polygon holds pixels
    assert polygons.geometry.area.sum() == pytest.approx(polygons.geometry.union_all().area)  # they never overlap
    # Shrunk by one pixel: a polygon's outer ring of pixels still belongs to its field.
    grown = polygons.assign(geometry=polygons.geometry.buffer(10.0, join_style="mitre"))
    grown_classes = burn(grown, scene.class_map, "class_id")
    assert np.array_equal(class_map[grown_classes > 0], grown_classes[grown_classes > 0])


def test_polygons_are_spread_over_classes_on_a_tile():
    scene = make_synthetic_scene(10980, 10980, n_classes=8, n_polygons=80, random_state=1)
    counts = scene.polygons.class_id.value_counts()
    assert len(scene.polygons) == 80 and set(counts.index) == set(range(1, 9)) and (counts == 10).all()
    xmin, ymin, xmax, ymax = scene.polygons.total_bounds
    left, bottom, right, top = scene.cube.rio.bounds()
    assert left <= xmin and xmax <= right and bottom <= ymin and ymax <= top
    assert xmax - xmin > 0.5 * (right - left) and ymax - ymin > 0.5 * (top - bottom)  # spread over the tile
    some = scene.polygons.sample(5, random_state=0)
    for polygon in some.itertuples():
        window = scene.class_map.rio.clip_box(*polygon.geometry.buffer(-1.0).bounds).values
        assert (window == polygon.class_id).all()
    assert len(make_synthetic_scene(64, 64, n_polygons=0).polygons) == 0


# ----------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(height=0), r"make_synthetic_scene: height must be a positive int; got 0\."),
        (dict(width=12.5), r"width must be a positive int; got 12\.5\."),
        (dict(height=True), r"height must be a positive int; got True\."),
        (dict(bands=["B04", "B99", "red"]), r"unknown band name\(s\) \['B99', 'red'\]; choose among \['B02'"),
        (dict(bands=["B04", "B04"]), r"bands \['B04'\] are given more than once"),
        (dict(bands=[]), r"bands is empty"),
        (dict(n_classes=1), r"n_classes must be an int in \[2, 8\] \(the classes are \['water'.*got 1\."),
        (dict(n_classes=9), r"n_classes must be an int in \[2, 8\]"),
        (dict(cloud_cover=1.5), r"cloud_cover must be a fraction in \[0, 1\]; got 1\.5\."),
        (dict(cloud_cover=-0.1), r"cloud_cover must be a fraction in \[0, 1\]"),
        (dict(dates=0), r"dates must be a number of dates in \[1, 73\]"),
        (dict(dates=100), r"dates must be a number of dates in \[1, 73\]"),
        (dict(dates="2021-01-01"), r"dates must be None, an int or a sequence of dates; got str"),
        (dict(dates=["2021-05-01", "2021-04-01"]), r"dates must be strictly increasing"),
        (dict(dates=["2021-05-01", "2021-05-01"]), r"dates must be strictly increasing"),
        (dict(dates=["2021-05-01", "not a date"]), r"dates could not be read as dates"),
        (dict(dates=[]), r"dates is empty"),
        (dict(resolution=0), r"resolution must be a positive number"),
        (dict(resolution=float("nan")), r"resolution must be a positive number"),
        (dict(crs="EPSG:4326"), r"crs must be a projected CRS in metres, like 'EPSG:32631'; got EPSG:4326"),
        (dict(crs="not a crs"), r"crs 'not a crs' is not a CRS"),
        (dict(origin=(1.0,)), r"origin must be two finite numbers"),
        (dict(origin=(0.0, float("inf"))), r"origin must be two finite numbers"),
        (dict(chunks=0), r"chunks must be a positive int; got 0\."),
        (dict(n_polygons=-1), r"n_polygons must be an int >= 0; got -1\."),
        (dict(random_state=-1), r"random_state must be an int seed in \[0, 2\*\*63\) or None; got -1\."),
        (dict(random_state=np.random.default_rng(0)), r"random_state must be an int seed"),
    ],
)
def test_bad_parameters_raise_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        make_synthetic_scene(**{"height": 16, "width": 16, **kwargs})


# ------------------------------------------------------------------------------------------------------ CLI


def run_synth(argv: list[str]) -> int:
    from labkit.cli import synth

    parser = argparse.ArgumentParser(prog="labkit synth")
    synth.configure(parser)
    return synth.run(parser.parse_args(argv))


def test_cli_writes_a_store_that_reads_back(tmp_path, capsys):
    from labkit.io import read_zarr

    out = tmp_path / "scenes" / "tile.zarr"
    argv = ["--out", str(out), "--size", "40", "56", "--dates", "7", "--seed", "3", "--chunks", "32",
            "--cloud-cover", "0.5"]
    assert run_synth(argv) == 0
    summary = capsys.readouterr().out.strip()
    assert summary.count("\n") == 0 and str(out) in summary and "7 dates x 10 bands x 40 x 56 px" in summary
    assert sorted(p.name for p in out.parent.iterdir()) == ["tile.gpkg", "tile.zarr"]  # no temporary left
    expected = make_synthetic_scene(40, 56, dates=7, random_state=3, cloud_cover=0.5)
    with xr.open_zarr(out, decode_coords="all") as store:  # plain xarray reads it
        assert store.attrs["labkit_layout"]
        assert store.cube.chunks == ((7,), (10,), (32, 8), (32, 24))
        np.testing.assert_array_equal(store.cube.values, expected.cube.values)
        np.testing.assert_array_equal(store.mask.values, expected.mask.values)
        np.testing.assert_array_equal(store.class_map.values, expected.class_map.values)
        assert store.cube.rio.crs == expected.cube.rio.crs
    cube, mask = read_zarr(out, with_mask=True)  # and so does labkit
    xr.testing.assert_identical(cube, expected.cube.compute().rename(None))
    xr.testing.assert_equal(mask, expected.mask.compute())
    polygons = gpd.read_file(out.with_suffix(".gpkg"))
    pd.testing.assert_frame_equal(pd.DataFrame(polygons.drop(columns="geometry")),
                                  pd.DataFrame(expected.polygons.drop(columns="geometry")), check_dtype=False)
    assert polygons.geometry.geom_equals(expected.polygons.geometry).all()

    with pytest.raises(OutputExistsError, match=r"tile\.zarr already exists\. Pass overwrite=True \(--overwrite\)"):
        run_synth(argv)
    assert run_synth(argv[:-2] + ["--cloud-cover", "0.1", "--overwrite", "--no-progress"]) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["tile.gpkg", "tile.zarr"]
    assert read_zarr(out).attrs["cloud_cover"] == 0.1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--cloud-cover", "2"], "argument --cloud-cover: expected a number from 0 to 1, got '2'"),
        (["--size", "0", "10"], "argument --size: expected an integer >= 1, got '0'"),
        (["--dates", "200"], "argument --dates: expected an integer from 1 to 73, got '200'"),
    ],
)
def test_cli_leaves_nothing_on_bad_input(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit):  # argparse's error: usage and the option's problem, before any work
        run_synth(["--out", str(tmp_path / "new" / "scene.zarr"), *argv])
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigError, match=r"--out must name a Zarr store ending in \.zarr"):
        run_synth(["--out", str(tmp_path / "scene.nc")])
    assert list(tmp_path.iterdir()) == []


def test_cli_leaves_nothing_when_writing_fails(tmp_path, monkeypatch):
    def fail(self, path, *args, **kwargs):
        open(path, "w").close()  # a half-written file
        raise OSError("disk full")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", fail)
    with pytest.raises(OSError, match="disk full"):
        run_synth(["--out", str(tmp_path / "new" / "scene.zarr"), "--size", "16", "16", "--dates", "3",
                   "--no-progress"])
    assert list(tmp_path.iterdir()) == []
