"""Tree inference: what a random forest's ``predict_proba`` costs in each implementation, and what capping the forest
costs in accuracy (a helper of ``bench/predict.py``; ``make bench`` skips files starting with ``_``).

* :func:`tree_inference_rows`: one 100-tree forest of default depth, fitted on a synthetic problem shaped like a
  Sentinel-2 series (37 dates x 10 bands = 370 features, 10 classes), and ``predict_proba`` on ``n_pixels``
  pixels timed on **one core** (in CPU time, which a busy machine hardly changes) for scikit-learn (the baseline),
  hummingbird-ml's tensor trees (torch), labkit's :class:`~labkit.models.fast_trees.TensorForest` (the same tensor
  trees, exact: thresholds rounded down to float32, ties and missing values left to scikit-learn), treelite's
  interpreter (GTIL) and tl2cgen's compiled C; on CUDA too (wall-clock time) when there is a GPU. A method that is
  not installed, or fails, is a row that says so.
* :func:`forest_cost_rows`: on the real sample sets of the results tables (:data:`_common.DATASETS`), forests of
  several sizes and depth caps (as iota2 caps depth), each cross-validated on 3 folds grouped by polygon
  (:func:`labkit.models.make_folds`): overall accuracy, inference throughput on one core, mean depth and leaves.

Usage: ``python bench/_trees.py [--pixels 200000] [--random-state 0] [--mirror URL] [--json OUT]``; about 5 minutes on 2
cores (tl2cgen's compiler has a budget, ``--compile-budget``, 120 s by default).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sklearn

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, also when imported from elsewhere

from _common import DATASETS, MIRROR  # noqa: E402

N_FEATURES = 370  # 37 dates x 10 bands
N_CLASSES = 10
N_TRAIN = 10_000
CORES = os.cpu_count() or 1


class Absent(Exception):
    """A method that cannot be measured here (not installed, no GPU, failed); the message says why."""


# ------------------------------------------------------------------------------------------ timing helpers


@contextlib.contextmanager
def one_torch_thread():
    """torch on one intra-op thread inside the block (when torch is there)."""
    try:
        import torch
    except ImportError:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def timed(predict_proba: Callable, X: np.ndarray, repeat: int = 1,
          clock: Callable[[], float] = time.process_time) -> tuple[np.ndarray, float]:
    """``(probabilities as (n, n_classes), seconds)``: the fastest of ``repeat`` calls, after a warm-up on a few
    pixels. Seconds of CPU time (of every thread of this process) by default, which other processes on a busy
    machine hardly change: ``n / seconds`` is the throughput per core; ``clock=time.perf_counter`` for a GPU."""
    predict_proba(X[:256])
    seconds = []
    for _ in range(repeat):
        start = clock()
        proba = np.asarray(predict_proba(X)).reshape(len(X), -1)
        seconds.append(clock() - start)
    return proba, min(seconds)


def clock_of(device: str) -> Callable[[], float]:
    """CPU time on a CPU, wall-clock time on a GPU (whose work is not CPU time)."""
    return time.process_time if device == "cpu" else time.perf_counter


def same_classes_note(proba: np.ndarray, reference: np.ndarray) -> tuple[bool, str]:
    """Whether the argmax equals the reference's on every pixel; else how many differ, and how many of them are
    ties in the reference (two classes with the same probability)."""
    differ = np.argmax(proba, axis=1) != np.argmax(reference, axis=1)
    if not differ.any():
        return True, ""
    top = np.sort(reference[differ], axis=1)
    ties = int((top[:, -1] - top[:, -2] <= 1e-9).sum())
    return False, f"{int(differ.sum())} of {len(proba)} pixels classified differently, {ties} of them ties"


# ----------------------------------------------------------------------------------------------- methods
# Each takes (forest, X, options) and returns (probabilities, seconds, note), or raises Absent.


def _sklearn(forest, X, options):
    return (*timed(forest.set_params(n_jobs=1).predict_proba, X), "")


def _sklearn_all_cores(forest, X, options):
    proba, seconds = timed(forest.set_params(n_jobs=-1).predict_proba, X)
    forest.set_params(n_jobs=1)
    return proba, seconds, f"n_jobs=-1 on {CORES} cores, per CPU-second of all its threads"


def _cuda_or_absent(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise Absent("no CUDA GPU")


def _hummingbird(forest, X, options, device="cpu"):
    try:
        from hummingbird.ml import constants, convert
    except ImportError as error:
        raise Absent(f"hummingbird-ml not installed ({error})") from None
    _cuda_or_absent(device)
    start = time.perf_counter()
    model = convert(forest, "torch", device=device, extra_config={constants.N_THREADS: None})  # torch's threads kept
    converted = time.perf_counter() - start
    with one_torch_thread():
        return (*timed(model.predict_proba, X, clock=clock_of(device)), f"converted in {converted:.1f} s")


def _tensor_forest(forest, X, options, device="cpu"):
    try:
        import hummingbird.ml  # noqa: F401
    except ImportError as error:
        raise Absent(f"hummingbird-ml not installed ({error})") from None
    from labkit.models.fast_trees import TensorForest

    _cuda_or_absent(device)
    model = TensorForest(forest, device=device)
    with one_torch_thread():
        return (*timed(model.predict_proba, X, clock=clock_of(device)),
                "hummingbird + float32 thresholds rounded down + ties by sklearn")


def _treelite_model(forest):
    try:
        import treelite
        import treelite.sklearn  # noqa: F401
    except ImportError as error:
        raise Absent(f"treelite not installed ({error})") from None
    return treelite.sklearn.import_model(forest)


def _treelite_gtil(forest, X, options):
    model = _treelite_model(forest)
    import treelite.gtil
    return (*timed(lambda rows: treelite.gtil.predict(model, rows, nthread=1), X),
            f"treelite {treelite.__version__}, interpreter")


_COMPILE = """import sys, tl2cgen, treelite
tl2cgen.export_lib(treelite.Model.deserialize(sys.argv[1]), toolchain="gcc", libpath=sys.argv[2],
                   params={"parallel_comp": int(sys.argv[3])}, nthread=int(sys.argv[3]))"""


def compile_in_budget(model, folder: Path, budget_s: float) -> tuple[Path, float]:
    """tl2cgen's shared library of a treelite model, compiled (gcc, every core) in a child process killed with its
    compilers when it takes longer than ``budget_s``; ``(library, seconds)``."""
    source, library = folder / "forest.tl", folder / "forest.so"
    model.serialize(str(source))
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", _COMPILE, str(source), str(library), str(2 * CORES)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = child.communicate(timeout=budget_s)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)  # the child's own process group: it and its gcc processes
        child.communicate()
        raise Absent(f"compilation (gcc, {CORES} cores) took over {budget_s:.0f} s") from None
    if child.returncode != 0:
        raise Absent("compilation failed: " + output.decode(errors="replace").strip().splitlines()[-1])
    return library, time.perf_counter() - start


def _tl2cgen(forest, X, options):
    try:
        import tl2cgen
    except ImportError as error:
        raise Absent(f"tl2cgen not installed ({error})") from None
    model = _treelite_model(forest)
    with tempfile.TemporaryDirectory() as folder:
        library, seconds = compile_in_budget(model, Path(folder), options["compile_budget_s"])
        predictor = tl2cgen.Predictor(str(library), nthread=1)
        proba, elapsed = timed(lambda rows: predictor.predict(tl2cgen.DMatrix(rows)), X)
    return proba, elapsed, f"tl2cgen {tl2cgen.__version__}, compiled in {seconds:.0f} s"


METHODS = (
    ("scikit-learn", "cpu", _sklearn),
    ("scikit-learn", "cpu (all cores)", _sklearn_all_cores),
    ("hummingbird-ml (torch)", "cpu", _hummingbird),
    ("labkit TensorForest", "cpu", _tensor_forest),
    ("treelite GTIL", "cpu", _treelite_gtil),
    ("tl2cgen", "cpu", _tl2cgen),
    ("hummingbird-ml (torch)", "cuda", lambda f, X, o: _hummingbird(f, X, o, device="cuda")),
    ("labkit TensorForest", "cuda", lambda f, X, o: _tensor_forest(f, X, o, device="cuda")),
)
"""(method, device, measure): the rows of :func:`tree_inference_rows`, in order; the first is the baseline."""


# ------------------------------------------------------------------------------------------------ tables


def synthetic_problem(n_train: int, n_pixels: int, random_state: int):
    """``(X_train, y_train, X_pixels)``, float32: 10 classes in 370 features (37 dates x 10 bands), 40 of them
    informative and 60 their combinations, 2 % of labels wrong; a 100-tree forest is about 24 deep and right on
    about 85 % of the pixels, as on a real map."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_train + n_pixels, n_features=N_FEATURES, n_informative=40, n_redundant=60,
                               n_classes=N_CLASSES, n_clusters_per_class=2, flip_y=0.02, class_sep=2.0,
                               random_state=random_state)
    X = X.astype("float32")
    return X[:n_train], y[:n_train], X[n_train:]


