"""Loading a run config: every problem of it reported at once, one line each, named by its key path.

Example
-------
>>> load_config({"tiles": {"bboxes": {"A": [0, 0, 1, 1]}}, "inputs": {"kind": "stac", "catalg": "x"},
...              "reference": {"polygons": "."}, "models": [{"model": "rf", "params": {"n_estimators": "many"}}]})
Traceback (most recent call last):
...
labkit.errors.ConfigError: the run config has 2 errors:
  inputs.catalg: unknown key (did you mean 'catalog'?); the keys of inputs (stac) are [...]
  models[0].params.n_estimators: The 'n_estimators' parameter of RandomForestClassifier must be an int in the range [1, inf). Got 'many' instead.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import typing
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError
from .config import RunConfig, input_models

__all__ = ["load_config"]

_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "a text", "list_type": "a list", "tuple_type": "a list", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping", "path_type": "a path",
}

_RENAMED = {"seed": "random_state", "block_size": "block", "blocksize": "block", "n_jobs": "workers",
            "runs": "n_runs"}
"""Names other tools (or older labkit) use, and labkit's one name for them: a "did you mean"."""


def _key_path(loc: tuple) -> str:
    """``("models", 0, "params", "n")`` as ``models[0].params.n``; the tag of the inputs' kind is left out."""
    if len(loc) >= 2 and loc[0] == "inputs" and loc[1] in input_models():
        loc = (loc[0],) + tuple(loc[2:])
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "config"


def _models_in(annotation) -> list[type[BaseModel]]:
    """The section models an annotation holds (through Optional, list, dict, Annotated and unions)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    found = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _section_at(loc: tuple) -> tuple[type[BaseModel], str] | None:
    """The section model at ``loc`` (a key path of the config) and its name in messages, or None."""
    model: type[BaseModel] = RunConfig
    name = "the config"
    for index, part in enumerate(loc):
        if isinstance(part, int):
            continue
        if model is RunConfig and part == "inputs":  # its kind's model comes next
            name = "inputs"
            continue
        if index > 0 and loc[index - 1] == "inputs" and part in input_models():
            model, name = input_models()[part], f"inputs ({part})"
            continue
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            return None
        inner = _models_in(field.annotation)
        if len(inner) != 1:
            return None
        model, name = inner[0], _key_path(loc[:index + 1])
    return model, name


def _got(value) -> str:
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _line(item: Mapping) -> str:
    loc = tuple(item["loc"])
    kind, message = item["type"], item["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        found = _section_at(loc[:-1])
        if found is None:
            return f"{_key_path(loc)}: unknown key"
        model, name = found
        keys = list(model.model_fields)
        close = [_RENAMED[loc[-1]]] if _RENAMED.get(loc[-1]) in keys else \
            difflib.get_close_matches(str(loc[-1]), keys, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{_key_path(loc)}: unknown key{hint}; the keys of {name} are {keys}"
    if kind == "missing":
        return f"{_key_path(loc)}: required, and missing"
    if kind == "union_tag_invalid":
        return f"{_key_path(loc)}.kind: expected one of {list(input_models())}, got {_got(item['ctx']['tag'])}"
    if kind == "union_tag_not_found":
        return f"{_key_path(loc)}.kind: required, and missing (one of {list(input_models())})"
    if kind in _EXPECTED:
        return f"{_key_path(loc)}: expected {_EXPECTED[kind]}, got {_got(item['input'])}"
    if message.startswith("Input should be "):
        return f"{_key_path(loc)}: expected {message.removeprefix('Input should be ')}, got {_got(item['input'])}"
    return f"{_key_path(loc)}: {message}"


def _model_errors(models) -> list[str]:
    """Each model's name and hyperparameters checked by the registry (:func:`labkit.models.make_model`), the bad
    ones named by their key path: ``models[0].params.n_estimators: ...``."""
    if not isinstance(models, list):
        return []
    from ..models import make_model

    lines = []
    for index, entry in enumerate(models):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("model"), str):
            continue
        params, stats = entry.get("params") or {}, entry.get("stats")
        if not isinstance(params, Mapping) or not (stats is None or isinstance(stats, list)):
            continue  # said by the structure's check
        try:
            make_model(entry["model"], stats=stats, **params)
            continue
        except ConfigError as error:
            where, message = _registry_message(str(error))
        if where == "params":  # which hyperparameters: each alone
            alone = {}
            for key, value in params.items():
                try:
                    make_model(entry["model"], **{key: value})
                except ConfigError as error:
                    alone[key] = _registry_message(str(error))[1]
            if alone:
                lines += [f"models[{index}].params.{key}: {text}" for key, text in alone.items()]
                continue
        lines.append(f"models[{index}].{where}: {message}" if where else f"models[{index}]: {message}")
    return lines


def _registry_message(text: str) -> tuple[str | None, str]:
    """``"Invalid model config: field 'params': X."`` as ``("params", "X.")``."""
    found = re.match(r"Invalid model config: field '(\w+)': (.*)$", text, re.S)
    return (found.group(1), found.group(2)) if found else (None, text)


class _RepeatedKey(ValueError):
    """A key that a YAML mapping holds twice (PyYAML keeps the last one silently)."""


@functools.cache
def _loader():
    """PyYAML's safe loader that refuses a key given twice in one mapping: pasting a section under a config that
    already has it would otherwise drop the first one without a word."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            lines = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if key == "<<" or not isinstance(key, (str, int, float, bool)):
                    continue  # merge keys, and keys the config model refuses by name anyway
                if key in lines:
                    raise _RepeatedKey(f"line {key_node.start_mark.line + 1}: the key {key!r} is given twice in "
                                       f"one section (first on line {lines[key]}); the first would be dropped. "
                                       "Merge the two.")
                lines[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep)

    return UniqueKeyLoader


