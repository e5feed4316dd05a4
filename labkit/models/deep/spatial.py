"""Spatial deep model: a U-Net trained on image patches of a cube against a reference class raster.

The networks of :mod:`.networks` classify each pixel from its own series; :class:`UNet` reads a neighbourhood, so
that field edges, textures and shapes count too. :class:`SpatialClassifier` trains it behind scikit-learn's API:
it takes a **cube** ``(time, band, y, x)`` and a **reference class raster** ``(y, x)`` on the cube's grid (a
wall-to-wall land-cover map such as ``load_slovenia().reference``; unlabelled pixels carry a nodata code), and
returns a **class map** ``(y, x)`` and **probabilities** ``(class, y, x)`` (see :mod:`labkit.datamodel`). It comes
after reading (and, optionally, masking and gap-filling) a cube; after it come accuracy assessment and, for images
larger than memory, tiled inference, for which this module fixes the contract below.

Input contract: channels
------------------------
:func:`to_channels` turns a cube's values ``(time, band, y, x)`` into the network's input ``(channel, y, x)``,
**time-major**, with one validity channel per date: for date ``t`` and band ``b`` (``n_band`` bands),

* channel ``t * (n_band + 1) + b`` holds band ``b`` of date ``t``, standardised with the training set's per-band
  mean and standard deviation (:class:`~.data.BandScaler`);
* channel ``t * (n_band + 1) + n_band`` holds 1 where date ``t`` was observed and valid, 0 where it was not.

An observation is missing where any of its bands is not finite (NaN, ±inf) or where the validity mask, when given,
is not 0: all its bands hold 0 (the training mean) and its validity channel 0. So the network never reads a NaN,
and it can tell a cloudy date from one whose value happens to equal the mean. A pixel with no valid observation is
still classified, from its neighbours.

Receptive field, alignment and seam-free tiles
----------------------------------------------
The output at pixel ``(i, j)`` depends only on the input pixels within :attr:`UNet.halo` pixels of it
(``|di| <= halo`` and ``|dj| <= halo``; :attr:`UNet.receptive_field` ``= 2 * halo + 1`` is the side of that
window). Max-pooling makes the network shift-equivariant only for shifts that are multiples of
:attr:`UNet.alignment` ``= 2 ** depth``. Hence a tile's prediction equals the whole image's on the tile's core when
the window read for the tile **starts at a row and a column that are multiples of alignment** (counted from the
image's first pixel) and reaches at least ``halo`` pixels past the core on every side (or the image's edge). Any
window size works: the network pads its input with zeros at the bottom and right to a multiple of alignment and
crops the output back; at the image's bottom and right edges that is the padding the whole image gets, elsewhere
the padded zeros lie beyond the halo.

Patch sampling
--------------
:class:`PatchSampler` cuts the grid into square patches (``stride`` = patch size, or less for overlapping patches),
groups them into square **split blocks** (``split_block`` pixels a side: the unit of the training/validation split,
not the block engine's blocks of :mod:`labkit.tiling`) by the position of their centre, draws a seeded share of them
for validation, and drops every training patch that shares a pixel with a validation patch, or comes within ``buffer``
pixels of one. No pixel of a validation patch is ever read in training.

Example
-------
>>> from labkit.datasets.synthetic import make_synthetic_scene
>>> scene = make_synthetic_scene(48, 48, dates=4, bands=["B04", "B08"], n_classes=4, random_state=3)
>>> model = SpatialClassifier(patch_size=16, epochs=2, network_params={"depth": 2, "width": 8},
...                           random_state=0).fit(scene.cube, scene.class_map, mask=scene.mask)
>>> model.predict(scene.cube, mask=scene.mask).dims, model.classes_.tolist()
(('y', 'x'), [3, 4])
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import numpy as np
import torch
import xarray as xr
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ... import datamodel as dm
from ... import params
from ...errors import BandError, ConfigError, DataModelError
from .data import BandScaler, SeriesBatches

__all__ = ["PatchSampler", "SpatialClassifier", "UNet", "observation_validity", "to_channels", "unet_halo"]

_CONVS = 2
"""3 x 3 convolutions in each block of the U-Net (what :func:`unet_halo` counts)."""


# --------------------------------------------------------------------------------------------------------------------
# Channels
# --------------------------------------------------------------------------------------------------------------------


def observation_validity(values: np.ndarray, mask=None) -> np.ndarray:
    """Where each observation of ``values (time, band, y, x)`` is valid: ``(time, y, x)`` bool.

    Valid: every band finite and, when a labkit validity ``mask (time, y, x)`` is given, its code 0.

    Example
    -------
    >>> values = np.array([[[[1.0, np.nan]]], [[[2.0, 3.0]]]])      # 2 dates, 1 band, 1 x 2 pixels
    >>> observation_validity(values, mask=np.array([[[0, 0]], [[1, 0]]], "uint8")).tolist()
    [[[True, False]], [[False, True]]]
    """
    valid = np.isfinite(values).all(axis=1)
    if mask is not None:
        valid &= np.asarray(mask) == dm.Validity.VALID
    return valid


def to_channels(values: np.ndarray, valid: np.ndarray | None = None, scaler: BandScaler | None = None) -> np.ndarray:
    """A cube's values ``(time, band, y, x)`` as U-Net input ``(time * (band + 1), y, x)`` float32, time-major.

    Channel ``t * (n_band + 1) + b`` is band ``b`` of date ``t`` (standardised by ``scaler``), channel
    ``t * (n_band + 1) + n_band`` the validity of date ``t`` (1.0 valid, 0.0 missing). Missing observations hold 0 in
    every band. The one conversion of :class:`SpatialClassifier`, in training and in prediction; tiled inference
    calls it on each window.

    Parameters
    ----------
    values : numpy array (time, band, y, x)
    valid : bool array (time, y, x), optional
        Where observations are valid (see :func:`observation_validity`); default: where every band is finite.
        Non-finite values are missing whatever ``valid`` says.
    scaler : BandScaler, optional
        Per-band ``mean`` and ``std``; None leaves values as they are.

    Returns
    -------
    numpy.ndarray of float32, finite

    Example
    -------
    >>> values = np.array([[[[1.0, np.nan]]], [[[2.0, 3.0]]]])      # 2 dates, 1 band, 1 x 2 pixels
    >>> to_channels(values, scaler=BandScaler(np.array([2.0]), np.array([1.0])))[:, 0].tolist()
    [[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    """
    values = np.asarray(values)
    if values.ndim != 4:
        raise DataModelError(f"to_channels: values must be (time, band, y, x); got {values.ndim} dims.")
    n_time, n_band, height, width = values.shape
    finite = observation_validity(values)
    valid = finite if valid is None else finite & np.asarray(valid, bool)
    if scaler is not None:
        values = (values - scaler.mean[None, :, None, None]) / scaler.std[None, :, None, None]
    channels = np.empty((n_time, n_band + 1, height, width), np.float32)
    channels[:, :n_band] = np.where(valid[:, None], values, 0.0)
    channels[:, n_band] = valid
    return channels.reshape(n_time * (n_band + 1), height, width)


# --------------------------------------------------------------------------------------------------------------------
# U-Net
# --------------------------------------------------------------------------------------------------------------------


def _input_range(depth: int, pixel: int, convs: int = _CONVS) -> tuple[int, int]:
    """The first and last input pixels (along one axis) that the output at ``pixel`` depends on.

    Follows the dependencies back through the network: a block's 3 x 3 convolutions widen the range by ``convs``
    on each side, a 2 x 2 max-pooling maps index ``i`` to ``2i, 2i + 1`` one level up, a 2 x 2 transposed
    convolution maps ``i`` to ``i // 2`` one level down; the range of every encoder level reached (through the skip
    connections and through the bottleneck) is then followed down to the input.
    """
    reached = []  # (level, first, last) of encoder outputs that the output depends on
    first, last = pixel, pixel
    for level in range(depth):
        first, last = first - convs, last + convs  # the decoder block of this level
        reached.append((level, first, last))
        first, last = first // 2, last // 2  # its upsampled input, one level deeper
    first, last = first - convs, last + convs  # the bottleneck block
    reached.append((depth - 1, 2 * first, 2 * last + 1))
    low, high = pixel, pixel
    for level, first, last in reached:
        while True:
            first, last = first - convs, last + convs
            if level == 0:
                break
            first, last, level = 2 * first, 2 * last + 1, level - 1
        low, high = min(low, first), max(high, last)
    return low, high


def unet_halo(depth: int) -> int:
    """The pixels on each side of an output pixel that can change it: the U-Net's receptive-field radius.

    Exact for :class:`UNet` (two 3 x 3 convolutions per block, 2 x 2 pooling and upsampling): the largest distance,
    over the ``2 ** depth`` positions of a pixel relative to the pooling grid, between it and an input pixel it
    depends on.

    Example
    -------
    >>> [unet_halo(depth) for depth in (1, 2, 3)]
    [9, 23, 51]
    """
    depth = params.integer(depth, "depth", "unet_halo", low=1)
    ranges = [_input_range(depth, pixel) for pixel in range(2**depth)]
    return max(max(pixel - low, high - pixel) for pixel, (low, high) in enumerate(ranges))


def _unet_hyperparameters(who: str, *, depth: int = 3, width: int = 32, dropout: float = 0.1) -> tuple[int, int, float]:
    """:class:`UNet`'s hyperparameters, checked (without building a network, which may be large)."""
    return (params.integer(depth, "depth", who, low=1, high=6), params.integer(width, "width", who, low=1),
            params.number(dropout, "dropout", who, low=0, high=1, closed="left"))


class _Block(nn.Sequential):
    """Two 3 x 3 convolutions, each followed by batch normalisation and ReLU; then dropout (if any)."""

    def __init__(self, n_in: int, n_out: int, dropout: float = 0.0) -> None:
        layers: list[nn.Module] = []
        for i in range(_CONVS):
            layers += [nn.Conv2d(n_in if i == 0 else n_out, n_out, 3, padding=1, bias=False), nn.BatchNorm2d(n_out),
                       nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout2d(dropout))
        super().__init__(*layers)


class UNet(nn.Module):
    """U-Net (Ronneberger et al. 2015) for per-pixel classification of an image time series.

    ``depth`` levels of encoder (two 3 x 3 convolutions with batch normalisation and ReLU, then 2 x 2 max-pooling),
    a bottleneck, and a decoder (2 x 2 transposed convolution, concatenation with the encoder's features of the same
    level, two 3 x 3 convolutions), then a 1 x 1 convolution to the outputs. Level ``l`` has ``width * 2 ** l``
    feature maps.

    Parameters
    ----------
    n_channels : int
        Input channels: ``n_time * (n_band + 1)`` for the time-major channels of :func:`to_channels`.
    n_outputs : int
        Output maps (classes).
    depth : int, default 3
        Number of poolings (1 to 6).
    width : int, default 32
        Feature maps of the first level.
    dropout : float in [0, 1), default 0.1
        Dropout of whole feature maps (``Dropout2d``) after the bottleneck.

    Attributes
    ----------
    halo : int
        Receptive-field radius: the output at a pixel depends only on inputs within ``halo`` pixels of it in each
        direction (:func:`unet_halo`).
    receptive_field : int
        ``2 * halo + 1``, the side of the square window of inputs that can change one output pixel.
    alignment : int
        ``2 ** depth``: tiles must start at multiples of it to give the same outputs as the whole image.

    Notes
    -----
    ``forward(x)`` takes ``x (batch, n_channels, y, x)`` of any height and width and returns logits
    ``(batch, n_outputs, y, x)``. An input whose height or width is not a multiple of ``alignment`` is padded with
    zeros at its bottom and right (what a missing observation holds) and the output cropped back. Non-finite inputs
    are read as 0. See the module's docstring for seam-free tiling.

    Example
    -------
    >>> net = UNet(n_channels=6, n_outputs=4, depth=2, width=8).eval()
    >>> net(torch.zeros(1, 6, 21, 30)).shape
    torch.Size([1, 4, 21, 30])
    >>> net.halo, net.receptive_field, net.alignment
    (23, 47, 4)
    """

    def __init__(self, n_channels: int, n_outputs: int, *, depth: int = 3, width: int = 32,
                 dropout: float = 0.1) -> None:
        super().__init__()
        who = "UNet"
        self.n_channels = params.integer(n_channels, "n_channels", who, low=1)
        self.n_outputs = params.integer(n_outputs, "n_outputs", who, low=1)
        self.depth, self.width, dropout = _unet_hyperparameters(who, depth=depth, width=width, dropout=dropout)
        sizes = [self.width * 2**level for level in range(self.depth + 1)]
        self.encoders = nn.ModuleList(_Block(self.n_channels if level == 0 else sizes[level - 1], sizes[level])
                                      for level in range(self.depth))
        self.bottleneck = _Block(sizes[-2], sizes[-1], dropout)
        self.upsamplers = nn.ModuleList(nn.ConvTranspose2d(sizes[level + 1], sizes[level], 2, stride=2)
                                        for level in reversed(range(self.depth)))
        self.decoders = nn.ModuleList(_Block(2 * sizes[level], sizes[level]) for level in reversed(range(self.depth)))
        self.head = nn.Conv2d(sizes[0], self.n_outputs, 1)
        self.alignment = 2**self.depth
        self.halo = unet_halo(self.depth)
        self.receptive_field = 2 * self.halo + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.n_channels:
            raise DataModelError(f"UNet was built for {self.n_channels} channel(s); got x of shape {tuple(x.shape)}; "
                                 "expected (batch, channel, y, x), channels time-major (see to_channels).")
        height, width = x.shape[-2:]
        x = torch.nan_to_num(x.to(self.head.weight.dtype), nan=0.0, posinf=0.0, neginf=0.0)
        pad_y, pad_x = -height % self.alignment, -width % self.alignment
        if pad_y or pad_x:
            x = nn.functional.pad(x, (0, pad_x, 0, pad_y))
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
            x = nn.functional.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for upsample, decoder, skip in zip(self.upsamplers, self.decoders, reversed(skips)):
            x = decoder(torch.cat([skip, upsample(x)], dim=1))
        return self.head(x)[..., :height, :width]


# --------------------------------------------------------------------------------------------------------------------
# Patch sampling
# --------------------------------------------------------------------------------------------------------------------


def _grid_size(grid, who: str) -> tuple[int, int]:
    """``(height, width)`` of a ``(height, width)`` pair or of an xarray object with ``y`` and ``x`` dims."""
    if isinstance(grid, xr.DataArray | xr.Dataset):
        if "y" not in grid.dims or "x" not in grid.dims:
            raise DataModelError(f"{who}: the grid has no 'y' and 'x' dims (dims {tuple(grid.dims)}).")
        return int(grid.sizes["y"]), int(grid.sizes["x"])
    if isinstance(grid, Sequence) and len(grid) == 2:
        return (params.integer(grid[0], "height", who, low=1), params.integer(grid[1], "width", who, low=1))
    raise ConfigError(f"{who}: expected a (height, width) pair or a cube; got {type(grid).__name__}.")


def _starts(size: int, patch: int, stride: int) -> np.ndarray:
    """First pixels of the patches along one axis: every ``stride``, plus one flush with the far edge."""
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] + patch < size:
        starts.append(size - patch)
    return np.asarray(starts, np.int64)


