"""Shared fixtures: the local data mirror, a small seeded cube factory, one torch thread for the deep tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import labkit.datamodel as dm

#: ../shared/data/mirror/github, next to the repository (see labkit.datasets.remote).
MIRROR = Path(__file__).resolve().parents[1].parent / "shared/data/mirror/github"


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch intra-op thread for a module's tests (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``):
    the networks there are small, and two threads spinning on the CI machine's two busy cores run several times
    slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def mirror() -> Path:
    """The local mirror of the public datasets; the test is skipped where it is absent."""
    if not MIRROR.is_dir():
        pytest.skip(f"no local data mirror at {MIRROR} (only on the project's development machines)")
    return MIRROR


@pytest.fixture
def make_cube():
    """Factory of small seeded cubes: ``make_cube(n_time=6, bands=("B04", "B08"), height=5, width=4, seed=0)``.

    Values are uniform in [0, 1) (float32 unless ``dtype`` says otherwise), dates every 5 days from 2021-03-01,
    a 10 m grid in EPSG:32631 whose upper-left corner is (500000, 4000000). ``chunks`` makes it dask-backed.
    """

    def factory(n_time=6, bands=("B04", "B08"), height=5, width=4, *, seed=0, dtype="float32", chunks=None,
                start="2021-03-01", step_days=5):
        rng = np.random.default_rng(seed)
        data = rng.random((n_time, len(bands), height, width)).astype(dtype)
        times = np.datetime64(start, "D") + step_days * np.arange(n_time)
        cube = dm.make_cube(data, times, list(bands), transform=(10.0, 0, 500000.0, 0, -10.0, 4000000.0),
                            crs="EPSG:32631")
        return cube.chunk(chunks) if chunks is not None else cube

    return factory


# In CI (CI=true), hypothesis draws the same examples every run, so that a red build is reproducible; on a
# developer's machine it keeps exploring new examples.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    _hypothesis_settings.load_profile("ci")
