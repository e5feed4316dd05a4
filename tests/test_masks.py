"""labkit.masks: validity masks from SCL, MAJA, Landsat QA, cloud masks and probabilities, checked against a
per-value brute force; dilation (hand-made example, brute force, chunk independence), combination, summaries,
bad inputs, and real Sentinel-2 data (the embedded Bolzano crop, the mirror's full cube)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import labkit.datamodel as dm
from labkit.errors import BandError, ConfigError, DataModelError
from labkit.masks import (
    LANDSAT_QA_CONFIDENCE,
    LANDSAT_QA_INVALID,
    MAJA_CLM_BITS,
    MODIS_RELIABILITY,
    MODIS_RELIABILITY_INVALID,
    MODIS_VI_QUALITY_BITS,
    MODIS_VI_QUALITY_INVALID,
    SCL_CLASSES,
    SCL_INVALID,
    SCL_NO_DATA,
    combine_masks,
    count_valid,
    dilate_mask,
    mask_from_cloud,
    mask_from_cloud_probability,
    mask_from_landsat_qa,
    mask_from_maja,
    mask_from_modis,
    mask_from_nodata,
    mask_from_scl,
    valid_fraction_per_date,
)

BOLZANO_ZARR = ("Open-EO/openeo-processes-dask/83bcd03b5909a0a56c9968861ac87946b680401e/"
                "tests/data/stac/S2_L2A_sample.zarr")
CLOUDY_DATES = ["2022-06-05", "2022-06-07", "2022-06-22"]
CLEAR_DATES = ["2022-06-10", "2022-06-12", "2022-06-15", "2022-06-20", "2022-06-25", "2022-06-27", "2022-06-30"]


def _layer(values, crs=None, attrs=None):
    values = np.asarray(values)
    n_time, height, width = values.shape
    layer = xr.DataArray(
        values, dims=("time", "y", "x"),
        coords={"time": np.datetime64("2022-06-01", "D") + 3 * np.arange(n_time),
                "y": 100.0 - 10 * np.arange(height), "x": 10.0 * np.arange(width)},
        attrs=dict(attrs or {}),
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


def _bit(value, bit):
    return (int(value) >> bit) & 1


# ------------------------------------------------------------------------------------------------------ SCL


def test_scl_defaults_follow_esa_classes():
    # One date per SCL class 0..11: 0 no data; 1 saturated, 3 shadow, 8/9 cloud, 10 cirrus invalid; snow (11) valid.
    scl = _layer(np.arange(12).reshape(12, 1, 1))
    mask = mask_from_scl(scl)
    expected = [2, 1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0]
    assert mask.values.ravel().tolist() == expected
    assert mask.dtype == np.uint8 and mask.dims == ("time", "y", "x") and mask.name == "validity"
    assert dm.validate(mask) == "mask"
    assert sorted(SCL_CLASSES) == list(range(12)) and SCL_CLASSES[11] == "snow"


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


def test_scl_snow_and_a_stricter_choice():
    scl = _layer(np.array([[[11, 2, 7, 4]]]))
    assert mask_from_scl(scl).values.ravel().tolist() == [0, 0, 0, 0]
    assert mask_from_scl(scl, invalid=SCL_INVALID + (11,)).values.ravel().tolist() == [1, 0, 0, 0]
    assert mask_from_scl(scl, invalid=SCL_INVALID + (2, 7)).values.ravel().tolist() == [0, 1, 1, 0]


def test_scl_band_of_a_cube(make_cube):
    cube = make_cube(n_time=3, bands=("B04", "SCL"), height=4, width=5)
    rng = np.random.default_rng(4)
    cube.loc[{"band": "SCL"}] = rng.integers(0, 12, (3, 4, 5)).astype("float32")
    from_layer = mask_from_scl(cube.sel(band="SCL").drop_vars("band"))
    for given_ in (cube, cube.sel(band="SCL"), cube.chunk({"x": 2})):
        mask = mask_from_scl(given_)
        assert "band" not in mask.coords and mask.dims == ("time", "y", "x")
        np.testing.assert_array_equal(mask.values, from_layer.values)
    assert mask_from_scl(cube).rio.crs.to_epsg() == 32631
    renamed = cube.assign_coords(band=["B04", "scene"])
    np.testing.assert_array_equal(mask_from_scl(renamed, band="scene").values, from_layer.values)
    with pytest.raises(BandError, match=r"mask_from_scl: the cube has no band 'SCL' \(bands: \['B04', 'scene'\]\)"):
        mask_from_scl(renamed)


def test_scl_with_wrong_dims_is_refused():
    scl = _layer(np.zeros((1, 2, 2))).isel(time=0)
    with pytest.raises(DataModelError, match=r"mask_from_scl: the SCL layer must have dims \('time', 'y', 'x'\)"):
        mask_from_scl(scl)
    with pytest.raises(DataModelError, match=r"must have dims .*got \('y', 'x', 'time'\)\. Use \.transpose"):
        mask_from_scl(_layer(np.zeros((1, 2, 2))).transpose("y", "x", "time"))
    with pytest.raises(DataModelError, match=r"mask_from_scl: the SCL layer must be an xarray.DataArray .*ndarray"):
        mask_from_scl(np.zeros((1, 2, 2)))


def test_scl_bad_values_are_refused():
    with pytest.raises(DataModelError, match=r"mask_from_scl: the SCL layer holds non-integer values \(e\.g\. 3\.5\)"):
        mask_from_scl(_layer(np.array([[[4.0, 3.5]]])))
    with pytest.raises(DataModelError, match=r"mask_from_scl: the SCL layer holds values 0\.\.15, outside 0\.\.11"):
        mask_from_scl(_layer(np.array([[[0, 15]]])))
    with pytest.raises(DataModelError, match=r"the SCL layer must hold integer codes .*got dtype <U1"):
        mask_from_scl(_layer(np.array([[["a", "b"]]])))
    lazy = mask_from_scl(_layer(np.array([[[4, 12]]])).chunk())  # dask: reported when computed
    with pytest.raises(DataModelError, match=r"holds values 4\.\.12, outside 0\.\.11"):
        lazy.compute()


def test_scl_class_both_invalid_and_no_data_is_refused():
    with pytest.raises(ConfigError, match=r"SCL classes \[0, 9\] are listed as both invalid and no-data"):
        mask_from_scl(_layer(np.zeros((1, 1, 1))), invalid=[9, 0, 3], no_data=[0, 9])


@pytest.mark.parametrize("invalid, message", [
    ([8, 12], r"invalid must list SCL classes between 0 and 11; got \[12\]"),
    ([-1], r"invalid must list .*; got \[-1\]"),
    ([8.5], r"invalid must list .*; got \[8\.5\]"),
    ("89", r"invalid must be a list of SCL classes \(0\.\.11\); got '89'"),
])
def test_scl_bad_classes_are_refused(invalid, message):
    with pytest.raises(ConfigError, match="mask_from_scl: " + message):
        mask_from_scl(_layer(np.zeros((1, 1, 1))), invalid=invalid)


# ---------------------------------------------------------------------------------------------------- MAJA


def _expected_maja(clm, sat, edg, bits):
    out = np.empty(clm.shape, "uint8")
    for index, value in np.ndenumerate(clm):
        if edg is not None and edg[index] != 0:
            out[index] = 2
        elif any(_bit(value, b) for b in bits) or (sat is not None and sat[index] != 0):
            out[index] = 1
        else:
            out[index] = 0
    return out


@settings(max_examples=30, deadline=None)
@given(
    clm=arrays(np.uint8, (2, 3, 4)),
    sat=st.one_of(st.none(), arrays(np.uint8, (2, 3, 4), elements=st.integers(0, 15))),
    edg=st.one_of(st.none(), arrays(np.uint8, (2, 3, 4), elements=st.integers(0, 1))),
    bits=st.one_of(st.none(), st.sets(st.integers(0, 7))),
)
def test_maja_matches_brute_force(clm, sat, edg, bits):
    layers = {"sat": None if sat is None else _layer(sat), "edg": None if edg is None else _layer(edg)}
    kwargs = {} if bits is None else {"cloud_bits": bits}
    mask = mask_from_maja(_layer(clm), **layers, **kwargs)
    expected = _expected_maja(clm, sat, edg, range(8) if bits is None else bits)
    np.testing.assert_array_equal(mask.values, expected)


def test_maja_defaults_every_bit_counts_as_iota2():
    clm = _layer(np.array([[[0] + [1 << b for b in range(8)]]]))
    assert mask_from_maja(clm).values.ravel().tolist() == [0] + [1] * 8
    assert sorted(MAJA_CLM_BITS) == list(range(8)) and "thinnest" in MAJA_CLM_BITS[4]
    # bit 1 alone ("all clouds except the thinnest") keeps the thinnest clouds (4) and shadows (5, 6)
    assert mask_from_maja(clm, cloud_bits=[1]).values.ravel().tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0]


def test_maja_edges_win_saturation_counts_nan_is_no_data():
    clm = _layer(np.array([[[2, 0, 0, np.nan]]]), crs="EPSG:2154")
    sat = _layer(np.array([[[0, 4, 0, 0]]]))
    edg = _layer(np.array([[[1, 0, 0, 0]]]))
    mask = mask_from_maja(clm, sat, edg)
    assert mask.values.ravel().tolist() == [2, 1, 0, 2]
    assert mask.rio.crs.to_epsg() == 2154
    lazy = mask_from_maja(clm.chunk({"x": 1}), sat.chunk({"x": 2}), edg)
    assert lazy.chunks is not None
    assert lazy.values.ravel().tolist() == [2, 1, 0, 2]


def test_maja_bad_inputs_are_refused():
    clm = _layer(np.zeros((1, 2, 3), "uint8"))
    with pytest.raises(ConfigError, match=r"mask_from_maja: cloud_bits must list CLM bit numbers between 0 and 7; "
                                          r"got \[8\]"):
        mask_from_maja(clm, cloud_bits=[0, 8])
    with pytest.raises(DataModelError, match=r"mask_from_maja: the clm layer holds values 0\.\.256, outside 0\.\.255"):
        mask_from_maja(_layer(np.array([[[0, 256]]])))
    with pytest.raises(DataModelError, match=r"the sat layer holds non-integer values \(e\.g\. 0\.5\)"):
        mask_from_maja(clm, sat=clm.astype(float) + 0.5)
    shifted = clm.assign_coords(x=clm.x + 10.0)
    with pytest.raises(DataModelError, match=r"mask_from_maja: the edg layer is not on the grid of the clm layer: "
                                             r"the 'x' coordinates differ"):
        mask_from_maja(clm, edg=shifted)
    with pytest.raises(DataModelError, match=r"the sat layer is not on the grid of the clm layer: sizes"):
        mask_from_maja(clm, sat=clm.isel(x=slice(0, 2)))
    with pytest.raises(DataModelError, match=r"the sat layer is not on the grid of the clm layer: CRS"):
        mask_from_maja(clm.rio.write_crs("EPSG:32631"), sat=clm.rio.write_crs("EPSG:32632"))
    with pytest.raises(DataModelError, match=r"mask_from_maja: the edg layer must have dims"):
        mask_from_maja(clm, edg=clm.isel(time=0))


# ------------------------------------------------------------------------------------------------- Landsat


def _expected_landsat(qa, radsat, bits, confidence):
    out = np.empty(qa.shape, "uint8")
    for index, value in np.ndenumerate(qa):
        value = int(value)
        if _bit(value, 0):
            out[index] = 2
        elif (any(_bit(value, b) for b in bits)
              or any((value >> LANDSAT_QA_CONFIDENCE[f]) % 4 >= level for f, level in confidence.items())
              or (radsat is not None and radsat[index] != 0)):
            out[index] = 1
        else:
            out[index] = 0
    return out


@settings(max_examples=30, deadline=None)
@given(
    qa=arrays(np.uint16, (2, 3, 4)),
    radsat=st.one_of(st.none(), arrays(np.uint16, (2, 3, 4), elements=st.sampled_from([0, 0, 0, 1, 256, 2048]))),
    bits=st.one_of(st.none(), st.sets(st.integers(0, 15))),
    confidence=st.dictionaries(st.sampled_from(sorted(LANDSAT_QA_CONFIDENCE)), st.integers(1, 3)),
)
def test_landsat_matches_brute_force(qa, radsat, bits, confidence):
    kwargs = {} if bits is None else {"invalid_bits": bits}
    mask = mask_from_landsat_qa(_layer(qa), None if radsat is None else _layer(radsat), confidence=confidence,
                                **kwargs)
    expected = _expected_landsat(qa, radsat, LANDSAT_QA_INVALID if bits is None else bits, confidence)
    np.testing.assert_array_equal(mask.values, expected)


def test_landsat_typical_values():
    # Landsat 8-9 C2 QA_PIXEL values, decoded bit by bit (fields not named: confidence "low"):
    values = {
        1: 2,  # fill
        21824: 0,  # clear (6), land
        21952: 0,  # clear (6), water (7)
        22280: 1,  # cloud (3), cloud confidence high (8-9)
        23888: 1,  # cloud shadow (4), shadow confidence high (10-11), clear bit set
        54596: 1,  # cirrus (2), cirrus confidence high (14-15)
        30048: 0,  # snow (5), snow confidence high (12-13): valid by default
        21826: 1,  # dilated cloud (1)
    }
    qa = _layer(np.array([[list(values)]], "uint16"))
    assert mask_from_landsat_qa(qa).values.ravel().tolist() == list(values.values())
    with_snow = mask_from_landsat_qa(qa, invalid_bits=LANDSAT_QA_INVALID + (5,))
    assert with_snow.values.ravel().tolist()[6] == 1
    radsat = _layer(np.array([[[1, 1, 0, 0, 0, 0, 2048, 0]]], "uint16"))  # fill wins; terrain occlusion counts
    assert mask_from_landsat_qa(qa, radsat).values.ravel().tolist() == [2, 1, 0, 1, 1, 1, 1, 1]


def test_landsat_band_of_a_cube_nan_and_dask(make_cube):
    cube = make_cube(n_time=2, bands=("SR_B4", "QA_PIXEL"), height=2, width=2, dtype="float64")
    cube.loc[{"band": "QA_PIXEL"}] = np.array([[[21824, 22280], [1, np.nan]]] * 2)
    expected = [[[0, 1], [2, 2]]] * 2
    assert mask_from_landsat_qa(cube).values.tolist() == expected
    lazy = mask_from_landsat_qa(cube.chunk({"time": 1}))
    assert lazy.chunks is not None and lazy.values.tolist() == expected


def test_landsat_bad_inputs_are_refused():
    qa = _layer(np.zeros((1, 1, 2), "uint16"))
    with pytest.raises(ConfigError, match=r"mask_from_landsat_qa: invalid_bits must list QA_PIXEL bit numbers between "
                                          r"0 and 15; got \[16\]"):
        mask_from_landsat_qa(qa, invalid_bits=[3, 16])
    with pytest.raises(ConfigError, match=r"confidence has an unknown field 'clouds'; choose among \['cloud', "):
        mask_from_landsat_qa(qa, confidence={"clouds": 2})
    with pytest.raises(ConfigError, match=r"confidence\['cloud'\] must be a level 1 \(low\), 2 \(medium\) or 3 "
                                          r"\(high\); got 4"):
        mask_from_landsat_qa(qa, confidence={"cloud": 4})
    with pytest.raises(DataModelError, match=r"mask_from_landsat_qa: the qa layer holds values -1\.\.0, outside "
                                             r"0\.\.65535"):
        mask_from_landsat_qa(_layer(np.array([[[-1, 0]]])))
    with pytest.raises(DataModelError, match=r"the radsat layer is not on the grid of the qa layer: the 'time'"):
        mask_from_landsat_qa(qa, qa.assign_coords(time=qa.time + np.timedelta64(1, "D")))


# ----------------------------------------------------------------------------------------------- cloud masks


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
    lazy = mask_from_cloud(cloud.chunk({"x": 2}), is_data=cloud.chunk({"y": 2}) * 0 + 1)
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, cloud.values)


def test_cloud_mask_bad_inputs_are_refused():
    cloud = _layer(np.zeros((1, 2, 2)))
    with pytest.raises(DataModelError, match=r"mask_from_cloud: the is_data layer must have dims .*got \('y', 'x'\)"):
        mask_from_cloud(cloud, is_data=cloud.isel(time=0))
    with pytest.raises(DataModelError, match=r"mask_from_cloud: the is_data layer is not on the grid of the cloud "
                                             r"layer: the 'y' coordinates differ"):
        mask_from_cloud(cloud, is_data=cloud.assign_coords(y=cloud.y - 5.0))


# ------------------------------------------------------------------------------------------ cloud probability


@settings(max_examples=30, deadline=None)
@given(
    prob=arrays(np.float64, (2, 3, 4), elements=st.one_of(st.floats(0, 1), st.just(np.nan))),
    threshold=st.floats(0, 1),
)
def test_probability_matches_brute_force(prob, threshold):
    mask = mask_from_cloud_probability(_layer(prob), threshold)
    expected = np.where(np.isnan(prob), 2, np.where(prob > threshold, 1, 0))
    np.testing.assert_array_equal(mask.values, expected)
    percent = mask_from_cloud_probability(_layer(prob * 100, attrs={"units": "%"}), threshold)
    np.testing.assert_array_equal(percent.values[np.isnan(prob)], 2)


def test_probability_percent_is_data_and_dask():
    prob = _layer(np.array([[[0, 40, 41, 100]]], "uint8"), attrs={"units": "%"})
    assert mask_from_cloud_probability(prob).values.ravel().tolist() == [0, 0, 1, 1]
    is_data = _layer(np.array([[[1, 1, 1, 0]]]))
    lazy = mask_from_cloud_probability(prob.chunk({"x": 1}), 0.4, is_data=is_data, dilate=1)
    assert lazy.chunks is not None
    assert lazy.values.ravel().tolist() == [0, 1, 1, 2]


def test_probability_bad_inputs_are_refused():
    prob = _layer(np.array([[[0.2, 0.9]]]))
    with pytest.raises(ConfigError, match=r"mask_from_cloud_probability: threshold must be a probability in \[0, 1\] "
                                          r".*got 40"):
        mask_from_cloud_probability(prob, 40)
    with pytest.raises(DataModelError, match=r"the prob layer holds values 20\.\.90, outside 0\.\.1; give "
                                             r"probabilities in \[0, 1\] \(or in percent"):
        mask_from_cloud_probability(prob * 100)
    with pytest.raises(DataModelError, match=r"values 0\.2\.\.120%, outside 0\.\.100%"):
        mask_from_cloud_probability(_layer(np.array([[[0.2, 120]]]), attrs={"units": "%"}))


def test_probability_agrees_with_the_slovenian_cloud_mask():
    from labkit.datasets import load_slovenia

    data = load_slovenia()
    mask = mask_from_cloud_probability(data.extra["cloud_probability"], 0.4)
    assert dm.validate(mask) == "mask"
    agreement = float((mask == data.mask).mean())
    assert agreement > 0.95  # eo-learn's mask came from the same probabilities (s2cloudless, smoothed and dilated)


# -------------------------------------------------------------------------------------------------- dilation


def _expected_dilation(codes, pixels):
    """Brute force: a valid pixel turns invalid when an invalid pixel of its date lies within `pixels`."""
    out = codes.copy()
    for t, i, j in np.argwhere(codes == 0):
        clouds = np.argwhere(codes[t] == 1)
        if len(clouds) and ((clouds - [i, j]) ** 2).sum(axis=1).min() <= pixels**2:
            out[t, i, j] = 1
    return out


def test_dilation_hand_made_example():
    codes = np.zeros((2, 7, 7), "uint8")
    codes[0, 3, 3] = 1  # one cloudy pixel in the middle
    codes[0, 3, 4] = 2  # next to it, a pixel not observed
    codes[0, 0, 6] = 1  # a cloudy corner pixel
    codes[1, 6, 0] = 2  # date 2: no cloud, one missing pixel
    mask = _layer(codes)
    got = dilate_mask(mask, 2).values
    expected = np.array([
        [0, 0, 0, 0, 1, 1, 1],
        [0, 0, 0, 1, 0, 1, 1],
        [0, 0, 1, 1, 1, 0, 1],
        [0, 1, 1, 1, 2, 1, 0],
        [0, 0, 1, 1, 1, 0, 0],
        [0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ], "uint8")
    np.testing.assert_array_equal(got[0], expected)  # a disk of radius 2; the 2 stays 2 and does not spread
    np.testing.assert_array_equal(got[1], codes[1])  # date by date
    np.testing.assert_array_equal(mask.values, codes)  # the input is unchanged
    assert int((dilate_mask(mask, 2)[0] == 1).sum()) == 13 + 6 - 1  # disk (13) + corner quarter disk (6) - 1 shared
    np.testing.assert_array_equal(dilate_mask(mask, 0).values, codes)


@settings(max_examples=25, deadline=None)
@given(
    codes=arrays(np.uint8, (2, 9, 11), elements=st.sampled_from([0, 0, 0, 0, 0, 0, 1, 2])),
    pixels=st.integers(0, 4),
    chunks=st.tuples(st.integers(1, 2), st.integers(1, 9), st.integers(1, 11)),
)
def test_dilation_matches_brute_force_whatever_the_chunks(codes, pixels, chunks):
    mask = _layer(codes)
    expected = _expected_dilation(codes, pixels)
    np.testing.assert_array_equal(dilate_mask(mask, pixels).values, expected)
    lazy = dilate_mask(mask.chunk(dict(zip(("time", "y", "x"), chunks))), pixels)
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, expected)


def test_dilate_keyword_of_every_constructor():
    rng = np.random.default_rng(5)
    scl = _layer(rng.choice([4, 5, 9, 0], size=(2, 8, 8), p=[0.5, 0.4, 0.05, 0.05]))
    np.testing.assert_array_equal(mask_from_scl(scl, dilate=2).values, dilate_mask(mask_from_scl(scl), 2).values)
    clm = _layer(rng.choice([0, 2, 32], size=(2, 8, 8), p=[0.9, 0.05, 0.05]))
    np.testing.assert_array_equal(mask_from_maja(clm, dilate=1).values, dilate_mask(mask_from_maja(clm), 1).values)
    qa = _layer(rng.choice([21824, 22280], size=(2, 8, 8), p=[0.95, 0.05]))
    np.testing.assert_array_equal(mask_from_landsat_qa(qa, dilate=3).values,
                                  dilate_mask(mask_from_landsat_qa(qa), 3).values)
    cloud = _layer(rng.choice([0, 1], size=(2, 8, 8), p=[0.95, 0.05]))
    np.testing.assert_array_equal(mask_from_cloud(cloud, dilate=1).values,
                                  dilate_mask(mask_from_cloud(cloud), 1).values)


def test_dilation_bad_inputs_are_refused():
    mask = _layer(np.zeros((1, 3, 3), "uint8"))
    for pixels in (-1, 1.5, True):
        with pytest.raises(ConfigError, match=r"dilate_mask: dilate must be a whole number of pixels from 0 to 1000; got"):
            dilate_mask(mask, pixels)
    with pytest.raises(ConfigError, match=r"mask_from_scl: dilate must be a whole number of pixels from 0 to 1000; got -2"):
        mask_from_scl(mask, dilate=-2)
    with pytest.raises(DataModelError, match=r"dilate_mask: mask is not a validity mask: mask: dtype must be uint8"):
        dilate_mask(mask.astype("int64"), 1)
    with pytest.raises(DataModelError, match=r"dilate_mask: mask: codes must be 0"):
        dilate_mask(mask + 3, 1)


# ----------------------------------------------------------------------------------------------- combination


@settings(max_examples=20, deadline=None)
@given(stack=arrays(np.uint8, (3, 2, 3, 4), elements=st.integers(0, 2)))
def test_combine_is_the_worst_code(stack):
    masks = [_layer(m) for m in stack]
    combined = combine_masks(*masks)
    np.testing.assert_array_equal(combined.values, stack.max(axis=0))
    assert combined.dtype == np.uint8 and combined.name == "validity"
    lazy = combine_masks(masks[0].chunk({"x": 2}), masks[1], masks[2].chunk({"y": 1}))
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values, stack.max(axis=0))


def test_combine_two_products():
    scl = _layer(np.array([[[4, 4, 9, 0]]]), crs="EPSG:32632")
    prob = _layer(np.array([[[0.1, 0.8, 0.1, 0.9]]]), crs="EPSG:32632")
    combined = combine_masks(mask_from_scl(scl), mask_from_cloud_probability(prob))
    assert combined.values.ravel().tolist() == [0, 1, 1, 2]
    assert combined.rio.crs.to_epsg() == 32632
    assert combine_masks(mask_from_scl(scl)).values.ravel().tolist() == [0, 0, 1, 2]


def test_combine_refuses_other_grids():
    a = _layer(np.zeros((2, 2, 3), "uint8"))
    with pytest.raises(ConfigError, match="combine_masks: give at least one mask"):
        combine_masks()
    with pytest.raises(DataModelError, match=r"combine_masks: mask 2 is not on the grid of mask 1: sizes"):
        combine_masks(a, a.isel(time=[0]))
    with pytest.raises(DataModelError, match=r"mask 3 is not on the grid of mask 1: the 'time' coordinates differ"):
        combine_masks(a, a, a.assign_coords(time=a.time + np.timedelta64(1, "D")))
    with pytest.raises(DataModelError, match=r"combine_masks: mask 2 is not a validity mask: .*dtype must be uint8"):
        combine_masks(a, a.astype(float))
    with pytest.raises(DataModelError, match=r"combine_masks: mask 1: expected a validity mask, an xarray.DataArray "
                                             r".*got ndarray"):
        combine_masks(a.values, a)


# --------------------------------------------------------------------------------------------------- summaries


def test_count_valid_counts_only_code_zero():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 3, (7, 4, 5)).astype("uint8")
    counted = count_valid(_layer(codes))
    assert counted.dims == ("y", "x")
    expected = [[sum(codes[t, i, j] == 0 for t in range(7)) for j in range(5)] for i in range(4)]
    assert counted.values.tolist() == expected


def test_valid_fraction_per_date():
    codes = np.array([[[0, 0], [0, 0]], [[0, 1], [2, 2]], [[2, 2], [2, 2]]], "uint8")
    mask = _layer(codes)
    fraction = valid_fraction_per_date(mask)
    assert fraction.dims == ("time",) and fraction.name == "valid_fraction"
    assert fraction.values.tolist() == [1.0, 0.25, 0.0]
    observed = valid_fraction_per_date(mask.chunk({"x": 1}), observed_only=True)
    assert observed.chunks is not None
    np.testing.assert_array_equal(observed.values, [1.0, 0.5, np.nan])
    with pytest.raises(DataModelError, match=r"valid_fraction_per_date: mask is not a validity mask: mask: dims "
                                             r"must be \('time', 'y', 'x'\); got \('y', 'x'\)"):
        valid_fraction_per_date(mask.isel(time=0))
    with pytest.raises(DataModelError, match=r"count_valid: mask: expected a validity mask"):
        count_valid(codes)


# --------------------------------------------------------------------------------------------------- real data


def _invalid_share(mask) -> pd.Series:
    share = (mask == 1).mean(("y", "x"))
    return pd.Series(np.asarray(share.values), index=pd.DatetimeIndex(mask.time.values).strftime("%Y-%m-%d"))


def test_bolzano_scl_mask():
    from labkit.datasets import load_bolzano

    data = load_bolzano()
    mask = mask_from_scl(data.extra["scl"])
    np.testing.assert_array_equal(mask.values, data.mask.values)
    share = _invalid_share(mask)
    assert (share[CLOUDY_DATES] > 0.9).all()
    assert (share[CLEAR_DATES] < 0.05).all()
    count = count_valid(mask)
    assert 7 <= int(count.min()) and int(count.max()) <= 9  # 7 clear dates, 2 partly cloudy
    # dilation only adds invalid pixels, on the partly cloudy dates
    added = (dilate_mask(mask, 3) != mask).sum(("y", "x"))
    assert int(added.sum()) > 0 and int(added.sel(time=CLOUDY_DATES).sum()) == 0


@pytest.mark.mirror
def test_mirror_bolzano_cube_lazily(mirror):
    scl = xr.open_zarr(mirror / BOLZANO_ZARR)["SCL"].rename(t="time")
    assert scl.dtype == np.float32 and dict(scl.sizes) == {"time": 12, "y": 705, "x": 935}
    mask = mask_from_scl(scl)
    assert mask.chunks is not None  # nothing computed yet
    share = _invalid_share(mask)
    assert (share[CLOUDY_DATES] > 0.9).all()
    assert (share[CLEAR_DATES] < 0.05).all()
    assert 0.3 < share["2022-06-02"] < 0.9 and 0.3 < share["2022-06-17"] < 0.9  # the two partly cloudy dates
    assert float((mask == 2).mean()) == float(scl.isnull().mean())  # NaN is no data (there is none here)
    count = count_valid(mask).compute()
    assert count.dims == ("y", "x") and 6 <= int(count.min()) and int(count.max()) <= 9
    assert float(count.mean()) > 7.5
    fraction = valid_fraction_per_date(mask).compute()
    np.testing.assert_allclose(fraction.values, (mask == 0).mean(("y", "x")).values)
    dilated = mask_from_scl(scl, dilate=2)
    assert dilated.chunks is not None
    np.testing.assert_array_equal(dilated.values, dilate_mask(mask.compute(), 2).values)


# ---------------------------------------------------------------------------------------------------- MODIS


def _expected_modis(reliability, quality, invalid, bits, max_usefulness):
    """The code of each pixel, one pixel at a time, from the MOD13 user guide's tables."""
    out = np.empty(reliability.shape, "uint8")
    for index, value in np.ndenumerate(reliability):
        code = 2 if np.isnan(value) or value == -1 else 1 if value in invalid else 0
        if quality is not None:
            q = quality[index]
            if np.isnan(q) or int(q) % 65536 & 3 == 3:
                code = 2
            elif (int(q) & 3 == 2 or any(_bit(int(q) % 65536, b) for b in bits)
                  or (int(q) >> 2) % 16 > max_usefulness):
                code = max(code, 1)
        out[index] = code
    return out


