"""labkit.postprocess on maps: Bayesian smoothing, majority filter, sieve, vectorisation, mosaic, and fusion of the
files that write_map writes; by hand, against brute-force references, and tiled against whole-image results."""

from __future__ import annotations

from collections import Counter
from itertools import product

import numpy as np
import pytest
import rasterio
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from labkit.datamodel import NO_CLASS
from labkit.errors import ConfigError, DataModelError, GridMismatchError, OutputExistsError, ReadError
from labkit.io import write_cog, write_vector
from labkit.postprocess import (
    bayesian_smoothing,
    fuse_class_maps,
    fuse_probabilities,
    label_probabilities,
    majority_filter,
    mosaic,
    sieve,
    vectorize,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

PIXEL = 10.0


def _map(values, *, crs="EPSG:32633", dtype="uint8", x0=0.0, top=100.0) -> xr.DataArray:
    values = np.asarray(values, dtype=dtype)
    height, width = values.shape
    class_map = xr.DataArray(values, dims=("y", "x"), name="class",
                             coords={"y": top - PIXEL * (np.arange(height) + 0.5),
                                     "x": x0 + PIXEL * (np.arange(width) + 0.5)})
    return class_map.rio.write_crs(crs) if crs else class_map


def _probs(values, classes=None, *, crs="EPSG:32633") -> xr.DataArray:
    values = np.asarray(values, dtype="float32")
    n_class, height, width = values.shape
    probs = xr.DataArray(values, dims=("class", "y", "x"),
                         coords={"class": list(classes or range(1, n_class + 1)),
                                 "y": 100.0 - PIXEL * (np.arange(height) + 0.5), "x": PIXEL * (np.arange(width) + 0.5)})
    return probs.rio.write_crs(crs) if crs else probs


def _random_map(seed: int, shape=(14, 17), codes=(1, 2, 3), nodata_share=0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.choice(codes, size=shape).astype("uint8")
    values[rng.random(shape) < nodata_share] = NO_CLASS
    return values


maps = hnp.arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12)),
                  elements=st.sampled_from([1, 2, 3, NO_CLASS]))
blocks = st.tuples(st.integers(2, 6), st.integers(2, 6))  # smaller than most halos


# ----------------------------------------------------------------------------------------------- majority filter


def _majority_by_hand(values: np.ndarray, window: int) -> np.ndarray:
    """Brute force: count the classified pixels of each window; a strict winner replaces the pixel."""
    leg, (height, width) = window // 2, values.shape
    out = values.copy()
    for i, j in np.ndindex(values.shape):
        if values[i, j] == NO_CLASS:
            continue
        votes = Counter(int(values[r, c]) for r in range(max(0, i - leg), min(height, i + leg + 1))
                        for c in range(max(0, j - leg), min(width, j + leg + 1)) if values[r, c] != NO_CLASS)
        (first, n1), *rest = votes.most_common()
        if not rest or rest[0][1] < n1:
            out[i, j] = first
    return out


def test_majority_filter_removes_an_odd_pixel_and_keeps_nodata():
    values = np.ones((5, 5), "uint8")
    values[2, 2] = 2  # the odd pixel
    values[0, 0] = NO_CLASS
    filtered = majority_filter(_map(values))
    expected = np.ones((5, 5), "uint8")
    expected[0, 0] = NO_CLASS
    np.testing.assert_array_equal(filtered.values, expected)
    assert filtered.dtype == np.uint8 and filtered.dims == ("y", "x") and filtered.name == "class"
    assert filtered.rio.crs == "EPSG:32633" and filtered.rio.nodata == NO_CLASS
    np.testing.assert_array_equal(filtered.x, _map(values).x)


def test_majority_filter_ties_keep_the_pixel_and_nodata_does_not_vote():
    # a row: the ends tie 1-1 between their class and the next (keep theirs); the middle of 1, 2, 3 ties three ways
    assert majority_filter(_map([[1, 2, 2, 1]])).values.tolist() == [[1, 2, 2, 1]]
    assert majority_filter(_map([[1, 2, 3]])).values.tolist() == [[1, 2, 3]]
    # the 2 has five unclassified neighbours, which would outvote the two 1s if they voted
    values = [[255, 255, 255], [255, 2, 1], [255, 255, 1]]
    assert majority_filter(_map(values)).values.tolist() == [[255, 255, 255], [255, 1, 1], [255, 255, 1]]


@settings(max_examples=40, deadline=None)
@given(maps, st.sampled_from([1, 3, 5]))
def test_majority_filter_equals_brute_force(values, window):
    np.testing.assert_array_equal(majority_filter(_map(values), window).values, _majority_by_hand(values, window))


