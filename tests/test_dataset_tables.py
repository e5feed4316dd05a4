"""labkit.datasets.tables: the public labelled sample sets, fetched from the local mirror and read as sample sets."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import labkit.datamodel as dm
from labkit.datasets import load_formosat, load_rondonia, load_victoria
from labkit.errors import ConfigError, DatasetError
from labkit.io import read_samples, write_samples
from labkit.samples import split_by_group

pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for the module: each file is copied from the mirror once."""
    return tmp_path_factory.mktemp("labkit-cache")


def _counts(samples) -> dict[str, int]:
    codes, names = dm.label_codes(samples)  # integer codes with class_name, or text labels
    return {names[int(c)]: int(n) for c, n in zip(*np.unique(codes, return_counts=True))}


def test_victoria_train_and_test(mirror, cache):
    for split, n_groups in (("train", 113), ("test", 107)):
        samples = load_victoria(split, mirror=mirror, cache_dir=cache)
        assert dm.validate(samples) == "samples"
        assert dict(samples.sizes) == {"sample": 400, "time": 73, "band": 10, "class": 8}
        assert samples.band.values.tolist() == ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
        assert set(_counts(samples).values()) == {50}
        assert dm.class_names(samples) == {0: "Bare Ground", 1: "Canola", 2: "Cereals", 3: "Legumes", 4: "Forest",
                                           5: "Grassland", 6: "Water", 7: "Urban"}
        assert samples.map_value.values.tolist() == [1, 2, 3, 7, 8, 10, 12, 13]
        assert 0 <= float(samples.X.min()) and 0.5 < float(samples.X.max()) < 1.5  # reflectance, no longer x 10 000
        assert np.unique(samples.group.values).size == n_groups  # group = objectid
        assert samples.attrs["split"] == split


def test_victoria_all_merges_both_files_and_splits_without_leakage(mirror, cache, tmp_path):
    train = load_victoria("train", mirror=mirror, cache_dir=cache)
    test = load_victoria("test", mirror=mirror, cache_dir=cache)
    both = load_victoria("all", mirror=mirror, cache_dir=cache)
    assert both.sizes["sample"] == 800 and both.sample.values.tolist() == list(range(800))
    shared = set(train.group.values.tolist()) & set(test.group.values.tolist())
    assert len(shared) == 38  # the published split leaks 38 polygons...
    assert np.unique(both.group.values).size == 113 + 107 - 38
    np.testing.assert_array_equal(both.X.values[400:], test.X.values)
    assert both.subset.values[:400].tolist() == ["train"] * 400 and set(both.subset.values[400:].tolist()) == {"test"}
    fit, check = split_by_group(both, train_size=0.5, random_state=0)  # ...a split by objectid does not
    assert not set(fit.group.values.tolist()) & set(check.group.values.tolist())
    xr.testing.assert_identical(read_samples(write_samples(both, tmp_path / "victoria.nc")), both)


def test_formosat(mirror, cache):
    train = load_formosat(mirror=mirror, cache_dir=cache)
    assert dict(train.sizes) == {"sample": 260, "time": 149, "band": 3, "class": 13}
    assert train.band.values.tolist() == ["NIR", "R", "G"]
    assert set(_counts(train).values()) == {20}
    assert dm.class_names(train)[0] == "wheat" and dm.class_names(train)[11] == "water"
    assert train.map_value.values.tolist() == list(range(1, 14))
    assert 0 < float(train.X.min()) and float(train.X.max()) < 1
    water = train.X.values[train.label.values == 11]
    assert np.median(water[..., 0]) < np.median(train.X.values[..., 0])  # water is dark in the NIR
    test = load_formosat("test", mirror=mirror, cache_dir=cache)
    assert not set(train.group.values.tolist()) & set(test.group.values.tolist())  # no polygon shared
    assert load_formosat("all", mirror=mirror, cache_dir=cache).sizes["sample"] == 520


def test_rondonia(mirror, cache):
    samples = load_rondonia(mirror=mirror, cache_dir=cache)
    assert dict(samples.sizes) == {"sample": 481, "time": 36, "band": 11}
    assert sorted(set(samples.label.values)) == ["Deforestation", "Forest", "NonForest"]  # names, as in sits
    assert samples.band.values.tolist() == ["B02", "B03", "B07", "B08", "B8A", "B11", "B12", "NDVI", "EVI", "NDMI",
                                            "SAVI"]
    assert _counts(samples) == {"NonForest": 295, "Forest": 144, "Deforestation": 42}
    assert str(samples.time.values[0])[:10] == "2018-08-12" and str(samples.time.values[-1])[:10] == "2019-07-28"
    assert np.unique(samples.group.values).size == 481
    assert samples.attrs["dataset"] == "insitu-rondonia"


def test_the_mirror_comes_from_the_environment(mirror, cache, monkeypatch):
    monkeypatch.setenv("LABKIT_DATA_MIRROR", str(mirror))
    assert load_formosat("test", cache_dir=cache).sizes["sample"] == 260


def test_bad_split_and_unreachable_source(mirror, tmp_path):
    with pytest.raises(ConfigError, match=r"load_victoria: split must be one of \('train', 'test', 'all'\); got 'val'"):
        load_victoria("val", mirror=mirror, cache_dir=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="is missing from the local mirror"):
        load_formosat(mirror=tmp_path / "empty", cache_dir=tmp_path / "cache")
    with pytest.raises(DatasetError, match="is not a folder"):
        load_formosat(mirror=tmp_path / "nowhere", cache_dir=tmp_path / "cache")