@settings(max_examples=30, deadline=None)
@given(
    reliability=arrays(np.float64, (2, 3, 4), elements=st.sampled_from([-1.0, 0.0, 1.0, 2.0, 3.0, np.nan])),
    quality=st.one_of(st.none(), arrays(np.float64, (2, 3, 4),
                                        elements=st.one_of(st.integers(0, 65535).map(float), st.just(np.nan)))),
    invalid=st.one_of(st.none(), st.sets(st.sampled_from([0, 1, 2, 3]))),
    bits=st.one_of(st.none(), st.sets(st.sampled_from(sorted(MODIS_VI_QUALITY_BITS)))),
    max_usefulness=st.integers(0, 15),
)
def test_modis_matches_brute_force(reliability, quality, invalid, bits, max_usefulness):
    kwargs = {"max_usefulness": max_usefulness}
    if invalid is not None:
        kwargs["invalid"] = invalid
    if bits is not None:
        kwargs["vi_invalid_bits"] = bits
    mask = mask_from_modis(_layer(reliability), None if quality is None else _layer(quality), **kwargs)
    expected = _expected_modis(reliability, quality, MODIS_RELIABILITY_INVALID if invalid is None else invalid,
                               MODIS_VI_QUALITY_INVALID if bits is None else bits, max_usefulness)
    np.testing.assert_array_equal(mask.values, expected)


