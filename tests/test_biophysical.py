"""Biophysical inversion (labkit.biophysical): PROSAIL simulations as a sample set (shapes, ranges, seeds, the physics
of LAI and chlorophyll), Gaussian spectral responses, inversion models scored on held-back simulations, ``invert`` on
a cube (missing values, mask, grid, blocks), and the regression path through cross_validate and ``labkit cv``."""

from __future__ import annotations

import json

import numpy as np
import pytest

import labkit.datamodel as dm
from labkit.accuracy import assess_regression
from labkit.biophysical import PRIORS, S2A_BANDS, Prior, invert, simulate_prosail, spectral_response
from labkit.cli import main
from labkit.errors import BandError, ConfigError, DataModelError
from labkit.io import write_samples
from labkit.models import cross_validate, fit_model

BANDS = ["B02", "B03", "B04", "B08"]  # the embedded Bolzano cube's
RF = {"model": "rf-regressor", "params": {"n_estimators": 50, "n_jobs": 1, "random_state": 0}}
MLP = {"model": "mlp-regressor", "params": {"network_params": {"hidden": [64, 64]}, "epochs": 60, "patience": 10,
                                            "random_state": 0}}
# Every variable but LAI (or Cab) fixed at its mode (the middle of its range when uniform), no noise: reflectance is
# then a function of the one that varies.
FIXED = {name: prior.mode if prior.mode is not None else (prior.low + prior.high) / 2 for name, prior in PRIORS.items()}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def train():
    return simulate_prosail(400, bands=BANDS, random_state=0)


@pytest.fixture(scope="module")
def held_back():
    return simulate_prosail(150, bands=BANDS, random_state=1)


@pytest.fixture(scope="module")
def rf(train):
    return fit_model(RF, train)


# -------------------------------------------------------------------------------------------------- simulation


def test_simulations_are_a_sample_set_of_one_date_with_lai_as_target(train):
    assert dm.validate(train) == "samples" and dict(train.sizes) == {"sample": 400, "time": 1, "band": 4}
    assert train.band.values.tolist() == BANDS and "label" not in train
    assert np.array_equal(train.target.values, train.lai.values) and train.target.attrs["variable"] == "lai"
    assert np.unique(train.group.values).size == 400  # every simulation its own group
    X = train.X.values
    assert X.dtype == np.float32 and np.isfinite(X).all() and X.min() >= 0 and X.max() <= 1
    for name in [*PRIORS, "car", "cw"]:
        assert train[name].dims == ("sample",)
    assert "PROSAIL" in train.attrs["simulation"] and "Gaussian" in train.attrs["spectral_response"]


def test_drawn_variables_stay_in_their_ranges_and_follow_lai(train):
    for name, prior in PRIORS.items():
        values = train[name].values
        assert values.min() >= prior.low - 1e-9 and values.max() <= prior.high + 1e-9, name
    lai, cab = train.lai.values, train.cab.values
    assert np.median(lai) < 4  # the ATBD's LAI: mode 2, truncated Gaussian
    # co-distribution: dense canopies get the ATBD's chlorophyll range at the largest LAI, [45, 90], approached
    # linearly: at LAI 7.5 (half of 15) the lower bound has moved half-way, to 32.5
    assert cab[lai > 7.5].min() >= 32.5 - 1e-9 and cab[lai < 1].min() < 30
    half = simulate_prosail(30, ranges={"lai": 7.5}, bands=["B04"], random_state=0)  # the same with LAI fixed
    assert half.cab.values.min() >= 32.5 - 1e-9 and np.all(half.lai.values == 7.5)
    assert np.allclose(train.car.values, cab / 4)
    assert np.allclose(train.cw.values / train.cm.values, train.cw_rel.values / (1 - train.cw_rel.values))


def test_the_same_seed_gives_the_same_simulations_and_another_seed_others():
    first, again = (simulate_prosail(20, bands=["B04", "B08"], random_state=7) for _ in range(2))
    assert first.identical(again)
    other = simulate_prosail(20, bands=["B04", "B08"], random_state=8)
    assert not np.allclose(first.X.values, other.X.values)


def test_ranges_override_the_priors():
    s = simulate_prosail(30, ranges={"lai": (0, 8), "sun_zenith": 30.0, "cab": Prior(40, 50, mode=45, std=5)},
                         bands=["B04"], random_state=0)
    assert s.lai.values.max() <= 8 and np.all(s.sun_zenith.values == 30.0)
    assert s.cab.values.min() >= 40 and s.cab.values.max() <= 50
    cab = simulate_prosail(5, bands=["B04"], target="cab", random_state=0)
    assert np.array_equal(cab.target.values, cab.cab.values) and cab.target.attrs["units"] == "ug cm-2"


