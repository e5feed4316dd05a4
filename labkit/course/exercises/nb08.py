"""Exercises of notebook 08, accuracy and area: pixel counting, sample size, area-weighted accuracy, area shares;
questions: is the plain share of correct points above or below the area-weighted accuracy, and the estimated area of
one class."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from ...datamodel import NO_CLASS
from ..compare import compare_values, within
from . import Exercise


def mapped_area(class_map: xr.DataArray, pixel_area_ha: float) -> dict[int, float]:
    """The area of each class of the map in hectares, by counting its pixels (unclassified pixels left out).

    Example
    -------
    >>> m = xr.DataArray(np.array([[2, 2, 3], [3, 3, 255]], "uint8"), dims=("y", "x"))
    >>> mapped_area(m, pixel_area_ha=0.01)
    {2: 0.02, 3: 0.03}
    """
    codes, counts = np.unique(class_map.values, return_counts=True)
    return {int(c): float(n * pixel_area_ha) for c, n in zip(codes, counts) if c != NO_CLASS}


def sample_size(weights, users, target_se: float) -> int:
    """Olofsson et al. (2014) eq. 13: ``n = (sum_i W_i sqrt(U_i (1 - U_i)) / S(O))²``, rounded up.

    Example
    -------
    >>> sample_size(np.array([0.5, 0.5]), np.array([0.9, 0.9]), 0.03)
    100
    """
    weights, users = np.asarray(weights, dtype=float), np.asarray(users, dtype=float)
    n = (np.sum(weights * np.sqrt(users * (1 - users))) / target_se) ** 2
    return math.ceil(round(float(n), 9))


def _rows(counts: pd.DataFrame, weights: Mapping) -> tuple[pd.DataFrame, pd.Series]:
    """The sample counts as shares of each stratum's points, and the strata's weights, on the same rows."""
    shares = counts.div(counts.sum(axis=1), axis=0)
    return shares, pd.Series({int(c): float(weights[c]) for c in counts.index})


def area_weighted_accuracy(counts: pd.DataFrame, weights: Mapping) -> float:
    """Overall accuracy from a stratified sample: ``sum_i W_i n_ii / n_i.`` over the strata (rows of ``counts``).

    Example
    -------
    >>> counts = pd.DataFrame([[8, 2], [1, 9]], index=[1, 2], columns=[1, 2])
    >>> round(area_weighted_accuracy(counts, {1: 0.2, 2: 0.8}), 3)
    0.88
    """
    shares, w = _rows(counts, weights)
    return float(sum(w[c] * shares.loc[c, c] for c in counts.index if c in counts.columns))


def area_proportions(counts: pd.DataFrame, weights: Mapping) -> pd.Series:
    """Each reference class's estimated share of the area: ``p_.k = sum_i W_i n_ik / n_i.``.

    Example
    -------
    >>> counts = pd.DataFrame([[8, 2], [1, 9]], index=[1, 2], columns=[1, 2])
    >>> area_proportions(counts, {1: 0.2, 2: 0.8}).round(2).tolist()
    [0.24, 0.76]
    """
    shares, w = _rows(counts, weights)
    return shares.mul(w, axis=0).sum(axis=0)


def plain_versus_weighted(counts: pd.DataFrame, weights: Mapping, margin: float = 0.005) -> str:
    """How the plain share of correct points compares with the area-weighted overall accuracy, as a key of the
    question's choices: ``"a"`` lower, ``"b"`` higher, ``"c"`` the same (within ``margin``).

    Example
    -------
    >>> counts = pd.DataFrame([[8, 2], [1, 9]], index=[1, 2], columns=[1, 2])  # 0.85 of the points are right
    >>> plain_versus_weighted(counts, {1: 0.2, 2: 0.8})  # area-weighted: 0.88
    'a'
    """
    plain = sum(counts.loc[c, c] for c in counts.index if c in counts.columns) / counts.values.sum()
    difference = plain - area_weighted_accuracy(counts, weights)
    return "c" if abs(difference) < margin else ("b" if difference > 0 else "a")


def estimated_area(counts: pd.DataFrame, weights: Mapping, code: int, total_area: float) -> float:
    """The area of reference class ``code`` estimated from a stratified sample: its share of the area
    (:func:`area_proportions`) times the total area.

    Example
    -------
    >>> counts = pd.DataFrame([[8, 2], [1, 9]], index=[1, 2], columns=[1, 2])
    >>> round(estimated_area(counts, {1: 0.2, 2: 0.8}, code=1, total_area=100.0), 6)
    24.0
    """
    return float(area_proportions(counts, weights).get(code, 0.0) * total_area)


EXERCISES: dict[str, Exercise] = {
    "08.mapped_area": Exercise(
        reference=mapped_area,
        title="area of each class by counting the map's pixels",
        hint="Count the pixels of each class of the map, then multiply by the area of one pixel.",
        hints=(
            "np.unique(class_map.values, return_counts=True) gives each code and its number of pixels; multiply by "
            "pixel_area_ha, leave out NO_CLASS, and build a dict {code: hectares} with int codes.",
        ),
        compare=functools.partial(compare_values, rtol=1e-6),
    ),
    "08.sample_size": Exercise(
        reference=sample_size,
        title="total sample size for a target standard error (Olofsson eq. 13)",
        hint="Eq. 13 needs, for each stratum, its weight and the standard deviation sqrt(U (1 - U)) of its "
             "expected user's accuracy.",
        hints=(
            "S_i = np.sqrt(users * (1 - users)); n = (np.sum(weights * S_i) / target_se) ** 2, then round *up* to "
            "a whole number of points with math.ceil.",
        ),
    ),
    "08.area_weighted_oa": Exercise(
        reference=area_weighted_accuracy,
        title="overall accuracy weighted by the strata's areas",
        hint="Each stratum counts by its share of the map's area (its weight), not by its number of points.",
        hints=(
            "For each map class c (a row of counts): its share of correct points is counts.loc[c, c] / "
            "counts.loc[c].sum(); weight it by weights[c] and add them up. The plain counts.values.trace() / "
            "counts.values.sum() would weigh each stratum by its number of points, not by its area.",
        ),
        compare=functools.partial(compare_values, rtol=1e-9),
    ),
    "08.area_proportions": Exercise(
        reference=area_proportions,
        title="estimated share of the area of each reference class",
        hint="First the share of each stratum's points in each reference class, then weight each stratum by its "
             "area and add up.",
        hints=(
            "Divide each row of counts by its total (counts.div(counts.sum(axis=1), axis=0)), multiply each row by "
            "its stratum's weight (.mul(pd.Series(weights), axis=0)), then sum over the rows (.sum(axis=0)): a "
            "Series indexed by reference class.",
        ),
        compare=functools.partial(compare_values, rtol=1e-9),
    ),
    "08.plain_versus_weighted": Exercise(
        reference=plain_versus_weighted,
        title="the plain share of correct points against the area-weighted accuracy",
        hint="Which strata got more points than their share of the map, and are they the well-mapped ones or the "
             "hard ones?",
        hints=("The plain share counts every point alike: each stratum weighs by its number of points. Compare each "
               "stratum's share of the points with its share of the map (W_i), and look at the diagonal of the "
               "small strata.",),
        choices={"a": "lower than the area-weighted accuracy",
                 "b": "higher than the area-weighted accuracy",
                 "c": "the same: both count the same correct points"},
        explanation="The plain share weighs each stratum by its number of points; the minimum of 50 points per class "
                    "gave the small classes far more points than their share of the map, and they are the classes "
                    "the model maps worst. Their errors count too much, so the plain share is too pessimistic. "
                    "Weighting each stratum's accuracy by its area, sum_i W_i n_ii / n_i., undoes the sampling "
                    "design.",
    ),
    "08.artificial_area": Exercise(
        reference=estimated_area,
        title="the estimated area of artificial surfaces",
        hint="Two kinds of error pull in opposite directions: the wrong points of the class's own row take area "
             "away, the points of its column in the other rows (its omissions) add area.",
        hints=("Each point stands for W_i / n_i. of the map: its stratum's mapped area divided by its number of "
               "points, far more for a point of the forest stratum than for one of the artificial stratum. Add up "
               "what the points labelled artificial in the reference (the column of its code) stand for.",),
        compare=within(rel=0.25),
        explanation="The class's own stratum finds commissions (some of its points are something else), but its "
                    "omissions, found in the large strata, weigh much more: a forest point stands for several times "
                    "the area of an artificial one. Here a few artificial points among the forest points add more "
                    "area than the commissions take away: the map misses artificial surfaces (small and scattered, "
                    "easily swallowed by the forest around them), and the estimate is well above the mapped area.",
    ),
}
