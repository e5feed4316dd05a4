"""The stages of ``labkit run`` read every kind of input as the readers do, and use every key of their sections."""

from __future__ import annotations

import inspect
import os
import sys

import numpy as np
import pytest
import xarray as xr

import _product_fixtures as fx
from labkit.datasets.synthetic import make_synthetic_scene, write_synthetic_tiles
from labkit.errors import ConfigError, DataModelError, ReadError
from labkit.io import read_dates, read_zarr, write_dates
from labkit.run import load_config
from labkit.run import config as sections
from labkit.run.stages import grid_dates, open_tile, prepare_tile, section_kwargs, tile_mask
from labkit.samples import concat_samples, extract_samples
from labkit.sources import read_safe, read_theia


def _config(folder, **extra):
    data = {"tiles": {"glob": "tiles/*"}, "reference": {"polygons": "reference.gpkg"}, **extra}
    return load_config(data, base=folder)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiles")
    write_synthetic_tiles(folder, n_tiles=2, size=64, dates=8)
    return folder


def test_zarr_tiles_are_read_with_their_mask_as_read_zarr_reads_them(synthetic):
    config = _config(synthetic, inputs={"kind": "zarr", "bands": ["B04", "B08"]})
    cube, mask = open_tile(config, "T01")
    expected, expected_mask = read_zarr(synthetic / "tiles" / "T01.zarr", with_mask=True, bands=["B04", "B08"])
    xr.testing.assert_identical(cube, expected)
    xr.testing.assert_identical(mask, expected_mask)


def test_file_tiles_get_a_mask_from_their_missing_values(tmp_path):
    scene = make_synthetic_scene(16, 16, dates=3, bands=["B04", "B08"], random_state=1)
    cube = scene.cube.where(scene.mask == 0).compute()
    write_dates(cube, tmp_path / "tiles" / "A", prefix="SENT_")
    (tmp_path / "reference.gpkg").write_text("")
    config = _config(tmp_path, inputs={"kind": "files", "files": "SENT_*.tif"}, masks={"valid_range": [0.0, 0.2]})
    read, mask = open_tile(config, "A")
    assert mask is None
    expected = read_dates(sorted((tmp_path / "tiles" / "A").glob("SENT_*.tif")))
    xr.testing.assert_equal(read, expected)
    refined = tile_mask(config, read, mask).values
    values = read.values
    np.testing.assert_array_equal(refined == 2, np.isnan(values).all(axis=1))
    out_of_range = ((values < 0) | (values > 0.2)).any(axis=1) & ~np.isnan(values).all(axis=1)
    assert out_of_range.any() and (refined[out_of_range] == 1).all()


def test_a_tile_folder_without_matching_files_is_named(tmp_path):
    (tmp_path / "tiles" / "A").mkdir(parents=True)
    (tmp_path / "reference.gpkg").write_text("")
    config = _config(tmp_path, inputs={"kind": "files", "files": "*.tif"})
    with pytest.raises(ReadError, match=r"tiles/A: no file matches inputs.files '\*.tif'"):
        open_tile(config, "A")


@pytest.mark.parametrize("kind", ["theia", "safe"])
def test_product_folders_are_read_as_their_readers_read_them(tmp_path, kind):
    tile = tmp_path / "tiles" / "T1"
    writer, reader = (fx.write_theia, read_theia) if kind == "theia" else (fx.write_safe, read_safe)
    dates = ["2018-06-01T10:54:16", "2018-06-11T10:54:16"]
    options = {"bands": ["B02", "B04", "B08"]} if kind == "theia" else {}
    folders = [writer(tile, d, date_index=i, **options) for i, d in enumerate(dates)]
    (tmp_path / "reference.gpkg").write_text("")
    config = _config(tmp_path, inputs={"kind": kind, "bands": ["B04", "B08"], "chunks": 16})
    cube, mask = open_tile(config, "T1")
    expected, expected_mask = reader(sorted(str(f) for f in folders), bands=["B04", "B08"], chunks=16)
    xr.testing.assert_identical(cube, expected)
    xr.testing.assert_identical(mask, expected_mask)


