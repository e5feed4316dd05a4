"""Class 5, messages that miss their source: a problem found in a file names the file, and says what it is.

(Stages: NaN labels in accuracy, points without coordinates: ``test_messages_stages.py``.)
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import labkit.datamodel as dm
from labkit.errors import ConfigError, DataModelError, ReadError
from labkit.io import read_bands, read_dates, read_samples, read_zarr, write_zarr


def _relabel_time(store, times) -> None:
    """Rewrite the dates of a store in place (as another tool writing into it would)."""
    import zarr

    array = zarr.open_array(store / "time", mode="r+", zarr_format=2)
    array[:] = times
    zarr.consolidate_metadata(store, zarr_format=2)


@pytest.mark.parametrize("times, problem", [
    ([0, 10, 5, 30, 40, 50], r"'time' must be strictly increasing; position 2 \(2021-03-06"),
    ([0, 10, 10, 30, 40, 50], r"'time' must be strictly increasing; position 2 \(2021-03-11"),
])
def test_unsorted_or_duplicated_dates_of_a_store_name_the_store(store, times, problem):
    _relabel_time(store, times)  # days since 2021-03-01, the store's time units
    with pytest.raises(ReadError, match=rf"cube\.zarr: cube: {problem}"):
        read_zarr(store)


def test_a_store_whose_cube_has_no_dates_names_the_store(tmp_path, cube):
    layout = cube.drop_vars("time").to_dataset(name="cube").drop_vars("spatial_ref")
    layout = layout.rio.write_crs("EPSG:32631")
    layout.attrs["labkit_layout"] = "labkit-cube-1"
    layout.attrs["labkit_complete"] = True
    layout.to_zarr(tmp_path / "nodates.zarr", zarr_format=2, consolidated=True)
    with pytest.raises(ReadError, match=r"nodates\.zarr: cube: no 'time' coordinate"):
        read_zarr(tmp_path / "nodates.zarr")


def test_a_store_in_another_layout_lists_what_it_holds(tmp_path):
    xr.Dataset({"B04": (("t", "y", "x"), np.zeros((2, 3, 3)))}).to_zarr(tmp_path / "other.zarr", zarr_format=2)
    with pytest.raises(ReadError, match=r"other\.zarr is not in labkit's Zarr layout \(it holds 'B04' \('t', 'y', 'x'\)\), "
                                        r"and cannot be read as a cube in another layout: .*no dates.*time="):
        read_zarr(tmp_path / "other.zarr")


def test_nan_labels_are_named_as_missing_labels_not_as_a_dtype(samples, tmp_path):
    labels = samples["label"].values.astype(float)
    labels[[3, 7]] = np.nan
    with pytest.raises(DataModelError, match=r"'label' is missing \(NaN\) for 2 of 24 samples \(e\.g\. samples "
                                             r"\[3, 7\]\)\. Drop them first"):
        dm.validate(samples.assign(label=("sample", labels)))
    samples.assign(label=("sample", labels)).to_netcdf(tmp_path / "nan.nc", engine="h5netcdf")
    with pytest.raises(ReadError, match=r"nan\.nc does not hold a labkit sample set: sample set: 'label' is missing"):
        read_samples(tmp_path / "nan.nc")


def test_whole_float_labels_get_the_conversion_hint(samples):
    with pytest.raises(DataModelError, match=r"'label' must hold integers \(class codes\) or text \(class names\); "
                                             r"got dtype float64\. Convert whole-number codes with "
                                             r"samples\['label'\]\.astype\('int64'\)"):
        dm.validate(samples.assign(label=samples["label"].astype(float)))


@pytest.mark.parametrize("reader", ["dates", "bands"])
def test_a_bad_date_given_to_a_reader_is_named(date_files, cube, tmp_path, reader):
    if reader == "dates":
        with pytest.raises(ConfigError, match=r"read_dates: dates\[1\] = 'yesterday' is not a date"):
            read_dates(date_files[:2], dates=["2021-05-01", "yesterday"])
    else:
        from labkit.io import write_bands

        files = write_bands(cube, tmp_path / "bands")
        with pytest.raises(ConfigError, match=r"read_bands: dates\[5\] is missing \(NaT\)"):
            read_bands(files, dates=[*cube.time.values[:5], None])


def test_a_missing_file_says_where_paths_are_relative_to(tmp_path):
    with pytest.raises(ReadError, match=r"nothere\.tif: no such file or folder \(paths are relative to "):
        read_dates([tmp_path / "nothere.tif"])


def test_a_mask_of_another_grid_names_the_coordinate(cube, mask, tmp_path):
    shifted = mask.assign_coords(x=mask.x + 5)
    with pytest.raises(DataModelError, match=r"write_zarr: the mask's 'x' coordinate differs from the cube's"):
        write_zarr(cube, tmp_path / "c.zarr", mask=shifted)
    assert list(tmp_path.iterdir()) == []
