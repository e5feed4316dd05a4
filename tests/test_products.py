"""labkit.sources.products: Theia/MAJA and SAFE product folders read as a lazy cube and its validity mask."""

from __future__ import annotations

import shutil

import dask.array as da
import numpy as np
import pytest
from rasterio.transform import from_origin

import _product_fixtures as fx
from labkit.errors import BandError, ConfigError, GridMismatchError, ReadError
from labkit.sources import read_safe, read_theia

SIZE = 40  # Theia: 40 x 40 at 10 m, 20 x 20 at 20 m
SAFE_SIZE = 60  # SAFE: 60 x 60 at 10 m, 30 x 30 at 20 m, 10 x 10 at 60 m
THEIA_DATES = ("2018-06-01T10:54:16", "2018-06-11T10:50:21", "2018-06-21T10:56:12")
SAFE_DATES = ("2022-06-02T10:16:11", "2022-06-07T10:15:59")


def _block(rows, cols, size=SIZE, value=1):
    array = np.zeros((size, size), np.uint8)
    array[rows, cols] = value
    return array


@pytest.fixture(scope="module")
def theia(tmp_path_factory):
    """Three dates written in reverse order: a cloud (CLM bit 1) and a saturated pixel on the first, the edge of the
    swath (EDG, and no-data in the bands) over the top-left 4 x 4 pixels of the second."""
    root = tmp_path_factory.mktemp("theia")
    edge = _block(slice(0, 4), slice(0, 4))
    specs = [dict(clm=_block(slice(10, 14), slice(20, 24), value=2), sat=_block(30, 30, value=8)),
             dict(edg=edge, nodata=edge.astype(bool)), {}]
    return [fx.write_theia(root, date, date_index=i, **spec) for i, (date, spec) in
            reversed(list(enumerate(zip(THEIA_DATES, specs))))]


