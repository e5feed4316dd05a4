"""PyTorch networks for pixel time series, as plain :class:`torch.nn.Module` objects.

The estimators of :mod:`labkit.models.deep` train these networks behind scikit-learn's API; they read a sample set's
series ``X (sample, time, band)``, the dates of its observations and its missing values. Networks: :class:`MLP`,
:class:`TempCNN`, :class:`LTAE`, :class:`GRUClassifier`, :class:`TransformerEncoderClassifier`, by name in
:data:`NETWORKS`.

Contract shared by every network
--------------------------------
``Network(n_bands, n_outputs, **hyperparameters)``
    Hyperparameters are keyword-only, with published defaults (each class says which paper). The number of dates is
    free: a network built on series of 20 dates runs on 25, except :class:`MLP`, which flattens the series and takes
    its length at construction (``n_times``; class attribute ``fixed_length = True``).
``forward(x, doy=None, mask=None) -> Tensor (batch, n_outputs)``
    * ``x``: float ``(batch, time, band)``; cast to the dtype of the network's parameters.
    * ``doy``: float ``(batch, time)``, the day of year (or days since a reference date) of each observation. Read by
      the attention networks only (class attribute ``uses_dates = True``: :class:`LTAE`,
      :class:`TransformerEncoderClassifier`), which encode it with :func:`sinusoidal_encoding`; when it is None they
      use the observation's index (0, 1, 2...). The other networks accept it and ignore it.
    * ``mask``: bool ``(batch, time)``, True where the observation is **valid**; False for missing ones (cloud, no
      acquisition, padding). None: every observation is valid.
    * The output is raw scores (logits, no softmax): train with :class:`torch.nn.CrossEntropyLoss` for classes, or
      read one output as a regression.

Missing observations
    An observation is missing where ``mask`` is False **or** any of its bands is not finite (NaN, ±inf: labkit reads
    ±inf as missing everywhere). :func:`mask_missing` replaces missing values by 0 with :func:`torch.where` before
    any arithmetic, so NaN never reaches a product, neither in the forward pass nor in the gradients. Missing
    observations never change the output: their values are never read, attention networks leave them out of the
    attention (key padding mask), and poolings average over valid observations only (:func:`masked_pool`). The
    dates of missing observations are ignored as well. A sample with no valid observation gives finite outputs
    (those of an all-zero series).

Inputs are expected standardised (e.g. per band, over the training set) by the caller: no network normalises its
inputs. Dense layers have no batch normalisation, so a training batch of one sample works; :class:`TempCNN`'s
convolution blocks have it (over batch and time), as in the paper.

Example
-------
>>> _ = torch.manual_seed(0)
>>> x = torch.rand(4, 20, 3)                       # 4 pixels, 20 dates, 3 bands
>>> mask = torch.rand(4, 20) > 0.3                 # 30 % of the observations are cloudy
>>> x[~mask] = float("nan")                        # missing values may hold anything
>>> doy = torch.linspace(0, 365, 20).expand(4, 20)
>>> net = NETWORKS["ltae"](n_bands=3, n_outputs=5).eval()
>>> net(x, doy, mask).shape
torch.Size([4, 5])
>>> bool(torch.isfinite(net(x, doy, mask)).all())
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ... import params
from ...errors import ConfigError, DataModelError

__all__ = [
    "LTAE",
    "MLP",
    "NETWORKS",
    "GRUClassifier",
    "TempCNN",
    "TransformerEncoderClassifier",
    "mask_missing",
    "masked_pool",
    "sinusoidal_encoding",
]


# --------------------------------------------------------------------------------------------------------------------
# Shared helpers: masking, dates, pooling
# --------------------------------------------------------------------------------------------------------------------

def mask_missing(x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Set missing observations to 0 and return them with the validity mask.

    An observation is missing where ``mask`` is False or any of its bands is not finite (NaN, ±inf). The values are
    replaced with :func:`torch.where`, not multiplied by the mask, so that a NaN neither propagates forward nor
    gives NaN gradients.

    Parameters
    ----------
    x : Tensor (batch, time, band)
        Series; missing observations may hold any value.
    mask : Tensor (batch, time) of bool, optional
        True where the observation is valid. None: valid wherever every band is finite.

    Returns
    -------
    x : Tensor (batch, time, band)
        The series, 0 at missing observations.
    valid : Tensor (batch, time) of bool
        True where the observation is valid.

    Raises
    ------
    DataModelError
        ``x`` is not 3-D, or ``mask`` is not bool or has another shape than ``x``'s first two dims.

    Example
    -------
    >>> x = torch.tensor([[[1.0], [float("nan")], [3.0]]])
    >>> clean, valid = mask_missing(x, torch.tensor([[True, True, False]]))
    >>> clean[..., 0], valid
    (tensor([[1., 0., 0.]]), tensor([[ True, False, False]]))
    """
    if x.ndim != 3:
        raise DataModelError(f"The series x must be a 3-D tensor (batch, time, band); got shape {tuple(x.shape)}.")
    valid = torch.isfinite(x).all(dim=-1)
    if mask is not None:
        if mask.dtype != torch.bool:
            raise DataModelError(f"mask must be a bool tensor, True where the observation is valid; got dtype "
                                 f"{mask.dtype}. A labkit validity mask (uint8, 0 = valid) converts with mask == 0.")
        if tuple(mask.shape) != tuple(x.shape[:2]):
            raise DataModelError(f"mask must have the shape (batch, time) = {tuple(x.shape[:2])} of x; got "
                                 f"{tuple(mask.shape)}.")
        valid = valid & mask.to(x.device)
    return torch.where(valid[..., None], x, 0.0), valid


