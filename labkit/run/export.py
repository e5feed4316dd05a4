"""From a notebook to a batch run: the choices made interactively, as a run config and its YAML file.

In a notebook, a learner picks the gap-filling step, the indices, the model and its hyperparameters on one tile;
:func:`to_config` turns those choices (the keyword arguments given to the stage functions) into a checked
:class:`~labkit.run.RunConfig` for many tiles, and :func:`save_config` writes it as the YAML file that
``labkit run`` reads. The run then calls the same functions with the same arguments: on the notebook's tile it
gives the same map, bit for bit (``tests/test_run_export.py``).

Example
-------
>>> config = to_config(tiles=["."], reference={"polygons": ".", "n_runs": 1}, gapfill={"step": 10},
...                    features={"indices": ["NDVI", "NDWI"]}, models=[{"model": "rf", "params": {"n_estimators": 50}}])
>>> config.gapfill.step, config.features.indices, config.models[0].params
(10, ['NDVI', 'NDWI'], {'n_estimators': 50})
"""

from __future__ import annotations

import glob as globbing
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import ConfigError
from .config import RunConfig
from .load import load_config

__all__ = ["config_values", "save_config", "to_config"]

_SECTIONS = ("inputs", "masks", "gapfill", "features", "models", "inference", "postprocess", "validation", "outputs",
             "execution")


def _tiles(tiles) -> dict:
    if isinstance(tiles, Mapping):
        return dict(tiles) if set(tiles) & {"paths", "glob", "bboxes"} else {"bboxes": dict(tiles)}
    if isinstance(tiles, str | os.PathLike):
        return {"glob": str(tiles)} if any(c in str(tiles) for c in "*?[") else {"paths": [str(tiles)]}
    if isinstance(tiles, Sequence):
        return {"paths": [str(t) for t in tiles]}
    raise ConfigError(f"to_config: tiles must be paths, a glob pattern or {{name: bbox}}; got {type(tiles).__name__}")


def _model(entry) -> dict:
    from pydantic import BaseModel

    if isinstance(entry, str):
        return {"model": entry}
    if isinstance(entry, BaseModel):  # a ModelConfig, or a models entry of a RunConfig
        return entry.model_dump()
    if isinstance(entry, Mapping):
        return dict(entry)
    raise ConfigError(f"to_config: a model is given as a name or a config {{model: ..., params: {{...}}}} (what you "
                      f"gave make_model); got a {type(entry).__name__} object. A config says how to build a model, "
                      "not the model itself: give its name and hyperparameters, e.g. {'model': 'rf', 'params': "
                      "{'n_estimators': 100}}.")


def to_config(*, tiles, reference, base: str | os.PathLike | None = None, **sections) -> RunConfig:
    """A run config from the choices of a notebook: the keyword arguments given to each stage function.

    Parameters
    ----------
    tiles : paths, a glob pattern, or {name: [west, south, east, north]}
        The tiles' inputs (Zarr stores or folders), or the STAC bounding boxes.
    reference : path or mapping
        The reference polygons' file, or the ``reference`` section (``polygons``, the fields of
        :func:`~labkit.samples.extract_samples`, the split of :func:`~labkit.samples.split_runs`).
    base : path, optional
        The folder relative paths are read from (default: the working directory).
    **sections : mappings
        The other sections by name (``inputs``, ``masks``, ``gapfill``, ``features``, ``inference``,
        ``postprocess``, ``validation``, ``outputs``, ``execution``): the keyword arguments given to their stage
        functions (``gapfill={"step": 10, "method": "linear"}``; ``gapfill=None`` for none). ``models`` is a list
        of model names or configs (``{"model": "rf", "params": {"n_estimators": 100}}``, what ``make_model`` took).

    Returns
    -------
    RunConfig
        Checked as :func:`load_config` checks a file: every error at once, by key path.

    Example
    -------
    >>> to_config(tiles=["."], reference=".", models=["rf"], features={"indice": ["NDVI"]})
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: the run config has 1 error:
      features.indice: unknown key (did you mean 'indices'?); the keys of features are [...]
    """
    unknown = sorted(set(sections) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"to_config: unknown section(s) {unknown}; the sections are {list(_SECTIONS)}, with "
                          "tiles and reference")
    data = {"tiles": _tiles(tiles),
            "reference": dict(reference) if isinstance(reference, Mapping) else {"polygons": str(reference)}}
    for name, value in sections.items():
        if name == "models":
            data[name] = [_model(m) for m in (value if isinstance(value, list | tuple) else [value])]
        else:
            data[name] = dict(value) if isinstance(value, Mapping) else value
    return load_config(data, base=base)


def _relative(value, folder: Path):
    path = Path(value)
    try:
        return os.path.relpath(path, folder) if path.is_absolute() else str(path)
    except ValueError:  # another drive
        return str(path)


def _tile_values(tiles, folder: Path) -> dict:
    """The tiles by their pattern when, read from ``folder``, it finds the same tiles; else by their paths."""
    found = list(tiles._paths.values())
    if tiles.glob is not None and sorted(Path(p).absolute() for p in globbing.glob(str(folder / tiles.glob))) == found:
        return {"glob": tiles.glob}
    return {"paths": [_relative(p, folder) for p in found]}


def config_values(config: RunConfig, folder: str | os.PathLike = ".") -> dict:
    """The config as plain values, without its defaults, paths relative to ``folder`` (where its file goes); the
    tiles by their pattern when it finds the same tiles from ``folder``, else by their paths.

    Example
    -------
    >>> config = to_config(tiles=["."], reference=".", gapfill={"step": 10})
    >>> config_values(config)["gapfill"], config_values(config)["tiles"]
    ({'step': 10}, {'paths': ['.']})
    """
    folder = Path(folder).absolute()
    values = config.model_dump(mode="json", exclude_defaults=True)
    values["inputs"] = {"kind": config.inputs.kind, **values.get("inputs", {})}
    if config.gapfill is None:
        values["gapfill"] = None
    if config.tiles.bboxes is None:
        values["tiles"] = _tile_values(config.tiles, folder)
    values["reference"]["polygons"] = _relative(config.reference.polygons, folder)
    values.setdefault("models", [m.model_dump(mode="json", exclude_defaults=True) for m in config.models])
    if "outputs" in values and "folder" in values["outputs"]:
        values["outputs"]["folder"] = _relative(values["outputs"]["folder"], folder)
    return {key: values[key] for key in RunConfig.model_fields if key in values}  # in the order of the sections


def save_config(config: RunConfig, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a run config as the YAML file ``labkit run`` reads (atomically), paths relative to its folder.

    Loading it back (:func:`load_config`) gives the same config.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> config = to_config(tiles=[str(folder)], reference=str(folder), gapfill={"step": 10}, base=folder)
    >>> path = save_config(config, folder / "run.yaml")
    >>> load_config(path) == config
    True
    """
    import yaml

    from ..outputs import atomic_path

    path = Path(path)
    values = config_values(config, path.absolute().parent)
    text = ("# A run of 'labkit run', exported from a notebook (labkit.run.save_config): only what differs from the "
            "defaults.\n# Relative paths are read from this file's folder. Check it with 'labkit config check "
            f"{path.name}'.\n" + yaml.safe_dump(values, sort_keys=False, default_flow_style=None, width=110))
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