def test_more_leaves_darken_the_red_and_brighten_the_near_infrared():
    s = simulate_prosail(40, ranges={**FIXED, "lai": (0.05, 8)}, bands=["B04", "B08"], noise=False,
                         random_state=0)
    order = np.argsort(s.lai.values)
    lai, red, nir = s.lai.values[order], s.X.values[order, 0, 0], s.X.values[order, 0, 1]
    assert np.all(np.diff(nir) > 0) and nir[-1] > 1.5 * nir[0]
    assert np.all(np.diff(red[lai < 3]) < 0) and red[0] > 3 * red[-1]  # the red saturates in dense canopies


def test_more_chlorophyll_darkens_the_green_and_red_but_not_the_near_infrared():
    s = simulate_prosail(30, ranges={**FIXED, "lai": 3.0, "cab": (20, 90)}, bands=["B03", "B04", "B08"],
                         noise=False, random_state=0)
    order = np.argsort(s.cab.values)
    green, red, nir = (s.X.values[order, 0, i] for i in range(3))
    assert np.all(np.diff(green) < 0) and np.all(np.diff(red) < 0)
    assert np.ptp(nir) < 0.1 * nir.mean()


def test_noise_perturbs_the_reflectances_within_zero_and_one():
    clean = simulate_prosail(200, bands=BANDS, noise=False, random_state=3)
    noisy = simulate_prosail(200, bands=BANDS, noise=True, random_state=3)
    assert np.array_equal(clean.lai.values, noisy.lai.values)  # the same canopies
    difference = noisy.X.values - clean.X.values
    assert 0.005 < difference.std() < 0.05 and noisy.X.values.min() >= 0 and noisy.X.values.max() <= 1