def test_the_grid_is_the_tiles_common_period_at_the_step():
    config = load_config({"tiles": {"bboxes": {"A": [0, 0, 1, 1]}}, "inputs": {"kind": "stac"},
                          "reference": {"polygons": "."}, "gapfill": {"step": 10}})
    a = np.array(["2021-01-01", "2021-01-21", "2021-03-02"], "datetime64[ns]")
    b = np.array(["2021-01-06", "2021-02-05", "2021-02-25"], "datetime64[ns]")
    assert grid_dates(config, {"A": a, "B": b}) == ["2021-01-06", "2021-01-16", "2021-01-26", "2021-02-05",
                                                    "2021-02-15", "2021-02-25"]
    auto = load_config({**config.model_dump(mode="json"), "gapfill": {"step": "auto"}})
    # the median of the tiles' revisits (30 and 25 days), rounded
    assert grid_dates(auto, {"A": a, "B": b})[:2] == ["2021-01-06", "2021-02-03"]
    fixed = load_config({**config.model_dump(mode="json"), "gapfill": {"dates": ["2021-02-01", "2021-03-01"]}})
    assert grid_dates(fixed, {"A": a}) == ["2021-02-01", "2021-03-01"]
    none = load_config({**config.model_dump(mode="json"), "gapfill": None})
    assert grid_dates(none, {"A": a, "B": a}) is None
    with pytest.raises(ConfigError, match="tile B has 3"):
        grid_dates(none, {"A": a[:2], "B": b})
    disjoint = {"A": a[:2], "B": np.array(["2021-06-01", "2021-07-01"], "datetime64[ns]")}
    with pytest.raises(ConfigError, match="common period"):
        grid_dates(config, disjoint)


def test_every_tile_is_prepared_onto_the_one_grid(synthetic):
    config = _config(synthetic, gapfill={"step": 20}, features={"indices": ["NDVI"], "keep_bands": False})
    grid = ["2021-03-01", "2021-03-21", "2021-04-10"]
    for tile in ("T00", "T01"):
        features = prepare_tile(config, tile, grid)
        assert list(features.band.values) == ["NDVI"]
        np.testing.assert_array_equal(features.time.values, np.array(grid, "datetime64[ns]"))


# ------------------------------------------------------------------------------------------------- the sections


@pytest.mark.parametrize("section", [sections.ZarrInputs, sections.FilesInputs, sections.StacInputs,
                                     sections.TheiaInputs, sections.SafeInputs, sections.MasksSection,
                                     sections.GapfillSection, sections.FeaturesSection, sections.ReferenceSection,
                                     sections.InferenceSection, sections.BayesianSmoothing, sections.MajorityFilter,
                                     sections.Sieve, sections.Mosaic, sections.ValidationSection,
                                     sections.OutputsSection], ids=lambda s: s.__name__)
def test_every_key_of_a_section_reaches_a_stage_function(section):
    instance = section.model_construct()
    passed = set()
    for stage in section.stages:
        passed |= set(section_kwargs(instance, stage))
    unused = set(section.model_fields) - {"kind"} - passed - set(section.runner_keys)
    assert not unused, f"{section.__name__}: {sorted(unused)} reach no stage function"
    assert not set(section.runner_keys) & passed


def test_section_kwargs_passes_options_not_data_arguments():
    reference = sections.ReferenceSection.model_construct(polygons="x.gpkg", class_field="code")
    options = section_kwargs(reference, extract_samples)
    assert "polygons" not in options and options["class_field"] == "code"
    assert set(options) <= set(inspect.signature(extract_samples).parameters)


# ------------------------------------------------------------------------------------------------- concat_samples


def test_concatenated_sample_sets_keep_groups_and_separate_sites(synthetic):
    config = _config(synthetic, gapfill={"step": 30})
    import geopandas as gpd

    polygons = gpd.read_file(synthetic / "reference.gpkg")
    grid = ["2021-02-01", "2021-03-03", "2021-04-02"]
    sets = {t: extract_samples(prepare_tile(config, t, grid), polygons, on_outside="drop") for t in ("T00", "T01")}
    merged = concat_samples(sets, source="tile")
    assert merged.sizes["sample"] == sum(s.sizes["sample"] for s in sets.values())
    for tile, samples in sets.items():
        part = merged.where(merged.tile == tile, drop=True)
        np.testing.assert_array_equal(part["X"].values, samples["X"].values)
        np.testing.assert_array_equal(part["group"].values, samples["group"].values)
    sites = {t: set(merged.site.values[merged.tile.values == t]) for t in sets}
    assert not sites["T00"] & sites["T01"]
    assert dict(zip(merged["class"].values.tolist(), merged.class_name.values.tolist())) == {
        **dict(zip(sets["T00"]["class"].values.tolist(), sets["T00"].class_name.values.tolist())),
        **dict(zip(sets["T01"]["class"].values.tolist(), sets["T01"].class_name.values.tolist()))}
    other = sets["T01"].isel(time=slice(0, 2))
    with pytest.raises(DataModelError, match="set 'T01' has other time values"):
        concat_samples({"T00": sets["T00"], "T01": other})


