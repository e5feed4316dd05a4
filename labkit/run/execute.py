"""Running a plan on Dask distributed: a local cluster, Slurm or PBS jobs (dask-jobqueue), or a running scheduler.

Every task of the plan that is left to do (:func:`labkit.run.plan.plan_run`) is submitted as one Dask future that
takes the futures of the tasks it reads from: Dask runs the tiles in parallel, training waits for the samples of
every tile, the maps for their model. A task never raises on the cluster: it returns what happened (done, failed
with its error, or blocked by a failed task it reads from), so that one failed tile does not stop the others. Inside
a task, labkit's block engine runs on the worker's threads.

The client shows a progress bar per stage and writes a log per run (``OUTPUTS/logs/run-<time>.log``): each task's
outcome, duration, peak memory and error. :func:`run_config` returns a :class:`RunResult`, whose
:meth:`~RunResult.summary` says what failed and the command that retries it.

Example
-------
>>> result = run_config(load_config("run.yaml"))  # doctest: +SKIP
>>> result.ok, result.counts  # doctest: +SKIP
(True, {'done': 16})
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import itertools
import json
import logging
import os
import shutil
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..errors import ConfigError
from ..outputs import format_bytes
from .plan import Plan, Task, model_names, output_path, plan_run
from .stages import (STAGES, run_map, run_mosaic, run_report, run_samples, run_train, run_validation)
from .state import RunState, fingerprint, staged

__all__ = ["TASK_RESOURCE", "RunResult", "cluster_options", "open_client", "run_config", "task_resources"]


# ----------------------------------------------------------------------------------------------- the cluster


def _machine_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().total)


def cluster_options(execution, n_parallel: int | None = None) -> dict:
    """The keyword arguments of the Dask cluster of an ``execution`` section: of
    :class:`distributed.LocalCluster` (``scheduler: local``, sized to the machine), or of dask-jobqueue's
    ``SLURMCluster`` / ``PBSCluster`` (one worker per job).

    Every worker of these clusters has one unit of the resource :data:`TASK_RESOURCE`, and each labkit task asks for
    it: the scheduler gives a worker one labkit task at a time, which uses all the worker's threads itself (its
    blocks on the block engine, scikit-learn's trees), so a worker of ``cores`` threads is never handed a second
    task that would wait while another worker is idle.

    Example
    -------
    >>> from labkit.run.config import ExecutionSection
    >>> options = cluster_options(ExecutionSection(scheduler="slurm", cores=8, memory="32GB", walltime="02:00:00",
    ...                                            queue="normal", account="geo"))
    >>> options["cores"], options["memory"], options["walltime"], options["queue"], options["account"]
    (8, '32GB', '02:00:00', 'normal', 'geo')
    >>> local = cluster_options(ExecutionSection(workers=2, cores=1, memory="1GB"))
    >>> local["n_workers"], local["resources"]
    (2, {'labkit-task': 1})
    >>> options["worker_extra_args"]
    ['--resources', 'labkit-task=1']
    """
    from ..tiling import parse_memory

    if execution.scheduler == "local":
        threads = execution.cores or 1
        workers = execution.workers or max(1, min(n_parallel or os.cpu_count() or 1, (os.cpu_count() or 1) // threads))
        memory = parse_memory(execution.memory) if execution.memory else int(_machine_memory() * 0.9 / workers)
        return {"n_workers": workers, "threads_per_worker": threads, "memory_limit": memory, "processes": True,
                "resources": {TASK_RESOURCE: 1}, "dashboard_address": ":0", "silence_logs": logging.ERROR}
    options = {"cores": execution.cores or 1, "processes": 1, "memory": execution.memory or "4GB",
               "walltime": execution.walltime, "queue": execution.queue, "account": execution.account,
               "worker_extra_args": ["--resources", f"{TASK_RESOURCE}=1"],
               "silence_logs": "error", "scheduler_options": {"dashboard_address": ":0"}}
    return {k: v for k, v in options.items() if v is not None}


CONNECT_TIMEOUT = "20s"
"""How long ``execution.address`` may take to answer."""
JOB_SUBMIT = {"slurm": "sbatch", "pbs": "qsub"}
"""The command that submits a job of each batch scheduler (dask-jobqueue calls it to start each worker)."""


@contextlib.contextmanager
def open_client(execution, n_parallel: int | None = None):
    """A Dask client of the ``execution`` section (a cluster started for the run and closed after it, or the
    running scheduler at ``address``).

    Example
    -------
    >>> from labkit.run.config import ExecutionSection
    >>> with open_client(ExecutionSection(workers=1, memory="1GB")) as client:  # doctest: +SKIP
    ...     client.submit(sum, [1, 2]).result()
    3
    """
    from distributed import Client, LocalCluster

    if execution.address:
        try:
            client = Client(execution.address, timeout=CONNECT_TIMEOUT)
        except OSError as error:  # refused, timed out, unknown host
            raise ConfigError(f"execution.address: no Dask scheduler answers at {execution.address!r} ({error}). "
                              "Check that the scheduler is running and the address is right (the dashboard shows "
                              "it), or remove execution.address to start a cluster for this run.") from None
        with client:
            yield client
        return
    options = cluster_options(execution, n_parallel)
    if execution.scheduler == "local":
        cluster = LocalCluster(**options)
    else:
        from dask_jobqueue import PBSCluster, SLURMCluster

        submit = JOB_SUBMIT[execution.scheduler]
        if shutil.which(submit) is None:
            raise ConfigError(f"execution.scheduler: {execution.scheduler} submits its workers with '{submit}', "
                              "which is not on this machine's PATH: run labkit run on a login node of the cluster "
                              "(or with scheduler: local here).")

        cluster = (SLURMCluster if execution.scheduler == "slurm" else PBSCluster)(**options)
        cluster.scale(jobs=execution.workers or 1)
    with cluster, Client(cluster) as client:
        yield client


# ----------------------------------------------------------------------------------------------- one task


class _PeakMemory:
    """The largest resident memory of this process while the block runs, sampled every 20 ms."""

    def __init__(self):
        import psutil

        self._process, self._stop, self.peak = psutil.Process(), threading.Event(), 0

    def _watch(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(0.02)

    def __enter__(self):
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _threads() -> int:
    try:
        from distributed import get_worker

        return get_worker().state.nthreads
    except (ImportError, ValueError):
        return os.cpu_count() or 1


def _work(config, plan_grid, task: Task, tmp: Path) -> dict:
    """Run ``task`` writing its output at ``tmp``; what the log says of it besides its time and memory."""
    folder = Path(config.outputs.folder)
    samples = {tile: folder / "samples" / f"{tile}.nc" for tile in config.tile_inputs()}
    model_path = folder / "models" / str(task.model) / f"run-{task.run}.labkit"
    if task.stage == "samples":
        return {"samples": run_samples(config, task.tile, plan_grid, tmp)}
    if task.stage == "train":
        run_train(config, model_names(config).index(task.model), task.run, samples, tmp)
    elif task.stage == "map":
        run_map(config, task.tile, plan_grid, model_path, tmp)
    elif task.stage == "validation":
        run_validation(config, task.run, model_path, samples, tmp)
    elif task.stage == "mosaic":
        run_mosaic(config, [folder / "tiles" / t / task.model / f"run-{task.run}" for t in config.tile_inputs()], tmp)
    else:
        names, runs = model_names(config), range(config.reference.n_runs)
        validations = {m: [folder / "validation" / m / f"run-{k}.json" for k in runs] for m in names}
        mosaics = ({m: [folder / "mosaic" / m / f"run-{k}" for k in runs] for m in names}
                   if config.postprocess.mosaic is not None else {})
        run_report(config, validations, mosaics, tmp)
    return {}


ALLOCATOR_THRESHOLD = 64 * 2**20
"""Arrays up to this size (bytes) are taken from, and given back to, the process's heap rather than mapped anew."""


