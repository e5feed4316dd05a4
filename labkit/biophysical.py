"""Biophysical variables: leaf area index (LAI) and its kin, estimated from reflectances by inverting a canopy model.

The stage beside classification: it takes a cube of surface reflectances (Sentinel-2 L2A, masked with
:mod:`labkit.masks`) and returns a map of a biophysical variable ``(time, y, x)``. It follows the Sentinel-2
biophysical processor of ESA's SNAP toolbox (Weiss & Baret 2016, the *S2ToolBox Level 2 products* ATBD, version 1.1):
no field data are needed, a canopy radiative-transfer model stands for them.

1. :func:`simulate_prosail`: draw canopies (LAI, leaf chlorophyll, soil brightness, leaf angles...) from the
   ATBD's distributions (:data:`PRIORS`), simulate each one's reflectance spectrum with PROSAIL (PROSPECT-D leaf
   model + 4SAIL canopy model, the ``prosail`` package), resample the 1 nm spectra to Sentinel-2 bands
   (:func:`spectral_response`), add the ATBD's noise. The result is a sample set (one date) whose ``target`` is
   the LAI.
2. Train a regression model on it: ``labkit.models.fit_model("mlp-regressor", samples)`` (the processor's choice,
   a neural network) or ``"rf-regressor"``; score it on held-back simulations (:func:`labkit.models.cross_validate`
   reports RMSE, MAE and R²).
3. :func:`invert`: apply it to every valid pixel of a cube, date by date and block by block.

Comes after :mod:`labkit.masks` (and :mod:`labkit.models`, which trains the inversion); a map is written with
:func:`labkit.io.write_cog` (one band per date).

**Approximations.** The official Sentinel-2 spectral response functions are not shipped with labkit: each band's is
approximated by a Gaussian centred on the band's central wavelength, with the band's width as its full width at
half maximum (Sentinel-2A values, :data:`S2A_BANDS`). The processor also feeds the sun and view angles to its
network; a cube carries none, so the simulations draw the angles over a range (:data:`PRIORS`) and the model learns
to do without them.

References: M. Weiss, F. Baret (2016), *S2ToolBox Level 2 products: LAI, FAPAR, FCOVER*, version 1.1, INRA;
S. Jacquemoud et al. (2009), "PROSPECT + SAIL models: a review of use for vegetation characterization", *Remote
Sensing of Environment* 113: S56-S66; J. Gómez-Dans, ``prosail`` (GPL-3.0), https://github.com/jgomezdans/prosail.

Example
-------
>>> from labkit.accuracy import assess_regression
>>> from labkit.models import fit_model
>>> train = simulate_prosail(300, bands=["B04", "B08"], random_state=0)
>>> test = simulate_prosail(100, bands=["B04", "B08"], random_state=1)      # held back: other canopies
>>> model = fit_model({"model": "rf-regressor", "params": {"n_estimators": 30, "n_jobs": 1}}, train)
>>> model.target_name_, assess_regression(test.target.values, model.predict(test.X.values)).r2 > 0.4
('lai', True)
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from . import params
from .bands import SENTINEL2_BANDS
from .datamodel import checked_mask, make_samples, validate
from .errors import BandError, ConfigError, DataModelError

__all__ = ["PRIORS", "S2A_BANDS", "Prior", "invert", "simulate_prosail", "spectral_response"]

WAVELENGTHS = np.arange(400.0, 2501.0)
"""The wavelengths (nm) of PROSAIL's spectra: 400 to 2500 nm every nanometre."""

S2A_BANDS: dict[str, tuple[float, float]] = {
    "B01": (442.7, 21.0), "B02": (492.4, 66.0), "B03": (559.8, 36.0), "B04": (664.6, 31.0),
    "B05": (704.1, 15.0), "B06": (740.5, 15.0), "B07": (782.8, 20.0), "B08": (832.8, 106.0),
    "B8A": (864.7, 21.0), "B09": (945.1, 20.0), "B11": (1613.7, 91.0), "B12": (2202.4, 175.0),
}
"""Sentinel-2A bands: ``{name: (central wavelength, bandwidth)}`` in nm (ESA's Sentinel-2 User Handbook values).

B10 (cirrus, 1373.5 nm) is left out: it sees the atmosphere, and L2A products do not carry it."""

