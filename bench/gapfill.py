"""Benchmark: labkit's linear gap-filling against plain xarray, in gap-filled values per second.

One synthetic Sentinel-2-like scene (:func:`labkit.datasets.make_synthetic_scene`: ``--size`` x ``--size`` pixels,
10 bands, ``--dates`` irregular dates of 2021 with clouds, cloud shadows and swath edges) is computed into memory
first, so that making it is not timed. The target is a date every ``step="auto"`` days (the median revisit, 5 days)
from the first date to the last. A *value* is one gap-filled number: one target date of one band of one pixel.

**labkit**: :func:`labkit.gapfill.fill_gaps` (``method="linear"``) on the whole numpy-backed cube, one core (numpy
does not use threads here), the best of ``--repeat`` runs; then on a dask-backed copy in chunks of ``--chunks``
pixels with the threaded scheduler on ``--cores`` threads (blocks computed and dropped, not assembled).

**Baseline**, in the same process: ``cube.where(mask == 0).interpolate_na(dim="time", method="linear")
.interp(time=target)``, plain xarray on numpy, one core. It takes about 10 microseconds per series, minutes on the
whole scene, so it runs on the top-left ``--window`` x ``--window`` sub-window (representative: the same clouds and
fields); the rates (values per second) are compared, and labkit's rate on that window is printed too.

**Agreement**: the largest ``|labkit - baseline|`` over the window, where both are defined and the target date lies
between two valid observations of the pixel (labkit's flag 0; the baseline leaves NaN before the first and after
the last valid date, and at a target that falls on a valid date next to such a NaN).

**Memory**: the peak traced by :mod:`tracemalloc` (every numpy allocation: output included) during one more call,
divided by the size of the input block (the cube's values: float32, dates x bands x pixels).

Targets (the issue "Preprocessing at scale"): labkit at least 20 times the baseline's rate, identical within 1e-4
where both are defined, peak memory at most twice the input block.

Usage: ``python bench/gapfill.py [--size 1024] [--dates 60] [--window 256] [--json results.json]``; about a minute
on 2 idle cores with the defaults. On a loaded machine the wall-clock rates drop; the CPU-time rates
(``*_cpu_values_per_s``, CPU seconds of this process) do not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import tracemalloc
import warnings

import dask
import dask.array as da
import numpy as np

from _common import Drop, cpu_name
from labkit.datasets import make_synthetic_scene
from labkit.gapfill import fill_gaps

TARGETS = {"speedup": 20.0, "max_abs_diff": 1e-4, "labkit_peak_memory_ratio": 2.0}


def timed(run, repeat: int) -> tuple[float, float, object]:
    """``(wall s, CPU s)`` of the fastest of ``repeat`` runs (by wall clock), and the last run's result.

    Each run starts after the previous result is freed, so that from the second run on, the output reuses memory
    that the process already holds (the first touch of fresh memory is slow on some virtual machines).
    """
    best, result = None, None
    for _ in range(max(1, repeat)):
        result = None
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        measured = (time.perf_counter() - wall, time.process_time() - cpu)
        best = measured if best is None or measured[0] < best[0] else best
    return (*best, result)


def peak_memory(run) -> int:
    """Peak bytes traced by tracemalloc while ``run()`` runs (its result is dropped)."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def baseline(cube, mask, target):
    """Plain xarray: invalid observations to NaN, interpolate along time, then interpolate at the target dates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return cube.where(mask == 0).interpolate_na(dim="time", method="linear").interp(time=target)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1024, help="scene height and width, pixels (default 1024)")
    parser.add_argument("--dates", type=int, default=60, help="number of irregular dates, 1-73 (default 60)")
    parser.add_argument("--window", type=int, default=256, help="baseline sub-window, pixels (default 256)")
    parser.add_argument("--chunks", type=int, default=256, help="dask chunk size of the dask run (default 256)")
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="threads of the dask run (default: all)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per timing, the fastest is kept (default 2)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.window > args.size:
        parser.error("--window must not exceed --size")

    started = time.perf_counter()
    scene = make_synthetic_scene(args.size, args.size, dates=args.dates, random_state=0)
    with dask.config.set(scheduler="threads", num_workers=args.cores):
        cube, mask = dask.compute(scene.cube, scene.mask)
    made = time.perf_counter() - started
    input_bytes = cube.nbytes
    n_time, n_band = cube.sizes["time"], cube.sizes["band"]
    invalid = float((mask.values != 0).mean())
    print(f"scene: {args.size} x {args.size} px x {n_band} bands x {n_time} dates, float32, {input_bytes / 1e9:.2f} GB "
          f"in memory, {invalid:.0%} of the observations cloudy or not acquired; made in {made:.1f} s", flush=True)

    # labkit, the whole cube, numpy-backed.
    fill_gaps(cube.isel(y=slice(0, 8), x=slice(0, 8)), mask.isel(y=slice(0, 8), x=slice(0, 8)), step="auto")
    wall, cpu, (filled, flags) = timed(lambda: fill_gaps(cube, mask, step="auto"), args.repeat)
    target = filled.time.values
    n_values = filled.size
    window = {"y": slice(0, args.window), "x": slice(0, args.window)}
    ours, our_flags = filled.isel(window).values.copy(), flags.isel(window).values.copy()
    del filled, flags  # the memory run below reuses this memory
    labkit_peak = peak_memory(lambda: fill_gaps(cube, mask, step="auto"))
    print(f"labkit: {n_values / 1e6:.0f} M values ({len(target)} dates every "
          f"{int((target[1] - target[0]) / np.timedelta64(1, 'D'))} days) in {wall:.2f} s", flush=True)

    # labkit, dask-backed, threaded.
    chunked = cube.chunk({"y": args.chunks, "x": args.chunks})
    chunked_mask = mask.chunk({"y": args.chunks, "x": args.chunks})

    def run_dask():
        lazy, lazy_flags = fill_gaps(chunked, chunked_mask, step="auto")
        da.store([lazy.data, lazy_flags.data], [Drop(), Drop()], lock=False)

    with dask.config.set(scheduler="threads", num_workers=args.cores):
        dask_wall, dask_cpu, _ = timed(run_dask, args.repeat)
    print(f"labkit on dask: {dask_wall:.2f} s", flush=True)

    # The baseline on the top-left window, and labkit on the same window.
    cube_w, mask_w = cube.isel(window), mask.isel(window)
    base_wall, base_cpu, expected = timed(lambda: baseline(cube_w, mask_w, target), args.repeat)
    print(f"baseline: {expected.size / 1e6:.0f} M values in {base_wall:.2f} s", flush=True)
    base_peak = peak_memory(lambda: baseline(cube_w, mask_w, target))
    window_wall, window_cpu, _ = timed(lambda: fill_gaps(cube_w, mask_w, step="auto"), args.repeat)
    n_window = expected.size

    theirs = expected.transpose("time", "band", "y", "x").values
    both = (our_flags == 0)[:, None] & np.isfinite(theirs)
    max_diff = float(np.abs(ours[both] - theirs[both]).max()) if both.any() else float("nan")

    labkit_rate, base_rate = n_values / wall, n_window / base_wall
    figures = {
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"numpy {np.__version__}",
        "scene": f"{args.size}x{args.size} px x {n_band} bands x {n_time} dates -> {len(target)} dates "
                 f"(step='auto')",
        "input_block_mb": round(input_bytes / 1e6, 1),
        "labkit_values_per_s": round(labkit_rate),
        "labkit_cpu_values_per_s": round(n_values / cpu),
        "baseline_window": f"{args.window}x{args.window} px (top-left), {n_window / 1e6:.1f} M values",
        "baseline_values_per_s": round(base_rate),
        "baseline_cpu_values_per_s": round(n_window / base_cpu),
        "labkit_window_values_per_s": round(n_window / window_wall),
        "speedup": round(labkit_rate / base_rate, 1),
        "speedup_cpu": round((n_values / cpu) / (n_window / base_cpu), 1),
        "speedup_same_window": round(base_wall / window_wall, 1),
        "max_abs_diff": max_diff,
        "values_compared": int(both.sum()),
        "memory_measure": "tracemalloc peak during the call / input block (the cube's values)",
        "labkit_peak_memory_ratio": round(labkit_peak / input_bytes, 3),
        "baseline_peak_memory_ratio": round(base_peak / cube_w.nbytes, 3),
        "dask_chunks": f"{args.chunks}x{args.chunks} px, threaded scheduler, {args.cores} threads",
        "dask_values_per_s": round(n_values / dask_wall),
        "dask_cpu_values_per_s": round(n_values / dask_cpu),
        "runtime_s": round(time.perf_counter() - started, 1),
    }
    figures["targets_met"] = {
        "speedup >= 20": figures["speedup"] >= TARGETS["speedup"],
        "max_abs_diff <= 1e-4": max_diff <= TARGETS["max_abs_diff"],
        "labkit_peak_memory_ratio <= 2": figures["labkit_peak_memory_ratio"] <= TARGETS["labkit_peak_memory_ratio"],
    }
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        if isinstance(value, float) and key != "max_abs_diff":
            value = f"{value:,}"
        elif isinstance(value, int) and not isinstance(value, bool) and key.endswith("per_s"):
            value = f"{value / 1e6:,.1f} M"
        elif key == "max_abs_diff":
            value = f"{value:.3g}"
        print(f"{key:<{width}}  {value}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
    return figures


if __name__ == "__main__":
    main()
    sys.exit(0)