@functools.cache
def _glibc():
    """glibc, through ctypes; ``None`` elsewhere (macOS, Windows, musl)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return libc


@functools.cache
def settle_allocator(threshold: int = ALLOCATOR_THRESHOLD) -> bool:
    """Let glibc's ``malloc`` keep up to ``threshold`` bytes of freed memory for the next array, in this process.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also fixes the size above which
    ``malloc`` maps fresh pages from the kernel at 128 KiB: every array of a block is then mapped, touched page by
    page (a page fault each 4 KiB) and unmapped. On a map task that is 6 times the page faults (3 times on a
    samples task) and nearly a third of its time in the kernel, which workers side by side also contend for.
    Called once per worker process by :func:`execute_task`, which gives the freed memory back to the system after
    each task (:func:`release_memory`), so that a worker's memory does not grow with the tasks it ran. A no-op
    (``False``) where the C library is not glibc.

    Example
    -------
    >>> settle_allocator() in (True, False)
    True
    """
    libc = _glibc()
    if libc is None:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, threshold)) and bool(libc.mallopt(m_trim_threshold, threshold))


def release_memory() -> None:
    """Give the memory that ``malloc`` holds free back to the system (glibc's ``malloc_trim``): between two tasks.

    Example
    -------
    >>> release_memory()
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


TASK_RESOURCE = "labkit-task"
"""The Dask worker resource a labkit task holds while it runs: a cluster labkit starts gives each worker one."""

_ONE_TASK = threading.Lock()
"""One labkit task at a time in a worker process (its dask and joblib settings are the process's), also on a cluster
that labkit did not start (``address:``), whose workers may have no :data:`TASK_RESOURCE`."""


def task_resources(client) -> dict | None:
    """``{TASK_RESOURCE: 1}`` when every worker of ``client``'s cluster has that resource (a cluster labkit
    started), else ``None``: a task asking for a resource no worker has would never run.

    Example
    -------
    >>> class Client:
    ...     def __init__(self, resources): self.resources = resources
    ...     def scheduler_info(self): return {"workers": {"tcp://a": {"resources": self.resources}}}
    >>> task_resources(Client({"labkit-task": 1})), task_resources(Client({}))
    ({'labkit-task': 1}, None)
    """
    workers = client.scheduler_info().get("workers", {}).values()
    if workers and all(worker.get("resources", {}).get(TASK_RESOURCE, 0) >= 1 for worker in workers):
        return {TASK_RESOURCE: 1}
    return None


def execute_task(config, grid, task: Task, part: dict, *deps: dict) -> dict:
    """Run one task on a worker and record it (:class:`~labkit.run.state.RunState`); never raises.

    Returns ``{"key", "status", ...}``: ``done`` (with its duration and peak memory), ``failed`` (with the error
    and its traceback) or ``blocked`` (a task it reads from did not finish).
    """
    import dask
    import joblib

    # scikit-learn called from the block engine's threads would fork loky processes, which a Dask worker refuses:
    # it then runs on one thread, which is what a block should do (the blocks are the parallel work)
    for message in ("Loky-backed parallel loops cannot be called", "Inside a Dask worker with daemon=True"):
        warnings.filterwarnings("ignore", message=message, category=UserWarning)
    base = {"key": task.key, "stage": task.stage, "tile": task.tile, "model": task.model, "run": task.run}
    stopped = [d["key"] for d in deps if d["status"] not in ("done", "skipped")]
    if stopped:
        return {**base, "status": "blocked", "by": stopped}
    settle_allocator()
    start = time.perf_counter()
    memory = _PeakMemory()
    try:
        threads = config.inference.workers or _threads()
        # the block engine and scikit-learn/joblib on the worker's threads (a worker process may not fork)
        # one labkit task at a time per worker process: the settings below are the process's, and the task uses
        # all the worker's threads itself
        with _ONE_TASK, memory, dask.config.set(scheduler="threads", num_workers=threads), \
                joblib.parallel_config(backend="threading", n_jobs=threads):
            output = output_path(config, task)
            with staged(output) as tmp:
                said = _work(config, grid, task, tmp)
            state = RunState(config.outputs.folder)
            facts = {"duration_s": round(time.perf_counter() - start, 3), "peak_memory": memory.peak,
                     "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), **said}
            state.record(task.key, task.stage, fingerprint(task.stage, part, [state.digest(d) for d in task.deps]),
                         output, facts)
        return {**base, "status": "done", **facts}
    except Exception as error:  # reported, not raised: the other tasks go on
        return {**base, "status": "failed", "duration_s": round(time.perf_counter() - start, 3),
                "peak_memory": memory.peak, "error": f"{type(error).__name__}: {error}",
                "traceback": traceback.format_exc()}
    finally:
        release_memory()  # the next task starts from the worker's own size, not from this one's leftovers


# ----------------------------------------------------------------------------------------------- the run


@dataclass
class RunResult:
    """What a run did: each task's outcome (``done``, ``skipped`` as done before, ``failed``, ``blocked``), the log
    file, and the command that retries what did not finish."""

    results: dict[str, dict]
    log: Path | None
    retry: str
    dashboard: str | None = None
    plan: Plan | None = field(default=None, repr=False)

    @property
    def counts(self) -> dict[str, int]:
        """Tasks per outcome."""
        return dict(Counter(r["status"] for r in self.results.values()))

    @property
    def ok(self) -> bool:
        """Whether every task is done (now or before)."""
        return all(r["status"] in ("done", "skipped") for r in self.results.values())

    def of(self, status: str) -> list[dict]:
        """The results of the tasks of one outcome."""
        return [r for r in self.results.values() if r["status"] == status]

    def summary(self) -> str:
        """The run in a few lines: counts per outcome, each failed task (stage, tile, error), and the retry."""
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items()))
        lines = [f"labkit run: {len(self.results)} tasks: {counts}" + (f"; log {self.log}" if self.log else "")]
        for result in self.of("failed"):
            first = result["error"].strip().splitlines()[0] if result["error"].strip() else "no message"
            lines.append(f"  FAILED {_where(result)}: {first}")
        blocked = self.of("blocked")
        if blocked:
            lines.append(f"  {len(blocked)} task(s) not run, as they read from a failed one: "
                         + ", ".join(r["key"] for r in blocked[:6]) + (", ..." if len(blocked) > 6 else ""))
        if not self.ok:
            lines.append(f"Fix the cause, then retry (finished tasks are skipped): {self.retry}")
        lines += self._accuracy()
        return "\n".join(lines)

    def _accuracy(self) -> list[str]:
        """Each model's overall accuracy over its runs, from the report (when it is there)."""
        if self.plan is None or not self.ok:  # a report left by an earlier run is not this run's
            return []
        report = Path(self.plan.config.outputs.folder) / "report"
        try:
            metrics = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        lines = []
        for model, found in metrics.items():
            summary = found.get("summary", {})
            oa, n = summary.get("overall_accuracy", {}), summary.get("n_runs")
            if "mean" in oa:
                lines.append(f"  {model}: overall accuracy {oa['mean']:.3f} ± {oa.get('std', 0):.3f} over {n} "
                             f"run{'s' if n != 1 else ''} (test samples; {report / 'report.md'})")
        return lines


