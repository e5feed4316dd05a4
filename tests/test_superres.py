"""Super-resolution of the 20 m bands: Wald degradation, the network, the stage, the metrics and the real data.

labkit/models/deep/superres.py, labkit/superres.py and labkit/datasets/superres_data.py; the real-data benchmark is
bench/superres.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

import labkit.datamodel as dm
from labkit.errors import BandError, ConfigError, DataModelError, GridMismatchError, OutputExistsError, ReadError
from labkit.datasets.superres_data import BANDS_10M, BANDS_20M
from labkit.models import load_model, make_model, model_names, save_model, task_of
from labkit.models.deep.superres import SuperResolution, degrade, upsample, wald_pair
from labkit.superres import evaluate_wald, psnr, rmse, ssim, superresolve, upsample_bicubic

T10 = (10.0, 0, 500000.0, 0, -10.0, 4000000.0)
T20 = (20.0, 0, 500000.0, 0, -20.0, 4000000.0)
DATES = ["2021-05-01", "2021-05-11"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def synthetic_scene(seed: int, size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """``(10 m bands (4, size, size), 20 m bands (6, size / 2, size / 2))`` sharing three smooth latent fields.

    The 20 m bands are other mixtures of the same fields, observed at 10 m then degraded by 2 (Wald's model of
    the 20 m sensor), so that their lost detail is predictable from the 10 m bands.
    """
    rng = np.random.default_rng(seed)
    fields = np.stack([gaussian_filter(rng.normal(size=(size, size)), 1.5) for _ in range(3)])
    fields /= fields.std(axis=(1, 2), keepdims=True)
    mix10 = np.array([[1.0, 0.2, 0.0], [0.8, 0.5, 0.1], [0.6, 0.1, 0.7], [0.1, 1.0, 0.3]])
    mix20 = np.array([[0.7, 0.4, 0.3], [0.3, 0.9, 0.2], [0.2, 1.0, 0.3], [0.1, 1.0, 0.4], [0.5, 0.2, 0.8],
                      [0.9, 0.0, 0.6]])
    b10 = 0.2 + 0.03 * np.einsum("bk,kyx->byx", mix10, fields)
    b20 = degrade(0.25 + 0.03 * np.einsum("bk,kyx->byx", mix20, fields))
    return b10.astype(np.float32), b20


@pytest.fixture(scope="module")
def model() -> SuperResolution:
    scenes = [synthetic_scene(seed) for seed in (1, 2)]
    return SuperResolution(features=12, n_blocks=2, patch_size=16, batch_size=8, steps=150, learning_rate=3e-3,
                           random_state=0).fit(scenes)


def cubes(b10: np.ndarray, b20: np.ndarray, n_time: int = 2) -> tuple:
    cube = dm.make_cube(np.stack([b10 * (1 + 0.1 * t) for t in range(n_time)]), DATES[:n_time], list(BANDS_10M),
                        transform=T10, crs="EPSG:32631")
    cube20 = dm.make_cube(np.stack([b20 * (1 + 0.1 * t) for t in range(n_time)]), DATES[:n_time], list(BANDS_20M),
                          transform=T20, crs="EPSG:32631")
    return cube, cube20


# ------------------------------------------------------------------------------------------- Wald's degradation


def test_degrade_blurs_then_averages_2x2_blocks():
    image = np.random.default_rng(0).random((3, 10, 13)).astype("float32")
    assert degrade(image).shape == (3, 5, 6)
    plain = degrade(image, sigma=0)
    np.testing.assert_allclose(plain[:, 1, 2], image[:, 2:4, 4:6].mean(axis=(1, 2)), rtol=1e-6)
    blurred = gaussian_filter(image, (0, 0.5, 0.5), mode="reflect")[:, :10, :12]
    np.testing.assert_allclose(degrade(image), blurred.reshape(3, 5, 2, 6, 2).mean(axis=(2, 4)), rtol=1e-5)
    np.testing.assert_allclose(degrade(np.full((8, 8), 0.3)), 0.3, rtol=1e-6)


def test_wald_pair_degrades_every_band_by_two():
    x10, x20, target = wald_pair(np.ones((4, 120, 120)), np.full((6, 60, 60), 2.0))
    assert (x10.shape, x20.shape, target.shape) == ((4, 60, 60), (6, 30, 30), (6, 60, 60))
    x10, x20, target = wald_pair(np.ones((4, 14, 10)), np.ones((6, 7, 5)))  # an odd 20 m grid is cropped
    assert (x10.shape, x20.shape, target.shape) == ((4, 6, 4), (6, 3, 2), (6, 6, 4))


def test_wald_pair_refuses_grids_that_do_not_match():
    with pytest.raises(GridMismatchError, match=r"the 20 m bands are 30 x 30 px, but 10 m bands of 120 x 120 px "
                                                r"need a 20 m grid of 60 x 60 px"):
        wald_pair(np.ones((4, 120, 120)), np.ones((6, 30, 30)))


def test_upsample_keeps_the_upper_left_corners_together():
    coarse = np.arange(12.0).reshape(3, 4)
    nearest = upsample(coarse, method="nearest")
    assert (nearest[0:2, 0:2] == coarse[0, 0]).all() and (nearest[4:6, 6:8] == coarse[2, 3]).all()
    ramp = np.tile(np.arange(8.0), (8, 1))  # x = column index at 20 m
    fine = upsample(ramp, method="bicubic")
    expected = (np.arange(16) + 0.5) / 2 - 0.5  # the 10 m pixel centres, in 20 m pixels
    np.testing.assert_allclose(fine[5, 4:12], expected[4:12], atol=1e-5)  # cubic convolution keeps a linear ramp


# ------------------------------------------------------------------------------------------------------ network


def test_the_network_beats_bicubic_on_scenes_it_never_saw(model):
    unseen = [synthetic_scene(seed) for seed in (7, 8)]
    network, bicubic = evaluate_wald(unseen, model), evaluate_wald(unseen, None)
    ratio = network["rmse"] / bicubic["rmse"]
    assert (ratio < 0.8).all(), ratio.round(3).to_dict()
    assert (network["ssim"] > bicubic["ssim"]).all() and (network["psnr"] > bicubic["psnr"]).all()
    assert np.mean(model.loss_curve_[-20:]) < np.mean(model.loss_curve_[:20])


def test_fit_is_seeded_and_save_load_predicts_identically(model, tmp_path):
    b10, b20 = synthetic_scene(5, 48)
    again = SuperResolution(**model.get_params()).set_params(steps=3).fit([synthetic_scene(1)])
    twice = SuperResolution(**model.get_params()).set_params(steps=3).fit([synthetic_scene(1)])
    assert np.array_equal(again.predict(b10, b20), twice.predict(b10, b20))
    path = save_model(model, tmp_path / "sr.labkit")
    back = load_model(path)
    assert type(back) is SuperResolution and back.get_params() == model.get_params()
    assert np.array_equal(back.predict(b10, b20), model.predict(b10, b20))
    for name in ("mean10_", "std10_", "mean20_", "std20_"):
        np.testing.assert_array_equal(getattr(back, name), getattr(model, name))
    with pytest.raises(OutputExistsError):
        save_model(model, path)


def test_the_one_registry_builds_it_and_the_sample_set_api_refuses_it():
    from labkit.models import MODELS, fit_model

    assert "dsen2" in model_names("super-resolution") and MODELS["dsen2"].inputs == "scenes"
    model = make_model("dsen2", steps=5, features=8)
    assert type(model) is SuperResolution and model.steps == 5 and task_of(model) == "super-resolution"
    with pytest.raises(ConfigError, match=r"has no parameter\(s\) \['step'\] \(did you mean 'steps'\?\)"):
        make_model("dsen2", step=5)
    with pytest.raises(ConfigError, match=r"steps must be an integer >= 1; got 0"):
        make_model("dsen2", steps=0)
    samples = dm.make_samples(np.ones((4, 2, 1)), [1, 1, 2, 2], np.arange(4), bands=["B05"])
    with pytest.raises(ConfigError, match=r"reads whole scenes .* fit it with model.fit\(scenes\)"):
        fit_model("dsen2", samples)


def test_fit_checks_its_inputs():
    with pytest.raises(BandError, match=r"scene 0 has no band \['B8A', 'B11', 'B12'\]"):
        SuperResolution().fit([{b: np.ones((8, 8)) for b in (*BANDS_10M, "B05", "B06", "B07")}])
    with pytest.raises(ConfigError, match=r"patch_size=32 is larger than scene 0's degraded grid \(24 x 24 px\)"):
        SuperResolution().fit([synthetic_scene(0, 48)])
    with pytest.raises(ConfigError, match=r"SuperResolution: steps must be an integer >= 1; got 0"):
        SuperResolution(steps=0).fit([synthetic_scene(0, 48)])


# -------------------------------------------------------------------------------------------------------- stage


def test_superresolve_keeps_grid_crs_and_dates(model):
    cube, cube20 = cubes(*synthetic_scene(3, 64))
    out = superresolve(cube, model, cube20=cube20)
    assert out.dims == dm.CUBE_DIMS and out.dtype == np.float32
    assert out.band.values.tolist() == [*BANDS_10M, *BANDS_20M]
    assert (out.time.values == cube.time.values).all() and (out.x.values == cube.x.values).all()
    assert (out.y.values == cube.y.values).all()
    assert out.rio.crs == cube.rio.crs and out.rio.transform() == cube.rio.transform()
    np.testing.assert_array_equal(out.sel(band=list(BANDS_10M)).values, cube.values)
    for t in range(2):
        np.testing.assert_allclose(out.sel(band=list(BANDS_20M)).values[t],
                                   model.predict(cube.values[t], cube20.values[t]), atol=1e-6)
    only = superresolve(cube, model, cube20=cube20, keep_bands=False)
    assert only.band.values.tolist() == list(BANDS_20M)


def test_a_20m_pixel_covers_the_2x2_pixels_that_share_its_corner():
    ramp20 = np.tile(np.arange(10.0, dtype="float32"), (1, 1, 6, 1))  # value = column of the 20 m pixel
    cube20 = dm.make_cube(ramp20, DATES[:1], ["B11"], transform=T20, crs="EPSG:32631")
    cube = dm.make_cube(np.zeros((1, 1, 12, 20), "float32"), DATES[:1], ["B02"], transform=T10, crs="EPSG:32631")
    out = upsample_bicubic(cube, cube20=cube20, bands20=["B11"]).sel(band="B11").values[0]
    centres = (np.arange(20) + 0.5) / 2 - 0.5
    np.testing.assert_allclose(out[6, 4:16], centres[4:16], atol=1e-5)
    # the same 20 m bands resampled onto the 10 m grid by nearest neighbour, inside the cube: the same result
    inside = dm.make_cube(upsample(ramp20, method="nearest"), DATES[:1], ["B11"], transform=T10, crs="EPSG:32631")
    np.testing.assert_array_equal(superresolve(inside, bands20=["B11"]).values[0, 0], out)


def test_blocks_and_dask_give_the_same_result(model):
    cube, cube20 = cubes(*synthetic_scene(4, 80))
    whole = superresolve(cube, model, cube20=cube20)
    for block in (24, (32, 16)):
        blocks = superresolve(cube, model, cube20=cube20, block=block)
        np.testing.assert_allclose(blocks.values, whole.values, atol=1e-5)
    # odd dask chunks: the engine's blocks still start at even rows and columns (a 20 m pixel is 2 x 2 of them)
    odd = superresolve(cube.chunk({"y": 25, "x": 27}), model, cube20=cube20.chunk({"y": 13, "x": 13}))
    np.testing.assert_allclose(odd.values, whole.values, atol=1e-5)
    small = superresolve(cube, model, cube20=cube20, memory="2MB")  # a budget that needs several blocks
    np.testing.assert_allclose(small.values, whole.values, atol=1e-5)
    lazy = superresolve(cube.chunk({"time": 1}), model, cube20=cube20.chunk({"time": 1}), block=32)
    assert hasattr(lazy.data, "dask")
    np.testing.assert_allclose(lazy.values, whole.values, atol=1e-5)


def test_missing_inputs_are_missing_outputs_and_do_not_spread(model):
    cube, cube20 = cubes(*synthetic_scene(6, 64))
    cube20.values[0, 2, 10, 7] = np.nan      # B07's 20 m pixel (10, 7) on the first date
    cube.values[0, 3, 30, 41] = np.inf       # B08 at one 10 m pixel: missing too
    for sharp in (superresolve(cube, model, cube20=cube20, block=32, keep_bands=False),
                  upsample_bicubic(cube, cube20=cube20, keep_bands=False)):
        missing = np.isnan(sharp.values[0])
        assert missing.all(axis=0).sum() == missing.any(axis=0).sum()  # every 20 m band together
        rows, cols = np.nonzero(missing[0])
        expected = {(20, 14), (20, 15), (21, 14), (21, 15)} | ({(30, 41)} if sharp.attrs["superresolution"] !=
                                                              "bicubic" else set())
        assert set(zip(rows.tolist(), cols.tolist())) == expected
        assert np.isfinite(sharp.values[1]).all()


def test_bands_grids_and_dates_are_checked(model):
    cube, cube20 = cubes(*synthetic_scene(0, 32))
    with pytest.raises(BandError, match=r"superresolve: the cube has no band \['B08'\] .* The network reads"):
        superresolve(cube.sel(band=["B02", "B03", "B04"]), model, cube20=cube20)
    with pytest.raises(BandError, match=r"superresolve: cube20 has no band \['B12'\]"):
        superresolve(cube, model, cube20=cube20.sel(band=list(BANDS_20M[:5])))
    with pytest.raises(BandError, match=r"the cube has no band \['B05', .*Pass the 20 m bands on their 20 m grid"):
        superresolve(cube, model)
    with pytest.raises(GridMismatchError, match=r"cube20's CRS \(EPSG:32632\) is not the cube's \(EPSG:32631\)"):
        superresolve(cube, model, cube20=cube20.rio.write_crs("EPSG:32632"))
    shifted = cube20.assign_coords(x=cube20.x + 10.0)  # half a 20 m pixel to the east
    with pytest.raises(GridMismatchError, match=r"upper-left corner \(500010, 4e\+06\) is not the cube's"):
        superresolve(cube, model, cube20=shifted)
    at_10m = dm.make_cube(cube20.values, DATES, list(BANDS_20M), transform=T10, crs="EPSG:32631")
    with pytest.raises(GridMismatchError, match=r"cube20's pixels are 10 x 10; they must be twice the cube's"):
        superresolve(cube, model, cube20=at_10m)
    with pytest.raises(GridMismatchError, match=r"cube20 is 15 x 16 px; the cube's 32 x 32 px at 10 m need 16 x 16"):
        superresolve(cube, model, cube20=cube20.isel(y=slice(0, 15)))
    with pytest.raises(DataModelError, match=r"cube20's dates \(1\) are not the cube's \(2\)"):
        superresolve(cube, model, cube20=cube20.isel(time=[0]))
    with pytest.raises(DataModelError, match=r"cube: dims must be"):
        superresolve(cube.transpose("band", "time", "y", "x"), model, cube20=cube20)
    with pytest.raises(ConfigError, match=r"block and halo must be even .*; got block=33, halo="):
        superresolve(cube, model, cube20=cube20, block=33)
    with pytest.raises(ConfigError, match=r"block and halo must be even .*; got block=\(32, 15\), halo="):
        superresolve(cube, model, cube20=cube20, block=(32, 15))
    with pytest.raises(ConfigError, match=r"superresolve: block must be None .* an integer >= 2"):
        superresolve(cube, model, cube20=cube20, block=0)
    with pytest.raises(ConfigError, match=r"model must be None \(bicubic\), a SuperResolution or the path"):
        superresolve(cube, 3, cube20=cube20)
    with pytest.raises(ConfigError, match=r"the model sharpens .* together"):
        superresolve(cube, model, cube20=cube20, bands20=["B05"])


def test_superresolve_reads_a_saved_model(model, tmp_path):
    cube, cube20 = cubes(*synthetic_scene(2, 32), n_time=1)
    path = save_model(model, tmp_path / "model.labkit")
    np.testing.assert_array_equal(superresolve(cube, path, cube20=cube20).values,
                                  superresolve(cube, model, cube20=cube20).values)
    classifier = save_model(make_model("sklearn.tree.DecisionTreeClassifier").fit(np.ones((4, 2, 1)), [1, 1, 2, 2]),
                            tmp_path / "tree.labkit")
    with pytest.raises(ConfigError, match=r"tree.labkit holds a Pipeline, not a super-resolution model"):
        superresolve(cube, classifier, cube20=cube20)


# ------------------------------------------------------------------------------------------------------ metrics


def reference_ssim(x: np.ndarray, y: np.ndarray, peak: float) -> float:
    """SSIM by its definition (Wang et al. 2004), window by window: an 11 x 11 Gaussian of sigma 1.5, normalised."""
    g = np.exp(-(np.arange(-5, 6) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    values = []
    for i in range(5, x.shape[0] - 5):
        for j in range(5, x.shape[1] - 5):
            a, b = x[i - 5:i + 6, j - 5:j + 6], y[i - 5:i + 6, j - 5:j + 6]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb, cov = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum(), (w * (a - ma) * (b - mb)).sum()
            values.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    return float(np.mean(values))


def test_ssim_matches_its_definition_and_known_values():
    rng = np.random.default_rng(0)
    x = gaussian_filter(rng.random((24, 27)), 1.0)
    y = x + 0.05 * rng.normal(size=x.shape)
    assert ssim(x, y, data_range=1.0) == pytest.approx(reference_ssim(x, y, 1.0), abs=1e-6)
    assert ssim(x, y) == pytest.approx(reference_ssim(x, y, x.max() - x.min()), abs=1e-6)
    assert ssim(x, x) == pytest.approx(1.0)
    # two constant images: only the luminance term is left, (2 * 0.2 * 0.3 + C1) / (0.2² + 0.3² + C1), C1 = 1e-4
    assert ssim(np.full((16, 16), 0.2), np.full((16, 16), 0.3), data_range=1.0) == pytest.approx(0.1201 / 0.1301)
    with pytest.raises(DataModelError, match=r"ssim: expected two images \(y, x\) of at least 11 x 11 px"):
        ssim(np.ones((8, 8)), np.ones((8, 8)))


def test_rmse_and_psnr():
    assert rmse([0.0, 0.0, np.nan], [3.0, 4.0, 0.0]) == pytest.approx(np.sqrt(12.5))
    assert psnr([0.0, 1.0], [0.1, 0.9]) == pytest.approx(20.0)
    assert psnr([0.0, 0.5], [0.1, 0.4], data_range=1.0) == pytest.approx(20.0)
    assert psnr([0.0, 1.0], [0.0, 1.0]) == np.inf


# ----------------------------------------------------------------------------------------------- real data


@pytest.mark.mirror
def test_load_dsen2_reads_the_mat_file_the_right_way_round(mirror, tmp_path):
    from labkit.datasets.superres_data import load_dsen2

    scene = load_dsen2("T33UUB", mirror, cache_dir=tmp_path)
    assert scene.name == "S2A_MSIL1C_20170527_T33UUB" and str(scene.date) == "2017-05-27"
    shapes = {b: a.shape for b, a in scene.bands.items()}
    assert shapes["B02"] == (600, 600) and shapes["B8A"] == (300, 300) and shapes["B09"] == (100, 100)
    assert all(a.dtype == np.float32 for a in scene.bands.values())
    assert 0.02 < scene.bands["B04"].mean() < 0.3 and scene.bands["B08"].max() < 1.5  # reflectance, not DN
    b08_at_20m = scene.bands["B08"].reshape(300, 2, 300, 2).mean(axis=(1, 3))
    assert np.corrcoef(b08_at_20m.ravel(), scene.bands["B8A"].ravel())[0, 1] > 0.99  # transposed back
    with pytest.raises(ConfigError, match=r"load_dsen2: unknown scene 'T31TCJ'"):
        load_dsen2("T31TCJ", mirror, cache_dir=tmp_path)


def test_a_damaged_mat_file_is_named(tmp_path):
    from labkit.datasets.superres_data import read_dsen2_mat

    path = tmp_path / "S2A_MSIL1C_20170527_T33UUB.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file, not HDF5")
    with pytest.raises(ReadError, match=r"S2A_MSIL1C_20170527_T33UUB.mat: cannot read"):
        read_dsen2_mat(path)


@pytest.mark.mirror
def test_load_bigearthnet_reads_every_patch_with_its_grid(mirror, tmp_path):
    from labkit.datasets.superres_data import load_bigearthnet

    patches = load_bigearthnet(mirror, cache_dir=tmp_path)
    assert len(patches) == 14 and len({p.name for p in patches}) == 14
    for patch in patches:
        assert patch.bands["B02"].shape == (120, 120) and patch.bands["B11"].shape == (60, 60)
        assert patch.crs.to_epsg() in (32629, 32633, 32634, 32635) and patch.transform.a == 10.0
        assert patch.transform_at(20).a == 20.0 and patch.level == "L2A" and patch.labels
        assert 0 < patch.bands["B8A"].mean() < 1


def test_on_real_patches_it_beats_bicubic_on_every_band_and_maps_a_real_patch(mirror, tmp_path):
    """Trained on 8 BigEarthNet patches (a short run), scored by Wald's protocol on the 6 it never saw; then applied at
    full resolution to an unseen patch, as a cube with its real CRS."""
    from labkit.datasets.superres_data import load_bigearthnet

    patches = load_bigearthnet(mirror, cache_dir=tmp_path)
    train, unseen = patches[:8], patches[8:]
    model = SuperResolution(features=8, n_blocks=2, steps=200, random_state=0).fit(train)
    network, bicubic = evaluate_wald(unseen, model), evaluate_wald(unseen, None)
    ratio = network["rmse"] / bicubic["rmse"]
    assert (ratio < 0.8).all(), ratio.round(3).to_dict()
    assert (network["ssim"] > bicubic["ssim"]).all() and (network["psnr"] > bicubic["psnr"]).all()

    patch = unseen[0]
    t10, t20 = patch.transform, patch.transform_at(20)
    date = [str(patch.date)[:10]]
    cube = dm.make_cube(np.stack([patch.bands[b] for b in BANDS_10M])[None], date, list(BANDS_10M),
                        transform=tuple(t10)[:6], crs=patch.crs)
    cube20 = dm.make_cube(np.stack([patch.bands[b] for b in BANDS_20M])[None], date, list(BANDS_20M),
                          transform=tuple(t20)[:6], crs=patch.crs)
    sharp = superresolve(cube, model, cube20=cube20)
    assert sharp.rio.crs == patch.crs and sharp.rio.transform() == cube.rio.transform()
    assert sharp.band.values.tolist() == [*BANDS_10M, *BANDS_20M] and sharp.shape == (1, 10, 120, 120)
    # the sharpened bands keep what the 20 m pixels measured: their 2 x 2 means stay close to the 20 m values
    means = degrade(sharp.sel(band=list(BANDS_20M)).values[0], sigma=0)
    error = np.abs(means - cube20.values[0]).mean() / np.abs(cube20.values[0]).mean()
    assert error < 0.05  # 2.7 % measured (bicubic interpolation: 1.4 %)
