"""The block engine: blocks fit the memory budget and the storage tiles, halos leave no seams, tile ids are stable."""

import math

import dask.array as da
import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

import labkit.datamodel as dm
from labkit.errors import ConfigError, DataModelError
from labkit.tiling import (MIN_SPLIT_PIXELS, block_shape, blocked, internal_tiles, map_blocks, parse_memory, reduce_blocks, store,
                           tile_grid)


def _cube(height=37, width=41, seed=0):
    data = np.random.default_rng(seed).normal(size=(2, 1, height, width)).astype("float32")
    return dm.make_cube(data, ["2020-01-01", "2020-02-01"], ["B"], transform=(10, 0, 0, 0, -10, 1000),
                        crs="EPSG:32631")


def _smooth(values):  # a 5 x 5 mean filter over y and x: reads 2 pixels around each pixel
    return ndimage.uniform_filter(values, size=(1,) * (values.ndim - 2) + (5, 5), mode="nearest")


# ------------------------------------------------------------------------------------------------ block sizes


@settings(max_examples=80, deadline=None)
@given(height=st.integers(1, 5000), width=st.integers(1, 5000), per_pixel=st.floats(1, 5000),
       budget=st.integers(10**5, 10**9), workers=st.integers(1, 16), halo=st.integers(0, 40),
       tile=st.sampled_from([None, (256, 256), (512, 128)]), multiple=st.sampled_from([1, 8]))
def test_blocks_fit_the_budget_and_the_tiles(height, width, per_pixel, budget, workers, halo, tile, multiple):
    try:
        bh, bw = block_shape(height, width, per_pixel, memory=budget, workers=workers, halo=halo, tiles=tile,
                             multiple=multiple)
    except ConfigError as error:
        assert "cannot hold" in str(error) and "Raise the budget" in str(error)
        assert (min(multiple, height) + 2 * halo) * (min(multiple, width) + 2 * halo) * per_pixel * workers > budget
        return
    assert 1 <= bh <= height and 1 <= bw <= width
    if bh * bw >= 4 * MIN_SPLIT_PIXELS * workers and (bh > 2 * multiple or bw > 2 * multiple):
        assert math.ceil(height / bh) * math.ceil(width / bw) >= workers  # a block for every worker
    assert (bh + 2 * halo) * (bw + 2 * halo) * per_pixel * workers <= budget
    for side, size, step in ((bh, height, (tile or (1, 1))[0]), (bw, width, (tile or (1, 1))[1])):
        assert side == size or side % multiple == 0
        fits_a_tile = (np.lcm(step, multiple) + 2 * halo) ** 2 * per_pixel * workers <= budget
        if fits_a_tile and side != size and side >= 2 * np.lcm(step, multiple):
            assert side % np.lcm(step, multiple) == 0  # whole storage tiles when one fits


def test_memory_budgets_are_read_like_dask_sizes():
    assert parse_memory("2GB") == 2 * 10**9 and parse_memory("1.5 GiB") == 3 * 2**29 and parse_memory(10) == 10
    for bad in ("lots", -5, 0, True, None):
        with pytest.raises(ConfigError, match="memory budget must be a size"):
            parse_memory(bad)


def test_internal_tiles_of_a_file_and_of_dask(tmp_path):
    path = tmp_path / "tiled.tif"
    with rasterio.open(path, "w", driver="GTiff", height=1000, width=700, count=1, dtype="uint8", tiled=True,
                       blockxsize=256, blockysize=256, crs="EPSG:32631",
                       transform=rasterio.Affine(10, 0, 0, 0, -10, 0)) as dst:
        dst.write(np.zeros((1, 1000, 700), "uint8"))
    with rioxarray.open_rasterio(path) as raster:
        assert internal_tiles(raster) == (256, 256)
        block = block_shape(1000, 700, 3, memory="1MB", workers=1, tiles=internal_tiles(raster))
        assert block == (512, 512)
        chunks = blocked(raster, block).chunks
        assert chunks[1:] == ((512, 488), (512, 188))
    assert internal_tiles(_cube()) is None
    assert internal_tiles(_cube().chunk({"y": 10, "x": 12})) == (10, 12)


