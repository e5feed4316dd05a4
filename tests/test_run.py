"""``labkit run``: the plan, every output, reruns that redo only what changed, the same bytes for the same seed, a
resume after SIGKILL, one failed tile that stops nothing else, batch clusters' job scripts, config errors.

Three synthetic tiles are written once; the in-process runs share one local Dask cluster of two worker processes.
Only the SIGKILL test starts ``labkit run`` in a process of its own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from labkit.cli import main
from labkit.datasets.synthetic import write_synthetic_tiles
from labkit.outputs import is_temporary
from labkit.run import load_config, plan_run, run_config
from labkit.errors import ConfigError
from labkit.run.config import ExecutionSection
from labkit.run.execute import cluster_options, open_client
from labkit.run.state import STATE

N_TILES, SIZE, DATES = 3, 64, 8
TILES = [f"T{i:02d}" for i in range(N_TILES)]
RUNS = (0, 1)
N_TASKS = N_TILES + 2 + N_TILES * 2 + 2 + 2 + 1  # samples, train, map, validation, mosaic, report
CONFIG = {"tiles": {"glob": "tiles/*.zarr"}, "reference": {"polygons": "reference.gpkg", "n_runs": len(RUNS)},
          "gapfill": {"step": 30}, "models": [{"model": "rf", "params": {"n_estimators": 10}}],
          "execution": {"workers": 2, "memory": "2GB"}}


def write_config(folder: Path, outputs: str, **sections) -> Path:
    """A run config in ``folder`` (paths relative to it) writing into ``folder/outputs``."""
    path = folder / f"{outputs}.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, **sections, "outputs": {"folder": outputs}}), encoding="utf-8")
    return path


def run(path: Path, client, **options):
    return run_config(load_config(path), client=client, progress=False, config_path=path, echo=lambda *a: None,
                      **options)


def outputs_of(folder: Path) -> dict[str, bytes]:
    """Every file of a run's outputs, by relative path, with its bytes; not the logs nor the run's records."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] not in ("logs", STATE)}


def statuses(result) -> dict[str, set[str]]:
    found = {}
    for key, outcome in result.results.items():
        found.setdefault(outcome["status"], set()).add(key)
    return found


def keys_of(plan, *stages) -> set[str]:
    return {key for key, task in plan.tasks.items() if task.stage in stages}


