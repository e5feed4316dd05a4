"""Small real outputs to damage: a cube, its files (GeoTIFFs per date, a COG, a Zarr store) and a sample set.

The bad-input suite (this folder) is organised by the classes of faults of issue 7: data loss
(``test_data_loss.py``), half-written outputs (``test_half_written.py``, ``test_interrupts.py``), tracebacks instead
of errors (``test_tracebacks.py``, ``test_parameters.py``), silent wrong results (``test_silent_results.py``,
``test_silent_results_models.py``) and messages that miss their source (``test_messages.py``,
``test_messages_stages.py``); ``test_cli_no_traceback.py`` runs every command on bad inputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import labkit.datamodel as dm
from labkit.io import write_cog, write_dates, write_samples, write_zarr

LABKIT = str(Path(sys.executable).with_name("labkit"))


@pytest.fixture
def cube() -> xr.DataArray:
    """6 dates x 2 bands x 64 x 64 px, values in [0, 1)."""
    data = np.random.default_rng(0).random((6, 2, 64, 64)).astype("float32")
    times = np.datetime64("2021-03-01", "D") + 10 * np.arange(6)
    return dm.make_cube(data, times, ["B04", "B08"], transform=(10.0, 0, 500000.0, 0, -10.0, 4000000.0),
                        crs="EPSG:32631")


@pytest.fixture
def mask(cube) -> xr.DataArray:
    codes = np.random.default_rng(1).integers(0, 3, (6, 64, 64)).astype("uint8")
    return dm.make_mask(codes, like=cube)


@pytest.fixture
def store(cube, mask, tmp_path) -> Path:
    """A labkit Zarr store of ``cube`` and ``mask``, in 32-pixel chunks (4 chunks per variable)."""
    return write_zarr(cube.chunk({"y": 32, "x": 32}), tmp_path / "cube.zarr", mask=mask.chunk({"y": 32, "x": 32}))


@pytest.fixture
def date_files(cube, tmp_path) -> list[Path]:
    return write_dates(cube, tmp_path / "dates", prefix="S2_")


@pytest.fixture
def cog(cube, tmp_path) -> Path:
    return write_cog(cube.isel(time=0, band=0, drop=True), tmp_path / "map.tif", cog_tile=128)


@pytest.fixture
def samples() -> xr.Dataset:
    rng = np.random.default_rng(2)
    labels = np.repeat([1, 2, 3], 8)
    return dm.make_samples(rng.random((24, 4, 2)) + labels[:, None, None], labels, np.arange(24) // 2,
                           times=["2021-03-01", "2021-04-01", "2021-05-01", "2021-06-01"], bands=["B04", "B08"])


@pytest.fixture
def samples_file(samples, tmp_path) -> Path:
    return write_samples(samples, tmp_path / "samples.nc")
