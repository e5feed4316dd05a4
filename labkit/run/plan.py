"""The plan of a run: its tasks (per tile, model and run), what each reads, what it writes, and what is left to do.

:func:`plan_run` opens every tile lazily (their grids and dates), fixes the time grid they are all gap-filled onto,
lists the tasks of every stage (:data:`labkit.run.stages.STAGES`) with the tasks they read from, and compares each
task's fingerprint with the records of earlier runs (:class:`labkit.run.state.RunState`): a task is to do when it
has no record of today's fingerprint, when ``force`` names its stage, or when a task it reads from is to do.
``labkit run --dry-run`` prints :meth:`Plan.describe`.

Example
-------
>>> plan = plan_run(config)  # doctest: +SKIP
>>> print(plan.describe())  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..outputs import format_bytes
from .stages import STAGES, grid_dates, open_tile
from .state import RunState, fingerprint

__all__ = ["Plan", "Task", "TileFacts", "check_features", "model_names", "plan_run", "plan_tasks"]


@dataclass(frozen=True)
class Task:
    """One task of a run: its ``key`` (``"map/T31TCJ/rf/run-0"``), stage, the output it writes (relative to the
    outputs folder), the keys of the tasks it reads from, and its tile, model and run when it has them."""

    key: str
    stage: str
    output: str
    deps: tuple[str, ...] = ()
    tile: str | None = None
    model: str | None = None
    run: int | None = None
    nbytes: int | None = None

    @property
    def where(self) -> str:
        """The task in words: ``"stage map of tile T1 (model rf, run 0)"``."""
        text = f"stage {self.stage}"
        if self.tile is not None:
            text += f" of tile {self.tile}"
        details = [f"model {self.model}"] * (self.model is not None) + [f"run {self.run}"] * (self.run is not None)
        return text + (f" ({', '.join(details)})" if details else "")


@dataclass(frozen=True)
class TileFacts:
    """A tile's grid: its size, dates, bands and CRS (from its input, read lazily)."""

    height: int
    width: int
    n_dates: int
    bands: tuple[str, ...]
    crs: str
    bounds: tuple[float, float, float, float]


@dataclass
class Plan:
    """The tasks of a run in an order where each comes after those it reads from, and which are left to do."""

    config: object
    tasks: dict[str, Task]
    tiles: dict[str, TileFacts]
    grid: list[str] | None
    fingerprints: dict[str, str]
    parts: dict[str, dict]
    """What each task reads of the config and inputs (hashed into its fingerprint, and again when it is recorded)."""
    todo: set[str] = field(default_factory=set)

    def by_stage(self, stage: str) -> list[Task]:
        """The tasks of ``stage``, in order."""
        return [t for t in self.tasks.values() if t.stage == stage]

    def describe(self) -> str:
        """The plan in words: the tasks per stage (to do, done), their outputs and estimated sizes, and the tiles.

        Sizes are of the uncompressed data (an upper bound of the files); ``-`` where it depends on the model.
        """
        config = self.config
        models = model_names(config)
        grid = ("the tiles' own dates" if self.grid is None else
                f"{len(self.grid)} dates {self.grid[0]}..{self.grid[-1]}")
        lines = [f"{len(self.tiles)} tile{'s' * (len(self.tiles) != 1)} ({config.inputs.kind}), "
                 f"{len(models)} model{'s' * (len(models) != 1)} ({', '.join(models)}) x {config.reference.n_runs} "
                 f"run{'s' * (config.reference.n_runs != 1)}; time grid: {grid}",
                 f"outputs in {config.outputs.folder}", "",
                 f"{'stage':<11} {'tasks':>5} {'to do':>6} {'done':>5}  {'output':<40} {'size':>10}"]
        total = Counter()
        patterns = {"samples": "samples/<tile>.nc", "train": "models/<model>/run-<k>.labkit",
                    "map": "tiles/<tile>/<model>/run-<k>/", "validation": "validation/<model>/run-<k>.json",
                    "mosaic": "mosaic/<model>/run-<k>/", "report": "report/"}
        for stage in STAGES:
            tasks = self.by_stage(stage)
            todo = sum(t.key in self.todo for t in tasks)
            sizes = [t.nbytes for t in tasks if t.key in self.todo]
            size = "-" if not sizes or None in sizes else format_bytes(sum(sizes))
            total.update(tasks=len(tasks), todo=todo, bytes=sum(s for s in sizes if s))
            lines.append(f"{stage:<11} {len(tasks):>5} {todo:>6} {len(tasks) - todo:>5}  {patterns[stage]:<40} "
                         f"{size:>10}")
        lines.append(f"{'total':<11} {total['tasks']:>5} {total['todo']:>6} {total['tasks'] - total['todo']:>5}  "
                     f"{'(to write; models and reports not counted)':<40} {format_bytes(total['bytes']):>10}")
        lines += ["", "tiles:"]
        for name, facts in self.tiles.items():
            lines.append(f"  {name}: {facts.height} x {facts.width} px, {facts.n_dates} dates x {len(facts.bands)} "
                         f"bands, {facts.crs}")
        return "\n".join(lines)