DEFAULT_BANDS = SENTINEL2_BANDS
"""The 10 m and 20 m bands of a Sentinel-2 L2A product (the processor's 20 m network reads all but B02 and B08)."""


@dataclass(frozen=True)
class Prior:
    """How one input of PROSAIL is drawn: uniform on ``[low, high]``, or a Gaussian truncated to it.

    Parameters
    ----------
    low, high : float
        The range (``low == high``: a fixed value).
    mode, std : float, optional
        Of the Gaussian before truncation; without them, uniform.
    at_max_lai : (float, float), optional
        The ATBD's *co-distribution* with LAI: the range shrinks linearly from ``[low, high]`` at LAI 0 to this
        range at the ATBD's largest LAI, 15 (:data:`MAX_LAI`; beyond it, this range), and each drawn value is mapped
        into the range of its canopy's LAI (``v* = lo(LAI) + (v - low) (hi(LAI) - lo(LAI)) / (high - low)``). Dense canopies
        then have plausible leaves and hide the soil.

    Example
    -------
    >>> Prior(20, 90, mode=45, std=30, at_max_lai=(45, 90)).describe()
    'Gaussian (mode 45, std 30) truncated to [20, 90]; [45, 90] at LAI 15'
    >>> Prior(0, 10).describe(), Prior(30, 30).describe()
    ('uniform on [0, 10]', 'fixed at 30')
    """

    low: float
    high: float
    mode: float | None = None
    std: float | None = None
    at_max_lai: tuple[float, float] | None = None

    def describe(self) -> str:
        """One line saying how the value is drawn."""
        if self.low == self.high:
            return f"fixed at {self.low:g}"
        shape = "uniform on" if self.std is None else f"Gaussian (mode {self.mode:g}, std {self.std:g}) truncated to"
        text = f"{shape} [{self.low:g}, {self.high:g}]"
        if self.at_max_lai is not None:
            text += f"; [{self.at_max_lai[0]:g}, {self.at_max_lai[1]:g}] at LAI {MAX_LAI:g}"
        return text


PRIORS: dict[str, Prior] = {
    "lai": Prior(0.0, 15.0, mode=2.0, std=3.0),
    "ala": Prior(30.0, 80.0, mode=60.0, std=30.0, at_max_lai=(55.0, 65.0)),
    "hotspot": Prior(0.1, 0.5, mode=0.2, std=0.5, at_max_lai=(0.1, 0.5)),
    "n": Prior(1.2, 1.8, mode=1.5, std=0.3, at_max_lai=(1.3, 1.8)),
    "cab": Prior(20.0, 90.0, mode=45.0, std=30.0, at_max_lai=(45.0, 90.0)),
    "cm": Prior(0.003, 0.011, mode=0.005, std=0.005, at_max_lai=(0.005, 0.011)),
    "cw_rel": Prior(0.6, 0.85, at_max_lai=(0.70, 0.80)),
    "cbrown": Prior(0.0, 2.0, mode=0.0, std=0.3, at_max_lai=(0.0, 0.2)),
    "soil_brightness": Prior(0.5, 1.5, mode=1.0, std=0.6, at_max_lai=(0.5, 1.2)),
    "soil_dryness": Prior(0.0, 1.0),
    "sun_zenith": Prior(20.0, 60.0),
    "view_zenith": Prior(0.0, 10.0),
    "relative_azimuth": Prior(0.0, 180.0),
}
"""How :func:`simulate_prosail` draws each canopy, by default: the distributions of the Sentinel-2 biophysical
processor (Weiss & Baret 2016, ATBD v1.1, table of PROSAIL inputs and their co-distribution with LAI; the numbers as
transcribed by the R ``prosail`` package of Féret & de Boissieu, ``get_atbd_LUT_input``), except where said.

* ``lai``: leaf area index (m² of leaf per m² of ground);
* ``ala``: average leaf inclination angle, degrees (ellipsoidal leaf angle distribution);
* ``hotspot``: SAIL's hot-spot parameter (leaf size over canopy height);
* ``n``: PROSPECT's leaf structure parameter;
* ``cab``: leaf chlorophyll a + b, µg/cm² (carotenoids ``car`` follow as ``cab / 4``; no anthocyanins);
* ``cm``: leaf dry matter, g/cm²;
* ``cw_rel``: relative water content, ``cw / (cw + cm)`` (leaf water ``cw = cm cw_rel / (1 - cw_rel)``, g/cm²);
* ``cbrown``: brown pigments (senescent leaves);
* ``soil_brightness``: factor on the soil spectrum. **Not the ATBD's range** (0.5 to 3.5, mode 1.2, std 2): that
  scales the processor's own soil spectra, while ``prosail``'s soils are absolute reflectances (its dry soil is
  0.40 at 833 nm and 0.51 at 1614 nm), which 3.5 would lift above 1. Here 0.5 to 1.5, mode 1, std 0.6, and 0.5
  to 1.2 at LAI 15 (the ATBD's);
* ``soil_dryness``: the soil spectrum is ``soil_brightness * (soil_dryness * dry + (1 - soil_dryness) * wet)``
  with ``prosail``'s dry and wet soils (``psoil``); uniform, not in the ATBD (a labkit choice);
* ``sun_zenith``, ``view_zenith``, ``relative_azimuth``: the geometry, degrees, uniform (a labkit choice: a cube
  carries no angles, so the model must work over the range; Sentinel-2 views within about 10° of nadir, and
  20° to 60° of sun zenith covers mid-latitude acquisitions from spring to autumn).
"""