@settings(max_examples=25, deadline=None)
@given(maps)
def test_majority_filter_of_window_one_is_the_map(values):
    np.testing.assert_array_equal(majority_filter(_map(values), 1).values, values)


@settings(max_examples=25, deadline=None)
@given(maps, st.sampled_from([3, 5, 7]), blocks)
def test_majority_filter_tiled_equals_whole(values, window, block):
    whole = majority_filter(_map(values), window)
    tiled = majority_filter(_map(values).chunk({"y": block[0], "x": block[1]}), window, block=block)
    assert tiled.chunks is not None  # still lazy
    np.testing.assert_array_equal(tiled.compute().values, whole.values)


def test_majority_filter_keeps_attributes_and_other_integer_types():
    class_map = _map(_random_map(0), dtype="int16").assign_attrs(class_names={1: "forest", 2: "crop", 3: "water"})
    filtered = majority_filter(class_map, 3, nodata=NO_CLASS)
    assert filtered.dtype == np.int16 and filtered.attrs["class_names"][2] == "crop"
    np.testing.assert_array_equal(filtered.values, _majority_by_hand(class_map.values.astype("uint8"), 3))


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda m: majority_filter(m, 4), ConfigError, r"^majority_filter: window must be an odd integer >= 1 .*got 4\.$"),
    (lambda m: majority_filter(m, 0), ConfigError, r"^majority_filter: window must be an integer >= 1; got 0\.$"),
    (lambda m: majority_filter(m.transpose("x", "y")), DataModelError,
     r"^majority_filter: class_map is not a class map: .*dims must be \('y', 'x'\)"),
    (lambda m: majority_filter(m.astype(float)), DataModelError, r"class_map is not a class map: .*integer type"),
    (lambda m: majority_filter(m, nodata="255"), ConfigError, r"^majority_filter: nodata must be an integer"),
])
def test_majority_filter_refuses_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call(_map([[1, 2], [2, 1]]))


# ------------------------------------------------------------------------------------------------------- sieve


def _sieve_by_hand(values: np.ndarray, min_size: int, connectivity: int) -> np.ndarray:
    """Brute force of the rule: flood-fill the patches, then each small patch takes the class of its large
    neighbours with the most neighbouring pixel pairs (lowest code on a tie)."""
    height, width = values.shape
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)] + ([(-1, -1), (-1, 1), (1, -1), (1, 1)] if connectivity == 8 else [])
    patch = -np.ones(values.shape, int)
    members = []
    for start in np.ndindex(values.shape):
        if values[start] == NO_CLASS or patch[start] >= 0:
            continue
        patch[start], todo, found = len(members), [start], []
        while todo:
            i, j = todo.pop()
            found.append((i, j))
            for di, dj in steps:
                r, c = i + di, j + dj
                if 0 <= r < height and 0 <= c < width and patch[r, c] < 0 and values[r, c] == values[i, j]:
                    patch[r, c] = len(members)
                    todo.append((r, c))
        members.append(found)
    out = values.copy()
    for pixels in members:
        if len(pixels) >= min_size:
            continue
        border = Counter()
        for (i, j), (di, dj) in product(pixels, steps):
            r, c = i + di, j + dj
            if 0 <= r < height and 0 <= c < width and patch[r, c] >= 0 and len(members[patch[r, c]]) >= min_size:
                border[int(values[r, c])] += 1
        if border:
            code = min(border, key=lambda k: (-border[k], k))
            for pixel in pixels:
                out[pixel] = code
    return out


def test_sieve_removes_a_three_pixel_patch_below_four_but_not_three():
    values = np.array([[1, 1, 1, 1, 1],
                       [1, 2, 2, 1, 1],
                       [1, 2, 1, 1, 1],
                       [3, 3, 3, 3, 3]], "uint8")
    assert sieve(_map(values), 3).values.tolist() == values.tolist()
    sieved = sieve(_map(values), 4)
    expected = values.copy()
    expected[values == 2] = 1
    np.testing.assert_array_equal(sieved.values, expected)
    assert sieved.dtype == np.uint8 and sieved.rio.crs == "EPSG:32633" and sieved.rio.nodata == NO_CLASS


