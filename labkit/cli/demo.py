"""``labkit demo``: the whole chain on the embedded real data."""

from __future__ import annotations

from ._options import fraction, positive_int, seed

HELP = "Run the whole chain on the embedded Sentinel-2 patch and write a validated land-cover map and a report."


def configure(parser) -> None:
    parser.add_argument("--out", default="outputs/demo", help="output folder (default: %(default)s)")
    parser.add_argument("--step", type=positive_int, default=10,
                        help="days between gap-filled dates (default: %(default)s)")
    parser.add_argument("--train-size", type=fraction(closed="neither"), default=0.7,
                        help="share of each class's polygons used for training (default: %(default)s)")
    parser.add_argument("--trees", type=positive_int, default=200, help="random forest size (default: %(default)s)")
    parser.add_argument("--random-state", type=seed, default=0, metavar="N",
                        help="seed of the split and the forest: their random_state (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace files of the demo's names in --out even if they are yours or were changed "
                             "(an earlier demo's unchanged files are replaced anyway)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def run(args) -> int:
    from ..demo import run_demo

    summary = run_demo(args.out, step=args.step, train_size=args.train_size, n_estimators=args.trees,
                       random_state=args.random_state, overwrite=args.overwrite, progress=not args.no_progress)
    seconds = sum(summary["timings_s"].values())
    print(
        f"labkit demo: overall accuracy {summary['overall_accuracy']:.3f}, kappa {summary['kappa']:.3f}, "
        f"macro F1 {summary['macro_f1']:.3f} on {summary['n_validation_pixels']} validation pixels from "
        f"{summary['n_validation_polygons']} unseen polygons ({seconds:.1f} s)."
    )
    print(f"Outputs in {summary['out']}/: " + ", ".join(p.rsplit("/", 1)[-1] for p in summary["outputs"])
          + " (open report.md to read the results).")
    return 0