MAX_LAI = 15.0
"""The LAI at which a co-distributed variable reaches its ``at_max_lai`` range: the ATBD's largest LAI (whatever the
``lai`` range drawn)."""

_NOISE = {"additive": 0.01, "multiplicative": 0.02}
"""Standard deviations of the ATBD's noise on simulated reflectances (see :func:`_add_noise`)."""


# ------------------------------------------------------------------------------------------------------ bands


def _did_you_mean(name, known) -> str:
    """`` (did you mean 'B04'?)`` for the known name closest to ``name`` (case aside), or ``""``.

    Example
    -------
    >>> _did_you_mean("LAI", ["lai", "cab"]), _did_you_mean("xyz", ["lai"])
    (" (did you mean 'lai'?)", '')
    """
    lowered = {str(k).lower(): str(k) for k in known}
    close = difflib.get_close_matches(str(name).lower(), lowered, n=1)
    return f" (did you mean {lowered[close[0]]!r}?)" if close else ""


def _check_bands(bands, who: str) -> list[str]:
    """``bands`` as a list of known Sentinel-2 band names, each once."""
    if isinstance(bands, str) or not isinstance(bands, Sequence) or not bands:
        raise ConfigError(f"{who}: bands must be a non-empty list of Sentinel-2 band names such as ['B04', 'B08']; "
                          f"got {bands!r}.")
    names = [str(b) for b in bands]
    for name in names:
        if name not in S2A_BANDS:
            raise BandError(f"{who}: {name!r} is not a Sentinel-2 band{_did_you_mean(name, S2A_BANDS)}; known: "
                            f"{list(S2A_BANDS)}.")
    if len(set(names)) != len(names):
        raise ConfigError(f"{who}: bands must not repeat; got {names}.")
    return names


def spectral_response(bands: Sequence[str] = DEFAULT_BANDS, wavelengths=WAVELENGTHS) -> np.ndarray:
    """Gaussian spectral response functions of Sentinel-2A bands, ``(band, wavelength)``, each row summing to 1.

    An approximation of the official functions: a Gaussian centred on the band's central wavelength whose full width at
    half maximum is the band's width (:data:`S2A_BANDS`). A spectrum ``(..., wavelength)`` times its transpose gives
    band reflectances.

    Parameters
    ----------
    bands : sequence of str
        Band names, keys of :data:`S2A_BANDS`.
    wavelengths : array of float
        The wavelengths (nm) of the spectra to resample (default: PROSAIL's, 400 to 2500 nm every nm).

    Returns
    -------
    numpy.ndarray, shape (n_band, n_wavelength)

    Raises
    ------
    BandError
        An unknown band name.

    Example
    -------
    >>> srf = spectral_response(["B04", "B08"])
    >>> srf.shape, srf.sum(axis=1).round(6).tolist(), int(WAVELENGTHS[srf[0].argmax()])
    ((2, 2101), [1.0, 1.0], 665)
    """
    names = _check_bands(bands, "spectral_response")
    wavelengths = np.asarray(wavelengths, dtype=np.float64)
    centre = np.array([S2A_BANDS[b][0] for b in names])[:, None]
    sigma = np.array([S2A_BANDS[b][1] for b in names])[:, None] / (2 * math.sqrt(2 * math.log(2)))
    weights = np.exp(-0.5 * ((wavelengths[None, :] - centre) / sigma) ** 2)
    return weights / weights.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------------------------------------ simulation