def test_sieve_merges_into_the_longest_border_and_leaves_nodata_alone():
    # the 2-patch (2 pixels) touches 1 by 4 pixel sides and 3 by 2: it becomes 1
    values = np.array([[1, 1, 1, 1],
                       [1, 2, 2, 3],
                       [3, 3, 3, 3],
                       [3, 3, 3, 3]], "uint8")
    assert sieve(_map(values), 3).values[1].tolist() == [1, 1, 1, 3]
    # a tie (two sides each with 3 above and left, 1 right and below): the lowest code
    tie = np.array([[3, 3, 1], [3, 2, 1], [1, 1, 1]], "uint8")
    assert sieve(_map(tie), 2).values[1, 1] == 1
    # with connectivity 8, the corners count too: 3 touches it 3 times, 1 five times
    assert sieve(_map(tie), 2, connectivity=8).values[1, 1] == 1
    most = np.array([[1, 1, 3], [1, 2, 3], [4, 4, 3]], "uint8")  # 2 touches 1 twice, 3 once, 4 once
    assert sieve(_map(most), 2).values[1, 1] == 1
    # unclassified pixels are no neighbours and never change; a patch amid them stays
    values = np.array([[255, 255, 255, 255],
                       [255, 4, 255, 255],
                       [255, 255, 255, 1],
                       [2, 2, 2, 1]], "uint8")
    assert sieve(_map(values), 3).values.tolist() == [[255, 255, 255, 255], [255, 4, 255, 255],
                                                       [255, 255, 255, 2], [2, 2, 2, 2]]


def test_sieve_connectivity():
    values = np.array([[1, 2, 2, 2], [2, 1, 2, 2], [2, 2, 2, 2]], "uint8")  # two 1s touching by a corner
    assert (sieve(_map(values), 2, connectivity=4).values == 2).all()
    assert sieve(_map(values), 2, connectivity=8).values.tolist() == values.tolist()


def test_sieve_agrees_with_gdal_on_isolated_noise():
    from rasterio.features import sieve as gdal_sieve

    values = np.ones((30, 30), "uint8")
    values[:, 15:] = 2
    rng = np.random.default_rng(3)
    for i, j in rng.integers(1, 29, size=(25, 2)):  # specks of 1 or 2 pixels, well apart from each other
        if (values[i - 1:i + 3, j - 1:j + 3] == values[i, j]).all():
            values[i, j:j + rng.integers(1, 3)] = 3
    expected = gdal_sieve(values, 3, connectivity=4)
    assert (values == 3).any() and not (expected == 3).any()
    np.testing.assert_array_equal(sieve(_map(values), 3).values, expected)


@settings(max_examples=40, deadline=None)
@given(maps, st.integers(1, 6), st.sampled_from([4, 8]))
def test_sieve_equals_brute_force(values, min_size, connectivity):
    np.testing.assert_array_equal(sieve(_map(values), min_size, connectivity=connectivity).values,
                                  _sieve_by_hand(values, min_size, connectivity))


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**16), st.integers(2, 6), st.sampled_from([4, 8]), blocks)
def test_sieve_tiled_equals_whole(seed, min_size, connectivity, block):
    # two classes: large patches that cross block edges, and many small ones
    class_map = _map(_random_map(seed, shape=(24, 21), codes=(1, 2), nodata_share=0.05))
    whole = sieve(class_map, min_size, connectivity=connectivity)
    tiled = sieve(class_map.chunk({"y": block[0], "x": block[1]}), min_size, connectivity=connectivity, block=block)
    assert tiled.chunks is not None
    np.testing.assert_array_equal(tiled.compute().values, whole.values)


@pytest.mark.parametrize(("call", "message"), [
    (lambda m: sieve(m, -2), r"^sieve: min_size must be an integer >= 1; got -2\.$"),
    (lambda m: sieve(m, 2.5), r"^sieve: min_size must be an integer >= 1; got 2\.5\.$"),
    (lambda m: sieve(m, 3, connectivity=6), r"^sieve: connectivity must be 4 .* or 8 .*; got 6\.$"),
])
def test_sieve_refuses_bad_parameters(call, message):
    with pytest.raises(ConfigError, match=message):
        call(_map([[1, 2], [2, 1]]))
    with pytest.raises(DataModelError, match=r"^sieve: class_map is not a class map: .*dims must be"):
        sieve(_map([[1, 2]]).expand_dims("band"), 2)


# ------------------------------------------------------------------------------------------ Bayesian smoothing