def _row(method, device, proba, seconds, reference, reference_rate, note) -> dict:
    rate = len(proba) / seconds / 1000
    same, differ = same_classes_note(proba, reference)
    return {"method": method, "device": device, "kpx_per_s_per_core": round(rate, 2),
            "ratio_vs_sklearn": round(rate / reference_rate, 3), "same_classes": same,
            "note": "; ".join(part for part in (note, differ) if part)}


def tree_inference_rows(n_pixels: int = 200_000, random_state: int = 0, compile_budget_s: float = 120.0) -> list[dict]:
    """One row per method of :data:`METHODS`: ``predict_proba`` of a 100-tree forest (default depth) on
    ``n_pixels`` pixels, on one core.

    Each row: ``method``, ``device``, ``kpx_per_s_per_core`` (thousands of pixels a second; on CUDA, per GPU),
    ``ratio_vs_sklearn``, ``same_classes`` (the argmax equals scikit-learn's on every pixel) and ``note``
    (conversion or compile time, how many pixels differ; for a method that could not run, ``absent: why`` with
    None in the numbers). The forest is fitted on 10,000 pixels of :func:`synthetic_problem` on every core.

    Example
    -------
    >>> rows = tree_inference_rows(n_pixels=2_000, compile_budget_s=1)  # doctest: +SKIP
    >>> rows[0]["method"], rows[0]["ratio_vs_sklearn"]  # doctest: +SKIP
    ('scikit-learn', 1.0)
    """
    from sklearn.ensemble import RandomForestClassifier

    X_train, y_train, X = synthetic_problem(N_TRAIN, n_pixels, random_state)
    forest = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=random_state).fit(X_train, y_train)
    forest.set_params(n_jobs=1)
    shape = (f"forest: 100 trees, mean depth {np.mean([t.get_depth() for t in forest.estimators_]):.1f}, "
             f"{np.mean([t.get_n_leaves() for t in forest.estimators_]):.0f} leaves")
    options = {"compile_budget_s": compile_budget_s}
    rows, reference, reference_rate = [], None, None
    for method, device, measure in METHODS:
        try:
            proba, seconds, note = measure(forest, X, options)
        except Absent as why:
            rows.append(absent_row(method, device, str(why)))
            continue
        except Exception as error:  # noqa: BLE001  (a method that fails is a row, not a crash)
            rows.append(absent_row(method, device, f"failed: {type(error).__name__}: {error}"))
            continue
        if reference is None:
            reference, reference_rate, note = proba, len(proba) / seconds / 1000, f"the baseline; {shape}"
        rows.append(_row(method, device, proba, seconds, reference, reference_rate, note))
        print(f"  {method} ({device}): {rows[-1]['kpx_per_s_per_core']} kpx/s", file=sys.stderr, flush=True)
    return rows