@pytest.fixture(scope="module")
def tiles(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    write_synthetic_tiles(folder, n_tiles=N_TILES, size=SIZE, dates=DATES)
    return folder


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    # the cluster labkit starts itself (workers with the task resource), of 2 one-thread workers
    options = cluster_options(ExecutionSection(workers=2, cores=1, memory="2GiB"))
    with LocalCluster(**options) as cluster, Client(cluster) as client:
        yield client


def test_each_worker_of_a_cluster_labkit_starts_runs_one_labkit_task_at_a_time(client):
    from labkit.run.execute import TASK_RESOURCE, task_resources

    workers = client.scheduler_info()["workers"].values()
    assert [w["resources"] for w in workers] == [{TASK_RESOURCE: 1}] * 2
    assert task_resources(client) == {TASK_RESOURCE: 1}


@pytest.fixture(scope="module")
def reference(tiles, client):
    """A whole, uninterrupted run: its config file and result."""
    path = write_config(tiles, "out-a")
    return path, run(path, client)


def test_dry_run_prints_the_plan_and_writes_nothing(tiles, capsys):
    path = write_config(tiles, "out-dry")
    assert main(["run", str(path), "--dry-run"]) == 0
    shown = capsys.readouterr().out
    size = r"\d+(\.\d+)? (B|KiB|MiB|GiB)"
    patterns = {"samples": "samples/<tile>.nc", "train": "models/<model>/run-<k>.labkit",
                "map": "tiles/<tile>/<model>/run-<k>/", "validation": "validation/<model>/run-<k>.json",
                "mosaic": "mosaic/<model>/run-<k>/", "report": "report/"}
    counts = {"samples": 3, "train": 2, "map": 6, "validation": 2, "mosaic": 2, "report": 1}
    for stage, n in counts.items():
        line = re.search(rf"^{stage} +{n} +{n} +0 +{re.escape(patterns[stage])} +(\S+( \S+)?)$", shown, re.M)
        assert line, f"no line for stage {stage} with {n} tasks to do in:\n{shown}"
        if stage in ("samples", "map", "mosaic"):
            assert re.fullmatch(size, line[1]) and not line[1].startswith("0 "), line[0]
    assert re.search(rf"^total +{N_TASKS} +{N_TASKS} +0 .* {size}$", shown, re.M), shown
    assert f"outputs in {tiles / 'out-dry'}" in shown
    assert all(f"{tile}: {SIZE} x {SIZE} px, {DATES} dates" in shown for tile in TILES), shown
    assert not (tiles / "out-dry").exists()


def test_a_run_writes_every_output(reference):
    import rasterio

    from labkit.models import load_model

    path, result = reference
    assert result.ok and result.counts == {"done": N_TASKS}, result.summary()
    out = path.parent / "out-a"
    for tile in TILES:
        assert (out / "samples" / f"{tile}.nc").is_file()
    for k in RUNS:
        assert hasattr(load_model(out / "models" / "rf" / f"run-{k}.labkit"), "predict")
        assert json.loads((out / "validation" / "rf" / f"run-{k}.json").read_text())["n_test_samples"] > 0
        for tile in TILES:
            for name in ("class_map", "confidence", "probabilities"):
                with rasterio.open(out / "tiles" / tile / "rf" / f"run-{k}" / f"{name}.tif") as src:
                    assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and src.shape == (SIZE, SIZE)
        with rasterio.open(out / "mosaic" / "rf" / f"run-{k}" / "class_map.tif") as src:
            assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and src.shape == (SIZE, N_TILES * SIZE)
    assert "rf" in (out / "report" / "report.md").read_text()
    assert len(json.loads((out / "report" / "metrics.json").read_text())["rf"]["runs"]) == len(RUNS)
    assert "16 done" in (result.log.read_text()) and result.log.parent == out / "logs"
    oa = json.loads((out / "report" / "metrics.json").read_text())["rf"]["summary"]["overall_accuracy"]
    assert f"  rf: overall accuracy {oa['mean']:.3f} ± {oa['std']:.3f} over 2 runs (test samples; " in result.summary()
    counts = re.findall(r" done samples/(T\d\d) \(stage samples, tile T\d\d\) in [\d.]+ s, peak memory \S+ \S+, "
                        r"([\d,]+) samples$", result.log.read_text(), re.M)
    assert sorted(tile for tile, _ in counts) == TILES
    for tile, n in counts:
        from labkit.io import read_samples

        assert int(n.replace(",", "")) == read_samples(out / "samples" / f"{tile}.nc").sizes["sample"] > 0


def test_the_log_says_when_a_tile_has_no_reference(tmp_path):
    from labkit.run.execute import _Log

    log = _Log(tmp_path)
    log.task({"key": "samples/T09", "stage": "samples", "tile": "T09", "status": "done", "duration_s": 1.0,
              "peak_memory": 2**20, "samples": 0})
    log.close()
    assert log.path.read_text().rstrip().endswith(
        "done samples/T09 (stage samples, tile T09) in 1.00 s, peak memory 1.0 MiB, 0 samples (no reference polygon "
        "over this tile)")


def test_a_rerun_redoes_only_what_is_forced_or_changed(reference, client):
    path, _ = reference
    folder = path.parent
    shutil.copytree(folder / "out-a", folder / "out-rerun")
    path = write_config(folder, "out-rerun")
    out = folder / "out-rerun"
    times = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    assert plan_run(load_config(path)).todo == set()
    result = run(path, client)
    assert result.counts == {"skipped": N_TASKS}
    assert {p: p.stat().st_mtime_ns for p in times} == times

    plan = plan_run(load_config(path), force=["map"])
    assert plan.todo == keys_of(plan, "map", "mosaic", "report") and len(plan.todo) == 9
    result = run(path, client, force=["map"])
    assert statuses(result) == {"done": plan.todo, "skipped": set(plan.tasks) - plan.todo}
    assert len(re.findall(r" skipped \S+: done by an earlier run$", result.log.read_text(), re.M)) == 7  # its own log

    before = outputs_of(out)
    path = write_config(folder, "out-rerun", postprocess={"majority_filter": {"window": 5}})
    plan = plan_run(load_config(path))
    assert plan.todo == keys_of(plan, "map", "mosaic", "report")
    result = run(path, client)
    assert statuses(result) == {"done": plan.todo, "skipped": keys_of(plan, "samples", "train", "validation")}
    after = outputs_of(out)
    assert after["tiles/T00/rf/run-0/class_map.tif"] != before["tiles/T00/rf/run-0/class_map.tif"]
    assert all(after[name] == before[name] for name in before if name.startswith(("samples/", "models/")))
    assert plan_run(load_config(path)).todo == set()


def test_looking_at_a_map_in_a_gis_redoes_nothing_and_a_changed_map_is_redone(reference):
    path, _ = reference
    folder = path.parent
    shutil.copytree(folder / "out-a", folder / "out-gis")
    path = write_config(folder, "out-gis")
    maps = folder / "out-gis" / "tiles" / "T00" / "rf" / "run-0"
    side_car = maps / "class_map.tif.aux.xml"
    assert side_car.is_file()  # the class names, which a GIS shows as the legend
    side_car.write_text(side_car.read_text() + "<!-- statistics a GIS added -->")
    (maps / "class_map.tif.ovr").write_bytes(b"overviews a GIS built")
    assert plan_run(load_config(path)).todo == set()

    (maps / "confidence.tif").write_bytes(b"not the map any more")
    plan = plan_run(load_config(path))
    assert "map/T00/rf/run-0" in plan.todo and "map/T01/rf/run-0" not in plan.todo


def test_replaced_inputs_are_redone_and_the_speed_settings_are_not(reference):
    path, _ = reference
    config = load_config(path)
    faster = load_config({**yaml.safe_load(path.read_text()), "inference": {"memory": "64MB", "workers": 1}},
                         base=path.parent)
    assert plan_run(faster).todo == set()  # the blocks do not change the map
    chunk = next(p for p in (path.parent / "tiles" / "T02.zarr").rglob("*") if p.is_file())
    stat = chunk.stat()
    try:  # the tile's content replaced at the same path (seen by its files' times and sizes)
        os.utime(chunk, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        plan = plan_run(config)
        # its samples, hence the models, hence every map; not the other tiles' samples
        assert {"samples/T02", "train/rf/run-0", "map/T00/rf/run-0", "map/T02/rf/run-1"} <= plan.todo
        assert not plan.todo & {"samples/T00", "samples/T01"}
    finally:
        os.utime(chunk, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert plan_run(config).todo == set()


def test_the_same_seed_gives_the_same_bytes(reference, client):
    path, _ = reference
    again = write_config(path.parent, "out-b")
    assert run(again, client).counts == {"done": N_TASKS}
    first, second = outputs_of(path.parent / "out-a"), outputs_of(path.parent / "out-b")
    assert {"samples/T00.nc", "models/rf/run-1.labkit", "tiles/T02/rf/run-1/class_map.tif",
            "mosaic/rf/run-0/class_map.tif", "report/metrics.json"} <= set(first)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []


def _outputs_in_place(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not any(is_temporary(part) for part in p.parts)]


def test_a_killed_run_resumes_where_it_stopped(reference, client, tmp_path):
    import psutil

    path, _ = reference
    folder, expected = path.parent, outputs_of(path.parent / "out-a")
    config = write_config(folder, "out-kill", execution={"workers": 1, "memory": "2GB"})
    out, records = folder / "out-kill", folder / "out-kill" / STATE / "done"
    printed = tmp_path / "printed.txt"
    with open(printed, "wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "labkit.cli", "run", str(config), "--no-progress"],
                                   stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300  # a guard against a hung run, not a timing
        while not (records.is_dir() and any(records.glob("*.json"))):
            assert process.poll() is None, f"labkit run ended before any task was done:\n{printed.read_text()}"
            assert time.monotonic() < deadline, f"no task done after 300 s:\n{printed.read_text()}"
            time.sleep(0.02)
        workers = psutil.Process(process.pid).children(recursive=True)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"the run's worker processes outlived it: {alive}"

    done = {json.loads(p.read_text())["key"] for p in records.glob("*.json")}
    if len(done) == N_TASKS:
        pytest.fail("the run finished before it was killed: make the tiles bigger, so that it is killed half-way")
    # no half-written output in place: what is there (not a hidden temporary) is the whole output
    for file in _outputs_in_place(out):
        name = str(file.relative_to(out))
        if name.startswith(STATE):
            assert json.loads(file.read_text())["key"], name
        elif not name.startswith("logs"):
            assert file.read_bytes() == expected.get(name), f"{name} is not the uninterrupted run's"

    result = run(config, client)
    assert result.ok, result.summary()
    assert {key for key in done if result.results[key]["status"] != "skipped"} == set()
    log = result.log.read_text()
    assert all(f"skipped {key}: done by an earlier run" in log for key in done), log
    assert statuses(result)["done"] == set(result.results) - done
    assert outputs_of(out) == expected
    assert [p for p in out.rglob("*") if is_temporary(p.name)] == []


def test_a_failed_tile_stops_only_what_reads_it(reference, client, tmp_path, capsys):
    path, _ = reference
    shutil.copytree(path.parent / "tiles", tmp_path / "tiles")
    shutil.copy(path.parent / "reference.gpkg", tmp_path)
    address = client.scheduler.address
    config = write_config(tmp_path, "out", execution={"address": address})
    chunk = tmp_path / "tiles" / "T01.zarr" / "cube" / "0.0.0.0"
    whole = chunk.read_bytes()
    # damaged: the planner reads only the metadata. Zeros, not a truncated file: a truncated blosc chunk stored
    # uncompressed (incompressible data) is decoded from whatever memory follows it, without an error (numcodecs)
    chunk.write_bytes(bytes(len(whole)))

    result = run(config, client)
    plan = result.plan
    assert result.results["samples/T01"]["status"] == "failed"
    assert statuses(result) == {"done": {"samples/T00", "samples/T02"}, "failed": {"samples/T01"},
                                "blocked": set(plan.tasks) - keys_of(plan, "samples")}
    summary = result.summary()
    assert "FAILED samples/T01 (stage samples, tile T01): ReadError: " in summary and "T01.zarr" in summary
    assert f"retry (finished tasks are skipped): labkit run {config}" in summary
    assert "overall accuracy" not in summary
    log = result.log.read_text()
    assert "failed samples/T01 (stage samples, tile T01)" in log and "blocked train/rf/run-0" in log

    assert main(["run", str(config), "--no-progress"]) == 1
    shown = capsys.readouterr().out
    assert "2 skipped" in shown and "FAILED samples/T01" in shown and f"labkit run {config}" in shown

    chunk.write_bytes(whole)
    result = run(config, client)
    assert statuses(result) == {"skipped": {"samples/T00", "samples/T02"},
                                "done": set(result.results) - {"samples/T00", "samples/T02"}}
    assert outputs_of(tmp_path / "out") == outputs_of(path.parent / "out-a")


@pytest.mark.parametrize("scheduler, lines", [
    ("slurm", ["#SBATCH -t 01:30:00", "#SBATCH -p normal", "#SBATCH -A geo", "#SBATCH --cpus-per-task=4",
               "#SBATCH --mem=8G"]),
    ("pbs", ["#PBS -l walltime=01:30:00", "#PBS -q normal", "#PBS -A geo", "#PBS -l select=1:ncpus=4:mem=7630MB"]),
])
def test_batch_clusters_get_the_execution_section_in_their_job_script(scheduler, lines):
    from dask_jobqueue import PBSCluster, SLURMCluster

    section = ExecutionSection(scheduler=scheduler, cores=4, memory="8GB", walltime="01:30:00", queue="normal",
                               account="geo")
    options = cluster_options(section)
    options["scheduler_options"] = {**options.get("scheduler_options", {}), "host": "127.0.0.1"}
    with (SLURMCluster if scheduler == "slurm" else PBSCluster)(**options) as cluster:
        script = cluster.job_script()
    for line in lines:
        assert line in script.splitlines(), f"{line!r} not in\n{script}"
    assert "--nthreads 4 " in script and "--memory-limit 7.45GiB" in script
    assert "--resources labkit-task=1" in script  # one labkit task at a time, on all 4 threads


@pytest.mark.parametrize("scheduler, command", [("slurm", "sbatch"), ("pbs", "qsub")])
def test_a_batch_scheduler_without_its_submit_command_is_refused_before_any_job(scheduler, command, tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine that is not a login node: no sbatch, no qsub
    with pytest.raises(ConfigError, match=rf"execution.scheduler: {scheduler} submits its workers with "
                                          rf"'{command}', which is not on this machine's PATH: run labkit run on "
                                          "a login node"):
        with open_client(ExecutionSection(scheduler=scheduler, cores=1, memory="1GB")):
            pass


def test_an_address_where_no_scheduler_answers_names_the_key(monkeypatch):
    import socket

    monkeypatch.setattr("labkit.run.execute.CONNECT_TIMEOUT", "1s")
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(ConfigError, match=rf"execution.address: no Dask scheduler answers at "
                                          rf"'tcp://127.0.0.1:{port}' .*Check that the scheduler is running"):
        with open_client(ExecutionSection(address=f"tcp://127.0.0.1:{port}")):
            pass


def test_progress_is_plain_lines_in_a_batch_job_log(monkeypatch):
    from types import SimpleNamespace

    from labkit.run import execute

    tasks = {f"map/T{i:02d}": SimpleNamespace(key=f"map/T{i:02d}", stage="map") for i in range(20)}
    plan = SimpleNamespace(by_stage=lambda stage: list(tasks.values()) if stage == "map" else [],
                           todo=set(list(tasks)[5:]))  # 5 done by an earlier run
    monkeypatch.setattr(execute, "_interactive", lambda: False)
    said = []
    bars = execute._bars(plan, True, said.append)
    for _ in range(15):
        bars["map"].update()
    assert said == [f"labkit run: map {n}/20 tasks" for n in (6, 8, 10, 12, 14, 16, 18, 20)]
    assert execute._bars(plan, False, said.append)["map"].disable  # --no-progress: nothing at all


def test_a_config_error_is_reported_by_key_path_before_any_work(tiles, capsys):
    path = write_config(tiles, "out-bad", models=[{"model": "rf", "params": {"n_estimators": "many"}}],
                        gapfill={"step": 30, "methd": "linear"})
    assert main(["run", str(path)]) == 2
    said = capsys.readouterr().err
    assert f"{path} has 2 errors:" in said
    assert "models[0].params.n_estimators: " in said and "'many'" in said
    assert "gapfill.methd: unknown key (did you mean 'method'?)" in said
    assert not (tiles / "out-bad").exists()


def test_the_plan_refuses_features_the_tiles_bands_cannot_give(tiles):
    config = load_config(write_config(tiles, "out-indices", inputs={"kind": "zarr", "bands": ["B04", "B08"]},
                                      features={"indices": ["NDVI", "NDMI"]}))  # NDMI needs B11
    with pytest.raises(ConfigError, match=r"features\.indices: tile 'T00' \(bands B04, B08\) cannot give 'NDMI'"):
        plan_run(config)
    config = load_config(write_config(tiles, "out-expr", features={"indices": [], "expressions": {"x": "B99 * 2"}}))
    with pytest.raises(ConfigError, match=r"features\.expressions\.x: tile 'T00'.*B99"):
        plan_run(config)
    assert not (tiles / "out-indices").exists() and not (tiles / "out-expr").exists()