def test_modis_defaults_follow_the_user_guide():
    assert sorted(MODIS_RELIABILITY) == [-1, 0, 1, 2, 3]
    reliability = _layer(np.array([[[0, 1, 2, 3, -1]]], "int8"), crs="EPSG:4326")
    mask = mask_from_modis(reliability)
    assert mask.values.tolist() == [[[0, 0, 0, 1, 2]]] and mask.rio.crs == "EPSG:4326" and mask.name == "validity"
    assert mask_from_modis(reliability, invalid=[1, 3]).values.tolist() == [[[0, 1, 0, 1, 2]]]  # marginal dropped
    assert mask_from_modis(reliability, invalid=[2, 3]).values.tolist() == [[[0, 0, 1, 1, 2]]]  # snow dropped
    # VI Quality, read bit by bit: MODLAND 0 good, 1 check other QA, 2 probably cloudy, 3 not produced; usefulness
    # 12 (lowest kept) and 13 (not useful); adjacent cloud (8), BRDF (9), mixed clouds (10), land (bits 11-13 = 1),
    # aerosols high (6-7), possible snow (14), possible shadow (15); the fill value 65535
    values = {0: 0, 1: 0, 2: 1, 3: 2, 12 << 2: 0, 13 << 2: 1, 1 << 8: 1, 1 << 9: 0, 1 << 10: 1, 1 << 11: 0,
              3 << 6: 0, 1 << 14: 0, 1 << 15: 1, 65535: 2}
    good = _layer(np.zeros((1, 1, len(values)), "int8"))
    quality = _layer(np.array([[list(values)]], "uint16"))
    assert mask_from_modis(good, quality).values.ravel().tolist() == list(values.values())
    snowy = mask_from_modis(good, quality, vi_invalid_bits=MODIS_VI_QUALITY_INVALID + (14,))
    assert snowy.values.ravel().tolist()[list(values).index(1 << 14)] == 1
    strict = mask_from_modis(good, quality, max_usefulness=0)
    assert strict.values.ravel().tolist()[list(values).index(12 << 2)] == 1
    # the same 16 bits read as int16 (GDAL reads some MOD13 files so) give the same mask
    as_int16 = _layer(np.array([[list(values)]], "uint16").view("int16"))
    assert mask_from_modis(good, as_int16).values.tolist() == mask_from_modis(good, quality).values.tolist()


