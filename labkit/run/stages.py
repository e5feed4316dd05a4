"""What each task of ``labkit run`` does: the stage functions called with their section of the config.

Each function reads what it needs (the tile's input, the samples, a saved model), calls labkit's stage functions
with the keyword arguments of its config section (:func:`section_kwargs`: the section's keys that the function
takes), and writes its one output at the path it is given (a temporary path, that the runner then moves into
place: :mod:`labkit.run.state`).

================ ======================================================= =============================================
stage            what a task does                                        its output
================ ======================================================= =============================================
``samples``      read a tile, mask, gap-fill, features, extract samples  ``samples/<tile>.nc``
``train``        split the samples of every tile (run k), fit a model    ``models/<model>/run-<k>.labkit``
``map``          the tile's features again, predict, post-process        ``tiles/<tile>/<model>/run-<k>/`` (COGs)
``validation``   the model of run k on the test samples of run k         ``validation/<model>/run-<k>.json``
``mosaic``       the tiles' class maps of run k, as one                  ``mosaic/<model>/run-<k>/class_map.tif``
``report``       the runs' accuracy and the mosaics, in a report         ``report/``
================ ======================================================= =============================================

Example
-------
>>> from labkit.run.config import GapfillSection
>>> section_kwargs(GapfillSection(step=10), "labkit.gapfill.fill_gaps")
{'method': 'linear', 'step': 10, 'start': None, 'end': None, 'dates': None, 'lambda_': None}
"""

from __future__ import annotations

import dataclasses
import glob as globbing
import importlib
import inspect
import json
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ReadError

__all__ = ["STAGES", "grid_dates", "open_tile", "prepare_tile", "section_kwargs", "stage_functions"]

STAGES = ("samples", "train", "map", "validation", "mosaic", "report")
"""The stages of a run, in the order data flows; ``--force STAGE`` redoes one and every stage after it that uses it."""


def _function(dotted: str):
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def section_kwargs(section, function) -> dict:
    """The keys of a config ``section`` that ``function`` (or its dotted path) takes, with their values; not the
    keys the runner reads itself (the section's ``runner_keys``: the reference file, a tile's file pattern...).

    Example
    -------
    >>> from labkit.run.config import MasksSection
    >>> section_kwargs(MasksSection(valid_range=(0, 1)), "labkit.masks.mask_from_nodata")
    {'valid_range': (0.0, 1.0)}
    """
    function = _function(function) if isinstance(function, str) else function
    taken = set(inspect.signature(function).parameters) - set(type(section).runner_keys)
    return {key: getattr(section, key) for key in type(section).model_fields if key in taken and key != "kind"}


def stage_functions(section) -> list:
    """The stage functions a section feeds (its ``stages``), imported.

    Example
    -------
    >>> from labkit.run.config import FeaturesSection
    >>> [f.__name__ for f in stage_functions(FeaturesSection())]
    ['compute_features']
    """
    return [_function(name) for name in type(section).stages]


# ----------------------------------------------------------------------------------------------- reading a tile


def _inside(folder: Path, pattern: str, what: str) -> list[str]:
    found = sorted(globbing.glob(str(Path(folder) / pattern)))
    if not found:
        raise ReadError(f"{folder}: no {what} matches inputs.{'files' if what == 'file' else 'folders'} "
                        f"{pattern!r} in this tile's folder.")
    return found


def open_tile(config, tile: str):
    """A tile's cube and validity mask (or None), lazily, read as its ``inputs`` section says.

    Example
    -------
    >>> cube, mask = open_tile(config, "T31TCJ")  # doctest: +SKIP
    """
    from ..io import read_dates, read_zarr
    from ..sources import load_stac, read_safe, read_theia, search_stac

    source, inputs = config.tile_inputs()[tile], config.inputs
    if inputs.kind == "zarr":
        opened = read_zarr(source, **section_kwargs(inputs, read_zarr))
        return opened if isinstance(opened, tuple) else (opened, None)
    if inputs.kind == "files":
        return read_dates(_inside(source, inputs.files, "file"), **section_kwargs(inputs, read_dates)), None
    if inputs.kind == "stac":
        items = search_stac(inputs.catalog, bbox=source, **section_kwargs(inputs, search_stac))
        if not items:
            raise ReadError(f"tile {tile}: the STAC search found no item over {list(source)} in {inputs.dates}.")
        options = section_kwargs(inputs, load_stac)
        if options.get("bands") is None:
            options.pop("bands")
        return load_stac(items, bbox=source, **options)
    reader = read_theia if inputs.kind == "theia" else read_safe
    return reader(_inside(source, inputs.folders, "product folder"), **section_kwargs(inputs, reader))


