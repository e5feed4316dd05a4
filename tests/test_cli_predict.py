"""labkit train and labkit predict: a model fitted from a sample file maps a Zarr cube into COGs, checked first."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

from labkit.cli import main
from labkit.datamodel import NO_CLASS
from labkit.gapfill import fill_gaps
from labkit.io import write_samples, write_zarr
from labkit.samples import extract_samples


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A raw cube with its mask in a Zarr store, and samples of it gap-filled every 16 days."""
    from labkit.datasets import load_slovenia

    folder = tmp_path_factory.mktemp("cli")
    data = load_slovenia()
    cube, mask = data.cube.isel(y=slice(0, 48), x=slice(0, 64)), data.mask.isel(y=slice(0, 48), x=slice(0, 64))
    filled, _ = fill_gaps(cube, mask, step=16)
    samples = extract_samples(filled, data.polygons[data.polygons["class_id"] > 0], on_outside="drop")
    write_samples(samples, folder / "samples.nc")
    write_zarr(cube.chunk({"y": 16, "x": 32}), folder / "cube.zarr", mask=mask.chunk({"y": 16, "x": 32}))
    write_zarr(cube.assign_coords(band=["NDWI"]), folder / "other.zarr", mask=mask)
    return folder


def test_train_then_predict_writes_the_map_products(files, capsys):
    model = files / "rf.zip"
    assert main(["train", str(files / "samples.nc"), "--model", "rf", "--params",
                 '{"n_estimators": 10, "n_jobs": 1}', "--out", str(model)]) == 0
    out = capsys.readouterr().out
    assert "rf fitted on samples.nc" in out and "bands ['NDVI']" in out and f"saved to {model}" in out
    assert main(["predict", str(model), str(files / "cube.zarr"), "--out", str(files / "map"), "--memory", "64MB",
                 "--probabilities", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "48 x 64 px, 68 dates x 1 bands" in out and "kpx/s" in out
    names = ["class_map", "confidence", "uncertainty", "valid_count", "probabilities"]
    for name in names:
        assert str(files / "map" / f"{name}.tif") in out
    with rasterio.open(files / "map" / "class_map.tif") as src:
        classes = src.read(1)
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and json.loads(src.tags()["CLASS_NAMES"])
    assert (classes != NO_CLASS).all()  # gap-filled on the fly from the store's mask: every pixel classified
    with rasterio.open(files / "map" / "valid_count.tif") as src:
        assert src.read(1).max() <= 68 and src.read(1).min() >= 0
    # again: the products exist, nothing is computed
    assert main(["predict", str(model), str(files / "cube.zarr"), "--out", str(files / "map")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_predict_checks_the_cube_before_any_output(files, capsys):
    model = files / "rf2.zip"
    assert main(["train", str(files / "samples.nc"), "--model", "rf", "--params", '{"n_estimators": 5}',
                 "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["predict", str(model), str(files / "other.zarr"), "--out", str(files / "nomap")]) == 2
    err = capsys.readouterr().err
    assert "no band(s) ['NDVI']" in err and not (files / "nomap").exists()
    assert main(["predict", str(model), str(files / "cube.zarr"), "--out", str(files / "nomap"),
                 "--memory", "lots"]) == 2
    assert "expected a size such as 2GB" in capsys.readouterr().err


def test_train_refuses_an_unknown_model_before_reading(files, capsys):
    assert main(["train", str(files / "samples.nc"), "--model", "rff", "--out", str(files / "x.zip")]) == 2
    assert "rff" in capsys.readouterr().err and not (files / "x.zip").exists()


def test_predict_reads_one_raster_per_date_by_a_pattern(files, capsys):
    from labkit.inference import predict_map
    from labkit.io import read_dates, write_dates
    from labkit.models import load_model

    model = files / "rf3.zip"
    assert main(["train", str(files / "samples.nc"), "--model", "rf", "--params", '{"n_estimators": 5, "n_jobs": 1}',
                 "--out", str(model)]) == 0
    from labkit.datasets import load_slovenia

    data = load_slovenia()
    filled, _ = fill_gaps(data.cube.isel(y=slice(0, 48), x=slice(0, 64)), data.mask.isel(y=slice(0, 48),
                                                                                            x=slice(0, 64)), step=16)
    write_dates(filled, files / "dates", prefix="ndvi_")
    pattern = str(files / "dates" / "ndvi_*.tif")
    assert main(["predict", str(model), pattern, "--out", str(files / "map3"), "--no-progress"]) == 0
    expected = predict_map(read_dates(pattern), load_model(model))["class_map"].values
    with rasterio.open(files / "map3" / "class_map.tif") as src:
        assert np.array_equal(src.read(1), expected)
