"""Super-resolution of Sentinel-2's 20 m bands to 10 m: a small DSen2-like network trained with Wald's protocol.

**The network** (:class:`SRNet`, after Lanaras et al. 2018, "Super-resolution of Sentinel-2 images: learning a
globally applicable deep neural network"): the 10 m bands (B02 B03 B04 B08) and the 20 m bands (B05 B06 B07 B8A
B11 B12) upsampled to the 10 m grid (bicubic), standardised per band and stacked, go through a 3 x 3 convolution
and ReLU, ``n_blocks`` residual blocks (conv, ReLU, conv, scaled by 0.1, added) and a last 3 x 3 convolution; its
output is a **residual** added to the upsampled 20 m bands. With the defaults (``features=16``, ``n_blocks=4``) it
has 21 k weights and sees 10 pixels around each output pixel (DSen2: 128 features, 6 blocks, 1.8 M weights).

**Wald's protocol** (:func:`wald_pair`): there is no 10 m truth of the 20 m bands, so training happens one scale
down. Every band is degraded by 2 (:func:`degrade`: Gaussian blur of sigma 1/2 pixel, then the mean of each 2 x 2
block, as DSen2's ``downPixelAggr``): the 10 m bands become 20 m, the 20 m bands 40 m; the network learns to
restore the 20 m bands from their 40 m version and the 20 m version of the 10 m bands, and is then applied at full
resolution, on the assumption that the relation between scales holds one level up (the premise of DSen2).

**Standardisation**: each band is standardised by the mean and standard deviation of the **image it comes from**
(``standardise="image"``, the default: each training scene, each date of a cube), not by those of the training set
(``"training"``). A network trained on top-of-atmosphere (L1C) scenes then transfers to surface-reflectance (L2A)
images and other landscapes: trained on DSen2's two L1C crops and tested on BigEarthNet's L2A patches, training
statistics leave B11 and B12 about 40 % *worse* than bicubic interpolation, image statistics 25-35 % better (see
``bench/superres.py``).

**Training** (:meth:`SuperResolution.fit`): random ``patch_size`` x ``patch_size`` patches (on the degraded grid,
32 by default) drawn by a seeded sampler from the scenes in proportion to their area, with random flips and quarter
turns; L1 loss on the standardised 20 m bands (as DSen2); Adam with a cosine decay of the learning rate over a fixed
number of ``steps``. With the defaults (16 features, 4 blocks, 16 patches of 32 x 32 per step, 600 steps) training
costs about 40 CPU-seconds: 20-40 s on 2 idle cores, several times that on a loaded, shared machine.

Grids: a 20 m pixel covers the 2 x 2 10 m pixels that share its upper-left corner (Sentinel-2's grids, and
labkit's, line up so); upsampling puts each 10 m pixel centre at its place inside the 20 m pixel (Keys' bicubic
kernel, edges clamped: :func:`upsample`). The stage that applies a model to a cube, date by date and block by block,
is :func:`labkit.superres.superresolve`; the data come from :mod:`labkit.datasets.superres_data`.

Example
-------
>>> rng = np.random.default_rng(0)
>>> yy, xx = np.mgrid[0:64, 0:64] / 8.0
>>> b10 = np.stack([np.sin(xx + k) * np.cos(yy) + 2 for k in range(4)]).astype("float32")  # (4, 64, 64), 10 m
>>> b20 = degrade(np.stack([b10[0] * 0.5 + b10[3] * 0.5] * 6))                              # (6, 32, 32), 20 m
>>> model = SuperResolution(features=8, n_blocks=1, patch_size=8, batch_size=4, steps=5).fit([(b10, b20)])
>>> model.predict(b10, b20).shape
(6, 64, 64)
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ... import params
from ...datasets.superres_data import BANDS_10M, BANDS_20M
from ...errors import BandError, ConfigError, DataModelError, GridMismatchError

__all__ = ["KEYS_A", "SRNet", "SuperResolution", "degrade", "upsample", "wald_pair"]

UPSAMPLING = ("bicubic", "bilinear", "nearest")
_BICUBIC_REACH = 5
"""10 m pixels whose values the bicubic upsampling of a 20 m grid draws from beyond a pixel (2 px at 20 m + 1)."""


# ------------------------------------------------------------------------------------------ degrade and upsample


def degrade(image, factor: int = 2, sigma: float | None = None) -> np.ndarray:
    """Degrade an image by ``factor``: Gaussian blur, then the mean of each ``factor`` x ``factor`` block.

    The blur's sigma is ``1 / factor`` pixel of the input by default (DSen2's ``downPixelAggr``); the image is
    cropped to a multiple of ``factor`` first (rows and columns at the bottom and right).

    Parameters
    ----------
    image : array-like, shape (..., y, x)
        One image or a stack (bands first); NaN spreads to the blocks it touches.
    factor : int, default 2
    sigma : float, optional
        The Gaussian's standard deviation, in input pixels; 0: no blur (plain block mean).

    Returns
    -------
    numpy.ndarray, float32, shape (..., y // factor, x // factor)

    Example
    -------
    >>> degrade(np.arange(16.0).reshape(4, 4), sigma=0)
    array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float32)
    >>> degrade(np.ones((6, 5, 7))).shape
    (6, 2, 3)
    """
    factor = params.integer(factor, "factor", "degrade", low=1)
    sigma = 1.0 / factor if sigma is None else params.number(sigma, "sigma", "degrade", low=0)
    image = np.asarray(image, dtype=np.float32)
    if image.ndim < 2:
        raise DataModelError(f"degrade: the image must have at least 2 dims (..., y, x); got shape {image.shape}.")
    height, width = image.shape[-2] // factor, image.shape[-1] // factor
    if height == 0 or width == 0:
        raise DataModelError(f"degrade: an image of {image.shape[-2]} x {image.shape[-1]} px is smaller than the "
                             f"factor {factor}.")
    if sigma > 0:
        from scipy.ndimage import gaussian_filter

        image = gaussian_filter(image, (0,) * (image.ndim - 2) + (sigma, sigma), mode="reflect")
    image = image[..., : height * factor, : width * factor]
    blocks = image.reshape(*image.shape[:-2], height, factor, width, factor)
    return blocks.mean(axis=(-3, -1), dtype=np.float64).astype(np.float32)


KEYS_A = -0.5
"""The parameter of Keys' (1981) cubic convolution kernel: -0.5, the one that reproduces quadratics (MATLAB's
``imresize``, GDAL's and Pillow's "cubic"); PyTorch and OpenCV use -0.75, sharper, which does not reproduce a ramp."""


def _keys(distance: np.ndarray, a: float = KEYS_A) -> np.ndarray:
    d = np.abs(distance)
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def _cubic_axis(image: np.ndarray, factor: int, axis: int) -> np.ndarray:
    """Cubic convolution along one axis: each coarse sample becomes ``factor`` samples, edges clamped."""
    image = np.moveaxis(image, axis, -1)
    n = image.shape[-1]
    padded = np.concatenate([image[..., :1], image[..., :1], image, image[..., -1:], image[..., -1:]], axis=-1)
    out = np.empty((*image.shape[:-1], n * factor), np.float32)
    for phase in range(factor):
        position = (phase + 0.5) / factor - 0.5           # of the fine sample, in coarse pixels from its own
        base = int(np.floor(position))
        weights = _keys(position - (base + np.arange(-1, 3)))
        taps = [padded[..., base + 1 + k: base + 1 + k + n] for k in range(4)]  # coarse pixels base-1 .. base+2
        out[..., phase::factor] = sum(w * t for w, t in zip(weights.astype(np.float32), taps))
    return np.moveaxis(out, -1, axis)


def _upsample_stack(image: np.ndarray, factor: int, method: str) -> np.ndarray:
    """``(..., h, w)`` float32 -> ``(..., h * factor, w * factor)``."""
    if method == "nearest":
        return image.repeat(factor, axis=-2).repeat(factor, axis=-1)
    if method == "bicubic":
        return _cubic_axis(_cubic_axis(image, factor, -1), factor, -2)
    lead, (height, width) = image.shape[:-2], image.shape[-2:]
    x = torch.from_numpy(np.ascontiguousarray(image.reshape(1, -1, height, width)))
    with torch.no_grad():
        out = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    return out.numpy().reshape(*lead, height * factor, width * factor)


def upsample(image, factor: int = 2, method: str = "bicubic") -> np.ndarray:
    """Upsample an image (or a stack) by ``factor``, keeping the grids' upper-left corners together.

    A coarse pixel covers the ``factor`` x ``factor`` fine pixels below and right of its corner: the fine pixel
    ``j`` sits at ``(j + 0.5) / factor - 0.5`` coarse pixels. ``"bicubic"`` is Keys' cubic convolution with
    ``a = -0.5`` (:data:`KEYS_A`), ``"bilinear"`` linear interpolation, both with the edges clamped; ``"nearest"``
    repeats each value.

    Parameters
    ----------
    image : array-like, shape (..., y, x)
    factor : int, default 2
    method : {"bicubic", "bilinear", "nearest"}

    Returns
    -------
    numpy.ndarray, float32, shape (..., y * factor, x * factor)

    Example
    -------
    >>> upsample(np.array([[0.0, 1.0]]), method="nearest")
    array([[0., 0., 1., 1.],
           [0., 0., 1., 1.]], dtype=float32)
    >>> upsample(np.array([[0.0, 1.0]]), method="bilinear")[0]
    array([0.  , 0.25, 0.75, 1.  ], dtype=float32)
    >>> upsample(np.array([[0.0, 1.0, 2.0, 3.0]]))[0]   # a ramp stays a ramp away from the clamped edges
    array([-0.0703125,  0.1796875,  0.7265625,  1.25     ,  1.75     ,
            2.2734375,  2.8203125,  3.0703125], dtype=float32)
    """
    factor = params.integer(factor, "factor", "upsample", low=1)
    if method not in UPSAMPLING:
        raise ConfigError(f"upsample: method must be one of {UPSAMPLING}; got {method!r}.")
    image = np.asarray(image, dtype=np.float32)
    if image.ndim < 2:
        raise DataModelError(f"upsample: the image must have at least 2 dims (..., y, x); got shape {image.shape}.")
    return _upsample_stack(image, factor, method)


def wald_pair(bands10, bands20, factor: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training triple of Wald's protocol: ``(10 m bands at 20 m, 20 m bands at 40 m, 20 m bands as truth)``.

    Both grids are cropped so that the 20 m one is a multiple of ``factor`` (the bottom and right edges), then
    every band is degraded by ``factor`` (:func:`degrade`).

    Parameters
    ----------
    bands10 : array-like, shape (n10, y, x)
    bands20 : array-like, shape (n20, ceil(y / 2), ceil(x / 2))
    factor : int, default 2

    Returns
    -------
    x10 : numpy.ndarray (n10, h, w)
        The 10 m bands degraded onto the 20 m-sized grid.
    x20 : numpy.ndarray (n20, h // factor * ..., w // factor)
        The 20 m bands degraded by ``factor``.
    target : numpy.ndarray (n20, h, w)
        The 20 m bands themselves.

    Example
    -------
    >>> x10, x20, target = wald_pair(np.ones((4, 120, 120)), np.ones((6, 60, 60)))
    >>> x10.shape, x20.shape, target.shape
    ((4, 60, 60), (6, 30, 30), (6, 60, 60))
    """
    bands10, bands20 = np.asarray(bands10, np.float32), np.asarray(bands20, np.float32)
    _check_grids(bands10, bands20, "wald_pair")
    h20 = bands20.shape[-2] // factor * factor
    w20 = bands20.shape[-1] // factor * factor
    if h20 == 0 or w20 == 0:
        raise DataModelError(f"wald_pair: a 20 m grid of {bands20.shape[-2]} x {bands20.shape[-1]} px is too small "
                             f"to degrade by {factor}.")
    target = bands20[:, :h20, :w20]
    x10 = degrade(bands10[:, : 2 * h20, : 2 * w20], 2)
    return x10, degrade(target, factor), np.ascontiguousarray(target)