def model_names(config) -> list[str]:
    """One name per entry of ``models``: its model, numbered when two entries use the same (``rf``, ``rf-2``).

    Example
    -------
    >>> from labkit.run.config import RunConfig
    >>> model_names(RunConfig.model_validate({"tiles": {"bboxes": {"A": [0, 0, 1, 1]}}, "inputs": {"kind": "stac"},
    ...     "reference": {"polygons": "."}, "models": [{"model": "rf"}, {"model": "lgbm"}, {"model": "rf"}]}))
    ['rf', 'lgbm', 'rf-2']
    """
    seen, names = Counter(), []
    for entry in config.models:
        name = entry.model.rsplit(".", 1)[-1]
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return names


def _tile_facts(config) -> tuple[dict[str, TileFacts], dict]:
    import numpy as np

    facts, times = {}, {}
    for tile in config.tile_inputs():
        cube, _ = open_tile(config, tile)
        facts[tile] = TileFacts(cube.sizes["y"], cube.sizes["x"], cube.sizes["time"],
                                tuple(str(b) for b in cube["band"].values), str(cube.rio.crs),
                                tuple(float(v) for v in cube.rio.bounds()))
        times[tile] = np.asarray(cube["time"].values)
    return facts, times


def _n_classes(config) -> int:
    import pyogrio

    try:
        frame = pyogrio.read_dataframe(config.reference.polygons, columns=[config.reference.class_field],
                                       read_geometry=False)
        return int(frame[config.reference.class_field].nunique())
    except Exception:  # read again, with its clear error, by the samples stage
        return 0


def _sections(config, *names: str) -> dict:
    return {name: None if getattr(config, name) is None else getattr(config, name).model_dump(mode="json")
            for name in names}


_SPLIT = ("n_runs", "train_size", "random_state", "by_region", "group_by")
_BALANCE = ("max_per_class", "min_per_class", "oversample")


def check_features(config, tiles: dict[str, TileFacts]) -> None:
    """Check, before any work, that every tile's bands allow the ``features`` section's indices and expressions.

    Raises
    ------
    ConfigError
        Naming the key (``features.indices``, ``features.expressions.NAME``), the tile and the band it lacks.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> config = SimpleNamespace(features=SimpleNamespace(indices=["NDVI", "NDMI"], expressions={}))
    >>> tile = TileFacts(10, 10, 3, ("B04", "B08"), "EPSG:32631", (0, 0, 100, 100))
    >>> check_features(config, {"T1": tile})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: features.indices: tile 'T1' (bands B04, B08) cannot give 'NDMI': ...
    """
    from ..errors import BandError
    from ..features import feature_bands

    for tile, facts in tiles.items():
        where = f"tile {tile!r} (bands {', '.join(facts.bands)})"
        for name in config.features.indices or ():
            try:
                feature_bands(facts.bands, indices=[name])
            except (BandError, ConfigError) as error:
                raise ConfigError(f"features.indices: {where} cannot give {name!r}: {error}") from None
        for name, expression in (config.features.expressions or {}).items():
            try:
                feature_bands(facts.bands, expressions={name: expression})
            except (BandError, ConfigError) as error:
                raise ConfigError(f"features.expressions.{name}: {where}: {error}") from None


