"""Results on real data: random forest, SVM and LightGBM cross-validated on two public sample sets.

For each dataset and model, :func:`labkit.models.cross_validate` (with :func:`labkit.accuracy.assess_accuracy` on
each fold) gives overall accuracy, Cohen's kappa and macro F1 as mean ± standard deviation over the folds. The models
are labkit's defaults (``make_model(name)``: the series plus temporal statistics, then 200 trees, an RBF SVM
with cross-validated Platt probabilities, or 200 rounds of LightGBM), seeded with ``--random-state``; nothing is
tuned.

* **dl4sits-victoria** (Sentinel-2, Victoria, Australia; 73 dates x 10 bands, 8 classes): the published train and
  test files merged (800 samples, :func:`labkit.datasets.tables.load_victoria` with ``split="all"``) and **grouped
  by objectid** (the polygon a pixel came from): 38 objectids occur in both published files, so their split leaks.
  Stratified group k-fold; two classes (bare ground, water) have only 5 polygons, hence at most 5 folds.
* **insitu-rondonia** (sits in-situ samples, Sentinel-2, Rondonia, Brazil; 36 ten-day composites x 11 bands and
  indices, 3 classes): stratified k-fold, each sample its own group (sits gives no polygon ids).

Data come through the loaders of :mod:`labkit.datasets.tables`, from ``--mirror`` (default ``$LABKIT_DATA_MIRROR``,
else the project's mirror ``../shared/data/mirror/github``), checked against pinned checksums.

Usage: ``python bench/classical_results.py [--folds 5] [--random-state 0] [--models rf svm lgbm] [--json OUT]
[--markdown]``; about two minutes on 2 idle cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import lightgbm
import sklearn

from _common import DATASETS, MIRROR, as_markdown, as_text, cross_validation_rows, write_results

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", default=os.environ.get("LABKIT_DATA_MIRROR") or str(MIRROR),
                        help="where the dataset files are (a mirror folder or URL; default: $LABKIT_DATA_MIRROR, else "
                             "%(default)s)")
    parser.add_argument("--models", nargs="+", default=["rf", "svm", "lgbm"], help="models (default: rf svm lgbm)")
    parser.add_argument("--datasets", nargs="+", default=["dl4sits-victoria", "insitu-rondonia"],
                        choices=list(DATASETS))
    parser.add_argument("--folds", type=int, default=5, help="number of folds (default: 5)")
    parser.add_argument("--random-state", type=int, default=0,
                        help="seed of the folds and the models (default: 0)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the rows as JSON")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table instead of plain text")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    rows = cross_validation_rows(args.mirror, args.models, args.folds, args.random_state, args.datasets)
    total = time.perf_counter() - start
    print(as_markdown(rows) if args.markdown else as_text(rows))
    print(f"\nmean ± std over {args.folds} folds, seed {args.random_state}; {total:.0f} s in all on "
          f"{os.cpu_count()} cores (scikit-learn {sklearn.__version__}, LightGBM {lightgbm.__version__}, "
          f"Python {platform.python_version()})")
    if args.json is not None:
        write_results(args.json, rows, {"folds": args.folds, "random_state": args.random_state,
                                        "seconds": round(total, 1), "cores": os.cpu_count(),
                                        "scikit-learn": sklearn.__version__, "lightgbm": lightgbm.__version__})
    return 0


if __name__ == "__main__":
    sys.exit(main())
