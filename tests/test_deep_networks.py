"""Tests of labkit.models.deep.networks: shapes, missing observations, dates, determinism, learning, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from labkit.errors import ConfigError, DataModelError
from labkit.models.deep.networks import (
    LTAE,
    MLP,
    NETWORKS,
    GRUClassifier,
    TempCNN,
    TransformerEncoderClassifier,
    mask_missing,
    masked_pool,
    sinusoidal_encoding,
)

N_BANDS, N_CLASSES, N_TIMES = 2, 3, 12
NAMES = sorted(NETWORKS)
ATTENTION = {"ltae", "transformer"}
#: Adam steps (full batch, learning rate 0.01) to learn the toy problem; each reaches >= 0.95 in at most half of them
#: (seeds 0 to 5), the GRU, which does not see the gaps between valid observations, being the slowest.
STEPS = {"mlp": 100, "tempcnn": 100, "ltae": 100, "gru": 200, "transformer": 100}

#: Small sizes, so that the whole file runs in seconds.
SMALL = {
    "mlp": dict(hidden=(32,), dropout=0.0),
    "tempcnn": dict(filters=16, dense=32, pooled_length=8, dropout=0.1),
    "ltae": dict(d_model=32, n_head=4, d_k=4, mlp=(32,), dropout=0.0),
    "gru": dict(hidden_size=16, num_layers=1, dropout=0.0),
    "transformer": dict(d_model=32, n_head=2, num_layers=1, dim_feedforward=64, dropout=0.0),
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def build(name: str, n_times: int = N_TIMES, seed: int = 0, **overrides) -> torch.nn.Module:
    """A small network, seeded; the MLP gets ``n_times``."""
    torch.manual_seed(seed)
    kwargs = {**SMALL[name], **overrides}
    if NETWORKS[name].fixed_length:
        kwargs["n_times"] = n_times
    return NETWORKS[name](N_BANDS, N_CLASSES, **kwargs)


def batch(n: int = 6, n_times: int = N_TIMES, seed: int = 1, missing: float = 0.3):
    """Random series, their dates (every 30 days, jittered) and a mask with ``missing`` of the observations missing."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, n_times, N_BANDS, generator=g)
    doy = 30.0 * torch.arange(n_times) + 5 * torch.rand(n, n_times, generator=g)
    mask = torch.rand(n, n_times, generator=g) >= missing
    return x, doy, mask


def toy_problem(n_per_class: int = 100, n_times: int = 16, seed: int = 0):
    """Three classes whose series differ by the day of a Gaussian bump (days 100, 180, 260), plus noise.

    Band 0 rises with the bump, band 1 falls; 30 % of the observations are missing, and hold NaN.
    """
    g = torch.Generator().manual_seed(seed)
    n = n_per_class * N_CLASSES
    labels = torch.arange(N_CLASSES).repeat_interleave(n_per_class)
    doy = torch.linspace(10, 355, n_times).expand(n, n_times)
    peak = torch.tensor([100.0, 180.0, 260.0])[labels] + 10 * torch.randn(n, generator=g)
    bump = torch.exp(-0.5 * ((doy - peak[:, None]) / 25.0) ** 2)
    x = torch.stack([bump, -bump], dim=-1) + 0.1 * torch.randn(n, n_times, N_BANDS, generator=g)
    mask = torch.rand(n, n_times, generator=g) >= 0.3
    return x.masked_fill(~mask[..., None], math.nan), doy, mask, labels


# --------------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------------

