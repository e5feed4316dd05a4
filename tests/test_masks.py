"""labkit.masks: validity masks from SCL layers and plain cloud masks, checked against a per-value brute force."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import labkit.datamodel as dm
from labkit.errors import DataModelError
from labkit.masks import SCL_INVALID, SCL_NO_DATA, count_valid, mask_from_cloud, mask_from_scl


def _layer(values, crs=None):
    values = np.asarray(values)
    n_time, height, width = values.shape
    layer = xr.DataArray(
        values, dims=("time", "y", "x"),
        coords={"time": np.datetime64("2022-06-01", "D") + 3 * np.arange(n_time),
                "y": 100.0 - 10 * np.arange(height), "x": 10.0 * np.arange(width)},
    )
    return layer.rio.write_crs(crs) if crs else layer


def _expected_scl(values, invalid, no_data):
    """The code of each SCL value, one value at a time."""
    out = np.empty(values.shape, "uint8")
    for index, value in np.ndenumerate(values):
        if np.isnan(value) or value in no_data:
            out[index] = 2
        elif value in invalid:
            out[index] = 1
        else:
            out[index] = 0
    return out


# ------------------------------------------------------------------------------------------------------ SCL


def test_scl_defaults_follow_esa_classes():
    # One date per SCL class 0..11: 0 no data; 1 saturated, 3 shadow, 8/9 cloud, 10 cirrus invalid; snow (11) valid.
    scl = _layer(np.arange(12).reshape(12, 1, 1))
    mask = mask_from_scl(scl)
    expected = [2, 1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0]
    assert mask.values.ravel().tolist() == expected
    assert mask.dtype == np.uint8 and mask.dims == ("time", "y", "x") and mask.name == "validity"
    assert dm.validate(mask) == "mask"


@settings(max_examples=30, deadline=None)
@given(
    values=arrays(np.float64, (3, 4, 5), elements=st.one_of(st.integers(0, 11).map(float), st.just(np.nan))),
    invalid=st.sets(st.integers(0, 11), max_size=6),
    no_data=st.sets(st.integers(0, 11), max_size=3),
)
def test_scl_matches_brute_force(values, invalid, no_data):
    no_data = no_data - invalid
    mask = mask_from_scl(_layer(values), invalid=invalid, no_data=no_data)
    np.testing.assert_array_equal(mask.values, _expected_scl(values, invalid, no_data))


def test_scl_nan_is_no_data_and_crs_is_kept():
    values = np.array([[[4.0, np.nan], [9.0, 0.0]]])
    mask = mask_from_scl(_layer(values, crs="EPSG:32632"))
    assert mask.values.tolist() == [[[0, 2], [1, 2]]]
    assert mask.rio.crs.to_epsg() == 32632


def test_scl_with_dask_stays_lazy_and_agrees():
    rng = np.random.default_rng(1)
    values = rng.integers(0, 12, (4, 6, 7)).astype("uint8")
    eager = mask_from_scl(_layer(values))
    lazy = mask_from_scl(_layer(values).chunk({"y": 3, "x": 4}))
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, eager.values)
    np.testing.assert_array_equal(eager.values, _expected_scl(values.astype(float), SCL_INVALID, SCL_NO_DATA))


def test_scl_does_not_change_its_input():
    values = np.array([[[0, 9], [4, 3]]], "uint8")
    scl = _layer(values.copy())
    mask_from_scl(scl)
    np.testing.assert_array_equal(scl.values, values)


def test_scl_with_wrong_dims_is_refused():
    scl = _layer(np.zeros((1, 2, 2))).isel(time=0)
    with pytest.raises(DataModelError, match=r"mask_from_scl: the SCL layer must have dims \('time', 'y', 'x'\)"):
        mask_from_scl(scl)
    with pytest.raises(DataModelError, match=r"must have dims .*got \('y', 'x', 'time'\)"):
        mask_from_scl(_layer(np.zeros((1, 2, 2))).transpose("y", "x", "time"))


def test_scl_class_both_invalid_and_no_data_is_refused():
    with pytest.raises(DataModelError, match=r"SCL classes \[0, 9\] are listed as both invalid and no-data"):
        mask_from_scl(_layer(np.zeros((1, 1, 1))), invalid=[9, 0, 3], no_data=[0, 9])


# ---------------------------------------------------------------------------------------------------- cloud


def test_cloud_mask_codes():
    cloud = _layer(np.array([[[0, 1, 0, 5, np.nan, 1]]]), crs="EPSG:32633")
    is_data = _layer(np.array([[[1, 1, 0, 1, 1, 0]]]))
    mask = mask_from_cloud(cloud, is_data=is_data)
    # no data wins over cloud; any non-zero cloud value is cloud; a NaN cloud value is no cloud.
    assert mask.values.ravel().tolist() == [0, 1, 2, 1, 0, 2]
    assert mask.rio.crs.to_epsg() == 32633
    assert dm.validate(mask) == "mask"
    assert mask_from_cloud(cloud).values.ravel().tolist() == [0, 1, 0, 1, 0, 1]


def test_cloud_mask_nan_data_flag_means_no_data():
    cloud = _layer(np.zeros((1, 1, 2)))
    is_data = _layer(np.array([[[np.nan, 1.0]]]))
    assert mask_from_cloud(cloud, is_data=is_data).values.ravel().tolist() == [2, 0]


def test_cloud_mask_is_put_in_time_y_x_order():
    rng = np.random.default_rng(2)
    cloud = _layer(rng.integers(0, 2, (3, 4, 5)))
    mask = mask_from_cloud(cloud.transpose("y", "x", "time"))
    assert mask.dims == ("time", "y", "x")
    np.testing.assert_array_equal(mask.values, cloud.values.astype("uint8"))


# ------------------------------------------------------------------------------------------------------ count


def test_count_valid_counts_only_code_zero():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 3, (7, 4, 5)).astype("uint8")
    counted = count_valid(_layer(codes))
    assert counted.dims == ("y", "x")
    expected = [[sum(codes[t, i, j] == 0 for t in range(7)) for j in range(5)] for i in range(4)]
    assert counted.values.tolist() == expected