def test_modis_reliability_band_of_a_cube_in_mod13_spellings_and_dask(make_cube):
    for name in ("250m 16 days pixel reliability", "250m_16_days_pixel_reliability",
                 "MOD13Q1.061__250m_16_days_pixel_reliability_doy2014001_aid0001", "pixel_reliability"):
        cube = make_cube(n_time=2, bands=("250m 16 days NDVI", name), height=2, width=2, dtype="float64")
        cube.loc[{"band": name}] = np.array([[[0, 3], [-1, np.nan]]] * 2)
        assert mask_from_modis(cube).values.tolist() == [[[0, 1], [2, 2]]] * 2
    lazy = mask_from_modis(cube.chunk({"time": 1, "y": 1}))
    assert lazy.chunks is not None and lazy.values.tolist() == [[[0, 1], [2, 2]]] * 2
    with pytest.raises(BandError, match=r"mask_from_modis: the cube has no band 'SummaryQA'"):
        mask_from_modis(cube, band="SummaryQA")


def test_modis_bad_inputs_are_refused():
    reliability = _layer(np.zeros((1, 1, 2), "int8"))
    with pytest.raises(ConfigError, match=r"mask_from_modis: invalid must list pixel reliability values between -1 "
                                          r"and 3; got \[4\]"):
        mask_from_modis(reliability, invalid=[3, 4])
    with pytest.raises(ConfigError, match=r"pixel reliability values \[3\] are listed as both invalid and no-data"):
        mask_from_modis(reliability, no_data=[-1, 3])
    with pytest.raises(ConfigError, match=r"vi_invalid_bits \[0, 12\] are bits of a field \(0-1 MODLAND QA, "
                                          r"2-5 usefulness, 6-7 aerosols, 11-13 land/water\), not flags"):
        mask_from_modis(reliability, vi_invalid_bits=[0, 8, 12])
    with pytest.raises(ConfigError, match=r"max_usefulness must be a VI usefulness score from 0 \(highest quality\) "
                                          r"to 15; got 16"):
        mask_from_modis(reliability, max_usefulness=16)
    with pytest.raises(DataModelError, match=r"mask_from_modis: the reliability layer holds values 0\.\.255, "
                                             r"outside -1\.\.3; is it the right layer\?"):
        mask_from_modis(_layer(np.array([[[0, 255]]], "uint8")))
    with pytest.raises(DataModelError, match=r"the vi_quality layer holds values 0\.\.70000, outside "
                                             r"-32768\.\.65535"):
        mask_from_modis(reliability, _layer(np.array([[[0, 70000]]])))
    with pytest.raises(DataModelError, match=r"the vi_quality layer is not on the grid of the reliability layer"):
        mask_from_modis(reliability, _layer(np.zeros((1, 1, 3), "uint16")))


