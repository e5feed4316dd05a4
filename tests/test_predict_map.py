"""Map products: predict_map on the block engine and write_map's COGs, on the real Slovenian patch and on scenes."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import dask.array as da
import numpy as np
import pytest
import rasterio
import xarray as xr

import labkit.datamodel as dm
from labkit import io as lio
from labkit.datamodel import NO_CLASS
from labkit.errors import BandError, ConfigError, OutputExistsError
from labkit.gapfill import fill_gaps
from labkit.inference import predict_map, write_map
from labkit.masks import count_valid
from labkit.models import fit_model, make_model
from labkit.samples import extract_samples

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def slovenia():
    """The embedded patch cut to 64 x 64 px, gap-filled every 16 days, and a forest fitted on its polygons."""
    from labkit.datasets import load_slovenia

    data = load_slovenia()
    cube, mask = data.cube.isel(y=slice(0, 64), x=slice(0, 64)), data.mask.isel(y=slice(0, 64), x=slice(0, 64))
    filled, _ = fill_gaps(cube, mask, step=16)
    samples = extract_samples(filled, data.polygons[data.polygons["class_id"] > 0], on_outside="drop")
    model = fit_model(make_model("rf", n_estimators=20, n_jobs=1, random_state=0), samples)
    return cube, mask, filled, model


def test_products_agree_with_the_model_on_every_pixel(slovenia):
    _, mask, filled, model = slovenia
    products = predict_map(filled, model, block=(24, 40))
    pixels = filled.transpose("y", "x", "time", "band").values.reshape(-1, filled.sizes["time"], 1)
    proba = model.predict_proba(pixels)  # the naive baseline: the whole array at once
    probs = products["probabilities"].values.reshape(len(model.classes_), -1).T
    np.testing.assert_allclose(probs, proba, atol=1e-6)
    assert np.array_equal(products["class_map"].values.ravel(), model.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(products["confidence"].values.ravel(), proba.max(axis=1), atol=1e-6)
    p = np.clip(proba, 1e-12, 1)
    entropy = -(proba * np.log(p)).sum(axis=1) / math.log(len(model.classes_))
    np.testing.assert_allclose(products["uncertainty"].values.ravel(), entropy, atol=1e-5)
    ordered = np.sort(proba, axis=1)
    margin = predict_map(filled, model, uncertainty="margin")["uncertainty"].values.ravel()
    np.testing.assert_allclose(margin, 1 - (ordered[:, -1] - ordered[:, -2]), atol=1e-6)
    assert products["class_map"].dtype == np.uint8 and products["valid_count"].dtype == np.uint16
    assert products.rio.crs == filled.rio.crs and np.array_equal(products.x, filled.x)
    assert list(products["probabilities"]["class"].values) == list(model.classes_)
    assert products["class_map"].attrs["class_names"] == {int(c): n for c, n in model.class_names_.items()}


def test_valid_count_comes_from_the_mask_and_gap_filling_runs_on_the_fly(slovenia):
    cube, mask, filled, model = slovenia
    chained = predict_map(cube.chunk({"y": 32, "x": 32}), model, mask=mask.chunk({"y": 32, "x": 32}))
    assert isinstance(chained["class_map"].data, da.Array)  # lazy: masks -> gap-filling -> model per block
    direct = predict_map(filled, model)
    np.testing.assert_array_equal(chained["class_map"].values, direct["class_map"].values)
    np.testing.assert_allclose(chained["probabilities"].values, direct["probabilities"].values, atol=1e-6)
    np.testing.assert_array_equal(chained["valid_count"].values, count_valid(mask).values)


def test_pixels_with_missing_values_are_not_classified(slovenia):
    _, _, filled, model = slovenia
    holed = filled.copy(data=filled.values.copy())
    holed[3, 0, 5, 7] = np.nan
    products = predict_map(holed, model, block=(16, 16))
    assert products["class_map"].values[5, 7] == NO_CLASS
    assert np.isnan(products["confidence"].values[5, 7]) and np.isnan(products["probabilities"].values[:, 5, 7]).all()
    assert (products["class_map"].values != NO_CLASS).sum() == 64 * 64 - 1


def test_the_signature_is_checked_before_any_block_runs(slovenia):
    _, _, filled, model = slovenia

    def never(block):
        raise AssertionError("a block was read")

    lazy = filled.copy(data=da.from_array(filled.values, chunks=(-1, -1, 16, 16)).map_blocks(never, dtype="float32"))
    with pytest.raises(BandError, match="has no band"):
        predict_map(lazy.assign_coords(band=["B04"]), model)
    with pytest.raises(ConfigError, match="uncertainty must be one of"):
        predict_map(filled, model, uncertainty="variance")


def test_blocks_follow_the_memory_budget(slovenia):
    _, _, filled, model = slovenia
    sizes = []

    class Spy:
        classes_ = model.classes_
        input_signature_ = model.input_signature_

        def predict_proba(self, X):
            sizes.append(len(X))
            return model.predict_proba(X)

    per_pixel = 3 * (filled.sizes["time"] * 4 + 8 * (4 + len(model.classes_)))
    predict_map(filled, Spy(), memory=per_pixel * 16 * 16, workers=1)
    assert max(sizes) <= 16 * 16 and sum(sizes) == 64 * 64
    with pytest.raises(ConfigError, match="cannot hold"):
        predict_map(filled, Spy(), memory=per_pixel // 2, workers=1)


# ----------------------------------------------------------------------------------------------------- writing


def test_write_map_writes_georeferenced_cogs_with_a_legend(slovenia, tmp_path):
    _, _, filled, model = slovenia
    products = predict_map(filled.chunk({"y": 32, "x": 32}), model)
    written = write_map(products, tmp_path / "map")
    assert sorted(written) == ["class_map", "confidence", "probabilities", "uncertainty", "valid_count"]
    with rasterio.open(written["class_map"]) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and src.dtypes[0] == "uint8"
        assert src.nodata == NO_CLASS and src.crs == filled.rio.crs
        assert src.transform.almost_equals(filled.rio.transform(), precision=1e-9)
        names = json.loads(src.tags()["CLASS_NAMES"])
        assert names == {str(c): n for c, n in model.class_names_.items()}
        assert set(src.colormap(1)) >= set(int(c) for c in model.classes_)
        assert np.array_equal(src.read(1), products["class_map"].values)
    categories = ET.parse(f"{written['class_map']}.aux.xml").findall(".//Category")
    for code, name in model.class_names_.items():
        assert categories[int(code)].text == name
    with rasterio.open(written["probabilities"]) as src:
        assert src.count == len(model.classes_) and src.dtypes[0] == "uint8" and src.nodata == 255
        assert src.descriptions == tuple(str(c) for c in model.classes_) and src.tags()["SCALE"] == "percent"
        np.testing.assert_allclose(src.read() / 100, products["probabilities"].values, atol=0.005 + 1e-6)
    with rasterio.open(written["confidence"]) as src:
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)
    with rasterio.open(written["valid_count"]) as src:
        assert src.dtypes[0] == "uint16"
    with pytest.raises(OutputExistsError):
        write_map(products, tmp_path / "map")


def test_an_interrupted_write_leaves_no_product(slovenia, tmp_path, monkeypatch):
    _, _, filled, model = slovenia
    products = predict_map(filled.chunk({"y": 16, "x": 16}), model, block=(16, 16))
    calls = []
    original = lio._WindowWriter.__setitem__

    def fail_midway(self, key, block):
        calls.append(1)
        if len(calls) == 20:
            raise OSError("disk full")
        original(self, key, block)

    monkeypatch.setattr(lio._WindowWriter, "__setitem__", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        write_map(products, tmp_path / "map")
    assert not (tmp_path / "map").exists() or not any((tmp_path / "map").iterdir())
    monkeypatch.undo()
    written = write_map(products, tmp_path / "map")  # started again: complete
    assert all(p.exists() for p in written.values())


def test_products_as_one_zarr_store(slovenia, tmp_path):
    _, _, filled, model = slovenia
    products = predict_map(filled, model)
    path = write_map(products, tmp_path, format="zarr", probabilities="float32")["products"]
    back = xr.open_zarr(path)
    np.testing.assert_array_equal(back["class_map"].values, products["class_map"].values)
    np.testing.assert_allclose(back["probabilities"].values, products["probabilities"].values)


# ------------------------------------------------------------------------------------------- spatial models


@pytest.fixture(scope="module")
def unet():
    from labkit.datasets.synthetic import make_synthetic_scene
    from labkit.models.deep.spatial import SpatialClassifier

    scene = make_synthetic_scene(72, 80, dates=3, bands=["B04", "B08"], n_classes=4, random_state=3)
    model = SpatialClassifier(patch_size=16, epochs=1, network_params={"depth": 1, "width": 4},
                              random_state=0).fit(scene.cube, scene.class_map, mask=scene.mask)
    return scene, model


@pytest.mark.parametrize("block, tile, blend", [((24, 24), 32, "cosine"), ((32, 48), 48, "linear"),
                                                 ((16, 80), 64, "cosine"), ((80, 80), None, "cosine")])
def test_tiled_spatial_prediction_has_no_seams(unet, block, tile, blend):
    scene, model = unet
    whole = model.predict_proba(scene.cube, mask=scene.mask).values  # one pass over the whole image
    products = predict_map(scene.cube, model, mask=scene.mask, block=block, tile=tile, blend=blend,
                           gapfill=None)
    tiled = products["probabilities"].values
    assert np.isfinite(tiled).all()  # edges and corners are covered
    assert (products["class_map"].values != NO_CLASS).all()
    np.testing.assert_allclose(tiled, whole, atol=1e-4)
    assert np.array_equal(products["class_map"].values, model.classes_[whole.argmax(axis=0)])


def test_tiles_must_overlap_beyond_the_receptive_field(unet):
    scene, model = unet
    with pytest.raises(ConfigError, match="overlap by more than twice its halo"):
        predict_map(scene.cube, model, overlap=model.halo_, gapfill=None)


# ---------------------------------------------------------------------------------------------- deep pixels


def test_a_deep_pixel_model_maps_on_the_engine(slovenia):
    _, _, filled, _ = slovenia
    polygons = __import__("labkit").datasets.load_slovenia().polygons.query("class_id > 0")
    samples = extract_samples(filled, polygons, on_outside="drop").isel(sample=slice(0, None, 8))
    model = fit_model(make_model("tempcnn", epochs=1, random_state=0, progress=False), samples)
    products = predict_map(filled, model, block=(32, 32), device="cpu")
    pixels = filled.transpose("y", "x", "time", "band").values.reshape(-1, filled.sizes["time"], 1)
    expected = model.predict_proba(pixels, doy=np.asarray(model.input_signature_.cube_days(filled.time.values)))
    np.testing.assert_allclose(products["probabilities"].values.reshape(len(model.classes_), -1).T, expected,
                               atol=1e-5)


def test_unclassified_pixels_are_written_as_nodata(slovenia, tmp_path):
    _, _, filled, model = slovenia
    holed = filled.copy(data=filled.values.copy())
    holed[:, 0, :3, :5] = np.nan
    written = write_map(predict_map(holed, model), tmp_path)
    with rasterio.open(written["class_map"]) as src:
        classes = src.read(1, masked=True)
        assert classes.mask[:3, :5].all() and not classes.mask[3:].any()
    with rasterio.open(written["probabilities"]) as src:
        probs = src.read(masked=True)
        assert probs.mask[:, :3, :5].all() and (probs[:, 3:].sum(axis=0) >= 98).all()


def test_labkit_info_shows_the_legend_of_a_class_map(slovenia, tmp_path, capsys):
    from labkit.cli import main

    _, _, filled, model = slovenia
    written = write_map(predict_map(filled, model, probabilities=False), tmp_path)
    assert main(["info", str(written["class_map"])]) == 0
    out = capsys.readouterr().out
    for code, name in model.class_names_.items():
        assert f"{code} {name}" in out


def test_write_map_sets_the_cogs_internal_tile(tmp_path):
    from labkit.models import make_model

    rng = np.random.default_rng(0)
    cube = dm.make_cube(rng.random((2, 1, 40, 40)), ["2020-01-01", "2020-02-01"], ["NDVI"],
                        transform=(10, 0, 0, 0, -10, 400), crs="EPSG:32631")
    model = make_model("rf", n_estimators=5, random_state=0).fit(rng.random((20, 2, 1)), [1, 2] * 10)
    written = write_map(predict_map(cube, model), tmp_path, cog_tile=128)
    for path in written.values():
        with rasterio.open(path) as src:
            assert src.block_shapes[0] == (128, 128), path


def test_a_block_that_arrives_after_a_failed_write_closed_the_raster_is_refused(tmp_path):
    import threading

    import rasterio

    from labkit.errors import LabkitError

    profile = {"driver": "GTiff", "width": 4, "height": 4, "count": 1, "dtype": "uint8"}
    writer = lio._WindowWriter(rasterio.open(tmp_path / "a.tif", "w", **profile), threading.Lock())
    writer[0:1, 0:2, 0:2] = np.ones((1, 2, 2), "uint8")
    writer.close()  # as write_cogs does when a block failed while other threads still compute theirs
    with pytest.raises(LabkitError, match="after the raster it belongs to was closed"):
        writer[0:1, 2:4, 2:4] = np.ones((1, 2, 2), "uint8")
