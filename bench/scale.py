"""Benchmark: ``labkit run`` at scale: throughput with 1 and 2 workers, memory per worker, a country-sized schedule.

The chain (:func:`labkit.run.run_config`: samples -> train -> map -> validation -> mosaic -> report) runs on synthetic
tiles (:func:`labkit.datasets.synthetic.write_synthetic_tiles`: ``--size`` px a side, ``--dates`` dates, 4 classes,
gap-filled every 30 days, a random forest of ``--trees`` trees trained on at most ``--max-per-class`` samples per
class (``reference.max_per_class``, as iota2's sample selection caps them), 1 run) on a local Dask cluster made by
the runner's own :func:`labkit.run.execute.open_client`: processes of one thread each. The synthetic reference
outlines almost every field (about 90% of the pixels); ``--reference-share`` keeps that share of its polygons (a
sparse reference, as in a real run, where the samples cover a small part of the tiles). Writing the tiles, starting
the cluster and importing labkit in its workers are not timed; every configuration writes into a fresh outputs
folder.

0. **The machine**: the same numpy work (:func:`kernel`) on arrays that stay in a core's cache and on arrays that go
   through main memory, alone and two copies side by side in two processes: what the second core costs the first on
   this machine whatever the code (the cores of a virtual machine share the host's memory bandwidth). Every stage of a
   run streams tiles through memory: its tasks' slowdown with 2 workers is to be read against the memory kernel's.
1. **Throughput**: tiles per second of the whole run of ``--tiles`` tiles, with 1 worker (the baseline) and with 2
   workers; ratio = 2 workers / 1 worker (target >= 1.8); the fastest of ``--repeat`` interleaved runs each. The
   training of a run is one task that waits for the samples of every tile (serial), so the ratio is bounded by the
   share of the work in the serial stages: the schedule simulator of section 3 run on the 1-worker run's measured
   task durations gives that bound ("ideal"); how much longer the same tasks took with 2 workers says what the
   machine lost to sharing its cores. Then the same outputs again with ``force=["map"]`` (``labkit run --force map``:
   the maps, the mosaic and the report redone; samples, models and validation kept): the per-tile stage alone.
2. **Peak memory per worker**: the median and the largest peak resident memory (RSS of the worker process, sampled
   by the runner while a task runs: Python and the libraries included, the "idle worker" figure) of the ``samples``
   and ``map`` tasks, for ``--memory-tiles`` and ``--tiles`` tiles, each run on 2 new workers (a worker keeps some
   of what a run before imported and cached, which is not the run's own): it should not grow with the number of
   tiles. The training's peak grows with the number of samples (every tile's samples in one process), shown for
   reference. A tile of ``--size`` px is one dask chunk (``inputs.chunks: auto``), so one tile of each of
   ``--tile-sides`` px, read in ``--side-chunks`` px chunks, shows the peak against the tile's size.
3. **Country-sized schedule** (simulated): each stage's task duration is modelled as ``a + b * size`` (least
   squares over every measured task of the stage, the ``--tile-sides`` tiles included; ``size`` = the tile's pixels
   for ``samples`` and ``map``, the mosaic's pixels for ``mosaic``, the reference samples of all tiles for ``train``
   and ``validation``, none for ``report``; the runs' mosaics being too small for their cost per pixel to show, one
   more point times a mosaic of 4 class maps of ``--mosaic-side`` px), then applied to ``--country-tiles`` full
   Sentinel-2 tiles (10980 x 10980 px) x ``--country-runs`` runs with ``--country-samples`` reference samples in all.
   Assumptions: cost linear in those sizes (training a forest is ``n log n``: slightly optimistic for ``train``); a
   task runs on one core as measured here, and a job of ``c`` cores is ``c`` such workers; no contention between
   workers for the file system (more than 2 cores can show); the samples stage scaled by the tile's pixels, though
   it reads only the blocks that hold samples (the synthetic tiles have the same number of polygons whatever their
   size: a sparse reference). The task graph is the planner's own (:mod:`labkit.run.plan`); :func:`simulate` is a
   list scheduler: whenever a worker is free, it takes the ready task with the longest remaining path to the end.
   Printed: makespan (hours), worker utilisation (work / (workers x makespan)), a lower bound (the critical path,
   or the work spread evenly) and the critical path, for ``--jobs`` jobs of each ``--job-cores``.

Every run also records the CPU seconds that other programs used (and, on a virtual machine, the hypervisor took)
while it ran: on a shared machine they slow the runs down, the 1-worker runs less than the 2-worker ones.

Usage: ``python bench/scale.py [--json PATH] [--quick]``; about 5 minutes on 2 cores with the defaults, under one
with ``--quick``. The 2-worker runs share the 2 cores with the Dask scheduler and this process (planning,
collecting results).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import heapq
import logging
import os
import platform
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from _common import cpu_name

S2_TILE_PIXELS = 10980 * 10980
TARGETS = {"throughput_ratio": 1.8}
SIZED_STAGES = ("samples", "map", "train", "validation", "mosaic")


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fmt_bytes(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


# ---------------------------------------------------------------------------------------------------- data


def write_tiles(folder: Path, n_tiles: int, size: int, args) -> list[Path]:
    """Synthetic tiles and their reference (``--reference-share`` of the polygons kept); the tiles' paths."""
    import geopandas as gpd

    from labkit.datasets.synthetic import write_synthetic_tiles
    from labkit.io import write_vector

    written = write_synthetic_tiles(folder, n_tiles=n_tiles, size=size, dates=args.dates, n_classes=4,
                                    random_state=args.random_state)
    if args.reference_share < 1:
        polygons = gpd.read_file(written["reference"])
        kept = polygons.sample(frac=args.reference_share, random_state=args.random_state).sort_index()
        write_vector(kept, written["reference"], layer="polygons", overwrite=True)
    return written["tiles"]