def tile_mask(config, cube, mask):
    """The tile's validity mask, refined by the ``masks`` section (values out of ``valid_range``, ``dilate``).

    A tile without a mask of its own (raster files) gets :func:`labkit.masks.mask_from_nodata`'s.
    """
    from ..masks import combine_masks, dilate_mask, mask_from_nodata

    section = config.masks
    if mask is None or section.valid_range is not None:
        own = mask_from_nodata(cube, **section_kwargs(section, mask_from_nodata))
        mask = own if mask is None else combine_masks(mask, own)
    return dilate_mask(mask, section.dilate) if section.dilate else mask


def grid_dates(config, times: dict[str, np.ndarray]) -> list[str] | None:
    """The dates every tile is gap-filled onto (one grid for all, so that one model reads every tile).

    ``gapfill.dates`` when given; else from ``gapfill.start`` (default: the latest first date of the tiles) to
    ``gapfill.end`` (default: the earliest last date) every ``gapfill.step`` days (``auto``: the median revisit of
    the tiles). None without gap-filling: then every tile must have the same dates.

    Example
    -------
    >>> from labkit.run.config import RunConfig
    >>> config = RunConfig.model_validate({"tiles": {"bboxes": {"A": [0, 0, 1, 1]}}, "inputs": {"kind": "stac"},
    ...                                    "reference": {"polygons": "."}, "gapfill": {"step": 10}})
    >>> days = np.array(["2021-01-03", "2021-01-13", "2021-02-02"], "datetime64[ns]")
    >>> grid_dates(config, {"A": days, "B": days[1:]})
    ['2021-01-13', '2021-01-23', '2021-02-02']
    """
    import pandas as pd

    from ..gapfill import regular_dates, revisit_step

    section = config.gapfill
    if section is None:
        first, *others = times.items()
        for tile, dates in others:
            if len(dates) != len(first[1]) or not np.array_equal(dates, first[1]):
                raise ConfigError(f"without gap-filling (gapfill: null), every tile must have the same dates; tile "
                                  f"{tile} has {len(dates)}, tile {first[0]} {len(first[1])}. Set a gapfill section.")
        return None
    if section.dates is not None:
        return [str(pd.Timestamp(d).date()) for d in section.dates]
    start = pd.Timestamp(section.start) if section.start else max(pd.Timestamp(d.min()) for d in times.values())
    end = pd.Timestamp(section.end) if section.end else min(pd.Timestamp(d.max()) for d in times.values())
    step = section.step
    if step == "auto":
        step = int(np.floor(np.median([revisit_step(d) for d in times.values()]) + 0.5))
    dates = regular_dates(start, end, step)
    if len(dates) < 2:
        raise ConfigError(f"gapfill: the tiles' common period {start.date()}..{end.date()} holds {len(dates)} date(s) "
                          f"every {step} days; give gapfill.start/end or dates that the tiles all cover.")
    return [str(d.date()) for d in dates]


def prepare_tile(config, tile: str, dates: list[str] | None):
    """A tile's features on the run's time grid, lazily: read, mask, gap-fill, compute features.

    The ``samples`` and ``map`` stages both start here, so that the map reads exactly what the model was fitted on.
    """
    from ..features import compute_features
    from ..gapfill import fill_gaps

    cube, mask = open_tile(config, tile)
    mask = tile_mask(config, cube, mask)
    if config.gapfill is not None:
        options = section_kwargs(config.gapfill, fill_gaps)
        options.update(dates=dates, start=None, end=None, step=None)
        cube, _ = fill_gaps(cube, mask, **options)
    return compute_features(cube, **section_kwargs(config.features, compute_features)).cube


