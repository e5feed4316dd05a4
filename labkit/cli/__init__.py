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
import difflib
import importlib
import sys
import traceback

from .. import __version__
from ..errors import LabkitError

COMMANDS = ("demo", "info", "synth", "course", "doctor", "cv", "models", "train", "predict", "stac", "fetch", "config",
            "run")


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every option string of ``parser`` and of its sub-commands, for "did you mean"."""
    found = [o for o in parser._option_string_actions if o.startswith("--")]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _option_strings(sub)
    return found


class _Parser(argparse.ArgumentParser):
    """argparse, with "did you mean" for a misspelt option, said by the sub-command's parser (its usage line)."""

    def parse_args(self, args=None, namespace=None):
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = self._subparsers._group_actions[0].choices.get(getattr(parsed, "command", None), self)
            hints = []
            for extra in extras:
                close = difflib.get_close_matches(extra.split("=")[0], _option_strings(command), n=1)
                hints.append(f"{extra} (did you mean {close[0]}?)" if close and extra.startswith("-") else extra)
            command.error(f"unrecognized arguments: {' '.join(hints)}")
        return parsed


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``labkit`` command, with every sub-command.

    Example
    -------
    >>> sorted(build_parser()._subparsers._group_actions[0].choices)[:1]
    ['config']
    """
    parser = _Parser(
        prog="labkit",
        description="Land-cover mapping from satellite image time series. Run 'labkit COMMAND --help' for a command.",
    )
    parser.add_argument("--version", action="version", version=f"labkit {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show Python tracebacks (for bug reports); errors are otherwise one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``labkit`` script; returns the exit code.

    Errors are printed as one line on stderr, never as a Python traceback (``labkit --debug`` shows it). Exit
    codes: 2 for a bad option (argparse prints the usage and the option's problem) or a
    :class:`~labkit.errors.LabkitError` (bad input); 1 for an unexpected error (a bug: the line says how to report
    it); 130 for Ctrl-C (SIGINT); 128 + the signal for SIGTERM or SIGHUP (e.g. a batch scheduler's time limit).

    Outputs being written when the command stops are removed (see :mod:`labkit.outputs`).
    """
    from ..outputs import Interrupted, signals_as_interrupts

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version, or a bad option (argparse printed the usage and the error)
        return int(done.code or 0) if not isinstance(done.code, str) else 2
    name = f"labkit {args.command}"
    try:
        with signals_as_interrupts():
            return int(args._run(args) or 0)
    except Interrupted as stop:
        if args.debug:
            traceback.print_exc()
        print(f"{name}: stopped by {stop.args[0]}; outputs being written were removed", file=sys.stderr)
        return 128 + stop.signum
    except KeyboardInterrupt:
        if args.debug:
            traceback.print_exc()
        print(f"{name}: interrupted; outputs being written were removed", file=sys.stderr)
        return 130
    except LabkitError as error:
        if args.debug:
            traceback.print_exc()
        print(f"{name}: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001  (a bug: one line, and how to get the traceback)
        if args.debug:
            traceback.print_exc()
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(f"{name}: unexpected error ({type(error).__name__}{': ' + detail if detail else ''}). This is a bug "
              f"of labkit or an input it does not check yet: run 'labkit --debug {args.command} ...' for the "
              "traceback and report it.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
