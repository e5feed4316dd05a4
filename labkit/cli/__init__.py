"""The ``labkit`` command line: one sub-command per module of this package.

Each module ``labkit/cli/<name>.py`` defines ``HELP`` (one line), ``configure(parser)`` that adds its arguments,
and ``run(args) -> int``. Imports stay inside ``run`` so that ``labkit --help`` answers at once.

Example
-------
>>> main(["--version"])  # doctest: +SKIP
labkit 0.1.0
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import LabkitError

COMMANDS = ("demo", "info", "synth", "course", "cv")


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``labkit`` command, with every sub-command.

    Example
    -------
    >>> sorted(build_parser()._subparsers._group_actions[0].choices)[:1]
    ['course']
    """
    parser = argparse.ArgumentParser(
        prog="labkit",
        description="Land-cover mapping from satellite image time series. Run 'labkit COMMAND --help' for a command.",
    )
    parser.add_argument("--version", action="version", version=f"labkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``labkit`` script; returns the exit code.

    A :class:`~labkit.errors.LabkitError` is printed as one line on stderr (exit code 2), not as a traceback.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except LabkitError as error:
        print(f"labkit {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