def _smoothed_by_hand(probs: np.ndarray, window: int, smoothness: float, fraction: float) -> np.ndarray:
    """sits' estimator written out pixel by pixel: mirrored neighbourhood, top fraction, posterior mean."""
    n_class, height, width = probs.shape
    p = np.clip(probs.astype(float), 1e-4, 1 - 1e-4)
    logits = np.log(p / (p.sum(axis=0) - p))
    leg = window // 2

    def mirror(index, size):  # sits' locus_neigh: d c b a | a b c d
        return -index - 1 if index < 0 else 2 * size - index - 1 if index >= size else index

    out = np.full(logits.shape, np.nan)
    for k, i, j in np.ndindex(logits.shape):
        values = [logits[k, mirror(r, height), mirror(c, width)] for r in range(i - leg, i + leg + 1)
                  for c in range(j - leg, j + leg + 1)]
        values = sorted((v for v in values if not np.isnan(v)), reverse=True)
        top = values[:int(np.ceil(fraction * len(values)))]
        if len(top) < 2:
            out[k, i, j] = logits[k, i, j]
            continue
        mean, variance = np.mean(top), np.var(top, ddof=1)
        weight = variance / (variance + smoothness)
        out[k, i, j] = weight * logits[k, i, j] + (1 - weight) * mean
    smoothed = 1 / (1 + np.exp(-out))
    return smoothed / smoothed.sum(axis=0)


def _noisy_forest(size=5, forest=0.85, noise=0.3) -> xr.DataArray:
    first = np.full((size, size), forest)
    first[size // 2, size // 2] = noise
    return _probs(np.stack([first, 1 - first]), classes=[10, 20])


def test_smoothing_removes_isolated_noise_and_sums_to_one():
    probs = _noisy_forest()
    before, _ = label_probabilities(probs)
    smoothed = bayesian_smoothing(probs, 3)
    after, confidence = label_probabilities(smoothed)
    assert before.values[2, 2] == 20 and (after.values == 10).all()
    np.testing.assert_allclose(smoothed.sum("class").values, 1.0, rtol=1e-6)
    assert smoothed.dtype == np.float32 and smoothed.dims == ("class", "y", "x") and smoothed.rio.crs == "EPSG:32633"
    assert smoothed["class"].values.tolist() == [10, 20] and after.dtype == np.uint8
    # a homogeneous forest around the noise is (almost) unchanged
    np.testing.assert_allclose(smoothed.values[0, 0, 0], 0.85, atol=0.02)


def test_more_smoothness_pulls_the_noisy_pixel_further():
    shares = [float(bayesian_smoothing(_noisy_forest(), 5, smoothness=s).values[0, 2, 2]) for s in (0.5, 5, 50)]
    assert 0.3 < shares[0] < shares[1] < shares[2] < 0.85


def test_smoothing_keeps_unclassified_pixels_and_ignores_them_as_neighbours():
    probs = _noisy_forest().copy()
    probs[:, 0, :] = np.nan
    smoothed = bayesian_smoothing(probs, 3)
    assert np.isnan(smoothed.values[:, 0, :]).all() and not np.isnan(smoothed.values[:, 1:, :]).any()
    np.testing.assert_allclose(smoothed.values, _smoothed_by_hand(probs.values, 3, 20.0, 0.5), rtol=1e-5)
    class_map, _ = label_probabilities(smoothed)
    assert (class_map.values[0] == NO_CLASS).all()


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.float32, st.tuples(st.integers(2, 4), st.integers(2, 6), st.integers(2, 6)),  # mirrored once
                  elements=st.floats(0.0010000000474974513, 1, width=32)),
       st.sampled_from([1, 3, 5]), st.floats(0.1, 100), st.sampled_from([0.3, 0.5, 1.0]))
def test_smoothing_equals_sits_estimator_written_out(values, window, smoothness, fraction):
    probs = values / values.sum(axis=0)
    smoothed = bayesian_smoothing(_probs(probs), window, smoothness=smoothness, neigh_fraction=fraction)
    np.testing.assert_allclose(smoothed.values, _smoothed_by_hand(probs, window, smoothness, fraction), rtol=1e-5,
                               atol=1e-7)


@settings(max_examples=20, deadline=None)
@given(hnp.arrays(np.float32, (3, 4, 5), elements=st.floats(0.009999999776482582, 1, width=32)))
def test_smoothing_with_window_one_keeps_the_probabilities(values):
    probs = values / values.sum(axis=0)
    np.testing.assert_allclose(bayesian_smoothing(_probs(probs), 1).values, probs, rtol=1e-4)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from([3, 5]), blocks)
