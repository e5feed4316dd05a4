"""labkit.datasets: the embedded real data is what it says it is, fetch checks every file, and the embedded files
are reproduced bit for bit from the public sources (tests marked ``mirror`` read the local mirror)."""

from __future__ import annotations

import hashlib
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr

import labkit.datamodel as dm
from labkit.datasets import DATASETS, fetch, load_bolzano, load_slovenia
from labkit.datasets import embedded, remote
from labkit.errors import DatasetError

SLOVENIA_CLASSES = {"cultivated land", "forest", "grassland", "shrubland", "artificial surface"}


@pytest.fixture(scope="module")
def slovenia():
    return load_slovenia()


@pytest.fixture(scope="module")
def bolzano():
    return load_bolzano()


def _sha256(path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------------- Slovenia


def test_slovenia_cube(slovenia):
    cube = slovenia.cube
    assert dm.validate(cube) == "cube"
    assert dict(cube.sizes) == {"time": 68, "band": 1, "y": 101, "x": 100}
    assert cube.band.values.tolist() == ["NDVI"] and cube.dtype == np.float32
    assert cube.rio.crs.to_epsg() == 32633
    assert abs(cube.rio.resolution()[0]) == pytest.approx(10, abs=0.02)
    times = pd.DatetimeIndex(cube.time.values)
    assert times.is_monotonic_increasing and times.is_unique
    assert (times[0].date().isoformat(), times[-1].date().isoformat()) == ("2015-07-11", "2017-12-22")
    values = cube.values[np.isfinite(cube.values)]
    assert values.size and (values >= -1).all() and (values <= 1).all()


def test_slovenia_mask_is_plausible(slovenia):
    mask = slovenia.mask
    assert dm.validate(mask) == "mask"
    assert set(np.unique(mask.values).tolist()) <= {0, 1, 2}
    assert (mask.values == 1).any()
    cloudy = float((mask.values != 0).mean())
    assert 0.2 < cloudy < 0.6
    np.testing.assert_array_equal(mask.time.values, slovenia.cube.time.values)
    # The cloud mask agrees with the product's own cloud probability (in %).
    probability = slovenia.extra["cloud_probability"].values
    assert probability.max() <= 100
    assert probability[mask.values == 1].mean() > 50 > probability[mask.values == 0].mean()


def test_slovenia_polygons(slovenia):
    polygons = slovenia.polygons
    assert len(polygons) == 88 and polygons.polygon_id.is_unique
    assert set(polygons.columns) >= {"polygon_id", "class_id", "class_name", "geometry"}
    assert set(polygons.class_name) == SLOVENIA_CLASSES | {"no label"}
    assert polygons.crs == slovenia.cube.rio.crs
    assert polygons.geometry.is_valid.all() and not polygons.geometry.is_empty.any()
    assert slovenia.class_names == dict(zip(polygons.class_id, polygons.class_name))
    assert slovenia.class_names[0] == "no label"
    # Every polygon overlaps the cube; most lie entirely inside it.
    footprint = shapely.box(*slovenia.cube.rio.bounds())
    assert polygons.intersects(footprint).all()
    assert polygons.within(footprint).mean() > 0.5


def test_slovenia_reference_raster_agrees_with_the_polygons(slovenia):
    from labkit.samples import extract_samples

    reference = slovenia.reference
    assert reference.dims == ("y", "x")
    np.testing.assert_array_equal(reference.x.values, slovenia.cube.x.values)
    np.testing.assert_array_equal(reference.y.values, slovenia.cube.y.values)
    samples = extract_samples(slovenia.cube, slovenia.polygons[slovenia.polygons.class_id > 0])
    at_samples = reference.sel(x=xr.DataArray(samples.x.values), y=xr.DataArray(samples.y.values)).values
    assert (at_samples == samples.label.values).mean() > 0.9


def test_slovenia_description_names_origin_and_licence(slovenia):
    assert "eo-learn" in slovenia.description and "MIT" in slovenia.description


def test_loaders_return_fresh_objects():
    first = load_slovenia()
    first.cube[:] = -99
    first.mask[:] = 2
    first.polygons["class_id"] = -1
    first.extra["cloud_probability"][:] = 0
    second = load_slovenia()
    assert (second.cube.values != -99).all() and (second.mask.values != 2).any()
    assert (second.polygons.class_id >= 0).all() and second.extra["cloud_probability"].values.any()


# ---------------------------------------------------------------------------------------------------- Bolzano


def test_bolzano_cube(bolzano):
    cube = bolzano.cube
    assert dm.validate(cube) == "cube"
    assert cube.band.values.tolist() == ["B02", "B03", "B04", "B08"]
    assert dict(cube.sizes) == {"time": 12, "band": 4, "y": 200, "x": 200}
    assert cube.rio.crs.to_epsg() == 32632
    times = pd.DatetimeIndex(cube.time.values)
    assert times.is_monotonic_increasing and (times.year == 2022).all() and (times.month == 6).all()
    values = cube.values[np.isfinite(cube.values)]
    assert ((values >= 0) & (values <= 1.5)).mean() > 0.99
    assert np.median(values) < 0.5  # reflectance, not digital numbers


def test_bolzano_mask_is_the_scl_mask(bolzano):
    scl = bolzano.extra["scl"].values
    expected = np.select([scl == 0, np.isin(scl, [1, 3, 8, 9, 10])], [2, 1], 0)
    np.testing.assert_array_equal(bolzano.mask.values, expected)
    assert dm.validate(bolzano.mask) == "mask"


@pytest.mark.parametrize("date", ["2022-06-05", "2022-06-07", "2022-06-22"])
def test_bolzano_cloudy_dates(bolzano, date):
    day = bolzano.mask.sel(time=date)
    assert (day.values == 1).any()
    assert (day.values != 0).mean() > 0.9


def test_bolzano_has_clear_dates(bolzano):
    invalid = (bolzano.mask.values != 0).mean(axis=(1, 2))
    assert (invalid < 0.1).sum() >= 5


# ------------------------------------------------------------------------------------------ registry and fetch


def test_every_dataset_path_is_registered():
    registry = remote.registry()
    assert all(digest.startswith("sha256:") and len(digest) == 7 + 64 for digest in registry.values())
    for name, spec in DATASETS.items():
        for path in spec.paths:
            prefix = f"{spec.root}/{path}"
            assert any(n == prefix or n.startswith(prefix + "/") for n in registry), (name, path)


def test_unknown_dataset_is_refused_with_the_known_list(tmp_path):
    with pytest.raises(DatasetError, match=r"Unknown dataset 'nope'\. Known datasets: bigearthnet-s2, "
                                           r"bigearthnet-s2-example, dl4sits-victoria"):
        fetch("nope", cache_dir=tmp_path)


def test_unknown_path_is_refused(tmp_path):
    with pytest.raises(DatasetError, match=r"'README.md' is not a registered file or folder of dataset "
                                           r"'eolearn-slovenia'"):
        fetch("eolearn-slovenia", ("README.md",), mirror=tmp_path, cache_dir=tmp_path)


def test_source_url_order(monkeypatch, tmp_path):
    given, from_env = tmp_path / "given", tmp_path / "env"
    given.mkdir(), from_env.mkdir()
    monkeypatch.setenv("LABKIT_DATA_MIRROR", str(from_env))
    assert remote.source_url(given) == given.as_uri()
    assert remote.source_url() == from_env.as_uri()
    monkeypatch.setenv("LABKIT_DATA_MIRROR", "https://example.org/mirror/")
    assert remote.source_url() == "https://example.org/mirror"
    monkeypatch.delenv("LABKIT_DATA_MIRROR")
    assert remote.source_url() == remote.ORIGIN_URL


@pytest.mark.mirror
def test_mirror_matches_the_registry(mirror):
    checked = 0
    for name, digest in remote.registry().items():
        path = mirror / name
        if path.is_file():
            assert _sha256(path) == digest, name
            checked += 1
    roots = [DATASETS[d].root for d in ("eolearn-slovenia", "s2-bolzano")]
    needed = [n for n in remote.registry() if n.startswith(tuple(roots))]
    assert all((mirror / n).is_file() for n in needed) and checked >= len(needed)


@pytest.mark.mirror
def test_fetch_from_the_mirror_lands_checked_files(mirror, tmp_path):
    root = fetch("eolearn-slovenia", mirror=mirror, cache_dir=tmp_path)
    spec = DATASETS["eolearn-slovenia"]
    assert root == tmp_path / spec.root
    expected = {n: d for n, d in remote.registry().items() if n.startswith(spec.root + "/")}
    assert len(expected) > 10
    for name, digest in expected.items():
        assert _sha256(tmp_path / name) == digest, name
    assert (root / "LICENSE").read_text().startswith("MIT")


@pytest.mark.mirror
def test_fetch_a_subset_with_a_file_url(mirror, tmp_path):
    root = fetch("s2-bolzano", ("LICENSE", "tests/data/stac/s2_l2a_test_item.json"),
                 mirror=mirror.as_uri(), cache_dir=tmp_path)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert files == ["LICENSE", "tests/data/stac/s2_l2a_test_item.json"]


@pytest.mark.mirror
def test_fetch_reads_the_mirror_from_the_environment(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_DATA_MIRROR", str(mirror))
    root = fetch("eolearn-slovenia", ("LICENSE",), cache_dir=tmp_path)
    assert _sha256(root / "LICENSE") == remote.registry()[f"{DATASETS['eolearn-slovenia'].root}/LICENSE"]


@pytest.mark.mirror
def test_cached_files_are_used_without_the_source(mirror, tmp_path):
    fetch("eolearn-slovenia", ("example_data/TestEOPatch/timestamps.json",), mirror=mirror, cache_dir=tmp_path)
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    root = fetch("eolearn-slovenia", ("example_data/TestEOPatch/timestamps.json",), mirror=empty,
                 cache_dir=tmp_path)
    assert (root / "example_data/TestEOPatch/timestamps.json").is_file()


@pytest.mark.mirror
def test_corrupted_cached_file_is_fetched_again(mirror, tmp_path):
    name = "example_data/TestEOPatch/timestamps.json"
    root = fetch("eolearn-slovenia", (name,), mirror=mirror, cache_dir=tmp_path)
    digest = _sha256(root / name)
    (root / name).write_text("[]")
    fetch("eolearn-slovenia", (name,), mirror=mirror, cache_dir=tmp_path)
    assert _sha256(root / name) == digest == remote.registry()[f"{DATASETS['eolearn-slovenia'].root}/{name}"]


@pytest.mark.mirror
def test_corrupted_source_file_raises(mirror, tmp_path):
    spec = DATASETS["eolearn-slovenia"]
    bad = tmp_path / "bad-mirror"
    shutil.copytree(mirror / spec.root / "example_data/TestEOPatch/meta_info", bad / spec.root / "example_data/"
                    "TestEOPatch/meta_info")
    with open(bad / spec.root / "example_data/TestEOPatch/meta_info/maxcc.json", "a") as f:
        f.write(" ")
    with pytest.raises(DatasetError, match=r"TestEOPatch/meta_info/maxcc\.json: checksum mismatch"):
        fetch("eolearn-slovenia", ("example_data/TestEOPatch/meta_info",), mirror=bad,
              cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / spec.root / "example_data/TestEOPatch/meta_info/maxcc.json").exists()


@pytest.mark.mirror
def test_file_missing_from_the_mirror_raises(mirror, tmp_path):
    partial = tmp_path / "partial-mirror"
    (partial / DATASETS["eolearn-slovenia"].root).mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"LICENSE is missing from the local mirror"):
        fetch("eolearn-slovenia", ("LICENSE",), mirror=partial, cache_dir=tmp_path / "cache")


# ------------------------------------------------------------------------------------ rebuilding embedded data


def _open(path):
    return xr.open_dataset(path, engine="h5netcdf", decode_coords="all")


@pytest.mark.mirror
def test_rebuilding_slovenia_reproduces_the_embedded_files(mirror, tmp_path):
    ds, polygons = embedded.build_slovenia(fetch("eolearn-slovenia", mirror=mirror, cache_dir=tmp_path))
    embedded.write_embedded(ds, tmp_path / "slovenia.nc")
    with _open(tmp_path / "slovenia.nc") as rebuilt, _open(embedded.DATA.joinpath("slovenia.nc")) as shipped:
        xr.testing.assert_identical(rebuilt, shipped)
    shipped_polygons = gpd.read_file(embedded.DATA.joinpath("slovenia_polygons.gpkg"))
    pd.testing.assert_frame_equal(pd.DataFrame(polygons.drop(columns="geometry")),
                                  pd.DataFrame(shipped_polygons.drop(columns="geometry")))
    assert polygons.geometry.geom_equals_exact(shipped_polygons.geometry, tolerance=0).all()
    assert polygons.crs == shipped_polygons.crs


@pytest.mark.mirror
def test_rebuilding_bolzano_reproduces_the_embedded_file(mirror, tmp_path):
    ds = embedded.build_bolzano(fetch("s2-bolzano", mirror=mirror, cache_dir=tmp_path))
    embedded.write_embedded(ds, tmp_path / "bolzano.nc", reflectance=True)
    with _open(tmp_path / "bolzano.nc") as rebuilt, _open(embedded.DATA.joinpath("bolzano.nc")) as shipped:
        xr.testing.assert_identical(rebuilt, shipped)
