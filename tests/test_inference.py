"""labkit.inference: predict_cube against the model applied pixel by pixel, whatever the blocks or the backend."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier

import labkit.datamodel as dm
from labkit.errors import ConfigError, DataModelError
from labkit.datamodel import NO_CLASS
from labkit.inference import predict_cube
from labkit.models import make_model

HEIGHT, WIDTH, N_TIME = 9, 8, 6


@pytest.fixture(scope="module")
def toy():
    """A cube whose left columns are class 3 (rising NDVI) and right columns class 7 (falling), and a model
    trained on its pixels."""
    rng = np.random.default_rng(0)
    truth = np.where(np.arange(WIDTH)[None, :] < 3, 3, 7) * np.ones((HEIGHT, 1), int)
    truth[6:, 5:] = 3  # a patch, so that the map is not just two halves
    t = np.linspace(0, 1, N_TIME)
    curves = {3: np.stack([0.2 + 0.6 * t, 0.1 + 0.2 * t], axis=1), 7: np.stack([0.8 - 0.6 * t, 0.3 - 0.2 * t], axis=1)}
    values = np.empty((N_TIME, 2, HEIGHT, WIDTH), "float32")
    for i in range(HEIGHT):
        for j in range(WIDTH):
            values[:, :, i, j] = curves[truth[i, j]] + rng.normal(0, 0.02, (N_TIME, 2))
    cube = dm.make_cube(values, np.datetime64("2021-04-01") + 10 * np.arange(N_TIME), ["NDVI", "NDWI"],
                        transform=(10.0, 0, 600000.0, 0, -10.0, 5100000.0), crs="EPSG:32632")
    pixels = values.transpose(2, 3, 0, 1).reshape(HEIGHT * WIDTH, N_TIME, 2)
    model = make_model("rf", n_estimators=10, n_jobs=1, random_state=0).fit(pixels, truth.ravel())
    return cube, truth, model


def _by_pixel(cube, model):
    """The model applied to each pixel's series, one pixel at a time."""
    classes = np.full((cube.sizes["y"], cube.sizes["x"]), NO_CLASS)
    confidence = np.full(classes.shape, np.nan)
    for i in range(cube.sizes["y"]):
        for j in range(cube.sizes["x"]):
            series = cube.values[:, :, i, j]
            if not np.isnan(series).any():
                proba = model.predict_proba(series[None])[0]
                classes[i, j], confidence[i, j] = model.classes_[proba.argmax()], proba.max()
    return classes, confidence


def test_model_classifies_the_cube_it_was_trained_on(toy):
    cube, truth, model = toy
    class_map, confidence = predict_cube(cube, model)
    np.testing.assert_array_equal(class_map.values, truth)
    assert ((confidence.values > 0.5) & (confidence.values <= 1)).all()


def test_result_is_the_model_applied_pixel_by_pixel(toy):
    cube, _, model = toy
    class_map, confidence = predict_cube(cube, model, block=5)
    classes, conf = _by_pixel(cube, model)
    np.testing.assert_array_equal(class_map.values, classes)
    np.testing.assert_allclose(confidence.values, conf, rtol=1e-6)


@pytest.mark.parametrize("block", [1, 7, 64, (3, 10), [10, 1]])
def test_result_does_not_depend_on_the_block(toy, block):
    cube, _, model = toy
    reference_map, reference_conf = predict_cube(cube, model)  # the block engine's choice
    class_map, confidence = predict_cube(cube, model, block=block)
    np.testing.assert_array_equal(class_map.values, reference_map.values)
    np.testing.assert_array_equal(confidence.values, reference_conf.values)


def test_outputs_follow_the_data_model(toy):
    cube, _, model = toy
    class_map, confidence = predict_cube(cube, model)
    assert dm.validate(class_map) == "class_map"
    assert class_map.dtype == np.uint8 and confidence.dtype == np.float32
    assert class_map.dims == confidence.dims == ("y", "x")
    for out in (class_map, confidence):
        np.testing.assert_array_equal(out.x.values, cube.x.values)
        np.testing.assert_array_equal(out.y.values, cube.y.values)
        assert out.rio.crs == cube.rio.crs and out.rio.transform() == cube.rio.transform()
    assert class_map.rio.nodata == NO_CLASS and np.isnan(confidence.rio.nodata)