def sinusoidal_encoding(doy: torch.Tensor, dim: int, period: float = 1000.0) -> torch.Tensor:
    """Sinusoidal encoding of dates (Vaswani et al. 2017), with ``period`` T = 1000 days as in L-TAE.

    Channel ``2i`` is ``sin(doy / T ** (2i / dim))`` and channel ``2i + 1`` is ``cos(doy / T ** (2i / dim))``: wave
    lengths from 2π days (channels 0, 1) to about 2π T days, so that a season's dates stay distinct.

    Parameters
    ----------
    doy : Tensor (batch, time)
        Day of year, or days since a reference date, of each observation.
    dim : int
        Number of channels of the encoding.
    period : float, default 1000.0
        T above, in the units of ``doy``.

    Returns
    -------
    Tensor (batch, time, dim)

    Example
    -------
    >>> pe = sinusoidal_encoding(torch.tensor([[0.0, 180.0]]), dim=4)
    >>> pe.shape, pe[0, 0]
    (torch.Size([1, 2, 4]), tensor([0., 1., 0., 1.]))
    """
    doy = doy.to(torch.get_default_dtype()) if not doy.is_floating_point() else doy
    channel = torch.arange(dim, device=doy.device)
    frequency = period ** (-(channel // 2 * 2).to(doy.dtype) / dim)
    angle = doy[..., None] * frequency
    return torch.where(channel % 2 == 0, torch.sin(angle), torch.cos(angle))


def masked_pool(values: torch.Tensor, valid: torch.Tensor, bins: int = 1) -> torch.Tensor:
    """Average over time of the valid observations only, globally (``bins=1``) or in ``bins`` equal windows.

    The windows are those of :func:`torch.nn.functional.adaptive_avg_pool1d`, so any length maps onto ``bins``; a
    window (or a sample) with no valid observation gives 0.

    Parameters
    ----------
    values : Tensor (batch, time, channel)
    valid : Tensor (batch, time) of bool
    bins : int, default 1

    Returns
    -------
    Tensor (batch, bins, channel)

    Example
    -------
    >>> values = torch.tensor([[[1.0], [5.0], [3.0], [7.0]]])
    >>> valid = torch.tensor([[True, False, True, False]])
    >>> masked_pool(values, valid)[..., 0], masked_pool(values, valid, bins=2)[..., 0]
    (tensor([[2.]]), tensor([[1., 3.]]))
    """
    weight = valid.to(values.dtype)[:, None, :]                                  # (batch, 1, time)
    values = torch.where(valid[..., None], values, 0.0).transpose(1, 2)          # (batch, channel, time)
    total = nn.functional.adaptive_avg_pool1d(values, bins)
    share = nn.functional.adaptive_avg_pool1d(weight, bins)
    return (total / share.clamp_min(torch.finfo(values.dtype).eps)).transpose(1, 2)


def _dense_layers(n_in: int, sizes: Sequence[int], dropout: float) -> list[nn.Module]:
    """Linear → ReLU → Dropout for each size in ``sizes`` (no batch normalisation: a batch of one trains)."""
    layers: list[nn.Module] = []
    for size in sizes:
        layers += [nn.Linear(n_in, size), nn.ReLU(), nn.Dropout(dropout)]
        n_in = size
    return layers


def _sizes(value, name: str, who: str) -> tuple[int, ...]:
    """A sequence of layer sizes, each an integer >= 1 (may be empty)."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(f"{who}: {name} must be a sequence of integers >= 1 (layer sizes); got {value!r}.")
    return tuple(params.integer(size, f"{name}[{i}]", who, low=1) for i, size in enumerate(value))


def _dropout(value, who: str, name: str = "dropout") -> float:
    """A dropout rate, in [0, 1)."""
    return params.number(value, name, who, low=0, high=1, closed="left")


class _Network(nn.Module):
    """What every network shares: ``n_bands``, ``n_outputs``, and the checks and cleaning of its inputs."""

    uses_dates: bool = False
    fixed_length: bool = False

    def __init__(self, n_bands: int, n_outputs: int) -> None:
        super().__init__()
        who = type(self).__name__
        self.n_bands = params.integer(n_bands, "n_bands", who, low=1)
        self.n_outputs = params.integer(n_outputs, "n_outputs", who, low=1)

    def _observations(self, x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` cast to the parameters' dtype, checked against ``n_bands``, and cleaned by :func:`mask_missing`."""
        if x.ndim == 3 and x.shape[-1] != self.n_bands:
            raise ConfigError(f"{type(self).__name__} was built for {self.n_bands} band(s) (n_bands={self.n_bands}); "
                              f"got x with {x.shape[-1]} band(s), shape {tuple(x.shape)} (batch, time, band).")
        return mask_missing(x.to(next(self.parameters()).dtype), mask)

    def _dates(self, doy: torch.Tensor | None, valid: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """The dates as floats, 0 at missing observations; the observation index when ``doy`` is None."""
        batch, time = valid.shape
        if doy is None:
            return torch.where(valid, torch.arange(time, device=valid.device, dtype=dtype), 0.0)
        if tuple(doy.shape) != (batch, time):
            raise DataModelError(f"doy must have the shape (batch, time) = {(batch, time)} of x; got "
                                 f"{tuple(doy.shape)}.")
        doy = torch.where(valid, doy.to(device=valid.device, dtype=dtype), 0.0)
        if not bool(torch.isfinite(doy).all()):
            raise DataModelError("doy holds non-finite values (NaN, ±inf) at valid observations; give every valid "
                                 "observation its date, or mark the observation missing in mask.")
        return doy


# --------------------------------------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------------------------------------

class MLP(_Network):
    """Multi-layer perceptron on the flattened series: the baseline of deep pixel classifiers.

    As in Zhong, Hu & Zhou (2019), "Deep learning based multi-temporal crop classification", *Remote Sensing of
    Environment* 221:430–443, and sits' ``sits_mlp`` (three layers of 512 units, dropout from 0.2). Flattening ties
    the network to one series length, given at construction. Missing observations enter as 0.

    Parameters
    ----------
    n_bands, n_outputs : int
        Bands of each observation; outputs (classes).
    n_times : int
        Number of dates of the series (keyword, required).
    hidden : sequence of int, default (512, 512, 512)
        Sizes of the hidden layers (Linear → ReLU → Dropout).
    dropout : float, default 0.2

    Raises
    ------
    ConfigError
        In ``forward``: a series of another length than ``n_times``, or with another number of bands.

    Example
    -------
    >>> net = MLP(n_bands=3, n_outputs=4, n_times=12, hidden=(32,))
    >>> net(torch.rand(2, 12, 3)).shape
    torch.Size([2, 4])
    >>> net(torch.rand(2, 15, 3))
    Traceback (most recent call last):
    ...
    labkit.errors.ConfigError: MLP was built for series of 12 dates (n_times=12); got x with 15 dates, ...
    """

    fixed_length = True

    def __init__(self, n_bands: int, n_outputs: int, *, n_times: int, hidden: Sequence[int] = (512, 512, 512),
                 dropout: float = 0.2) -> None:
        super().__init__(n_bands, n_outputs)
        self.n_times = params.integer(n_times, "n_times", "MLP", low=1)
        hidden = _sizes(hidden, "hidden", "MLP")
        n_in = self.n_times * self.n_bands
        self.layers = nn.Sequential(*_dense_layers(n_in, hidden, _dropout(dropout, "MLP")),
                                    nn.Linear(hidden[-1] if hidden else n_in, self.n_outputs))

    def forward(self, x: torch.Tensor, doy: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        if x.ndim == 3 and x.shape[1] != self.n_times:
            raise ConfigError(f"MLP was built for series of {self.n_times} dates (n_times={self.n_times}); got x with "
                              f"{x.shape[1]} dates, shape {tuple(x.shape)} (batch, time, band). Resample the series "
                              "onto the model's dates (labkit.gapfill.fill_gaps), or use a network of any length "
                              "(tempcnn, ltae, gru, transformer).")
        x, _ = self._observations(x, mask)
        return self.layers(x.flatten(1))


class TempCNN(_Network):
    """Temporal convolutional network (TempCNN).

    Pelletier, Webb & Petitjean (2019), "Temporal Convolutional Neural Network for the Classification of Satellite
    Image Time Series", *Remote Sensing* 11(5):523. Three blocks Conv1d → BatchNorm → ReLU → Dropout (64 filters of
    width 5, "same" padding), a dense layer of 256 units, the output; dropout 0.5 as in the authors' code.

    The paper flattens the last feature map, which fixes the series length. Here the feature map is first averaged
    over its valid observations into ``pooled_length`` equal windows of time (:func:`masked_pool`, an adaptive
    average pooling), then flattened: the network keeps the coarse timing of features and runs on any length.
    Missing observations enter the convolutions as 0. Dates are not read (the position in the series stands for
    time): give it series on a regular grid (:func:`labkit.gapfill.fill_gaps`).

    Parameters
    ----------
    n_bands, n_outputs : int
    filters : int, default 64
        Filters of each convolution.
    kernel_size : int, default 5
        Width of the filters, in dates; odd.
    dense : int, default 256
        Units of the dense layer.
    pooled_length : int, default 16
        Windows of time kept by the pooling (a series shorter than this is repeated to fill them).
    dropout : float, default 0.5

    Example
    -------
    >>> net = TempCNN(n_bands=3, n_outputs=4).eval()
    >>> net(torch.rand(2, 20, 3)).shape, net(torch.rand(1, 25, 3)).shape
    (torch.Size([2, 4]), torch.Size([1, 4]))
    """

    def __init__(self, n_bands: int, n_outputs: int, *, filters: int = 64, kernel_size: int = 5, dense: int = 256,
                 pooled_length: int = 16, dropout: float = 0.5) -> None:
        super().__init__(n_bands, n_outputs)
        filters = params.integer(filters, "filters", "TempCNN", low=1)
        kernel_size = params.integer(kernel_size, "kernel_size", "TempCNN", low=1)
        if kernel_size % 2 == 0:
            raise ConfigError(f"TempCNN: kernel_size must be odd, so that each filter is centred on a date; got "
                              f"{kernel_size}.")
        dense = params.integer(dense, "dense", "TempCNN", low=1)
        self.pooled_length = params.integer(pooled_length, "pooled_length", "TempCNN", low=1)
        dropout = _dropout(dropout, "TempCNN")
        blocks: list[nn.Module] = []
        for n_in in (self.n_bands, filters, filters):
            blocks += [nn.Conv1d(n_in, filters, kernel_size, padding="same"), nn.BatchNorm1d(filters), nn.ReLU(),
                       nn.Dropout(dropout)]
        self.convolutions = nn.Sequential(*blocks)
        self.head = nn.Sequential(*_dense_layers(filters * self.pooled_length, [dense], dropout),
                                  nn.Linear(dense, self.n_outputs))

    def forward(self, x: torch.Tensor, doy: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        x, valid = self._observations(x, mask)
        features = self.convolutions(x.transpose(1, 2)).transpose(1, 2)       # (batch, time, filters)
        return self.head(masked_pool(features, valid, self.pooled_length).flatten(1))


class LTAE(_Network):
    """Lightweight Temporal Attention Encoder (L-TAE) and an MLP head.

    Sainte Fare Garnot & Landrieu (2020), "Lightweight Temporal Self-Attention for Classifying Satellite Images Time
    Series", ECCV 2020 workshops (AALTD), arXiv:2007.00586. Each observation's bands are projected to ``d_model``
    channels (a linear layer shared by all dates, the paper's 1×1 convolution), the sinusoidal encoding of its date
    (T = 1000 days, ``d_model / n_head`` channels repeated for each head) is added, and each of ``n_head`` heads
    attends over the valid observations with one learned master query (keys of ``d_k`` channels), averaging its own
    ``d_model / n_head`` channels. The heads' outputs, concatenated, go through the MLP ``mlp`` and the output layer.

    Defaults follow the paper (16 heads, ``d_k = 8``, T = 1000, dropout 0.2, attention dropout 0.1, MLP
    [128, 64, 32] as its decoder) except ``d_model``: the paper projects 128 pixel-set features to 256 channels;
    for a few spectral bands per pixel, 128 (8 channels per head) is enough. The paper's layer normalisation of the
    inputs is left out (it would erase a single band): standardise the bands beforehand.

    Parameters
    ----------
    n_bands, n_outputs : int
    d_model : int, default 128
        Channels after the input projection; a multiple of ``n_head``.
    n_head : int, default 16
    d_k : int, default 8
        Channels of each head's keys and master query.
    mlp : sequence of int, default (128, 64, 32)
        Hidden layers after the attention (Linear → ReLU → Dropout).
    dropout : float, default 0.2
    attention_dropout : float, default 0.1
        Dropout of the attention weights (in training only).
    period : float, default 1000.0
        T of :func:`sinusoidal_encoding`, in days.

    Attributes
    ----------
    attention_weights : Tensor (batch, n_head, time) or None
        The attention weights of the last forward pass (detached; before attention dropout): 0 at missing
        observations, summing to 1 over time for each head, all 0 for a sample with no valid observation.

    Example
    -------
    >>> net = LTAE(n_bands=3, n_outputs=4, d_model=32, n_head=4).eval()
    >>> x, doy = torch.rand(2, 20, 3), torch.linspace(0, 365, 20).expand(2, 20)
    >>> out, weights = net(x, doy, return_attention=True)
    >>> out.shape, weights.shape, weights.sum(-1).allclose(torch.ones(2, 4))
    (torch.Size([2, 4]), torch.Size([2, 4, 20]), True)
    """

    uses_dates = True

    def __init__(self, n_bands: int, n_outputs: int, *, d_model: int = 128, n_head: int = 16, d_k: int = 8,
                 mlp: Sequence[int] = (128, 64, 32), dropout: float = 0.2, attention_dropout: float = 0.1,
                 period: float = 1000.0) -> None:
        super().__init__(n_bands, n_outputs)
        self.d_model = params.integer(d_model, "d_model", "LTAE", low=1)
        self.n_head = params.integer(n_head, "n_head", "LTAE", low=1)
        self.d_k = params.integer(d_k, "d_k", "LTAE", low=1)
        self.period = params.number(period, "period", "LTAE", low=0, closed="neither")
        if self.d_model % self.n_head:
            raise ConfigError(f"LTAE: d_model must be a multiple of n_head (each head averages d_model / n_head "
                              f"channels); got d_model={self.d_model}, n_head={self.n_head}.")
        mlp = _sizes(mlp, "mlp", "LTAE")
        self.projection = nn.Linear(self.n_bands, self.d_model)
        self.key = nn.Linear(self.d_model, self.n_head * self.d_k)
        self.query = nn.Parameter(torch.randn(self.n_head, self.d_k) * math.sqrt(2.0 / self.d_k))
        nn.init.normal_(self.key.weight, std=math.sqrt(2.0 / self.d_k))
        self.attention_dropout = nn.Dropout(_dropout(attention_dropout, "LTAE", "attention_dropout"))
        self.head = nn.Sequential(*_dense_layers(self.d_model, mlp, _dropout(dropout, "LTAE")),
                                  nn.Linear(mlp[-1] if mlp else self.d_model, self.n_outputs))
        self.attention_weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, doy: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                return_attention: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Scores ``(batch, n_outputs)``; with ``return_attention=True``, also the weights ``(batch, n_head, time)``."""
        x, valid = self._observations(x, mask)
        doy = self._dates(doy, valid, x.dtype)
        batch, time, _ = x.shape
        encoding = sinusoidal_encoding(doy, self.d_model // self.n_head, self.period).repeat(1, 1, self.n_head)
        embedded = self.projection(x) + encoding                                    # (batch, time, d_model)
        keys = self.key(embedded).view(batch, time, self.n_head, self.d_k)
        scores = torch.einsum("bthk,hk->bht", keys, self.query) / math.sqrt(self.d_k)
        # A finite fill (not -inf): a sample with no valid observation gets uniform weights instead of NaN (also in
        # the gradients), which the product below sets to 0.
        scores = scores.masked_fill(~valid[:, None, :], torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1) * valid.any(dim=1).to(scores.dtype)[:, None, None]
        values = embedded.view(batch, time, self.n_head, self.d_model // self.n_head)
        attended = torch.einsum("bht,bthc->bhc", self.attention_dropout(weights), values)
        out = self.head(attended.reshape(batch, self.d_model))
        self.attention_weights = weights.detach()
        return (out, weights) if return_attention else out


class GRUClassifier(_Network):
    """Bidirectional GRU over the valid observations, and a linear layer on its last states.

    Recurrent networks for land cover from image time series: Ienco, Gaetano, Dupaquier & Maurel (2017), "Land Cover
    Classification via Multitemporal Spatial Data by Deep Recurrent Neural Networks", *IEEE Geoscience and Remote
    Sensing Letters* 14(10):1685–1689; Rußwurm & Körner (2017), CVPR workshops (EarthVision). GRU cell: Cho et al.
    (2014), EMNLP. Defaults: 2 layers of 128 units per direction, dropout 0.2.

    Each sample's valid observations are moved to the front, in their order, and the GRU reads only them
    (:func:`torch.nn.utils.rnn.pack_padded_sequence`): a missing observation is skipped, not read as 0. The final
    hidden states of the last layer, forward and backward, are concatenated and go to the output layer. Dates are
    not read. A sample with no valid observation is read as a single observation of zeros.

    Parameters
    ----------
    n_bands, n_outputs : int
    hidden_size : int, default 128
        Units of each direction.
    num_layers : int, default 2
    dropout : float, default 0.2
        Between GRU layers and before the output layer.

    Example
    -------
    >>> net = GRUClassifier(n_bands=3, n_outputs=4, hidden_size=16).eval()
    >>> mask = torch.tensor([[True] * 20, [True] * 5 + [False] * 15])
    >>> net(torch.rand(2, 20, 3), mask=mask).shape
    torch.Size([2, 4])
    """

    def __init__(self, n_bands: int, n_outputs: int, *, hidden_size: int = 128, num_layers: int = 2,
                 dropout: float = 0.2) -> None:
        super().__init__(n_bands, n_outputs)
        hidden_size = params.integer(hidden_size, "hidden_size", "GRUClassifier", low=1)
        num_layers = params.integer(num_layers, "num_layers", "GRUClassifier", low=1)
        dropout = _dropout(dropout, "GRUClassifier")
        self.gru = nn.GRU(self.n_bands, hidden_size, num_layers, batch_first=True, bidirectional=True,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden_size, self.n_outputs))

    def forward(self, x: torch.Tensor, doy: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        x, valid = self._observations(x, mask)
        order = torch.argsort((~valid).to(torch.int8), dim=1, stable=True)     # valid first, in time order
        front = torch.gather(x, 1, order[..., None].expand_as(x))
        lengths = valid.sum(dim=1).clamp_min(1).cpu()
        packed = pack_padded_sequence(front, lengths, batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed)                                              # (layers * 2, batch, hidden)
        return self.head(torch.cat([last[-2], last[-1]], dim=1))


class TransformerEncoderClassifier(_Network):
    """Transformer encoder over the observations, averaged over the valid ones, and a linear layer.

    Rußwurm & Körner (2020), "Self-attention for raw optical Satellite Time Series Classification", *ISPRS Journal of
    Photogrammetry and Remote Sensing* 169:421–435; defaults from BreizhCrops (Rußwurm et al. 2020, ISPRS Archives
    XLIII-B2:1545–1551): ``d_model`` 64, 2 heads, 5 layers, feed-forward 128 (dropout 0.1 instead of their tuned
    0.018). Each observation's bands go through a linear embedding, to which the sinusoidal encoding of its date is
    added (:func:`sinusoidal_encoding`, T = 1000 days); :class:`torch.nn.TransformerEncoder` (post-norm) attends over
    valid observations only (key padding mask); its outputs are averaged over the valid observations
    (:func:`masked_pool`). A sample with no valid observation attends over its zeroed observations instead, so that
    no attention row is empty (PyTorch would give NaN); its average is then 0.

    Parameters
    ----------
    n_bands, n_outputs : int
    d_model : int, default 64
        A multiple of ``n_head``.
    n_head : int, default 2
    num_layers : int, default 5
    dim_feedforward : int, default 128
    dropout : float, default 0.1
    period : float, default 1000.0
        T of :func:`sinusoidal_encoding`, in days.

    Example
    -------
    >>> net = TransformerEncoderClassifier(n_bands=3, n_outputs=4, num_layers=1).eval()
    >>> doy = torch.linspace(0, 365, 20).expand(2, 20)
    >>> net(torch.rand(2, 20, 3), doy).shape
    torch.Size([2, 4])
    """

    uses_dates = True

    def __init__(self, n_bands: int, n_outputs: int, *, d_model: int = 64, n_head: int = 2, num_layers: int = 5,
                 dim_feedforward: int = 128, dropout: float = 0.1, period: float = 1000.0) -> None:
        super().__init__(n_bands, n_outputs)
        who = "TransformerEncoderClassifier"
        self.d_model = params.integer(d_model, "d_model", who, low=1)
        n_head = params.integer(n_head, "n_head", who, low=1)
        num_layers = params.integer(num_layers, "num_layers", who, low=1)
        dim_feedforward = params.integer(dim_feedforward, "dim_feedforward", who, low=1)
        self.period = params.number(period, "period", who, low=0, closed="neither")
        if self.d_model % n_head:
            raise ConfigError(f"{who}: d_model must be a multiple of n_head; got d_model={self.d_model}, "
                              f"n_head={n_head}.")
        dropout = _dropout(dropout, who)
        self.embedding = nn.Linear(self.n_bands, self.d_model)
        layer = nn.TransformerEncoderLayer(self.d_model, n_head, dim_feedforward, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.head = nn.Linear(self.d_model, self.n_outputs)

    def forward(self, x: torch.Tensor, doy: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        x, valid = self._observations(x, mask)
        doy = self._dates(doy, valid, x.dtype)
        embedded = self.embedding(x) + sinusoidal_encoding(doy, self.d_model, self.period)
        padding = ~valid & valid.any(dim=1, keepdim=True)      # no valid observation: attend over all (zeroed) ones
        encoded = self.encoder(embedded, src_key_padding_mask=padding)
        return self.head(masked_pool(encoded, valid)[:, 0])


NETWORKS: dict[str, type[nn.Module]] = {
    "mlp": MLP,
    "tempcnn": TempCNN,
    "ltae": LTAE,
    "gru": GRUClassifier,
    "transformer": TransformerEncoderClassifier,
}
"""The networks by name; each takes ``(n_bands, n_outputs, **hyperparameters)``."""
