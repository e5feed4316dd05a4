"""``labkit doctor``: check this machine for the course, before the workshop.

Prints one line per item (Python, packages, course data, memory, disk, JupyterLab, kernel, widgets, working folder)
marked ✓ (all right), ! (a warning: the course runs) or ✗ (to fix before the course), with what to do; see
:mod:`labkit.course.doctor`. Exits with 0 when nothing is marked ✗, else 1. ``--json`` prints one JSON object
instead, for an instructor who collects the learners' results.

Example
-------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="labkit doctor")
>>> configure(parser)
>>> args = parser.parse_args(["--json", "--folder", "student"])
>>> args.json, str(args.folder)
(True, 'student')

Output (on a machine that lacks JupyterLab)::

    labkit 0.1.0 set-up check
    ✓ Python          3.11.9 (/home/ana/labkit/.venv/bin/python)
    ✓ packages        35 installed, at the versions of requirements.lock
    ...
    ✗ JupyterLab      not installed
                      → in the labkit folder: python -m pip install -c requirements.lock -e ".[course]"
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Check this machine for the course: Python, packages, data, memory, disk, JupyterLab (run it before the day)."


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``labkit doctor``."""
    parser.add_argument("--json", action="store_true",
                        help="print the results as one JSON object (for instructors collecting them)")
    parser.add_argument("--folder", type=Path, default=Path("."),
                        help="the working folder, where your notebooks go (default: the current folder)")


def run(args: argparse.Namespace) -> int:
    """Run the checks and print them; return 1 when one failed (✗), else 0.

    Example
    -------
    >>> import argparse
    >>> run(argparse.Namespace(json=False, folder=Path("no/such/folder")))  # doctest: +ELLIPSIS
    labkit ... set-up check
    ...
    1
    """
    from ..course.doctor import checks_as_json, diagnose, print_checks

    checks = diagnose(args.folder)
    if args.json:
        print(checks_as_json(checks))
    else:
        print_checks(checks)
    return 1 if any(check.failed for check in checks) else 0