def _rng(random_state) -> np.random.Generator:
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**32 - 1))
    return np.random.default_rng(random_state)


class PatchSampler:
    """Square patches of a grid, split into training and validation by whole split blocks, never overlapping.

    The patches' top-left pixels are every ``stride`` pixels along each axis, plus one patch flush with the
    bottom (right) edge when the stride does not reach it, so that every pixel is covered. Each patch belongs to
    the ``split_block`` x ``split_block`` split block that holds its centre; ``validation_fraction`` of the blocks (at
    least one, and never all) are drawn at random for validation. Every training patch that would share a pixel
    with a validation patch, or come within ``buffer`` pixels of one, is dropped.

    Parameters
    ----------
    patch_size : int, default 32
        Side of the square patches, in pixels.
    stride : int, optional
        Pixels between the starts of neighbouring patches; default ``patch_size`` (no overlap); less overlaps.
    split_block : int, optional
        Side of the square split blocks drawn as a whole for validation, in pixels; default ``2 * patch_size``.
    buffer : int, default 0
        Pixels that must separate every training patch from every validation patch (0: they may touch, never
        overlap). Use the model's receptive field to keep training patches out of what validation pixels see.
    validation_fraction : float in [0, 1), default 0.2
        Share of the split blocks held out for validation; 0 puts every patch in training.
    random_state : int, numpy Generator or RandomState, optional
        Seeds the draw of validation split blocks.

    Example
    -------
    >>> train, validation = PatchSampler(8, split_block=16, validation_fraction=0.25, random_state=0).split((32, 32))
    >>> len(train), len(validation)
    (12, 4)
    >>> sampler = PatchSampler(8, stride=4, split_block=16, validation_fraction=0.25, random_state=0)
    >>> train, validation = sampler.split((32, 32))
    >>> bool((sampler.coverage(train, (32, 32)) & sampler.coverage(validation, (32, 32))).any())
    False
    """

    def __init__(self, patch_size: int = 32, *, stride: int | None = None, split_block: int | None = None,
                 buffer: int = 0, validation_fraction: float = 0.2, random_state=None) -> None:
        who = "PatchSampler"
        self.patch_size = params.integer(patch_size, "patch_size", who, low=1)
        self.stride = self.patch_size if stride is None else params.integer(stride, "stride", who, low=1)
        self.split_block = (2 * self.patch_size if split_block is None
                            else params.integer(split_block, "split_block", who, low=1))
        self.buffer = params.integer(buffer, "buffer", who, low=0)
        self.validation_fraction = params.number(validation_fraction, "validation_fraction", who, low=0, high=1,
                                                 closed="left")
        self.random_state = params.seed(random_state, who)

    def windows(self, grid) -> np.ndarray:
        """Top-left ``(row, col)`` of every patch of ``grid`` (a cube or ``(height, width)``): ``(n, 2)`` int64.

        Raises
        ------
        ConfigError
            The grid is smaller than one patch.
        """
        height, width = _grid_size(grid, "PatchSampler")
        if height < self.patch_size or width < self.patch_size:
            raise ConfigError(f"PatchSampler: patch_size={self.patch_size} is larger than the grid ({height} x "
                              f"{width} pixels); choose patch_size <= {min(height, width)}.")
        rows, cols = _starts(height, self.patch_size, self.stride), _starts(width, self.patch_size, self.stride)
        return np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)

    def split_blocks(self, windows: np.ndarray) -> np.ndarray:
        """The split block of each window, by the position of its centre: ``(n, 2)`` split block row and column."""
        return (np.asarray(windows) + self.patch_size // 2) // self.split_block

    def split(self, grid) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation patches of ``grid``: two ``(n, 2)`` arrays of top-left ``(row, col)``.

        No pixel of a validation patch lies in a training patch, nor within ``buffer`` pixels of one. With a single
        block (or ``validation_fraction=0``) every patch is for training (a warning says so in the first case).
        """
        windows = self.windows(grid)
        blocks = self.split_blocks(windows)
        names, block_of = np.unique(blocks, axis=0, return_inverse=True)
        held_out = self._validation_blocks(len(names))
        validation = windows[np.isin(block_of.ravel(), held_out)]
        train = windows[~np.isin(block_of.ravel(), held_out)]
        return train[self._apart(train, validation)], validation

    def _validation_blocks(self, n_blocks: int) -> np.ndarray:
        """Indices of the blocks drawn for validation."""
        if not self.validation_fraction:
            return np.empty(0, np.int64)
        if n_blocks < 2:
            warnings.warn(f"PatchSampler: the grid holds a single split block of {self.split_block} pixels: no "
                          "validation patches. Choose a smaller split_block.", stacklevel=3)
            return np.empty(0, np.int64)
        count = min(max(1, round(self.validation_fraction * n_blocks)), n_blocks - 1)
        return np.sort(_rng(self.random_state).permutation(n_blocks)[:count])

    def _apart(self, train: np.ndarray, validation: np.ndarray) -> np.ndarray:
        """Which training windows keep ``buffer`` pixels away from every validation window (bool per window).

        Two windows of side ``p`` whose top-left corners are ``d`` apart (Chebyshev distance) leave ``d - p`` pixels
        between them: they are apart when ``d >= p + buffer``.
        """
        if not len(validation) or not len(train):
            return np.ones(len(train), bool)
        from scipy.spatial import cKDTree

        distance, _ = cKDTree(validation).query(train, k=1, p=np.inf)
        return distance >= self.patch_size + self.buffer

    def coverage(self, windows: np.ndarray, grid) -> np.ndarray:
        """Pixels of ``grid`` that lie in at least one of ``windows``: ``(height, width)`` bool."""
        height, width = _grid_size(grid, "PatchSampler.coverage")
        covered = np.zeros((height, width), bool)
        for row, col in np.asarray(windows).reshape(-1, 2):
            covered[row:row + self.patch_size, col:col + self.patch_size] = True
        return covered


# --------------------------------------------------------------------------------------------------------------------
# Batches of patches for the training loop
# --------------------------------------------------------------------------------------------------------------------


def _labelled(targets: np.ndarray, windows: np.ndarray, patch_size: int) -> np.ndarray:
    """Which ``windows`` hold at least one labelled pixel (``targets >= 0``): bool per window."""
    return np.array([(targets[r:r + patch_size, c:c + patch_size] >= 0).any() for r, c in windows], bool)


def _dihedral(array: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 rotations and flips of the last two axes (``k`` in 0..7)."""
    array = np.rot90(array, k % 4, axes=(-2, -1))
    return np.flip(array, axis=-1) if k >= 4 else array


def _counted_pixels(cut: np.ndarray, windows: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The labelled pixels of each patch ``cut`` from a raster at ``windows`` that no earlier patch counted."""
    patch_size = cut.shape[-1]
    counted = np.zeros(shape, bool)
    masks = cut >= 0
    for mask, (row, col) in zip(masks, windows):
        window = (slice(row, row + patch_size), slice(col, col + patch_size))
        mask &= ~counted[window]
        counted[window] |= mask
    return masks


class _PatchBatches:
    """Batches of patches in the form :func:`~.training.train` reads: ``(x, doy, mask, y)``.

    ``x (batch, channel, p, p)`` are the patches' channels; ``mask (batch, p, p)`` marks the pixels that count
    (labelled, and for validation counted once); ``y`` holds the class indices of those pixels, in order, so that
    the forward pass ``network(x).permute(0, 2, 3, 1)[mask]`` pairs one output row with each target. ``doy`` is an
    empty placeholder. ``y`` and ``rows`` of the whole set give the validation targets in the order of
    ``batches(0)``.
    """

    def __init__(self, channels: np.ndarray, targets: np.ndarray, windows: np.ndarray, *, patch_size: int,
                 batch_size: int, shuffle: bool = False, random_state: int = 0, augment: bool = False,
                 count_once: bool = False) -> None:
        self.channels, self.patch_size = channels, patch_size
        self.batch_size, self.shuffle, self.random_state, self.augment = batch_size, shuffle, random_state, augment
        windows = np.asarray(windows, np.int64).reshape(-1, 2)
        cut = np.stack([targets[r:r + patch_size, c:c + patch_size] for r, c in windows]) if len(windows) else \
            np.empty((0, patch_size, patch_size), targets.dtype)
        masks = _counted_pixels(cut, windows, targets.shape) if count_once else cut >= 0
        keep = masks.any(axis=(1, 2))  # a patch with no pixel to count teaches nothing
        self.windows, self.masks, self.targets = windows[keep], masks[keep], cut[keep]
        self.y = self.targets[self.masks]
        self.rows = np.arange(len(self.y))

    @property
    def n_samples(self) -> int:
        return len(self.windows)

    def batches(self, epoch: int = 0):
        rng = np.random.default_rng([self.random_state, epoch])
        order = rng.permutation(self.n_samples) if self.shuffle else np.arange(self.n_samples)
        p = self.patch_size
        for start in range(0, len(order), self.batch_size):
            part = order[start:start + self.batch_size]
            x = np.stack([self.channels[:, r:r + p, c:c + p] for r, c in self.windows[part]])
            mask, targets = self.masks[part], self.targets[part]
            if self.augment:
                turns = rng.integers(0, 8, len(part))
                x = np.stack([_dihedral(a, k) for a, k in zip(x, turns)])
                mask = np.stack([_dihedral(a, k) for a, k in zip(mask, turns)])
                targets = np.stack([_dihedral(a, k) for a, k in zip(targets, turns)])
            yield (np.ascontiguousarray(x), np.zeros((len(part), 0), np.float32), np.ascontiguousarray(mask),
                   targets[mask])


# --------------------------------------------------------------------------------------------------------------------
# Estimator
# --------------------------------------------------------------------------------------------------------------------


def _nodata_codes(nodata, who: str) -> tuple[int, ...]:
    """``nodata`` (None, an int or a sequence of ints) as a tuple of codes."""
    if nodata is None:
        return ()
    values = [nodata] if isinstance(nodata, numbers.Integral) else nodata
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ConfigError(f"{who}: nodata must be None, an integer class code or a sequence of them; got {nodata!r}.")
    return tuple(params.integer(v, f"nodata[{i}]", who) for i, v in enumerate(values))


def _check_same_grid(obj: xr.DataArray, cube: xr.DataArray, what: str, who: str) -> None:
    """Raise a DataModelError unless ``obj``'s ``y`` and ``x`` are the cube's (to a thousandth of a pixel)."""
    fix = f"Reproject it with {what.split()[-1]}.rio.reproject_match(cube)."
    for dim in ("y", "x"):
        if obj.sizes[dim] != cube.sizes[dim]:
            raise DataModelError(f"{who}: {what} is not on the cube's grid: it has {obj.sizes[dim]} pixels along "
                                 f"'{dim}', the cube {cube.sizes[dim]}. {fix}")
        if dim not in obj.coords:
            continue
        theirs, ours = np.asarray(obj[dim].values, float), np.asarray(cube[dim].values, float)
        pixel = abs(ours[1] - ours[0]) if len(ours) > 1 else 1.0
        shift = float(np.abs(theirs - ours).max())
        if not shift <= 1e-3 * pixel:
            raise DataModelError(f"{who}: {what} is not on the cube's grid: its '{dim}' coordinates differ from the "
                                 f"cube's by up to {shift:g} (CRS units; pixels are {pixel:g}). {fix}")


def _reference_codes(reference, cube: xr.DataArray, who: str) -> np.ndarray:
    """The reference raster as a ``(y, x)`` numpy array, checked to hold integer class codes on the cube's grid."""
    if isinstance(reference, xr.DataArray):
        if set(reference.dims) != {"y", "x"}:
            raise DataModelError(f"{who}: the reference must be a class raster with dims ('y', 'x'); got dims "
                                 f"{reference.dims}.")
        reference = reference.transpose("y", "x")
        _check_same_grid(reference, cube, "the reference", who)
        codes = reference.values
    else:
        codes = np.asarray(reference)
        if codes.shape != (cube.sizes["y"], cube.sizes["x"]):
            raise DataModelError(f"{who}: the reference is not on the cube's grid: its shape is {codes.shape}, the "
                                 f"cube's (y, x) is {(cube.sizes['y'], cube.sizes['x'])}.")
    if not (np.issubdtype(codes.dtype, np.integer) or codes.dtype == np.bool_):
        raise DataModelError(f"{who}: the reference must hold integer class codes; got dtype {codes.dtype}. Mark "
                             "unlabelled pixels with a nodata code, e.g. reference.fillna(0).astype('uint16').")
    return codes


def _unlabelled(reference, codes: np.ndarray, nodata, who: str) -> np.ndarray:
    """Where the reference is unlabelled: a code in ``nodata``, or the raster's own ``rio.nodata``."""
    unlabelled = np.isin(codes, _nodata_codes(nodata, who))
    own = reference.rio.nodata if isinstance(reference, xr.DataArray) else None
    if own is not None and np.isfinite(own):
        unlabelled |= codes == own
    return unlabelled


def _checked_cube(cube, who: str) -> xr.DataArray:
    if not isinstance(cube, xr.DataArray):
        raise DataModelError(f"{who}: expected a cube, an xarray.DataArray (time, band, y, x); got "
                             f"{type(cube).__name__}. The U-Net reads image patches, not sample arrays: give it the "
                             "cube and a reference raster on its grid.")
    try:
        dm.validate(cube, "cube", check_values=False)
    except DataModelError as error:
        raise DataModelError(f"{who}: {error}") from None
    return cube


def _read(cube: xr.DataArray, mask, who: str) -> tuple[np.ndarray, np.ndarray]:
    """The cube's values (float32, in memory) and the validity of each observation ``(time, y, x)``."""
    codes = None
    if mask is not None:
        mask = dm.checked_mask(mask, who, coords=False)
        if mask.sizes["time"] != cube.sizes["time"]:
            raise DataModelError(f"{who}: the mask has {mask.sizes['time']} dates, the cube {cube.sizes['time']}.")
        if "time" in mask.coords and not np.array_equal(mask["time"].values, cube["time"].values):
            raise DataModelError(f"{who}: the mask's dates are not the cube's; select them with "
                                 "mask.sel(time=cube.time).")
        _check_same_grid(mask, cube, "the mask", who)
        codes = mask.values
    values = np.asarray(cube.values, np.float32)
    return values, observation_validity(values, codes)


class SpatialClassifier(ClassifierMixin, BaseEstimator):
    """A U-Net trained on patches of a cube against a reference class raster, as a scikit-learn classifier.

    ``fit(cube, reference)`` cuts the grid into patches with :class:`PatchSampler` (validation patches from
    whole split blocks, never overlapping training patches), learns the per-band standardisation on the valid
    observations of the training patches (:class:`~.data.BandScaler`), builds a :class:`UNet` on the channels of
    :func:`to_channels`, and trains it with cross-entropy over the labelled pixels only
    (:func:`~.training.train`: AdamW, schedule, early stopping on ``monitor`` over the validation patches' labelled
    pixels, the best epoch's weights restored, checkpoints). ``predict`` and ``predict_proba`` classify a whole
    image held in memory (tiled inference of larger images follows the contract of :mod:`.spatial`).

    Parameters
    ----------
    patch_size : int, default 32
        Side of the training patches, in pixels.
    stride : int, optional
        Between patch starts; default ``patch_size``. Less gives overlapping patches.
    split_block : int, optional
        Side of the split blocks drawn whole for validation (:class:`PatchSampler`); default ``2 * patch_size``.
    buffer : int, default 0
        Pixels kept between training and validation patches.
    network_params : dict, optional
        :class:`UNet`'s hyperparameters (``depth``, ``width``, ``dropout``), checked by name and value.
    augment : bool, default True
        Train on random rotations by 90° and flips of the patches.
    nodata : int, sequence of int or None, default (0, 255)
        Reference codes of unlabelled pixels, ignored by the loss and the metrics (255 is labkit's no-class code;
        the reference's own ``rio.nodata`` counts too).
    epochs : int, default 50
    batch_size : int, default 16
        Patches per batch.
    learning_rate, weight_decay : float, default 1e-3 and 1e-4
        Of the AdamW optimiser.
    schedule : {"cosine", "plateau", "constant"}, default "cosine"
    validation_fraction : float in [0, 1), default 0.2
        Share of the split blocks held out for validation; 0 trains on everything, without early stopping.
    monitor : {"loss", "oa", "kappa", "macro_f1"}, default "loss"
        What early stopping watches, over the validation patches' labelled pixels (each counted once).
    patience : int or None, default 10
    class_weight : {"balanced"} or None, default None
        Weights of the classes in the loss: the inverse of their share of the training pixels.
    device : {"auto", "cpu", "cuda"}, default "auto"
    mixed_precision : bool or "auto", default "auto"
    checkpoint : path, optional
    resume : bool, default False
    random_state : int, optional
        Seeds the validation split blocks, the weights, the batches and the augmentation.
    progress : bool, default False

    Attributes
    ----------
    classes_ : array
        The labelled codes of the reference, sorted.
    network_ : UNet (on the CPU, in eval mode)
    scaler_ : BandScaler
    bands_ : list of str
    n_times_ : int
    history_ : list of dict
        One row per epoch, as :class:`~labkit.models.DeepClassifier`'s (``val_oa`` is the validation pixel
        accuracy of the patches).
    best_epoch_ : int or None
    train_windows_, validation_windows_ : arrays (n, 2)
        Top-left pixels of the patches used.
    validation_mask_ : bool array (y, x)
        The pixels of the validation patches.

    Example
    -------
    >>> from labkit.datasets.synthetic import make_synthetic_scene
    >>> scene = make_synthetic_scene(48, 48, dates=3, bands=["B04", "B08"], n_classes=4, random_state=3)
    >>> model = SpatialClassifier(patch_size=16, epochs=1, network_params={"depth": 1, "width": 4},
    ...                           random_state=0).fit(scene.cube, scene.class_map)
    >>> model.predict_proba(scene.cube).dims, round(float(model.predict_proba(scene.cube).sum("class")[0, 0]), 3)
    (('class', 'y', 'x'), 1.0)
    """

    input_kind = "patches"  # what labkit.models.fit_model and cross_validate refuse: not a sample set

    _parameter_constraints: dict = {}  # checked by _validate_params, which the registry calls when it builds one

    def __init__(self, *, patch_size: int = 32, stride: int | None = None, split_block: int | None = None,
                 buffer: int = 0, network_params: dict | None = None, augment: bool = True,
                 nodata=(0, dm.NO_CLASS), epochs: int = 50, batch_size: int = 16, learning_rate: float = 1e-3,
                 weight_decay: float = 1e-4, schedule: str = "cosine", validation_fraction: float = 0.2,
                 monitor: str = "loss", patience: int | None = 10, class_weight: str | None = None,
                 device: str = "auto", mixed_precision: bool | str = "auto", checkpoint: str | None = None,
                 resume: bool = False, random_state: int | None = None, progress: bool = False):
        self.patch_size = patch_size
        self.stride = stride
        self.split_block = split_block
        self.buffer = buffer
        self.network_params = network_params
        self.augment = augment
        self.nodata = nodata
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.validation_fraction = validation_fraction
        self.monitor = monitor
        self.patience = patience
        self.class_weight = class_weight
        self.device = device
        self.mixed_precision = mixed_precision
        self.checkpoint = checkpoint
        self.resume = resume
        self.random_state = random_state
        self.progress = progress

    # ---------------------------------------------------------------------------------------------- checks

    def _validate_params(self) -> None:
        """Check every hyperparameter (the registry calls it when the model is built; ``fit`` again)."""
        from ..registry import _check_param_names
        from .training import check_training_params

        who = "SpatialClassifier"
        if self.network_params is not None and not isinstance(self.network_params, dict):
            raise ConfigError(f"{who}: network_params must be a dict of UNet's hyperparameters; got "
                              f"{type(self.network_params).__name__}.")
        _check_param_names("network 'unet' (UNet)", UNet, self.network_params or {},
                           skip=("self", "n_channels", "n_outputs"))
        _unet_hyperparameters("UNet", **(self.network_params or {}))
        params.integer(self.patch_size, "patch_size", who, low=1)
        for name in ("stride", "split_block"):
            if getattr(self, name) is not None:
                params.integer(getattr(self, name), name, who, low=1)
        params.integer(self.buffer, "buffer", who, low=0)
        _nodata_codes(self.nodata, who)
        params.flag(self.augment, "augment", who)
        if self.class_weight not in (None, "balanced"):
            raise ConfigError(f"{who}: class_weight must be None or 'balanced'; got {self.class_weight!r}.")
        check_training_params(self, who, "classification")

    def _sampler(self) -> PatchSampler:
        seed = params.seed(self.random_state, "SpatialClassifier", generator=False)
        return PatchSampler(self.patch_size, stride=self.stride, split_block=self.split_block, buffer=self.buffer,
                            validation_fraction=self.validation_fraction, random_state=seed)

    # -------------------------------------------------------------------------------------------------- fit

    def _targets(self, reference, cube: xr.DataArray, who: str) -> np.ndarray:
        """Class indices into ``classes_`` (set here) of every pixel, -1 where unlabelled."""
        codes = _reference_codes(reference, cube, who)
        unlabelled = _unlabelled(reference, codes, self.nodata, who)
        self.classes_ = np.unique(codes[~unlabelled])
        if len(self.classes_) < 2:
            raise DataModelError(f"{who}: the reference holds {len(self.classes_)} labelled class(es) "
                                 f"({self.classes_.tolist()}) outside the nodata codes {self.nodata}; a classifier "
                                 "needs at least two.")
        return np.where(unlabelled, -1, np.searchsorted(self.classes_, codes))

    def _scaler(self, values: np.ndarray, valid: np.ndarray, covered: np.ndarray) -> BandScaler:
        """Per-band mean and standard deviation over the valid observations of the pixels in ``covered``."""
        n_time, n_band, height, width = values.shape
        series = values.transpose(2, 3, 0, 1).reshape(height * width, n_time, n_band)
        rows = np.flatnonzero(covered.ravel())
        return BandScaler.fit(SeriesBatches(series, valid=valid.transpose(1, 2, 0).reshape(height * width, n_time),
                                            rows=rows))

    def fit(self, cube, reference, *, mask=None):
        """Train the U-Net on patches of ``cube`` labelled by ``reference``.

        Parameters
        ----------
        cube : cube (time, band, y, x)
            numpy or dask (read into memory whole).
        reference : DataArray (y, x) or array of the cube's (y, x) shape
            Integer class codes on the cube's grid; codes in ``nodata`` (and the raster's ``rio.nodata``) are
            unlabelled.
        mask : validity mask (time, y, x), optional
            Observations whose code is not 0 are missing (as NaN values are).

        Returns
        -------
        self

        Raises
        ------
        DataModelError
            A cube that does not follow the data model, a reference or mask not on its grid, a reference that is not
            integer codes or holds fewer than two classes, no training patch with a labelled pixel.
        ConfigError
            A bad hyperparameter; a patch larger than the image.
        """
        who = "SpatialClassifier.fit"
        self._validate_params()
        cube = _checked_cube(cube, who)
        seed = 0 if self.random_state is None else int(self.random_state)
        targets = self._targets(reference, cube, who)
        values, valid = _read(cube, mask, who)
        training, validation = self._batches(values, valid, targets, seed, who)
        self.network_ = self._train(training, validation, seed)
        self.bands_, self.n_times_ = [str(b) for b in cube["band"].values], cube.sizes["time"]
        self.train_windows_, self.validation_windows_ = training.windows, validation.windows
        self.validation_mask_ = self._sampler().coverage(validation.windows, targets.shape)
        self.best_epoch_ = next((row["epoch"] for row in self.history_ if row.get("best")), None)
        return self

    def _batches(self, values, valid, targets, seed: int, who: str) -> tuple[_PatchBatches, _PatchBatches]:
        """Training and validation patches (those with a labelled pixel); ``scaler_`` learned on the training ones."""
        sampler = self._sampler()
        train_windows, validation_windows = sampler.split(targets.shape)
        train_windows = train_windows[_labelled(targets, train_windows, sampler.patch_size)]
        if not len(train_windows):
            raise DataModelError(f"{who}: no training patch holds a labelled pixel (patches of {sampler.patch_size} "
                                 f"pixels; nodata codes {self.nodata}).")
        self.scaler_ = self._scaler(values, valid, sampler.coverage(train_windows, targets.shape))
        channels = to_channels(values, valid, self.scaler_)
        common = {"patch_size": sampler.patch_size, "batch_size": self.batch_size, "random_state": seed}
        training = _PatchBatches(channels, targets, train_windows, shuffle=True, augment=self.augment, **common)
        validation = _PatchBatches(channels, targets, validation_windows, count_once=True, **common)
        if self.validation_fraction and not validation.n_samples:
            warnings.warn(f"{who}: no validation patch holds a labelled pixel; training for all {self.epochs} epochs "
                          "without early stopping.", stacklevel=3)
        return training, validation

    def _train(self, training: _PatchBatches, validation: _PatchBatches, seed: int) -> UNet:
        """A U-Net trained by :func:`~.training.train` on the labelled pixels of the patches; on the CPU, in eval."""
        from .training import resolve_device, train

        torch.manual_seed(seed)
        self.device_ = resolve_device(self.device)
        n_classes = len(self.classes_)
        network = UNet(training.channels.shape[0], n_classes, **(self.network_params or {})).to(self.device_)
        self.history_ = train(lambda x, doy, m: network(x).permute(0, 2, 3, 1)[m], network, training,
                              task="classification", n_outputs=n_classes,
                              validation=validation if validation.n_samples else None, epochs=self.epochs,
                              learning_rate=self.learning_rate, weight_decay=self.weight_decay,
                              schedule=self.schedule, monitor=self.monitor, patience=self.patience,
                              class_weight=self._class_weight(training.y), device=self.device_,
                              mixed_precision=self.device_.type == "cuda" and self.mixed_precision in ("auto", True),
                              random_state=seed, checkpoint=self.checkpoint, resume=self.resume, progress=self.progress,
                              description="unet")
        return network.to("cpu").eval()

    def _class_weight(self, targets: np.ndarray) -> np.ndarray | None:
        if self.class_weight != "balanced":
            return None
        n_classes = len(self.classes_)
        counts = np.bincount(targets, minlength=n_classes).astype(float)
        return np.where(counts > 0, len(targets) / (n_classes * np.maximum(counts, 1)), 0.0)

    # ---------------------------------------------------------------------------------------------- predict

    def _probabilities(self, cube, mask, who: str) -> np.ndarray:
        """Class probabilities ``(class, y, x)`` of the whole image, in one pass of the network."""
        check_is_fitted(self, "network_")
        cube = _checked_cube(cube, who)
        bands = [str(b) for b in cube["band"].values]
        if bands != self.bands_:
            raise BandError(f"{who}: the cube's bands {bands} are not those of fit {self.bands_} (same names, same "
                            f"order); select them with cube.sel(band={self.bands_}).")
        if cube.sizes["time"] != self.n_times_:
            raise DataModelError(f"{who}: the cube has {cube.sizes['time']} dates; the model was fitted on "
                                 f"{self.n_times_} (its channels are date by date).")
        values, valid = _read(cube, mask, who)
        return self.window_probabilities(values, valid)

    @property
    def halo_(self) -> int:
        """Pixels around a pixel that its prediction reads (:attr:`UNet.halo`)."""
        check_is_fitted(self, "network_")
        return int(self.network_.halo)

    @property
    def alignment_(self) -> int:
        """Windows starting at multiples of it predict as the whole image does (:attr:`UNet.alignment`)."""
        check_is_fitted(self, "network_")
        return int(self.network_.alignment)

    def window_probabilities(self, values: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities ``(class, y, x)`` float32 of one window of a cube's values ``(time, band, y, x)``
        (bands and dates as in fit), in one pass of the network: what tiled inference
        (:func:`labkit.inference.predict_map`) calls on each tile. ``valid (time, y, x)``: the observations to
        read (by default, those with every band finite).

        Example
        -------
        >>> from labkit.datasets.synthetic import make_synthetic_scene
        >>> scene = make_synthetic_scene(48, 48, dates=2, bands=["B04"], n_classes=4, random_state=3)
        >>> model = SpatialClassifier(patch_size=8, epochs=1, network_params={"depth": 1, "width": 4},
        ...                           random_state=0).fit(scene.cube, scene.class_map)
        >>> model.window_probabilities(scene.cube.values[..., :5, :6]).shape == (len(model.classes_), 5, 6)
        True
        """
        check_is_fitted(self, "network_")
        values = np.asarray(values, np.float32)
        valid = observation_validity(values) if valid is None else np.asarray(valid, bool)
        x = torch.from_numpy(to_channels(values, valid, self.scaler_))[None]
        device = self.device_ if self.device_.type == "cpu" or torch.cuda.is_available() else torch.device("cpu")
        before = next(self.network_.parameters()).device
        network = self.network_.to(device).eval()
        try:
            with torch.no_grad():
                logits = network(x.to(device)).float()[0].cpu().numpy()
        finally:
            if before != device:
                self.network_ = network.to(before)
        logits -= logits.max(axis=0, keepdims=True)
        exp = np.exp(logits)
        return (exp / exp.sum(axis=0, keepdims=True)).astype(np.float32)

    def _on_grid(self, data: np.ndarray, cube: xr.DataArray, dims: tuple[str, ...], coords: dict) -> xr.DataArray:
        out = xr.DataArray(data, dims=dims, coords={**coords, "y": cube["y"].values, "x": cube["x"].values})
        if cube.rio.crs is not None:
            out = out.rio.write_crs(cube.rio.crs).rio.write_transform(cube.rio.transform())
        return out

    def predict_proba(self, cube, *, mask=None) -> xr.DataArray:
        """Probabilities ``(class, y, x)`` float32 of the whole image (in memory), ``class`` = ``classes_``."""
        probs = self._probabilities(cube, mask, "SpatialClassifier.predict_proba").astype(np.float32)
        return self._on_grid(probs, cube, dm.PROBS_DIMS, {"class": self.classes_}).rename("probability")

    def predict(self, cube, *, mask=None) -> xr.DataArray:
        """Class map ``(y, x)`` of the whole image (in memory): the most probable of ``classes_`` at each pixel."""
        probs = self._probabilities(cube, mask, "SpatialClassifier.predict")
        return self._on_grid(self.classes_[probs.argmax(axis=0)], cube, dm.CLASS_MAP_DIMS, {}).rename("class")

    def score(self, cube, reference, *, mask=None) -> float:
        """Pixel accuracy of :meth:`predict` over the labelled pixels of ``reference``.

        Raises
        ------
        DataModelError
            A reference that is not on the cube's grid, or has no labelled pixel.
        """
        who = "SpatialClassifier.score"
        codes = _reference_codes(reference, _checked_cube(cube, who), who)
        labelled = ~_unlabelled(reference, codes, self.nodata, who)
        if not labelled.any():
            raise DataModelError(f"{who}: the reference has no labelled pixel (all in nodata {self.nodata}).")
        predicted = self.predict(cube, mask=mask).values
        return float((predicted[labelled] == codes[labelled]).mean())

    # ------------------------------------------------------------------------- what labkit.models.save_model keeps

    def _labkit_state(self) -> tuple[dict, dict]:
        """``(plain JSON state, the U-Net's state_dict)``: what :func:`labkit.models.save_model` writes."""
        from ..persistence import _plain

        state = {"params": {k: _plain(v) for k, v in self.get_params(deep=False).items()},
                 "scaler": self.scaler_.to_dict(), "bands": self.bands_, "n_times": self.n_times_,
                 "grid": list(self.validation_mask_.shape), "train_windows": _plain(self.train_windows_),
                 "validation_windows": _plain(self.validation_windows_), "history": self.history_,
                 "best_epoch": self.best_epoch_}
        return state, self.network_.state_dict()

    @classmethod
    def _from_labkit_state(cls, state: dict, weights: dict, classes) -> SpatialClassifier:
        """The fitted model :meth:`_labkit_state` describes (:func:`labkit.models.load_model`)."""
        params = dict(state["params"])
        if isinstance(params.get("nodata"), list):
            params["nodata"] = tuple(params["nodata"])
        model = cls(**params)
        model.classes_ = np.asarray(classes)
        model.bands_, model.n_times_ = list(state["bands"]), int(state["n_times"])
        channels = model.n_times_ * (len(model.bands_) + 1)
        network = UNet(channels, len(model.classes_), **(model.network_params or {}))
        network.load_state_dict(weights)
        model.network_ = network.eval()
        model.scaler_ = BandScaler.from_dict(state["scaler"])
        model.train_windows_ = np.asarray(state["train_windows"], dtype=np.int64).reshape(-1, 2)
        model.validation_windows_ = np.asarray(state["validation_windows"], dtype=np.int64).reshape(-1, 2)
        model.validation_mask_ = model._sampler().coverage(model.validation_windows_, tuple(state["grid"]))
        model.history_, model.best_epoch_ = state["history"], state["best_epoch"]
        model.device_ = torch.device("cpu")
        return model