def _read_yaml(path: Path) -> object:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such run config (write an example with 'labkit config init {path}').") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the run config: {error}.") from None
    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506  (a safe loader)
    except _RepeatedKey as error:
        raise ConfigError(f"{path}, {error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(error).split())}.") from None


def load_config(config: str | os.PathLike | Mapping, *, base: str | os.PathLike | None = None) -> RunConfig:
    """A run config from a YAML file or a mapping, checked before any work.

    Parameters
    ----------
    config : path or mapping
        A YAML file (``labkit config init`` writes a commented example) or its content as a mapping.
    base : path, optional
        The folder relative paths are read from: by default the YAML file's folder, or the working directory for
        a mapping.

    Returns
    -------
    RunConfig
        Every path absolute; the files that must exist exist.

    Raises
    ------
    ConfigError
        Listing every problem of the config at once, one line each, named by its key path: an unknown key (with
        a "did you mean"), a wrong type or value, a missing key or file, a model's bad hyperparameter (checked by
        :func:`labkit.models.make_model`). The first line names the file.

    Example
    -------
    >>> config = load_config({"tiles": {"bboxes": {"T1": [1.0, 43.0, 1.1, 43.1]}}, "inputs": {"kind": "stac"},
    ...                       "reference": {"polygons": "."}, "models": [{"model": "rf"}]})
    >>> config.inputs.catalog, config.reference.n_runs, config.gapfill.method
    ('earth-search', 5, 'linear')
    """
    source = "the run config"
    if isinstance(config, Mapping):
        data = dict(config)
    elif isinstance(config, str | os.PathLike):
        path = Path(config).expanduser()
        source, data = str(path), _read_yaml(path)
        base = path.absolute().parent if base is None else base
        if data is None:
            data = {}
    else:
        raise ConfigError(f"load_config: expected a YAML file or a mapping; got {type(config).__name__}.")
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: a run config is a mapping of sections (inputs, tiles...); got "
                          f"{type(data).__name__}.")
    context = {"base": Path(base if base is not None else ".").absolute()}
    lines, result = [], None
    try:
        result = RunConfig.model_validate(data, context=context)
    except ValidationError as error:
        lines = [_line(item) for item in error.errors()]
    lines += [line for line in _model_errors(data.get("models")) if line not in lines]
    if lines:
        count = f"{len(lines)} error{'s' if len(lines) > 1 else ''}"
        raise ConfigError(f"{source} has {count}:\n" + "\n".join(f"  {line}" for line in lines))
    return result

