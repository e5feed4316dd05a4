"""The `labkit` command: every sub-command answers --help, errors are one clear line."""

import subprocess
import sys
from pathlib import Path

import pytest

from labkit import __version__
from labkit.cli import COMMANDS, build_parser, main


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0  # argparse's exit becomes the return code
    text = capsys.readouterr().out
    assert text.startswith(f"usage: labkit {command}")
    assert len(text.splitlines()) > 3


def test_top_level_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert all(command in text for command in COMMANDS)


def test_version_and_missing_command(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"labkit {__version__}"
    assert main([]) == 2


def test_entry_point_is_installed():
    result = subprocess.run([sys.executable, "-m", "labkit.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and __version__ in result.stdout
    assert build_parser().prog == "labkit"


def test_models_lists_the_one_registry_and_one_models_parameters(capsys):
    import json

    from labkit.models import model_names

    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["name"] for r in rows) == model_names()
    assert {r["name"]: r["inputs"] for r in rows}["unet"] == "patches"
    assert main(["models", "--task", "regression"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "task", "reads"]
    assert sorted(line.split()[0] for line in lines[1:]) == model_names("regression")
    assert main(["models", "gru", "--json"]) == 0
    params = json.loads(capsys.readouterr().out)["params"]
    assert params["epochs"] == 50 and params["network_params"]["hidden_size"] == 128
    assert main(["models", "ltea"]) == 2
    assert "unknown model 'ltea' (did you mean 'ltae'?)" in capsys.readouterr().err


def test_the_parser_is_built_without_the_heavy_libraries():
    """`labkit --help` answers at once: building the parser imports neither scikit-learn, torch nor dask.array."""
    code = ("import sys, labkit.cli; labkit.cli.build_parser(); "
            "print(sorted(m for m in ('sklearn', 'torch', 'dask.array', 'xarray') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_models_command_offers_the_registry_s_tasks():
    from labkit.cli import models
    from labkit.models.registry import TASKS

    assert models.TASKS == TASKS


def test_the_readme_lists_every_command():
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Command line", 1)[1].split("```")[1]
    listed = [line.split()[1] for line in block.splitlines() if line.startswith("labkit ")]
    assert sorted(listed) == sorted(COMMANDS)