def run_settings(folder: Path, tiles: list[Path], workers: int, name: str, args, chunks: int | None = None):
    """The run config of one measured configuration (its own outputs folder)."""
    from labkit.run import load_config

    return load_config({
        "tiles": {"paths": [str(p) for p in tiles]},
        "inputs": {"kind": "zarr", **({"chunks": chunks} if chunks else {})},
        "reference": {"polygons": "reference.gpkg", "n_runs": 1, "max_per_class": args.max_per_class or None},
        "gapfill": {"step": 30},
        "models": [{"model": "rf", "params": {"n_estimators": args.trees}}],
        "execution": {"workers": workers, "cores": 1, "memory": args.worker_memory},
        "outputs": {"folder": f"out-{name}"},
    }, base=folder)


# ---------------------------------------------------------------------------------------------- one measured run


def _warm_up() -> None:
    """Import what the tasks import, in a worker (not timed)."""
    import importlib

    for module in ("rasterio", "sklearn.ensemble", "labkit.inference", "labkit.postprocess", "labkit.run.stages",
                   "labkit.samples"):
        importlib.import_module(module)


def _task_size(task, plan, n_samples: int) -> float:
    """What a task's duration is modelled as proportional to (see the module's section 3)."""
    pixels = {tile: facts.height * facts.width for tile, facts in plan.tiles.items()}
    if task.stage in ("samples", "map"):
        return pixels[task.tile]
    if task.stage == "mosaic":
        return sum(pixels.values())
    if task.stage in ("train", "validation"):
        return n_samples
    return 0


@dataclass
class Cluster:
    """A warmed-up local cluster: its client, workers and their resident memory before any run."""

    client: object
    workers: int
    idle_worker_rss: int


@contextlib.contextmanager
def open_cluster(workers: int, folder: Path, tiles: list[Path], args):
    """The runner's own local cluster (:func:`labkit.run.execute.open_client`) of ``workers`` one-thread workers,
    labkit imported in each (not timed)."""
    from labkit.run.execute import open_client

    with open_client(run_settings(folder, tiles, workers, "unused", args).execution) as client:
        client.run(_warm_up)
        yield Cluster(client, workers, int(max(client.run(_idle_rss).values())))


def measured_run(name: str, cluster: Cluster, folder: Path, tiles: list[Path], args, *, chunks: int | None = None,
                 force: tuple[str, ...] = (), again: str | None = None) -> dict:
    """Run the chain on ``tiles`` on the cluster into a fresh outputs folder, or into run ``again``'s redoing the
    ``force`` stages; the tiles read in dask chunks of ``chunks`` px (default ``inputs.chunks``' own). Returns its
    wall time and the figures of every task it ran."""
    from labkit.io import read_samples
    from labkit.run import run_config

    client, workers = cluster.client, cluster.workers
    config = run_settings(folder, tiles, workers, again or name, args, chunks)
    load, cpu = os.getloadavg()[0], _cpu_seconds()
    start = time.perf_counter()
    result = run_config(config, force=force, client=client, progress=False, echo=lambda *_: None)
    wall = time.perf_counter() - start
    busy, steal, ours = (after - before for after, before in zip(_cpu_seconds(), cpu))
    others = max(0.0, busy - ours)  # the two clocks are read apart: a fraction of a second either way
    if not result.ok:
        raise RuntimeError(f"the {name} run failed:\n{result.summary()}")
    outputs = Path(config.outputs.folder)
    n_samples = sum(int(read_samples(p).sizes["sample"]) for p in (outputs / "samples").glob("*.nc"))
    plan, size = result.plan, int(next(iter(result.plan.tiles.values())).height)
    tasks = [{"key": key, "stage": r["stage"], "duration_s": r["duration_s"], "peak_memory": r["peak_memory"],
              "size": _task_size(plan.tasks[key], plan, n_samples), "deps": list(plan.tasks[key].deps)}
             for key, r in result.results.items() if r["status"] == "done"]
    log(f"{name}: {len(tiles)} tiles of {size} px on {workers} worker(s): {wall:.1f} s, {n_samples:,} samples "
        f"(load average {load:.1f}; CPU s of other programs {others:.1f}, stolen {steal:.1f})")
    return {"name": name, "workers": workers, "tiles": len(tiles), "size": size, "wall_s": round(wall, 2),
            "tiles_per_s": round(len(tiles) / wall, 4), "samples": n_samples, "load_average": round(load, 2),
            "cpu_s": round(ours, 2), "others_cpu_s": round(others, 2), "steal_cpu_s": round(steal, 2),
            "idle_worker_rss": cluster.idle_worker_rss, "tasks": tasks}


