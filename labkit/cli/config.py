"""``labkit config init [PATH]`` and ``labkit config check PATH``: the run config of ``labkit run``.

``init`` writes a commented example (every section and key, with what it is and its default), atomically;
``check`` validates a config (:func:`labkit.run.load_config`) and prints a short summary, or every error at once
(one line each, by key path; exit code 2).

Example
-------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="labkit config")
>>> configure(parser)
>>> args = parser.parse_args(["check", "run.yaml"])
>>> args.action, str(args.path)
('check', 'run.yaml')

Output::

    run.yaml is valid: 12 tiles of zarr inputs (T31TCJ, T31TDJ, ...), 2 models (rf, tempcnn) x 5 runs,
    outputs in /data/outputs (cog), scheduler local
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Write an example run config (init) or validate one (check) for labkit run."


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``labkit config`` to ``parser``."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    init = actions.add_parser("init", help="write a commented example run config",
                              description="Write a commented example run config: every section and key, with what "
                                          "it is and its default.")
    init.add_argument("path", type=Path, nargs="?", default=Path("run.yaml"), metavar="PATH",
                      help="the file to write (default: run.yaml)")
    init.add_argument("--overwrite", action="store_true", help="replace PATH if it exists")
    check = actions.add_parser("check", help="validate a run config and print a summary",
                               description="Validate a run config: every error at once, by key path (exit code 2).")
    check.add_argument("path", type=Path, metavar="PATH", help="the run config (YAML)")


def _names(names: list[str], most: int = 3) -> str:
    return ", ".join(names[:most]) + (", ..." if len(names) > most else "")


def summary(config, path) -> str:
    """A short summary of a valid run config: its tiles, models, outputs and scheduler."""
    tiles = list(config.tile_inputs())
    models = [m.model for m in config.models]
    where = config.execution.address or config.execution.scheduler
    return (f"{path} is valid: {len(tiles)} tile{'s' if len(tiles) != 1 else ''} of {config.inputs.kind} inputs "
            f"({_names(tiles)}), {len(models)} model{'s' if len(models) != 1 else ''} ({_names(models)}) x "
            f"{config.reference.n_runs} run{'s' if config.reference.n_runs != 1 else ''}, outputs in "
            f"{config.outputs.folder} ({config.outputs.format}), scheduler {where}")


def run(args: argparse.Namespace) -> int:
    """Write the example, or check a config. Returns 0.

    Raises
    ------
    labkit.errors.LabkitError
        ``init``: PATH exists without ``--overwrite``. ``check``: the config's errors, every one.
    """
    from ..outputs import atomic_path
    from ..run import example_config, load_config

    if args.action == "init":
        with atomic_path(args.path, overwrite=args.overwrite) as tmp:
            tmp.write_text(example_config(), encoding="utf-8")
        print(f"wrote {args.path}: set its tiles and reference.polygons, then run 'labkit config check {args.path}'")
        return 0
    print(summary(load_config(args.path), args.path))
    return 0
