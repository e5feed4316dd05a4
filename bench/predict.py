"""Benchmark: map inference through labkit's block engine (``predict_map``) beside the naive whole-array baseline.

Everything runs on synthetic Sentinel-2-like cubes (:func:`labkit.datasets.make_synthetic_scene`) in one process (the
memory figures in child processes of this script), each baseline in the same process as what it is compared with.
``--cores`` threads (default: all cores) run both sides: the engine's ``workers`` blocks at once with the model
single-threaded inside each block (``n_jobs=1``, one torch thread), the baseline one call with the model on
``--cores`` threads (``n_jobs``, torch threads; the model's features step, numpy, runs on one). "Per core" divides
by those threads; "per CPU-s" by the CPU time of the process (all threads), which stays meaningful when other
programs share the cores.

1. **Throughput** (kilopixels per second per core) of RF (100 trees), LightGBM (40 rounds of 15 leaves) and TempCNN
   (32 filters, 2 epochs), each fitted quickly on ``--train-samples`` pixels of a synthetic scene (``--height`` x
   ``--width`` px, 12 dates x 4 bands, gap-filled onto its own dates, held in memory so that making it is not timed).
   Engine: ``predict_map`` on the cube as a dask array (``--chunk`` px chunks) under ``--memory``, every product
   (class map, confidence, uncertainty, valid count, probabilities) computed block by block into a ``Drop`` target
   (the class map into memory, to check it against the baseline's argmax). Baseline: the cube transposed to
   ``(pixels, time, band)`` and one ``predict_proba``. Ratio = engine / baseline (target >= 0.95), the fastest of
   ``--repeat`` interleaved runs each. A diagnostic row runs the forest under ``--diagnose`` (one block).
2. **Peak memory**: the growth of a child process's peak RSS during one run (``VmHWM``, reset after a warm-up) on
   lazily generated cubes of ``--memory-sizes`` px square (12 dates x 4 bands, float32; a 256 x 256 block of the
   synthetic cube tiled, so that generating them is cheap): the engine under ``--memory-budget`` against the
   baseline, which stores the cube into one numpy array, transposes it and calls ``predict_proba`` once. Sides above
   ``--baseline-max`` are not run for the baseline (several GB, minutes): its peak is estimated from its bytes per
   pixel measured at the largest side run, and the row says so. The forest reads the series alone (``stats=[]``) so
   that 4096 x 4096 fits the time; ``--leak-sizes`` runs the engine again with labkit's default temporal statistics
   (``SeriesFeatures``), under ``--leak-budget``. Ratio = engine / baseline (lower is better).
3. **End to end** (masks -> gap-filling -> features -> RF): a raw synthetic cube of ``--e2e-size`` px square, 10
   bands, 37 irregular dates, and its SCL layer (made before the clock: the scene's clouds as code 9, no data as 0).
   The RF (100 trees) is fitted on samples gap-filled every 10 days; ``predict_map(raw, model,
   mask=mask_from_scl(scl))`` then gap-fills every block on the fly onto the model's dates. Baseline: the same chain
   stage by stage on whole arrays in memory (``mask_from_scl``, ``fill_gaps``, the model's ``SeriesFeatures``, the
   forest on ``--cores`` threads), each stage timed alone: which one dominates. The per-core rate gives the time of a
   full Sentinel-2 tile (10980 x 10980 px, 10 bands, 37 dates) on 16 cores; target >= 30 kpx/s/core (a tile in under
   4 minutes).
4. **Tree inference**: the rows of ``bench/_trees.py``'s ``tree_inference_rows`` (scikit-learn, tensor trees,
   treelite, tl2cgen under ``--compile-budget``) when it imports; its ``forest_cost_rows`` (forests cross-validated
   on the real sample sets, minutes) with ``--forest-cost``.
5. **GPU**: TempCNN through ``predict_map(device="cuda")`` and the forest as tensor trees (hummingbird) on the GPU, in
   Mpx/s, when ``torch.cuda.is_available()``; else printed as absent.

Usage: ``python bench/predict.py [--json PATH] [--quick] [--sections throughput,memory,e2e,trees,gpu]``; about 4 to
5 minutes on 2 cores with the defaults, about 2 with ``--quick``.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import xarray as xr

from _common import Drop, cpu_name

from labkit import tiling
from labkit.datamodel import make_cube
from labkit.inference import predict_map

SECTIONS = ("throughput", "memory", "e2e", "trees", "gpu")
BANDS4 = ["B02", "B04", "B08", "B11"]
TILE_PIXELS = 10980 * 10980
TILE_CORES = 16
TARGETS = {"throughput_ratio": 0.95, "e2e_kpx_s_core": 30.0}


# ------------------------------------------------------------------------------------------------------ helpers


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Timed:
    """Wall-clock and CPU seconds (every thread of the process) of one run; ``result`` its return value."""

    def __init__(self, run):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        self.result = run()
        self.wall, self.cpu = time.perf_counter() - wall, time.process_time() - cpu


def best(timings: list[Timed]) -> Timed:
    return min(timings, key=lambda t: t.wall)


def set_threads(model, n: int) -> None:
    """The model's own threads: ``n_jobs`` of a forest or LightGBM (the pipeline's last step), torch's threads."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if hasattr(final, "n_jobs"):
        final.n_jobs = n
    if hasattr(final, "network_"):
        import torch

        torch.set_num_threads(n)