def test_mask_missing_replaces_missing_and_non_finite_values_by_zero():
    x = torch.tensor([[[1.0, 2.0], [math.nan, 1.0], [math.inf, 0.0], [4.0, 5.0]]])
    clean, valid = mask_missing(x, torch.tensor([[True, True, True, False]]))
    assert valid.tolist() == [[True, False, False, False]]
    assert clean.tolist() == [[[1.0, 2.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]]
    assert mask_missing(x)[1].tolist() == [[True, False, False, True]]


def test_sinusoidal_encoding_matches_the_formula():
    doy = torch.tensor([[0.0, 37.0, 365.0]])
    pe = sinusoidal_encoding(doy, dim=6, period=1000.0)
    for i in range(3):
        angle = doy / 1000.0 ** (2 * i / 6)
        assert torch.allclose(pe[..., 2 * i], torch.sin(angle)) and torch.allclose(pe[..., 2 * i + 1], torch.cos(angle))


def test_masked_pool_averages_valid_observations_and_gives_zero_for_none():
    values = torch.tensor([[[1.0], [math.nan], [3.0], [7.0]], [[1.0], [2.0], [3.0], [4.0]]])
    valid = torch.tensor([[True, False, True, True], [False] * 4])
    assert torch.allclose(masked_pool(values, valid)[..., 0], torch.tensor([[11 / 3], [0.0]]))
    assert masked_pool(values, valid, bins=2)[..., 0].tolist() == [[1.0, 5.0], [0.0, 0.0]]


# --------------------------------------------------------------------------------------------------------------------
# Every network
# --------------------------------------------------------------------------------------------------------------------

def test_registry_and_flags():
    assert NETWORKS == {"mlp": MLP, "tempcnn": TempCNN, "ltae": LTAE, "gru": GRUClassifier,
                        "transformer": TransformerEncoderClassifier}
    assert {name for name, cls in NETWORKS.items() if cls.uses_dates} == ATTENTION
    assert {name for name, cls in NETWORKS.items() if cls.fixed_length} == {"mlp"}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [1, 5])
@pytest.mark.parametrize("train", [False, True])
def test_output_shape_for_two_lengths(name, n, train):
    net = build(name).train(train)
    for n_times in (N_TIMES, N_TIMES + 5):
        x, doy, mask = batch(n, n_times)
        if name == "mlp" and n_times != N_TIMES:
            with pytest.raises(ConfigError, match=r"MLP was built for series of 12 dates \(n_times=12\); got x with "
                                                  r"17 dates"):
                net(x, doy, mask)
            continue
        out = net(x, doy, mask)
        assert out.shape == (n, N_CLASSES) and out.dtype == torch.float32
        assert net(x).shape == (n, N_CLASSES)                      # doy and mask are optional


@pytest.mark.parametrize("name", NAMES)
def test_values_at_missing_observations_do_not_change_the_output(name):
    net = build(name).eval()
    x, doy, mask = batch(8)
    mask[0] = False                                                # a sample with no valid observation
    mask[1] = True                                                 # and one with no missing observation
    outputs = []
    for fill in (0.0, 1.0, 1e6, -1e6, math.nan, math.inf):
        filled = x.masked_fill(~mask[..., None], fill)
        moved = doy.masked_fill(~mask, fill)                       # the dates of missing observations are ignored too
        with torch.no_grad():
            outputs.append(net(filled, moved, mask))
    assert torch.isfinite(outputs[0]).all()
    for out in outputs[1:]:
        assert torch.allclose(out, outputs[0], atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_non_finite_values_are_missing_without_a_mask(name):
    net = build(name).eval()
    x, doy, mask = batch(4)
    with torch.no_grad():
        assert torch.allclose(net(x.masked_fill(~mask[..., None], math.nan), doy), net(x, doy, mask), atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_samples_with_no_valid_observation_give_finite_outputs(name):
    net = build(name).train()
    x, doy, _ = batch(4)
    out = net(torch.full_like(x, math.nan), doy, torch.zeros(4, N_TIMES, dtype=torch.bool))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES)
def test_only_attention_networks_read_the_dates(name):
    net = build(name).eval()
    x, doy, mask = batch(4)
    with torch.no_grad():
        changed = not torch.allclose(net(x, doy, mask), net(x, doy + 45.0, mask), atol=1e-6)
    assert changed == (name in ATTENTION)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_weights_and_outputs(name):
    first, second, other = build(name, seed=3).eval(), build(name, seed=3).eval(), build(name, seed=4).eval()
    for (key, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), key
    x, doy, mask = batch(4)
    with torch.no_grad():
        assert torch.equal(first(x, doy, mask), second(x, doy, mask))
        assert not torch.allclose(first(x, doy, mask), other(x, doy, mask))


@pytest.mark.parametrize("name", NAMES)
def test_gradients_are_finite_when_missing_observations_hold_nan(name):
    net = build(name).train()
    x, doy, mask = batch(6)
    mask[0] = False
    x = x.masked_fill(~mask[..., None], math.nan)
    loss = torch.nn.functional.cross_entropy(net(x, doy, mask), torch.arange(6) % N_CLASSES)
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", NAMES)
def test_learns_a_peak_timing_problem_with_missing_observations(name):
    x, doy, mask, labels = toy_problem()
    net = build(name, n_times=x.shape[1]).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(STEPS[name]):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x, doy, mask), labels).backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (net.eval()(x, doy, mask).argmax(dim=1) == labels).float().mean().item()
    assert accuracy >= 0.9, f"{name}: training accuracy {accuracy:.3f}"


