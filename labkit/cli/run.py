"""``labkit run CONFIG.yaml``: the whole chain over many tiles, on Dask distributed, resumable.

Validates the config (:func:`labkit.run.load_config`: every error at once, by key path), plans the run
(:func:`labkit.run.plan_run`: the tasks per tile, model and run, and which are left from an earlier run), then
runs the tasks left on the cluster of the config's ``execution`` section (:func:`labkit.run.run_config`), with a
progress bar per stage and a log file per run. A rerun skips what is done; ``--force STAGE`` redoes a stage and
the stages after it; ``--dry-run`` prints the plan and runs nothing. The exit code is 1 when a task failed: the
summary names it (stage, tile, error) and says how to retry.

Example
-------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="labkit run")
>>> configure(parser)
>>> args = parser.parse_args(["run.yaml", "--force", "map", "--dry-run"])
>>> str(args.config), args.force, args.dry_run
('run.yaml', ['map'], True)

Output::

    labkit run: 13 of 16 tasks to do on 2 Dask worker(s); dashboard: http://127.0.0.1:8787/status
    samples   : 100%|██████████| 3/3 [00:04<00:00]
    ...
    labkit run: 16 tasks: 13 done, 3 skipped; log outputs/logs/run-20261130T202159-26365.log
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Run the whole chain of a run config over its tiles on Dask (local, Slurm, PBS); resumable."

STAGES = ("samples", "train", "map", "validation", "mosaic", "report")
"""labkit.run.stages.STAGES, written out so that the parser imports nothing heavy (a test checks they agree)."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``labkit run`` to ``parser``."""
    parser.add_argument("config", type=Path, metavar="CONFIG.yaml",
                        help="the run config (write an example with 'labkit config init')")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the plan (tasks per stage and tile, outputs, estimated sizes) and run nothing")
    parser.add_argument("--force", action="append", choices=STAGES, default=[], metavar="STAGE",
                        help=f"redo STAGE (one of {', '.join(STAGES)}) and the stages that read it, even if done; "
                             "may be repeated")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bars")


def run(args: argparse.Namespace) -> int:
    """Plan, run, print the summary. Returns 0 when every task is done, 1 when one failed.

    Raises
    ------
    labkit.errors.LabkitError
        A bad config (every error, by key path), an unreadable tile.
    """
    from ..run import load_config, run_config

    config = load_config(args.config)
    outcome = run_config(config, force=args.force, dry_run=args.dry_run, progress=args.progress,
                         config_path=args.config)
    if args.dry_run:
        print(outcome.describe())
        return 0
    print(outcome.summary())
    return 0 if outcome.ok else 1