def plan_tasks(config, tiles: dict[str, TileFacts], grid) -> list[Task]:
    """Every task of a run, in an order where a task comes after those it reads from, without looking at what
    earlier runs did (:func:`plan_run` does): for a planner's estimates, or to simulate a schedule
    (``bench/scale.py``).

    Parameters
    ----------
    config : RunConfig
    tiles : dict of str to TileFacts
        Each tile's grid (the facts need not come from real files).
    grid : array of datetime64 or None
        The time grid of every tile (``None``: no gap-filling; each tile's own dates).

    Example
    -------
    >>> tasks = plan_tasks(config, {"T1": facts, "T2": facts}, grid)  # doctest: +SKIP
    >>> [t.key for t in tasks][:3]  # doctest: +SKIP
    ['samples/T1', 'samples/T2', 'train/rf/run-0']
    """
    models = model_names(config)
    n_runs, n_classes = config.reference.n_runs, _n_classes(config)
    n_features = len(config.features.indices or ()) + len(config.features.expressions or {})
    probability_bytes = {"uint8": 1, "float32": 4, None: 0}[config.outputs.probabilities]
    per_pixel = 1 + 4 + 4 + 2 + n_classes * probability_bytes * config.inference.probabilities
    tasks = []
    for tile, facts in tiles.items():
        bands = len(facts.bands) * config.features.keep_bands + n_features
        dates = len(grid) if grid is not None else facts.n_dates
        # at most every pixel sampled: an upper bound
        tasks.append(Task(f"samples/{tile}", "samples", f"samples/{tile}.nc", tile=tile,
                          nbytes=facts.height * facts.width * dates * bands * 4))
    samples = tuple(t.key for t in tasks)
    for name in models:
        for run in range(n_runs):
            tasks.append(Task(f"train/{name}/run-{run}", "train", f"models/{name}/run-{run}.labkit", samples,
                              model=name, run=run))
    for tile, facts in tiles.items():
        for name in models:
            for run in range(n_runs):
                tasks.append(Task(f"map/{tile}/{name}/run-{run}", "map", f"tiles/{tile}/{name}/run-{run}",
                                  (f"train/{name}/run-{run}",), tile=tile, model=name, run=run,
                                  nbytes=facts.height * facts.width * per_pixel))
    validations, mosaics = [], []
    for name in models:
        for run in range(n_runs):
            key = f"validation/{name}/run-{run}"
            validations.append(key)
            tasks.append(Task(key, "validation", f"validation/{name}/run-{run}.json",
                              (f"train/{name}/run-{run}", *samples), model=name, run=run, nbytes=0))
    if config.postprocess.mosaic is not None:
        pixels = sum(f.height * f.width for f in tiles.values())
        for name in models:
            for run in range(n_runs):
                key = f"mosaic/{name}/run-{run}"
                mosaics.append(key)
                tasks.append(Task(key, "mosaic", f"mosaic/{name}/run-{run}",
                                  tuple(f"map/{tile}/{name}/run-{run}" for tile in tiles), model=name, run=run,
                                  nbytes=pixels))
    tasks.append(Task("report", "report", "report", (*validations, *mosaics)))
    return tasks


def _stamp(path) -> list | None:
    """``[files, bytes, latest change]`` of a file or folder (a tile's store, the reference file): it changes when
    the content is replaced at the same path, without reading the content."""
    path = Path(path)
    if not path.exists():
        return None
    stats = [path.stat()] if path.is_file() else [p.stat() for p in path.rglob("*") if p.is_file()]
    return [len(stats), sum(s.st_size for s in stats), max((s.st_mtime_ns for s in stats), default=0)]