def test_smoothing_tiled_equals_whole(seed, window, block):
    rng = np.random.default_rng(seed)
    probs = _probs(rng.dirichlet([1, 1, 1], size=(13, 11)).transpose(2, 0, 1))
    whole = bayesian_smoothing(probs, window, smoothness=[5, 10, 20])
    tiled = bayesian_smoothing(probs.chunk({"y": block[0], "x": block[1]}), window, smoothness=[5, 10, 20],
                               block=block)
    assert tiled.chunks is not None
    np.testing.assert_array_equal(tiled.compute().values, whole.values)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"window": 2}, ConfigError, r"^bayesian_smoothing: window must be an odd integer >= 1 .*got 2\.$"),
    ({"smoothness": 0}, ConfigError, r"^bayesian_smoothing: smoothness must be a finite number > 0; got 0"),
    ({"smoothness": [1, 2, 3]}, ConfigError, r"smoothness must be one number, or one per class \(2\); got 3 values"),
    ({"neigh_fraction": 0}, ConfigError, r"neigh_fraction must be a finite number > 0 and <= 1; got 0"),
    ({"neigh_fraction": 1.5}, ConfigError, r"neigh_fraction must be a finite number > 0 and <= 1; got 1\.5"),
])
def test_smoothing_refuses_bad_parameters(kwargs, error, message):
    with pytest.raises(error, match=message):
        bayesian_smoothing(_noisy_forest(), **kwargs)


def test_smoothing_refuses_what_is_not_probabilities():
    with pytest.raises(DataModelError, match=r"^bayesian_smoothing: probabilities is not a probability array: .*dims"):
        bayesian_smoothing(_noisy_forest().transpose("y", "x", "class"))
    with pytest.raises(DataModelError, match=r"probabilities must lie in \[0, 1\]"):
        bayesian_smoothing(_noisy_forest() * 3)
    with pytest.raises(DataModelError, match=r"need at least two classes; got 1"):
        bayesian_smoothing(_noisy_forest().isel({"class": [0]}))


def test_label_probabilities_refuses_what_it_cannot_label():
    with pytest.raises(ConfigError, match=r"^label_probabilities: probabilities has no 'class' coordinate"):
        label_probabilities(_noisy_forest().drop_vars("class"))
    with pytest.raises(DataModelError, match=r"^label_probabilities: probabilities is not a probability array"):
        label_probabilities(_noisy_forest().isel({"class": 0}))
    with pytest.raises(DataModelError, match=r"the 'class' coordinate must hold integer class codes; got <U"):
        label_probabilities(_noisy_forest().assign_coords({"class": ["forest", "crop"]}))


# ------------------------------------------------------------------------------------------ fusion from files


@pytest.fixture(scope="module")
def written_runs(tmp_path_factory):
    """Two runs of predict_map on one cube, written by write_map (probabilities as uint8 percent, then float32).
    Every pixel is classified: write_map cannot write an unclassified one yet (write_cog refuses values equal to
    nodata); test_fusion_reads_unclassified_pixels_as_missing writes such files as write_map means to."""
    import labkit.datamodel as dm
    from labkit.inference import predict_map, write_map
    from labkit.models import make_model

    rng = np.random.default_rng(0)
    cube = dm.make_cube(rng.random((2, 1, 9, 7)), ["2020-01-01", "2020-02-01"], ["NDVI"],
                        transform=(10, 0, 0, 0, -10, 90), crs="EPSG:32631")
    runs = []
    for seed, scale in enumerate(("uint8", "float32")):
        model = make_model("rf", n_estimators=5, random_state=seed).fit(rng.random((30, 2, 1)), [1, 2, 5] * 10)
        products = predict_map(cube, model).compute()
        runs.append((products, write_map(products, tmp_path_factory.mktemp(f"run{seed}"), probabilities=scale)))
    return runs


def test_fuse_class_maps_reads_the_class_maps_that_write_map_wrote(written_runs):
    arrays = [products["class_map"] for products, _ in written_runs]
    paths = [written["class_map"] for _, written in written_runs]
    fused = fuse_class_maps([paths[0], str(paths[1]), arrays[1]])
    assert fused.chunks is not None  # read lazily
    np.testing.assert_array_equal(fused.values, fuse_class_maps(arrays + arrays[1:]).values)
    assert fused.rio.crs == "EPSG:32631" and fused.dtype == np.uint8


def test_fuse_probabilities_reads_percentages_and_floats(written_runs):
    arrays = [products["probabilities"].rio.write_crs("EPSG:32631") for products, _ in written_runs]
    paths = [written["probabilities"] for _, written in written_runs]
    classes, confidence = fuse_probabilities(paths)
    assert classes.chunks is not None
    expected_classes, expected_confidence = fuse_probabilities(arrays)
    np.testing.assert_allclose(confidence.values, expected_confidence.values, atol=0.005)  # percent rounding
    close = np.abs(np.diff(np.sort(xr.concat(arrays, "run").mean("run").values, axis=0)[-2:], axis=0))[0] > 0.02
    np.testing.assert_array_equal(classes.values[close], expected_classes.values[close])
    from labkit.postprocess import _read_probabilities

    percent = _read_probabilities(paths[0], "test")
    assert percent["class"].values.tolist() == [1, 2, 5] and percent.dtype == np.float32
    np.testing.assert_allclose(percent.values, arrays[0].values, atol=0.005)