def model_extra(model, cube: xr.DataArray) -> dict:
    """What ``predict_map`` passes a model besides the pixels (a deep model's ``doy``)."""
    from labkit.inference import _days, _takes

    return {"doy": _days(cube, model)} if _takes(model, "predict_proba", "doy") else {}


def as_pixels(values: np.ndarray) -> np.ndarray:
    """``(time, band, y, x)`` -> ``(pixels, time, band)``: what the naive baseline hands the model (a copy)."""
    n_time, n_band, h, w = values.shape
    return np.ascontiguousarray(values.transpose(2, 3, 0, 1)).reshape(h * w, n_time, n_band)


def engine_products(cube, model, *, cores: int, memory=None, block=None, mask=None, keep_classes=None):
    """``predict_map`` computed block by block, every product dropped (the class map kept when asked); returns the
    class map's blocks along y and x."""
    products = predict_map(cube, model, mask=mask, memory=memory, block=block, workers=cores)
    names = list(products.data_vars)
    targets = [keep_classes if name == "class_map" and keep_classes is not None else Drop() for name in names]
    tiling.store([products[name].data for name in names], targets, workers=cores, lock=False)
    chunks = products["class_map"].data.chunks
    return chunks


def describe_blocks(chunks) -> str:
    rows, cols = chunks
    sizes = sorted({f"{r}x{c}" for r in rows for c in cols})
    return f"{len(rows) * len(cols)} of {'/'.join(sizes)}"


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def rss_now() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS (Linux: ``/proc/self/clear_refs``).

    ``getrusage``'s ``ru_maxrss`` cannot serve: it never decreases, and a process started by ``subprocess`` starts
    with its parent's peak (the kernel keeps the peak of the memory it replaced at ``exec``).
    """
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_rss() -> int:
    """This process's peak RSS since it started or since :func:`reset_peak_rss` (``VmHWM``)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.{digits}f}"
    return str(value)


def markdown(header: list[str], lines: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(fmt(v) if not isinstance(v, str) else v for v in line) + " |" for line in lines]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------- data


def series_scene(size_y: int, size_x: int, cores: int, seed: int = 0, chunk: int = 256):
    """A gap-filled synthetic cube (12 dates x 4 bands) in memory, and a sample set of it (every polygon pixel)."""
    from labkit.datasets import make_synthetic_scene
    from labkit.gapfill import fill_gaps
    from labkit.samples import extract_samples

    scene = make_synthetic_scene(size_y, size_x, dates=12, bands=BANDS4, chunks=chunk, random_state=seed)
    filled, _ = fill_gaps(scene.cube, scene.mask)  # onto its own dates: clouds and swath gaps filled
    cube = tiling.compute(filled.fillna(0.0), workers=cores)  # a pixel never seen at all: 0, so every pixel counts
    return cube, extract_samples(cube, scene.polygons)


