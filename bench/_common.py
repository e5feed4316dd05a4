"""Helpers shared by the benchmarks (not a benchmark itself: `make bench` skips files starting with `_`)."""

from __future__ import annotations

import platform


class Drop:
    """A dask ``store`` target that drops each block once computed: times a computation without keeping it."""

    def __setitem__(self, key, value):
        pass


def cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo``), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