def _check_prior(name: str, value) -> Prior:
    """A user's range for ``name`` as a :class:`Prior`: a Prior, ``(low, high)`` (uniform) or a number (fixed)."""
    who = "simulate_prosail"
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = params.number(value, f"ranges[{name!r}]", who)
        return Prior(value, value)
    if isinstance(value, tuple | list) and len(value) == 2:
        value = Prior(*value)
    if not isinstance(value, Prior):
        raise ConfigError(f"{who}: ranges[{name!r}] must be a number (fixed), a (low, high) pair (uniform) or a "
                          f"labkit.biophysical.Prior; got {value!r}.")
    low = params.number(value.low, f"ranges[{name!r}].low", who)
    params.number(value.high, f"ranges[{name!r}].high", who, low=low)
    if value.std is not None:
        params.number(value.std, f"ranges[{name!r}].std", who, low=0, closed="neither")
        params.number(value.mode, f"ranges[{name!r}].mode", who)
    if value.at_max_lai is not None:
        low_max = params.number(value.at_max_lai[0], f"ranges[{name!r}].at_max_lai[0]", who)
        params.number(value.at_max_lai[1], f"ranges[{name!r}].at_max_lai[1]", who, low=low_max)
    return value


def _priors(ranges: Mapping | None) -> dict[str, Prior]:
    """:data:`PRIORS` with the user's ``ranges`` in place of theirs, each checked."""
    if ranges is None:
        return dict(PRIORS)
    if not isinstance(ranges, Mapping):
        raise ConfigError(f"simulate_prosail: ranges must be a dict of variable name -> range; got "
                          f"{type(ranges).__name__}.")
    unknown = [k for k in ranges if k not in PRIORS]
    if unknown:
        raise ConfigError(f"simulate_prosail: ranges names unknown variable {unknown[0]!r}"
                          f"{_did_you_mean(unknown[0], PRIORS)}; known: {list(PRIORS)}.")
    priors = {**PRIORS, **{name: _check_prior(name, value) for name, value in ranges.items()}}
    if priors["lai"].low < 0:
        raise ConfigError(f"simulate_prosail: ranges['lai'] must not go below 0; got {priors['lai'].low:g}.")
    return priors


