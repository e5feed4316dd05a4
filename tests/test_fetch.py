"""labkit fetch: the registry of public datasets, their download through pooch (mirror, cache, checksums), their
conversion to labkit's formats (checked against the facts of ../shared/data/README.md), and the command line."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import xarray as xr

import labkit.datamodel as dm
from conftest import MIRROR
from labkit.cli import main
from labkit.cli.fetch import listing
from labkit.datasets import DATASETS, fetch, fetch_dataset
from labkit.datasets import convert, remote
from labkit.errors import DatasetError, OutputError, OutputExistsError
from labkit.io import read_samples, read_zarr

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """``converted(name)`` -> {file: path}: each dataset fetched from the mirror and converted once for the module."""
    if not MIRROR.is_dir():
        pytest.skip(f"no local data mirror at {MIRROR}")
    cache, dest = tmp_path_factory.mktemp("cache"), tmp_path_factory.mktemp("data")
    done: dict[str, dict[str, Path]] = {}

    def get(name: str) -> dict[str, Path]:
        if name not in done:
            done[name] = fetch_dataset(name, dest, mirror=MIRROR, cache_dir=cache)
        return done[name]

    get.cache = cache
    return get


def _counts(samples) -> dict:
    codes, names = dm.label_codes(samples)
    return {names[int(c)]: int(n) for c, n in zip(*np.unique(codes, return_counts=True))}


# ------------------------------------------------------------------------------------------------- registry


def test_every_dataset_has_a_converter_a_kind_and_registered_sizes():
    assert set(convert.CONVERTERS) == set(DATASETS)
    sizes, registry = remote.file_sizes(), remote.registry()
    assert set(sizes) == set(registry)  # every registered file has its size
    owned = set()
    for name, spec in DATASETS.items():
        assert set(spec.kinds) <= set(remote.KINDS) and spec.kinds, name
        assert set(spec.licence_files) <= set(spec.paths), name
        owned |= set(remote.files_of(name))
        assert remote.dataset_size(name) > 0
    assert owned == set(registry)  # no registered file belongs to no dataset


def test_every_dataset_of_the_data_readme_is_registered():
    readme = (MIRROR.parents[1] / "README.md") if MIRROR.is_dir() else None
    if readme is None or not readme.is_file():
        pytest.skip("no ../shared/data/README.md")
    ids = {line.split("|")[1].strip() for line in readme.read_text().splitlines()
           if line.startswith("| ") and not line.startswith("| id") and line.count("|") > 4}
    assert ids and ids <= set(DATASETS)
    for line in readme.read_text().splitlines():  # each origin's commit is the pinned one
        if line.startswith("| ") and line.split("|")[1].strip() in DATASETS:
            name = line.split("|")[1].strip()
            assert DATASETS[name].repo.split("@")[1] in line, name


def test_listing_names_every_dataset_with_licence_size_and_kind(capsys):
    assert main(["fetch", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "licence", "size", "kind", "description"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == set(DATASETS)
    assert "Apache-2.0" in rows["s2-bolzano"] and "55.0 MiB" in rows["s2-bolzano"] and " cube " in rows["s2-bolzano"]
    assert "cube+reference" in rows["eolearn-slovenia"] and "raw files" in rows["dsen2-crops"]
    assert listing() == "\n".join(lines)


def test_unknown_names_are_refused_with_a_suggestion(tmp_path, capsys):
    with pytest.raises(DatasetError, match=r"Unknown dataset 's2-bolzan'\. Did you mean 's2-bolzano'"):
        fetch_dataset("s2-bolzan", tmp_path)
    assert main(["fetch", "victoria", "--dest", str(tmp_path)]) == 2
    assert "Did you mean 'dl4sits-victoria'?" in capsys.readouterr().err
    assert main(["fetch"]) == 2
    assert "give a dataset NAME, or --list" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_mirror_that_is_not_a_folder_is_refused(tmp_path):
    with pytest.raises(DatasetError, match=r"The mirror .*nowhere is not a folder"):
        fetch("ucr-crop-train", mirror=tmp_path / "nowhere", cache_dir=tmp_path)


# ---------------------------------------------------------------------------------------------- conversions


@pytest.mark.mirror
def test_s2_bolzano_is_a_cube_with_its_scl_mask(converted):
    files = converted("s2-bolzano")
    assert sorted(files) == ["LICENSE", "README.txt", "cube.zarr"]
    cube, mask = read_zarr(files["cube.zarr"], with_mask=True, chunks=None)
    assert dict(cube.sizes) == {"time": 12, "band": 4, "y": 705, "x": 935}
    assert cube.band.values.tolist() == ["B02", "B03", "B04", "B08"] and cube.rio.crs.to_epsg() == 32632
    assert str(cube.time.values[0])[:10] == "2022-06-02" and str(cube.time.values[-1])[:10] == "2022-06-30"
    assert cube.rio.resolution() == (10.0, -10.0)
    assert 0 <= np.nanmin(cube.values) and 0.01 < np.nanmedian(cube.values[3]) < 0.5  # reflectance, not x 10 000
    cloudy = (mask.values != 0).mean(axis=(1, 2))
    assert (cloudy > 0.99).sum() == 3 and ((cloudy > 0.3) & (cloudy < 0.99)).sum() == 2  # 3 fully, 2 partly cloudy
    with xr.open_zarr(files["cube.zarr"]) as store:
        assert store["scl"].dtype == np.uint8 and int(store["scl"].max()) <= 11
    assert files["LICENSE"].read_bytes() == (MIRROR / DATASETS["s2-bolzano"].root / "LICENSE").read_bytes()


@pytest.mark.mirror
def test_s2_bolzano_tiny_is_the_top_left_corner_of_s2_bolzano(converted):
    tiny, tiny_mask = read_zarr(converted("s2-bolzano-tiny")["cube.zarr"], with_mask=True, chunks=None)
    full, full_mask = read_zarr(converted("s2-bolzano")["cube.zarr"], with_mask=True, chunks=None)
    assert dict(tiny.sizes) == {"time": 12, "band": 4, "y": 10, "x": 10}
    xr.testing.assert_identical(tiny, full.isel(y=slice(0, 10), x=slice(0, 10)))
    np.testing.assert_array_equal(tiny_mask.values, full_mask.values[:, :10, :10])
    licence = converted("s2-bolzano-tiny")["LICENSE"].read_text()
    assert "Apache-2.0" in licence and "Open-EO/openeo-processes-dask" in licence  # no licence file at that commit


@pytest.mark.mirror
def test_eolearn_slovenia_is_a_cube_with_mask_and_reference_polygons(converted):
    files = converted("eolearn-slovenia")
    cube, mask = read_zarr(files["cube.zarr"], with_mask=True, chunks=None)
    assert dict(cube.sizes) == {"time": 68, "band": 1, "y": 101, "x": 100} and cube.rio.crs.to_epsg() == 32633
    assert str(cube.time.values[0])[:10] == "2015-07-11" and str(cube.time.values[-1])[:10] == "2017-12-22"
    assert (mask.values == 1).any() and (mask.values == 0).mean() > 0.3
    with xr.open_zarr(files["cube.zarr"]) as store:
        assert sorted(np.unique(store["reference"].values).tolist()) == [0, 1, 2, 3, 4, 8]
    polygons = gpd.read_file(files["reference.gpkg"])
    assert len(polygons) == 88 and polygons.crs.to_epsg() == 32633
    assert {"cultivated land", "forest", "grassland", "shrubland", "artificial surface"} <= set(polygons.class_name)
    assert files["LICENSE"].read_text().startswith("MIT")


@pytest.mark.mirror
def test_sample_tables_become_netcdf_sample_sets(converted):
    victoria = converted("dl4sits-victoria")
    for split in ("train", "test"):
        samples = read_samples(victoria[f"{split}.nc"])
        assert dict(samples.sizes) == {"sample": 400, "time": 73, "band": 10, "class": 8}
        assert set(_counts(samples).values()) == {50}
    formosat = converted("tempcnn-formosat")
    assert dict(read_samples(formosat["test.nc"]).sizes) == {"sample": 260, "time": 149, "band": 3, "class": 13}
    assert formosat["test_img.tif"].stat().st_size == remote.file_sizes()[
        f"{DATASETS['tempcnn-formosat'].root}/example/test_img.tif"]
    rondonia = read_samples(converted("insitu-rondonia")["samples.nc"])
    assert dict(rondonia.sizes) == {"sample": 481, "time": 36, "band": 11}
    assert _counts(rondonia) == {"NonForest": 295, "Forest": 144, "Deforestation": 42}
    crop = read_samples(converted("ucr-crop-train")["samples.nc"])
    assert dict(crop.sizes) == {"sample": 7200, "time": 46, "band": 1} and len(_counts(crop)) == 24
    assert "GPL-3.0" in (victoria["README.txt"]).read_text()


@pytest.mark.mirror
def test_sits_sinop_gives_the_modis_cube_points_and_sample_tables(converted):
    files = converted("sits-sinop")
    cube, mask = read_zarr(files["cube.zarr"], with_mask=True, chunks=None)
    assert dict(cube.sizes) == {"time": 12, "band": 1, "y": 147, "x": 255}
    assert str(cube.time.values[0])[:10] == "2013-09-14" and str(cube.time.values[-1])[:10] == "2014-08-29"
    assert "Sinusoidal" in cube.rio.crs.to_wkt()
    assert np.nanmin(cube.values) >= -0.2 and 0.9 < np.nanmax(cube.values) < 1.1  # NDVI, no longer x 10 000
    assert ((mask.values == 2) == np.isnan(cube.values[:, 0])).all() and (mask.values == 2).any()
    points = gpd.read_file(files["points.gpkg"])
    assert len(points) == 18 and points.crs.to_epsg() == 4326
    assert {"label", "start_date", "end_date"} <= set(points.columns)
    left, bottom, right, top = cube.rio.bounds()
    x, y = points.to_crs(cube.rio.crs).geometry.x, points.to_crs(cube.rio.crs).geometry.y
    assert ((left < x) & (x < right) & (bottom < y) & (y < top)).all()  # the points lie in the cube
    sizes = {name: read_samples(files[f"{name}.nc"]).sizes["sample"]
             for name in ("samples_modis_ndvi", "cerrado_2classes", "samples_l8_rondonia_2bands")}
    assert sizes == {"samples_modis_ndvi": 1218, "cerrado_2classes": 746, "samples_l8_rondonia_2bands": 160}


@pytest.mark.mirror
def test_superres_sets_stay_raw_files_with_their_licences(converted):
    files = converted("dsen2-crops")
    root = MIRROR / DATASETS["dsen2-crops"].root
    assert sorted(files) == ["LICENSE", "LICENSE.md", "README.txt", "S2A_MSIL1C_20170527_T33UUB.mat",
                             "S2B_MSIL1C_20171022_T49JGM.mat"]
    assert files["S2A_MSIL1C_20170527_T33UUB.mat"].read_bytes() == (root / "data/S2A_MSIL1C_20170527_T33UUB.mat"
                                                                    ).read_bytes()
    assert files["LICENSE.md"].read_bytes() == (root / "data/LICENSE.md").read_bytes()
    readme = files["README.txt"].read_text()
    assert DATASETS["dsen2-crops"].origin in readme and "CC-BY-4.0" in readme
    tiny = converted("bigearthnet-s2")["tiny"]
    assert len([p for p in tiny.iterdir() if p.is_dir()]) == 11


# --------------------------------------------------------------------------------- mirror, cache, checksums


def _mirror_of(tmp_path: Path, name: str) -> Path:
    """A copy of one dataset's part of the mirror."""
    root = DATASETS[name].root
    copy = tmp_path / "mirror" / "github"
    shutil.copytree(MIRROR / root, copy / root)
    return copy


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob("*") if p.is_file())


