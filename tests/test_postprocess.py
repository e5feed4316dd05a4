"""labkit.postprocess: majority vote of class maps and mean of probabilities over runs, numpy and dask alike."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from labkit.errors import ConfigError, DataModelError, GridMismatchError
from labkit.datamodel import NO_CLASS, UNDECIDED
from labkit.postprocess import fuse_class_maps, fuse_probabilities

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def _map(values, *, crs="EPSG:32633", dtype="uint8") -> xr.DataArray:
    values = np.asarray(values, dtype=dtype)
    height, width = values.shape
    class_map = xr.DataArray(values, dims=("y", "x"), name="class",
                             coords={"y": 100.0 - 10 * (np.arange(height) + 0.5), "x": 10 * (np.arange(width) + 0.5)})
    return class_map.rio.write_crs(crs) if crs else class_map


def _probs(values, classes=(1, 2, 3), *, crs="EPSG:32633") -> xr.DataArray:
    values = np.asarray(values, dtype="float32")
    _, height, width = values.shape
    probs = xr.DataArray(values, dims=("class", "y", "x"),
                         coords={"class": list(classes), "y": 100.0 - 10 * (np.arange(height) + 0.5),
                                 "x": 10 * (np.arange(width) + 0.5)})
    return probs.rio.write_crs(crs) if crs else probs


# --------------------------------------------------------------------------------------------------- vote

def test_vote_by_hand():
    runs = [_map([[1, 1, 2, 255, 3, 254]]),
            _map([[1, 2, 3, 255, 255, 4]]),
            _map([[2, 1, 4, 255, 255, 4]])]
    fused = fuse_class_maps(runs)
    # 2 of 3 · 2 of 3 · three-way tie · no vote · one vote (the others unclassified) · 2 votes (254: no vote)
    assert fused.values.tolist() == [[1, 1, UNDECIDED, NO_CLASS, 3, 4]]
    assert fused.dtype == np.uint8 and fused.name == "class" and fused.dims == ("y", "x")
    assert fused.rio.crs == "EPSG:32633" and fused.rio.nodata == NO_CLASS
    np.testing.assert_array_equal(fused.x, runs[0].x)


def test_plurality_wins_and_ties_are_undecided():
    votes = [[1], [1], [2], [3], [4]]  # 2-1-1-1: a plurality, not a majority, still wins
    assert fuse_class_maps([_map([v]) for v in votes]).values.tolist() == [[1]]
    tie = [[1], [1], [2], [2], [3]]
    assert fuse_class_maps([_map([v]) for v in tie]).values.tolist() == [[UNDECIDED]]
    two = [[5], [6]]
    assert fuse_class_maps([_map([v]) for v in two]).values.tolist() == [[UNDECIDED]]


def test_own_codes_for_undecided_and_nodata():
    runs = [_map([[1, 0, 7]], dtype="int16"), _map([[2, 0, 7]], dtype="int16")]
    fused = fuse_class_maps(runs, undecided=-1, nodata=0)
    assert fused.values.tolist() == [[-1, 0, 7]] and fused.dtype == np.int16


map_values = hnp.arrays(np.uint8, (3, 4), elements=st.sampled_from([1, 2, 3, NO_CLASS]))


@settings(max_examples=50, deadline=None)
@given(map_values, st.integers(1, 5))
def test_vote_of_identical_maps_is_the_map(values, n_runs):
    assert fuse_class_maps([_map(values)] * n_runs).values.tolist() == values.tolist()


@settings(max_examples=30, deadline=None)
@given(st.lists(map_values, min_size=2, max_size=6), st.randoms(use_true_random=False))
def test_vote_properties(maps, random):
    stack = np.stack(maps)
    fused = fuse_class_maps([_map(v) for v in maps]).values
    shuffled = list(maps)
    random.shuffle(shuffled)
    np.testing.assert_array_equal(fuse_class_maps([_map(v) for v in shuffled]).values, fused)  # order-free
    for i, j in np.ndindex(fused.shape):
        votes = [v for v in stack[:, i, j] if v != NO_CLASS]
        if not votes:
            assert fused[i, j] == NO_CLASS
            continue
        counts = {c: votes.count(c) for c in set(votes)}
        best = max(counts.values())
        leaders = [c for c, n in counts.items() if n == best]
        assert fused[i, j] == (leaders[0] if len(leaders) == 1 else UNDECIDED)
        if len(counts) == 1:  # unanimity among the runs that classified the pixel
            assert fused[i, j] == votes[0]


def test_vote_stays_lazy_on_dask_and_gives_the_same_map():
    rng = np.random.default_rng(0)
    maps = [_map(rng.choice([1, 2, 3, NO_CLASS], size=(20, 30))) for _ in range(4)]
    eager = fuse_class_maps(maps)
    lazy = fuse_class_maps([m.chunk({"y": 8, "x": 16}) for m in maps[:2]] + maps[2:])
    assert lazy.chunks is not None  # not computed yet
    assert lazy.data.chunks == ((8, 8, 4), (16, 14))
    np.testing.assert_array_equal(lazy.compute().values, eager.values)
    assert lazy.rio.crs == eager.rio.crs


def test_fusing_refuses_bad_input():
    a = _map([[1, 2]])
    with pytest.raises(ConfigError, match=r"fuse_class_maps: no map to fuse"):
        fuse_class_maps([])
    with pytest.raises(ConfigError, match=r"unknown method 'mean'; the only one is 'vote'"):
        fuse_class_maps([a, a], method="mean")
    with pytest.raises(ConfigError, match=r"undecided and nodata must be different codes; both are 255"):
        fuse_class_maps([a, a], undecided=255)
    with pytest.raises(ConfigError, match=r"undecided=300 does not fit the maps' dtype uint8"):
        fuse_class_maps([a, a], undecided=300)
    with pytest.raises(DataModelError, match=r"fuse_class_maps: map 1 is not a class map: .*integer type"):
        fuse_class_maps([a, a.astype(float)])
    with pytest.raises(GridMismatchError, match=r"map 1 has sizes \{'y': 1, 'x': 3\}, map 0 has \{'y': 1, 'x': 2\}"):
        fuse_class_maps([a, _map([[1, 2, 3]])])
    with pytest.raises(GridMismatchError, match=r"the 'x' coordinates of map 1 differ from those of map 0"):
        fuse_class_maps([a, a.assign_coords(x=a.x + 10)])
    with pytest.raises(GridMismatchError, match=r"map 1 is in EPSG:32632, map 0 in EPSG:32633"):
        fuse_class_maps([a, _map([[1, 2]], crs="EPSG:32632")])


# ---------------------------------------------------------------------------------------- probabilities


def test_mean_of_probabilities_by_hand():
    run1 = _probs([[[0.6, 0.2, np.nan]], [[0.3, 0.3, np.nan]], [[0.1, 0.5, np.nan]]])
    run2 = _probs([[[0.2, 0.1, 0.3]], [[0.7, 0.2, 0.1]], [[0.1, 0.7, 0.6]]])
    classes, confidence = fuse_probabilities([run1, run2])
    # means: pixel 0 (0.4, 0.5, 0.1) -> class 2; pixel 1 (0.15, 0.25, 0.6) -> 3; pixel 2 only run 2 -> class 3
    assert classes.values.tolist() == [[2, 3, 3]]
    np.testing.assert_allclose(confidence.values, [[0.5, 0.6, 0.6]], rtol=1e-6)
    assert classes.dtype == np.uint8 and confidence.dtype == np.float32
    assert classes.rio.crs == "EPSG:32633" and classes.rio.nodata == NO_CLASS
    assert (classes.name, confidence.name) == ("class", "confidence")


def test_pixels_no_run_classified_get_no_class():
    run = _probs([[[np.nan, 0.9]], [[np.nan, 0.1]]], classes=(4, 9))
    classes, confidence = fuse_probabilities([run, run])
    assert classes.values.tolist() == [[NO_CLASS, 4]]
    assert np.isnan(confidence.values[0, 0]) and confidence.values[0, 1] == pytest.approx(0.9)


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.float32, (3, 2, 3), elements=st.floats(0, 1, width=32)), st.integers(1, 4))
def test_fusing_identical_probabilities_is_argmax(values, n_runs):
    probs = _probs(values)
    classes, confidence = fuse_probabilities([probs] * n_runs)
    np.testing.assert_array_equal(classes.values, np.array([1, 2, 3])[values.argmax(axis=0)])
    np.testing.assert_allclose(confidence.values, values.max(axis=0), rtol=1e-6)


def test_probabilities_stay_lazy_on_dask():
    rng = np.random.default_rng(2)
    runs = [_probs(rng.dirichlet([1, 1, 1], size=(12, 10)).transpose(2, 0, 1)) for _ in range(3)]
    eager = fuse_probabilities(runs)
    lazy = fuse_probabilities([r.chunk({"y": 5, "x": 4}) for r in runs])
    assert all(out.chunks is not None for out in lazy)
    for a, b in zip(lazy, eager):
        np.testing.assert_allclose(a.compute().values, b.values, rtol=1e-6)


def test_fusing_probabilities_refuses_bad_input():
    a = _probs(np.full((3, 1, 2), 1 / 3))
    with pytest.raises(ConfigError, match=r"fuse_probabilities: no probabilities to fuse"):
        fuse_probabilities([])
    with pytest.raises(DataModelError, match=r"run 1 has classes \[1, 2, 5\], run 0 \[1, 2, 3\]"):
        fuse_probabilities([a, a.assign_coords({"class": [1, 2, 5]})])
    with pytest.raises(DataModelError, match=r"run 1 has classes \[3, 2, 1\]"):
        fuse_probabilities([a, a.isel({"class": [2, 1, 0]})])
    with pytest.raises(ConfigError, match=r"run 0 has no 'class' coordinate"):
        fuse_probabilities([a.drop_vars("class")])
    with pytest.raises(DataModelError, match=r"run 0 is not a probability array: .*dims must be \('class', 'y', 'x'\)"):
        fuse_probabilities([a.transpose("y", "x", "class")])
    with pytest.raises(DataModelError, match=r"probabilities must lie in \[0, 1\]"):
        fuse_probabilities([a * 4])
    with pytest.raises(GridMismatchError, match=r"the 'y' coordinates of run 1 differ"):
        fuse_probabilities([a, a.assign_coords(y=a.y - 5)])