def test_spectral_responses_are_normalised_gaussians_at_the_band_centres():
    srf = spectral_response(["B02", "B8A", "B12"])
    assert srf.shape == (3, 2101) and np.allclose(srf.sum(axis=1), 1)
    peaks = 400 + srf.argmax(axis=1)
    assert np.allclose(peaks, [S2A_BANDS[b][0] for b in ["B02", "B8A", "B12"]], atol=0.5)
    half = srf[0] >= srf[0].max() / 2  # full width at half maximum: the band's width (66 nm for B02)
    assert abs(int(half.sum()) - S2A_BANDS["B02"][1]) <= 2
    assert np.allclose(np.full(2101, 0.3) @ srf.T, 0.3)  # a flat spectrum gives the same reflectance in every band


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"n": 0}, ConfigError, r"simulate_prosail: n must be an integer >= 1; got 0"),
    ({"ranges": {"sun_zentih": 30}}, ConfigError, r"unknown variable 'sun_zentih' \(did you mean 'sun_zenith'\?\)"),
    ({"ranges": {"lai": (5, 1)}}, ConfigError, r"ranges\['lai'\]\.high must be a finite number >= 5; got 1"),
    ({"ranges": {"lai": (-1, 3)}}, ConfigError, r"ranges\['lai'\] must not go below 0"),
    ({"ranges": {"cab": "high"}}, ConfigError, r"ranges\['cab'\] must be a number \(fixed\), a \(low, high\) pair"),
    ({"bands": ["B4"]}, BandError, r"'B4' is not a Sentinel-2 band \(did you mean 'B04'\?\)"),
    ({"bands": ["B04", "B04"]}, ConfigError, r"bands must not repeat"),
    ({"target": "LAI"}, ConfigError, r"target 'LAI' is not a simulated variable \(did you mean 'lai'\?\)"),
    ({"noise": "yes"}, ConfigError, r"noise must be True or False"),
])
def test_bad_simulation_parameters_are_refused_by_name(kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate_prosail(**{"n": 3, **kwargs})


# -------------------------------------------------------------------------------------------------- inversion


@pytest.mark.parametrize(("config", "threshold"), [(RF, 0.5), (MLP, 0.5)], ids=["rf-regressor", "mlp-regressor"])
def test_models_invert_lai_on_held_back_simulations(train, held_back, rf, config, threshold):
    model = rf if config is RF else fit_model(config, train)
    report = assess_regression(held_back.target.values, model.predict(held_back.X.values))
    assert report.r2 > threshold and report.rmse < 1.8 and abs(report.bias) < 0.5, report


def _cube_of(samples, height=4, width=5, n_time=3, bands=BANDS):
    """A cube whose pixels are held-back simulations, ``(time, band, y, x)``, with the truth along."""
    n = n_time * height * width
    values = samples.X.values[:n, 0, :].reshape(n_time, height, width, -1).transpose(0, 3, 1, 2).astype("float64")
    cube = dm.make_cube(values, ["2022-06-02", "2022-06-05", "2022-06-10"][:n_time], bands,
                        transform=(10.0, 0, 679000.0, 0, -10.0, 5152000.0), crs="EPSG:32632")
    return cube, samples.target.values[:n].reshape(n_time, height, width)


def test_invert_maps_every_valid_pixel_and_date_keeping_the_grid(held_back, rf):
    cube, truth = _cube_of(held_back)
    cube[1, 2, 0, 0] = np.nan  # one band missing: no estimate for that pixel and date
    mask = dm.make_mask(np.zeros((3, 4, 5), "uint8"), like=cube)
    mask[2, 3, 4] = 1  # cloud
    lai = invert(cube, rf, mask=mask, block=2)
    assert lai.dims == ("time", "y", "x") and lai.name == "lai" and lai.dtype == np.float32
    assert np.array_equal(lai.time, cube.time) and np.array_equal(lai.y, cube.y) and np.array_equal(lai.x, cube.x)
    assert lai.rio.crs == cube.rio.crs and lai.rio.transform() == cube.rio.transform()
    missing = np.isnan(lai.values)
    assert missing[1, 0, 0] and missing[2, 3, 4] and missing.sum() == 2
    pixels = cube.values.transpose(0, 2, 3, 1).reshape(-1, 1, 4)
    expected = rf.predict(np.nan_to_num(pixels)).reshape(3, 4, 5)
    assert np.allclose(lai.values[~missing], expected[~missing], atol=1e-5)
    for block in (None, (1, 3)):  # the block engine's choice, a (rows, columns) pair: the same map
        assert np.allclose(invert(cube, rf, mask=mask, block=block).values, lai.values, equal_nan=True)
    assert np.corrcoef(lai.values[~missing], truth[~missing])[0, 1] > 0.6


def test_invert_reads_bands_by_name_and_refuses_what_it_cannot_invert(held_back, rf):
    cube, _ = _cube_of(held_back, n_time=1)
    shuffled = cube.sel(band=["B08", "B04", "B03", "B02"])
    extra = dm.make_cube(np.concatenate([shuffled.values, shuffled.values[:, :1] * 0], axis=1), shuffled.time.values,
                         [*shuffled.band.values.tolist(), "B11"], transform=shuffled.rio.transform(),
                         crs=shuffled.rio.crs)
    assert np.allclose(invert(extra, rf).values, invert(cube, rf).values)
    with pytest.raises(BandError, match=r"invert: the cube has no band\(s\) \['B02'\].*bands=\['B03', 'B04', 'B08'\]"):
        invert(cube.sel(band=["B03", "B04", "B08"]), rf)
    with pytest.raises(DataModelError, match=r"band B02 holds 1\d+.*digital numbers.*cube / 10000"):
        invert(cube * 10000, rf)
    classifier = fit_model({"model": "rf", "params": {"n_estimators": 5, "n_jobs": 1}},
                           held_back.assign(label=("sample", (held_back.target.values > 3).astype(int))))
    with pytest.raises(ConfigError, match=r"invert: the model .* is a classifier"):
        invert(cube, classifier)
    with pytest.raises(ConfigError, match=r"invert: the model has no input_signature_"):
        invert(cube, rf.steps[-1][1])
    with pytest.raises(ConfigError, match=r"invert: the mask is .* they must share dates and grid"):
        invert(cube, rf, mask=dm.make_mask(np.zeros((1, 4, 5), "uint8"), like=cube).isel(x=slice(0, 3)))
    with pytest.raises(ConfigError, match=r"invert: clip\[1\] must be a finite number >= 2; got 1"):
        invert(cube, rf, clip=(2, 1))


def test_invert_clips_to_the_given_bounds(held_back, rf):
    cube, _ = _cube_of(held_back, n_time=1)
    raw = invert(cube, rf).values
    clipped = invert(cube, rf, clip=(1.0, 3.0), name="LAI").values
    assert np.allclose(clipped, np.clip(raw, 1, 3)) and clipped.min() == 1.0 and clipped.max() == 3.0


# ------------------------------------------------------------------------------------- regression through cv


def test_cross_validate_and_labkit_cv_report_rmse_mae_and_r2_on_simulations(train, tmp_path, capsys):
    result = cross_validate(train, {"model": "rf-regressor", "params": {"n_estimators": 20, "n_jobs": 1}}, folds=3)
    assert result.task == "regression" and result.mean["r2"] > 0.4 and result.mean["rmse"] < 2
    path = write_samples(train, tmp_path / "prosail.nc")
    code = main(["cv", str(path), "--model", "rf-regressor", "--params", '{"n_estimators": 20, "n_jobs": 1}',
                 "--folds", "3", "--no-progress", "--json", str(tmp_path / "cv.json")])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and "400 samples, target " in lines[0] and [line.split()[0] for line in lines[1:4]] == [
        "RMSE", "MAE", "R²"]
    report = json.loads((tmp_path / "cv.json").read_text())
    assert report["scores"]["r2"]["mean"] == pytest.approx(result.mean["r2"], abs=1e-4)  # the same folds and seed