def absent_row(method: str, device: str, why: str) -> dict:
    """The row of a method that could not be measured."""
    return {"method": method, "device": device, "kpx_per_s_per_core": None, "ratio_vs_sklearn": None,
            "same_classes": None, "note": f"absent: {why}"}


FOREST_SETTINGS = ((100, None), (100, 10), (100, 8), (100, 6), (100, 4), (50, None), (50, 8), (200, None),
                   (200, 8))
"""(n_estimators, max_depth) of :func:`forest_cost_rows`; the first is the reference. The trees these sample sets
grow are 8 to 11 deep, so the caps that change anything are at or below that."""


def _forest_folds(features, labels, folds, n_estimators, max_depth, random_state, n_timing):
    """Fit one forest per fold: the OA, mean depth and mean leaves of each fold; and the one-core throughput
    (kpx/s) of the first fold's forest on ``n_timing`` of its test pixels (the test samples repeated), the best of
    3 runs."""
    from sklearn.ensemble import RandomForestClassifier

    oa, depth, leaves, rate = [], [], [], None
    for train, test in folds:
        forest = RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth, n_jobs=-1,
                                        random_state=random_state).fit(features[train], labels[train])
        oa.append(float(np.mean(forest.predict(features[test]) == labels[test])))
        depth.append(np.mean([t.get_depth() for t in forest.estimators_]))
        leaves.append(np.mean([t.get_n_leaves() for t in forest.estimators_]))
        if rate is None:
            pixels = np.resize(features[test], (n_timing, features.shape[1]))
            _, seconds = timed(forest.set_params(n_jobs=1).predict_proba, pixels, repeat=3)
            rate = n_timing / seconds / 1000
    return oa, depth, leaves, rate