def subsample(samples: xr.Dataset, n: int, random_state: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(random_state)
    keep = np.sort(rng.choice(samples.sizes["sample"], min(n, samples.sizes["sample"]), replace=False))
    return samples.isel(sample=keep)


def fit(name: str, samples: xr.Dataset, cores: int, **params):
    from labkit.models import fit_model, make_model

    if name == "tempcnn":
        import torch

        torch.set_num_threads(cores)
        params = {"device": "cpu", "validation_fraction": 0.0, "patience": None, **params}
    else:  # LightGBM on 1 thread: its OpenMP threads can stall for a minute when other programs hold the cores
        params = {"n_jobs": 1 if name == "lgbm" else cores, **params}
    start = time.perf_counter()
    model = fit_model(make_model(name, random_state=0, **params), samples)
    log(f"fitted {name} in {time.perf_counter() - start:.1f} s")
    return model


MODELS = {  # name: (label, hyperparameters)
    "rf": ("RF (100 trees)", dict(n_estimators=100)),
    "lgbm": ("LightGBM (40 rounds, 15 leaves)", dict(n_estimators=40, num_leaves=15)),
    "tempcnn": ("TempCNN (32 filters, dense 128)", dict(epochs=2, batch_size=256,
                                                       network_params=dict(filters=32, dense=128))),
}


# ---------------------------------------------------------------------------------------------- 1. throughput


def throughput(args, cube: xr.DataArray, samples: xr.Dataset) -> tuple[list[dict], dict]:
    cores, n_pixels = args.cores, cube.sizes["y"] * cube.sizes["x"]
    lazy = cube.chunk({"time": -1, "band": -1, "y": args.chunk, "x": args.chunk})
    train = subsample(samples, args.train_samples)
    rows, models = [], {}
    for name, (label, params) in MODELS.items():
        model = fit(name, train, cores, **params)
        models[name] = model
        extra = model_extra(model, cube)
        classes = np.asarray(model.classes_)
        kept = np.empty((cube.sizes["y"], cube.sizes["x"]), np.uint8)

        def baseline():
            set_threads(model, cores)
            return model.predict_proba(as_pixels(cube.values), **extra)

        def engine():
            set_threads(model, 1)
            return engine_products(lazy, model, cores=cores, memory=args.memory, keep_classes=kept)

        # warm-up on a corner (imports, first-call costs), then interleaved runs, the fastest of each kept
        corner = lazy.isel(y=slice(0, 64), x=slice(0, 64))
        engine_products(corner, model, cores=cores, block=(64, 64))
        model.predict_proba(as_pixels(cube.values[:, :, :32, :32]), **extra)
        base_runs, eng_runs = [], []
        for _ in range(args.repeat):
            base_runs.append(Timed(baseline))
            eng_runs.append(Timed(engine))
        b, e = best(base_runs), best(eng_runs)
        same = float((classes[b.result.argmax(axis=1)].reshape(kept.shape) == kept).mean())
        rows.append(_throughput_row("throughput", label, n_pixels, cores, e, b, describe_blocks(e.result), same,
                                    f"memory={args.memory}"))
        log(f"{label}: engine {rows[-1]['engine_kpx_s_core']:.1f}, baseline {rows[-1]['baseline_kpx_s_core']:.1f} "
            f"kpx/s/core, ratio {rows[-1]['ratio']:.2f}")
        if name == "rf" and args.diagnose:
            # The same forest under a larger budget: the engine's block_shape then takes the whole cube as one block
            diag = best([Timed(lambda: (set_threads(model, 1),
                                        engine_products(lazy, model, cores=cores, memory=args.diagnose,
                                                        keep_classes=kept))[1])
                         for _ in range(1)])
            rows.append(_throughput_row("throughput", label + ", diagnostic", n_pixels, cores, diag, b,
                                        describe_blocks(diag.result), None, f"memory={args.diagnose}"))
            log(f"{label} diagnostic ({args.diagnose}): ratio {rows[-1]['ratio']:.2f}")
    return rows, models


def _throughput_row(section, label, n_pixels, cores, e: Timed, b: Timed, blocks, same, budget) -> dict:
    e_rate, b_rate = n_pixels / e.wall / cores / 1e3, n_pixels / b.wall / cores / 1e3
    return {
        "section": section, "model": label, "pixels": n_pixels, "threads": cores, "budget": budget,
        "blocks": blocks, "engine_s": round(e.wall, 2), "baseline_s": round(b.wall, 2),
        "engine_kpx_s_core": round(e_rate, 2), "baseline_kpx_s_core": round(b_rate, 2),
        "ratio": round(e_rate / b_rate, 3),
        "engine_kpx_cpu_s": round(n_pixels / e.cpu / 1e3, 2), "baseline_kpx_cpu_s": round(n_pixels / b.cpu / 1e3, 2),
        "ratio_cpu": round(b.cpu / e.cpu, 3),
        "same_class": None if same is None else round(same, 5),
        "target": f"ratio >= {TARGETS['throughput_ratio']}",
        "met": bool(e_rate / b_rate >= TARGETS["throughput_ratio"]),
    }


def print_throughput(rows: list[dict], args) -> None:
    print(f"\n### Throughput: predict_map vs one predict_proba on the whole array ({args.cores} threads each: "
          f"engine workers={args.cores} with the model single-threaded, baseline n_jobs / torch threads="
          f"{args.cores})\n")
    print(markdown(
        ["model", "pixels", "engine blocks", "engine kpx/s/core", "baseline kpx/s/core", "ratio",
         "engine kpx/CPU-s", "baseline kpx/CPU-s", "ratio (CPU)", "same class"],
        [[r["model"] + (f" ({r['budget']})" if "diagnostic" in r["model"] else ""), f"{r['pixels']:,}",
          r["blocks"], r["engine_kpx_s_core"], r["baseline_kpx_s_core"], f"{r['ratio']:.2f}",
          r["engine_kpx_cpu_s"], r["baseline_kpx_cpu_s"], f"{r['ratio_cpu']:.2f}",
          "-" if r["same_class"] is None else f"{100 * r['same_class']:.2f} %"] for r in rows]))


# ------------------------------------------------------------------------------------------------ 2. memory


def tiled_cube(tile: np.ndarray, size: int, times, bands, chunk: int = 256) -> xr.DataArray:
    """A lazy ``size`` x ``size`` cube whose every ``chunk`` block is a copy of ``tile`` (cheap to generate), on the
    dates and bands of the cube the tile was cut from."""
    n_time, n_band = tile.shape[:2]

    def block(block_info=None):
        (_, _), (_, _), (y0, y1), (x0, x1) = block_info[None]["array-location"]
        return tile[:, :, : y1 - y0, : x1 - x0].copy()

    splits = tuple([chunk] * (size // chunk) + ([size % chunk] if size % chunk else []))
    data = da.map_blocks(block, chunks=((n_time,), (n_band,), splits, splits), dtype=np.float32,
                         meta=np.empty((0, 0, 0, 0), np.float32), name=f"tiled-{size}")
    return make_cube(data, list(times), list(bands), transform=(10.0, 0.0, 600000.0, 0.0, -10.0, 5000000.0),
                     crs="EPSG:32631")


def memory_child(spec: dict) -> dict:
    """Run in a child process: one engine or baseline run on a tiled cube; its own peak RSS and RSS growth."""
    with open(spec["model"], "rb") as handle:
        model = pickle.load(handle)
    tile = np.load(spec["tile"])
    cube = tiled_cube(tile, spec["size"], spec["times"], spec["bands"])
    workers = spec["workers"]
    # warm-up on a small cube (imports, first calls), so that their memory is not counted as the run's
    small = tiled_cube(tile, 256, spec["times"], spec["bands"])
    set_threads(model, 1)
    engine_products(small, model, cores=workers, block=(128, 128))
    model.predict_proba(as_pixels(tile[:, :, :16, :16]))
    gc.collect()
    reset = reset_peak_rss()
    before, peak_before = rss_now(), peak_rss()
    start = time.perf_counter()
    if spec["kind"] == "engine":
        chunks = engine_products(cube, model, cores=workers, memory=spec["budget"])
        blocks = describe_blocks(chunks)
    else:
        set_threads(model, workers)
        values = np.empty(cube.shape, np.float32)
        tiling.store([cube.data], [values], workers=workers, lock=False)
        model.predict_proba(as_pixels(values))
        blocks = "whole array"
    peak = peak_rss()
    return {"before": before, "peak_before": peak_before, "peak": peak, "growth": peak - before,
            "seconds": time.perf_counter() - start, "blocks": blocks, "peak_reset": reset}


def run_child(spec: dict) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--memory-child", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory child {spec['kind']} {spec['size']} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


MEMORY_MODELS = {  # key: (label, make_model keywords)
    "series": ("RF (10 trees, depth 8) on the series alone (stats=[])", dict(n_estimators=10, max_depth=8, stats=[])),
    "stats": ("RF (10 trees, depth 8) with labkit's temporal stats", dict(n_estimators=10, max_depth=8)),
}


def memory(args, cube: xr.DataArray, samples: xr.Dataset, folder: Path) -> list[dict]:
    tile = np.ascontiguousarray(cube.values[:, :, :256, :256])
    np.save(folder / "tile.npy", tile)
    train = subsample(samples, args.train_samples)
    common = {"tile": str(folder / "tile.npy"), "workers": args.cores,
              "times": [str(t) for t in cube["time"].values.astype("datetime64[D]")],
              "bands": [str(b) for b in cube["band"].values]}
    plans = [("series", args.memory_budget, args.memory_sizes, args.baseline_max)]
    if args.leak_sizes:
        plans.append(("stats", args.leak_budget, args.leak_sizes, 0))
    rows = []
    for key, budget, sizes, baseline_max in plans:
        label, params = MEMORY_MODELS[key]
        with open(folder / f"model-{key}.pkl", "wb") as handle:
            pickle.dump(fit("rf", train, args.cores, **params), handle)
        base, per_pixel, measured_at = {**common, "model": str(folder / f"model-{key}.pkl"), "budget": budget}, None, 0
        for size in sizes:
            pixels = size * size
            eng = run_child({**base, "kind": "engine", "size": size})
            log(f"memory {key} {size}: engine peak growth {eng['growth'] / 1e6:.0f} MB in {eng['seconds']:.1f} s")
            if size <= baseline_max:
                bas = run_child({**base, "kind": "baseline", "size": size})
                per_pixel, measured_at = bas["growth"] / pixels, size
                bas_growth, how = bas["growth"], f"measured ({bas['seconds']:.0f} s)"
                log(f"memory {key} {size}: baseline peak growth {bas_growth / 1e6:.0f} MB in {bas['seconds']:.1f} s")
            elif per_pixel is not None:
                bas_growth = per_pixel * pixels
                how = (f"estimated, not run: {per_pixel:.0f} B/px (measured at {measured_at}x{measured_at}) x "
                       f"{pixels:,} px")
            else:
                bas_growth, how = None, "not run"
            rows.append({
                "section": "memory", "model": label, "size": f"{size}x{size}", "pixels": pixels,
                "cube_gb": round(pixels * tile.shape[0] * tile.shape[1] * 4 / 1e9, 3), "threads": args.cores,
                "budget": budget, "blocks": eng["blocks"], "engine_peak_growth_mb": round(eng["growth"] / 1e6, 1),
                "engine_peak_rss_mb": round(eng["peak"] / 1e6, 1), "engine_s": round(eng["seconds"], 1),
                "baseline_peak_growth_mb": None if bas_growth is None else round(bas_growth / 1e6, 1),
                "baseline": how, "ratio": None if not bas_growth else round(eng["growth"] / bas_growth, 4),
            })
    return rows


def print_memory(rows: list[dict], args) -> None:
    print(f"\n### Peak memory: peak RSS growth of a child process, the engine ({args.cores} workers) under a budget vs "
          "the whole array in memory (ratio = engine / baseline, lower is better)\n")
    print(markdown(["model", "cube (12 dates x 4 bands)", "GB", "engine budget", "engine blocks", "engine peak MB",
                    "baseline peak MB", "ratio", "baseline"],
                   [[r["model"], r["size"], f"{r['cube_gb']:.2f}", r["budget"], r["blocks"],
                     r["engine_peak_growth_mb"], r["baseline_peak_growth_mb"],
                     "-" if r["ratio"] is None else f"{r['ratio']:.3f}", r["baseline"]] for r in rows]))


# ---------------------------------------------------------------------------------------------- 3. end to end


def end_to_end(args) -> list[dict]:
    from labkit.datasets import make_synthetic_scene
    from labkit.gapfill import fill_gaps, regular_dates
    from labkit.masks import mask_from_scl
    from labkit.samples import extract_samples

    cores, size, chunk = args.cores, args.e2e_size, args.chunk
    scene = make_synthetic_scene(size, size, dates=37, chunks=chunk, random_state=1)
    codes = xr.where(scene.mask == 0, np.uint8(4), xr.where(scene.mask == 1, np.uint8(9), np.uint8(0)))
    raw, scl = tiling.compute((scene.cube, codes.astype(np.uint8).rename("SCL")), workers=cores)
    scl = scl.rio.write_crs(raw.rio.crs)
    times = raw["time"].values
    dates = regular_dates(times[0], times[-1], 10)
    raw_lazy = raw.chunk({"time": -1, "band": -1, "y": chunk, "x": chunk})
    scl_lazy = scl.chunk({"time": -1, "y": chunk, "x": chunk})
    filled, _ = fill_gaps(raw_lazy, mask_from_scl(scl_lazy), dates=dates)
    samples = extract_samples(filled, scene.polygons)
    log(f"e2e: {size}x{size} px, {raw.sizes['band']} bands, {raw.sizes['time']} dates -> {len(dates)} dates; "
        f"{samples.sizes['sample']} samples")
    model = fit("rf", subsample(samples, args.train_samples), cores, **MODELS["rf"][1])
    forest, features_step = model.steps[-1][1], model.steps[0][1]
    n_pixels = size * size

    def engine():
        set_threads(model, 1)
        return engine_products(raw_lazy, model, cores=cores, memory=args.e2e_memory, mask=mask_from_scl(scl_lazy))

    corner = {"y": slice(0, 64), "x": slice(0, 64)}
    set_threads(model, 1)
    engine_products(raw_lazy.isel(corner), model, cores=cores, mask=mask_from_scl(scl_lazy.isel(corner)),
                    block=(64, 64))
    e = Timed(engine)  # once: the slowest section

    # The baseline: the same chain stage by stage on whole arrays in memory, each stage timed alone, on a window.
    side = args.e2e_window or size
    window = {"y": slice(0, side), "x": slice(0, side)}
    raw_w, scl_w = raw.isel(window), scl.isel(window)
    n_window = raw_w.sizes["y"] * raw_w.sizes["x"]
    state = {}

    def masks():
        state["mask"] = mask_from_scl(scl_w)

    def gapfill():
        state["filled"] = fill_gaps(raw_w, state["mask"], dates=dates)[0].values

    def features():
        state["features"] = features_step.transform(as_pixels(state["filled"]))

    def classify():
        set_threads(model, cores)
        state["proba"] = forest.predict_proba(state["features"])

    stages = [("masks (mask_from_scl)", masks), ("gap-filling (fill_gaps, linear)", gapfill),
              ("features (SeriesFeatures: the series + 6 stats per band)", features),
              (f"model (RF predict_proba, n_jobs={cores})", classify)]
    timings = {}
    for label, run in stages:
        timings[label] = Timed(run)
        log(f"e2e baseline stage {label}: {timings[label].wall:.2f} s")
    total_wall = sum(t.wall for t in timings.values())
    total_cpu = sum(t.cpu for t in timings.values())
    e_rate = n_pixels / e.wall / cores / 1e3
    b_rate = n_window / total_wall / cores / 1e3

    def tile_minutes(kpx_per_core: float) -> float:
        return TILE_PIXELS / (kpx_per_core * 1e3 * TILE_CORES) / 60

    scene_text = f"{size}x{size} px, 10 bands, 37 dates -> {len(dates)} dates"
    rows = [{
        "section": "e2e", "stage": "engine: predict_map(raw, rf, mask=mask_from_scl(scl))", "scene": scene_text,
        "pixels": n_pixels, "threads": cores, "budget": args.e2e_memory, "blocks": describe_blocks(e.result),
        "seconds": round(e.wall, 2), "cpu_seconds": round(e.cpu, 2),
        "kpx_s_core": round(e_rate, 2), "kpx_cpu_s": round(n_pixels / e.cpu / 1e3, 2),
        "baseline_kpx_s_core": round(b_rate, 2), "baseline_kpx_cpu_s": round(n_window / total_cpu / 1e3, 2),
        "ratio": round(e_rate / b_rate, 3), "ratio_cpu": round((n_pixels / e.cpu) / (n_window / total_cpu), 3),
        "tile_minutes_16_cores": round(tile_minutes(e_rate), 2),
        "tile_minutes_16_cores_cpu": round(tile_minutes(n_pixels / e.cpu / 1e3), 2),
        "target": f">= {TARGETS['e2e_kpx_s_core']:.0f} kpx/s/core (a tile in < 4 min on 16 cores)",
        "met": bool(e_rate >= TARGETS["e2e_kpx_s_core"]),
    }]
    for label, t in timings.items():
        rows.append({
            "section": "e2e", "stage": "baseline stage: " + label, "scene": scene_text,
            "pixels": n_window, "seconds": round(t.wall, 2), "cpu_seconds": round(t.cpu, 2),
            "kpx_cpu_s": round(n_window / t.cpu / 1e3, 2), "share_cpu": round(t.cpu / total_cpu, 3),
            "tile_minutes_16_cores_cpu": round(tile_minutes(n_window / t.cpu / 1e3), 2),
        })
    rows.append({"section": "e2e", "stage": "baseline: the four stages, whole arrays in memory", "scene": scene_text,
                 "pixels": n_window, "seconds": round(total_wall, 2), "cpu_seconds": round(total_cpu, 2),
                 "kpx_s_core": round(b_rate, 2), "kpx_cpu_s": round(n_window / total_cpu / 1e3, 2),
                 "share_cpu": 1.0, "tile_minutes_16_cores_cpu": round(tile_minutes(n_window / total_cpu / 1e3), 2)})
    log(f"e2e engine {e_rate:.1f} kpx/s/core, tile {rows[0]['tile_minutes_16_cores']:.1f} min on 16 cores")
    return rows


def print_e2e(rows: list[dict], args) -> None:
    head = rows[0]
    print(f"\n### End to end (masks -> gap-filling -> features -> RF 100 trees), {head['scene']}, "
          f"{args.cores} threads; a Sentinel-2 tile = 10980 x 10980 px on {TILE_CORES} cores "
          f"(target >= {TARGETS['e2e_kpx_s_core']:.0f} kpx/s/core, < 4 min)\n")
    lines = [[head["stage"], f"{head['pixels']:,}", f"{head['blocks']} ({head['budget']})", head["seconds"],
              head["kpx_s_core"], head["kpx_cpu_s"], "-",
              f"{head['tile_minutes_16_cores']:.1f} min ({head['tile_minutes_16_cores_cpu']:.1f} by CPU-s)"]]
    for r in rows[1:]:
        lines.append([r["stage"], f"{r['pixels']:,}", "whole array", r["seconds"], r.get("kpx_s_core"),
                      r["kpx_cpu_s"], f"{100 * r['share_cpu']:.0f} %",
                      f"{r['tile_minutes_16_cores_cpu']:.1f} min (by CPU-s)"])
    print(markdown(["run", "pixels", "blocks", "s", "kpx/s/core", "kpx/CPU-s", "share of baseline CPU",
                    "S2 tile, 16 cores"], lines))
    print(f"\nengine / baseline: {head['ratio']:.2f} per core (wall), {head['ratio_cpu']:.2f} per CPU-s; "
          f"target {head['target']}: {'met' if head['met'] else 'NOT met'}")


# ------------------------------------------------------------------------------------------------ 4. trees


def trees(args) -> tuple[list[dict], str | None]:
    try:
        import _trees
    except Exception as error:  # noqa: BLE001  (another helper writes it: absent or broken, say why)
        return [], f"bench/_trees.py did not import: {type(error).__name__}: {error}"
    import inspect

    def inference():
        options = {"n_pixels": args.tree_pixels, "random_state": 0}
        if "compile_budget_s" in inspect.signature(_trees.tree_inference_rows).parameters:
            options["compile_budget_s"] = args.compile_budget
        return _trees.tree_inference_rows(**options)

    calls = [("tree_inference_rows", inference)]
    if args.forest_cost:
        calls.append(("forest_cost_rows", lambda: _trees.forest_cost_rows(random_state=0, mirror=args.mirror)))
    rows, problems = [], []
    for name, call in calls:
        try:
            start = time.perf_counter()
            got = list(call())
            log(f"{name}: {len(got)} rows in {time.perf_counter() - start:.1f} s")
            rows += [{"section": "trees", "source": name, **row} for row in got]
        except Exception as error:  # noqa: BLE001
            problems.append(f"{name} failed: {type(error).__name__}: {error}")
            rows.append({"section": "trees", "source": name, "status": f"absent ({problems[-1]})"})
    if not args.forest_cost:
        rows.append({"section": "trees", "source": "forest_cost_rows",
                     "status": "not run: --forest-cost runs it (forests cross-validated on the real sample sets, "
                               "minutes; or python bench/_trees.py)"})
    return rows, "; ".join(problems) or None


def print_trees(rows: list[dict], problem: str | None, args) -> None:
    print(f"\n### Tree inference (bench/_trees.py: one core per method, {args.tree_pixels:,} pixels; "
          "ratio = method / scikit-learn)\n")
    if not rows:
        print(f"absent: {problem}")
        return
    for source in dict.fromkeys(row["source"] for row in rows):
        group = [row for row in rows if row["source"] == source]
        keys = []
        for row in group:
            keys += [k for k in row if k not in keys and k not in ("section", "source")]
        print(f"{source}:\n")
        print(markdown(keys, [[_cell(row.get(k)) for k in keys] for row in group]))
        print()


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    return str(value).replace("|", "/")


# -------------------------------------------------------------------------------------------------- 5. GPU


def gpu(args, cube: xr.DataArray | None, models: dict) -> list[dict]:
    import torch

    if not torch.cuda.is_available():
        reason = "absent (no CUDA device: torch.cuda.is_available() is False)"
        return [{"section": "gpu", "row": "TempCNN on GPU, predict_map(device='cuda')", "status": reason},
                {"section": "gpu", "row": "RF as tensor trees (hummingbird) on GPU", "status": reason}]
    rows, name = [], torch.cuda.get_device_name(0)
    if cube is None or "tempcnn" not in models:
        return [{"section": "gpu", "row": "GPU rows", "status": "absent (run with the throughput section)"}]
    n_pixels = cube.sizes["y"] * cube.sizes["x"]
    lazy = cube.chunk({"time": -1, "band": -1, "y": 256, "x": 256})
    model = models["tempcnn"]
    extra = model_extra(model, cube)
    torch.set_num_threads(args.cores)
    try:
        def on_gpu():
            engine_products(lazy, model, cores=args.cores, memory=args.memory)
            torch.cuda.synchronize()

        engine_products(lazy.isel(y=slice(0, 64), x=slice(0, 64)), model, cores=args.cores, block=(64, 64))
        predict_map(lazy.isel(y=slice(0, 64), x=slice(0, 64)), model, device="cuda", block=(64, 64)).compute()
        e = best([Timed(on_gpu) for _ in range(args.repeat)])

        def whole():
            model.predict_proba(as_pixels(cube.values), **extra)
            torch.cuda.synchronize()

        b = best([Timed(whole) for _ in range(args.repeat)])  # the network stays on the GPU (predict_map put it)
        rows.append({"section": "gpu", "row": "TempCNN on GPU, predict_map(device='cuda') vs one predict_proba",
                     "device": name, "pixels": n_pixels, "engine_mpx_s": round(n_pixels / e.wall / 1e6, 3),
                     "baseline_mpx_s": round(n_pixels / b.wall / 1e6, 3), "ratio": round(b.wall / e.wall, 3)})
    except Exception as error:  # noqa: BLE001
        rows.append({"section": "gpu", "row": "TempCNN on GPU", "status": f"failed: {type(error).__name__}: {error}"})
    finally:
        predict_map(lazy.isel(y=slice(0, 8), x=slice(0, 8)), model, device="cpu", block=(8, 8))
    try:
        from hummingbird.ml import convert

        rf = models["rf"]
        features = rf.steps[0][1].transform(as_pixels(cube.values))
        tensor = convert(rf.steps[-1][1], "torch", features[:1000]).to("cuda")
        tensor.predict_proba(features[:1000])
        t = best([Timed(lambda: tensor.predict_proba(features)) for _ in range(args.repeat)])
        set_threads(rf, args.cores)
        c = Timed(lambda: rf.steps[-1][1].predict_proba(features))
        rows.append({"section": "gpu", "row": "RF (100 trees) as tensor trees (hummingbird) on GPU vs sklearn on CPU",
                     "device": name, "pixels": n_pixels, "engine_mpx_s": round(n_pixels / t.wall / 1e6, 3),
                     "baseline_mpx_s": round(n_pixels / c.wall / 1e6, 3), "ratio": round(c.wall / t.wall, 3)})
    except Exception as error:  # noqa: BLE001
        rows.append({"section": "gpu", "row": "RF as tensor trees on GPU",
                     "status": f"failed: {type(error).__name__}: {error}"})
    return rows


def print_gpu(rows: list[dict]) -> None:
    print("\n### GPU (Mpx/s; baseline: one predict_proba on the whole array on the same GPU, or sklearn on the CPU)\n")
    print(markdown(["row", "device", "GPU Mpx/s", "baseline Mpx/s", "ratio"],
                   [[r["row"], r.get("device", "-"), r.get("engine_mpx_s", r.get("status")),
                     r.get("baseline_mpx_s"), r.get("ratio")] for r in rows]))


# ---------------------------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--height", type=int, default=512, help="throughput cube height, px (default 512)")
    parser.add_argument("--width", type=int, default=512, help="throughput cube width, px (default 512)")
    parser.add_argument("--chunk", type=int, default=256, help="dask chunks of the lazy cubes, px (default 256)")
    parser.add_argument("--memory", default="128MB",
                        help="engine budget of the throughput runs (default 128MB: 256x256 blocks)")
    parser.add_argument("--diagnose", default="512MB",
                        help="also run the RF under this budget (default 512MB: one block on 512x512); '' for none")
    parser.add_argument("--memory-sizes", default="1024,4096", help="cube sides of the memory section")
    parser.add_argument("--memory-budget", default="512MB", help="engine budget of the memory section")
    parser.add_argument("--leak-sizes", default="1024,2048",
                        help="sides run for the engine with labkit's temporal stats (a model with SeriesFeatures' "
                             "statistics), under --leak-budget; '' for none (default 1024,2048)")
    parser.add_argument("--leak-budget", default="128MB", help="budget of those runs (default 128MB: 256x256 blocks)")
    parser.add_argument("--baseline-max", type=int, default=1024,
                        help="largest side run for the baseline's memory; larger ones estimated (default 1024)")
    parser.add_argument("--e2e-size", type=int, default=512, help="end-to-end cube side, px (default 512)")
    parser.add_argument("--e2e-memory", default="1GB", help="engine budget of the end-to-end run (default 1GB)")
    parser.add_argument("--e2e-window", type=int, default=0,
                        help="run the end-to-end baseline on the top-left window of this side (default 0: the whole "
                             "cube; a smaller window is not like for like: the features stage slows down per pixel "
                             "on larger arrays)")
    parser.add_argument("--train-samples", type=int, default=4000, help="samples the models are fitted on")
    parser.add_argument("--tree-pixels", type=int, default=20_000,
                        help="n_pixels of bench/_trees.py's tree_inference_rows (default 20000)")
    parser.add_argument("--compile-budget", type=float, default=20.0,
                        help="seconds tl2cgen may compile in tree_inference_rows (default 20)")
    parser.add_argument("--forest-cost", action="store_true",
                        help="also run bench/_trees.py's forest_cost_rows (real sample sets, minutes)")
    parser.add_argument("--mirror", default=None, help="mirror of bench/_trees.py's forest_cost_rows")
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="threads of both sides (default: all)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per timing, the fastest kept (default 2)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"among {','.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="CI size: small cubes, one run each (under a minute)")
    parser.add_argument("--json", metavar="PATH", help="also write every row, the machine and the date as JSON")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(json.loads(args.memory_child))))
        return 0
    if args.quick:
        args.height = args.width = 256
        args.chunk, args.memory, args.diagnose = 128, "32MB", ""
        args.memory_sizes, args.baseline_max, args.memory_budget = "512,1024", 1024, "128MB"
        args.leak_sizes, args.leak_budget = "256,512", "32MB"
        args.e2e_size, args.e2e_memory = 256, "256MB"
        args.train_samples, args.tree_pixels, args.compile_budget, args.repeat = 1500, 10_000, 10.0, 1
    args.memory_sizes = [int(s) for s in str(args.memory_sizes).split(",") if s]
    args.leak_sizes = [int(s) for s in str(args.leak_sizes).split(",") if s]
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose among {SECTIONS}")
    warnings.filterwarnings("ignore", category=UserWarning)  # sklearn's feature-name notes and the like

    started = time.perf_counter()
    seconds, rows = {}, []
    cube = samples = None
    models: dict = {}
    with dask.config.set(scheduler="threads"), tempfile.TemporaryDirectory() as tmp:
        if {"throughput", "memory"} & set(sections) or ("gpu" in sections and cuda_available()):
            start = time.perf_counter()
            cube, samples = series_scene(args.height, args.width, args.cores, chunk=args.chunk)
            log(f"series cube {cube.shape} and {samples.sizes['sample']} samples in "
                f"{time.perf_counter() - start:.1f} s")
        printers = []
        if "throughput" in sections or ("gpu" in sections and cuda_available()):
            start = time.perf_counter()
            got, models = throughput(args, cube, samples)
            if "throughput" in sections:
                rows += got
                printers.append(lambda got=got: print_throughput(got, args))
            seconds["throughput"] = round(time.perf_counter() - start, 1)
        if "memory" in sections:
            start = time.perf_counter()
            got = memory(args, cube, samples, Path(tmp))
            rows += got
            printers.append(lambda got=got: print_memory(got, args))
            seconds["memory"] = round(time.perf_counter() - start, 1)
        if "e2e" in sections:
            start = time.perf_counter()
            got = end_to_end(args)
            rows += got
            printers.append(lambda got=got: print_e2e(got, args))
            seconds["e2e"] = round(time.perf_counter() - start, 1)
        if "trees" in sections:
            start = time.perf_counter()
            got, problem = trees(args)
            rows += got or [{"section": "trees", "status": f"absent ({problem})"}]
            printers.append(lambda got=got, problem=problem: print_trees(got, problem, args))
            seconds["trees"] = round(time.perf_counter() - start, 1)
        if "gpu" in sections:
            start = time.perf_counter()
            got = gpu(args, cube, models)
            rows += got
            printers.append(lambda got=got: print_gpu(got))
            seconds["gpu"] = round(time.perf_counter() - start, 1)

    runtime = time.perf_counter() - started
    import sklearn
    import torch

    machine = (f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}, "
               f"scikit-learn {sklearn.__version__}, torch {torch.__version__}, dask {dask.__version__}")
    print(f"## Inference benchmark (bench/predict.py{' --quick' if args.quick else ''})\n")
    print(f"machine: {machine}; {args.cores} threads per side; {datetime.date.today().isoformat()}")
    for show in printers:
        show()
    print(f"\nruntime: {runtime:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in seconds.items())})")
    if args.json:
        from _common import write_results

        meta = {"machine": cpu_name(), "cores": os.cpu_count(), "threads": args.cores, "versions": machine,
                "date": datetime.datetime.now().isoformat(timespec="seconds"), "runtime_s": round(runtime, 1),
                "section_seconds": seconds, "quick": bool(args.quick), "targets": TARGETS,
                "args": {k: v for k, v in vars(args).items() if k != "memory_child"}}
        write_results(args.json, rows, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