def test_a_tile_without_reference_polygons_gets_an_empty_sample_set(synthetic, tmp_path):
    import geopandas as gpd

    from labkit.io import read_samples
    from labkit.run.stages import all_samples, run_samples

    polygons = gpd.read_file(synthetic / "reference.gpkg")
    polygons[polygons.polygon_id < 10_000].to_file(tmp_path / "only_T00.gpkg")  # T01's ids are 10 000 and more
    config = load_config({"tiles": {"glob": str(synthetic / "tiles" / "*")}, "reference": {"polygons": "only_T00.gpkg"},
                          "gapfill": {"step": 30}}, base=tmp_path)
    grid = ["2021-02-01", "2021-03-03"]
    for tile in ("T00", "T01"):
        run_samples(config, tile, grid, tmp_path / f"{tile}.nc")
    empty, full = read_samples(tmp_path / "T01.nc"), read_samples(tmp_path / "T00.nc")
    assert empty.sizes["sample"] == 0 and full.sizes["sample"] > 0
    assert list(empty.band.values) == list(full.band.values) and empty.sizes["time"] == 2
    merged = all_samples({"T00": tmp_path / "T00.nc", "T01": tmp_path / "T01.nc"})
    assert merged.sizes["sample"] == full.sizes["sample"] and set(merged.tile.values) == {"T00"}


ALLOCATE = """
import resource, sys
import numpy as np
from numpy._core.multiarray import _set_madvise_hugepage
_set_madvise_hugepage(False)  # 4 KiB pages whatever the machine's free huge pages: faults that do not vary by run
if sys.argv[1] == "settled":
    from labkit.run.execute import settle_allocator
    assert settle_allocator()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(40):
    block = np.ones(2**20)  # 8 MiB, as a block of a task
    del block
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc")
def test_a_settled_worker_reuses_freed_arrays_instead_of_faulting_their_pages_in_again():
    import subprocess

    def faults(mode: str) -> int:
        env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}  # what Dask's nanny gives its workers
        done = subprocess.run([sys.executable, "-c", ALLOCATE, mode], capture_output=True, text=True, env=env,
                              check=True)
        return int(done.stdout)

    as_dask_starts_it, settled = faults("dask"), faults("settled")
    assert as_dask_starts_it > 40 * 100  # every array's pages faulted in anew, each time
    assert settled < as_dask_starts_it / 5


def test_the_train_stage_caps_the_training_samples_of_each_class(synthetic, tmp_path, monkeypatch):
    import labkit.models
    from labkit.run.stages import all_samples, run_samples, run_split, run_train

    grid = ["2021-02-01", "2021-03-03"]
    paths = {tile: tmp_path / f"{tile}.nc" for tile in ("T00", "T01")}
    config = _config(synthetic, gapfill={"step": 30}, reference={"polygons": "reference.gpkg", "n_runs": 1,
                                                                  "max_per_class": 40})
    for tile, path in paths.items():
        run_samples(config, tile, grid, path)
    seen = []
    fit = labkit.models.fit_model
    monkeypatch.setattr(labkit.models, "fit_model", lambda model, samples: seen.append(samples) or fit(model, samples))
    run_train(config, 0, 0, paths, tmp_path / "model.labkit")
    whole, _ = run_split(config, all_samples(paths), 0)
    classes, counts = np.unique(seen[0]["label"].values, return_counts=True)
    assert np.unique(whole["label"].values).tolist() == classes.tolist()
    assert counts.max() == 40 and np.unique(whole["label"].values, return_counts=True)[1].max() > 40
    assert set(seen[0]["group"].values) <= set(whole["group"].values)  # drawn from the training side only