# ----------------------------------------------------------------------------------------------- the stages


def _polygons(config):
    import geopandas as gpd

    path = config.reference.polygons
    try:
        return gpd.read_file(path)
    except Exception as error:  # pyogrio's errors vary with the driver
        raise ReadError(f"{path}: cannot read the reference polygons: {error}") from None


def run_samples(config, tile: str, dates, out: Path) -> int:
    """The ``samples`` stage: the tile's samples in every reference polygon over it, written to ``out`` (an empty
    sample set for a tile that no polygon touches); returns how many."""
    from ..datamodel import make_samples
    from ..io import write_samples
    from ..samples import extract_samples

    features = prepare_tile(config, tile, dates)
    polygons = _polygons(config)
    if _overlapping(polygons, features):
        samples = extract_samples(features, polygons, **section_kwargs(config.reference, extract_samples))
    else:  # a tile without reference data (most tiles of a country): no sample, and no error
        samples = make_samples(np.zeros((0, features.sizes["time"], features.sizes["band"]), np.float32),
                               np.zeros(0, np.int64), np.zeros(0, np.int64), bands=list(features.band.values),
                               times=features.time.values)
    samples.attrs["tile"] = tile
    write_samples(samples, out)
    return int(samples.sizes["sample"])


def _overlapping(polygons, cube) -> bool:
    """Whether any reference geometry touches the cube's extent (in the cube's CRS)."""
    from shapely.geometry import box

    if polygons.crs is None or cube.rio.crs is None:
        return True  # extract_samples says what is missing
    return bool(polygons.to_crs(cube.rio.crs).intersects(box(*cube.rio.bounds())).any())


def all_samples(paths: dict[str, Path]):
    """The samples of every tile as one set (:func:`labkit.samples.concat_samples`, with a ``tile`` variable)."""
    from ..io import read_samples
    from ..samples import concat_samples

    merged = concat_samples({tile: read_samples(path).load() for tile, path in paths.items()}, source="tile")
    merged.attrs.pop("tile", None)
    return merged


def run_split(config, samples, run: int):
    """The ``(train, test)`` pair of run ``run`` (0-based) of the reference section's split."""
    from ..samples import split_runs

    options = section_kwargs(config.reference, split_runs)
    for index, pair in enumerate(split_runs(samples, **options)):
        if index == run:
            return pair
    raise ConfigError(f"run {run} does not exist: reference.n_runs is {config.reference.n_runs}")


def run_train(config, model_index: int, run: int, sample_paths: dict[str, Path], out: Path) -> None:
    """The ``train`` stage: model ``model_index`` fitted on the training samples of run ``run`` (balanced as the
    reference section says: :func:`labkit.samples.balance_classes`), saved to ``out``."""
    from ..models import fit_model, make_model, save_model
    from ..samples import balance_classes

    train, _ = run_split(config, all_samples(sample_paths), run)
    balance = section_kwargs(config.reference, balance_classes)
    if balance["max_per_class"] is not None or balance["oversample"]:
        train = balance_classes(train, **balance)
    section = config.models[model_index]
    model = make_model(section.model_dump(), random_state=config.reference.random_state)
    save_model(fit_model(model, train), out)


def run_validation(config, run: int, model_path: Path, sample_paths: dict[str, Path], out: Path) -> None:
    """The ``validation`` stage: the accuracy of run ``run``'s model on the test samples of run ``run``."""
    from ..accuracy import assess_accuracy
    from ..io import write_json
    from ..models import load_model

    _, test = run_split(config, all_samples(sample_paths), run)
    model = load_model(model_path)
    names = config.validation.class_names or getattr(model, "class_names_", None) or None
    report = assess_accuracy(test["label"].values, model.predict(test["X"].values),
                             labels=config.validation.labels, class_names=names)
    write_json({**report.to_dict(), "n_test_samples": int(test.sizes["sample"])}, out)