def test_fusion_reads_unclassified_pixels_as_missing(tmp_path):
    class_map = _map([[1, 255], [2, 2]]).rio.write_crs("EPSG:32631")
    probs = _probs([[[0.8, np.nan], [0.3, 0.1]], [[0.2, np.nan], [0.7, 0.9]]], classes=[1, 2], crs="EPSG:32631")
    # the files as write_map writes them (NaN stored as nodata 255)
    maps = write_cog(class_map.where(class_map != NO_CLASS), tmp_path / "class_map.tif", nodata=NO_CLASS,
                     dtype="uint8", class_names={1: "forest", 2: "crop"})
    percent = write_cog((probs * 100).round(), tmp_path / "probabilities.tif", nodata=255, dtype="uint8",
                        tags={"SCALE": "percent"})
    assert fuse_class_maps([maps, maps]).values.tolist() == [[1, NO_CLASS], [2, 2]]
    classes, confidence = fuse_probabilities([percent, probs])
    assert classes.values.tolist() == [[1, NO_CLASS], [2, 2]]
    np.testing.assert_allclose(confidence.values, [[0.8, np.nan], [0.7, 0.9]], rtol=1e-6)
    from labkit.postprocess import _read_class_map

    assert _read_class_map(maps, "test").attrs["class_names"] == {1: "forest", 2: "crop"}


def test_fusion_names_the_file_it_cannot_read(tmp_path, written_runs):
    with pytest.raises(ReadError, match=r"fuse_class_maps: .*missing\.tif does not exist"):
        fuse_class_maps([tmp_path / "missing.tif"])
    probs_path = written_runs[0][1]["probabilities"]
    with pytest.raises(DataModelError, match=r"fuse_class_maps: .*probabilities\.tif is not a class map: it has 3"):
        fuse_class_maps([probs_path])
    renamed = tmp_path / "renamed.tif"
    with rasterio.open(probs_path) as src:
        profile, data = src.profile, src.read()
    profile.update(driver="GTiff")
    with rasterio.open(renamed, "w", **profile) as dst:
        dst.write(data)
        dst.descriptions = ("forest", "crop", "water")
    with pytest.raises(DataModelError, match=r"band 1 of .*renamed\.tif is described 'forest', not a class code"):
        fuse_probabilities([renamed])


def test_label_probabilities_after_smoothing_read_from_file(written_runs):
    from labkit.postprocess import _read_probabilities

    probs = _read_probabilities(written_runs[1][1]["probabilities"], "test")
    class_map, confidence = label_probabilities(bayesian_smoothing(probs, 3))
    assert class_map.chunks is not None and confidence.chunks is not None
    assert set(np.unique(class_map.values)) <= {1, 2, 5}


# ------------------------------------------------------------------------------------------------ vectorise


def test_vectorized_areas_are_pixel_counts_times_pixel_area(tmp_path):
    values = np.array([[1, 1, 1, 1, 2],
                       [1, 3, 3, 1, 2],
                       [1, 3, 3, 1, 255],
                       [1, 1, 1, 1, 2]], "uint8")  # class 1: a ring around 3; class 2: two polygons
    class_map = _map(values).assign_attrs(class_names={1: "forest", 2: "crop", 3: "water"})
    polygons = vectorize(class_map)
    assert list(polygons.columns) == ["class", "class_name", "area", "geometry"]
    assert polygons["class"].tolist() == [1, 2, 2, 3] and polygons.crs == "EPSG:32633"
    assert polygons["class_name"].tolist() == ["forest", "crop", "crop", "water"]
    assert polygons["area"].tolist() == [12 * PIXEL**2, 2 * PIXEL**2, PIXEL**2, 4 * PIXEL**2]
    ring = polygons.geometry[0]
    assert len(ring.interiors) == 1 and ring.bounds == (0.0, 60.0, 40.0, 100.0)
    assert polygons.geometry.is_valid.all()
    written = write_vector(polygons, tmp_path / "map.gpkg")
    import geopandas as gpd

    back = gpd.read_file(written)
    assert back["class_name"].tolist() == polygons["class_name"].tolist()
    np.testing.assert_allclose(back.area, polygons["area"])


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.uint8, st.tuples(st.integers(2, 12), st.integers(2, 12)),  # rioxarray needs 2 pixels for a grid
                  elements=st.sampled_from([1, 2, 3, NO_CLASS])), blocks)