def _cpu_seconds() -> tuple[float, float, float]:
    """CPU seconds so far: used by the whole machine (every core), taken by the hypervisor from this virtual machine
    (steal; 0 elsewhere), and used by this process and its children (the clusters' scheduler and workers)."""
    import psutil

    machine = psutil.cpu_times()
    busy = sum(getattr(machine, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq"))
    ours = 0.0
    for process in (psutil.Process(), *psutil.Process().children(recursive=True)):
        try:
            times = process.cpu_times()
            ours += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return busy, getattr(machine, "steal", 0.0), ours


def _idle_rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def mosaic_calibration(folder: Path, side: int, n_tiles: int) -> dict:
    """Time :func:`labkit.postprocess.mosaic` (a COG) of ``n_tiles`` class maps of ``side`` px side by side, in this
    process, on one thread (as a task): the runs' mosaics are too small for their cost per pixel to show past their
    fixed costs."""
    import dask
    import xarray as xr

    from labkit.io import write_cog
    from labkit.postprocess import mosaic

    fields = np.random.default_rng(0).integers(1, 5, (n_tiles, side // 32, side // 32)).astype("uint8")
    paths = []
    with dask.config.set(scheduler="threads", num_workers=1):  # not the clusters this process has a client of
        for i in range(n_tiles):
            grid = {"y": 5e6 - 10.0 * (np.arange(side) + 0.5), "x": 6e5 + 10.0 * (i * side + np.arange(side) + 0.5)}
            classes = xr.DataArray(np.kron(fields[i], np.ones((32, 32), "uint8")), dims=("y", "x"), coords=grid)
            paths.append(write_cog(classes.rio.write_crs("EPSG:32631"), folder / f"class_map_{i}.tif", nodata=0))
        start = time.perf_counter()
        mosaic(paths, folder / "mosaic.tif")
        seconds = time.perf_counter() - start
    log(f"mosaic of {n_tiles} class maps of {side} px: {seconds:.1f} s")
    return {"key": "mosaic/calibration", "stage": "mosaic", "duration_s": round(seconds, 3),
            "size": n_tiles * side * side, "deps": []}


# ------------------------------------------------------------------------------------------------ 0. the machine


KERNELS = {"compute": 256 * 2**10, "memory": 64 * 2**20}
"""The arrays of the calibration's two kernels, bytes: one that stays in a core's cache, one that does not."""


def kernel(kind: str) -> float:
    """Seconds of the same numpy work (fill, multiply-add, sum: 200 million float32 in all) on arrays of
    :data:`KERNELS` ``[kind]`` bytes: in the core's cache (``compute``), or through main memory with fresh pages
    each time (``memory``, as a task's blocks are)."""
    n = KERNELS[kind] // 4
    start = time.perf_counter()
    for _ in range(200_000_000 // n):
        values = np.full(n, 0.5, np.float32)
        float((values * 2 + 1).sum())
    return time.perf_counter() - start


def machine_calibration(repeat: int = 3) -> list[dict]:
    """Each kernel alone, then two copies side by side in two processes (the fastest of ``repeat``): how much this
    machine slows down two processes that share it, whatever the code. Cores of a virtual machine share the host's
    memory bandwidth (and caches): code that streams through memory, as every stage of a run does, loses more."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    rows = []
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(time.sleep, [0.2, 0.2]))  # both processes started
        for kind in KERNELS:
            alone = min(pool.submit(kernel, kind).result() for _ in range(repeat))
            both = min(max(f.result() for f in [pool.submit(kernel, kind) for _ in range(2)]) for _ in range(repeat))
            rows.append({"section": "machine", "kernel": kind, "array_bytes": KERNELS[kind], "alone_s": round(alone, 3),
                         "side_by_side_s": round(both, 3), "slowdown": round(both / alone, 3)})
            log(f"{kind} kernel: {alone:.2f} s alone, {both:.2f} s two side by side ({both / alone:.2f}x)")
    return rows


def print_machine(rows: list[dict]) -> None:
    print("\n### 0. The machine: two processes side by side, whatever the code (baseline: one alone)\n")
    print("| kernel (fill, multiply-add, sum) | arrays | alone, s | two side by side, s | slowdown |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['kernel']} | {r['array_bytes'] / 2**10:,.0f} KiB | {r['alone_s']:.2f} | "
              f"{r['side_by_side_s']:.2f} | {r['slowdown']:.2f}x |")
    print("\nThe same numpy work, in cache and through memory: what the second core costs the first here, before "
          "labkit. Section 1's tasks stream tiles through memory, so their slowdown with 2 workers is to be compared "
          "with the memory kernel's.")


# ------------------------------------------------------------------------------------------------ the simulator


def readers(deps: dict[str, list[str]]) -> dict[str, list[str]]:
    """The tasks that read each task's output (``deps`` turned around)."""
    children = {key: [] for key in deps}
    for key, needs in deps.items():
        for need in needs:
            children[need].append(key)
    return children


def bottom_levels(durations: dict[str, float], deps: dict[str, list[str]]) -> dict[str, float]:
    """Each task's longest path to the end of the run, its own duration included (tasks in an order where each comes
    after those it reads from)."""
    children = readers(deps)
    level = {}
    for key in reversed(list(durations)):
        level[key] = durations[key] + max((level[c] for c in children[key]), default=0.0)
    return level


def critical_path(durations: dict[str, float], deps: dict[str, list[str]]) -> list[str]:
    """The longest chain of tasks (by duration): no schedule finishes before its sum."""
    level = bottom_levels(durations, deps)
    children = readers(deps)
    path = [max((k for k in durations if not deps[k]), key=level.get)]
    while children[path[-1]]:
        path.append(max(children[path[-1]], key=level.get))
    return path


def simulate(durations: dict[str, float], deps: dict[str, list[str]], workers: int) -> dict:
    """List scheduling of a task graph on ``workers`` identical workers, one task at a time each.

    Whenever a worker is free it takes, among the tasks whose inputs are all done, the one with the longest remaining
    path to the end (ties: the planner's order). Returns the makespan (s) and the utilisation (busy share of the
    workers' time).
    """
    order = {key: i for i, key in enumerate(durations)}
    level = bottom_levels(durations, deps)
    waiting = {key: len(needs) for key, needs in deps.items()}
    children = readers(deps)
    ready = [(-level[k], order[k], k) for k, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    running, free, now = [], workers, 0.0
    while ready or running:
        while ready and free:
            _, _, key = heapq.heappop(ready)
            heapq.heappush(running, (now + durations[key], order[key], key))
            free -= 1
        now, _, done = heapq.heappop(running)
        free += 1
        for reader in children[done]:
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(ready, (-level[reader], order[reader], reader))
    return {"makespan_s": now, "utilisation": sum(durations.values()) / (workers * now) if now else 1.0}


# ------------------------------------------------------------------------------------------------ 1. throughput


def _seconds_by_stage(run: dict) -> dict[str, float]:
    by_stage = {}
    for task in run["tasks"]:
        by_stage[task["stage"]] = by_stage.get(task["stage"], 0.0) + task["duration_s"]
    return by_stage


def throughput_row(what: str, timed: dict[int, list[dict]], machine: list[dict]) -> dict:
    """The ratio of the fastest runs with 2 workers and with 1, what bounds it (the serial stages: the best schedule
    of the 1-worker run's tasks on 2 workers) and what lowers it (the same tasks taking longer)."""
    one, two = (min(timed[w], key=lambda r: r["wall_s"]) for w in (1, 2))
    durations = {t["key"]: t["duration_s"] for t in one["tasks"]}
    deps = {t["key"]: [d for d in t["deps"] if d in durations] for t in one["tasks"]}
    ideal = simulate(durations, deps, 2)["makespan_s"]
    by_stage, by_stage_two = _seconds_by_stage(one), _seconds_by_stage(two)
    work, work_two = sum(by_stage.values()), sum(by_stage_two.values())
    serial = sum(v for k, v in by_stage.items() if k not in ("samples", "map"))
    ratio = two["tiles_per_s"] / one["tiles_per_s"]
    memory_slowdown = next(r["slowdown"] for r in machine if r["kernel"] == "memory")
    return {"section": "throughput", "what": what, "baseline": "1 worker", "tiles": one["tiles"],
            "size": one["size"], "samples": one["samples"], "wall_1_worker_s": one["wall_s"],
            "wall_2_workers_s": two["wall_s"], "tiles_per_s_1_worker": one["tiles_per_s"],
            "tiles_per_s_2_workers": two["tiles_per_s"], "ratio": round(ratio, 3),
            "target": TARGETS["throughput_ratio"], "met": ratio >= TARGETS["throughput_ratio"],
            "walls_s": {w: [r["wall_s"] for r in got] for w, got in timed.items()},
            "load_averages": {w: [r["load_average"] for r in got] for w, got in timed.items()},
            "others_cpu_s": {w: [r["others_cpu_s"] for r in got] for w, got in timed.items()},
            "steal_cpu_s": {w: [r["steal_cpu_s"] for r in got] for w, got in timed.items()},
            "task_seconds_by_stage_1_worker": {k: round(v, 2) for k, v in by_stage.items()},
            "task_seconds_by_stage_2_workers": {k: round(v, 2) for k, v in by_stage_two.items()},
            "task_slowdown_2_workers": round(work_two / work, 3), "serial_share": round(serial / work, 3),
            "outside_tasks_1_worker_s": round(one["wall_s"] - work, 2),
            "simulated_2_workers_s": round(ideal, 2), "ideal_ratio": round(work / ideal, 3),
            "machine_slowdown": memory_slowdown, "ceiling_ratio": round(work / ideal / memory_slowdown, 3)}


def print_throughput(row: dict) -> None:
    print(f"\n{row['what']}, {row['samples']:,} samples:\n")
    print("| workers | wall s (fastest) | all runs, s | CPU s of other programs, stolen | tiles/s | ratio |")
    print("|---|---|---|---|---|---|")
    for workers, name, wall, rate, ratio in (
            (1, "1 (baseline)", row["wall_1_worker_s"], row["tiles_per_s_1_worker"], 1.0),
            (2, "2", row["wall_2_workers_s"], row["tiles_per_s_2_workers"], row["ratio"])):
        walls = ", ".join(f"{w:.1f}" for w in row["walls_s"][workers])
        others = ", ".join(f"{v:.1f}, {w:.1f}" for v, w in zip(row["others_cpu_s"][workers],
                                                               row["steal_cpu_s"][workers]))
        print(f"| {name} | {wall:.1f} | {walls} | {others} | {rate:.3f} | {ratio:.2f} |")
    print(f"\n{row['what']}: 2 workers / 1 worker = {row['ratio']:.2f} (target >= {row['target']}: "
          f"{'met' if row['met'] else 'NOT met'})")
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in row["task_seconds_by_stage_1_worker"].items())
    print(f"- task time of the 1-worker run: {stages}; outside the tasks (planning, scheduling, collecting) "
          f"{row['outside_tasks_1_worker_s']:.1f} s")
    print(f"- bound: the serial stages (train, validation, mosaic, report) are {row['serial_share']:.0%} of the task "
          f"time; the best 2-worker schedule of the 1-worker run's tasks (section 3's simulator) takes "
          f"{row['simulated_2_workers_s']:.1f} s: ideal ratio {row['ideal_ratio']:.2f}")
    print(f"- loss: the same tasks took {row['task_slowdown_2_workers']:.2f}x as long in the 2-worker run (2 "
          "processes on 2 cores beside the scheduler, this process and the other programs: their CPU seconds during "
          "each run in the table); a numpy loop through memory lost "
          f"{row['machine_slowdown']:.2f}x on this machine (section 0): ideal / that = "
          f"{row['ceiling_ratio']:.2f}, what this machine allows a chain as memory-bound as that loop")


# -------------------------------------------------------------------------------------------------- 2. memory


def memory_rows(runs: list[dict]) -> list[dict]:
    rows = []
    for run in runs:
        peaks = {stage: [t["peak_memory"] for t in run["tasks"] if t["stage"] == stage] or [0]
                 for stage in ("samples", "map", "train")}
        rows.append({"section": "memory", "run": run["name"], "workers": run["workers"], "tiles": run["tiles"],
                     "size": run["size"], "samples": run["samples"], "idle_worker_rss": run["idle_worker_rss"],
                     **{f"peak_{stage}": max(got) for stage, got in peaks.items()},
                     **{f"median_{stage}": int(np.median(got)) for stage, got in peaks.items()}})
    return rows


def print_memory(rows: list[dict]) -> None:
    print("\n### 2. Peak memory per worker (RSS of the worker process during each task; median / max over the "
          "tasks)\n")
    print("| run | workers | tiles | tile px | samples | idle worker | samples tasks | map tasks | train task |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['workers']} | {r['tiles']} | {r['size']} | {r['samples']:,} | "
              f"{fmt_bytes(r['idle_worker_rss'])} | {_median_max(r, 'samples')} | {_median_max(r, 'map')} | "
              f"{fmt_bytes(r['peak_train'])} |")
    print("\nThe idle worker's memory (Python, labkit and its libraries) is part of every peak. A tile of up to 512 px "
          "is one dask chunk (inputs.chunks: auto, 512 px chunks on these stores): its tasks hold the whole tile, so "
          "their peak grows with the tile's side until the tile spans several chunks (--tile-sides).")
    print("The largest of more tasks is the largest of more draws: the median says whether a task needs more.")
    for row in memory_growth(rows):
        tiles = " / ".join(str(n) for n in row["tiles"])
        for what in ("median", "peak"):
            values = " / ".join(fmt_bytes(p) for p in row[f"{what}s"])
            print(f"- {row['stage']} tasks (2 workers, {row['size']} px tiles), {'max' if what == 'peak' else what}: "
                  f"{values} for {tiles} tiles: {row[f'{what}_ratio']:.2f}x from the fewest tiles to the most")


def _median_max(row: dict, stage: str) -> str:
    return f"{fmt_bytes(row[f'median_{stage}'])} / {fmt_bytes(row[f'peak_{stage}'])}"


def memory_growth(rows: list[dict]) -> list[dict]:
    """The median and largest peaks of each stage's tasks against the number of tiles (2 workers, tiles of the base
    size)."""
    size = min(r["size"] for r in rows)
    same = sorted((r for r in rows if r["size"] == size and r["run"].startswith("2-new-workers")),
                  key=lambda r: r["tiles"])
    return [{"section": "memory_growth", "stage": stage, "size": size, "tiles": [r["tiles"] for r in same],
             **{f"{what}s": [r[f"{what}_{stage}"] for r in same] for what in ("median", "peak")},
             **{f"{what}_ratio": round(same[-1][f"{what}_{stage}"] / same[0][f"{what}_{stage}"], 3)
                for what in ("median", "peak")}} for stage in ("samples", "map")]


# ---------------------------------------------------------------------------------------------- 3. simulation


def fit_costs(tasks: list[dict]) -> dict[str, tuple[float, float]]:
    """``(a, b)`` of each stage's duration ``a + b * size`` (least squares over the measured tasks; through the
    origin when the sizes do not vary or the fit's intercept is negative; a constant for ``report``)."""
    costs = {}
    for stage in (*SIZED_STAGES, "report"):
        points = [(t["size"], t["duration_s"]) for t in tasks if t["stage"] == stage]
        size, seconds = np.array(points, float).T
        if stage != "report" and len(set(size)) > 1:
            b, a = np.polyfit(size, seconds, 1)
            if a >= 0 and b > 0:
                costs[stage] = (float(a), float(b))
                continue
        if stage == "report" or not size.any():
            costs[stage] = (float(seconds.mean()), 0.0)
        else:
            costs[stage] = (0.0, float(seconds.sum() / size.sum()))
    return costs


def country_graph(args, reference: Path) -> tuple[list, dict[str, float]]:
    """The planner's tasks (:mod:`labkit.run.plan`) for ``--country-tiles`` full tiles x ``--country-runs`` runs, and
    the size of a task of each stage."""
    from labkit.run.config import RunConfig
    from labkit.run.plan import TileFacts, plan_tasks

    names = [f"T{i:03d}" for i in range(args.country_tiles)]
    config = RunConfig.model_validate({"tiles": {"bboxes": {n: [0, 0, 1, 1] for n in names}},
                                       "inputs": {"kind": "stac"}, "reference": {"polygons": str(reference),
                                                                                 "n_runs": args.country_runs}})
    side = int(np.sqrt(S2_TILE_PIXELS))
    facts = TileFacts(side, side, args.dates, ("B02", "B03", "B04", "B08"), "EPSG:32631", (0, 0, 1, 1))
    tasks = plan_tasks(config, {n: facts for n in names}, None)
    sizes = {"samples": S2_TILE_PIXELS, "map": S2_TILE_PIXELS, "mosaic": S2_TILE_PIXELS * args.country_tiles,
             "train": args.country_samples, "validation": args.country_samples, "report": 0}
    return tasks, sizes


def simulation_rows(measured: list[dict], args, reference: Path) -> tuple[list[dict], dict]:
    costs = fit_costs(measured)
    tasks, sizes = country_graph(args, reference)
    deps = {t.key: list(t.deps) for t in tasks}
    stage = {t.key: t.stage for t in tasks}
    model = {s: {"a_s": a, "b_s": b, "country_task_s": a + b * sizes[s]} for s, (a, b) in costs.items()}
    durations = {key: model[stage[key]]["country_task_s"] for key in deps}
    work = sum(durations.values())
    path = critical_path(durations, deps)
    rows = []
    for cores in args.job_cores:
        for jobs in args.jobs:
            got = simulate(durations, deps, jobs * cores)
            rows.append({"section": "simulation", "tiles": args.country_tiles, "runs": args.country_runs,
                         "jobs": jobs, "cores_per_job": cores, "workers": jobs * cores,
                         "makespan_h": round(got["makespan_s"] / 3600, 3), "utilisation": round(got["utilisation"], 3),
                         "lower_bound_h": round(max(work / (jobs * cores), sum(durations[k] for k in path)) / 3600, 3)})
    summary = {"cost_model": model, "work_core_h": round(work / 3600, 2), "n_tasks": len(durations),
               "critical_path": [{"key": k, "stage": stage[k], "s": round(durations[k], 1)} for k in path],
               "critical_path_h": round(sum(durations[k] for k in path) / 3600, 3)}
    return rows, summary


def print_simulation(rows: list[dict], summary: dict, args) -> None:
    print(f"\n### 3. Simulated schedule: {args.country_tiles} Sentinel-2 tiles (10980 x 10980 px) x "
          f"{args.country_runs} runs, {args.country_samples:,} reference samples, one-core workers\n")
    units = {"samples": "tile px", "map": "tile px", "mosaic": "mosaic px", "train": "sample",
             "validation": "sample", "report": "-"}
    print("| stage | fixed s | s per unit | unit | one country task |\n|---|---|---|---|---|")
    for stage, m in summary["cost_model"].items():
        print(f"| {stage} | {m['a_s']:.2f} | {m['b_s']:.3g} | {units[stage]} | {m['country_task_s'] / 60:,.1f} min |")
    print(f"\n{summary['n_tasks']} tasks, {summary['work_core_h']:,.1f} core-hours of work\n")
    print("| jobs | cores per job | workers | makespan h | utilisation | lower bound h |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['jobs']} | {r['cores_per_job']} | {r['workers']} | {r['makespan_h']:,.2f} | "
              f"{r['utilisation']:.0%} | {r['lower_bound_h']:,.2f} |")
    path = summary["critical_path"]
    print(f"\ncritical path ({summary['critical_path_h']:.2f} h, no number of workers finishes sooner): "
          + " -> ".join(f"{p['key']} ({p['s'] / 60:,.1f} min)" for p in path))


# ---------------------------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiles", type=int, default=8, help="tiles of the throughput runs (default 8)")
    parser.add_argument("--size", type=int, default=512, help="tile side, px (default 512)")
    parser.add_argument("--memory-tiles", default="2,4", help="tile counts of the memory runs, 2 workers (default 2,4)")
    parser.add_argument("--dates", type=int, default=12, help="dates of the synthetic tiles (default 12)")
    parser.add_argument("--trees", type=int, default=20, help="trees of the random forest (default 20)")
    parser.add_argument("--max-per-class", type=int, default=2000,
                        help="training samples per class (reference.max_per_class; 0: all; default 2000)")
    parser.add_argument("--reference-share", type=float, default=0.2,
                        help="share of the synthetic reference polygons kept (default 0.2; 1: every field)")
    parser.add_argument("--tile-sides", default="1024",
                        help="also run 1 tile of each of these sides (px), read in --side-chunks chunks, 2 workers: "
                             "memory against the tile's size, and the cost model's larger tiles (default 1024; "
                             "512,1024,2048 takes about 2 minutes more)")
    parser.add_argument("--side-chunks", type=int, default=256, help="dask chunks of those tiles, px (default 256)")
    parser.add_argument("--worker-memory", default="3GB", help="memory limit of a worker (default 3GB)")
    parser.add_argument("--country-tiles", type=int, default=300, help="simulated tiles (default 300)")
    parser.add_argument("--country-runs", type=int, default=3, help="simulated runs (default 3)")
    parser.add_argument("--country-samples", type=int, default=1_000_000,
                        help="reference samples of the simulated run, all tiles (default 1,000,000)")
    parser.add_argument("--jobs", default="10,50,100", help="simulated numbers of jobs (default 10,50,100)")
    parser.add_argument("--job-cores", default="1,16",
                        help="simulated cores per job, each a one-core worker (default 1,16)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="throughput runs per configuration, interleaved, the fastest kept (default 3)")
    parser.add_argument("--mosaic-side", type=int, default=2048,
                        help="side of the 4 class maps of the mosaic's calibration, px (default 2048)")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="CI size: 4 tiles of 128 px (under a minute)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure, the machine and the date as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.tiles, args.size, args.memory_tiles, args.tile_sides, args.repeat = 4, 128, "2", "256", 1
        args.mosaic_side = 1024
    args.memory_tiles = [int(n) for n in str(args.memory_tiles).split(",") if n]
    args.tile_sides = [int(n) for n in str(args.tile_sides).split(",") if n]
    args.jobs = [int(n) for n in str(args.jobs).split(",") if n]
    args.job_cores = [int(n) for n in str(args.job_cores).split(",") if n]
    warnings.filterwarnings("ignore", category=UserWarning)
    logging.getLogger("distributed").setLevel(logging.ERROR)

    started = time.perf_counter()
    machine_rows = machine_calibration()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as clusters:
        folder = Path(tmp) / "tiles"
        start = time.perf_counter()
        tiles = write_tiles(folder, max([args.tiles, *args.memory_tiles]), args.size, args)
        sides = {side: write_tiles(Path(tmp) / f"side-{side}", 1, side, args) for side in args.tile_sides}
        log(f"tiles written in {time.perf_counter() - start:.1f} s (not timed)")
        runs = []
        for n in sorted({*args.memory_tiles, args.tiles}):  # each on new workers: none holds what a run before left
            with open_cluster(2, folder, tiles, args) as fresh:
                runs.append(measured_run(f"2-new-workers-{n}-tiles", fresh, folder, tiles[:n], args))
        one, two = (clusters.enter_context(open_cluster(workers, folder, tiles, args)) for workers in (1, 2))
        timed, remapped = {1: [], 2: []}, {1: [], 2: []}
        for repeat in range(args.repeat):  # interleaved: a load that comes and goes hits both
            for workers, cluster in ((1, one), (2, two)):
                name = f"{workers}-worker{'s' * (workers > 1)}-{args.tiles}-tiles-{repeat}"
                timed[workers].append(measured_run(name, cluster, folder, tiles[:args.tiles], args))
                remapped[workers].append(measured_run(f"{name}-force-map", cluster, folder, tiles[:args.tiles], args,
                                                      force=("map",), again=name))
        for side, one_tile in sides.items():
            with open_cluster(2, folder, tiles, args) as fresh:
                runs.append(measured_run(f"2-new-workers-1-tile-{side}px-chunks-{args.side_chunks}", fresh,
                                         Path(tmp) / f"side-{side}", one_tile, args, chunks=args.side_chunks))
        throughput = [throughput_row("whole chain", timed, machine_rows),
                      throughput_row("maps again (--force map)", remapped, machine_rows)]
        memory = memory_rows(sorted(runs, key=lambda r: (r["size"], r["workers"], r["tiles"])))
        runs += [run for got in (*timed.values(), *remapped.values()) for run in got]
        calibration = mosaic_calibration(Path(tmp), args.mosaic_side, 4)
        simulation, summary = simulation_rows([t for run in runs for t in run["tasks"]] + [calibration], args,
                                              folder / "reference.gpkg")
    runtime = time.perf_counter() - started

    import dask
    import sklearn

    machine = (f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"scikit-learn {sklearn.__version__}, dask {dask.__version__}")
    print(f"## labkit run at scale (bench/scale.py{' --quick' if args.quick else ''})\n")
    print(f"machine: {machine}; {datetime.date.today().isoformat()}; workers: processes of 1 thread; "
          f"{args.dates} dates, RF {args.trees} trees, {args.reference_share:.0%} of the reference polygons")
    print_machine(machine_rows)
    print(f"\n### 1. Throughput on {args.tiles} tiles of {args.size} px (baseline: 1 worker; ratio = 2 workers / 1 "
          f"worker; target >= {TARGETS['throughput_ratio']})")
    for row in throughput:
        print_throughput(row)
    print_memory(memory)
    print_simulation(simulation, summary, args)
    print(f"\nruntime: {runtime:.0f} s")
    if args.json:
        from _common import write_results

        meta = {"machine": cpu_name(), "cores": os.cpu_count(), "versions": machine, "quick": bool(args.quick),
                "date": datetime.datetime.now().isoformat(timespec="seconds"), "runtime_s": round(runtime, 1),
                "targets": TARGETS, "args": vars(args), "simulation": summary, "mosaic_calibration": calibration,
                "runs": [{k: v for k, v in run.items() if k != "tasks"}
                         | {"tasks": [{k: v for k, v in t.items() if k != "deps"} for t in run["tasks"]]}
                         for run in runs]}
        write_results(args.json, machine_rows + throughput + memory + memory_growth(memory) + simulation, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
