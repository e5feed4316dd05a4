"""The commented example of a run config, generated from the sections' fields so that it cannot drift from them.

Every key of every section is written with a comment line saying what it is and its default; a section that is off
by default (null) is followed by its keys, commented out. Required keys get their field's example value.

Example
-------
>>> text = example_config()
>>> "# the bands to read (default: all, or the reader's own default) [default: null]" in text
True
>>> example_values()["reference"]["polygons"], example_values()["models"]
('reference.gpkg', [{'model': 'rf', 'params': {}, 'stats': None, 'per_region': False}])
"""

from __future__ import annotations

import datetime
from pathlib import Path

from pydantic import BaseModel

from .config import RunConfig, input_models
from .load import _models_in

__all__ = ["example_config", "example_values"]

HEADER = """\
# A run of 'labkit run': the whole chain, one section per stage. Each section's keys are the keyword arguments of
# the stage functions it feeds (see labkit.run.config). Relative paths are read from this file's folder.
# Check it with 'labkit config check PATH'.

"""


def _plain(value):
    if isinstance(value, BaseModel):
        return _values(type(value), value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _values(model: type[BaseModel], instance: BaseModel | None = None) -> dict:
    values = {}
    for name, field in model.model_fields.items():
        if instance is not None:
            values[name] = _plain(getattr(instance, name))
        elif field.is_required():
            inner = _models_in(field.annotation)
            values[name] = _values(inner[0]) if len(inner) == 1 else _plain(field.examples[0])
        elif field.examples:  # a key of a required section, that users set (the tiles' paths)
            values[name] = _plain(field.examples[0])
        else:
            values[name] = _plain(field.default)
    return values


def example_values() -> dict:
    """The example run config as a mapping: every default, and the example of each required key.

    Example
    -------
    >>> example_values()["tiles"]["paths"]
    ['tiles/T31TCJ.zarr', 'tiles/T31TDJ.zarr']
    """
    return _values(RunConfig)


def _flow(value) -> str:
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False).strip()
    return text.removesuffix("...").strip()


def _lines(model: type[BaseModel], values: dict, indent: int) -> list[str]:
    pad, lines = " " * indent, []
    fields = sorted(model.model_fields.items(), key=lambda item: item[0] != "kind")  # the kind of inputs first
    for name, field in fields:
        value = values[name]
        default = "required" if field.is_required() else f"default: {_flow(_plain(field.default))}"
        inner = _models_in(field.annotation)
        if model is RunConfig and name == "inputs":
            inner = [input_models()[value["kind"]]]
        if len(inner) == 1 and isinstance(value, dict):
            lines += [f"{pad}# {name}: {field.description}", f"{pad}{name}:"] + _lines(inner[0], value, indent + 2)
        elif len(inner) == 1 and isinstance(value, list) and value:
            lines += [f"{pad}# {name}: {field.description}", f"{pad}{name}:"]
            for item in value:
                item_lines = _lines(inner[0], item, indent + 4)
                first = next(i for i, line in enumerate(item_lines) if not line.lstrip().startswith("#"))
                item_lines[first] = f"{pad}  - {item_lines[first].lstrip()}"
                lines += item_lines
        else:
            lines += [f"{pad}# {field.description} [{default}]", f"{pad}{name}: {_flow(value)}"]
            if value is None and len(inner) == 1:  # a step that is off: its keys, to switch it on
                lines += [f"{pad}#   {line}" for line in _lines(inner[0], _values(inner[0]), 0)
                          if not line.startswith("#")]
    return lines


def example_config() -> str:
    """The commented YAML example of a run config (what ``labkit config init`` writes).

    Loaded back with :func:`labkit.run.load_config` (once its tiles and reference exist), it gives
    :func:`example_values`.

    Example
    -------
    >>> print(example_config().splitlines()[4])
    # inputs: what each tile's input is, and the reader's arguments
    """
    sections = []
    for line in _lines(RunConfig, example_values(), 0):
        if not line.startswith(" ") and line.startswith("# ") and line[2:].split(":")[0] in RunConfig.model_fields:
            sections.append("")
        sections.append(line)
    return HEADER + "\n".join(sections).lstrip("\n") + "\n"