def test_pixels_with_a_nan_are_not_classified(toy):
    cube, truth, model = toy
    values = cube.values.copy()
    values[2, 1, 0, 0] = np.nan  # one band on one date
    values[:, :, 4, 6] = np.nan  # everything
    class_map, confidence = predict_cube(cube.copy(data=values), model, block=3)
    hole = np.zeros((HEIGHT, WIDTH), bool)
    hole[0, 0] = hole[4, 6] = True
    assert (class_map.values[hole] == NO_CLASS).all() and np.isnan(confidence.values[hole]).all()
    np.testing.assert_array_equal(class_map.values[~hole], truth[~hole])
    assert not np.isnan(confidence.values[~hole]).any()


def test_block_of_only_nan_pixels(toy):
    cube, _, model = toy
    values = cube.values.copy()
    values[:, :, :4, :4] = np.nan
    class_map, confidence = predict_cube(cube.copy(data=values), model, block=4)
    assert (class_map.values[:4, :4] == NO_CLASS).all() and np.isnan(confidence.values[:4, :4]).all()
    assert (class_map.values[4:] != NO_CLASS).all()


def test_dask_cube_gives_the_same_maps(toy):
    cube, _, model = toy
    eager = predict_cube(cube, model, block=4)
    lazy = predict_cube(cube.chunk({"y": 5, "x": 3}), model, block=4)
    for a, b in zip(eager, lazy):
        np.testing.assert_array_equal(a.values, b.values)


def test_input_is_not_changed(toy):
    cube, _, model = toy
    before = cube.copy(deep=True)
    predict_cube(cube, model, block=4)
    assert cube.identical(before)


def test_progress_bar_counts_blocks(toy, capsys):
    cube, _, model = toy
    predict_cube(cube, model, block=4, progress=True)
    assert "6/6" in capsys.readouterr().err  # ceil(9/4) x ceil(8/4) = 3 x 2 blocks


def test_single_class_model():
    cube = dm.make_cube(np.zeros((2, 1, 3, 3)), ["2020-01-01", "2020-02-01"], ["NDVI"],
                        transform=(10, 0, 0, 0, -10, 30), crs="EPSG:32631")
    model = DummyClassifier().fit(np.zeros((2, 2)), [4, 4])
    class_map, confidence = predict_cube(cube, model, block=2)
    assert (class_map.values == 4).all() and (confidence.values == 1).all()


# ------------------------------------------------------------------------------------------------- bad inputs


def test_unfitted_model_is_refused(toy):
    cube, _, _ = toy
    with pytest.raises(ConfigError, match=r"the model is not fitted \(no classes_\)\. Call model\.fit\(X, y\) first"):
        predict_cube(cube, make_model("rf", n_estimators=10))


@pytest.mark.parametrize("block", [0, -3, (4, 0)])
def test_block_sides_must_be_positive(toy, block):
    cube, _, model = toy
    with pytest.raises(ConfigError, match=rf"^predict_cube: block must be None .* got {re.escape(repr(block))}\.$"):
        predict_cube(cube, model, block=block)


@pytest.mark.parametrize("codes", [[1, 255], [-1, 2], [3, 1000]])
def test_class_codes_must_fit_a_uint8_map(toy, codes):
    cube, _, _ = toy
    model = DummyClassifier().fit(np.zeros((2, 2)), codes)
    with pytest.raises(ConfigError, match=rf"class codes must lie in 0\.\.253 for a uint8 class map .*; "
                                          rf"got {min(codes)}\.\.{max(codes)}"):
        predict_cube(cube, model)


def test_cube_is_validated(toy):
    cube, _, model = toy
    with pytest.raises(DataModelError, match=r"cube: dims must be \('time', 'band', 'y', 'x'\)"):
        predict_cube(cube.transpose("time", "band", "x", "y"), model)
