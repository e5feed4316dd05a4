"""The data model: builders produce valid objects, and validate names exactly what is wrong."""

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import labkit.datamodel as dm
from labkit.errors import DataModelError, LabkitError

TRANSFORM = (10.0, 0.0, 500000.0, 0.0, -10.0, 4000000.0)
DATES = ["2020-01-01", "2020-01-11", "2020-01-21"]


def cube(data=None, **kwargs):
    data = np.zeros((3, 2, 4, 5), "float32") if data is None else data
    return dm.make_cube(data, DATES, ["B04", "B08"], transform=TRANSFORM, crs="EPSG:32631", **kwargs)


def test_make_cube_builds_grid_from_transform():
    c = cube()
    assert c.dims == dm.CUBE_DIMS
    assert c.x.values.tolist() == [500005.0, 500015.0, 500025.0, 500035.0, 500045.0]
    assert c.y.values[0] == 3999995.0 and np.all(np.diff(c.y.values) == -10)
    assert c.rio.crs.to_epsg() == 32631
    assert tuple(c.rio.transform())[:6] == TRANSFORM
    assert np.issubdtype(c.time.dtype, np.datetime64)


def test_dask_cube_stays_lazy():
    c = cube(da.zeros((3, 2, 4, 5), chunks=(3, 2, 2, 2)))
    assert dm.validate(c) == "cube"
    assert isinstance(c.data, da.Array)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.transpose("band", "time", "y", "x"), r"dims must be \('time', 'band', 'y', 'x'\).*transpose"),
        (lambda c: c.drop_vars("spatial_ref"), "no CRS.*write_crs"),
        (lambda c: c.assign_coords(time=pd.to_datetime(["2020-01-01", "2020-01-21", "2020-01-11"])),
         "strictly increasing; position 2"),
        (lambda c: c.assign_coords(time=[1.0, 2.0, 3.0]), "'time' must hold datetime64"),
        (lambda c: c.assign_coords(band=["B04", "B04"]), r"unique; \['B04'\]"),
        (lambda c: c.assign_coords(x=[0.0, 1.0, 2.0, 4.0, 5.0]), "'x' coordinate is not regularly spaced"),
        (lambda c: c.astype(bool).astype(object), "values must be numbers"),
    ],
)
def test_validate_cube_names_the_problem(change, message):
    with pytest.raises(DataModelError, match=message):
        dm.validate(change(cube()), "cube")


def test_validate_guesses_kind_and_refuses_unknown_dims():
    assert dm.validate(cube()) == "cube"
    with pytest.raises(DataModelError, match="cannot tell what this DataArray is"):
        dm.validate(xr.DataArray(np.zeros((2, 2)), dims=("a", "b")))
    with pytest.raises(DataModelError, match="unknown kind 'raster'"):
        dm.validate(cube(), "raster")
    with pytest.raises(DataModelError, match="expected an xarray"):
        dm.validate(np.zeros(3))


def test_mask_codes_are_checked():
    c = cube()
    mask = dm.make_mask(np.zeros((3, 4, 5), "uint8"), like=c)
    assert mask.dims == dm.MASK_DIMS and mask.dtype == np.uint8
    with pytest.raises(DataModelError, match=r"found \[7\]"):
        dm.make_mask(np.full((3, 4, 5), 7, "uint8"), like=c)
    with pytest.raises(DataModelError, match="dtype must be uint8"):
        dm.validate(mask.astype("int16"), "mask")
    lazy = mask.copy(data=da.full((3, 4, 5), 9, dtype="uint8", chunks=2))
    assert dm.validate(lazy, "mask") == "mask"  # values of a dask mask are not computed by default...
    with pytest.raises(DataModelError, match="codes must be"):
        dm.validate(lazy, "mask", check_values=True)  # ...unless asked


def test_validity_codes_match_iota2():
    assert [int(v) for v in dm.Validity] == [0, 1, 2]


def test_samples_roundtrip_fields_and_errors():
    s = dm.make_samples(np.ones((4, 3, 2)), [1, 1, 2, 2], [7, 7, 8, 9], bands=["B04", "B08"], region=[0, 0, 1, 1],
                        class_names={1: "crop", 2: "forest"}, crs="EPSG:32631")
    assert dm.validate(s) == "samples"
    assert s.time.values.tolist() == [0, 1, 2]  # positions when no dates are given
    assert dm.class_names(s) == {1: "crop", 2: "forest"}
    with pytest.raises(DataModelError, match="missing variable 'group'"):
        dm.validate(s.drop_vars("group"))
    with pytest.raises(DataModelError, match=r"'label' must hold integers \(class codes\) or text \(class names\)"):
        dm.validate(s.assign(label=("sample", np.array([1.5, 1.0, 2.0, 2.0]))))
    with pytest.raises(DataModelError, match="'class_name' names integer class codes, but the labels are text"):
        dm.validate(s.assign(label=("sample", np.array(["a", "b", "c", "d"]))))  # text labels are their own names
    with pytest.raises(DataModelError, match=r"labels \[3\] have no entry in 'class_name'"):
        dm.validate(s.assign(label=("sample", np.array([1, 1, 2, 3]))))
    with pytest.raises(DataModelError, match=r"'X' must have dims \('sample', 'time', 'band'\)"):
        dm.validate(s.assign(X=s.X.transpose("time", "sample", "band")))


def test_class_map_and_probs():
    grid = {"y": [1.0, 0.0], "x": [0.0, 1.0]}
    assert dm.validate(xr.DataArray(np.zeros((2, 2), "uint8"), dims=("y", "x"), coords=grid)) == "class_map"
    with pytest.raises(DataModelError, match="integer type"):
        dm.validate(xr.DataArray(np.zeros((2, 2)), dims=("y", "x"), coords=grid), "class_map")
    probs = xr.DataArray(np.full((3, 2, 2), 0.5), dims=("class", "y", "x"), coords=grid)
    assert dm.validate(probs) == "probs"
    with pytest.raises(DataModelError, match=r"\[0, 1\]; found 0.5..1.5"):
        dm.validate(probs + [[[0.0]], [[0.0]], [[1.0]]])


def test_errors_share_one_base():
    with pytest.raises(LabkitError):
        dm.validate(np.zeros(2))
