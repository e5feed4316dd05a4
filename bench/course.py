"""Benchmark: the course's notebooks, each executed by itself: time, CPU time and peak memory (the book's sizing table).

The notebooks are built from ``course/`` (:func:`labkit.course.build.build_notebooks`, as ``labkit course build``
does) into a temporary folder; each notebook of the solution variant (and with ``--student`` of the learner's
variant) is then executed from top to bottom by :mod:`nbclient` in a fresh ``python3`` kernel of this environment,
one notebook at a time, in the folder it was built into (the book runs its copies in ``book/notebooks/`` the same
way), with the book's timeout per cell and its environment (no ``MPLBACKEND``; ``LABKIT_DATA_MIRROR`` set to the
project's mirror when unset, as ``make`` does). The course's data come from the cache (``LABKIT_CACHE``) as it is:
a first run that downloads them is slower. For each notebook:

* **time**: wall-clock seconds from the kernel's start to the end of the last cell (what a learner waits for after
  *Restart and run all*);
* **CPU time**: user + system seconds of the kernel and every process it started (Dask workers...): at the end of the
  last cell, for each process of the kernel's tree still there, its own CPU time and that of the ended children it
  waited for;
* **peak memory**: the largest sum of the resident set sizes (RSS) of the kernel's process tree, sampled every
  ``--interval`` seconds with psutil (pages shared between processes count in each), and never less than the
  kernel's own high-water mark (``VmHWM``, which no sampling misses); the kernel alone and the most child processes
  seen at once are recorded too. MB = 10^6 bytes.

The Markdown table printed is the one of the book's hub guide (``book/hub.md``, *Sizing*), with the total, and the
share of the CI budget that the solution notebooks use: issue 12 asks that all notebooks together execute in CI in
under 10 minutes on 2 cores (the budget counts them one after the other here; ``make test`` also renders the book
and runs the student variant beside it).

Usage: ``python bench/course.py [--student] [--only 05,06] [--json PATH]``; about 5 minutes on 2 cores for the
solution notebooks, twice that with ``--student``. A notebook that fails is reported (its error in the table's last
column) and the others still run; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from _common import MIRROR, cpu_name

COURSE = Path(__file__).resolve().parents[1] / "course"
CI_BUDGET_S = 600
"""Issue 12: all notebooks together execute in CI in under 10 minutes on 2 cores."""
CELL_TIMEOUT_S = 120
"""Seconds per cell, as ``book/_config.yml`` gives the book's build."""
MB = 10**6
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class ProcessTree:
    """A process and its descendants: their summed resident memory, sampled in a thread, and their CPU time."""

    def __init__(self, pid: int, interval: float) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = self.kernel_peak = self.most_children = self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def members(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def sample(self) -> None:
        total, members = 0, self.members()
        for process in members:
            try:
                rss = process.memory_info().rss
            except psutil.Error:  # ended since it was listed
                continue
            total += rss
            if process is self.root:
                self.kernel_peak = max(self.kernel_peak, rss)
        self.peak = max(self.peak, total)
        self.most_children = max(self.most_children, len(members) - 1)
        self.samples += 1

    def cpu_seconds(self) -> float:
        """User + system seconds of the living members and of the ended children they waited for."""
        total = 0.0
        for process in self.members():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system + times.children_user + times.children_system
        return total

    def high_water_mark(self) -> int:
        """The root's peak resident memory as the OS kept it (``VmHWM``, Linux), in bytes; 0 where unknown."""
        try:
            with open(f"/proc/{self.root.pid}/status", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def start(self) -> ProcessTree:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def kernel_environment() -> None:
    """Set this process's environment (the kernels inherit it) as the book's build and ``make`` set theirs."""
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend shows the figures
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    if "LABKIT_DATA_MIRROR" not in os.environ and MIRROR.is_dir():
        os.environ["LABKIT_DATA_MIRROR"] = str(MIRROR)


def run_notebook(path: Path, variant: str, *, timeout: int, interval: float) -> dict:
    """Execute one notebook in a fresh kernel (cwd: its folder) and measure it; one row (a dict)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    tree, end, running = None, {}, {}

    def started(notebook) -> None:  # the kernel and its client are up, no cell has run
        nonlocal tree
        tree = ProcessTree(client.km.provisioner.pid, interval).start()

    def executed(cell, cell_index, execute_reply) -> None:  # after each code cell, the kernel still up
        end.update(time=time.perf_counter(), cpu=tree.cpu_seconds(), hwm=tree.high_water_mark())

    client.on_notebook_start, client.on_cell_executed = started, executed
    client.on_cell_start = lambda cell, cell_index: running.update(cell=cell_index)
    error = None
    start = time.perf_counter()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:  # measured up to the failure
        what = (f"{exc.ename}: {exc.evalue}" if isinstance(exc, CellExecutionError)
                else _ANSI.sub("", str(exc)).strip().splitlines()[0])
        where = f" in cell {running['cell']}" if running else ""
        error = f"{type(exc).__name__}{where}: {what}".replace("|", "\\|")  # a cell of a Markdown table
        end["time"] = time.perf_counter()
    finally:
        if tree is not None:
            tree.stop()
    if tree is None:
        raise RuntimeError(f"{path.name}: the kernel did not start" + (f" ({error})" if error else ""))
    kernel_peak = max(tree.kernel_peak, end.get("hwm", 0))
    return {"notebook": path.stem, "variant": variant, "seconds": round(end["time"] - start, 1),
            "cpu_seconds": round(end.get("cpu", 0.0), 1), "peak_mb": round(max(tree.peak, kernel_peak) / MB),
            "kernel_peak_mb": round(kernel_peak / MB), "most_children": tree.most_children,
            "samples": tree.samples, "error": error}


def note(row: dict) -> str:
    if row["error"]:
        return f"failed: {row['error']}"
    if row["most_children"]:
        return f"{row['most_children']} child process(es) at most; the kernel alone {row['kernel_peak_mb']} MB"
    return ""


def as_markdown(rows: list[dict]) -> str:
    """The hub guide's sizing table, with a total row."""
    lines = ["| notebook | time | CPU time | peak memory | |", "|---|---|---|---|---|"]
    lines += [f"| `{r['notebook']}` | {r['seconds']:.0f} s | {r['cpu_seconds']:.0f} s | {r['peak_mb']} MB | "
              f"{note(r)} |".replace("|  |", "| |") for r in rows]
    lines.append(f"| all {len(rows)}, one after the other | {sum(r['seconds'] for r in rows):.0f} s | "
                 f"{sum(r['cpu_seconds'] for r in rows):.0f} s | {max(r['peak_mb'] for r in rows)} MB at most | |")
    return "\n".join(lines)


def budget_line(rows: list[dict], variant: str) -> str:
    total = sum(r["seconds"] for r in rows)
    return (f"CI budget ({CI_BUDGET_S // 60} minutes on 2 cores for all notebooks): the {variant} notebooks take "
            f"{total:.0f} s, {total / CI_BUDGET_S:.0%} of it")


def selected(paths: list[Path], only: str | None) -> list[Path]:
    if not only:
        return paths
    wanted = {n.strip().zfill(2) for n in only.split(",") if n.strip()}
    unknown = wanted - {p.stem[:2] for p in paths}
    if unknown:
        raise SystemExit(f"--only: no notebook numbered {', '.join(sorted(unknown))} in {COURSE} "
                         f"(there are {', '.join(p.stem[:2] for p in paths)})")
    return [p for p in paths if p.stem[:2] in wanted]


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--student", action="store_true", help="also run the student variant (the learner's copy)")
    parser.add_argument("--only", metavar="NN,MM", help="only these notebooks, by number (e.g. 05,06)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT_S,
                        help=f"seconds per cell (default {CELL_TIMEOUT_S}, the book's)")
    parser.add_argument("--interval", type=float, default=0.05,
                        help="seconds between memory samples (default 0.05)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure, the machine and the date as JSON")
    args = parser.parse_args(argv)

    from labkit import __version__
    from labkit.course.build import build_notebooks

    kernel_environment()
    load_before, started = load_average(), time.perf_counter()
    variants = ("solution", "student") if args.student else ("solution",)
    rows: dict[str, list[dict]] = {variant: [] for variant in variants}
    with tempfile.TemporaryDirectory(prefix="labkit-course-bench-") as tmp:
        built = build_notebooks(COURSE, Path(tmp) / "course")
        for variant in variants:
            for path in selected(built[variant], args.only):
                row = run_notebook(path, variant, timeout=args.timeout, interval=args.interval)
                log(f"{variant} {path.stem}: {row['seconds']:.0f} s, CPU {row['cpu_seconds']:.0f} s, "
                    f"peak {row['peak_mb']} MB" + (f" FAILED ({row['error']})" if row["error"] else ""))
                rows[variant].append(row)
    runtime, load_after = time.perf_counter() - started, load_average()

    import nbclient

    machine = (f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, labkit {__version__}, "
               f"nbclient {nbclient.__version__}")
    print(f"## The course's notebooks, each executed by itself (bench/course.py)\n\nmachine: {machine}; "
          f"{datetime.date.today().isoformat()}; load average (1, 5, 15 min) before {load_before}, after "
          f"{load_after}; memory sampled every {args.interval} s")
    for variant in variants:
        print(f"\n### {variant} variant\n\n{as_markdown(rows[variant])}\n\n{budget_line(rows[variant], variant)}")
    print(f"\nruntime: {runtime:.0f} s")
    if args.json:
        from _common import write_results

        meta = {"machine": cpu_name(), "cores": os.cpu_count(), "versions": machine,
                "date": datetime.datetime.now().isoformat(timespec="seconds"), "runtime_s": round(runtime, 1),
                "load_average_before": load_before, "load_average_after": load_after,
                "ci_budget_s": CI_BUDGET_S, "args": vars(args),
                "totals_s": {v: round(sum(r["seconds"] for r in got), 1) for v, got in rows.items()}}
        write_results(args.json, [row for got in rows.values() for row in got], meta)
    return 1 if any(row["error"] for got in rows.values() for row in got) else 0


if __name__ == "__main__":
    sys.exit(main())