def _check_grids(bands10: np.ndarray, bands20: np.ndarray, who: str) -> None:
    """The 20 m grid must be ``ceil(y / 2)`` x ``ceil(x / 2)`` of the 10 m one (same upper-left corner)."""
    if bands10.ndim != 3 or bands20.ndim != 3:
        raise DataModelError(f"{who}: the bands must be (band, y, x) arrays; got shapes {bands10.shape} (10 m) and "
                             f"{bands20.shape} (20 m).")
    expected = ((bands10.shape[1] + 1) // 2, (bands10.shape[2] + 1) // 2)
    if bands20.shape[1:] != expected:
        raise GridMismatchError(f"{who}: the 20 m bands are {bands20.shape[1]} x {bands20.shape[2]} px, but 10 m "
                                f"bands of {bands10.shape[1]} x {bands10.shape[2]} px need a 20 m grid of "
                                f"{expected[0]} x {expected[1]} px with the same upper-left corner.")


# ------------------------------------------------------------------------------------------------------ network


class _ResBlock(nn.Module):
    def __init__(self, features: int, scale: float):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.scale * self.conv2(torch.relu(self.conv1(x)))


class SRNet(nn.Module):
    """DSen2's residual network, small: ``(10 m bands, upsampled 20 m bands) -> 20 m bands at 10 m``.

    Both inputs standardised, on the 10 m grid; the output is the upsampled 20 m bands plus the learned residual.

    Example
    -------
    >>> net = SRNet(4, 6, features=8, n_blocks=2)
    >>> net(torch.zeros(1, 4, 16, 16), torch.ones(1, 6, 16, 16)).shape, net.reach
    (torch.Size([1, 6, 16, 16]), 6)
    """

    def __init__(self, n10: int, n20: int, features: int = 32, n_blocks: int = 4, res_scale: float = 0.1):
        super().__init__()
        self.head = nn.Conv2d(n10 + n20, features, 3, padding=1)
        self.blocks = nn.Sequential(*(_ResBlock(features, res_scale) for _ in range(n_blocks)))
        self.tail = nn.Conv2d(features, n20, 3, padding=1)
        self.reach = 2 * n_blocks + 2
        """Pixels on each side that an output pixel depends on (its receptive field's radius)."""

    def forward(self, x10: torch.Tensor, up20: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.head(torch.cat([x10, up20], dim=1)))
        return up20 + self.tail(self.blocks(features))


# ---------------------------------------------------------------------------------------------------- estimator


def _scene_arrays(scene, index: int, bands10: Sequence[str], bands20: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(bands10 stack, bands20 stack)`` of a scene: a :class:`~labkit.datasets.superres_data.Scene`, a mapping
    band -> image, or a pair of arrays already in the model's band order."""
    if isinstance(scene, tuple) and len(scene) == 2:
        return np.asarray(scene[0], np.float32), np.asarray(scene[1], np.float32)
    bands = getattr(scene, "bands", scene)
    name = getattr(scene, "name", f"scene {index}")
    if not isinstance(bands, Mapping):
        raise DataModelError(f"SuperResolution.fit: scene {index} must be a Scene, a mapping band -> image or a "
                             f"pair (bands10, bands20) of arrays; got {type(scene).__name__}.")
    missing = [b for b in (*bands10, *bands20) if b not in bands]
    if missing:
        raise BandError(f"SuperResolution.fit: {name} has no band {missing}; it has {sorted(bands)}.")
    return _stack(bands, bands10, name), _stack(bands, bands20, name)


def _stack(bands: Mapping, names: Sequence[str], where: str) -> np.ndarray:
    """The bands ``names`` as one ``(band, y, x)`` float32 array; they must share one grid."""
    shapes = {b: np.shape(bands[b]) for b in names}
    if len(set(shapes.values())) > 1:
        raise GridMismatchError(f"{where}: bands {list(names)} should share one grid; their shapes are {shapes}.")
    return np.stack([np.asarray(bands[b], np.float32) for b in names])


def _dihedral(patch: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 flips and quarter turns of a ``(..., y, x)`` patch."""
    patch = np.rot90(patch, k % 4, axes=(-2, -1))
    return patch[..., ::-1] if k >= 4 else patch


class _PatchSampler:
    """Seeded random patches of the standardised Wald triples, scenes drawn in proportion to their area."""

    def __init__(self, triples: list[tuple[np.ndarray, ...]], size: int, seed: int, augment: bool):
        self.triples, self.size, self.augment = triples, size, augment
        areas = np.array([(t[0].shape[1] - size + 1) * (t[0].shape[2] - size + 1) for t in triples], float)
        self.weights = areas / areas.sum()
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int) -> tuple[torch.Tensor, ...]:
        parts: list[list[np.ndarray]] = [[], [], []]
        for which in self.rng.choice(len(self.triples), size=n, p=self.weights):
            arrays = self.triples[which]
            y0 = self.rng.integers(0, arrays[0].shape[1] - self.size + 1)
            x0 = self.rng.integers(0, arrays[0].shape[2] - self.size + 1)
            k = int(self.rng.integers(0, 8)) if self.augment else 0
            for part, array in zip(parts, arrays):
                part.append(_dihedral(array[:, y0:y0 + self.size, x0:x0 + self.size], k))
        return tuple(torch.from_numpy(np.ascontiguousarray(np.stack(p))) for p in parts)


def _nearest_fill(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(stack with each missing pixel set to its nearest valid pixel's values, invalid mask)``.

    A pixel is invalid where any band is NaN; all bands of a pixel come from the same nearest valid pixel.
    """
    invalid = ~np.isfinite(stack).all(axis=0)
    if not invalid.any() or invalid.all():
        return stack, invalid
    from scipy.ndimage import distance_transform_edt

    rows, cols = distance_transform_edt(invalid, return_distances=False, return_indices=True)
    return stack[:, rows, cols], invalid


def _to_10m(mask20: np.ndarray, height: int, width: int) -> np.ndarray:
    """A ``(h, w)`` mask of the 20 m grid on the 10 m grid of ``height`` x ``width`` (each pixel over 2 x 2)."""
    return mask20.repeat(2, axis=0).repeat(2, axis=1)[:height, :width]


def _band_stats(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation of a ``(band, y, x)`` stack, NaN ignored (a constant band: std 1e-4)."""
    flat = np.asarray(stack, np.float64).reshape(stack.shape[0], -1)
    finite = np.isfinite(flat)
    count = np.maximum(finite.sum(axis=1), 1)
    mean = np.where(finite, flat, 0).sum(axis=1) / count
    var = (np.where(finite, flat - mean[:, None], 0) ** 2).sum(axis=1) / count
    return mean.astype(np.float32), (np.sqrt(var) + 1e-4).astype(np.float32)


def _standard(stack: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return ((stack - mean[:, None, None]) / std[:, None, None]).astype(np.float32)


def _bicubic_with_gaps(bands_20m: np.ndarray, factor: int = 2) -> np.ndarray:
    """Bicubic upsampling of ``(band, h, w)`` that reads a missing pixel as its nearest valid neighbour, then
    puts NaN back over every fine pixel of a coarse pixel where a band is missing."""
    filled, invalid = _nearest_fill(np.asarray(bands_20m, np.float32))
    height, width = filled.shape[1] * factor, filled.shape[2] * factor
    if invalid.all():
        return np.full((filled.shape[0], height, width), np.nan, np.float32)
    out = upsample(filled, factor, "bicubic")
    out[:, _to_10m(invalid, height, width)] = np.nan
    return out


class SuperResolution(BaseEstimator):
    """Super-resolution of the 20 m bands of Sentinel-2 to 10 m, trained with Wald's protocol (see the module).

    Parameters
    ----------
    bands10, bands20 : sequence of str
        The 10 m bands the network reads and the 20 m bands it sharpens, in this order.
    features : int, default 16
        Feature maps of each convolution.
    n_blocks : int, default 4
        Residual blocks.
    patch_size : int, default 32
        Side of the training patches, on the degraded (20 m) grid.
    batch_size : int, default 16
        Patches per step.
    steps : int, default 600
        Optimisation steps (a fixed number: no early stopping).
    learning_rate : float, default 1e-3
        Adam's initial learning rate, decayed to 0 by a cosine over ``steps``.
    upsampling : {"bicubic", "bilinear", "nearest"}
        How the 20 m bands are brought to the 10 m grid before the network.
    standardise : {"image", "training"}
        Standardise each band by the statistics of the image it comes from (default), or of the training scenes.
    augment : bool, default True
        Random flips and quarter turns of the training patches.
    device : str, default "cpu"
        ``"cpu"``, ``"cuda"`` or ``"auto"``; the fitted network is kept on the CPU.
    random_state : int, default 0
        Seeds the weights' initialisation and the patch sampler.

    Attributes
    ----------
    network_ : SRNet
    mean10_, std10_, mean20_, std20_ : numpy.ndarray
        Per-band mean and standard deviation of the training scenes (native resolution; used with
        ``standardise="training"``).
    loss_curve_ : list of float
        The L1 loss (standardised units) of each step.
    fit_seconds_ : float

    Example
    -------
    >>> yy, xx = np.mgrid[0:48, 0:48] / 6.0
    >>> b10 = np.stack([np.sin(xx + k) + np.cos(yy) + 3 for k in range(4)]).astype("float32")
    >>> b20 = degrade(b10[[0, 1, 2, 3, 0, 1]])
    >>> model = SuperResolution(features=8, n_blocks=1, patch_size=12, steps=3, random_state=1).fit([(b10, b20)])
    >>> model.predict(b10, b20).shape, len(model.loss_curve_), model.halo
    ((6, 48, 48), 3, 10)
    """

    input_kind = "scenes"  # what labkit.models.fit_model and cross_validate refuse: not a sample set
    task = "super-resolution"  # labkit.models.task_of
    _parameter_constraints: dict = {}  # checked by _validate_params, which the registry calls when it builds one

    def __init__(self, *, bands10: Sequence[str] = BANDS_10M, bands20: Sequence[str] = BANDS_20M,
                 features: int = 16, n_blocks: int = 4, patch_size: int = 32, batch_size: int = 16,
                 steps: int = 600, learning_rate: float = 1e-3, upsampling: str = "bicubic",
                 standardise: str = "image", augment: bool = True, device: str = "cpu", random_state: int = 0):
        self.bands10 = bands10
        self.bands20 = bands20
        self.features = features
        self.n_blocks = n_blocks
        self.patch_size = patch_size
        self.batch_size = batch_size
        self.steps = steps
        self.learning_rate = learning_rate
        self.upsampling = upsampling
        self.standardise = standardise
        self.augment = augment
        self.device = device
        self.random_state = random_state

    # -------------------------------------------------------------------------------------------- checks

    def _validate_params(self) -> None:
        who = type(self).__name__
        for name in ("features", "n_blocks", "patch_size", "batch_size", "steps"):
            params.integer(getattr(self, name), name, who, low=0 if name == "n_blocks" else 1)
        params.number(self.learning_rate, "learning_rate", who, low=0, closed="neither")
        params.flag(self.augment, "augment", who)
        params.seed(self.random_state, who)
        if self.standardise not in ("image", "training"):
            raise ConfigError(f"{who}: standardise must be 'image' or 'training'; got {self.standardise!r}.")
        if self.upsampling not in UPSAMPLING:
            raise ConfigError(f"{who}: upsampling must be one of {UPSAMPLING}; got {self.upsampling!r}.")
        for name in ("bands10", "bands20"):
            value = getattr(self, name)
            if isinstance(value, str) or not value or not all(isinstance(b, str) for b in value):
                raise ConfigError(f"{who}: {name} must be a non-empty sequence of band names; got {value!r}.")
        shared = set(self.bands10) & set(self.bands20)
        if shared or len(set(self.bands10)) != len(self.bands10) or len(set(self.bands20)) != len(self.bands20):
            raise ConfigError(f"{who}: band names must be unique across bands10 and bands20; got {self.bands10} and "
                              f"{self.bands20}.")

    @property
    def halo(self) -> int:
        """10 m pixels of context each output pixel needs on each side (receptive field and bicubic reach), even."""
        reach = 2 * int(self.n_blocks) + 2 + _BICUBIC_REACH
        return reach + reach % 2

    # ---------------------------------------------------------------------------------------------- fit

    def _triples(self, scenes) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Standardised ``(x10, upsampled x20, target)`` of each scene, on its degraded grid."""
        triples = []
        for index, scene in enumerate(scenes):
            b10, b20 = _scene_arrays(scene, index, self.bands10, self.bands20)
            if b10.shape[0] != len(self.bands10) or b20.shape[0] != len(self.bands20):
                raise BandError(f"SuperResolution.fit: scene {index} has {b10.shape[0]} + {b20.shape[0]} bands; "
                                f"the model reads {len(self.bands10)} + {len(self.bands20)}.")
            if not (np.isfinite(b10).all() and np.isfinite(b20).all()):
                raise DataModelError(f"SuperResolution.fit: scene {index} holds NaN or infinite values; train on "
                                     "cloud-free crops.")
            x10, x20, target = wald_pair(b10, b20)
            if min(x10.shape[1:]) < self.patch_size:
                raise ConfigError(f"SuperResolution: patch_size={self.patch_size} is larger than scene {index}'s "
                                  f"degraded grid ({x10.shape[1]} x {x10.shape[2]} px); use a smaller patch_size.")
            triples.append((b10, b20, x10, x20, target))
        self.mean10_, self.std10_, self.mean20_, self.std20_ = (
            np.mean([_band_stats(t[i])[j] for t in triples], axis=0).astype(np.float32) for i in (0, 1) for j in (0, 1))
        standardised = []
        for _, _, x10, x20, target in triples:
            stats = self.image_stats(x10, x20)
            standardised.append((_standard(x10, *stats[:2]), upsample(_standard(x20, *stats[2:]), 2, self.upsampling),
                                 _standard(target, *stats[2:])))
        return standardised

    def image_stats(self, bands_10m, bands_20m) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(mean10, std10, mean20, std20)``: per-band statistics the network standardises an image with.

        With ``standardise="image"``, those of the image itself (NaN ignored); with ``"training"``, those learnt
        at fit. :func:`labkit.superres.superresolve` computes them once per date and passes them to
        :meth:`predict` for every block, so that blocks join without a seam.
        """
        if self.standardise == "training":
            check_is_fitted(self, "mean10_")
            return self.mean10_, self.std10_, self.mean20_, self.std20_
        return (*_band_stats(bands_10m), *_band_stats(bands_20m))

    def fit(self, scenes, y=None) -> SuperResolution:
        """Train on scenes by Wald's protocol.

        Parameters
        ----------
        scenes : sequence
            Each a :class:`~labkit.datasets.superres_data.Scene`, a mapping band -> 2-D image (the bands of
            ``bands10`` on one grid, those of ``bands20`` on a grid half as fine, same upper-left corner), or a pair
            ``(bands10 array (n10, y, x), bands20 array (n20, y / 2, x / 2))``; cloud-free, no NaN.
        y : ignored

        Returns
        -------
        self
        """
        from .training import resolve_device

        self._validate_params()
        if isinstance(scenes, Mapping) or (isinstance(scenes, tuple) and len(scenes) == 2
                                          and isinstance(scenes[0], np.ndarray)):
            scenes = [scenes]
        if not len(scenes):
            raise DataModelError("SuperResolution.fit: no scenes to train on.")
        start = time.perf_counter()
        sampler = _PatchSampler(self._triples(scenes), int(self.patch_size), int(self.random_state),
                                bool(self.augment))
        device = resolve_device(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.random_state))
            network = SRNet(len(self.bands10), len(self.bands20), int(self.features), int(self.n_blocks))
        self.loss_curve_ = self._train(network.to(device), sampler, device)
        self.network_ = network.to("cpu").eval()
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _train(self, network: SRNet, sampler: _PatchSampler, device: torch.device) -> list[float]:
        optimiser = torch.optim.Adam(network.parameters(), lr=float(self.learning_rate))
        steps = int(self.steps)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
        network.train()
        losses = []
        for _ in range(steps):
            x10, up20, target = (t.to(device) for t in sampler.batch(int(self.batch_size)))
            loss = F.l1_loss(network(x10, up20), target)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
        return losses

    # ------------------------------------------------------------------------------------------ predict

    def predict(self, bands_10m, bands_20m, *, stats=None) -> np.ndarray:
        """The 20 m bands on the 10 m grid.

        Parameters
        ----------
        bands_10m : array-like, shape (n10, y, x)
            The bands of ``bands10``, in that order, reflectance.
        bands_20m : array-like, shape (n20, ceil(y / 2), ceil(x / 2))
            The bands of ``bands20``; the 20 m grid's upper-left corner is the 10 m grid's.
        stats : tuple of 4 arrays, optional
            ``(mean10, std10, mean20, std20)`` to standardise with (see :meth:`image_stats`); default those of the
            images given.

        Returns
        -------
        numpy.ndarray, float32, shape (n20, y, x)
            NaN where a 10 m band is NaN at the pixel or a 20 m band at the 20 m pixel that covers it; the network
            reads missing pixels as their nearest valid neighbour, so that a cloud does not spread beyond itself.
        """
        check_is_fitted(self, "network_")
        b10, b20 = np.asarray(bands_10m, np.float32), np.asarray(bands_20m, np.float32)
        _check_grids(b10, b20, "SuperResolution.predict")
        for stack, names, res in ((b10, self.bands10, "10 m"), (b20, self.bands20, "20 m")):
            if stack.shape[0] != len(names):
                raise BandError(f"SuperResolution.predict: {stack.shape[0]} {res} bands given; the model reads "
                                f"{len(names)}: {list(names)}.")
        height, width = b10.shape[1:]
        mean10, std10, mean20, std20 = self.image_stats(b10, b20) if stats is None else stats
        b10, invalid10 = _nearest_fill(b10)
        b20, invalid20 = _nearest_fill(b20)
        invalid = invalid10 | _to_10m(invalid20, height, width)
        if invalid.all():
            return np.full((len(self.bands20), height, width), np.nan, np.float32)
        x10 = torch.from_numpy(_standard(b10, mean10, std10))[None]
        up20 = _upsample_stack(_standard(b20, mean20, std20), 2, self.upsampling)[:, :height, :width]
        with torch.no_grad():
            out = self.network_(x10, torch.from_numpy(np.ascontiguousarray(up20))[None])[0].numpy()
        out = out * std20[:, None, None] + mean20[:, None, None]
        out[:, invalid] = np.nan
        return out.astype(np.float32)

    # ------------------------------------------------------------------------- what labkit.models.save_model keeps

    def _labkit_state(self) -> tuple[dict, dict]:
        """``(plain JSON state, the network's state_dict)``: what :func:`labkit.models.save_model` writes."""
        check_is_fitted(self, "network_")
        hyper = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        scaler = {k: getattr(self, k + "_").tolist() for k in ("mean10", "std10", "mean20", "std20")}
        state = {"params": hyper, "scaler": scaler, "loss_curve": list(self.loss_curve_),
                 "fit_seconds": float(self.fit_seconds_)}
        return state, self.network_.state_dict()

    @classmethod
    def _from_labkit_state(cls, state: dict, weights: dict, classes=None) -> SuperResolution:
        """The fitted model :meth:`_labkit_state` describes (:func:`labkit.models.load_model`)."""
        model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in state["params"].items()})
        network = SRNet(len(model.bands10), len(model.bands20), int(model.features), int(model.n_blocks))
        network.load_state_dict(weights)
        model.network_ = network.eval()
        for key, value in state["scaler"].items():
            setattr(model, key + "_", np.asarray(value, np.float32))
        model.loss_curve_, model.fit_seconds_ = list(state["loss_curve"]), float(state["fit_seconds"])
        return model