def test_a_thin_last_block_joins_the_one_before():
    array = xr.DataArray(np.zeros((2, 21, 9)), dims=("time", "y", "x"))
    assert blocked(array, (10, 4), halo=2).chunks == ((2,), (10, 11), (4, 5))
    assert blocked(array, (10, 4)).chunks == ((2,), (10, 10, 1), (4, 4, 1))


# -------------------------------------------------------------------------------------------------- mapping


@pytest.mark.parametrize("block", [(5, 5), (8, 16), (16, 8), (64, 64)])
def test_neighbourhood_filter_has_no_seams(block):
    cube = _cube()
    whole = _smooth(cube.values)
    tiled = map_blocks(_smooth, cube, block=block, halo=2)
    np.testing.assert_allclose(tiled.values, whole, rtol=1e-6)
    assert tiled.rio.crs == cube.rio.crs and tiled.dims == cube.dims
    assert np.array_equal(tiled.time, cube.time) and np.array_equal(tiled.x, cube.x)
    without_halo = map_blocks(_smooth, cube, block=block, halo=0)
    if block[0] < 37:
        assert not np.allclose(without_halo.values, whole)  # the test can see seams


@settings(max_examples=25, deadline=None)
@given(height=st.integers(1, 40), width=st.integers(1, 40), by=st.integers(1, 12), bx=st.integers(1, 12),
       halo=st.integers(0, 6), chunked=st.booleans())
def test_any_blocks_and_halo_give_the_whole_result(height, width, by, bx, halo, chunked):
    image = xr.DataArray(np.random.default_rng(height * width).random((height, width)), dims=("y", "x"))
    if chunked:
        image = image.chunk({"y": by, "x": bx})

    def window_max(values):  # reads `halo` pixels around each pixel
        return ndimage.maximum_filter(values, size=2 * halo + 1, mode="nearest")

    tiled = map_blocks(window_max, image, halo=halo, block=(by, bx))
    assert isinstance(tiled.data, da.Array) == chunked  # lazy on dask, computed otherwise
    np.testing.assert_array_equal(np.asarray(tiled.values), window_max(image.values))


def test_origin_says_where_each_window_starts():
    image = xr.DataArray(np.zeros((10, 7)), dims=("y", "x"))

    def positions(values, origin):
        rows = np.arange(values.shape[0])[:, None] + origin[0]
        cols = np.arange(values.shape[1])[None, :] + origin[1]
        return rows * 100 + cols

    for halo in (0, 2):
        out = map_blocks(positions, image, halo=halo, block=(4, 3), origin=True)
        assert np.array_equal(out.values, np.arange(10)[:, None] * 100 + np.arange(7)[None, :])


def test_several_inputs_new_dims_and_dtype():
    cube = _cube().chunk({"y": 16, "x": 16})
    mask = xr.DataArray(np.zeros((2, 37, 41), "uint8"), dims=("time", "y", "x")).chunk({"y": 16, "x": 16})

    def stats(values, codes):
        return np.stack([values[:, 0].mean(axis=0), (codes == 0).sum(axis=0)])

    out = map_blocks(stats, cube, mask, new_dims={"stat": ["mean", "count"]}, dtype="float32")
    assert out.dims == ("stat", "y", "x") and list(out.stat.values) == ["mean", "count"]
    assert out.dtype == np.float32 and isinstance(out.data, da.Array)
    np.testing.assert_allclose(out.sel(stat="mean").values, cube.values[:, 0].mean(axis=0), rtol=1e-6)
    assert (out.sel(stat="count") == 2).all()


