"""Packaging promises: every dependency pinned, environment.yml in step with pyproject.toml and the lock file."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # conda-forge names that differ from PyPI's


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for group in project["optional-dependencies"].values() for r in group]
    pins = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([0-9][^ ;]*)", requirement)
        assert match, f"pyproject.toml: {requirement!r} is not pinned exactly (name==version)"
        pins[match[1].lower()] = match[2]
    return pins


def environment_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            for requirement in entry["pip"]:
                name, version = requirement.split("==")
                pins[name.lower()] = version
        elif entry.split("=")[0] not in ("python", "pip"):
            name, version = entry.split("=")
            pins[name.lower()] = version
    return pins


def test_every_dependency_is_pinned_and_torch_exactly():
    pins = pyproject_pins()
    assert pins["torch"] == "2.13.0"
    assert pins["jupyter-book"].startswith("1.")


def test_environment_yml_matches_pyproject():
    pypi_names = {conda: pypi for pypi, conda in CONDA_NAMES.items()}
    env = {pypi_names.get(name, name): version for name, version in environment_pins().items()}
    assert env == pyproject_pins(), "environment.yml and pyproject.toml list different packages or versions"


def test_lock_file_agrees_with_pyproject():
    lock = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            lock[name.lower().replace("_", "-")] = version.split("+")[0]
    for name, version in pyproject_pins().items():
        assert lock.get(name.replace("_", "-")) == version, f"requirements.lock pins {name} differently"


def test_environment_yml_uses_conda_forge_and_python_311():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    assert "python=3.11" in env["dependencies"]
