"""Results on real data: every deep model beside the random forest, the SVM and LightGBM, on three public sets.

For each dataset and model, :func:`labkit.models.cross_validate` gives overall accuracy, Cohen's kappa and macro F1
as mean ± standard deviation over the folds, and the time of the whole cross-validation on this machine. Every
model is given the same folds (``--random-state``), and is labkit's default (nothing tuned), except the networks'
number of epochs (``--epochs``, with early stopping on a validation tenth of the training polygons) and batch size
64:

* classical: ``rf``, ``svm``, ``lgbm`` (the series plus temporal statistics);
* deep: ``mlp``, ``tempcnn``, ``ltae``, ``gru``, ``transformer``, which read the raw series, its dates (where the set
  has them) and its missing values (:mod:`labkit.models.deep`).

Datasets (see :mod:`labkit.datasets.tables`; the folds keep each polygon whole where the set has polygons):

* **dl4sits-victoria**: Sentinel-2, Victoria (Australia), 800 samples, 73 dates x 10 bands, 8 classes, grouped
  by objectid;
* **insitu-rondonia**: sits in-situ samples, Sentinel-2, Rondonia (Brazil), 481 samples, 36 composites x 11 bands,
  3 classes, stratified by sample (sits gives no polygon ids);
* **tempcnn-formosat**: Formosat-2, south-west France, 520 samples, 149 dates x 3 bands, 13 classes, grouped by
  polygon.

Usage: ``python bench/deep_results.py [--folds 5] [--epochs 50] [--models ...] [--datasets ...]
[--network-params NAME JSON] [--json OUT] [--markdown]``. The whole table takes about two and a half hours on 2 CPU
cores, half of it the GRU at its default size (a GPU is used when present); the README's table ran the GRU with
``--network-params gru '{"hidden_size": 64, "num_layers": 1}'`` as well.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from _common import DATASETS, MIRROR, as_markdown, as_text, cpu_name, cross_validation_rows, write_results

CLASSICAL = ("rf", "svm", "lgbm")
DEEP = ("mlp", "tempcnn", "ltae", "gru", "transformer")


def best_against_forest(rows) -> list[str]:
    """One line per dataset: the best deep model's mean macro F1 and OA against the random forest's."""
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        here = {r["model"]: r for r in rows if r["dataset"] == dataset}
        deep = [here[m] for m in DEEP if m in here]
        if "rf" not in here or not deep:
            continue
        best = max(deep, key=lambda r: r["overall_accuracy_mean"])
        forest = here["rf"]
        verdict = "beats" if best["overall_accuracy_mean"] > forest["overall_accuracy_mean"] else "does not beat"
        lines.append(f"{dataset}: the best deep model, {best['model']} (OA {best['overall_accuracy_mean']:.3f}), "
                     f"{verdict} the random forest (OA {forest['overall_accuracy_mean']:.3f}); macro F1 "
                     f"{best['macro_f1_mean']:.3f} against {forest['macro_f1_mean']:.3f}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", default=os.environ.get("LABKIT_DATA_MIRROR") or str(MIRROR),
                        help="where the dataset files are (a mirror folder or URL; default: $LABKIT_DATA_MIRROR, else "
                             "%(default)s)")
    parser.add_argument("--models", nargs="+", default=[*CLASSICAL, *DEEP])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--folds", type=int, default=5, help="number of folds (default: 5)")
    parser.add_argument("--epochs", type=int, default=50, help="most epochs of a network (default: 50)")
    parser.add_argument("--random-state", type=int, default=0,
                        help="seed of the folds and the models (default: 0)")
    parser.add_argument("--network-params", nargs=2, action="append", default=[], metavar=("MODEL", "JSON"),
                        help="a network's hyperparameters, e.g. gru '{\"hidden_size\": 64, \"num_layers\": 1}' "
                             "(repeatable; default: labkit's)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the rows as JSON")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table instead of plain text")
    args = parser.parse_args(argv)

    params = {name: {"epochs": args.epochs, "batch_size": 64} for name in DEEP}
    for name, text in args.network_params:
        if name not in DEEP:
            parser.error(f"--network-params: {name!r} is not one of the networks {list(DEEP)}")
        params[name]["network_params"] = json.loads(text)
    start = time.perf_counter()
    rows = cross_validation_rows(args.mirror, args.models, args.folds, args.random_state, args.datasets, params)
    total = time.perf_counter() - start
    print(as_markdown(rows) if args.markdown else as_text(rows))
    print()
    print("\n".join(best_against_forest(rows)))
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU only ({cpu_name()})"
    print(f"\nmean ± std over {args.folds} folds, seed {args.random_state}; {total / 60:.0f} min in all on "
          f"{os.cpu_count()} cores, {device}, torch {torch.__version__}, Python {platform.python_version()}")
    if args.json is not None:
        write_results(args.json, rows, {"folds": args.folds, "epochs": args.epochs, "random_state": args.random_state,
                                        "seconds": round(total, 1), "cores": os.cpu_count(), "device": device,
                                        "torch": torch.__version__})
    return 0


if __name__ == "__main__":
    sys.exit(main())
