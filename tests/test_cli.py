"""The `labkit` command: every sub-command answers --help, errors are one clear line."""

import subprocess
import sys

import pytest

from labkit import __version__
from labkit.cli import COMMANDS, build_parser, main


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: labkit {command}")
    assert len(text.splitlines()) > 3


def test_top_level_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert all(command in text for command in COMMANDS)


def test_version_and_missing_command(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"labkit {__version__}"
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_entry_point_is_installed():
    result = subprocess.run([sys.executable, "-m", "labkit.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and __version__ in result.stdout
    assert build_parser().prog == "labkit"