def forest_cost_rows(random_state: int = 0, mirror=None, *, folds: int = 3, n_timing: int = 50_000) -> list[dict]:
    """What capping a forest costs in accuracy and gains in speed, on the real sample sets.

    For each dataset of :data:`_common.DATASETS` and each ``(n_estimators, max_depth)`` of :data:`FOREST_SETTINGS`,
    a random forest on labkit's features (:class:`~labkit.models.SeriesFeatures`: the series and its temporal
    statistics, as in labkit's ``rf``) is cross-validated on ``folds`` folds from :func:`labkit.models.make_folds`,
    grouped by polygon where the set has polygons (no polygon on both sides).

    Each row: ``dataset``, ``n_estimators``, ``max_depth`` (None: unlimited), ``oa`` and ``oa_std`` (mean and
    standard deviation over the folds), ``delta_oa`` (against 100 unlimited trees), ``kpx_per_s_per_core`` (one
    core, ``n_timing`` pixels of the first fold's test set, features given), ``speedup`` (against 100 unlimited
    trees), ``mean_depth``, ``mean_leaves``, ``folds``, ``scheme``.

    Example
    -------
    >>> rows = forest_cost_rows(folds=2, n_timing=2_000)  # doctest: +SKIP
    >>> rows[0]["n_estimators"], rows[0]["max_depth"], rows[0]["delta_oa"]  # doctest: +SKIP
    (100, None, 0.0)
    """
    from labkit.datamodel import with_label_codes
    from labkit.models import SeriesFeatures, make_folds

    mirror = mirror or os.environ.get("LABKIT_DATA_MIRROR") or str(MIRROR)
    rows = []
    for dataset, (load, group_by, scheme) in DATASETS.items():
        samples = with_label_codes(load(mirror))
        features = SeriesFeatures().fit_transform(samples["X"].values)
        labels = samples["label"].values
        splits = make_folds(samples, folds, group_by=group_by, random_state=random_state)
        reference = None
        for n_estimators, max_depth in FOREST_SETTINGS:
            oa, depth, leaves, rate = _forest_folds(features, labels, splits, n_estimators, max_depth, random_state,
                                                             n_timing)
            reference = reference or (np.mean(oa), rate)
            rows.append({"dataset": dataset, "n_estimators": n_estimators, "max_depth": max_depth,
                         "oa": round(float(np.mean(oa)), 4), "oa_std": round(float(np.std(oa)), 4),
                         "delta_oa": round(float(np.mean(oa) - reference[0]), 4),
                         "kpx_per_s_per_core": round(rate, 1), "speedup": round(rate / reference[1], 2),
                         "mean_depth": round(float(np.mean(depth)), 1), "mean_leaves": round(float(np.mean(leaves)), 1),
                         "folds": folds, "scheme": scheme})
        print(f"  {dataset}: {len(FOREST_SETTINGS)} forests", file=sys.stderr, flush=True)
    return rows


# ------------------------------------------------------------------------------------------------- print


def as_text(rows: list[dict], columns: list[str]) -> str:
    """An aligned plain-text table of ``columns`` (None printed as '-')."""
    body = [["-" if row[c] is None else str(row[c]) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in [columns, *body]) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in [columns, *body])


INFERENCE_COLUMNS = ["method", "device", "kpx_per_s_per_core", "ratio_vs_sklearn", "same_classes", "note"]
COST_COLUMNS = ["dataset", "n_estimators", "max_depth", "oa", "oa_std", "delta_oa", "kpx_per_s_per_core", "speedup",
                "mean_depth", "mean_leaves"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, default=200_000, help="pixels to predict (default: %(default)s)")
    parser.add_argument("--random-state", type=int, default=0,
                        help="seed of the data, the folds and the forests (default: %(default)s)")
    parser.add_argument("--mirror", default=None, help="where the sample sets are (default: $LABKIT_DATA_MIRROR, "
                                                       f"else {MIRROR})")
    parser.add_argument("--compile-budget", type=float, default=120.0, metavar="SECONDS",
                        help="the longest tl2cgen may compile (default: %(default)s)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write both tables as JSON")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    inference = tree_inference_rows(args.pixels, args.random_state, args.compile_budget)
    print(f"predict_proba of {args.pixels} pixels, one core (per GPU on CUDA), {N_FEATURES} features, "
          f"{N_CLASSES} classes:")
    print(as_text(inference, INFERENCE_COLUMNS))
    cost = forest_cost_rows(args.random_state, args.mirror)
    print("\nforest settings on the real sample sets (3 folds; OA mean and std over folds; speed on one core):")
    print(as_text(cost, COST_COLUMNS))
    total = time.perf_counter() - start
    print(f"\n{total:.0f} s in all on {CORES} cores (scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()})")
    if args.json is not None:
        from labkit.io import write_json

        write_json({"meta": {"pixels": args.pixels, "random_state": args.random_state, "cores": CORES,
                             "seconds": round(total, 1), "scikit-learn": sklearn.__version__},
                    "tree_inference": inference, "forest_cost": cost}, args.json, overwrite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