def test_map_blocks_refuses_bad_input():
    cube = _cube()
    with pytest.raises(ConfigError, match=r"must return an array of shape \(2, 1, \d+, \d+\) for a block of .*; got"):
        map_blocks(lambda b: b[..., 1:, :], cube, block=(16, 16))
    other = xr.DataArray(np.zeros((5, 5)), dims=("y", "x"))
    with pytest.raises(DataModelError, match="input 1 is 5 x 5 pixels, input 0 is 37 x 41"):
        map_blocks(lambda a, b: a, cube, other)
    with pytest.raises(DataModelError, match=r"last dims are \(y, x\)"):
        map_blocks(lambda a: a, cube.transpose("y", "x", "time", "band"))
    with pytest.raises(ConfigError, match="halo must be an integer >= 0"):
        map_blocks(lambda a: a, cube, halo=-1)
    with pytest.raises(ConfigError, match="cannot hold"):
        map_blocks(lambda a: a, cube, memory=10)


def test_a_budget_bounds_the_blocks_in_flight():
    cube = _cube(200, 300)
    seen = []

    def record(values):
        seen.append(values.shape[-2:])
        return values

    map_blocks(record, cube, memory=2 * 100 * 100 * 8 * 3, workers=2, bytes_per_pixel=8 * 3)
    assert max(h * w for h, w in seen) <= 100 * 100
    assert sum(h * w for h, w in seen) == 200 * 300


# ------------------------------------------------------------------------------------------ folding, storing


def test_reduce_blocks_sees_every_pixel_once_with_its_offset():
    values = np.arange(37 * 41).reshape(37, 41)
    image = xr.DataArray(values, dims=("y", "x"))

    def check(block, y0, x0):
        assert np.array_equal(block, values[y0:y0 + block.shape[0], x0:x0 + block.shape[1]])
        return int(block.sum()), block.size

    parts = reduce_blocks(check, list, image.chunk({"y": 10, "x": 16}))
    assert len(parts) == 4 * 3
    assert sum(p[0] for p in parts) == values.sum() and sum(p[1] for p in parts) == values.size
    assert reduce_blocks(lambda b, y0, x0: int(b.sum()), sum, image, block=(5, 7)) == values.sum()


def test_store_computes_shared_blocks_once():
    calls = []

    def count(block):
        if block.size:  # dask calls it once on an empty array, to learn its type
            calls.append(1)
        return block

    source = da.ones((40, 40), chunks=10).map_blocks(count, dtype=float)
    a, b = np.zeros((40, 40)), np.zeros((40, 40))
    store([source, source * 2], [a, b], progress=True)
    assert a.sum() == 1600 and b.sum() == 3200 and len(calls) == 16


# ---------------------------------------------------------------------------------------------------- tiles


def test_tile_ids_are_stable_across_regions():
    small = tile_grid((2500, 2500, 4500, 3500), 1000, crs="EPSG:32631")
    large = tile_grid((0, 0, 10000, 10000), 1000, crs="EPSG:32631")
    assert set(small.tile_id) <= set(large.tile_id)
    for tile_id, geometry in zip(small.tile_id, small.geometry):
        assert geometry.equals(large.set_index("tile_id").geometry[tile_id])
    assert small.union_all().contains(__import__("shapely").box(2500, 2500, 4500, 3500))
    assert set(small.geometry.area) == {1e6}
    with pytest.raises(ConfigError, match="xmax > xmin"):
        tile_grid((10, 0, 0, 10), 5, crs="EPSG:32631")


def test_gap_filling_per_block_equals_the_whole_cube():
    from labkit.datasets import load_slovenia
    from labkit.gapfill import fill_gaps

    data = load_slovenia()
    whole, _ = fill_gaps(data.cube, data.mask, step=10)
    tiled, _ = fill_gaps(blocked(data.cube, (32, 32)), blocked(data.mask, (32, 32)), step=10)
    assert tiled.chunks[-2][0] == 32
    np.testing.assert_array_equal(tiled.values, whole.values)
