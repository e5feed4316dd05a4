"""Training speed of TempCNN and L-TAE on the GPU next to the CPU, in the same run: samples per second.

Trains each network for ``--epochs`` epochs on a synthetic sample set (``--samples`` series of 36 dates x 10 bands,
a fifth of the observations missing, 8 classes whose series differ by the timing of a peak), through labkit's
:class:`~labkit.models.DeepClassifier` (the same training loop as every fit: batches, masks, AdamW, mixed precision on
CUDA), without a validation set. Prints, per network and device, the training samples per second (epochs x samples /
seconds, after a first warm-up epoch) and the GPU's speed-up over the CPU, the baseline run in the same process. On
a machine without CUDA the GPU rows say "absent". Takes under 5 minutes on 2 CPU cores with the defaults.

Usage: ``python bench/train_gpu.py [--samples 4000] [--epochs 3] [--batch-size 256] [--json OUT]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from _common import cpu_name

from labkit.models import DeepClassifier

NETWORKS = ("tempcnn", "ltae")


def synthetic_series(n: int, n_time: int = 36, n_band: int = 10, n_class: int = 8, seed: int = 0):
    """Series whose classes differ by the day of a peak, with a fifth of the observations missing."""
    rng = np.random.default_rng(seed)
    days = np.linspace(0, 360, n_time, dtype=np.float32)
    y = rng.integers(0, n_class, n)
    centre = 30 + 300 * y / max(1, n_class - 1)
    X = np.exp(-0.5 * ((days[None] - centre[:, None]) / 35) ** 2)[:, :, None] * np.linspace(0.5, 1, n_band)
    X = (X + rng.normal(0, 0.05, X.shape)).astype(np.float32)
    X[rng.random((n, n_time)) < 0.2] = np.nan
    return X, y, days


def samples_per_second(network: str, device: str, X, y, days, epochs: int, batch_size: int) -> float:
    """Training samples per second over ``epochs`` epochs, after one warm-up epoch (not counted)."""
    params = dict(batch_size=batch_size, validation_fraction=0.0, patience=None, device=device, random_state=0)
    DeepClassifier(network, epochs=1, **params).fit(X, y, doy=days)  # warm-up: allocations, kernels, caches
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    DeepClassifier(network, epochs=epochs, **params).fit(X, y, doy=days)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return epochs * len(X) / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", type=Path, default=None, metavar="OUT")
    args = parser.parse_args(argv)

    X, y, days = synthetic_series(args.samples)
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    rows = []
    for network in NETWORKS:
        cpu = samples_per_second(network, "cpu", X, y, days, args.epochs, args.batch_size)
        cuda = samples_per_second(network, "cuda", X, y, days, args.epochs, args.batch_size) if gpu else None
        rows.append({"network": network, "cpu_samples_per_s": round(cpu, 1),
                     "gpu_samples_per_s": None if cuda is None else round(cuda, 1),
                     "speedup": None if cuda is None else round(cuda / cpu, 1)})
    print(f"Training speed, {args.samples} series x 36 dates x 10 bands, batch {args.batch_size}, {args.epochs} "
          f"epochs after a warm-up one; baseline: the CPU ({cpu_name()}, {os.cpu_count()} cores, "
          f"{torch.get_num_threads()} torch threads)")
    print(f"{'network':<10} {'CPU samples/s':>14} {'GPU samples/s':>14} {'GPU / CPU':>10}")
    for row in rows:
        gpu_cell = "absent" if row["gpu_samples_per_s"] is None else f"{row['gpu_samples_per_s']:.0f}"
        ratio = "absent" if row["speedup"] is None else f"{row['speedup']:.1f} x"
        print(f"{row['network']:<10} {row['cpu_samples_per_s']:>14.0f} {gpu_cell:>14} {ratio:>10}")
    print(f"GPU: {gpu or 'absent (no CUDA device)'}; torch {torch.__version__}, mixed precision on CUDA")
    if args.json is not None:
        from labkit.io import write_json

        write_json({"meta": {"samples": args.samples, "epochs": args.epochs, "batch_size": args.batch_size,
                             "cpu": cpu_name(), "gpu": gpu, "torch": torch.__version__}, "results": rows},
                   args.json, overwrite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
