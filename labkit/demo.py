"""The main job on the embedded data: the whole chain, from a cloudy NDVI series to a validated land-cover map.

masks → gap-filling → features → samples split by polygon → random forest → prediction → validation, on eo-learn's
Slovenian Sentinel-2 patch (:func:`labkit.datasets.load_slovenia`). ``labkit demo --out DIR`` runs it.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import __version__
from .accuracy import assess_accuracy
from .datasets import load_slovenia
from . import params
from .features import STATS
from .gapfill import fill_gaps
from .datamodel import NO_CLASS
from .inference import predict_cube
from .io import write_cog, write_json
from .masks import count_valid
from .models import fit_model, make_model
from .outputs import atomic_files, check_files
from .report import REPORT_FILES, class_colors, write_report
from .samples import extract_samples, split_by_group

OUTPUTS = ("class_map.tif", "confidence.tif", "metrics.json", "report.md")
FILES = (*OUTPUTS, "class_map.tif.aux.xml", *REPORT_FILES[1:])
"""Every file the demo writes (the report's figures too)."""
STAGES = ("load", "masks", "gap-filling", "samples", "training", "prediction", "validation")


def run_demo(
    out: str | Path = "outputs/demo",
    *,
    step: int = 10,
    train_size: float = 0.7,
    n_estimators: int = 200,
    random_state: int = 0,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Run the whole chain on the embedded Slovenian patch and write maps, scores and a report to ``out``.

    Parameters
    ----------
    out : path
        Output folder; its files (class_map.tif, confidence.tif, metrics.json, report.md and the report's
        figures) are written all-or-nothing (a failure leaves nothing half-written). An earlier demo's files there are replaced when nobody changed them since; a file of the
        same name that is yours (or that you changed) is replaced only with ``overwrite=True``. The folder itself
        and its other files are never touched.
    step : int
        Days between the dates of the regular grid the series are gap-filled onto.
    train_size : float
        Share of each class's polygons used for training; the others validate.
    n_estimators, random_state : random forest size and seed (the split uses the same seed).
    progress : bool
        Show progress bars on the slow steps.

    Returns
    -------
    dict
        The summary also printed by ``labkit demo``: scores, sizes, timings and output paths.

    Example
    -------
    >>> import tempfile
    >>> summary = run_demo(tempfile.mkdtemp() + "/demo", n_estimators=20, progress=False)  # doctest: +SKIP
    >>> 0 <= summary["overall_accuracy"] <= 1  # doctest: +SKIP
    True
    """
    out = check_files(out, FILES, overwrite=overwrite)  # before any work (see labkit.outputs.atomic_files)
    n_estimators = params.integer(n_estimators, "n_estimators", "run_demo", low=1)
    step = params.integer(step, "step", "run_demo", low=1)
    train_size = params.number(train_size, "train_size", "run_demo", low=0, high=1, closed="neither")
    random_state = params.seed(random_state, "run_demo")
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    stages = tqdm(total=len(STAGES), desc=f"demo · {STAGES[0]}", disable=not progress,
                  bar_format="{desc:<22} {n}/{total} stages |{bar}| {elapsed}")

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now
        following = STAGES.index(name) + 1
        stages.set_description(f"demo · {STAGES[following]}" if following < len(STAGES) else "demo · done")
        stages.update()

    data = load_slovenia()
    cube, mask = data.cube, data.mask
    lap("load")
    valid_count = count_valid(mask)
    lap("masks")
    filled, flags = fill_gaps(cube, mask, step=step, method="linear")
    lap("gap-filling")
    polygons = data.polygons[data.polygons["class_id"] > 0]  # class 0: polygons without a label
    samples = extract_samples(filled, polygons)
    train, validation = split_by_group(samples, train_size=train_size, random_state=random_state)
    lap("samples")
    model = fit_model(make_model("rf", stats=STATS, n_estimators=n_estimators, random_state=random_state), train)
    lap("training")
    class_map, confidence = predict_cube(filled, model)
    lap("prediction")
    names = {c: data.class_names[c] for c in model.classes_}
    accuracy = assess_accuracy(validation["label"].values, model.predict(validation["X"].values),
                               labels=list(model.classes_), class_names=names)
    lap("validation")
    stages.close()

    scores = accuracy.to_dict()
    summary = {
        "overall_accuracy": scores["overall_accuracy"],
        "kappa": scores["kappa"],
        "macro_f1": scores["macro_f1"],
        "n_train_pixels": int(train.sizes["sample"]),
        "n_validation_pixels": int(validation.sizes["sample"]),
        "n_train_polygons": int(np.unique(train["group"]).size),
        "n_validation_polygons": int(np.unique(validation["group"]).size),
        "classified_share": round(float((class_map != NO_CLASS).mean()), 4),
        "timings_s": timings,
        "out": str(out),
    }
    facts = {
        "data": data.description,
        "grid": f"{cube.sizes['y']} x {cube.sizes['x']} px, {cube.rio.crs}, {cube.sizes['time']} dates "
                f"({str(cube.time.values[0])[:10]}..{str(cube.time.values[-1])[:10]})",
        "clear observations per pixel": f"{int(valid_count.min())}..{int(valid_count.max())} "
                                        f"(median {int(valid_count.median())})",
        "gap-filling": f"linear onto {filled.sizes['time']} dates every {step} days; "
                       f"{float((flags == 1).mean()):.1%} of values held at the series' ends",
        "features": f"gap-filled NDVI series + temporal statistics ({', '.join(STATS)})",
        "samples": f"{summary['n_train_pixels']} training pixels from {summary['n_train_polygons']} polygons, "
                   f"{summary['n_validation_pixels']} validation pixels from {summary['n_validation_polygons']} "
                   f"other polygons (split by polygon within each class, seed {random_state})",
        "model": f"random forest, {n_estimators} trees",
        "labkit": __version__,
    }
    with atomic_files(out, overwrite=overwrite, expected=FILES) as folder:
        colors = class_colors(sorted(names), names)
        write_cog(class_map, folder / "class_map.tif", nodata=NO_CLASS, colormap=colors, class_names=names)
        write_cog(confidence, folder / "confidence.tif", nodata=float("nan"))
        metrics = {**scores, "summary": summary, "parameters": {
            "step": step, "train_size": train_size, "n_estimators": n_estimators, "random_state": random_state}}
        write_json(metrics, folder / "metrics.json")
        write_report(folder, title="labkit demo: land cover of a Slovenian Sentinel-2 patch", accuracy=accuracy,
                     class_map=class_map, confidence=confidence, facts=facts)
    summary["outputs"] = [str(out / f) for f in OUTPUTS]
    return summary