def _draw(prior: Prior, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` values of one prior, before any co-distribution."""
    from scipy.stats import truncnorm

    if prior.low == prior.high:
        return np.full(n, float(prior.low))
    if prior.std is None:
        return rng.uniform(prior.low, prior.high, n)
    a, b = (prior.low - prior.mode) / prior.std, (prior.high - prior.mode) / prior.std
    return truncnorm.rvs(a, b, loc=prior.mode, scale=prior.std, size=n, random_state=rng)


def _codistribute(values: np.ndarray, prior: Prior, lai: np.ndarray) -> np.ndarray:
    """The ATBD's co-distribution: ``values`` mapped into the range that each canopy's LAI allows."""
    if prior.at_max_lai is None or prior.high == prior.low:
        return values
    share = np.minimum(lai / MAX_LAI, 1.0)
    low = prior.low + share * (prior.at_max_lai[0] - prior.low)
    high = prior.high + share * (prior.at_max_lai[1] - prior.high)
    return low + (values - prior.low) * (high - low) / (prior.high - prior.low)


def _draw_canopies(n: int, priors: dict[str, Prior], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every variable of :data:`PRIORS` for ``n`` canopies (LAI first, the others co-distributed with it), plus the
    derived ``car`` and ``cw``."""
    drawn = {name: _draw(prior, n, rng) for name, prior in priors.items()}
    drawn = {name: (values if name == "lai" else _codistribute(values, priors[name], drawn["lai"]))
             for name, values in drawn.items()}
    drawn["car"] = drawn["cab"] / 4
    drawn["cw"] = drawn["cm"] * drawn["cw_rel"] / (1 - drawn["cw_rel"])
    return drawn


def _run_prosail(canopies: dict[str, np.ndarray], progress: bool) -> np.ndarray:
    """Canopy reflectance spectra ``(n, 2101)`` (400-2500 nm), one PROSAIL run per canopy."""
    import prosail
    from tqdm.auto import tqdm

    n = len(canopies["lai"])
    spectra = np.empty((n, WAVELENGTHS.size))
    for i in tqdm(range(n), desc="PROSAIL", unit="canopy", disable=not progress):
        c = {name: float(values[i]) for name, values in canopies.items()}
        spectra[i] = prosail.run_prosail(
            c["n"], c["cab"], c["car"], c["cbrown"], c["cw"], c["cm"], c["lai"], c["ala"], c["hotspot"],
            c["sun_zenith"], c["view_zenith"], c["relative_azimuth"], ant=0.0, prospect_version="D", typelidf=2,
            rsoil=c["soil_brightness"], psoil=c["soil_dryness"], factor="SDR")
    return spectra


def _add_noise(reflectance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The ATBD's noise on simulated band reflectances ``(n, band)``, kept within [0, 1].

    ``R* = R (1 + MD_b + MI) + AD_b + AI``: multiplicative (σ 2 %) and additive (σ 0.01) Gaussian terms, each drawn
    once per band and sample (wavelength-dependent: ``MD_b``, ``AD_b``) and once per sample for all its bands
    (wavelength-independent: ``MI``, ``AI``), standing for the errors of the sensor and of the atmospheric
    correction.
    """
    n, n_band = reflectance.shape
    mult, add = _NOISE["multiplicative"], _NOISE["additive"]
    factor = 1 + rng.normal(0, mult, (n, n_band)) + rng.normal(0, mult, (n, 1))
    offset = rng.normal(0, add, (n, n_band)) + rng.normal(0, add, (n, 1))
    return np.clip(reflectance * factor + offset, 0.0, 1.0)


def simulate_prosail(
    n: int,
    *,
    ranges: Mapping[str, Prior | tuple[float, float] | float] | None = None,
    bands: Sequence[str] = DEFAULT_BANDS,
    target: str = "lai",
    noise: bool = True,
    random_state: int | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Simulate Sentinel-2 reflectances of ``n`` canopies with PROSAIL: a sample set to train an inversion.

    Each canopy's variables are drawn from :data:`PRIORS` (the ATBD's distributions and co-distributions with LAI),
    PROSAIL (PROSPECT-D leaves, ellipsoidal leaf angles, 4SAIL canopy, ``prosail``'s soil) gives its directional
    reflectance from 400 to 2500 nm, the spectrum is resampled to ``bands`` with Gaussian spectral responses
    (:func:`spectral_response`), and the ATBD's noise is added (see Notes). About 2.5 ms per canopy.

    Parameters
    ----------
    n : int
        Number of canopies (samples), at least 1.
    ranges : dict, optional
        Overrides of :data:`PRIORS`, by variable name: a :class:`Prior`, a ``(low, high)`` pair (uniform, no
        co-distribution) or a number (fixed), e.g. ``{"lai": (0, 8), "sun_zenith": 30.0}``.
    bands : sequence of str, default the 10 m and 20 m bands
        Sentinel-2 bands to simulate (keys of :data:`S2A_BANDS`): train on those of the cube to invert.
    target : str, default "lai"
        The variable that becomes the sample set's ``target``; every drawn variable is also kept, along ``sample``.
    noise : bool, default True
        Add the ATBD's noise (as the processor trains on); False gives PROSAIL's reflectances as they are.
    random_state : int, numpy Generator or RandomState, optional
        The same seed gives the same sample set.
    progress : bool, default False
        A progress bar over the canopies.

    Returns
    -------
    xarray.Dataset
        A sample set (:mod:`labkit.datamodel`): ``X (sample, time, band)`` reflectances in [0, 1] with one time step,
        ``target`` the ``target`` variable, ``group`` one per sample, and each variable of :data:`PRIORS` with
        ``car`` and ``cw`` as ``(sample,)`` variables.

    Raises
    ------
    ConfigError
        Bad ``n``, ``random_state``, ``noise`` or ``progress``; an unknown variable in ``ranges`` or ``target``; a
        range that is not a number, a pair or a :class:`Prior`, or whose bounds are reversed; a negative LAI.
    BandError
        An unknown band.

    Notes
    -----
    The noise, after the ATBD: ``R* = R (1 + MD_b + MI) + AD_b + AI``, Gaussian multiplicative (σ 2 %) and additive
    (σ 0.01) terms, each drawn once per band and sample (wavelength-dependent, ``MD_b`` and ``AD_b``) and once per
    sample for all its bands (``MI``, ``AI``), standing for the errors of the sensor and of the atmospheric
    correction; then clipped to [0, 1].

    Example
    -------
    >>> s = simulate_prosail(4, bands=["B04", "B08"], random_state=1)
    >>> dict(s.sizes), s.target.attrs["long_name"]
    ({'sample': 4, 'time': 1, 'band': 2}, 'leaf area index')
    >>> bool((s.X >= 0).all() and (s.X <= 1).all()), s.target.values.round(2).tolist() == s.lai.values.round(2).tolist()
    (True, True)
    """
    who = "simulate_prosail"
    n = params.integer(n, "n", who, low=1)
    random_state = params.seed(random_state, who)
    noise = params.flag(noise, "noise", who)
    progress = params.flag(progress, "progress", who)
    band_names = _check_bands(bands, who)
    priors = _priors(ranges)
    known = [*priors, "car", "cw"]
    if target not in known:
        raise ConfigError(f"{who}: target {target!r} is not a simulated variable{_did_you_mean(target, known)}; "
                          f"choose one of {known}.")
    if isinstance(random_state, np.random.RandomState):  # scikit-learn's kind of seed: draw numpy's from it
        random_state = int(random_state.randint(0, params.SEED_MAX, dtype=np.int64))
    rng = np.random.default_rng(random_state)
    canopies = _draw_canopies(n, priors, rng)
    reflectance = _run_prosail(canopies, progress) @ spectral_response(band_names).T
    if noise:
        reflectance = _add_noise(reflectance, rng)
    samples = make_samples(reflectance[:, None, :].astype(np.float32), target=canopies[target], bands=band_names,
                           attrs=_attrs(band_names, noise))
    samples["target"].attrs.update(_VARIABLE_ATTRS.get(target, {}), variable=target)
    for name, values in canopies.items():
        samples[name] = ("sample", values, _VARIABLE_ATTRS.get(name, {}))
    return samples


_VARIABLE_ATTRS = {
    "lai": {"long_name": "leaf area index", "units": "m2 m-2"},
    "cab": {"long_name": "leaf chlorophyll a+b content", "units": "ug cm-2"},
    "car": {"long_name": "leaf carotenoid content", "units": "ug cm-2"},
    "cm": {"long_name": "leaf dry matter content", "units": "g cm-2"},
    "cw": {"long_name": "leaf equivalent water thickness", "units": "g cm-2"},
    "ala": {"long_name": "average leaf inclination angle", "units": "degree"},
    "sun_zenith": {"units": "degree"}, "view_zenith": {"units": "degree"}, "relative_azimuth": {"units": "degree"},
}


def _attrs(bands: list[str], noise: bool) -> dict:
    """What a simulated sample set says about its making (NetCDF attributes: strings)."""
    from importlib.metadata import version

    return {"simulation": f"PROSAIL: PROSPECT-D + 4SAIL (prosail {version('prosail')}), directional reflectance",
            "spectral_response": "Gaussian approximation of Sentinel-2A bands (labkit.biophysical.S2A_BANDS)",
            "noise": "ATBD (Weiss & Baret 2016): additive 0.01, multiplicative 2 %" if noise else "none"}


# ---------------------------------------------------------------------------------------------------- invert


def _inversion_bands(cube: xr.DataArray, model) -> list[str]:
    """The bands ``model`` reads, checked: a regressor fitted on one date (a simulated sample set), bands in the
    cube."""
    from .models.registry import task_of

    signature = getattr(model, "input_signature_", None)
    if signature is None:
        raise ConfigError("invert: the model has no input_signature_ (the bands it reads). Fit it with "
                          "labkit.models.fit_model(model, simulate_prosail(...)).")
    if task_of(model) != "regression":
        raise ConfigError(f"invert: the model ({type(model).__name__}) is a classifier; invert needs a regression "
                          "model, such as fit_model('rf-regressor', simulate_prosail(...)). For classes, use "
                          "labkit.inference.predict_cube.")
    if signature.n_time != 1:
        raise ConfigError(f"invert: the model was fitted on series of {signature.n_time} dates; invert applies a "
                          "single-date model to each date of the cube (fit it on simulate_prosail(...), one date).")
    bands = [str(b) for b in cube.band.values]
    missing = [b for b in signature.bands if b not in bands]
    if missing:
        raise BandError(f"invert: the cube has no band(s) {missing}, which the model reads ({list(signature.bands)}); "
                        f"the cube's bands: {bands}. Simulate and fit on the cube's bands only: "
                        f"simulate_prosail(..., bands={[b for b in bands if b in S2A_BANDS]}).")
    return list(signature.bands)


def _check_reflectance(values: np.ndarray, bands: list[str]) -> None:
    """Refuse a block whose values look like digital numbers (reflectance x 10 000) rather than reflectance."""
    if not values.size:
        return
    high = np.where(np.isfinite(values), values, -np.inf).max(axis=(0, 2, 3))
    too_high = [(b, v) for b, v in zip(bands, high) if v > 10]
    if too_high:
        band, value = too_high[0]
        raise DataModelError(f"invert: band {band} holds {value:g}, not a reflectance (0 to about 1): digital numbers "
                             "(reflectance x 10 000)? Scale the cube first: cube / 10000 (L2A, processing baseline "
                             "04.00 and later: (cube - 1000) / 10000).")


def _check_mask(mask: xr.DataArray, cube: xr.DataArray) -> xr.DataArray:
    """``mask`` checked as a validity mask on the cube's dates and grid."""
    mask = checked_mask(mask, "invert")
    same = mask.shape == (cube.sizes["time"], cube.sizes["y"], cube.sizes["x"]) and all(
        np.array_equal(mask[dim].values, cube[dim].values) for dim in ("time", "y", "x"))
    if not same:
        raise ConfigError(f"invert: the mask is {dict(mask.sizes)}, the cube {dict(cube.sizes)}: they must share "
                          "dates and grid (build the mask from the cube's SCL band, labkit.masks.mask_from_scl).")
    return mask


def _check_clip(clip) -> tuple[float, float] | None:
    """``clip`` as ``(low, high)`` floats, ``low <= high``; None as it is."""
    if clip is None:
        return None
    if isinstance(clip, str) or not isinstance(clip, Sequence) or len(clip) != 2:
        raise ConfigError(f"invert: clip must be None or a (low, high) pair such as (0, 15); got {clip!r}.")
    low = params.number(clip[0], "clip[0]", "invert")
    return low, params.number(clip[1], "clip[1]", "invert", low=low)


def _invert_block(model, values: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """The model's estimate for each pixel and date of a block ``(time, band, y, x)``; NaN where an input is missing
    (any band not finite) or the mask says invalid."""
    n_time, n_band, height, width = values.shape
    pixels = values.transpose(0, 2, 3, 1).reshape(-1, n_band)
    ok = np.isfinite(pixels).all(axis=1)
    if valid is not None:
        ok &= valid.reshape(-1)
    from .inference import BATCH_PIXELS

    out = np.full(len(pixels), np.nan, dtype=np.float32)
    rows = np.flatnonzero(ok)
    for start in range(0, len(rows), BATCH_PIXELS):  # the model's temporaries stay small, whatever the block
        batch = rows[start:start + BATCH_PIXELS]
        out[batch] = model.predict(pixels[batch][:, None, :])
    return out.reshape(n_time, height, width)


def _invert_checked(values: np.ndarray, mask: np.ndarray | None = None, *, model, bands, clip) -> np.ndarray:
    """:func:`_invert_block` on a block read by the block engine: reflectances checked, the mask's valid pixels,
    the estimates clipped."""
    values = np.asarray(values, dtype=np.float64)
    _check_reflectance(values, bands)
    out = _invert_block(model, values, None if mask is None else np.asarray(mask) == 0)
    if clip is not None:
        np.clip(out, *clip, out=out)  # NaN stays NaN
    return out


def invert(
    cube: xr.DataArray,
    model,
    *,
    mask: xr.DataArray | None = None,
    clip: tuple[float, float] | None = None,
    name: str | None = None,
    block: int | tuple[int, int] | None = None,
    memory: str | int | None = None,
    progress: bool = False,
) -> xr.DataArray:
    """Map a biophysical variable over a cube of reflectances with a model trained on simulations.

    Each date is inverted on its own (the model reads one date of the bands it was fitted on), block by block, so
    that a dask-backed cube streams through.

    Parameters
    ----------
    cube : cube (time, band, y, x)
        Surface reflectances (0 to about 1; digital numbers are refused), with at least the model's bands (taken
        by name; others are left out). ``NaN`` (or ±inf) is a missing value.
    model : fitted regression model
        Fitted with :func:`labkit.models.fit_model` on :func:`simulate_prosail`'s samples (or any single-date sample
        set with ``target``), so that it records its bands.
    mask : validity mask (time, y, x), optional
        On the cube's grid (e.g. :func:`labkit.masks.mask_from_scl`): only valid pixels (0) are inverted.
    clip : (float, float), optional
        Bounds the estimates are held within, e.g. the simulated range ``(0, 15)`` of LAI: as the Sentinel-2
        processor does, an estimate outside is set to the nearest bound. A model meets reflectances its simulations
        never had (water, snow, buildings), and a network extrapolates there, to negative LAI say. Default: the
        estimates as the model gives them.
    name : str, optional
        The map's name; default what the model estimates (``target_name_``, recorded by
        :func:`labkit.models.fit_model`: ``"lai"`` for :func:`simulate_prosail`'s default).
    block : int or (int, int), optional
        The block of pixels inverted at a time: a square's side, or ``(rows, columns)``; by default chosen from
        ``memory`` (:func:`labkit.tiling.block_shape`), or a dask cube's own chunks. The result does not depend on it.
    memory : str or int, optional
        Budget of the blocks in flight (``"2GB"``); default :data:`labkit.params.DEFAULT_MEMORY`.
    progress : bool, default False
        A progress bar over the blocks.

    Returns
    -------
    xarray.DataArray (time, y, x) float32
        The estimate for each date and pixel, ``NaN`` where a band is missing or the mask says invalid; the cube's
        dates, grid and CRS.

    Raises
    ------
    ConfigError
        A model that is not fitted with :func:`labkit.models.fit_model`, a classifier, a model of several dates; bad
        ``block``, ``memory``, ``clip`` or ``progress``; a mask on another grid.
    BandError
        The cube lacks a band the model reads.
    DataModelError
        Not a cube, not a mask, or values that look like digital numbers (above 10).

    Example
    -------
    >>> import numpy as np, labkit.datamodel as dm, labkit.models
    >>> samples = simulate_prosail(200, bands=["B04", "B08"], random_state=0)
    >>> model = labkit.models.fit_model({"model": "rf-regressor", "params": {"n_estimators": 20, "n_jobs": 1}},
    ...                                 samples)
    >>> red, nir = [[0.03], [0.15], [np.nan]], [[0.45], [0.20], [0.30]]   # 3 x 1 px: dense crop, bare soil, missing
    >>> cube = dm.make_cube(np.array([[red, nir]]), ["2022-06-02"], ["B04", "B08"], transform=(10, 0, 0, 0, -10, 30),
    ...                     crs="EPSG:32632")
    >>> lai = invert(cube, model)
    >>> lai.dims, bool(lai[0, 0, 0] > 2 > lai[0, 1, 0]), bool(np.isnan(lai[0, 2, 0]))
    (('time', 'y', 'x'), True, True)
    """
    from . import tiling

    block = params.block(block, "invert")
    if memory is not None:
        tiling.parse_memory(memory, "invert")
    progress = params.flag(progress, "progress", "invert")
    clip = _check_clip(clip)
    validate(cube, "cube")
    bands = _inversion_bands(cube, model)
    inputs = [cube.sel(band=bands)]
    if mask is not None:
        inputs.append(_check_mask(mask, cube))
    # a pixel's bytes while its block is inverted: its values, their float64 copy and table, the mask, the estimates
    per_pixel = cube.sizes["time"] * (len(bands) * (cube.dtype.itemsize + 16) + 1 + 4)
    out = tiling.map_blocks(_invert_checked, *inputs, block=block, memory=memory, new_dims={"time": cube.time},
                            dtype=np.float32, bytes_per_pixel=per_pixel, name="invert", progress=progress,
                            kwargs={"model": model, "bands": bands, "clip": clip})
    result = out.assign_coords(time=cube.time).rename(name or getattr(model, "target_name_", "target"))
    return result.rio.write_crs(cube.rio.crs).rio.write_transform(cube.rio.transform())
