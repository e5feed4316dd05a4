"""The spatial deep model (labkit.models.deep.spatial): the U-Net's shapes, receptive field and seam-free tiles; the
patch sampler's disjoint training and validation patches; SpatialClassifier learning a synthetic scene and the
embedded Slovenian patch; missing observations, unlabelled pixels, and the errors of a reference off the grid."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import binary_dilation

import labkit.datamodel as dm
from labkit.datamodel import NO_CLASS
from labkit.datasets import load_slovenia
from labkit.datasets.synthetic import make_synthetic_scene
from labkit.errors import BandError, ConfigError, DataModelError
from labkit.models import MODELS, make_model, register_model
from labkit.models.deep import training as deep_training
from labkit.models.deep.data import BandScaler
from labkit.models.deep.spatial import (PatchSampler, SpatialClassifier, UNet, _PatchBatches, to_channels,
                                        unet_halo)

TINY = {"depth": 1, "width": 4, "dropout": 0.0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def scene():
    """A 64 x 64 synthetic scene of three classes (water, built-up, forest, grassland codes 1..4), in memory."""
    scene = make_synthetic_scene(64, 64, dates=6, bands=["B04", "B08"], n_classes=4, random_state=5)
    return scene.cube.compute(), scene.class_map.compute(), scene.mask.compute()


@pytest.fixture(scope="module")
def fitted(scene):
    """SpatialClassifier trained on ``scene`` (a few seconds), with a quarter of the blocks held out."""
    cube, reference, mask = scene
    return SpatialClassifier(patch_size=16, split_block=32, epochs=15, batch_size=8, learning_rate=3e-3,
                             validation_fraction=0.25, patience=None, network_params={"depth": 2, "width": 8,
                                                                                       "dropout": 0.0},
                             random_state=0).fit(cube, reference, mask=mask)


def eval_unet(depth, width=4, n_channels=3, seed=0):
    """A U-Net in eval mode with random batch-norm statistics (so that they are not the identity)."""
    torch.manual_seed(seed)
    net = UNet(n_channels, 2, depth=depth, width=width, dropout=0.0).eval()
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    return net


# ------------------------------------------------------------------------------------------------------------ UNet


@pytest.mark.parametrize(("depth", "height", "width"), [(1, 1, 1), (2, 7, 13), (3, 17, 16), (3, 33, 5)])
def test_unet_keeps_the_image_size_whatever_it_is(depth, height, width):
    net = eval_unet(depth)
    x = torch.randn(2, 3, height, width)
    x[0, 1, 0, 0] = float("nan")  # read as 0, never propagated
    out = net(x)
    assert out.shape == (2, 2, height, width)
    assert bool(torch.isfinite(out).all())


def test_unet_pads_like_explicit_zeros():
    """The internal padding is zeros at the bottom and right: the same as padding the input by hand."""
    net = eval_unet(2)
    x = torch.randn(1, 3, 10, 9)
    padded = torch.nn.functional.pad(x, (0, 3, 0, 2))
    assert torch.allclose(net(x), net(padded)[..., :10, :9], atol=1e-6)


def test_unet_refuses_other_channels_and_bad_hyperparameters():
    with pytest.raises(DataModelError, match=r"UNet was built for 3 channel\(s\); got x of shape \(1, 4, 8, 8\)"):
        eval_unet(1)(torch.zeros(1, 4, 8, 8))
    with pytest.raises(ConfigError, match="UNet: depth must be an integer from 1 to 6; got 0"):
        UNet(3, 2, depth=0)
    with pytest.raises(ConfigError, match=r"UNet: dropout must be a finite number >= 0 and < 1; got 1.0"):
        UNet(3, 2, dropout=1.0)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_a_pixel_changes_outputs_only_within_the_receptive_field(depth):
    """Perturb one input pixel at each position relative to the pooling grid: every output that changes lies within
    ``halo`` of it, and (through the gradient) the farthest dependency is exactly ``halo`` away."""
    net = eval_unet(depth)
    halo, align = net.halo, net.alignment
    assert (halo, net.receptive_field, align) == (unet_halo(depth), 2 * halo + 1, 2**depth)
    size = 2 * halo + 3 * align
    centre = size // 2 - (size // 2) % align
    x = torch.randn(1, 3, size, size, requires_grad=True)
    out = net(x)
    reach = 0
    for offset in range(align):
        pixel = centre + offset
        with torch.no_grad():
            changed = x.detach().clone()
            changed[0, :, pixel, pixel] += torch.randn(3)
            diff = (net(changed) - out).abs().sum(dim=1)[0].numpy()
        rows, cols = np.nonzero(diff > 0)
        assert len(rows) and max(np.abs(rows - pixel).max(), np.abs(cols - pixel).max()) <= halo
        (grad,) = torch.autograd.grad(out[0, :, pixel, pixel].sum(), x, retain_graph=True)
        rows, cols = np.nonzero(grad[0].abs().sum(dim=0).numpy() > 0)
        reach = max(reach, np.abs(rows - pixel).max(), np.abs(cols - pixel).max())
    assert reach == halo


def test_tiles_aligned_to_the_pooling_grid_give_the_whole_image():
    """The contract of tiled inference: a window that starts at multiples of ``alignment`` and reaches ``halo``
    past the core (or the image edge) gives the whole image's outputs on the core; a misaligned one does not."""
    net = eval_unet(2, n_channels=2)
    halo, align = net.halo, net.alignment
    image = torch.randn(1, 2, 70, 75)
    with torch.no_grad():
        whole = net(image)
        for (r0, r1), (c0, c1) in [((24, 48), (28, 52)), ((0, 20), (60, 75)), ((44, 70), (0, 30))]:
            top, left = max(0, (r0 - halo) // align * align), max(0, (c0 - halo) // align * align)
            bottom, right = min(70, r1 + halo), min(75, c1 + halo)
            tile = net(image[..., top:bottom, left:right])
            core = tile[..., r0 - top:r1 - top, c0 - left:c1 - left]
            assert torch.allclose(core, whole[..., r0:r1, c0:c1], atol=1e-5)
        shifted = net(image[..., 1:48 + halo, 1:52 + halo])[..., 23:47, 27:51]
        assert not torch.allclose(shifted, whole[..., 24:48, 28:52], atol=1e-5)


# ---------------------------------------------------------------------------------------------------- channels


def test_channels_are_time_major_with_a_validity_channel_per_date():
    values = np.arange(2 * 3 * 1 * 2, dtype="float32").reshape(2, 3, 1, 2)  # 2 dates, 3 bands, 1 x 2 pixels
    values[1, 2, 0, 1] = np.nan
    valid = np.array([[[True, False]], [[True, True]]])
    channels = to_channels(values, valid, BandScaler(np.zeros(3, "float32"), np.ones(3, "float32")))
    assert channels.shape == (8, 1, 2) and channels.dtype == np.float32
    assert channels[:, 0, 0].tolist() == [0, 2, 4, 1, 6, 8, 10, 1]  # t0: bands 0..2, valid; t1: bands, valid
    assert channels[:, 0, 1].tolist() == [0, 0, 0, 0, 0, 0, 0, 0]  # t0 masked; t1 has a NaN band: all missing


# ------------------------------------------------------------------------------------------------ PatchSampler


def check_split(sampler, height, width):
    """Assert every promise of a split; return it."""
    train, validation = sampler.split((height, width))
    p = sampler.patch_size
    for windows in (train, validation):
        assert windows.ndim == 2 and windows.shape[1] == 2
        assert (windows >= 0).all() and (windows[:, 0] + p <= height).all() and (windows[:, 1] + p <= width).all()
    trained = sampler.coverage(train, (height, width))
    validated = sampler.coverage(validation, (height, width))
    near = binary_dilation(trained, np.ones((2 * sampler.buffer + 1,) * 2, bool)) if sampler.buffer else trained
    assert not (near & validated).any()  # no validation pixel in, or within buffer of, a training patch
    train_blocks = {tuple(b) for b in sampler.split_blocks(train)}
    assert not train_blocks & {tuple(b) for b in sampler.split_blocks(validation)}  # whole blocks
    assert trained.any() or validated.any()
    return train, validation


@settings(max_examples=60, deadline=None)
@given(height=st.integers(8, 90), width=st.integers(8, 90), patch=st.integers(2, 8), overlap=st.integers(0, 7),
       block=st.integers(1, 40), buffer=st.integers(0, 6), fraction=st.sampled_from([0.0, 0.1, 0.3, 0.6]),
       seed=st.integers(0, 2**32 - 1))
def test_no_validation_pixel_is_ever_in_a_training_patch(height, width, patch, overlap, block, buffer, fraction,
                                                          seed):
    sampler = PatchSampler(patch, stride=max(1, patch - overlap), split_block=block, buffer=buffer,
                           validation_fraction=fraction, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a single block
        train, validation = check_split(sampler, height, width)
    n_blocks = len(np.unique(sampler.split_blocks(sampler.windows((height, width))), axis=0))
    assert (len(validation) > 0) == (fraction > 0 and n_blocks > 1)


@pytest.mark.parametrize("seed", range(5))
def test_aligned_patches_split_without_loss_and_reproducibly(seed):
    sampler = PatchSampler(8, split_block=16, validation_fraction=0.25, random_state=seed)
    train, validation = check_split(sampler, 64, 48)
    assert len(train) + len(validation) == len(sampler.windows((64, 48))) == 48  # nothing dropped
    assert len(validation) == 3 * 4  # 3 of the 12 blocks, 4 patches each
    again = PatchSampler(8, split_block=16, validation_fraction=0.25, random_state=seed).split((64, 48))
    assert all(np.array_equal(a, b) for a, b in zip((train, validation), again))


def test_patches_cover_the_grid_to_its_edges():
    windows = PatchSampler(16, stride=16).windows((40, 33))
    assert sorted(set(windows[:, 0].tolist())) == [0, 16, 24] and sorted(set(windows[:, 1].tolist())) == [0, 16, 17]
    assert PatchSampler(16).coverage(windows, (40, 33)).all()


def test_sampler_refuses_bad_parameters_and_warns_on_a_single_block():
    with pytest.raises(ConfigError, match=r"patch_size=32 is larger than the grid \(20 x 40 pixels\)"):
        PatchSampler(32).windows((20, 40))
    with pytest.raises(ConfigError, match="PatchSampler: stride must be an integer >= 1; got 0"):
        PatchSampler(8, stride=0)
    with pytest.raises(ConfigError, match="validation_fraction must be a finite number >= 0 and < 1; got 1"):
        PatchSampler(8, validation_fraction=1)
    with pytest.raises(ConfigError, match="PatchSampler: split_block must be an integer >= 1; got 0"):
        PatchSampler(8, split_block=0)
    with pytest.warns(UserWarning, match="single split block of 64 pixels.*Choose a smaller split_block"):
        train, validation = PatchSampler(8, split_block=64, validation_fraction=0.5).split((16, 16))
    assert len(train) == 4 and len(validation) == 0


def test_validation_batches_count_each_labelled_pixel_once():
    """Overlapping validation patches: the metrics read every labelled pixel once, in the order of the batches."""
    targets = np.arange(100).reshape(10, 10) % 3 - 1  # -1: unlabelled
    windows = np.array([[0, 0], [0, 4], [4, 4], [4, 0]])
    batches = _PatchBatches(np.zeros((1, 10, 10), "float32"), targets, windows, patch_size=6, batch_size=3,
                            count_once=True)
    labelled = PatchSampler(6).coverage(windows, (10, 10)) & (targets >= 0)
    assert len(batches.y) == labelled.sum()
    assert np.array_equal(np.concatenate([y for *_, y in batches.batches(0)]), batches.y[batches.rows])


# ------------------------------------------------------------------------------------------- SpatialClassifier


def test_learns_a_synthetic_scene_on_unseen_blocks(fitted, scene):
    cube, reference, mask = scene
    class_map = fitted.predict(cube, mask=mask)
    probs = fitted.predict_proba(cube, mask=mask)
    assert dm.validate(class_map) == "class_map" and dm.validate(probs) == "probs"
    assert class_map.rio.crs == cube.rio.crs and np.allclose(class_map.x, cube.x)
    assert probs["class"].values.tolist() == fitted.classes_.tolist() == [1, 2, 3, 4]
    assert np.allclose(probs.sum("class"), 1, atol=1e-5)
    validation = fitted.validation_mask_
    assert validation.any() and not fitted_train_coverage(fitted)[validation].any()
    accuracy = float((class_map.values == reference.values)[validation].mean())
    assert accuracy >= 0.85, accuracy
    assert fitted.history_[-1]["val_oa"] >= 0.85 and fitted.score(cube, reference, mask=mask) >= 0.85


def fitted_train_coverage(model):
    return PatchSampler(model.patch_size).coverage(model.train_windows_, model.validation_mask_.shape)


def test_missing_observations_as_nan_or_as_mask_are_the_same(fitted, scene):
    cube, _, mask = scene
    as_nan = cube.where(mask == 0)  # every band NaN where the mask is not 0
    with_mask = fitted.predict_proba(cube, mask=mask)
    without = fitted.predict_proba(as_nan)
    assert np.array_equal(with_mask.values, without.values)
    assert bool(np.isfinite(without).all())
    with_nan = as_nan.copy()
    with_nan[:, :, :20, :20] = np.nan  # a corner never observed is still classified, from its neighbours
    assert bool(np.isfinite(fitted.predict_proba(with_nan)).all())


def test_unlabelled_pixels_are_left_out_of_the_loss(scene):
    """Any nodata code means 'unlabelled': the same weights whichever code marks the pixels; only labels count."""
    cube, reference, _ = scene
    cube = cube[:, :, :32, :32]

    def weights(codes, own_nodata=None, **kwargs):
        ref = reference[:32, :32].copy(data=codes)
        ref = ref if own_nodata is None else ref.rio.write_nodata(own_nodata)
        model = SpatialClassifier(patch_size=8, epochs=2, network_params=TINY, random_state=1,
                                  validation_fraction=0.0, **kwargs).fit(cube, ref)
        return model, torch.cat([p.flatten() for p in model.network_.state_dict().values()])

    codes = reference.values[:32, :32].astype("uint8")
    unlabelled = codes.copy()
    unlabelled[:16, :16] = 0  # a block without labels
    model, zero = weights(unlabelled)
    assert model.classes_.tolist() == sorted(set(codes[16:].ravel().tolist()) | set(codes[:, 16:].ravel().tolist()))
    assert not any(r + 8 <= 16 and c + 8 <= 16 for r, c in model.train_windows_)  # none wholly unlabelled
    assert 0 not in np.unique(model.predict(cube).values)
    other = unlabelled.copy()
    other[:16, :16] = NO_CLASS
    assert torch.equal(weights(other)[1], zero)
    own = unlabelled.copy()
    own[:16, :16] = 7
    assert torch.equal(weights(own, nodata=[0, 7])[1], zero)
    assert torch.equal(weights(own, own_nodata=7)[1], zero)  # the raster's own nodata
    labelled = unlabelled.copy()
    labelled[:16, :16] = 3  # the same pixels, labelled: training changes
    assert not torch.equal(weights(labelled)[1], zero)


def test_refuses_a_reference_off_the_cube_grid(scene):
    cube, reference, _ = scene
    model = SpatialClassifier(patch_size=8, epochs=1, network_params=TINY)
    with pytest.raises(DataModelError, match=r"the reference is not on the cube's grid: it has 63 pixels along 'y', "
                                             r"the cube 64. Reproject it with reference.rio.reproject_match\(cube\)"):
        model.fit(cube, reference[1:])
    with pytest.raises(DataModelError, match=r"the reference is not on the cube's grid: its 'x' coordinates differ "
                                             r"from the cube's by up to 10"):
        model.fit(cube, reference.assign_coords(x=reference.x + 10))
    with pytest.raises(DataModelError, match=r"its shape is \(64, 60\), the cube's \(y, x\) is \(64, 64\)"):
        model.fit(cube, np.ones((64, 60), int))
    with pytest.raises(DataModelError, match="must hold integer class codes; got dtype float64"):
        model.fit(cube, reference.astype(float))
    with pytest.raises(DataModelError, match=r"dims \('y', 'x'\); got dims \('band', 'y', 'x'\)"):
        model.fit(cube, reference.expand_dims("band"))
    with pytest.raises(DataModelError, match=r"holds 1 labelled class\(es\) \(\[3\]\)"):
        model.fit(cube, xr.full_like(reference, 3))
    with pytest.raises(DataModelError, match="not sample arrays: give it the cube and a reference raster"):
        model.fit(np.zeros((10, 4, 2)), np.zeros(10))


def test_refuses_a_mask_or_a_cube_unlike_those_of_fit(fitted, scene):
    cube, reference, mask = scene
    with pytest.raises(DataModelError, match="the mask has 5 dates, the cube 6"):
        fitted.predict(cube, mask=mask[1:])
    with pytest.raises(DataModelError, match=r"the mask's dates are not the cube's; select them with mask.sel"):
        fitted.predict(cube, mask=mask.assign_coords(time=mask.time + np.timedelta64(1, "D")))
    with pytest.raises(DataModelError, match=r"the mask is not on the cube's grid: it has 60 pixels along 'x'"):
        fitted.predict(cube, mask=mask[:, :, :60])
    with pytest.raises(BandError, match=r"the cube's bands \['B08', 'B04'\] are not those of fit \['B04', 'B08'\]"):
        fitted.predict(cube.sel(band=["B08", "B04"]))
    with pytest.raises(DataModelError, match="the cube has 5 dates; the model was fitted on 6"):
        fitted.predict(cube[1:])


def test_hyperparameters_are_checked_by_name_and_value(scene):
    cube, reference, _ = scene
    with pytest.raises(ConfigError, match=r"has no parameter\(s\) \['widht'\] \(did you mean 'width'\?\)"):
        SpatialClassifier(network_params={"widht": 8}).fit(cube, reference)
    with pytest.raises(ConfigError, match="SpatialClassifier: patch_size must be an integer >= 1; got 0"):
        SpatialClassifier(patch_size=0).fit(cube, reference)
    with pytest.raises(ConfigError, match=r"patch_size=128 is larger than the grid \(64 x 64 pixels\)"):
        SpatialClassifier(patch_size=128, network_params=TINY).fit(cube, reference)
    with pytest.raises(ConfigError, match="nodata must be None, an integer class code or a sequence"):
        SpatialClassifier(nodata="0").fit(cube, reference)
    model = SpatialClassifier(class_weight="balanced")
    model.classes_ = np.array([1, 2, 4])
    np.testing.assert_allclose(model._class_weight(np.array([0, 0, 0, 1])), [4 / 9, 4 / 3, 0.0])


def test_registered_as_unet_for_patches():
    """The entry to add in labkit/models/deep/__init__.py (registered here if it is not there yet)."""
    before = MODELS.get("unet")

    def build(**params):
        return SpatialClassifier(**params)

    try:
        if before is None:
            register_model("unet", build, description="U-Net on image patches (dates x bands as channels), trained "
                           "on a reference raster", takes_stats=False,
                           estimator="labkit.models.deep.spatial.SpatialClassifier", inputs="patches",
                           uses_dates=False, gpu=True, task="classification")
        entry = MODELS["unet"]
        assert (entry.inputs, entry.gpu, entry.takes_stats, entry.task) == ("patches", True, False, "classification")
        model = make_model("unet", patch_size=16, network_params={"depth": 2}, random_state=3)
        assert isinstance(model, SpatialClassifier) and model.random_state == 3
        with pytest.raises(ConfigError, match=r"no parameter\(s\) \['patchsize'\] \(did you mean 'patch_size'\?\)"):
            make_model("unet", patchsize=16)
        with pytest.raises(ConfigError, match="dropout must be a finite number >= 0 and < 1"):
            make_model("unet", network_params={"dropout": 2.0})
    finally:
        if before is None:
            MODELS.pop("unet", None)


def test_an_interrupted_training_resumes_to_the_same_weights(scene, tmp_path, monkeypatch):
    """The batches and their rotations depend only on the seed and the epoch: a resumed run is the same run."""
    cube, reference, _ = scene
    cube, reference = cube[:, :, :32, :32], reference[:32, :32]
    settings_ = {"patch_size": 8, "split_block": 16, "epochs": 4, "network_params": TINY, "random_state": 2,
                 "patience": None}
    straight = SpatialClassifier(**settings_).fit(cube, reference)
    original = deep_training._save_checkpoint

    def save_then_crash(path, state):
        original(path, state)
        if state["epoch"] == 2:
            raise KeyboardInterrupt  # the run is killed after its second epoch was saved

    checkpoint = str(tmp_path / "unet.pt")
    monkeypatch.setattr(deep_training, "_save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        SpatialClassifier(checkpoint=checkpoint, **settings_).fit(cube, reference)
    monkeypatch.setattr(deep_training, "_save_checkpoint", original)
    resumed = SpatialClassifier(checkpoint=checkpoint, resume=True, **settings_).fit(cube, reference)
    assert [row["epoch"] for row in resumed.history_] == [1, 2, 3, 4]
    for a, b in zip(straight.network_.state_dict().values(), resumed.network_.state_dict().values()):
        assert torch.equal(a, b)


# ---------------------------------------------------------------------------------------------------- real data


def test_learns_the_slovenian_land_cover_better_than_the_majority_class():
    """The embedded Sentinel-2 NDVI patch (68 dates, 40 % cloudy) against its LULC raster (five classes, 0 is no
    label): a quarter of the 32-pixel blocks held out. Measured on 2 cores: validation pixel accuracy 0.91 against
    0.77 for always predicting the majority class (forest) there."""
    data = load_slovenia()
    reference = data.reference
    model = SpatialClassifier(patch_size=16, split_block=32, epochs=20, batch_size=8, learning_rate=3e-3,
                              validation_fraction=0.25, monitor="oa", patience=None, random_state=0,
                              network_params={"depth": 2, "width": 16, "dropout": 0.1})
    model.fit(data.cube, reference, mask=data.mask)
    labelled = reference.values != 0
    validation = model.validation_mask_ & labelled
    truth = reference.values[validation]
    majority_in_training = np.bincount(reference.values[~model.validation_mask_ & labelled]).argmax()
    majority_rate = float((truth == majority_in_training).mean())
    accuracy = float((model.predict(data.cube, mask=data.mask).values[validation] == truth).mean())
    print(f"Slovenia: validation pixel accuracy {accuracy:.3f} on {validation.sum()} pixels; majority class "
          f"({data.class_names[int(majority_in_training)]}) rate {majority_rate:.3f}")
    assert validation.sum() > 1000
    assert accuracy >= majority_rate + 0.08, (accuracy, majority_rate)


def test_a_patch_model_is_refused_for_a_sample_set():
    import labkit.datamodel as dm
    from labkit.errors import ConfigError
    from labkit.models import MODELS, cross_validate, fit_model, make_model

    assert MODELS["unet"].inputs == "patches"
    samples = dm.make_samples(np.zeros((8, 2, 1)), [1, 2] * 4, np.arange(8), bands=["NDVI"])
    with pytest.raises(ConfigError, match=r"reads image patches \(a cube and a reference raster\)"):
        fit_model(make_model("unet"), samples)
    with pytest.raises(ConfigError, match=r"reads image patches"):
        cross_validate(samples, "unet", folds=2)


def test_a_saved_unet_predicts_identically_and_keeps_its_split(fitted, scene, tmp_path):
    from labkit.models import load_model, save_model

    cube, _, mask = scene
    path = save_model(fitted, tmp_path / "unet.labkit")
    back = load_model(path)
    assert type(back) is SpatialClassifier and back.get_params() == fitted.get_params()
    np.testing.assert_array_equal(back.predict_proba(cube, mask=mask).values,
                                  fitted.predict_proba(cube, mask=mask).values)
    np.testing.assert_array_equal(back.validation_mask_, fitted.validation_mask_)
    np.testing.assert_array_equal(back.train_windows_, fitted.train_windows_)
    assert back.bands_ == fitted.bands_ and back.classes_.tolist() == fitted.classes_.tolist()
    import zipfile

    assert sorted(zipfile.ZipFile(path).namelist()) == ["labkit-model.json", "network.pt"]  # weights, no pickle