def test_tiled_polygons_equal_whole_image_polygons(values, block):
    class_map = _map(values)
    whole = vectorize(class_map)
    tiled = vectorize(class_map.chunk({"y": block[0], "x": block[1]}), block=block)
    codes, counts = np.unique(values[values != NO_CLASS], return_counts=True)
    areas = tiled.groupby("class")["area"].sum()
    assert areas.index.tolist() == codes.tolist()
    np.testing.assert_allclose(areas.to_numpy(), counts * PIXEL**2)
    assert tiled["class"].tolist() == whole["class"].tolist()
    assert all(a.equals_exact(b, 0) for a, b in zip(tiled.geometry, whole.geometry))
    simple = vectorize(class_map, simplify=PIXEL)
    simple_tiled = vectorize(class_map.chunk({"y": block[0], "x": block[1]}), simplify=PIXEL, block=block)
    assert len(simple) == len(simple_tiled) == len(whole)
    assert all(a.equals_exact(b, 0) for a, b in zip(simple_tiled.geometry, simple.geometry))


def test_simplified_polygons_stay_a_coverage():
    yy, xx = np.mgrid[:40, :40]
    values = np.where((yy - 20) ** 2 + (xx - 20) ** 2 < 150, 1, 2).astype("uint8")  # a pixelated disc
    values[yy > 32] = 3
    class_map = _map(values)
    exact, simple = vectorize(class_map), vectorize(class_map, simplify=PIXEL)
    disc = [len(frame.geometry[0].exterior.coords) for frame in (exact, simple)]
    assert disc[1] < 0.6 * disc[0]  # the staircase is gone
    assert simple.geometry.is_valid.all() and simple["class"].tolist() == exact["class"].tolist()
    union = simple.geometry.union_all()
    assert union.area == pytest.approx(simple["area"].sum(), rel=1e-9)  # no overlaps
    assert union.area == pytest.approx(40 * 40 * PIXEL**2, rel=0.02) and len(union.interiors) == 0  # no gaps
    tiled = vectorize(class_map.chunk(9), simplify=PIXEL, block=(9, 9))
    assert len(tiled) == len(simple)
    assert all(a.equals_exact(b, 0) for a, b in zip(tiled.geometry, simple.geometry))


def test_vectorize_min_area_and_names():
    class_map = _map([[1, 1, 2], [1, 1, 1]])
    polygons = vectorize(class_map, min_area=2 * PIXEL**2)
    assert polygons["class"].tolist() == [1] and polygons["class_name"].tolist() == ["1"]
    assert vectorize(_map([[255, 255]])).empty
    with pytest.raises(ConfigError, match=r"^vectorize: simplify must be a finite number >= 0; got -1"):
        vectorize(class_map, simplify=-1)
    with pytest.raises(ConfigError, match=r"^vectorize: class_names must be a dict \{code: name\}; got list"):
        vectorize(class_map, class_names=["forest"])
    with pytest.raises(DataModelError, match=r"^vectorize: class_map is not a class map"):
        vectorize(class_map.astype("float32"))


# --------------------------------------------------------------------------------------------------- mosaic


def _tile(folder, name, values, *, x0=0.0, top=100.0, crs="EPSG:32633", dtype="uint8", nodata=NO_CLASS, **options):
    """A class-map tile as a COG: write_cog stores NaN as nodata (it refuses integer values equal to nodata)."""
    array = _map(values, x0=x0, top=top, crs=crs, dtype=dtype)
    return write_cog(array.where(array != nodata), folder / name, nodata=nodata, dtype=dtype, **options)


@pytest.fixture
def two_tiles(tmp_path):
    """Two class-map tiles overlapping by one column; the second has a hole (nodata) in the overlap."""
    names = {1: "forest", 2: "crop", 3: "water", 4: "urban"}
    colours = {1: (0, 128, 0), 2: (255, 255, 0), 3: (0, 0, 255), 4: (255, 0, 0)}
    left = _tile(tmp_path, "left.tif", [[1, 1, 3], [1, 1, 3]], class_names=names, colormap=colours)
    right = _tile(tmp_path, "right.tif", [[2, 4, 4], [255, 2, 2]], x0=20.0, top=90.0, class_names=names,
                  colormap=colours)
    return tmp_path, left, right


