"""Results: leaf area index (LAI) inverted from Sentinel-2 reflectances with a network and a random forest trained on
PROSAIL simulations, as the Sentinel-2 biophysical processor does (Weiss & Baret 2016), then mapped over real data.

1. **Simulations** (:func:`labkit.biophysical.simulate_prosail`): ``--train`` canopies to train on and ``--test``
   other canopies held back (another seed), drawn from the ATBD's distributions (LAI: truncated Gaussian on [0, 15],
   mode 2, std 3; chlorophyll, leaf angles, soil brightness... co-distributed with LAI), PROSAIL reflectances resampled
   to the four bands of the embedded Bolzano cube (B02 B03 B04 B08, Gaussian spectral responses of Sentinel-2A) with
   the ATBD's noise.
2. **Models**, fitted with :func:`labkit.models.fit_model`: ``mlp-regressor`` (a network, as the processor; two
   hidden layers of 64 units, early stopping on a validation tenth) and ``rf-regressor`` (200 trees). Scored on the
   held-back simulations: RMSE, MAE, R², bias (:func:`labkit.accuracy.assess_regression`).
3. **Map** (:func:`labkit.biophysical.invert`): the embedded real Sentinel-2 L2A cube near Bolzano
   (:func:`labkit.datasets.load_bolzano`: 12 dates of June 2022, 200 x 200 px at 10 m), masked with its SCL layer
   (:func:`labkit.masks.mask_from_scl`: clouds, shadows, cirrus, saturated and no-data pixels left out), each date
   inverted; estimates held within the simulated range [0, 15] as the processor does (the share that had to be is
   reported). Plausibility: the LAI range and the share within [0, 8], Spearman's rank correlation with NDVI over
   every valid pixel and date, the mean LAI of SCL's vegetation, not-vegetated and water pixels, and the agreement
   of the two models' maps. There is no field LAI here: these say whether the map is plausible, not how accurate.

Usage: ``python bench/lai_inversion.py [--train 4000] [--test 1000] [--random-state 0] [--json OUT]``; about a
minute on 2 idle cores (the random forest's map is most of it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from labkit.accuracy import assess_regression
from labkit.biophysical import PRIORS, invert, simulate_prosail
from labkit.datasets import load_bolzano
from labkit.masks import mask_from_scl
from labkit.models import fit_model

BANDS = ["B02", "B03", "B04", "B08"]
SCL_CLASSES = {4: "vegetation", 5: "not vegetated", 6: "water"}


def models(random_state: int, trees: int, epochs: int, cores: int) -> dict[str, dict]:
    """The two model configs, by name."""
    return {
        "mlp-regressor": {"model": "mlp-regressor", "params": {
            "network_params": {"hidden": [64, 64]}, "epochs": epochs, "patience": 15, "random_state": random_state}},
        "rf-regressor": {"model": "rf-regressor", "params": {"n_estimators": trees, "n_jobs": cores,
                                                             "random_state": random_state}},
    }


def simulate(n_train: int, n_test: int, random_state: int) -> tuple:
    """Training and held-back simulations (other seeds, so other canopies)."""
    return (simulate_prosail(n_train, bands=BANDS, random_state=random_state),
            simulate_prosail(n_test, bands=BANDS, random_state=random_state + 1))


def held_back_scores(model, test) -> dict:
    """RMSE, MAE, R² and bias on held-back simulations, overall and for LAI up to 4 (most real canopies)."""
    predicted = model.predict(test.X.values)
    truth = test.target.values
    low = truth <= 4
    return {**assess_regression(truth, predicted).to_dict(),
            "rmse_lai_le_4": round(assess_regression(truth[low], predicted[low]).rmse, 4)}


def map_scores(lai_raw: np.ndarray, lai: np.ndarray, ndvi: np.ndarray, scl: np.ndarray) -> dict:
    """Plausibility of an LAI map ``(time, y, x)``: range, share within [0, 8], Spearman r with NDVI, mean per SCL
    class. ``lai_raw`` is the map before clipping to the simulated range."""
    valid = np.isfinite(lai)
    values = lai[valid]
    lai_range = PRIORS["lai"]
    clipped = (lai_raw[valid] < lai_range.low) | (lai_raw[valid] > lai_range.high)
    return {
        "valid_pixel_dates": int(valid.sum()),
        "valid_share": round(float(valid.mean()), 4),
        "clipped_share": round(float(clipped.mean()), 4),
        "raw_min": round(float(lai_raw[valid].min()), 3),
        "raw_max": round(float(lai_raw[valid].max()), 3),
        "min": round(float(values.min()), 3),
        "p01": round(float(np.percentile(values, 1)), 3),
        "median": round(float(np.median(values)), 3),
        "p99": round(float(np.percentile(values, 99)), 3),
        "max": round(float(values.max()), 3),
        "share_in_0_8": round(float(((values >= 0) & (values <= 8)).mean()), 6),
        "n_above_8": int((values > 8).sum()),
        "spearman_ndvi": round(float(spearmanr(values, ndvi[valid]).statistic), 4),
        "mean_by_scl": {name: round(float(lai[valid & (scl == code)].mean()), 3)
                        for code, name in SCL_CLASSES.items() if (valid & (scl == code)).any()},
    }


def run(n_train: int, n_test: int, random_state: int, trees: int, epochs: int, cores: int) -> dict:
    """Simulate, fit, score, map: every figure as a dict."""
    start = time.perf_counter()
    train, test = simulate(n_train, n_test, random_state)
    results = {"simulation_seconds": round(time.perf_counter() - start, 1), "models": {}}
    data = load_bolzano()
    cube, scl = data.cube, data.extra["scl"]
    mask = mask_from_scl(scl.rio.write_crs(cube.rio.crs))
    red, nir = cube.sel(band="B04").values, cube.sel(band="B08").values
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (nir - red) / (nir + red)
    maps = {}
    for name, config in models(random_state, trees, epochs, cores).items():
        start = time.perf_counter()
        model = fit_model(config, train)
        fitted = time.perf_counter() - start
        start = time.perf_counter()
        raw = invert(cube, model, mask=mask).values
        mapped = time.perf_counter() - start
        maps[name] = np.clip(raw, PRIORS["lai"].low, PRIORS["lai"].high)
        results["models"][name] = {
            "held_back": held_back_scores(model, test),
            "bolzano": map_scores(raw, maps[name], ndvi, scl.values),
            "fit_seconds": round(fitted, 1), "map_seconds": round(mapped, 1),
            **({"best_epoch": int(model.best_epoch_)} if hasattr(model, "best_epoch_") else {}),
        }
    both = np.isfinite(maps["mlp-regressor"]) & np.isfinite(maps["rf-regressor"])
    a, b = maps["mlp-regressor"][both], maps["rf-regressor"][both]
    results["maps_agreement"] = {"spearman": round(float(spearmanr(a, b).statistic), 4),
                                 "rmse": round(float(np.sqrt(np.mean((a - b) ** 2))), 3)}
    return results


def as_text(results: dict, n_train: int, n_test: int) -> str:
    """The figures as an aligned table and a few lines."""
    lines = [f"held-back PROSAIL simulations ({n_test}; trained on {n_train}, bands {' '.join(BANDS)}):",
             f"{'model':<14}  {'RMSE':>6}  {'MAE':>6}  {'R²':>6}  {'bias':>7}  {'RMSE LAI≤4':>10}  {'fit':>6}"]
    for name, row in results["models"].items():
        h = row["held_back"]
        lines.append(f"{name:<14}  {h['rmse']:>6.3f}  {h['mae']:>6.3f}  {h['r2']:>6.3f}  {h['bias']:>+7.3f}  "
                     f"{h['rmse_lai_le_4']:>10.3f}  {row['fit_seconds']:>5.1f}s")
    lines.append("")
    lines.append("Bolzano, 12 dates x 200 x 200 px, SCL-masked, estimates held within [0, 15]:")
    lines.append(f"{'model':<14}  {'valid':>7}  {'raw min':>7}  {'clipped':>7}  {'p1':>5}  {'median':>6}  "
                 f"{'p99':>5}  {'max':>5}  {'>8':>4}  {'Spearman(NDVI)':>14}  {'veg':>5}  {'bare':>5}  {'water':>5}")
    for name, row in results["models"].items():
        m, by = row["bolzano"], row["bolzano"]["mean_by_scl"]
        lines.append(f"{name:<14}  {m['valid_pixel_dates']:>7}  {m['raw_min']:>7.2f}  {m['clipped_share']:>7.2%}  "
                     f"{m['p01']:>5.2f}  {m['median']:>6.2f}  {m['p99']:>5.2f}  {m['max']:>5.2f}  "
                     f"{m['n_above_8']:>4}  {m['spearman_ndvi']:>14.3f}  {by.get('vegetation', np.nan):>5.2f}  "
                     f"{by.get('not vegetated', np.nan):>5.2f}  {by.get('water', np.nan):>5.2f}")
    lines.append("(valid: pixel-dates mapped; clipped: share of estimates outside [0, 15] before clipping; >8: "
                 "pixel-dates above LAI 8; veg, bare, water: mean LAI of SCL classes 4, 5, 6)")
    agreement = results["maps_agreement"]
    lines.append(f"the two maps: Spearman {agreement['spearman']:.3f}, RMSE {agreement['rmse']:.2f} (LAI)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=4000, help="simulations to train on (default: 4000)")
    parser.add_argument("--test", type=int, default=1000, help="held-back simulations (default: 1000)")
    parser.add_argument("--random-state", type=int, default=0,
                        help="seed of the simulations and models (default: 0)")
    parser.add_argument("--trees", type=int, default=200, help="trees of the random forest (default: 200)")
    parser.add_argument("--epochs", type=int, default=100, help="most epochs of the network (default: 100)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="cores (default: all)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)  # the network is small: one thread is fastest, and leaves the others to the forest
    start = time.perf_counter()
    results = run(args.train, args.test, args.random_state, args.trees, args.epochs, args.cores)
    total = time.perf_counter() - start
    print(as_text(results, args.train, args.test))
    print(f"\nseed {args.random_state}; {total:.0f} s in all on {args.cores} cores (prosail {version('prosail')}, "
          f"scikit-learn {version('scikit-learn')}, torch {torch.__version__}, Python {platform.python_version()})")
    if args.json is not None:
        from labkit.io import atomic_path

        meta = {"train": args.train, "test": args.test, "random_state": args.random_state, "trees": args.trees,
                "epochs": args.epochs, "bands": BANDS, "cores": args.cores, "seconds": round(total, 1),
                "prosail": version("prosail"), "scikit-learn": version("scikit-learn"), "torch": torch.__version__}
        with atomic_path(args.json, overwrite=True) as tmp:
            tmp.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
