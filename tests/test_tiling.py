"""Tiling: blocks partition the grid, halos hold the neighbours, stitching leaves no seams, tile ids are stable."""

import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

import labkit.datamodel as dm
from labkit.errors import ConfigError, ReadError
from labkit.tiling import count_blocks, iter_blocks, map_blocks, tile_grid


@settings(max_examples=60, deadline=None)
@given(height=st.integers(1, 60), width=st.integers(1, 60), size=st.integers(1, 25), halo=st.integers(0, 5))
def test_cores_partition_the_grid_and_reads_hold_the_halo(height, width, size, halo):
    cover = np.zeros((height, width), int)
    blocks = list(iter_blocks((height, width), size, halo=halo))
    assert len(blocks) == count_blocks((height, width), size)
    for block in blocks:
        cover[block.core] += 1
        ry, rx = block.read
        cy, cx = block.core
        assert ry.start == max(0, cy.start - halo) and ry.stop == min(height, cy.stop + halo)
        assert rx.start == max(0, cx.start - halo) and rx.stop == min(width, cx.stop + halo)
        inner = np.arange(height * width).reshape(height, width)[block.read][block.inner]
        assert np.array_equal(inner, np.arange(height * width).reshape(height, width)[block.core])
    assert (cover == 1).all()
    assert len({b.id for b in blocks}) == len(blocks)


def _cube(height=37, width=41, seed=0):
    data = np.random.default_rng(seed).normal(size=(2, 1, height, width)).astype("float32")
    return dm.make_cube(data, ["2020-01-01", "2020-02-01"], ["B"], transform=(10, 0, 0, 0, -10, 1000),
                        crs="EPSG:32631")


@pytest.mark.parametrize("block_size", [5, 8, 16, 64])
def test_neighbourhood_filter_has_no_seams(block_size):
    cube = _cube()

    def smooth(block):  # a 5 x 5 mean filter: needs 2 pixels of halo
        return block.copy(data=ndimage.uniform_filter(block.values, size=(1, 1, 5, 5), mode="nearest"))

    whole = smooth(cube)
    tiled = map_blocks(smooth, cube, block_size=block_size, halo=2)
    np.testing.assert_allclose(tiled.values, whole.values, rtol=1e-6)
    assert tiled.rio.crs == cube.rio.crs and tiled.dims == cube.dims
    without_halo = map_blocks(smooth, cube, block_size=block_size, halo=0)
    if block_size < 37:
        assert not np.allclose(without_halo.values, whole.values)  # the test can see seams


def test_map_blocks_streams_dask_and_checks_the_result_shape():
    cube = _cube().chunk({"y": 10, "x": 10})
    out = map_blocks(lambda b: b.mean("time"), cube, block_size=16)
    np.testing.assert_allclose(out.values, cube.mean("time").values, rtol=1e-6)
    with pytest.raises(ConfigError, match="must return"):
        map_blocks(lambda b: b.isel(y=slice(1, None)), cube, block_size=16)


def test_blocks_align_with_the_file_internal_tiles(tmp_path):
    path = tmp_path / "tiled.tif"
    profile = dict(driver="GTiff", height=1000, width=700, count=1, dtype="uint8", tiled=True, blockxsize=256,
                   blockysize=256, crs="EPSG:32631", transform=rasterio.Affine(10, 0, 0, 0, -10, 0))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.zeros((1, 1000, 700), "uint8"))
    blocks = list(iter_blocks(path, 300))
    assert {b.height for b in blocks} <= {256, 1000 - 3 * 256}
    assert all(b.y0 % 256 == 0 and b.x0 % 256 == 0 for b in blocks)
    assert len(list(iter_blocks(path, 300, align=False))) == count_blocks(path, 300, align=False) == 4 * 3


def test_bad_inputs():
    with pytest.raises(ConfigError, match="block_size must be positive"):
        list(iter_blocks((10, 10), 0))
    with pytest.raises(ConfigError, match="halo must be >= 0"):
        list(iter_blocks((10, 10), 4, halo=-1))
    with pytest.raises(ReadError, match="not a raster"):
        list(iter_blocks(__file__, 4))
    with pytest.raises(ConfigError, match="xmax > xmin"):
        tile_grid((10, 0, 0, 10), 5, crs="EPSG:32631")


def test_tile_ids_are_stable_across_regions():
    small = tile_grid((2500, 2500, 4500, 3500), 1000, crs="EPSG:32631")
    large = tile_grid((0, 0, 10000, 10000), 1000, crs="EPSG:32631")
    assert set(small.tile_id) <= set(large.tile_id)
    for tile_id, geometry in zip(small.tile_id, small.geometry):
        assert geometry.equals(large.set_index("tile_id").geometry[tile_id])
    assert small.union_all().contains(__import__("shapely").box(2500, 2500, 4500, 3500))
    assert set(small.geometry.area) == {1e6}


def test_read_block_returns_the_window_with_its_georeference(tmp_path):
    from labkit.tiling import read_block

    path = tmp_path / "r.tif"
    values = np.arange(70 * 50, dtype="uint16").reshape(1, 70, 50)
    with rasterio.open(path, "w", driver="GTiff", height=70, width=50, count=1, dtype="uint16", crs="EPSG:32631",
                       transform=rasterio.Affine(10, 0, 1000, 0, -10, 9000)) as dst:
        dst.write(values)
    for block in iter_blocks(path, 16, halo=2):
        with_halo = read_block(path, block)
        assert np.array_equal(with_halo.values, values[(slice(None), *block.read)])
        core = read_block(path, block, halo=False)
        assert np.array_equal(core.values, values[(slice(None), *block.core)])
        assert core.x.values[0] == 1000 + 10 * (block.x0 + 0.5) and core.rio.crs.to_epsg() == 32631


def test_gap_filling_per_tile_equals_the_whole_cube():
    from labkit.datasets import load_slovenia
    from labkit.gapfill import fill_gaps

    data = load_slovenia()
    whole, _ = fill_gaps(data.cube, data.mask, step=10)
    masks = data.mask

    def fill(block):
        filled, _ = fill_gaps(block, masks.sel(y=block.y, x=block.x), step=10, start=data.cube.time.values[0],
                              end=data.cube.time.values[-1])
        return filled

    tiled = map_blocks(fill, data.cube, block_size=32, halo=0)
    np.testing.assert_array_equal(tiled.values, whole.values)
