"""Helpers shared by the benchmarks (not a benchmark itself: `make bench` skips files starting with `_`)."""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

from labkit.datamodel import class_names
from labkit.datasets.tables import load_formosat, load_rondonia, load_victoria
from labkit.models import cross_validate


class Drop:
    """A dask ``store`` target that drops each block once computed: times a computation without keeping it."""

    def __setitem__(self, key, value):
        pass


def cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo``), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ----------------------------------------------------------------------------- cross-validation tables on real data

MIRROR = Path(__file__).resolve().parents[1].parent / "shared/data/mirror/github"
"""The project's data mirror (the default of ``--mirror``)."""

DATASETS = {
    # name: (loader, group_by, what the folds keep apart)
    "dl4sits-victoria": (lambda url: load_victoria("all", mirror=url), "group", "grouped by objectid"),
    "insitu-rondonia": (lambda url: load_rondonia(mirror=url), None, "stratified, by sample"),
    "tempcnn-formosat": (lambda url: load_formosat("all", mirror=url), "group", "grouped by polygon"),
}
"""The public sample sets of the results tables, loaded through labkit.datasets.tables."""

METRICS = (("overall_accuracy", "OA"), ("kappa", "kappa"), ("macro_f1", "macro F1"))


def cross_validation_rows(mirror, models, folds: int, random_state: int, datasets, params=None) -> list[dict]:
    """Cross-validate each model on each dataset; one row (a dict) per pair. ``params``: per-model hyperparameters."""
    rows = []
    for dataset in datasets:
        load, group_by, scheme = DATASETS[dataset]
        samples = load(mirror)
        groups = int(samples["group"].to_series().nunique())
        for model in models:
            config = {"model": model, "params": dict((params or {}).get(model, {}))}
            start = time.perf_counter()
            result = cross_validate(samples, config, folds=folds, group_by=group_by, random_state=random_state)
            rows.append({
                "dataset": dataset, "model": model, "params": config["params"], "folds": folds, "scheme": scheme,
                "n_samples": int(samples.sizes["sample"]), "n_groups": groups,
                "n_classes": len(class_names(samples)),
                "series": f"{samples.sizes['time']} dates x {samples.sizes['band']} bands",
                **{f"{key}_mean": round(result.mean[key], 4) for key, _ in METRICS},
                **{f"{key}_std": round(result.std[key], 4) for key, _ in METRICS},
                **{f"{key}_folds": [round(getattr(r, key), 4) for r in result.folds] for key, _ in METRICS},
                "seconds": round(time.perf_counter() - start, 1),
            })
            print(f"  {dataset} {model}: OA {rows[-1]['overall_accuracy_mean']:.3f} "
                  f"({rows[-1]['seconds']:.0f} s)", file=sys.stderr, flush=True)
    return rows


def _model(row) -> str:
    """The model's name, with its network's hyperparameters when they are not labkit's defaults."""
    network = (row.get("params") or {}).get("network_params")
    return row["model"] + (" (" + ", ".join(f"{k}={v}" for k, v in network.items()) + ")" if network else "")


def _cell(row, key) -> str:
    return f"{row[f'{key}_mean']:.3f} ± {row[f'{key}_std']:.3f}"


def as_text(rows) -> str:
    """An aligned plain-text table."""
    header = ["dataset", "model", "folds", *(label for _, label in METRICS), "time"]
    body = [[r["dataset"], _model(r), f"{r['folds']}, {r['scheme']}", *(_cell(r, k) for k, _ in METRICS),
             f"{r['seconds']:.0f} s"] for r in rows]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip() for line in [header, *body])


def as_markdown(rows) -> str:
    """A Markdown table (mean ± standard deviation over the folds)."""
    lines = ["| dataset | model | folds | OA | kappa | macro F1 | time |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['dataset']} | {_model(r)} | {r['folds']}, {r['scheme']} | "
              + " | ".join(_cell(r, k) for k, _ in METRICS) + f" | {r['seconds']:.0f} s |" for r in rows]
    return "\n".join(lines)


def write_results(path, rows, meta: dict) -> None:
    """Write the rows and their metadata as JSON, atomically."""
    from labkit.io import write_json

    write_json({"meta": meta, "results": rows}, path, overwrite=True)