def _postprocessed(config, products):
    from ..postprocess import bayesian_smoothing, label_probabilities, majority_filter, sieve

    steps = config.postprocess
    workers = config.inference.workers
    engine = {"memory": config.inference.memory, "workers": workers}
    if steps.bayesian_smoothing is not None:
        smoothed = bayesian_smoothing(products["probabilities"], **section_kwargs(steps.bayesian_smoothing,
                                                                                  bayesian_smoothing), **engine)
        class_map, confidence = label_probabilities(smoothed)
        products = products.assign(probabilities=smoothed, class_map=class_map.astype(products["class_map"].dtype)
                                   .assign_attrs(products["class_map"].attrs), confidence=confidence)
    for step, function in ((steps.majority_filter, majority_filter), (steps.sieve, sieve)):
        if step is not None:
            filtered = function(products["class_map"], **section_kwargs(step, function), **engine)
            products = products.assign(class_map=filtered.assign_attrs(products["class_map"].attrs))
    return products


def run_map(config, tile: str, dates, model_path: Path, out: Path) -> None:
    """The ``map`` stage: the tile's features, predicted block by block, post-processed, written into ``out``."""
    from ..inference import predict_map, write_map
    from ..models import load_model

    features = prepare_tile(config, tile, dates)
    model = load_model(model_path)
    options = section_kwargs(config.inference, predict_map)
    if config.postprocess.bayesian_smoothing is not None:
        options["probabilities"] = True
    products = predict_map(features, model, mask=None, gapfill=None, **options)
    products = _postprocessed(config, products)
    if not config.inference.probabilities and "probabilities" in products:
        products = products.drop_vars("probabilities")
    write_map(products, out, **section_kwargs(config.outputs, write_map), workers=config.inference.workers)


def run_mosaic(config, maps: list[Path], out: Path) -> None:
    """The ``mosaic`` stage: the tiles' class maps of one model and run as one COG (or VRT) in ``out``."""
    from ..postprocess import mosaic

    out.mkdir()
    name = "class_map.vrt" if config.postprocess.mosaic.vrt else "class_map.tif"
    mosaic([folder / "class_map.tif" for folder in maps], out / name,
           **section_kwargs(config.postprocess.mosaic, mosaic))


def _report_of(path: Path):
    """An :class:`~labkit.accuracy.AccuracyReport` back from the JSON of the ``validation`` stage."""
    from ..accuracy import assess_accuracy

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    labels, confusion = data["labels"], np.asarray(data["confusion_matrix"])
    truth = np.repeat(np.repeat(labels, len(labels)), confusion.ravel())
    predicted = np.repeat(np.tile(labels, len(labels)), confusion.ravel())
    return assess_accuracy(truth, predicted, labels=labels, class_names=dict(zip(labels, data["class_names"])))


def run_report(config, validations: dict[str, list[Path]], mosaics: dict[str, list[Path]], out: Path) -> None:
    """The ``report`` stage: each model's accuracy over its runs (mean ± std) in ``out/report.md``, with
    ``metrics.json``."""
    from ..accuracy import summarize_runs
    from ..io import write_json
    from ..report import write_accuracy_report

    out.mkdir()
    sections, metrics = [], {}
    for model, paths in validations.items():
        summary = dataclasses.replace(summarize_runs([_report_of(p) for p in paths]), experiment=model)
        sections.append(summary)
        metrics[model] = {"runs": [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths],
                          "summary": summary.to_dict()}
    facts = {"tiles": ", ".join(config.tile_inputs()), "models": ", ".join(validations),
             "runs": str(config.reference.n_runs),
             "mosaics": ", ".join(str(p.relative_to(out.parent)) for paths in mosaics.values() for p in paths)
             or "none"}
    write_accuracy_report(out, sections, title="labkit run: accuracy over the runs", facts=facts,
                          filename="report.md")
    write_json(metrics, out / "metrics.json")
