"""Tiling: cut a cube or a raster into blocks (with an optional halo), process them one by one, stitch them back.

Takes a cube, a raster file or a plain shape and yields :class:`Block` windows lazily; :func:`map_blocks` runs a
function block by block and reassembles the result without seams; :func:`tile_grid` lays a grid of tiles with
stable ids over a region. Comes right after reading (:mod:`labkit.io`): every later stage can run per block.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import xarray as xr

from .errors import ConfigError, ReadError


@dataclass(frozen=True)
class Block:
    """One block of a grid: its own pixels (``core``) and the pixels it reads (``core`` plus the halo).

    Offsets and sizes are in pixels of the whole grid. ``inner`` gives the slices that cut the core out of an array
    read over ``read`` (a block at the grid's edge has a thinner halo on that side).
    """

    row: int
    col: int
    y0: int
    x0: int
    height: int
    width: int
    read_y0: int
    read_x0: int
    read_height: int
    read_width: int

    @property
    def core(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices of the block's own pixels in the whole grid."""
        return slice(self.y0, self.y0 + self.height), slice(self.x0, self.x0 + self.width)

    @property
    def read(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices of the pixels to read (core and halo) in the whole grid."""
        return (slice(self.read_y0, self.read_y0 + self.read_height),
                slice(self.read_x0, self.read_x0 + self.read_width))

    @property
    def inner(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices of the core inside an array read over :attr:`read`."""
        dy, dx = self.y0 - self.read_y0, self.x0 - self.read_x0
        return slice(dy, dy + self.height), slice(dx, dx + self.width)

    @property
    def id(self) -> str:
        """A stable name: ``r{row}_c{col}``."""
        return f"r{self.row:03d}_c{self.col:03d}"


def _grid_shape(obj) -> tuple[int, int, tuple[int, int] | None]:
    """``(height, width, internal block shape or None)`` of a cube, an array shape or a raster file."""
    if isinstance(obj, xr.DataArray):
        return obj.sizes["y"], obj.sizes["x"], None
    if isinstance(obj, tuple) and len(obj) == 2:
        return int(obj[0]), int(obj[1]), None
    if isinstance(obj, (str, os.PathLike)):
        import rasterio

        try:
            with rasterio.open(obj) as src:
                return src.height, src.width, src.block_shapes[0]
        except rasterio.errors.RasterioIOError as error:
            raise ReadError(f"{obj}: not a raster GDAL can read ({error}).") from None
    raise ConfigError(f"iter_blocks: expected a cube, a (height, width) shape or a raster path; got {type(obj).__name__}.")


def _align(size: int, internal: int, limit: int) -> int:
    """``size`` rounded to a multiple of the internal block size (at least one internal block, at most the grid)."""
    if internal >= limit:
        return min(size, limit)
    return min(max(internal, round(size / internal) * internal), limit)


def iter_blocks(obj, block_size: int | tuple[int, int] = 512, *, halo: int = 0, align: bool = True) -> Iterator[Block]:
    """Blocks covering a grid row by row, each with a halo of ``halo`` pixels (clipped at the grid's edges).

    Parameters
    ----------
    obj : cube, ``(height, width)`` or path of a raster file
    block_size : int or (int, int)
        Block height and width in pixels (the last row and column of blocks may be smaller).
    halo : int
        Extra pixels read on each side, for operations that need neighbours (filters, spatial models).
    align : bool
        For a raster file, round the block size to a multiple of the file's internal blocks, so that every read
        decodes whole internal blocks once.

    Example
    -------
    >>> blocks = list(iter_blocks((5, 7), 4, halo=1))
    >>> [(b.id, b.core, b.read) for b in blocks][:2]  # doctest: +NORMALIZE_WHITESPACE
    [('r000_c000', (slice(0, 4, None), slice(0, 4, None)), (slice(0, 5, None), slice(0, 5, None))),
     ('r000_c001', (slice(0, 4, None), slice(4, 7, None)), (slice(0, 5, None), slice(3, 7, None)))]
    """
    height, width, internal = _grid_shape(obj)
    bh, bw = (block_size, block_size) if np.isscalar(block_size) else block_size
    if int(bh) < 1 or int(bw) < 1:
        raise ConfigError(f"iter_blocks: block_size must be positive; got {block_size}.")
    if int(halo) < 0:
        raise ConfigError(f"iter_blocks: halo must be >= 0 pixels; got {halo}.")
    if align and internal is not None:
        bh, bw = _align(int(bh), internal[0], height), _align(int(bw), internal[1], width)
    for row, y0 in enumerate(range(0, height, bh)):
        for col, x0 in enumerate(range(0, width, bw)):
            h, w = min(bh, height - y0), min(bw, width - x0)
            ry0, rx0 = max(0, y0 - halo), max(0, x0 - halo)
            ry1, rx1 = min(height, y0 + h + halo), min(width, x0 + w + halo)
            yield Block(row, col, y0, x0, h, w, ry0, rx0, ry1 - ry0, rx1 - rx0)


def read_block(path: str | os.PathLike, block: Block, *, halo: bool = True) -> xr.DataArray:
    """Read one block of a raster file (with its halo by default) as a ``(band, y, x)`` DataArray with its CRS.

    Example
    -------
    >>> import tempfile, numpy as np, rasterio
    >>> path = tempfile.mkdtemp() + "/r.tif"
    >>> with rasterio.open(path, "w", driver="GTiff", height=4, width=6, count=1, dtype="uint8", crs="EPSG:32631",
    ...                    transform=rasterio.Affine(10, 0, 0, 0, -10, 40)) as dst:
    ...     dst.write(np.arange(24, dtype="uint8").reshape(1, 4, 6))
    >>> block = list(iter_blocks(path, 3, halo=1))[1]
    >>> read_block(path, block, halo=False).values[0].tolist()
    [[3, 4, 5], [9, 10, 11], [15, 16, 17]]
    """
    import rioxarray

    from .inputs import read_failure
    from .outputs import refuse_temporary

    ys, xs = block.read if halo else block.core
    refuse_temporary(path)
    try:
        raster = rioxarray.open_rasterio(path)
    except Exception as error:  # rasterio's and rioxarray's own errors
        raise ReadError(f"{path}: not a raster GDAL can read ({error}).") from None
    with raster:
        try:
            return raster.isel(y=ys, x=xs).load()
        except Exception as error:  # noqa: BLE001  (a damaged file: named, with the block)
            raise read_failure(error, str(path), f"block rows {ys.start}..{ys.stop}, columns {xs.start}..{xs.stop}") \
                from None


def count_blocks(obj, block_size: int | tuple[int, int] = 512, *, align: bool = True) -> int:
    """How many blocks :func:`iter_blocks` yields.

    Example
    -------
    >>> count_blocks((10980, 10980), 1024)
    121
    """
    height, width, internal = _grid_shape(obj)
    bh, bw = (block_size, block_size) if np.isscalar(block_size) else block_size
    if align and internal is not None:
        bh, bw = _align(int(bh), internal[0], height), _align(int(bw), internal[1], width)
    return math.ceil(height / bh) * math.ceil(width / bw)


def map_blocks(
    func: Callable[[xr.DataArray], xr.DataArray],
    cube: xr.DataArray,
    *,
    block_size: int = 512,
    halo: int = 0,
    progress: bool = False,
) -> xr.DataArray:
    """Apply ``func`` to a cube block by block (each with its halo) and stitch the cores back together.

    ``func`` takes the block (a DataArray over :attr:`Block.read`, loaded in memory) and returns a DataArray whose
    last two dims are ``y`` and ``x`` with the same size as its input; only the core of each result is kept, so a
    neighbourhood operation with a footprint up to ``2 * halo + 1`` pixels gives the same result as on the whole
    cube, with no seams. Only one block is in memory at a time (plus the result).

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm
    >>> cube = dm.make_cube(np.arange(30.).reshape(1, 1, 5, 6), ["2020-01-01"], ["B"],
    ...                     transform=(10, 0, 0, 0, -10, 50), crs="EPSG:32631")
    >>> doubled = map_blocks(lambda b: b * 2, cube, block_size=4)
    >>> bool((doubled == cube * 2).all())
    True
    """
    from tqdm.auto import tqdm

    blocks = list(iter_blocks(cube, block_size, halo=halo))
    out = None
    for block in tqdm(blocks, desc="blocks", unit="block", disable=not progress):
        ys, xs = block.read
        result = func(cube.isel(y=ys, x=xs).load())
        if result.dims[-2:] != ("y", "x") or result.shape[-2:] != (block.read_height, block.read_width):
            raise ConfigError(f"map_blocks: func must return (..., y, x) of the block's size "
                              f"{(block.read_height, block.read_width)}; got dims {result.dims} shape {result.shape}.")
        iy, ix = block.inner
        core = result.isel(y=iy, x=ix)
        if out is None:
            shape = core.shape[:-2] + (cube.sizes["y"], cube.sizes["x"])
            out = np.empty(shape, dtype=core.dtype)
            template = core
        cy, cx = block.core
        out[..., cy, cx] = core.values
    coords = {k: v for k, v in template.coords.items() if "y" not in v.dims and "x" not in v.dims}
    coords.update(y=cube.y, x=cube.x)
    stitched = xr.DataArray(out, dims=template.dims, coords=coords, name=template.name, attrs=template.attrs)
    return stitched.rio.write_crs(cube.rio.crs) if cube.rio.crs is not None else stitched


def tile_grid(bounds, tile_size: float, *, crs, origin: tuple[float, float] = (0.0, 0.0)):
    """A grid of square tiles (``tile_size`` metres, in the CRS's units) covering ``bounds``, with stable ids.

    Tiles are anchored at ``origin``: tile ``(i, j)`` spans ``origin + (i, j) * tile_size``, so a tile keeps its id
    whatever region is asked for, and two overlapping regions share the same tiles.

    Parameters
    ----------
    bounds : (xmin, ymin, xmax, ymax)
    tile_size : float
    crs : CRS of the bounds and the tiles.
    origin : (x, y) anchor of the grid.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``tile_id`` (``"E{i}N{j}"`` from the tile's lower-left corner index), ``col``, ``row`` and geometry.

    Example
    -------
    >>> grid = tile_grid((1500, 0, 4100, 900), 1000, crs="EPSG:32631")
    >>> grid.tile_id.tolist()
    ['E1N0', 'E2N0', 'E3N0', 'E4N0']
    """
    import geopandas as gpd
    from shapely.geometry import box

    xmin, ymin, xmax, ymax = map(float, bounds)
    if not (xmax > xmin and ymax > ymin):
        raise ConfigError(f"tile_grid: bounds must be (xmin, ymin, xmax, ymax) with xmax > xmin and ymax > ymin; "
                          f"got {tuple(bounds)}.")
    if not tile_size > 0:
        raise ConfigError(f"tile_grid: tile_size must be positive; got {tile_size}.")
    ox, oy = origin
    cols = range(math.floor((xmin - ox) / tile_size), math.ceil((xmax - ox) / tile_size))
    rows = range(math.floor((ymin - oy) / tile_size), math.ceil((ymax - oy) / tile_size))
    records = [
        (f"E{i}N{j}", i, j, box(ox + i * tile_size, oy + j * tile_size, ox + (i + 1) * tile_size,
                                oy + (j + 1) * tile_size))
        for j in reversed(rows) for i in cols
    ]
    ids, cols_, rows_, geoms = zip(*records)
    return gpd.GeoDataFrame({"tile_id": ids, "col": cols_, "row": rows_}, geometry=list(geoms), crs=crs)