@pytest.fixture(scope="module")
def safe(tmp_path_factory):
    """Two dates: baseline 04.00 (offset -1000) with every SCL class in its first 12 pixels of row 0 (20 m) and
    no-data over the top-left 2 x 2 pixels (10 m); baseline 03.01 (no offset) on the second."""
    root = tmp_path_factory.mktemp("safe")
    scl = np.full((SAFE_SIZE // 2, SAFE_SIZE // 2), 4, np.uint8)
    scl[5, :12] = np.arange(12)
    nodata = np.zeros((SAFE_SIZE, SAFE_SIZE), bool)
    nodata[:2, :2] = True
    return [fx.write_safe(root, SAFE_DATES[0], date_index=0, scl=scl, nodata=nodata),
            fx.write_safe(root, SAFE_DATES[1], date_index=1, baseline="03.01")]


def _reflectance(band, date_index, shape):
    return fx.band_dn(band, date_index, shape) / 10000


# ---------------------------------------------------------------------------------------------------- Theia


def test_theia_cube_and_mask_follow_the_data_model(theia):
    cube, mask = read_theia(theia, chunks=16)
    assert cube.dims == ("time", "band", "y", "x") and mask.dims == ("time", "y", "x")
    assert cube.band.values.tolist() == ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
    assert [str(t)[:19] for t in cube.time.values] == list(THEIA_DATES)  # sorted, with the time of day
    assert cube.dtype == np.float32 and mask.dtype == np.uint8
    assert cube.rio.crs == fx.THEIA_CRS and mask.rio.crs == fx.THEIA_CRS
    assert cube.rio.transform() == from_origin(*fx.THEIA_ORIGIN, 10, 10)
    assert cube.sizes == {"time": 3, "band": 10, "y": SIZE, "x": SIZE}
    np.testing.assert_array_equal(mask.x, cube.x)
    # lazy, one date and band per block, blocks of `chunks` pixels
    assert isinstance(cube.data, da.Array) and isinstance(mask.data, da.Array)
    assert cube.data.chunks == ((1,) * 3, (1,) * 10, (16, 16, 8), (16, 16, 8))


def test_theia_10m_bands_are_reflectance_with_nan_at_nodata(theia):
    cube, _ = read_theia(theia, bands=["B2", "nir"])
    values = cube.values
    assert cube.band.values.tolist() == ["B02", "B08"]
    for t in (0, 2):
        np.testing.assert_allclose(values[t, 0], _reflectance("B02", t, (SIZE, SIZE)), rtol=1e-6)
        np.testing.assert_allclose(values[t, 1], _reflectance("B08", t, (SIZE, SIZE)), rtol=1e-6)
    assert np.isnan(values[1, :, :4, :4]).all() and not np.isnan(values[1, :, 4:, :]).any()
    assert not np.isnan(values[[0, 2]]).any()


def test_theia_20m_bands_are_resampled_onto_the_10m_grid(theia):
    native = _reflectance("B05", 0, (SIZE // 2, SIZE // 2))
    nearest = read_theia(theia[-1:], bands=["B05"], resampling="nearest")[0].values[0, 0]
    np.testing.assert_allclose(nearest, np.repeat(np.repeat(native, 2, 0), 2, 1), rtol=1e-6)
    bilinear = read_theia(theia[-1:], bands=["B05"])[0].values[0, 0]
    # a ramp of 20 DN per 20 m pixel along x: 10 DN per 10 m pixel between the 20 m pixel centres
    expected = (1000 + 100 * fx.ALL_BANDS.index("B05") + 10 * np.arange(SIZE) - 5) / 10000
    np.testing.assert_allclose(bilinear[:, 1:-1], np.broadcast_to(expected, (SIZE, SIZE))[:, 1:-1], rtol=1e-6)
    assert not np.isnan(bilinear).any()  # the edges are not lost
    # no-data takes no part in bilinear resampling: NaN exactly over the 20 m no-data pixels
    second = read_theia(theia[1], bands=["B05"])[0].values[0, 0]
    assert np.isnan(second[:4, :4]).all() and not np.isnan(second[4:, :]).any() and not np.isnan(second[:, 4:]).any()


def test_theia_mask_codes_from_clm_sat_edg(theia):
    mask = read_theia(theia, bands=["B02"])[1].values
    expected = np.zeros((3, SIZE, SIZE), np.uint8)
    expected[0, 10:14, 20:24] = 1  # CLM bit 1 (clouds)
    expected[0, 30, 30] = 1  # SAT
    expected[1, :4, :4] = 2  # EDG: outside the swath
    np.testing.assert_array_equal(mask, expected)


def test_theia_at_20m_reads_the_r2_grid_and_masks(theia):
    cube, mask = read_theia(theia, bands=["B02", "B05"], resolution=20, resampling="average")
    assert cube.rio.transform() == from_origin(*fx.THEIA_ORIGIN, 20, 20)
    assert cube.sizes["y"] == cube.sizes["x"] == SIZE // 2
    values = cube.values
    np.testing.assert_allclose(values[2, 1], _reflectance("B05", 2, (SIZE // 2,) * 2), rtol=1e-6)  # native
    ramp = fx.band_dn("B02", 2, (SIZE // 2, SIZE))[:, ::2] + 10  # mean of each pair of 10 m columns
    np.testing.assert_allclose(values[2, 0], ramp / 10000, rtol=1e-6)
    expected = np.zeros((3, SIZE // 2, SIZE // 2), np.uint8)
    expected[0, 5:7, 10:12] = 1
    expected[0, 15, 15] = 1
    expected[1, :2, :2] = 2
    np.testing.assert_array_equal(mask.values, expected)


def test_theia_surface_reflectance_on_request(theia):
    fre = read_theia(theia[-1], bands=["B04"])[0].values
    sre = read_theia(theia[-1], bands=["B04"], reflectance="sre")[0].values
    np.testing.assert_allclose(sre - fre, fx.SRE_SHIFT / 10000, atol=1e-6)


def test_theia_glob_and_renamed_folder(theia, tmp_path):
    cube, _ = read_theia(str(theia[0].parent / "SENTINEL2A_*"), bands=["B02"])
    assert cube.sizes["time"] == 3
    renamed = fx.write_theia(tmp_path, "2019-01-05T11:00:00", bands=["B02"], name="my_product")
    assert str(read_theia(renamed, bands=["B02"])[0].time.values[0])[:19] == "2019-01-05T11:00:00"  # from the files


def test_theia_is_read_lazily_and_later_errors_name_the_file(tmp_path):
    folder = fx.write_theia(tmp_path, bands=["B02", "B05"])
    cube, _ = read_theia(folder, bands=["B02", "B05"])
    band_file = next(folder.glob("*_FRE_B5.tif"))
    band_file.write_bytes(b"not a raster any more")  # after the call: nothing was read but the headers
    with pytest.raises(ReadError, match=r"FRE_B5\.tif.*date 2018-06-01T10:54:16, band B05"):
        cube.compute()


# ----------------------------------------------------------------------------------------------------- SAFE


def test_safe_cube_follows_the_data_model(safe):
    cube, mask = read_safe(list(reversed(safe)))
    assert cube.band.values.tolist() == ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
    assert [str(t)[:19] for t in cube.time.values] == list(SAFE_DATES)
    assert cube.rio.crs == fx.SAFE_CRS and cube.rio.transform() == from_origin(*fx.SAFE_ORIGIN, 10, 10)
    assert cube.sizes == {"time": 2, "band": 10, "y": SAFE_SIZE, "x": SAFE_SIZE}
    assert isinstance(cube.data, da.Array) and isinstance(mask.data, da.Array)
    assert mask.dtype == np.uint8 and mask.rio.crs == fx.SAFE_CRS


def test_safe_reflectance_uses_the_offset_of_each_baseline(safe):
    values = read_safe(safe, bands=["B02", "B08"])[0].values
    for t in (0, 1):  # DN - 1000 (baseline 04.00) and DN (03.01) both give the same reflectance
        expected = _reflectance("B02", t, (SAFE_SIZE, SAFE_SIZE))
        np.testing.assert_allclose(values[t, 0, 2:], expected[2:], rtol=1e-5)
    assert np.isnan(values[0, :, :2, :2]).all() and np.isnan(values[0]).sum() == 2 * 4  # DN 0: no data
    assert not np.isnan(values[1]).any()
    # JPEG 2000 files carry no nodata: DN 0 is kept out of the bilinear resampling of 20 m bands all the same
    b05 = read_safe(safe[0], bands=["B05"])[0].values[0, 0]
    assert np.isnan(b05[:2, :2]).all() and np.isnan(b05).sum() == 4
    ramp = (1000 + 100 * fx.ALL_BANDS.index("B05") + 10 * np.arange(SAFE_SIZE) - 5) / 10000
    np.testing.assert_allclose(b05[:, 4:-1], np.broadcast_to(ramp, b05.shape)[:, 4:-1], rtol=1e-5)


def test_safe_offsets_are_read_per_band(tmp_path):
    offsets = {**dict.fromkeys(fx.SAFE_BAND_IDS, -1000), "B8A": -1200}
    folder = fx.write_safe(tmp_path, offsets=offsets, size=20, folders={10: ("B02",), 20: ("B8A",)})
    values = read_safe(folder, bands=["B8A", "B02"], resolution=20)[0].values[0]
    np.testing.assert_allclose(values[0], (fx.band_dn("B8A", 0, (10, 10)) - 200) / 10000, rtol=1e-5)
    assert values[1].shape == (10, 10)


def test_safe_mask_codes_from_scl(safe):
    mask = read_safe(safe, bands=["B02"])[1].values
    classes = np.repeat(np.arange(12), 2)  # SCL (20 m) on the 10 m grid: each class over 2 columns
    codes = np.array([2, 1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0])[classes]  # labkit.masks' defaults: snow (11) valid
    np.testing.assert_array_equal(mask[0, 10:12, :24], np.broadcast_to(codes, (2, 24)))
    assert (mask[0, :10] == 0).all() and (mask[1] == 0).all()


def test_safe_bands_come_from_the_folder_of_the_resolution(safe):
    cube = read_safe(safe, bands=["B02", "B05", "B08"], resolution=20, resampling="average")[0]
    assert cube.rio.transform() == from_origin(*fx.SAFE_ORIGIN, 20, 20)
    values, shape = cube.values, (SAFE_SIZE // 2,) * 2
    # B02 read from R20m as it is there (not B02 of R10m averaged, which would be 10 DN more)
    np.testing.assert_allclose(values[1, 0], _reflectance("B02", 1, shape), rtol=1e-5)
    np.testing.assert_allclose(values[1, 1], _reflectance("B05", 1, shape), rtol=1e-5)
    # B08 is only at 10 m: averaged onto the 20 m grid
    ramp = fx.band_dn("B08", 1, (SAFE_SIZE // 2, SAFE_SIZE))[:, ::2] + 10
    np.testing.assert_allclose(values[1, 2], ramp / 10000, rtol=1e-5)


def test_safe_60m_bands_and_grid(safe):
    cube, mask = read_safe(safe, bands=["B01", "B09", "B8A"], resolution=60)
    assert cube.sizes["y"] == SAFE_SIZE // 6 and cube.rio.transform() == from_origin(*fx.SAFE_ORIGIN, 60, 60)
    np.testing.assert_allclose(cube.values[1, 1], _reflectance("B09", 1, (10, 10)), rtol=1e-5)
    assert mask.sizes["y"] == SAFE_SIZE // 6
    # B01 at 10 m: from R60m (the only folder that holds it), each 60 m pixel over 6 x 6
    b01 = read_safe(safe[1], bands=["B01"], resampling="nearest")[0].values[0, 0]
    np.testing.assert_allclose(b01, np.kron(_reflectance("B01", 1, (10, 10)), np.ones((6, 6))), rtol=1e-5)


# ---------------------------------------------------------------------------------------------------- errors


def test_a_folder_of_neither_layout_says_what_it_expected_and_found(tmp_path):
    other = tmp_path / "downloads"
    other.mkdir()
    (other / "notes.txt").write_text("")
    with pytest.raises(ReadError, match=r"not a Theia/MAJA L2A product folder .*_FRE_B2\.tif.*it holds notes\.txt"):
        read_theia(other)
    with pytest.raises(ReadError, match=r"not a Sentinel-2 L2A SAFE folder .*MTD_MSIL2A\.xml.*it holds notes\.txt"):
        read_safe(other)


def test_the_other_layout_points_to_the_other_reader(theia, safe, tmp_path):
    with pytest.raises(ReadError, match="is a Sentinel-2 L2A SAFE folder.*read_safe"):
        read_theia(safe[0])
    with pytest.raises(ReadError, match="is a Theia/MAJA L2A product folder.*read_theia"):
        read_safe(theia[0])
    with pytest.raises(ReadError, match=r"Pass the product folders themselves, e\.g\. '.*/SENTINEL2A_"):
        read_theia(theia[0].parent)
    l1c = tmp_path / "S2A_MSIL1C_20220602T101611_N0400_R065_T32TPS_20220602T120000.SAFE"
    l1c.mkdir()
    (l1c / "MTD_MSIL1C.xml").write_text("<x/>")
    with pytest.raises(ReadError, match="L1C"):
        read_safe(l1c)
    archive = tmp_path / "product.zip"
    archive.write_bytes(b"PK")
    with pytest.raises(ReadError, match="is a file.*Unzip it first"):
        read_theia(archive)
    with pytest.raises(ReadError, match="no such file"):
        read_safe(tmp_path / "missing.SAFE")


def test_missing_files_are_named(tmp_path):
    theia = fx.write_theia(tmp_path / "t", bands=["B02"])
    with pytest.raises(BandError, match=r"no file of band B05 \(FRE\): expected .*\*_FRE_B5\.tif"):
        read_theia(theia, bands=["B02", "B05"])
    next((theia / "MASKS").glob("*_SAT_R1.tif")).unlink()
    with pytest.raises(ReadError, match=r"no file of the SAT mask at R1: expected .*MASKS/\*_SAT_R1\.tif"):
        read_theia(theia, bands=["B02"])
    safe = fx.write_safe(tmp_path / "s", size=12, folders={10: ("B02",), 20: ("B05",)})
    with pytest.raises(BandError, match=r"no file of band B11: expected R10m/\*_B11_10m\.jp2"):
        read_safe(safe, bands=["B02", "B11"])
    (safe / "MTD_MSIL2A.xml").unlink()
    with pytest.raises(ReadError, match="has no MTD_MSIL2A.xml"):
        read_safe(safe, bands=["B02"])


def test_safe_metadata_must_give_the_offsets_of_its_baseline(tmp_path):
    safe = fx.write_safe(tmp_path, size=12, folders={10: ("B02",), 20: ()}, offsets={})
    with pytest.raises(ReadError, match="baseline 04.00 but has no BOA_ADD_OFFSET"):
        read_safe(safe, bands=["B02"])
    (safe / "MTD_MSIL2A.xml").write_text(fx.mtd_xml(offsets={"B03": -1000}))
    with pytest.raises(ReadError, match=r"no BOA_ADD_OFFSET for band\(s\) \['B02'\]"):
        read_safe(safe, bands=["B02"])
    (safe / "MTD_MSIL2A.xml").write_text("<Level-2A_User_Product>")
    with pytest.raises(ReadError, match="not readable XML"):
        read_safe(safe, bands=["B02"])


def test_folders_of_different_tiles_grids_or_the_same_date_are_refused(tmp_path):
    first = fx.write_theia(tmp_path, THEIA_DATES[0], size=8, bands=["B02"])
    other_tile = fx.write_theia(tmp_path, THEIA_DATES[1], size=8, bands=["B02"], tile="31TCK")
    with pytest.raises(GridMismatchError, match="is tile T31TCK but .* is tile T31TCJ; a cube holds one tile"):
        read_theia([first, other_tile], bands=["B02"])
    moved = fx.write_theia(tmp_path / "moved", THEIA_DATES[1], size=8, bands=["B02"], origin=(300100.0, 4800000.0))
    with pytest.raises(GridMismatchError, match="transform"):
        read_theia([first, moved], bands=["B02"])
    again = tmp_path / "again" / first.name
    shutil.copytree(first, again)
    with pytest.raises(ReadError, match="the same date 2018-06-01T10:54:16"):
        read_theia([first, again], bands=["B02"])


def test_bad_arguments_are_config_or_band_errors(theia, safe):
    with pytest.raises(ConfigError, match=r"reflectance must be one of \['FRE', 'SRE'\]"):
        read_theia(theia[0], reflectance="TOA")
    with pytest.raises(ConfigError, match=r"resolution must be one of \[10, 20\]; got 60"):
        read_theia(theia[0], resolution=60)
    with pytest.raises(ConfigError, match=r"resolution must be one of \[10, 20, 60\]"):
        read_safe(safe[0], resolution=30)
    for method in ("smooth", "gauss"):  # gauss: a Resampling that GDAL's warper does not do
        with pytest.raises(ConfigError, match=r"resampling must be one of \['nearest', 'bilinear'"):
            read_safe(safe[0], resampling=method)
    with pytest.raises(ConfigError, match="always read lazily"):
        read_theia(theia[0], chunks=None)
    with pytest.raises(BandError, match=r"Theia L2A products hold no band \['B01'\]"):
        read_theia(theia[0], bands=["B1"])
    with pytest.raises(BandError, match=r"hold no band \['B10'\]"):
        read_safe(safe[0], bands=["B10"])
    with pytest.raises(BandError, match="not a Sentinel-2 band"):
        read_safe(safe[0], bands=["NDVI"])
    with pytest.raises(ConfigError, match="twice"):
        read_safe(safe[0], bands=["B04", "red"])
