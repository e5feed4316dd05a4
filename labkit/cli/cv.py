"""``labkit cv SAMPLES.nc --model NAME``: k-fold cross-validation of a model on a sample set.

Reads a sample set (:func:`labkit.io.read_samples`; labels integer codes or class names), runs
:func:`labkit.models.cross_validate` and prints overall accuracy, kappa and macro F1 as mean ± standard deviation over
the folds, then a table of each class's support, precision, recall and F1, by name, from the confusion matrix summed
over the folds (all the out-of-fold predictions together: a class missing from a fold's test side still counts
once). A regression model (``rf-regressor``, ``lgbm-regressor``, ``mlp-regressor``...) is fitted on the set's numeric
``target`` instead, on folds that are not stratified (plain k-fold, or group k-fold with ``--group-by``), and prints
RMSE, MAE and R² as mean ± standard deviation over the folds, with no per-class table. A progress bar over the folds
goes to stderr (``--no-progress`` hides it), so that stdout holds the results only. With ``--group-by group`` no
polygon gives samples to both the training and the test side of a fold (stratified group k-fold); without it, folds
are plain stratified k-fold over samples, which overrates a model on pixels of polygons it has seen. ``--json OUT``
also writes the scores of each fold, the summed confusion matrix and per-class scores, classes by name (for a
regression: the pooled RMSE, MAE, R² and bias), written atomically.

Example
-------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="labkit cv")
>>> configure(parser)
>>> args = parser.parse_args(["samples.nc", "--model", "rf", "--group-by", "group", "--params", '{"n_estimators": 50}'])
>>> args.model, args.folds, args.group_by, args.random_state
('rf', 5, 'group', 0)

Output::

    rf on samples.nc: 120 samples, 3 classes, 5 folds grouped by 'group' (stratified group k-fold, seed 0)
    overall accuracy  0.950 ± 0.031
    kappa             0.925 ± 0.047
    macro F1          0.948 ± 0.033
    per class (summed confusion matrix of the 5 folds):
    class   support  precision  recall     F1
    crop         40      0.927   0.950  0.938
    forest       40      0.949   0.925  0.937
    water        40      0.975   0.975  0.975

and for a regression (``--model rf-regressor`` on ``simulate_prosail(400, bands=["B02", "B03", "B04", "B08"],
random_state=0)``, the line cut short here)::

    rf-regressor on lai.nc: 400 samples, target 0.00211..10.6 (mean 3.53), 5 folds of samples (k-fold, ...
    RMSE  1.495 ± 0.131
    MAE   1.091 ± 0.087
    R²    0.562 ± 0.077
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._options import int_in, model_params, seed, takes_param

HELP = ("Cross-validate a model on a sample set (folds grouped by polygon on request): OA, kappa, macro F1; RMSE, "
        "MAE, R² for a regression.")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``labkit cv`` to ``parser``."""
    parser.add_argument("samples", type=Path, metavar="SAMPLES.nc", help="a sample set (labkit.io.write_samples)")
    parser.add_argument("--model", required=True, metavar="NAME",
                        help="a registered model (rf, svm, lgbm...; rf-regressor, mlp-regressor... for a numeric "
                             "target) or the dotted import path of a scikit-learn estimator, e.g. "
                             "sklearn.ensemble.ExtraTreesClassifier")
    parser.add_argument("--params", default=None, metavar="JSON",
                        help="hyperparameters of the model as a JSON object, e.g. '{\"n_estimators\": 100}'")
    parser.add_argument("--folds", type=int_in(2), default=5, metavar="K",
                        help="number of folds, at least 2 (default: 5)")
    parser.add_argument("--group-by", default=None, metavar="VAR",
                        help="variable along 'sample' whose values never straddle training and test, e.g. 'group' "
                             "(polygons); default: plain stratified k-fold over samples")
    parser.add_argument("--per-region", action="store_true",
                        help="fit one model per value of the sample set's 'region' variable")
    parser.add_argument("--random-state", type=seed, default=0, metavar="N",
                        help="seed of the folds and the model: their random_state (default: 0)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT",
                        help="also write the scores per fold, the summed confusion matrix and per-class scores (for a "
                             "regression: the pooled RMSE, MAE, R² and bias)")
    parser.add_argument("--overwrite", action="store_true", help="replace the --json file if it exists")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="hide the progress bar over the folds (shown on stderr)")


def run(args: argparse.Namespace) -> int:
    """Cross-validate, print the scores, write the JSON report if asked. Returns 0.

    Raises
    ------
    labkit.errors.LabkitError
        Missing file, not a sample set, unknown model or group variable, too many folds for a class, existing
        ``--json`` file without ``--overwrite`` (printed as one line by ``labkit``, exit code 2).
    """
    from ..io import read_samples, write_json
    from ..models import cross_validate, parse_model_config
    from ..outputs import check_destination

    params = model_params(args.params)
    if args.progress and takes_param(args.model, "progress"):
        params.setdefault("progress", True)  # a network's bar over its epochs, under the bar over the folds
    config = parse_model_config({"model": args.model, "params": params, "per_region": args.per_region})
    if args.json is not None:  # before the cross-validation: an output that cannot be written fails now
        check_destination(args.json, kind="file", overwrite=args.overwrite)
    samples = read_samples(args.samples)
    result = cross_validate(samples, config, folds=args.folds, group_by=args.group_by, random_state=args.random_state,
                            progress=args.progress)
    regression = result.task == "regression"
    print(f"{result.model} on {args.samples.name}: {samples.sizes['sample']} samples, {_what(samples, regression)}, "
          f"{args.folds} folds {_how(args.group_by, regression)}, seed {args.random_state})")
    print(result.summary())
    if not regression:
        print(result.per_class_summary())
    if args.json is not None:
        report = {"samples": str(args.samples), "params": config.params, **result.to_dict()}
        write_json(report, args.json, overwrite=args.overwrite)
        what = "pooled RMSE, MAE, R² and bias" if regression else "summed confusion matrix and per-class scores"
        print(f"Scores per fold, {what} in {args.json}")
    return 0


def _what(samples, regression: bool) -> str:
    """``"3 classes"``, or for a regression ``"target 0.1..7.9 (mean 2.5)"``."""
    if not regression:
        return f"{samples.label.to_series().nunique()} classes"
    target = samples["target"].values
    return f"target {target.min():.3g}..{target.max():.3g} (mean {target.mean():.3g})"


def _how(group_by: str | None, regression: bool) -> str:
    """How the folds were made, for the first line."""
    kind = "" if regression else "stratified "
    if group_by:
        return f"grouped by {group_by!r} ({kind}group k-fold"
    return f"of samples ({kind}k-fold, not grouped by polygon"
