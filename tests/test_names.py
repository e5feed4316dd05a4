"""One name per concept: the names that were unified must not come back (groundwork of the batch runner's config).

* randomness of estimators, splits and draws: ``random_state`` in the library, ``--random-state`` on the command
  line (``labkit synth --seed`` alone keeps ``--seed``: it names a generated scene, not a random draw);
* the block of pixels a stage walks through :mod:`labkit.tiling`: ``block`` (with ``memory``), never ``block_size``;
* a COG's internal TIFF tile: ``cog_tile`` (:func:`labkit.io.write_cog`), never GDAL's ``blocksize``;
* the spatial blocks that keep a spatial model's training and validation patches apart: ``split_block``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil

import pytest

import labkit
from labkit.cli import build_parser

RETIRED = {"block_size", "blocksize", "seed"}
"""Parameter names that no public function or class of labkit may take."""

CLI_SEED_ALLOWED = {"synth"}
"""Sub-commands whose ``--seed`` is the identity of a generated scene (not the randomness of a draw)."""


def _modules():
    """Every public module of labkit (none of whose dotted parts starts with an underscore)."""
    names = ["labkit"] + [m.name for m in pkgutil.walk_packages(labkit.__path__, "labkit.")]
    return [importlib.import_module(n) for n in names if not any(p.startswith("_") for p in n.split("."))]


def _public(module):
    """``(qualified name, callable)`` of the module's public functions, classes and classes' public methods."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and getattr(v, "__module__", None) == module.__name__]
    for name in names:
        obj = getattr(module, name, None)
        if inspect.isclass(obj):
            yield f"{module.__name__}.{name}", obj
            for attr, member in vars(obj).items():
                if (attr == "__init__" or not attr.startswith("_")) and callable(member):
                    yield f"{module.__name__}.{name}.{attr}", member
        elif inspect.isfunction(obj) or inspect.isbuiltin(obj):
            yield f"{module.__name__}.{name}", obj


def _parameters(obj) -> list[str]:
    try:
        return list(inspect.signature(obj).parameters)
    except (TypeError, ValueError):  # builtins without a signature
        return []


def test_no_public_function_takes_a_retired_name():
    found = sorted({f"{name}({param}=)" for module in _modules() for name, obj in _public(module)
                    for param in _parameters(obj) if param in RETIRED})
    assert found == []


def test_the_walk_sees_the_stages():
    """The walk above reaches the functions whose names were unified (else it would pass for nothing)."""
    seen = {name: _parameters(obj) for module in _modules() for name, obj in _public(module)}
    assert {"block", "memory"} <= set(seen["labkit.inference.predict_cube"])
    assert {"block", "memory"} <= set(seen["labkit.biophysical.invert"])
    assert {"block", "memory"} <= set(seen["labkit.superres.superresolve"])
    assert "cog_tile" in seen["labkit.io.write_cog"]
    assert "split_block" in seen["labkit.models.deep.spatial.PatchSampler.__init__"]
    assert "random_state" in seen["labkit.datasets.synthetic.make_synthetic_scene"]


def _options(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """``(sub-command path, option string)`` of every option of the parser and its sub-commands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, (*path, name))
        else:
            for option in action.option_strings:
                yield path, option


@pytest.fixture(scope="module")
def cli_options():
    return list(_options(build_parser()))


def test_only_synth_has_a_seed_option(cli_options):
    with_seed = {path[0] for path, option in cli_options if option == "--seed"}
    assert with_seed == CLI_SEED_ALLOWED


@pytest.mark.parametrize("command", ["cv", "train", "demo"])
def test_random_draws_are_random_state_on_the_command_line(cli_options, command):
    assert ((command,), "--random-state") in cli_options


def test_no_option_spells_a_retired_name(cli_options):
    retired = {"--block-size", "--blocksize", "--block_size"}
    assert [(path, option) for path, option in cli_options if option in retired] == []
