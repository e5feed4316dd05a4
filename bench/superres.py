"""Benchmark: super-resolution of Sentinel-2's 20 m bands (B05 B06 B07 B8A B11 B12) against bicubic interpolation.

**Protocol** (Wald's): every band of a test scene is degraded by 2 (Gaussian blur of sigma 1/2 px, then 2 x 2
means, as DSen2); the 20 m bands are restored from their 40 m version and the 20 m version of the 10 m bands, and
compared with the real 20 m bands, per band: RMSE (reflectance, over every pixel of every test scene), PSNR (dB,
peak = the range of the scene's true band) and SSIM (Wang et al. 2004, Gaussian 11 x 11 window; same peak), the
PSNR and SSIM averaged over the test scenes.

* **network**: :class:`labkit.models.deep.superres.SuperResolution` with its defaults (16 features, 4 residual
  blocks, 600 steps of 16 patches of 32 x 32 px, L1 loss, Adam, each image standardised by its own statistics),
  trained by Wald's protocol on one dataset and tested on the other, whose scenes it never saw:

  - **dsen2 -> bigearthnet**: trained on the two DSen2 crops (``dsen2-crops``: Sentinel-2 L1C, 600 x 600 px at
    10 m, Germany and Western Australia), tested on the 14 distinct BigEarthNet patches (``bigearthnet-s2``: L2A,
    120 x 120 px at 10 m, five European countries);
  - **bigearthnet -> dsen2** (``--reverse``, on by default): trained on the BigEarthNet patches, tested on the two
    DSen2 crops;
* **baseline**, in the same process on the same degraded inputs: bicubic interpolation (Keys' kernel, ``a = -0.5``,
  :func:`labkit.models.deep.superres.upsample`);
* **ablation** (``--ablation``): the same network standardised by the training set's statistics
  (``standardise="training"``), which does not transfer from L1C to L2A.

Target (issue 8, item 8): the network better than bicubic on every band (RMSE ratio < 1).

Data come through :func:`labkit.datasets.superres_data.load_dsen2` and ``load_bigearthnet`` from ``--mirror``
(default ``$LABKIT_DATA_MIRROR``, else the project's mirror ``../shared/data/mirror/github``), checked against pinned
checksums. Usage: ``python bench/superres.py [--steps 600] [--random-state 0] [--threads 2] [--no-reverse] [--ablation]
[--json OUT]``; about two minutes on 2 idle cores (training takes most of it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pooch
import torch

from _common import cpu_name
from labkit.datasets.superres_data import DSEN2_SCENES, load_bigearthnet, load_dsen2
from labkit.models.deep.superres import SuperResolution
from labkit.outputs import atomic_path
from labkit.superres import evaluate_wald

MIRROR = Path(__file__).resolve().parents[1].parent / "shared/data/mirror/github"
METRICS = ("rmse", "psnr", "ssim")


def train_and_test(name: str, train, test, **params) -> dict:
    """Fit a network on ``train``, score it and bicubic interpolation on ``test``: one result per band."""
    cpu = time.process_time()
    model = SuperResolution(**params).fit(train)
    fit_cpu = time.process_time() - cpu
    start = time.perf_counter()
    network = evaluate_wald(test, model)
    predict_seconds = time.perf_counter() - start
    bicubic = evaluate_wald(test, None)
    bands = {}
    for band in network.index:
        row = {f"network_{m}": float(network.loc[band, m]) for m in METRICS}
        row.update({f"bicubic_{m}": float(bicubic.loc[band, m]) for m in METRICS})
        row["rmse_ratio"] = row["network_rmse"] / row["bicubic_rmse"]
        row["better"] = bool(row["rmse_ratio"] < 1 and row["network_psnr"] > row["bicubic_psnr"]
                             and row["network_ssim"] > row["bicubic_ssim"])
        bands[band] = row
    return {"name": name, "params": {k: v for k, v in model.get_params().items() if not isinstance(v, tuple)},
            "n_train_scenes": len(train), "n_test_scenes": len(test), "n_test_pixels": int(network["n_pixels"].iloc[0]),
            "fit_seconds": round(model.fit_seconds_, 1), "fit_cpu_seconds": round(fit_cpu, 1),
            "predict_seconds": round(predict_seconds, 2), "final_loss": float(np.mean(model.loss_curve_[-50:])),
            "bands": bands, "better_on_every_band": all(r["better"] for r in bands.values())}


def as_text(result: dict) -> str:
    lines = [f"{result['name']}: trained on {result['n_train_scenes']} scenes in {result['fit_seconds']} s "
             f"({result['fit_cpu_seconds']} CPU-s), tested on {result['n_test_scenes']} unseen scenes "
             f"({result['n_test_pixels']} px per band at 20 m)",
             f"{'band':<5} {'RMSE net':>9} {'RMSE bic':>9} {'ratio':>6}  {'PSNR net':>8} {'PSNR bic':>8}  "
             f"{'SSIM net':>8} {'SSIM bic':>8}  better"]
    for band, r in result["bands"].items():
        lines.append(f"{band:<5} {r['network_rmse']:9.5f} {r['bicubic_rmse']:9.5f} {r['rmse_ratio']:6.3f}  "
                     f"{r['network_psnr']:8.2f} {r['bicubic_psnr']:8.2f}  {r['network_ssim']:8.4f} "
                     f"{r['bicubic_ssim']:8.4f}  {'yes' if r['better'] else 'NO'}")
    lines.append(f"better than bicubic on every band (RMSE, PSNR and SSIM): "
                 f"{'yes' if result['better_on_every_band'] else 'NO'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", default=os.environ.get("LABKIT_DATA_MIRROR") or str(MIRROR),
                        help="where the dataset files are (a mirror folder or URL; default: $LABKIT_DATA_MIRROR, else "
                             "%(default)s)")
    parser.add_argument("--steps", type=int, default=600, help="training steps (default: 600)")
    parser.add_argument("--random-state", type=int, default=0,
                        help="seed of the weights and the patches (default: 0)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    parser.add_argument("--no-reverse", dest="reverse", action="store_false",
                        help="skip training on BigEarthNet and testing on DSen2")
    parser.add_argument("--ablation", action="store_true",
                        help="also train with the training set's statistics (standardise='training')")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.json is not None:  # refused before any work, as every labkit writer
        from labkit.outputs import check_destination

        check_destination(args.json, overwrite=True)
    pooch.get_logger().setLevel(logging.WARNING)  # no line per file fetched
    torch.set_num_threads(args.threads)

    start = time.perf_counter()
    dsen2 = [load_dsen2(name, args.mirror) for name in DSEN2_SCENES]
    bigearthnet = load_bigearthnet(args.mirror)
    params = {"steps": args.steps, "random_state": args.random_state}
    runs = [("dsen2 -> bigearthnet", dsen2, bigearthnet, {})]
    if args.ablation:
        runs.append(("dsen2 -> bigearthnet, training statistics", dsen2, bigearthnet, {"standardise": "training"}))
    if args.reverse:
        runs.append(("bigearthnet -> dsen2", bigearthnet, dsen2, {}))
    results = []
    for name, train, test, extra in runs:
        results.append(train_and_test(name, train, test, **params, **extra))
        print(as_text(results[-1]) + "\n", flush=True)
    total = time.perf_counter() - start
    print(f"{total:.0f} s in all; torch {torch.__version__}, {args.threads} threads, {cpu_name()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    if args.json is not None:
        meta = {"seconds": round(total, 1), "threads": args.threads, "torch": torch.__version__,
                "machine": f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
        with atomic_path(args.json, overwrite=True) as tmp:
            tmp.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
