"""Class 4, silent wrong results: ±inf is never an observation, and a mask code other than 0/1/2 never passes.

(Models applied to other bands or dates: ``test_silent_results_models.py``.)
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

import labkit.datamodel as dm
from labkit.datamodel import Validity
from labkit.errors import DataModelError
from labkit.features import compute_features, temporal_stats
from labkit.gapfill import fill_gaps
from labkit.datamodel import NO_CLASS
from labkit.inference import predict_cube
from labkit.io import read_dates, read_zarr, write_zarr
from labkit.masks import combine_masks, count_valid, dilate_mask, valid_fraction_per_date
from labkit.models import fit_model, make_model
from labkit.samples import extract_samples

DATES = ["2021-01-01", "2021-01-11", "2021-01-21", "2021-01-31", "2021-02-10"]


def _series(values, chunks=None):
    cube = dm.make_cube(np.asarray(values, "float32").reshape(len(values), 1, 1, 1), DATES[: len(values)], ["NDVI"],
                        transform=(10, 0, 0, 0, -10, 10), crs="EPSG:32631")
    return cube.chunk(chunks) if chunks else cube


# ---------------------------------------------------------------------------------------------- ±inf values


@pytest.mark.parametrize("method", ["linear", "nearest", "whittaker"])
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
@pytest.mark.parametrize("chunks", [None, {"x": 1}])
def test_fill_gaps_never_takes_inf_for_an_observation(method, bad, chunks):
    cube = _series([0.1, bad, 0.3, 0.4, 0.5], chunks)
    mask = dm.make_mask(np.zeros((5, 1, 1)), like=_series([0] * 5))  # the mask says every date is clear
    filled, flags = fill_gaps(cube, mask, dates=DATES, method=method)
    assert np.isfinite(filled.values).all()
    reference, _ = fill_gaps(_series([0.1, np.nan, 0.3, 0.4, 0.5]), mask, dates=DATES, method=method)
    np.testing.assert_allclose(filled.values, reference.values, rtol=1e-6)  # exactly as if it were missing


def test_a_pixel_whose_only_values_are_inf_has_no_data():
    cube = _series([np.inf, -np.inf, np.inf])
    filled, flags = fill_gaps(cube, dm.make_mask(np.zeros((3, 1, 1)), like=cube), step=10)
    assert np.isnan(filled.values).all() and (flags.values == Validity.NO_DATA).all()


def test_a_file_holding_inf_reads_as_nan(tmp_path):
    path = tmp_path / "ndvi_2021-05-01.tif"
    with rasterio.open(path, "w", driver="GTiff", height=1, width=3, count=1, dtype="float32", crs="EPSG:32631",
                       transform=rasterio.Affine(10, 0, 0, 0, -10, 10)) as dst:
        dst.write(np.array([[[0.5, np.inf, -np.inf]]], "float32"))
    for chunks in (None, 2):
        values = read_dates([path], bands=["NDVI"], chunks=chunks).values.ravel()
        assert values[0] == 0.5 and np.isnan(values[1:]).all()


def test_a_store_holding_inf_reads_as_nan(tmp_path):
    path = write_zarr(_series([0.5, np.inf, -np.inf]), tmp_path / "c.zarr")
    assert np.isnan(read_zarr(path).values.ravel()[1:]).all()


def test_temporal_statistics_skip_inf():
    values = np.array([[[0.2], [np.inf], [0.6], [-np.inf]]])  # (sample, time, band)
    stats = temporal_stats(values, ["min", "max", "mean", "std"])
    np.testing.assert_allclose(stats.ravel(), [0.2, 0.6, 0.4, 0.2])


def test_features_of_a_cube_with_inf_hold_no_inf():
    cube = _series([0.2, np.inf, 0.6, -np.inf, 0.4])
    series, timeless = compute_features(cube, stats=["max", "min"])
    assert not np.isinf(series.values).any() and not np.isinf(timeless.values).any()
    assert np.isnan(series.values.ravel()[[1, 3]]).all()  # the kept band: inf is missing
    np.testing.assert_allclose(timeless.sel(feature=["NDVI_max", "NDVI_min"]).values.ravel(), [0.6, 0.2])


def test_a_pixel_with_inf_is_not_classified_nor_sampled(cube):
    import geopandas as gpd
    from shapely.geometry import box

    dirty = cube.copy(data=cube.values.copy())
    dirty[2, 1, 0, 0] = np.inf  # one value of the corner pixel
    polygons = gpd.GeoDataFrame({"class": [1, 2], "polygon_id": [10, 11]}, geometry=[box(500000, 3999840, 500160, 4000000),
                                                             box(500320, 3999360, 500480, 3999520)],
                                crs="EPSG:32631")
    samples = extract_samples(dirty, polygons, class_field="class")
    assert not np.isinf(samples["X"].values).any()
    assert np.isnan(samples["X"].values).sum() == 1  # the inf became the missing value it is
    assert not samples["valid"].values[0, 2]  # and the observation is not valid
    model = fit_model(make_model("rf", n_estimators=5, random_state=0), samples.assign(X=samples["X"].fillna(0)))
    class_map, _ = predict_cube(dirty, model, block=16)
    assert class_map.values[0, 0] == NO_CLASS and (class_map.values != NO_CLASS).sum() == 64 * 64 - 1


# ------------------------------------------------------------------------------------------------ mask codes

CODES = r"codes must be 0 \(valid\), 1 \(cloud/shadow/saturated\) or 2 \(no acquisition\); found \[3\]"


def _bad_mask(mask, lazy=False):
    codes = mask.values.copy()
    codes[0, 5, 5] = 3
    bad = mask.copy(data=codes)
    return bad.chunk({"y": 32}) if lazy else bad


@pytest.mark.parametrize("lazy", [False, True])
def test_fill_gaps_refuses_other_mask_codes(cube, mask, lazy):
    source = cube.chunk({"y": 32}) if lazy else cube
    with pytest.raises(DataModelError, match=rf"fill_gaps: the mask: {CODES}"):
        filled, flags = fill_gaps(source, _bad_mask(mask, lazy), step=10)
        filled.values  # a dask mask is checked chunk by chunk, when computed


@pytest.mark.parametrize("stage", ["count_valid", "valid_fraction_per_date", "dilate_mask", "combine_masks"])
def test_mask_stages_refuse_other_codes(mask, stage):
    calls = {"count_valid": lambda m: count_valid(m), "valid_fraction_per_date": lambda m: valid_fraction_per_date(m),
             "dilate_mask": lambda m: dilate_mask(m, 1), "combine_masks": lambda m: combine_masks(mask, m)}
    with pytest.raises(DataModelError, match=rf"{stage}: .*{CODES}"):
        result = calls[stage](_bad_mask(mask, lazy=True))
        result.compute()


def test_make_mask_and_write_zarr_refuse_other_codes(cube, mask, tmp_path):
    with pytest.raises(DataModelError, match=CODES):
        dm.make_mask(_bad_mask(mask).values, like=cube)
    with pytest.raises(DataModelError, match=rf"write_zarr: the mask: {CODES}"):
        write_zarr(cube.chunk({"y": 32}), tmp_path / "c.zarr", mask=_bad_mask(mask, lazy=True))
    assert list(tmp_path.iterdir()) == []


def test_a_store_with_other_mask_codes_is_refused_when_read(cube, mask, tmp_path):
    path = write_zarr(cube, tmp_path / "c.zarr", mask=mask)
    import zarr

    zarr.open_array(path / "mask", mode="r+", zarr_format=2)[0, 0, 0] = 9
    with pytest.raises(Exception, match=r"codes must be 0"):
        read_zarr(path, with_mask=True, chunks=None)


def test_a_sample_file_holding_inf_reads_as_nan(samples, tmp_path):
    from labkit.io import read_samples, write_samples

    X = samples["X"].values.copy()
    X[0, 0, 0], X[1, 2, 1] = np.inf, -np.inf
    back = read_samples(write_samples(samples.assign(X=(samples["X"].dims, X)), tmp_path / "s.nc"))
    assert np.isnan(back["X"].values[0, 0, 0]) and np.isnan(back["X"].values[1, 2, 1])
    assert np.isfinite(back["X"].values).sum() == X.size - 2


def test_a_sample_table_holding_inf_reads_as_nan(tmp_path):
    from labkit.sample_tables import read_csv_wide

    path = tmp_path / "s.csv"
    path.write_text("class,d1.red,d1.nir,d2.red,d2.nir\n1,0.1,0.5,0.2,0.6\n2,0.3,0.2,inf,-inf\n")
    samples = read_csv_wide(path, label_column="class", bands=["red", "nir"])
    assert np.isnan(samples["X"].values[1, 1]).all() and np.isfinite(samples["X"].values[0]).all()