def _where(result: dict) -> str:
    text = f"{result['key']} (stage {result['stage']}"
    text += f", tile {result['tile']}" if result.get("tile") else ""
    return text + ")"


class _Log:
    """The run's log file: a header, then one line per task as it ends (errors with their traceback)."""

    def __init__(self, folder: Path):
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
        folder.mkdir(parents=True, exist_ok=True)
        for number in itertools.count(1):  # a second run of this process within the second gets a log of its own
            suffix = "" if number == 1 else f"-{number}"
            self.path = folder / f"run-{stamp}-{os.getpid()}{suffix}.log"
            with contextlib.suppress(FileExistsError):
                self._file = open(self.path, "x", encoding="utf-8")
                break

    def write(self, text: str) -> None:
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        for line in text.splitlines() or [""]:
            self._file.write(f"{now} {line}\n")
        self._file.flush()

    def task(self, result: dict) -> None:
        status, key = result["status"], result["key"]
        if status == "skipped":
            self.write(f"skipped {key}: done by an earlier run")
        elif status == "blocked":
            self.write(f"blocked {key}: reads from {', '.join(result['by'])}, which did not finish")
        else:
            samples = "" if "samples" not in result else f", {result['samples']:,} samples" + (
                " (no reference polygon over this tile)" if result["samples"] == 0 else "")
            self.write(f"{status} {_where(result)} in {result['duration_s']:.2f} s, peak memory "
                       f"{format_bytes(result['peak_memory'])}{samples}"
                       + (f": {result['error']}" if status == "failed" else ""))
            if status == "failed":
                self.write(result["traceback"])

    def close(self) -> None:
        self._file.close()


