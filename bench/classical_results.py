"""Results on real data: random forest, SVM and LightGBM cross-validated on two public sample sets.

For each dataset and model, :func:`labkit.models.cross_validate` (with :func:`labkit.accuracy.assess_accuracy` on
each fold) gives overall accuracy, Cohen's kappa and macro F1 as mean ± standard deviation over the folds. The models
are labkit's defaults (``make_model(name)``: the series plus temporal statistics, then 200 trees, an RBF SVM
with cross-validated Platt probabilities, or 200 rounds of LightGBM), seeded with ``--seed``; nothing is tuned.

* **dl4sits-victoria** (Sentinel-2, Victoria, Australia; 73 dates x 10 bands, 8 classes): the published train and
  test files merged (800 samples, :func:`labkit.datasets.tables.load_victoria` with ``split="all"``) and **grouped
  by objectid** (the polygon a pixel came from): 38 objectids occur in both published files, so their split leaks.
  Stratified group k-fold; two classes (bare ground, water) have only 5 polygons, hence at most 5 folds.
* **insitu-rondonia** (sits in-situ samples, Sentinel-2, Rondonia, Brazil; 36 ten-day composites x 11 bands and
  indices, 3 classes): stratified k-fold, each sample its own group (sits gives no polygon ids).

Data come through the loaders of :mod:`labkit.datasets.tables`, from ``--base-url`` (default ``$LABKIT_DATA_URL``,
else the project's mirror ``../shared/data/mirror/github``), checked against pinned checksums.

Usage: ``python bench/classical_results.py [--folds 5] [--seed 0] [--models rf svm lgbm] [--json OUT] [--markdown]``;
about two minutes on 2 idle cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import lightgbm
import sklearn

from labkit.datamodel import class_names
from labkit.datasets.tables import load_rondonia, load_victoria
from labkit.models import cross_validate

MIRROR = Path(__file__).resolve().parents[1].parent / "shared/data/mirror/github"
DATASETS = {
    # name: (loader, group_by, what the folds keep apart)
    "dl4sits-victoria": (lambda url: load_victoria("all", base_url=url), "group", "grouped by objectid"),
    "insitu-rondonia": (lambda url: load_rondonia(base_url=url), None, "stratified, by sample"),
}
METRICS = (("overall_accuracy", "OA"), ("kappa", "kappa"), ("macro_f1", "macro F1"))


def run(base_url, models, folds: int, seed: int, datasets=tuple(DATASETS)) -> list[dict]:
    """Cross-validate each model on each dataset; one row (a dict) per pair."""
    rows = []
    for dataset in datasets:
        load, group_by, scheme = DATASETS[dataset]
        samples = load(base_url)
        groups = int(samples["group"].to_series().nunique())
        for model in models:
            start = time.perf_counter()
            result = cross_validate(samples, model, folds=folds, group_by=group_by, random_state=seed)
            rows.append({
                "dataset": dataset, "model": model, "folds": folds, "scheme": scheme,
                "n_samples": int(samples.sizes["sample"]), "n_groups": groups,
                "n_classes": len(class_names(samples)),
                "series": f"{samples.sizes['time']} dates x {samples.sizes['band']} bands",
                **{f"{key}_mean": round(result.mean[key], 4) for key, _ in METRICS},
                **{f"{key}_std": round(result.std[key], 4) for key, _ in METRICS},
                **{f"{key}_folds": [round(getattr(r, key), 4) for r in result.folds] for key, _ in METRICS},
                "seconds": round(time.perf_counter() - start, 1),
            })
    return rows


def _cell(row, key) -> str:
    return f"{row[f'{key}_mean']:.3f} ± {row[f'{key}_std']:.3f}"


def as_text(rows) -> str:
    """An aligned plain-text table."""
    header = ["dataset", "model", "folds", *(label for _, label in METRICS), "time"]
    body = [[r["dataset"], r["model"], f"{r['folds']}, {r['scheme']}", *(_cell(r, k) for k, _ in METRICS),
             f"{r['seconds']:.0f} s"] for r in rows]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip() for line in [header, *body])


def as_markdown(rows) -> str:
    """A Markdown table (mean ± standard deviation over the folds)."""
    lines = ["| dataset | model | folds | OA | kappa | macro F1 | time |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['dataset']} | {r['model']} | {r['folds']}, {r['scheme']} | "
              + " | ".join(_cell(r, k) for k, _ in METRICS) + f" | {r['seconds']:.0f} s |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("LABKIT_DATA_URL") or str(MIRROR),
                        help="where the dataset files are (a mirror folder or URL; default: $LABKIT_DATA_URL, else "
                             "%(default)s)")
    parser.add_argument("--models", nargs="+", default=["rf", "svm", "lgbm"], help="models (default: rf svm lgbm)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--folds", type=int, default=5, help="number of folds (default: 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds and the models (default: 0)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the rows as JSON")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table instead of plain text")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    rows = run(args.base_url, args.models, args.folds, args.seed, args.datasets)
    total = time.perf_counter() - start
    print(as_markdown(rows) if args.markdown else as_text(rows))
    print(f"\nmean ± std over {args.folds} folds, seed {args.seed}; {total:.0f} s in all on {os.cpu_count()} cores "
          f"(scikit-learn {sklearn.__version__}, LightGBM {lightgbm.__version__}, Python {platform.python_version()})")
    if args.json is not None:
        from labkit.io import atomic_path

        meta = {"folds": args.folds, "seed": args.seed, "seconds": round(total, 1), "cores": os.cpu_count(),
                "scikit-learn": sklearn.__version__, "lightgbm": lightgbm.__version__}
        with atomic_path(args.json, overwrite=True) as tmp:
            tmp.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