# ------------------------------------------------------------------------------------- the cube's own no data


def _expected_nodata(values, nodata, valid_range=None):
    """Per date and pixel: 2 if every band is missing, 1 if some are, else 0."""
    low, high = valid_range or (-np.inf, np.inf)
    out = np.empty((values.shape[0], *values.shape[2:]), "uint8")
    for t, y, x in np.ndindex(out.shape):
        missing = [not np.isfinite(v) or (nodata is not None and v == nodata) or not low <= v <= high
                   for v in values[t, :, y, x]]
        out[t, y, x] = 2 if all(missing) else 1 if any(missing) else 0
    return out


@settings(max_examples=30, deadline=None)
@given(values=arrays(np.float32, (3, 2, 2, 3), elements=st.sampled_from([0.0, 0.25, -3000.0, np.nan, np.inf])),
       nodata=st.sampled_from([None, -3000.0, 0]), chunked=st.booleans(),
       valid_range=st.sampled_from([None, (-0.2, 1.0), (0.0, 0.0), (0.25, 0.25)]))
def test_nodata_matches_brute_force(values, nodata, chunked, valid_range):
    cube = dm.make_cube(values, pd.date_range("2021-01-01", periods=3), ["B04", "B08"],
                        transform=(10, 0, 0, 0, -10, 20), crs="EPSG:32631")
    if chunked:  # dask chunks that split the bands and the grid
        cube = cube.chunk({"time": 1, "band": 1, "y": 1})
    mask = mask_from_nodata(cube, nodata, valid_range=valid_range)
    assert (mask.chunks is not None) == chunked
    np.testing.assert_array_equal(mask.values, _expected_nodata(values, nodata, valid_range))


