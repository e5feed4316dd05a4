"""From a notebook to a batch run: the choices exported by ``to_config`` / ``save_config`` give, through ``run_config``,
the notebook's own map on its tile, bit for bit; and the exported file loads back as the same config."""

from __future__ import annotations

import logging
import shutil

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import yaml

from labkit.datasets.synthetic import write_synthetic_tiles
from labkit.errors import ConfigError, OutputExistsError
from labkit.features import compute_features
from labkit.gapfill import fill_gaps
from labkit.inference import predict_map
from labkit.io import read_zarr
from labkit.masks import dilate_mask
from labkit.models import ModelConfig, fit_model, make_model
from labkit.run import load_config, run_config, save_config, to_config
from labkit.samples import extract_samples, split_runs

MODEL = {"model": "rf", "params": {"n_estimators": 15}}


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    written = write_synthetic_tiles(folder, n_tiles=2, size=64, dates=8, n_classes=3, random_state=3)
    return folder, written


def _notebook_chain(tile, polygons, run: int):
    """What a notebook does on one tile, call by call (notebook 09's section 2); the products of run ``run``."""
    cube, mask = read_zarr(tile, with_mask=True, bands=["B04", "B08"])
    mask = dilate_mask(mask, 1)
    filled, _ = fill_gaps(cube, mask, step=12)
    features = compute_features(filled, indices=["NDVI"]).cube
    samples = extract_samples(features, polygons, on_outside="drop")
    train, _ = list(split_runs(samples, n_runs=2, train_size=0.6, random_state=5))[run]
    model = fit_model(make_model(MODEL, random_state=5), train)
    return predict_map(features, model).compute()


