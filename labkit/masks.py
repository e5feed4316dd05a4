"""Validity masks: which observation of which pixel may be used.

Takes the quality layers of a product (Sentinel-2 SCL, a plain cloud mask...) and returns a validity mask
``(time, y, x)`` uint8 in labkit's codes (0 valid, 1 cloud/shadow/saturated, 2 no acquisition, see
:class:`labkit.datamodel.Validity`). Comes after reading (:mod:`labkit.io`), before gap-filling
(:mod:`labkit.gapfill`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xarray as xr

from .datamodel import MASK_DIMS, Validity, validate
from .errors import DataModelError

#: SCL classes that count as invalid by default: saturated/defective, cloud shadows, clouds (medium and high
#: probability) and thin cirrus. Snow (11) is kept valid: a snowy winter date still tells the land cover apart.
SCL_INVALID = (1, 3, 8, 9, 10)
#: SCL classes that mean "no acquisition".
SCL_NO_DATA = (0,)


def _as_mask(codes: xr.DataArray, like: xr.DataArray) -> xr.DataArray:
    mask = codes.astype("uint8").rename("validity")
    if like.rio.crs is not None:
        mask = mask.rio.write_crs(like.rio.crs)
    validate(mask, "mask", check_values=False)
    return mask


def mask_from_scl(
    scl: xr.DataArray, *, invalid: Iterable[int] = SCL_INVALID, no_data: Iterable[int] = SCL_NO_DATA
) -> xr.DataArray:
    """Validity mask from Sentinel-2 L2A scene classification (SCL) layers.

    Parameters
    ----------
    scl : xarray.DataArray (time, y, x)
        SCL codes 0-11 (numpy or dask).
    invalid : iterable of int, default :data:`SCL_INVALID`
        SCL classes marked 1 (cloud, shadow, saturated).
    no_data : iterable of int, default :data:`SCL_NO_DATA`
        SCL classes marked 2 (no acquisition). NaN counts as no data too.

    Returns
    -------
    xarray.DataArray (time, y, x) uint8

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> scl = xr.DataArray(np.array([[[4, 9], [3, 0]]]), dims=("time", "y", "x"),
    ...                    coords={"time": np.array(["2022-06-02"], "datetime64[ns]"), "y": [1.0, 0.0], "x": [0.0, 1.0]})
    >>> mask_from_scl(scl).values.tolist()
    [[[0, 1], [1, 2]]]
    """
    if scl.dims != MASK_DIMS:
        raise DataModelError(f"mask_from_scl: the SCL layer must have dims {MASK_DIMS}; got {scl.dims}.")
    invalid, no_data = list(invalid), list(no_data)
    if overlap := set(invalid) & set(no_data):
        raise DataModelError(f"mask_from_scl: SCL classes {sorted(overlap)} are listed as both invalid and no-data.")
    codes = xr.where(scl.isin(invalid), Validity.INVALID, Validity.VALID)
    codes = xr.where(scl.isin(no_data) | scl.isnull(), Validity.NO_DATA, codes)
    return _as_mask(codes, scl)


def mask_from_cloud(cloud: xr.DataArray, *, is_data: xr.DataArray | None = None) -> xr.DataArray:
    """Validity mask from a plain cloud mask (true/non-zero where cloudy) and an optional data mask.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> dims, coords = ("time", "y", "x"), {"time": np.array(["2020-01-01"], "datetime64[ns]"), "y": [0.0], "x": [0.0, 1.0, 2.0]}
    >>> cloud = xr.DataArray([[[0, 1, 0]]], dims=dims, coords=coords)
    >>> data = xr.DataArray([[[1, 1, 0]]], dims=dims, coords=coords)
    >>> mask_from_cloud(cloud, is_data=data).values.tolist()
    [[[0, 1, 2]]]
    """
    for name, layer in (("cloud", cloud), ("is_data", is_data)):
        if layer is not None and set(layer.dims) != set(MASK_DIMS):
            raise DataModelError(f"mask_from_cloud: the {name} layer must have dims {MASK_DIMS}; got {layer.dims}.")
    codes = xr.where(cloud.fillna(0) != 0, Validity.INVALID, Validity.VALID)
    if is_data is not None:
        codes = xr.where(is_data.fillna(0) != 0, codes, Validity.NO_DATA)
    return _as_mask(codes.transpose(*MASK_DIMS), cloud)


def count_valid(mask: xr.DataArray) -> xr.DataArray:
    """Number of valid (clear) dates per pixel, ``(y, x)``.

    Example
    -------
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.array([[[0, 1]], [[0, 2]]], "uint8"), dims=("time", "y", "x"))
    >>> count_valid(m).values.tolist()
    [[2, 0]]
    """
    return (mask == Validity.VALID).sum("time").astype("int32").rename("valid_count")