_SPEED = ("memory", "block", "workers")
"""Keys of ``inference`` that change how fast a map is made, not the map (its blocks do not change the result)."""


def _config_part(config, task: Task, grid, stamps: dict) -> dict:
    """What of the config and of the inputs a task reads (its fingerprint changes when that changes)."""
    reference = config.reference.model_dump(mode="json")
    split = {k: reference[k] for k in _SPLIT}
    if task.stage in ("samples", "map"):
        read = {"tile": str(config.tile_inputs()[task.tile]), "stamp": stamps.get(task.tile), "grid": grid,
                **_sections(config, "inputs", "masks", "gapfill", "features")}
    if task.stage == "samples":
        return {**read, "reference": {k: v for k, v in reference.items() if k not in _SPLIT + _BALANCE},
                "reference_stamp": stamps.get(None)}
    if task.stage in ("train", "validation"):
        index = model_names(config).index(task.model)
        part = {"model": config.models[index].model_dump(mode="json"), "split": split, "run": task.run}
        if task.stage == "validation":  # tests the model on the whole test side (no balancing)
            return {**part, **_sections(config, "validation")}
        return {**part, "balance": {k: reference[k] for k in _BALANCE}}
    if task.stage == "map":
        outputs = config.outputs.model_dump(mode="json")
        inference = {k: v for k, v in config.inference.model_dump(mode="json").items() if k not in _SPEED}
        return {**read, "inference": inference,
                "postprocess": {k: v for k, v in config.postprocess.model_dump(mode="json").items() if k != "mosaic"},
                "outputs": {k: v for k, v in outputs.items() if k not in ("folder", "overwrite")}}
    if task.stage == "mosaic":
        return _sections(config, "postprocess")["postprocess"]["mosaic"]
    return {"validation": _sections(config, "validation"), "tiles": list(config.tile_inputs())}


def plan_run(config, *, force=()) -> Plan:
    """The plan of a run: its tasks, in order, and those left to do after the records of earlier runs.

    Parameters
    ----------
    config : RunConfig
        From :func:`labkit.run.load_config`.
    force : sequence of str
        Stages (:data:`~labkit.run.stages.STAGES`) to redo even when done; the stages that read them are redone too.

    Raises
    ------
    ConfigError
        An unknown stage in ``force``; tiles without a common time grid; features that a tile's bands do not
        allow (:func:`check_features`).

    Example
    -------
    >>> plan = plan_run(config, force=["map"])  # doctest: +SKIP
    >>> sorted({plan.tasks[k].stage for k in plan.todo})  # doctest: +SKIP
    ['map', 'mosaic', 'report']
    """
    unknown = [s for s in force if s not in STAGES]
    if unknown:
        raise ConfigError(f"--force: unknown stage(s) {unknown}; the stages are {list(STAGES)}")
    tiles, times = _tile_facts(config)
    check_features(config, tiles)
    grid = grid_dates(config, times)
    tasks = {t.key: t for t in plan_tasks(config, tiles, grid)}
    state = RunState(config.outputs.folder)
    stamps = {tile: _stamp(source) for tile, source in config.tile_inputs().items()
              if not isinstance(source, tuple)}
    stamps[None] = _stamp(config.reference.polygons)
    parts = {key: _config_part(config, task, grid, stamps) for key, task in tasks.items()}
    fingerprints, todo = {}, set()
    for key, task in tasks.items():
        fingerprints[key] = fingerprint(task.stage, parts[key], [state.digest(dep) for dep in task.deps])
        if (task.stage in force or any(dep in todo for dep in task.deps)
                or not state.is_done(key, fingerprints[key])):
            todo.add(key)
    return Plan(config, tasks, tiles, grid, fingerprints, parts, todo)


def output_path(config, task: Task) -> Path:
    """Where a task's output goes (absolute)."""
    return Path(config.outputs.folder) / task.output
