"""``labkit train SAMPLES.nc --model NAME --out MODEL.zip``: fit a model on a sample set and save it.

Reads a sample set (:func:`labkit.io.read_samples`), builds the model from the one registry
(:func:`labkit.models.make_model`: ``rf``, ``lgbm``, ``tempcnn``... or a dotted scikit-learn path, with ``--params``),
fits it with :func:`labkit.models.fit_model` (which records the bands and dates it reads) and saves it with
:func:`labkit.models.save_model`, atomically: ``labkit predict`` then checks a cube against that signature.

Example
-------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="labkit train")
>>> configure(parser)
>>> args = parser.parse_args(["samples.nc", "--model", "rf", "--out", "rf.zip", "--params", '{"n_estimators": 50}'])
>>> args.model, str(args.out), args.random_state
('rf', 'rf.zip', 0)

Output::

    rf fitted on samples.nc: 1200 samples, 4 classes, 12 dates x bands ['NDVI'] in 3.1 s
    saved to rf.zip
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ._options import model_params, seed, takes_param

HELP = "Fit a model on a sample set and save it (with the bands and dates it reads) for labkit predict."


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``labkit train`` to ``parser``."""
    parser.add_argument("samples", type=Path, metavar="SAMPLES.nc", help="a sample set (labkit.io.write_samples)")
    parser.add_argument("--model", required=True, metavar="NAME",
                        help="a registered model (see 'labkit models') or the dotted import path of a scikit-learn "
                             "estimator")
    parser.add_argument("--params", default=None, metavar="JSON",
                        help="hyperparameters of the model as a JSON object, e.g. '{\"n_estimators\": 100}'")
    parser.add_argument("--out", type=Path, required=True, metavar="MODEL", help="the model file to write (.zip)")
    parser.add_argument("--random-state", type=seed, default=0, metavar="N",
                        help="seed of the model: its random_state (default: 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace MODEL if it exists")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="hide a network's progress bar over epochs")


def run(args: argparse.Namespace) -> int:
    """Fit, save, print a summary. Returns 0.

    Raises
    ------
    labkit.errors.LabkitError
        Missing or bad sample set, unknown model or hyperparameter, existing MODEL without ``--overwrite``.
    """
    from ..io import read_samples
    from ..models import fit_model, make_model, save_model
    from ..outputs import check_destination

    params = model_params(args.params)
    if takes_param(args.model, "random_state"):
        params.setdefault("random_state", args.random_state)
    if takes_param(args.model, "progress"):
        params.setdefault("progress", args.progress)
    model = make_model({"model": args.model, "params": params})
    check_destination(args.out, kind="file", overwrite=args.overwrite)  # before fitting: fail fast
    samples = read_samples(args.samples)
    start = time.perf_counter()
    fitted = fit_model(model, samples)
    took = time.perf_counter() - start
    save_model(fitted, args.out, overwrite=args.overwrite)
    signature = getattr(fitted, "input_signature_", None)
    classes = getattr(fitted, "classes_", None)
    what = f"{len(classes)} classes" if classes is not None else "a numeric target"
    reads = f", {signature.describe()}" if signature is not None else ""
    print(f"{args.model} fitted on {args.samples.name}: {samples.sizes['sample']} samples, {what}{reads} in "
          f"{took:.1f} s")
    print(f"saved to {args.out}")
    return 0