def test_nodata_mask_is_on_the_cube_grid(make_cube):
    cube = make_cube(n_time=2, bands=("B04", "B08", "B11"), height=2, width=3)
    cube[0, :, 0, 0] = np.nan  # no acquisition
    cube[1, 2, 1, 1] = np.nan  # one band missing
    mask = mask_from_nodata(cube)
    assert dm.validate(mask) == "mask" and mask.name == "validity"
    assert mask.rio.crs == cube.rio.crs and mask.rio.transform() == cube.rio.transform()
    xr.testing.assert_equal(mask.time, cube.time)
    assert mask.values.tolist() == [[[2, 0, 0], [0, 0, 0]], [[0, 0, 0], [0, 1, 0]]]
    raw = (cube.fillna(0) * 10000).astype("uint16")  # raw reflectance, 0 = no data
    np.testing.assert_array_equal(mask_from_nodata(raw, nodata=0).values, mask.values)
    assert mask_from_nodata(raw).values.max() == 0  # an integer cube has no NaN


def test_nodata_bad_inputs_are_refused(make_cube):
    cube = make_cube()
    with pytest.raises(ConfigError, match=r"mask_from_nodata: nodata must be a number; got 'none'"):
        mask_from_nodata(cube, "none")
    with pytest.raises(DataModelError, match=r"mask_from_nodata: cube: dims must be \('time', 'band', 'y', 'x'\)"):
        mask_from_nodata(cube.isel(band=0))
    assert mask_from_nodata(cube, np.float32("nan")).values.max() == 0  # NaN nodata: NaN is missing anyway
    with pytest.raises(ConfigError, match=r"valid_range must be two numbers \(lowest, highest\), e\.g\. \(-0\.2, "
                                          r"1\.0\); got 0\.5"):
        mask_from_nodata(cube, valid_range=0.5)
    with pytest.raises(ConfigError, match=r"valid_range must be \(lowest, highest\); got \(1, 0\), lowest above"):
        mask_from_nodata(cube, valid_range=(1, 0))


@pytest.mark.mirror
def test_valid_range_finds_the_fill_that_lossy_jpeg2000_smeared(mirror):
    """sits' MOD13Q1 JPEG 2000 files hold the fill -3000 spread over about -3300..-2700: one nodata value misses
    nearly all of it, the valid range of NDVI catches it all."""
    from labkit.io import read_dates

    ndvi = read_dates(str(mirror / "e-sensing/sits/60e37332f346a1d0f0a1b9b16bd36b473788698f/inst/extdata/raster/"
                          "mod13q1/*.jp2"), bands=["NDVI"], scale=1e-4)
    fill = (ndvi.values < -0.2)
    exact = int((mask_from_nodata(ndvi, nodata=-0.3).values == 2).sum())
    ranged = mask_from_nodata(ndvi, valid_range=(-0.2, 1.0)).values
    assert exact < fill.sum() // 100 and fill.sum() > 1000
    np.testing.assert_array_equal(ranged == 2, fill[:, 0] | (ndvi.values[:, 0] > 1.0))