@pytest.mark.parametrize(("method", "expected"), [
    ("first", [[1, 1, 3, 255, 255], [1, 1, 3, 4, 4], [255, 255, 255, 2, 2]]),
    ("last", [[1, 1, 3, 255, 255], [1, 1, 2, 4, 4], [255, 255, 255, 2, 2]]),
    ("min", [[1, 1, 3, 255, 255], [1, 1, 2, 4, 4], [255, 255, 255, 2, 2]]),
    ("max", [[1, 1, 3, 255, 255], [1, 1, 3, 4, 4], [255, 255, 255, 2, 2]]),
])
def test_mosaic_of_two_overlapping_tiles(two_tiles, method, expected):
    folder, left, right = two_tiles
    out = mosaic([left, right], folder / f"mosaic_{method}.tif", method=method)
    with rasterio.open(out) as src:
        assert src.read(1).tolist() == expected
        assert tuple(src.bounds) == (0.0, 70.0, 50.0, 100.0) and src.crs == "EPSG:32633"
        assert src.nodata == NO_CLASS and src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.colormap(1)[3] == (0, 0, 255, 255) and "water" in src.tags()["CLASS_NAMES"]
    assert (folder / f"mosaic_{method}.tif.aux.xml").exists()
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []  # no staging file left


@pytest.mark.parametrize("method", ["first", "last"])
def test_vrt_reads_back_as_the_merged_cog(two_tiles, method):
    folder, left, right = two_tiles
    cog = mosaic([left, right], folder / "mosaic.tif", method=method)
    vrt = mosaic([left, right], folder / "mosaic.vrt", method=method, vrt=True)
    with rasterio.open(cog) as a, rasterio.open(vrt) as b:
        np.testing.assert_array_equal(a.read(), b.read())
        assert a.transform == b.transform and a.crs == b.crs and a.nodata == b.nodata
        assert b.colormap(1)[1] == (0, 128, 0, 255) and b.tags()["CLASS_NAMES"] == a.tags()["CLASS_NAMES"]


def test_mosaic_of_probability_tiles_keeps_band_descriptions(tmp_path):
    probs = _probs(np.random.default_rng(1).dirichlet([1, 1], size=(3, 4)).transpose(2, 0, 1), classes=[5, 7])
    tiles = [write_cog(probs, tmp_path / "a.tif"), write_cog(probs.assign_coords(x=probs.x + 40), tmp_path / "b.tif")]
    for vrt, name in ((False, "m.tif"), (True, "m.vrt")):
        with rasterio.open(mosaic(tiles, tmp_path / name, vrt=vrt)) as src:
            assert src.descriptions == ("5", "7") and src.count == 2 and src.width == 8
            np.testing.assert_allclose(src.read()[:, :, 4:], probs.values)


def test_mosaic_refuses_mismatched_tiles_naming_the_file(tmp_path, two_tiles):
    folder, left, _ = two_tiles
    square = [[1, 1], [1, 1]]  # rioxarray needs two pixels a side to know the grid
    other_crs = _tile(tmp_path, "utm32.tif", square, crs="EPSG:32632")
    wide = _tile(tmp_path, "int16.tif", square, dtype="int16", nodata=-1)
    shifted = _tile(tmp_path, "shifted.tif", square, x0=5.0)
    with pytest.raises(GridMismatchError, match=r"^mosaic: .*utm32\.tif is in EPSG:32632, .*left\.tif in EPSG:32633"):
        mosaic([left, other_crs], tmp_path / "out.tif")
    with pytest.raises(DataModelError, match=r"^mosaic: .*int16\.tif holds int16, .*left\.tif uint8"):
        mosaic([left, wide], tmp_path / "out.tif")
    with pytest.raises(GridMismatchError, match=r"shifted\.tif is not on the pixel grid of .*origin offset 0\.5"):
        mosaic([left, shifted], tmp_path / "out.tif")
    probs = write_cog(_probs(np.full((2, 2, 2), 0.5)), tmp_path / "probs.tif")
    with pytest.raises(DataModelError, match=r"probs\.tif has 2 band\(s\), .*left\.tif 1"):
        mosaic([left, probs], tmp_path / "out.tif")
    with pytest.raises(ReadError, match=r"^mosaic: .*nothing\.tif does not exist"):
        mosaic([left, tmp_path / "nothing.tif"], tmp_path / "out.tif")
    with pytest.raises(ConfigError, match=r"method must be one of \('first', 'last'\) for a VRT; got 'max'"):
        mosaic([left], tmp_path / "out.vrt", method="max", vrt=True)
    with pytest.raises(ConfigError, match=r"^mosaic: paths must be a sequence of raster files"):
        mosaic(left, tmp_path / "out.tif")
    assert not (tmp_path / "out.tif").exists() and not (tmp_path / "out.vrt").exists()
    with pytest.raises(OutputExistsError, match=r"left\.tif already exists"):
        mosaic([left], left)