def _read(path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read()


def test_the_exported_config_maps_the_notebook_s_tile_bit_for_bit(tiles):
    from distributed import Client, LocalCluster

    folder, written = tiles
    tile = written["tiles"][0]
    expected = _notebook_chain(tile, gpd.read_file(written["reference"]), run=1)
    config = to_config(tiles=[tile], base=folder,
                       reference={"polygons": written["reference"], "n_runs": 2, "train_size": 0.6, "random_state": 5},
                       inputs={"kind": "zarr", "bands": ["B04", "B08"]}, masks={"dilate": 1}, gapfill={"step": 12},
                       features={"indices": ["NDVI"]}, models=[MODEL],
                       outputs={"folder": "outputs", "probabilities": "float32"})
    reloaded = load_config(save_config(config, folder / "run.yaml"))
    # one thread: two tasks at once in one worker process race on dask's global config (reported to the lead)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        result = run_config(reloaded, client=client, progress=False, echo=lambda text: None)
    assert result.ok, result.summary()
    products = folder / "outputs" / "tiles" / tile.stem / "rf" / "run-1"  # run k: the k-th pair of split_runs
    class_map = _read(products / "class_map.tif")[0]
    assert np.array_equal(class_map, expected["class_map"].values)
    probabilities = _read(products / "probabilities.tif")
    assert probabilities.dtype == np.float32
    assert np.array_equal(probabilities, expected["probabilities"].values)
    # the other run is another split, hence another model: the check above would see a wrong pair
    other = _read(folder / "outputs" / "tiles" / tile.stem / "rf" / "run-0" / "probabilities.tif")
    assert not np.array_equal(other, probabilities)


def _full_config(folder, written, tiles="tiles/*.zarr"):
    return to_config(tiles=tiles, base=folder,
                     reference={"polygons": "reference.gpkg", "n_runs": 2, "train_size": 0.6, "random_state": 5},
                     inputs={"kind": "zarr", "bands": ["B04", "B08"], "chunks": 32}, masks={"dilate": 2},
                     gapfill={"method": "whittaker", "step": 10, "start": "2021-02-01", "lambda_": 500.0},
                     features={"indices": ["NDVI"], "expressions": {"RATIO": "B08 / B04"}},
                     models=["rf", {"model": "lgbm", "params": {"n_estimators": 20}, "stats": ["mean", "max"]}],
                     inference={"memory": "1GB", "block": [32, 64]},
                     postprocess={"majority_filter": {"window": 5}, "mosaic": None},
                     validation={"class_names": written["class_names"]},
                     outputs={"folder": "maps", "probabilities": None}, execution={"workers": 2, "cores": 1})


@pytest.mark.parametrize("tiles_given", ["tiles/*.zarr", ["tiles/T00.zarr", "tiles/T01.zarr"]], ids=["glob", "paths"])
def test_a_saved_config_loads_back_as_the_same_config(tiles, tiles_given):
    folder, written = tiles
    config = _full_config(folder, written, tiles_given)
    path = save_config(config, folder / f"saved-{type(tiles_given).__name__}.yaml")
    assert load_config(path) == config
    values = yaml.safe_load(path.read_text())
    assert list(values) == ["inputs", "tiles", "masks", "gapfill", "features", "reference", "models", "inference",
                            "postprocess", "validation", "outputs", "execution"]  # the sections in the chain's order
    assert values["tiles"] == ({"glob": "tiles/*.zarr"} if tiles_given == "tiles/*.zarr"
                               else {"paths": ["tiles/T00.zarr", "tiles/T01.zarr"]})
    assert "on_outside" not in values["reference"] and "kind" in values["inputs"]  # defaults left out, but the kind
    with pytest.raises(OutputExistsError, match="already exists. Pass overwrite=True"):
        save_config(config, path)
    save_config(config, path, overwrite=True)


def test_saved_paths_are_relative_to_the_file_and_the_folder_can_move(tiles, tmp_path):
    folder, written = tiles
    config = _full_config(folder, written)
    values = yaml.safe_load(save_config(config, folder / "moving.yaml").read_text())
    assert values["reference"]["polygons"] == "reference.gpkg" and values["outputs"]["folder"] == "maps"
    moved = tmp_path / "moved"
    shutil.copytree(folder, moved, ignore=shutil.ignore_patterns("outputs"))
    again = load_config(moved / "moving.yaml")
    assert again.reference.polygons == moved / "reference.gpkg" and again.outputs.folder == moved / "maps"
    assert again.tile_inputs() == {"T00": moved / "tiles" / "T00.zarr", "T01": moved / "tiles" / "T01.zarr"}
    # saved elsewhere, the pattern would find other tiles: the file names the tiles by their paths, from there
    below = save_config(config, folder / "configs" / "run.yaml")
    values = yaml.safe_load(below.read_text())
    assert values["tiles"] == {"paths": ["../tiles/T00.zarr", "../tiles/T01.zarr"]}
    assert values["reference"]["polygons"] == "../reference.gpkg"
    assert {name: path.resolve() for name, path in load_config(below).tile_inputs().items()} == config.tile_inputs()


def test_models_are_taken_as_names_configs_or_a_config_s_entries(tiles):
    folder, written = tiles
    config = _full_config(folder, written)
    as_entries = to_config(tiles="tiles/*.zarr", reference="reference.gpkg", models=config.models, base=folder)
    assert as_entries.models == config.models
    single = to_config(tiles="tiles/*.zarr", reference="reference.gpkg", base=folder,
                       models=ModelConfig(model="rf", params={"n_estimators": 7}))
    assert [(m.model, m.params) for m in single.models] == [("rf", {"n_estimators": 7})]


@pytest.mark.parametrize("models", [make_model("rf"), [make_model("svm")]], ids=["one", "in a list"])
def test_an_estimator_is_refused_with_what_to_give_instead(tiles, models):
    folder, _ = tiles
    with pytest.raises(ConfigError, match=r"got a Pipeline object\. A config says how to build a model, not the model "
                                          r"itself: give its name and hyperparameters, e\.g\. \{'model': 'rf'"):
        to_config(tiles="tiles/*.zarr", reference="reference.gpkg", models=models, base=folder)


def test_a_misspelt_key_is_reported_by_its_key_path(tiles):
    folder, _ = tiles
    with pytest.raises(ConfigError) as caught:
        to_config(tiles="tiles/*.zarr", reference={"polygons": "reference.gpkg", "n_run": 2}, base=folder,
                  gapfill={"stpe": 10}, models=[{"model": "rf", "params": {"n_estimatorz": 5}}])
    lines = str(caught.value).splitlines()
    assert lines[0] == "the run config has 3 errors:"
    assert any(line.startswith("  gapfill.stpe: unknown key (did you mean 'step'?)") for line in lines)
    assert any(line.startswith("  reference.n_run: unknown key (did you mean 'n_runs'?)") for line in lines)
    assert any(line.startswith("  models[0].params.n_estimatorz: model 'rf' (RandomForestClassifier) has no "
                               "parameter(s) ['n_estimatorz'] (did you mean 'n_estimators'?)") for line in lines)
    with pytest.raises(ConfigError, match=r"unknown section\(s\) \['gapfil'\]; the sections are \['inputs'"):
        to_config(tiles="tiles/*.zarr", reference="reference.gpkg", gapfil={"step": 10}, base=folder)