class _StageLines:
    """A stage's progress as plain lines (``labkit run: map 60/600 tasks``, at each tenth and at the end): what a
    batch job's log file shows better than bars redrawn with terminal codes."""

    def __init__(self, stage: str, total: int, initial: int, echo):
        self.stage, self.total, self.n, self.echo = stage, total, initial, echo
        self.step = max(1, total // 10)

    def update(self) -> None:
        self.n += 1
        if self.n == self.total or self.n % self.step == 0:
            self.echo(f"labkit run: {self.stage} {self.n}/{self.total} tasks")

    def close(self) -> None:
        pass


def _interactive() -> bool:
    """Whether progress bars can be redrawn: a terminal, or a notebook (widgets)."""
    return sys.stderr.isatty() or "ipykernel" in sys.modules


def _bars(plan: Plan, progress: bool, echo=print) -> dict:
    from tqdm.auto import tqdm

    bars = {}
    for position, stage in enumerate(STAGES):
        tasks = plan.by_stage(stage)
        if tasks:
            initial = sum(t.key not in plan.todo for t in tasks)
            if progress and not _interactive():
                bars[stage] = _StageLines(stage, len(tasks), initial, echo)
                continue
            bars[stage] = tqdm(total=len(tasks), desc=f"{stage:<10}", position=position, disable=not progress,
                               leave=True, unit="task", initial=initial)
    return bars


def _check_outputs_folder(config) -> None:
    """Refuse an outputs folder that holds files of something else than a labkit run (unless outputs.overwrite)."""
    from ..errors import OutputExistsError
    from .state import STATE

    folder = Path(config.outputs.folder)
    if folder.is_file():
        raise OutputExistsError(f"outputs.folder {folder} is a file; give a folder.")
    if (folder.is_dir() and any(folder.iterdir()) and not (folder / STATE).is_dir()
            and not config.outputs.overwrite):
        raise OutputExistsError(f"outputs.folder {folder} holds files that are not from a labkit run; choose an empty "
                                "or new folder, or set outputs.overwrite: true to write into it (files of the run's "
                                "names are then replaced; the others are left alone).")


def run_config(config, *, force=(), dry_run: bool = False, progress: bool = True, client=None,
               config_path: str | os.PathLike | None = None, echo=print) -> RunResult | Plan:
    """Run the whole chain of a run config over its tiles, on Dask distributed; resume what an earlier run left.

    Parameters
    ----------
    config : RunConfig
        From :func:`labkit.run.load_config`.
    force : sequence of str
        Stages to redo (and those after them that read them), even when done.
    dry_run : bool
        Only plan: return the :class:`~labkit.run.plan.Plan` (``print(plan.describe())``) without running anything.
    progress : bool
        Show a progress bar per stage.
    client : distributed.Client, optional
        Run on this client's cluster instead of the one of ``config.execution``.
    config_path : path, optional
        The config's file, named in the retry command.
    echo : callable
        Where the run's messages go (the dashboard link, the summary); ``print`` by default.

    Returns
    -------
    RunResult
        Each task's outcome; ``result.ok`` when all are done. Or, with ``dry_run``, the plan.

    Example
    -------
    >>> result = run_config(load_config("run.yaml"), force=["map"])  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP
    labkit run: 16 tasks: 9 done, 7 skipped; log outputs/logs/run-20261130T201500-4242.log
    """
    from distributed import as_completed

    _check_outputs_folder(config)
    plan = plan_run(config, force=force)
    if dry_run:
        return plan
    folder = Path(config.outputs.folder)
    retry = f"labkit run {config_path}" if config_path else "labkit.run.run_config(config)"
    log = _Log(folder / "logs")
    results: dict[str, dict] = {}
    bars = {}
    try:
        log.write(f"labkit {__version__}: run of {config_path or 'a config'}, {len(plan.tasks)} tasks, "
                  f"{len(plan.todo)} to do")
        for key in plan.tasks:
            if key not in plan.todo:
                results[key] = {"key": key, "stage": plan.tasks[key].stage, "status": "skipped"}
                log.task(results[key])
        if not plan.todo:
            run = RunResult(results, log.path, retry, plan=plan)
            log.write(run.summary())
            return run
        parallel = max(1, len(plan.by_stage("samples")))
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(open_client(config.execution, parallel))
            dashboard = getattr(client, "dashboard_link", None)
            echo(f"labkit run: {len(plan.todo)} of {len(plan.tasks)} tasks to do on "
                 f"{len(client.scheduler_info().get('workers', {}))} Dask worker(s); dashboard: {dashboard}")
            log.write(f"cluster: {client}; dashboard: {dashboard}")
            bars = _bars(plan, progress, echo)
            futures = {}
            # keys of this run only: a scheduler shared with another run would give it that run's results
            run_id = uuid.uuid4().hex
            resources = task_resources(client)
            for key, task in plan.tasks.items():
                if key in plan.todo:
                    deps = [futures.get(dep, results.get(dep)) for dep in task.deps]
                    futures[key] = client.submit(execute_task, config, plan.grid, task, plan.parts[key], *deps,
                                                 key=f"labkit-run-{key}-{run_id}", pure=False,
                                                 resources=resources)
            owner = {future.key: key for key, future in futures.items()}
            for future in as_completed(list(futures.values())):
                key = owner[future.key]
                try:
                    result = future.result()
                except Exception as error:  # the worker died (out of memory, killed): the task failed
                    task = plan.tasks[key]
                    result = {"key": key, "stage": task.stage, "tile": task.tile, "model": task.model,
                              "run": task.run, "status": "failed", "duration_s": 0.0, "peak_memory": 0,
                              "error": f"{type(error).__name__}: {error} (the worker running it was lost)",
                              "traceback": ""}
                results[key] = result
                log.task(result)
                bars[plan.tasks[key].stage].update()
        run = RunResult({k: results[k] for k in plan.tasks}, log.path, retry, dashboard, plan)
        log.write(run.summary())
        return run
    finally:
        for bar in bars.values():
            bar.close()
        log.close()
