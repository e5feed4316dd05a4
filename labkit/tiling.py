"""Tiling: the one block engine that every stage uses to walk a grid, and tile grids with stable ids.

Every stage that reads a cube, a mask or a map pixel by pixel (masks, gap-filling, features, samples, inference,
accuracy, post-processing) walks it through this module, built on dask rather than a loop of its own:

* :func:`block_shape` chooses the block size from a **memory budget** (``"2GB"``) and the bytes each pixel needs,
  **aligned to the input's internal tiles** (a file's TIFF tiles, a Zarr store's or a dask array's chunks), so that
  every block decodes whole tiles once;
* :func:`map_blocks` applies a numpy function to every block (:func:`dask.array.blockwise`), each block with an
  optional **halo** of neighbouring pixels read around it and cropped from its result
  (:func:`dask.array.overlap.overlap`), so that a neighbourhood operation has no seams; it is lazy on dask inputs
  and computed block by block otherwise;
* :func:`reduce_blocks` folds a function over the blocks (pixel counts, sample draws, pixel reads);
* :func:`compute` and :func:`store` run the graph on a bounded number of threads with a progress bar over blocks:
  only ``workers`` blocks (and their inputs) are in memory at a time, whatever the grid's size.

:func:`tile_grid` lays a grid of square tiles with stable ids over a region (the unit of a batch run).
Comes right after reading (:mod:`labkit.io`).

Example
-------
>>> import numpy as np, labkit.datamodel as dm
>>> cube = dm.make_cube(np.arange(30.).reshape(1, 1, 5, 6), ["2020-01-01"], ["B"],
...                     transform=(10, 0, 0, 0, -10, 50), crs="EPSG:32631")
>>> doubled = map_blocks(lambda block: block * 2, cube, block=(2, 4))
>>> bool((doubled == cube * 2).all()), doubled.rio.crs.to_epsg()
(True, 32631)
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Mapping, Sequence

import dask
import dask.array as da
import numpy as np
import xarray as xr

from .errors import ConfigError, DataModelError

__all__ = ["DEFAULT_MEMORY", "block_shape", "blocked", "compute", "internal_tiles", "map_blocks", "parse_memory",
           "reduce_blocks", "store", "tile_grid"]

from .params import DEFAULT_MEMORY  # noqa: E402  (defined with the other defaults, so the CLI reads it cheaply)

MIN_SPLIT_PIXELS = 128 * 128
"""Blocks are not split to give every worker one below this many pixels: a small grid is not worth the tasks."""

WORKING_FACTOR = 3
"""Bytes a block needs while it is processed, as a multiple of its input and output bytes (temporaries)."""


# --------------------------------------------------------------------------------------------------- sizes


def parse_memory(memory: str | int | float, who: str = "memory") -> int:
    """A memory budget in bytes, from a number of bytes or a text such as ``"2GB"``, ``"512MiB"`` or ``"1.5 GB"``.

    Example
    -------
    >>> parse_memory("2GB"), parse_memory("512MiB"), parse_memory(1e6)
    (2000000000, 536870912, 1000000)
    """
    from dask.utils import parse_bytes

    try:
        value = parse_bytes(memory) if isinstance(memory, str) else int(memory)
    except (ValueError, TypeError):
        value = None
    if isinstance(memory, bool) or value is None or value <= 0:
        raise ConfigError(f"{who}: the memory budget must be a size such as '2GB', '512MiB' or a number of bytes; "
                          f"got {memory!r}.")
    return int(value)


def _is_dask(array: xr.DataArray) -> bool:
    return isinstance(array.data, da.Array)


def internal_tiles(array: xr.DataArray) -> tuple[int, int] | None:
    """The ``(rows, columns)`` of the tiles an array is stored in: its dask chunks, else the file's own tiles
    (``encoding["preferred_chunks"]`` of rioxarray and Zarr), else None (in memory).

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> internal_tiles(xr.DataArray(np.zeros((100, 90)), dims=("y", "x")).chunk({"y": 32, "x": 48}))
    (32, 48)
    """
    if _is_dask(array):
        return int(array.chunks[-2][0]), int(array.chunks[-1][0])
    preferred = array.encoding.get("preferred_chunks") or {}
    if "y" in preferred and "x" in preferred:
        return int(preferred["y"]), int(preferred["x"])
    return None


def block_shape(
    height: int,
    width: int,
    bytes_per_pixel: float,
    *,
    memory: str | int = DEFAULT_MEMORY,
    workers: int | None = None,
    halo: int = 0,
    tiles: tuple[int, int] | None = None,
    multiple: int = 1,
    who: str = "block_shape",
) -> tuple[int, int]:
    """The largest square-ish block whose ``workers`` copies (with their halo) fit in ``memory``.

    Each of ``workers`` threads holds one block while it is processed; a block of ``h x w`` pixels with its halo
    costs ``(h + 2 halo) * (w + 2 halo) * bytes_per_pixel``. The side is rounded down to a multiple of the storage
    ``tiles`` (so blocks read whole tiles) and of ``multiple`` (a network's alignment), and capped at the grid, then halved until every worker has a block.
    When not even one tile fits, blocks are cut inside tiles (multiples of ``multiple`` only): each tile is then
    decoded more than once, which is slower but stays within the budget.

    Parameters
    ----------
    height, width : int
        The grid's size in pixels.
    bytes_per_pixel : float
        What one pixel of one block costs while it is processed (inputs, outputs and temporaries).
    memory : str or int
        The budget of all the blocks in flight together (``"2GB"``).
    workers : int, optional
        Blocks processed at once (threads); the machine's cores by default.
    halo : int
        Pixels read around each block.
    tiles : (int, int), optional
        The input's internal tiles (:func:`internal_tiles`).
    multiple : int
        Block sides are multiples of it (a U-Net's alignment).

    Raises
    ------
    ConfigError
        A budget too small for one block of ``multiple`` pixels (says what it would need).

    Example
    -------
    >>> block_shape(10980, 10980, 370 * 4 * 3, memory="8GB", workers=4, tiles=(512, 512))
    (512, 512)
    >>> block_shape(10980, 10980, 370 * 4 * 3, memory="2GB", workers=4, tiles=(512, 512))
    (335, 336)
    >>> block_shape(10980, 10980, 4, memory="2GB", workers=4)   # one block for each worker at least
    (5490, 5490)
    """
    budget = parse_memory(memory, who)
    workers = int(workers or os.cpu_count() or 1)
    side = math.isqrt(max(0, int(budget / workers / max(bytes_per_pixel, 1e-9)))) - 2 * int(halo)
    multiple = int(multiple)
    ty, tx = tiles or (1, 1)
    steps = (math.lcm(int(ty), multiple), math.lcm(int(tx), multiple))
    sizes, first = (height, width), 0 if height <= width else 1
    sides = [0, 0]
    sides[first] = _side(side, sizes[first], steps[first], multiple)  # the shorter axis first; the other takes
    if sides[first] >= 1:  # what it leaves of the budget (more than the square's side for a thin grid)
        side = int(budget / workers / max(bytes_per_pixel, 1e-9) / (sides[first] + 2 * int(halo))) - 2 * int(halo)
    sides[1 - first] = _side(side, sizes[1 - first], steps[1 - first], multiple)
    bh, bw = _enough_blocks(*sides, height, width, workers, steps, multiple)
    if bh < 1 or bw < 1:
        step_y = step_x = multiple
        need = (min(height, step_y) + 2 * halo) * (min(width, step_x) + 2 * halo) * bytes_per_pixel * workers
        from .outputs import format_bytes

        raise ConfigError(f"{who}: a memory budget of {format_bytes(budget)} cannot hold {workers} block(s) of "
                          f"{min(height, step_y)} x {min(width, step_x)} pixels (with a halo of {halo}) at {format_bytes(bytes_per_pixel)} per pixel; it needs about {format_bytes(need)}. "
                          "Raise the budget (--memory), or use fewer workers.")
    return int(bh), int(bw)


def _side(side: int, size: int, step: int, multiple: int) -> int:
    """A block's side along one axis: the whole axis if it fits, else whole storage tiles (``step``), else (not
    even one tile fits) a multiple of ``multiple`` inside a tile."""
    if side >= size:
        return size
    return side // step * step if side >= step else side // multiple * multiple


def _enough_blocks(bh: int, bw: int, height: int, width: int, workers: int, steps: tuple[int, int],
                   multiple: int) -> tuple[int, int]:
    """Blocks halved (the longer side first, kept whole tiles when they can) until every worker has one, unless
    that would make blocks smaller than :data:`MIN_SPLIT_PIXELS` (a small grid stays one block)."""
    while bh > 0 and bw > 0 and math.ceil(height / bh) * math.ceil(width / bw) < workers:
        axis = 0 if bh >= bw else 1
        side, step = (bh, bw)[axis], steps[axis]
        step = step if step <= side // 2 else multiple
        half = math.ceil(math.ceil(side / 2) / step) * step  # an odd side splits as 468 + 467, not 467 + 467 + 1
        if half >= side or half < 1 or half * (bw if axis == 0 else bh) < MIN_SPLIT_PIXELS:
            break
        bh, bw = (half, bw) if axis == 0 else (bh, half)
    return bh, bw


def _splits(size: int, step: int, halo: int) -> tuple[int, ...]:
    """Chunk sizes of ``size`` pixels in steps of ``step``; a last chunk thinner than the halo joins the one before
    (so that every block starts at a multiple of ``step`` and the halo never spans more than one neighbour)."""
    chunks = [step] * (size // step) + ([size % step] if size % step else [])
    if len(chunks) > 1 and chunks[-1] < max(halo, 1):
        chunks[-2:] = [chunks[-2] + chunks[-1]]
    return tuple(chunks)


def blocked(array: xr.DataArray, block: tuple[int, int], halo: int = 0) -> xr.DataArray:
    """``array`` as dask blocks of ``block`` pixels, every other dim whole (one chunk): what the engine walks.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> blocked(xr.DataArray(np.zeros((2, 5, 7)), dims=("time", "y", "x")), (2, 3)).chunks
    ((2,), (2, 2, 1), (3, 3, 1))
    """
    chunks = {dim: -1 for dim in array.dims[:-2]}
    chunks.update(y=_splits(array.sizes["y"], block[0], halo), x=_splits(array.sizes["x"], block[1], halo))
    if _is_dask(array) and tuple(array.chunks[-2:]) == (chunks["y"], chunks["x"]) and \
            all(len(c) == 1 for c in array.chunks[:-2]):
        return array
    return array.chunk(chunks)


# -------------------------------------------------------------------------------------------------- mapping


def _same_grid(arrays: Sequence[xr.DataArray], who: str) -> None:
    first = arrays[0]
    for k, array in enumerate(arrays):
        if not isinstance(array, xr.DataArray) or array.dims[-2:] != ("y", "x"):
            got = array.dims if isinstance(array, xr.DataArray) else type(array).__name__
            raise DataModelError(f"{who}: input {k} must be a DataArray whose last dims are (y, x); got {got}.")
        if array.shape[-2:] != first.shape[-2:]:
            raise DataModelError(f"{who}: input {k} is {array.shape[-2]} x {array.shape[-1]} pixels, input 0 is "
                                 f"{first.shape[-2]} x {first.shape[-1]}; the inputs must share one grid.")


def _output_layout(first: xr.DataArray, new_dims) -> tuple[tuple[str, ...], tuple[int, ...], dict]:
    """``(dims, leading sizes, leading coords)`` of the result: ``new_dims`` (name -> size or coordinate values),
    or the first input's own dims."""
    if new_dims is None:
        lead = first.dims[:-2]
        coords = {d: first[d].values for d in lead if d in first.coords}
        return (*lead, "y", "x"), tuple(first.sizes[d] for d in lead), coords
    sizes, coords = [], {}
    for dim, spec in new_dims.items():
        if isinstance(spec, (int, np.integer)):
            sizes.append(int(spec))
        else:
            coords[dim] = np.asarray(spec)
            sizes.append(len(coords[dim]))
    return (*new_dims, "y", "x"), tuple(sizes), coords


class _Checked:
    """``func`` on one block's numpy arrays, its result checked against the block's shape.

    With ``starts`` (the first row and column of every block, and the halo), the last argument is the block's id
    and ``func`` also gets ``origin=(row, column)``: where its input window starts in the grid.
    """

    def __init__(self, func: Callable, lead: tuple[int, ...], dtype: np.dtype, who: str, kwargs: dict,
                 starts: tuple[np.ndarray, np.ndarray, int] | None = None):
        self.func, self.lead, self.dtype, self.who, self.kwargs = func, lead, dtype, who, kwargs
        self.starts = starts

    def __call__(self, *blocks) -> np.ndarray:
        kwargs = self.kwargs
        if self.starts is not None:
            *blocks, (i, j) = blocks
            rows, cols, halo = self.starts
            kwargs = {**kwargs, "origin": (max(0, int(rows[i]) - halo), max(0, int(cols[j]) - halo))}
        result = np.asarray(self.func(*blocks, **kwargs))
        expected = (*self.lead, *blocks[0].shape[-2:])
        if result.shape != expected:
            name = getattr(self.func, "__name__", repr(self.func))
            raise ConfigError(f"{self.who}: {name} must return an array of shape {expected} for a block of "
                              f"{expected[-2]} x {expected[-1]} pixels (its leading dims, then y and x); got "
                              f"{result.shape}.")
        return result.astype(self.dtype, copy=False)


def _bytes_per_pixel(arrays: Sequence[xr.DataArray], lead: tuple[int, ...], dtype: np.dtype) -> float:
    pixel = sum(math.prod(a.shape[:-2]) * a.dtype.itemsize for a in arrays) + math.prod(lead) * dtype.itemsize
    return WORKING_FACTOR * pixel


def map_blocks(
    func: Callable[..., np.ndarray],
    *arrays: xr.DataArray,
    halo: int = 0,
    block: int | tuple[int, int] | None = None,
    memory: str | int | None = None,
    workers: int | None = None,
    new_dims: Mapping[str, int | Sequence] | None = None,
    dtype=None,
    bytes_per_pixel: float | None = None,
    multiple: int = 1,
    origin: bool = False,
    name: str | None = None,
    progress: bool = False,
    kwargs: Mapping | None = None,
) -> xr.DataArray:
    """Apply ``func`` to every block of arrays on one grid; lazy when an input is dask, else computed block by block.

    ``func(*blocks, **kwargs)`` receives one numpy array per input (each with every leading dim whole and the
    block's pixels plus ``halo`` pixels on each side, fewer at the grid's edges) and returns an array whose leading
    dims are ``new_dims`` (by default the first input's) and whose last two dims have the block's size. Only the
    block's own pixels of each result are kept, so an operation that reads at most ``halo`` pixels around each
    pixel gives the same result as on the whole grid: no seams.

    Parameters
    ----------
    func : callable
    *arrays : xarray.DataArray (..., y, x)
        On one grid: numpy, dask, or lazily read from a file.
    halo : int
        Pixels of context read around each block.
    block : int or (int, int), optional
        The block: a square's side, or ``(rows, columns)``, in pixels. By default the (first) dask input's own
        chunks (when their sides are multiples of ``multiple``), else (or with ``memory``) the largest that fits
        ``memory`` (:func:`block_shape`), aligned to the first input's internal tiles.
    memory : str or int, optional
        Budget of the blocks in flight (:data:`DEFAULT_MEMORY`).
    workers : int, optional
        Blocks processed at once (threads); the machine's cores by default.
    new_dims : dict, optional
        Leading dims of the result: name -> size, or name -> coordinate values (``{"class": [1, 2, 3]}``).
    dtype : numpy dtype, optional
        Of the result (the first input's by default).
    bytes_per_pixel : float, optional
        What a pixel costs while ``func`` runs, when the default estimate (3 x inputs and output) is too low.
    multiple : int
        Blocks start at multiples of it (a network's alignment).
    origin : bool
        Also pass ``func`` the keyword ``origin=(row, column)``: the grid position of its input's first pixel (for
        work laid out on the whole grid, such as a spatial model's tiles).
    name : str, optional
        The result's name, and the prefix of its tasks.
    progress : bool
        For inputs in memory: a progress bar over blocks.
    kwargs : dict, optional
        Keyword arguments of ``func``.

    Returns
    -------
    xarray.DataArray
        ``(*new_dims, y, x)`` on the first input's grid (coordinates and CRS).

    Raises
    ------
    DataModelError
        Inputs that are not on one grid.
    ConfigError
        A negative halo; a budget too small for one block; ``func`` returning the wrong shape.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> from scipy import ndimage
    >>> image = xr.DataArray(np.random.default_rng(0).random((40, 30)), dims=("y", "x"))
    >>> smooth = lambda a: ndimage.uniform_filter(a, 5, mode="nearest")   # reads 2 pixels around each pixel
    >>> tiled = map_blocks(smooth, image.chunk(8), halo=2, block=(8, 8)).compute()
    >>> bool(np.allclose(tiled, smooth(image.values)))
    True
    """
    who = name or getattr(func, "__name__", "map_blocks")
    if not arrays:
        raise ConfigError(f"{who}: map_blocks needs at least one array.")
    _same_grid(arrays, who)
    from . import params

    halo = params.integer(halo, "halo", who, low=0)
    first = arrays[0]
    dims, lead, coords = _output_layout(first, new_dims)
    dtype = np.dtype(dtype or first.dtype)
    lazy = next((a for a in arrays if _is_dask(a)), None)
    block = params.block(block, who)
    if block is None:
        block = _choose_block(arrays, bytes_per_pixel or _bytes_per_pixel(arrays, lead, dtype), memory, workers,
                              halo=halo, multiple=multiple, who=who)
    if halo:  # a block holds at least its halo: the halo then never reaches past the next block
        block = tuple(max(side, -(-halo // multiple) * multiple) for side in block)
    data = [blocked(a, block, halo).data for a in arrays]
    core = data[0].chunks[-2:]
    depth = (halo if len(core[0]) > 1 else 0, halo if len(core[1]) > 1 else 0)  # one block: nothing to overlap
    if any(depth):
        data = [da.overlap.overlap(d, depth={d.ndim - 2: depth[0], d.ndim - 1: depth[1]}, boundary="none")
                for d in data]
    args: list = []
    for k, d in enumerate(data):
        args += [d, (*(f"in{k}.{i}" for i in range(d.ndim - 2)), "y", "x")]
    out_index = (*(f"out.{i}" for i in range(len(lead))), "y", "x")
    starts = None
    if origin:
        from dask.layers import ArrayBlockIdDep

        starts = (np.cumsum((0,) + core[0][:-1]), np.cumsum((0,) + core[1][:-1]), halo)
        args += [ArrayBlockIdDep(data[0].chunks[-2:]), ("y", "x")]
    task = f"{who}-{uuid.uuid4().hex[:12]}"  # named, so dask does not hash the inputs (a model) to name the tasks
    out = da.blockwise(_Checked(func, lead, dtype, who, dict(kwargs or {}), starts), out_index, *args,
                       new_axes={f"out.{i}": n for i, n in enumerate(lead)}, dtype=dtype, concatenate=True,
                       name=task, meta=np.empty((0,) * len(out_index), dtype), align_arrays=False)
    if any(depth):
        out = da.overlap.trim_internal(out, {out.ndim - 2: depth[0], out.ndim - 1: depth[1]}, boundary="none")
    result = _on_grid(out, first, dims, coords, name)
    if lazy is None:
        result = compute(result, workers=workers, progress=progress, desc=who)
    return result


def _choose_block(arrays: Sequence[xr.DataArray], bytes_per_pixel: float, memory, workers, *, halo: int = 0,
                  multiple: int = 1, who: str) -> tuple[int, int]:
    """The blocks of :func:`map_blocks` and :func:`reduce_blocks` when none is given: a lazy input's own chunks
    (without a budget, and when each side is a multiple of ``multiple`` or the whole axis), else the largest that
    fits ``memory`` (:func:`block_shape`), aligned to the first input's tiles."""
    lazy = next((a for a in arrays if _is_dask(a)), None)
    if memory is None and lazy is not None:
        tiles = internal_tiles(lazy)
        if all(side % multiple == 0 or side >= size for side, size in zip(tiles, lazy.shape[-2:])):
            return tiles
    first = arrays[0]
    return block_shape(first.sizes["y"], first.sizes["x"], bytes_per_pixel, memory=memory or DEFAULT_MEMORY,
                       workers=workers, halo=halo, tiles=internal_tiles(first), multiple=multiple, who=who)


def _on_grid(data, like: xr.DataArray, dims: tuple[str, ...], coords: dict, name: str | None) -> xr.DataArray:
    """``data (..., y, x)`` as a DataArray on ``like``'s grid: its y/x coordinates, CRS and transform."""
    coords = {**coords, "y": like["y"], "x": like["x"]} if "y" in like.coords else dict(coords)
    result = xr.DataArray(data, dims=dims, coords=coords, name=name)
    crs = like.rio.crs if "y" in like.coords else None
    if crs is not None:
        result = result.rio.write_crs(crs)
    return result


def reduce_blocks(
    func: Callable[..., object],
    combine: Callable[[list], object],
    *arrays: xr.DataArray,
    block: int | tuple[int, int] | None = None,
    memory: str | int | None = None,
    workers: int | None = None,
    progress: bool = False,
    desc: str = "blocks",
):
    """``combine([func(*blocks, y0, x0) for each block])``: fold a function over the blocks of arrays on one grid.

    ``func`` receives each input's block as numpy (every leading dim whole) and the block's first row and column
    in the grid; ``combine`` receives the list of its results (in row-major block order). Blocks are chosen as by
    :func:`map_blocks` (a dask input's chunks, else :func:`block_shape` under ``memory``); only ``workers`` are in
    memory at once.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> image = xr.DataArray(np.arange(12).reshape(3, 4), dims=("y", "x"))
    >>> reduce_blocks(lambda b, y0, x0: int(b.sum()), sum, image, block=(2, 2))
    66
    """
    from . import params

    _same_grid(arrays, desc)
    block = params.block(block, desc)
    if block is None:
        block = _choose_block(arrays, _bytes_per_pixel(arrays, (), arrays[0].dtype), memory, workers, who=desc)
    data = [blocked(a, block).data for a in arrays]
    y_edges = np.cumsum((0,) + data[0].chunks[-2][:-1])
    x_edges = np.cumsum((0,) + data[0].chunks[-1][:-1])
    pieces = [d.to_delayed().reshape(len(y_edges), len(x_edges)) for d in data]
    parts = [dask.delayed(func)(*(p[i, j] for p in pieces), int(y0), int(x0))
             for i, y0 in enumerate(y_edges) for j, x0 in enumerate(x_edges)]
    return compute(dask.delayed(combine)(parts), workers=workers, progress=progress, desc=desc)


# -------------------------------------------------------------------------------------------------- running


class _BlockBar(dask.callbacks.Callback):
    """A tqdm bar that counts the finished tasks of the graph's last layer (one per block)."""

    def __init__(self, keys: set, desc: str):
        super().__init__()
        from tqdm.auto import tqdm

        self.keys = keys
        self.bar = tqdm(total=len(keys), desc=desc, unit="block")

    def _posttask(self, key, result, dsk, state, worker_id):
        if key in self.keys:
            self.bar.update(1)

    def _finish(self, dsk, state, errored):
        self.bar.close()


def _last_keys(collection) -> set:
    from dask.core import flatten

    return set(flatten(collection.__dask_keys__())) if hasattr(collection, "__dask_keys__") else set()


def compute(collection, *, workers: int | None = None, progress: bool = False, desc: str = "blocks"):
    """Compute a dask collection (a lazy DataArray, a delayed value, or a tuple of them) on ``workers`` threads, with
    a progress bar.

    On the default (threaded) scheduler only ``workers`` blocks are processed at once; under a distributed client
    the cluster's workers run it.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> compute(xr.DataArray(np.ones((4, 4)), dims=("y", "x")).chunk(2).sum(), workers=2).item()
    16.0
    """
    parts = collection if isinstance(collection, (tuple, list)) else (collection,)
    keys = set().union(*(_last_keys(p.data if isinstance(p, xr.DataArray) else p) for p in parts))
    options = {} if workers is None else {"num_workers": int(workers)}
    with dask.config.set(**options):
        if progress and keys:
            with _BlockBar(keys, desc):
                done = dask.compute(*parts)
        else:
            done = dask.compute(*parts)
    return done if isinstance(collection, (tuple, list)) else done[0]


def store(sources: Sequence[da.Array], targets: Sequence, *, lock=True, workers: int | None = None,
          progress: bool = False, desc: str = "blocks") -> None:
    """Compute dask arrays block by block into ``targets`` (objects with ``__setitem__``: a raster window writer, a
    numpy array...), all in one pass: blocks that the sources share are computed once.

    Example
    -------
    >>> import numpy as np, dask.array as dsa
    >>> source, target = dsa.arange(10, chunks=3), np.zeros(10)
    >>> store([source * 2], [target])
    >>> target.tolist()[-1]
    18.0
    """
    job = da.store(list(sources), list(targets), lock=lock, compute=False)
    compute(job, workers=workers, progress=progress, desc=desc)


# ---------------------------------------------------------------------------------------------------- tiles

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