@pytest.mark.mirror
@pytest.mark.parametrize("damage", ["truncated", "corrupted"])
def test_a_damaged_mirror_file_is_refused_and_never_cached(tmp_path, damage):
    bad = _mirror_of(tmp_path, "ucr-crop-train")
    name = f"{DATASETS['ucr-crop-train'].root}/data/sample/Crop/Crop_TRAIN.tsv"
    data = bytearray((bad / name).read_bytes())
    data = data[: len(data) // 2] if damage == "truncated" else data[:100] + b"9" + data[101:]
    (bad / name).write_bytes(bytes(data))
    expected = remote.registry()[name].removeprefix("sha256:")
    with pytest.raises(DatasetError, match=r"Crop_TRAIN\.tsv: checksum mismatch") as error:
        fetch_dataset("ucr-crop-train", tmp_path / "data", mirror=bad, cache_dir=tmp_path / "cache")
    message = str(error.value)
    assert expected in message and f"its SHA-256 is {__import__('hashlib').sha256(data).hexdigest()}" in message
    assert "build_registry.py --check" in message  # what to do
    assert str(bad / name) in message and "truncated" in message and f"{len(data)} bytes" in message
    assert _leftovers(tmp_path / "cache") == [] and not (tmp_path / "data" / "ucr-crop-train").exists()


@pytest.mark.mirror
def test_a_corrupted_cached_file_is_dropped_when_the_source_is_bad_too(tmp_path):
    cache = tmp_path / "cache"
    path = "data/samples_S2_T20LKP_2018_2019.rda"
    fetch("insitu-rondonia", mirror=MIRROR, cache_dir=cache)
    cached = cache / DATASETS["insitu-rondonia"].root / path
    cached.write_bytes(cached.read_bytes()[:1000])  # a cut download
    bad = _mirror_of(tmp_path, "insitu-rondonia")
    (bad / DATASETS["insitu-rondonia"].root / path).write_bytes(b"not an rda")
    with pytest.raises(DatasetError, match=r"samples_S2_T20LKP_2018_2019\.rda: checksum mismatch"):
        fetch("insitu-rondonia", mirror=bad, cache_dir=cache)
    assert _leftovers(cache) == []
    fetch("insitu-rondonia", mirror=MIRROR, cache_dir=cache)  # the good source repairs it
    assert cached.stat().st_size == remote.file_sizes()[f"{DATASETS['insitu-rondonia'].root}/{path}"]


@pytest.mark.mirror
def test_the_mirror_comes_from_the_environment_and_may_be_the_parent_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_DATA_MIRROR", str(MIRROR.parent))  # mirror/, which holds github/
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    files = fetch_dataset("s2-bolzano-tiny", tmp_path / "data")
    assert read_zarr(files["cube.zarr"]).sizes["x"] == 10
    assert (tmp_path / "cache" / DATASETS["s2-bolzano-tiny"].root).is_dir()
    assert remote.source_url() == MIRROR.resolve().as_uri()


@pytest.fixture
def served_mirror(tmp_path, monkeypatch):
    """A copy of insitu-rondonia's part of the mirror served over HTTP on localhost (the download path)."""
    import functools
    import http.server
    import threading

    folder = _mirror_of(tmp_path, "insitu-rondonia")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # a proxy of the environment would not reach it
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", folder
    server.shutdown()
    server.server_close()


@pytest.mark.mirror
def test_files_are_downloaded_from_a_mirror_url_and_checked(served_mirror, tmp_path):
    url, folder = served_mirror
    root = fetch("insitu-rondonia", mirror=url, cache_dir=tmp_path / "cache")
    path = "data/samples_S2_T20LKP_2018_2019.rda"
    assert (root / path).read_bytes() == (folder / DATASETS["insitu-rondonia"].root / path).read_bytes()
    (folder / DATASETS["insitu-rondonia"].root / path).write_bytes(b"changed at the source")
    with pytest.raises(DatasetError, match=rf"{url}{DATASETS['insitu-rondonia'].root}/{path}: checksum mismatch"):
        fetch("insitu-rondonia", mirror=url, cache_dir=tmp_path / "other-cache")
    (folder / DATASETS["insitu-rondonia"].root / path).unlink()
    with pytest.raises(DatasetError, match=r"Could not fetch .*samples_S2_T20LKP_2018_2019\.rda from http://127\.0\.0"
                                           r".*HTTPError.*404"):
        fetch("insitu-rondonia", mirror=url, cache_dir=tmp_path / "third-cache")
    assert _leftovers(tmp_path / "other-cache") == _leftovers(tmp_path / "third-cache") == []


# -------------------------------------------------------------------------------------- destination folders


@pytest.mark.mirror
def test_an_existing_dataset_folder_is_replaced_only_when_asked_and_only_if_labkit_wrote_it(tmp_path):
    kw = {"mirror": MIRROR, "cache_dir": tmp_path / "cache"}
    first = fetch_dataset("ucr-crop-train", tmp_path, **kw)
    marker = json.loads((tmp_path / "ucr-crop-train" / convert.MARKER).read_text())
    assert marker["dataset"] == "ucr-crop-train" and marker["files"] == sorted(first)
    with pytest.raises(OutputExistsError, match=r"ucr-crop-train already exists\. Pass overwrite=True"):
        fetch_dataset("ucr-crop-train", tmp_path, **kw)
    assert fetch_dataset("ucr-crop-train", tmp_path, overwrite=True, **kw) == first
    mine = tmp_path / "other"
    (mine / "ucr-crop-train").mkdir(parents=True)
    (mine / "ucr-crop-train" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="labkit fetch did not write"):
        fetch_dataset("ucr-crop-train", mine, overwrite=True, **kw)
    assert (mine / "ucr-crop-train" / "notes.txt").read_text() == "mine"


@pytest.mark.mirror
def test_a_failed_conversion_leaves_nothing_and_keeps_the_previous_folder(tmp_path, monkeypatch):
    kw = {"mirror": MIRROR, "cache_dir": tmp_path / "cache"}

    def broken(root, out):
        (out / "samples.nc").write_text("half")
        raise RuntimeError("disk full")

    monkeypatch.setitem(convert.CONVERTERS, "ucr-crop-train", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        fetch_dataset("ucr-crop-train", tmp_path / "new", **kw)
    assert not (tmp_path / "new" / "ucr-crop-train").exists()
    monkeypatch.undo()
    before = fetch_dataset("ucr-crop-train", tmp_path, **kw)
    content = before["samples.nc"].read_bytes()
    monkeypatch.setitem(convert.CONVERTERS, "ucr-crop-train", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        fetch_dataset("ucr-crop-train", tmp_path, overwrite=True, **kw)
    assert before["samples.nc"].read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "ucr-crop-train"]  # no temporaries


# --------------------------------------------------------------------------------------------- command line


@pytest.mark.mirror
def test_cli_fetches_converts_and_prints_the_readme(tmp_path, capsys):
    args = ["fetch", "ucr-crop-train", "--dest", str(tmp_path / "data"), "--mirror", str(MIRROR), "--cache",
            str(tmp_path / "cache"), "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"into {tmp_path / 'data' / 'ucr-crop-train'}" in out
    assert "samples.nc" in out and "Licence: UCR archive" in out and "Cite the origin" in out
    assert DATASETS["ucr-crop-train"].origin in out
    assert read_samples(tmp_path / "data/ucr-crop-train/samples.nc").sizes["sample"] == 7200
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


# ------------------------------------------------------------------------------------------ registry builder


def _builder():
    spec = importlib.util.spec_from_file_location("build_registry", ROOT / "data-fetch/build_registry.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.mirror
def test_build_registry_check_passes_on_the_mirror_and_rebuilds_the_shipped_files(tmp_path, capsys):
    builder = _builder()
    assert builder.main(["--check", "--mirror", str(MIRROR)]) == 0
    assert "no difference" in capsys.readouterr().out
    folder = remote.mirror_folder(MIRROR)
    found = builder.measure_mirror(folder, builder.dataset_files(folder))
    builder.write(found, tmp_path)
    for name in ("registry.txt", "sizes.txt"):
        assert (tmp_path / name).read_text() == (Path(remote.__file__).parent / name).read_text()
    name = next(iter(found))
    found[name] = ("sha256:" + "0" * 64, 1)
    assert builder.differences(found) == [f"differs: {name}: registry {remote.registry()[name]} "
                                          f"({remote.file_sizes()[name]} bytes), now sha256:{'0' * 64} (1 bytes)"]