# --------------------------------------------------------------------------------------------------------------------
# L-TAE's attention
# --------------------------------------------------------------------------------------------------------------------

def test_ltae_returns_the_attention_weights_of_the_last_forward_pass():
    net = build("ltae").eval()
    assert net.attention_weights is None
    x, doy, mask = batch(5)
    mask[0] = False
    with torch.no_grad():
        out, weights = net(x, doy, mask, return_attention=True)
    assert torch.equal(out, net(x, doy, mask))
    assert weights.shape == (5, 4, N_TIMES)
    assert torch.equal(net.attention_weights, weights)
    assert (weights.masked_select(~mask[:, None, :]) == 0).all()
    assert torch.allclose(weights[1:].sum(dim=-1), torch.ones(4, 4))
    assert (weights[0] == 0).all()


# --------------------------------------------------------------------------------------------------------------------
# Bad inputs and hyperparameters
# --------------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs_are_refused_by_name(name):
    net = build(name).eval()
    x, doy, mask = batch(3)
    with pytest.raises(ConfigError, match=r"built for 2 band\(s\) \(n_bands=2\); got x with 3 band\(s\)"):
        net(torch.rand(3, N_TIMES, 3))
    with pytest.raises(DataModelError, match=r"3-D tensor \(batch, time, band\); got shape \(3, 12\)"):
        net(x[..., 0])
    with pytest.raises(DataModelError, match=r"mask must have the shape \(batch, time\) = \(3, 12\) of x; got \(3,\)"):
        net(x, doy, mask[:, 0])
    with pytest.raises(DataModelError, match=r"mask must be a bool tensor.*got dtype torch.uint8.*with mask == 0"):
        net(x, doy, (~mask).to(torch.uint8))
    if name in ATTENTION:
        with pytest.raises(DataModelError, match=r"doy must have the shape \(batch, time\) = \(3, 12\)"):
            net(x, doy[0], mask)
        with pytest.raises(DataModelError, match="doy holds non-finite values"):
            net(x, doy.masked_fill(mask, math.nan), mask)
    else:
        net(x, doy[0], mask)                                      # dates are not read


@pytest.mark.parametrize(("cls", "kwargs", "message"), [
    (TempCNN, dict(n_bands=0, n_outputs=3), "TempCNN: n_bands must be an integer >= 1; got 0"),
    (TempCNN, dict(n_bands=2, n_outputs=3, kernel_size=4), "TempCNN: kernel_size must be odd"),
    (TempCNN, dict(n_bands=2, n_outputs=3, dropout=1.0), r"TempCNN: dropout must be a finite number >= 0 and < 1"),
    (MLP, dict(n_bands=2, n_outputs=3, n_times=0), "MLP: n_times must be an integer >= 1; got 0"),
    (MLP, dict(n_bands=2, n_outputs=3, n_times=4, hidden=64), r"MLP: hidden must be a sequence of integers >= 1"),
    (LTAE, dict(n_bands=2, n_outputs=3, d_model=30, n_head=4), "LTAE: d_model must be a multiple of n_head"),
    (LTAE, dict(n_bands=2, n_outputs=3, attention_dropout=-0.1), "LTAE: attention_dropout must be a finite number"),
    (LTAE, dict(n_bands=2, n_outputs=3, mlp=(32, 0)), r"LTAE: mlp\[1\] must be an integer >= 1; got 0"),
    (TransformerEncoderClassifier, dict(n_bands=2, n_outputs=3, d_model=30, n_head=4), "multiple of n_head"),
    (GRUClassifier, dict(n_bands=2, n_outputs=3, num_layers=1.5), "num_layers must be an integer >= 1"),
])
def test_bad_hyperparameters_are_refused(cls, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        cls(**kwargs)
