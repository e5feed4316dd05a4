"""labkit.accuracy: scores against a confusion matrix worked out by hand and their textbook formulas; summaries over
runs; the stratified sampling design and area estimation against Olofsson et al. (2014)'s worked example."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.accuracy import (
    AreaEstimate,
    MeanStd,
    RunsSummary,
    SampleDesign,
    assess_accuracy,
    draw_stratified_sample,
    estimate_area,
    pixel_counts,
    plot_area_estimates,
    plot_confusion_matrix,
    stratified_sample_design,
    summarize_runs,
)
from labkit.errors import ConfigError, DataModelError

matplotlib.use("Agg")
# NaN and inf are part of the data: handling them must not raise floating-point warnings.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

# Reference 1 1 1 1 2 2 2 3 3 3, predicted 1 1 2 3 2 2 1 3 3 2. By hand:
#   confusion [[2 1 1] [1 2 0] [0 1 2]], row sums 4 3 3, column sums 3 4 3, n = 10
#   OA = 6/10; chance agreement pe = (4*3 + 3*4 + 3*3) / 100 = 0.33; kappa = (0.6 - 0.33) / (1 - 0.33) = 27/67
#   precision (user's) = 2/3, 2/4, 2/3; recall (producer's) = 2/4, 2/3, 2/3; F1 = 4/7, 4/7, 2/3
Y_TRUE = [1, 1, 1, 1, 2, 2, 2, 3, 3, 3]
Y_PRED = [1, 1, 2, 3, 2, 2, 1, 3, 3, 2]


def test_small_confusion_matrix_by_hand():
    report = assess_accuracy(Y_TRUE, Y_PRED, class_names={1: "crop", 2: "forest", 3: "water"})
    assert report.labels == [1, 2, 3]
    assert report.confusion.tolist() == [[2, 1, 1], [1, 2, 0], [0, 1, 2]]
    assert report.overall_accuracy == pytest.approx(0.6)
    assert report.kappa == pytest.approx(27 / 67)
    assert report.precision == pytest.approx({1: 2 / 3, 2: 1 / 2, 3: 2 / 3})
    assert report.recall == pytest.approx({1: 1 / 2, 2: 2 / 3, 3: 2 / 3})
    assert report.f1 == pytest.approx({1: 4 / 7, 2: 4 / 7, 3: 2 / 3})
    assert report.support == {1: 4, 2: 3, 3: 3}
    assert report.macro_f1 == pytest.approx((4 / 7 + 4 / 7 + 2 / 3) / 3)


def test_to_dict_is_json_ready_and_rounded():
    import json

    scores = assess_accuracy(Y_TRUE, Y_PRED, class_names={1: "crop", 2: "forest"}).to_dict()
    assert json.loads(json.dumps(scores)) == scores
    assert scores["overall_accuracy"] == 0.6 and scores["kappa"] == round(27 / 67, 4)
    assert scores["macro_f1"] == round((4 / 7 + 4 / 7 + 2 / 3) / 3, 4)
    assert scores["n_samples"] == 10 and scores["labels"] == [1, 2, 3]
    assert scores["class_names"] == ["crop", "forest", "3"]
    assert scores["per_class"]["forest"] == {"code": 2, "precision": 0.5, "recall": round(2 / 3, 4),
                                             "f1": round(4 / 7, 4), "support": 3}
    assert scores["confusion_matrix"] == [[2, 1, 1], [1, 2, 0], [0, 1, 2]]


def test_labels_set_the_order_and_may_include_absent_classes():
    report = assess_accuracy(Y_TRUE, Y_PRED, labels=[3, 1, 2, 9])
    assert report.confusion.tolist() == [[2, 0, 1, 0], [1, 2, 1, 0], [0, 1, 2, 0], [0, 0, 0, 0]]
    assert report.support[9] == 0 and report.precision[9] == 0.0 and report.f1[9] == 0.0
    assert report.kappa == pytest.approx(27 / 67)  # an empty class changes no marginal


def test_class_maps_are_compared_pixel_by_pixel():
    truth = np.array(Y_TRUE).reshape(2, 5)
    report = assess_accuracy(truth, np.array(Y_PRED).reshape(2, 5))
    assert report.confusion.tolist() == [[2, 1, 1], [1, 2, 0], [0, 1, 2]]


def test_names_default_to_codes():
    report = assess_accuracy([1, 2], [1, 2], class_names={1: "crop"})
    assert (report.name(1), report.name(2)) == ("crop", "2")


def test_perfect_and_opposite_agreement():
    perfect = assess_accuracy([4, 4, 7, 7], [4, 4, 7, 7])
    assert perfect.overall_accuracy == 1.0 and perfect.kappa == 1.0 and perfect.macro_f1 == 1.0
    opposite = assess_accuracy([4, 4, 7, 7], [7, 7, 4, 4])  # po = 0, pe = 0.5
    assert opposite.overall_accuracy == 0.0 and opposite.kappa == pytest.approx(-1.0)


@pytest.mark.parametrize("labels", [None, [5, 6]])
def test_one_class_on_both_sides_is_full_agreement_without_warnings(labels):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = assess_accuracy([5, 5, 5], [5, 5, 5], labels=labels)
    assert report.kappa == 1.0 and report.overall_accuracy == 1.0


def _kappa_by_formula(confusion):
    n = confusion.sum()
    po = np.trace(confusion) / n
    pe = (confusion.sum(axis=1) * confusion.sum(axis=0)).sum() / n**2
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=40))
def test_scores_match_their_formulas(pairs):
    y_true, y_pred = map(list, zip(*pairs))
    report = assess_accuracy(y_true, y_pred)
    labels = sorted(set(y_true) | set(y_pred))
    assert report.labels == labels
    confusion = np.array([[sum(1 for t, p in pairs if t == a and p == b) for b in labels] for a in labels])
    np.testing.assert_array_equal(report.confusion, confusion)
    assert report.overall_accuracy == pytest.approx(np.mean(np.array(y_true) == np.array(y_pred)))
    assert report.kappa == pytest.approx(_kappa_by_formula(confusion))
    for k, code in enumerate(labels):
        tp, predicted, actual = confusion[k, k], confusion[:, k].sum(), confusion[k].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        assert report.precision[code] == pytest.approx(precision)
        assert report.recall[code] == pytest.approx(recall)
        assert report.f1[code] == pytest.approx(f1)
        assert report.support[code] == actual


def test_length_mismatch_is_refused():
    with pytest.raises(ConfigError, match=r"assess_accuracy: 3 reference labels but 2 predictions"):
        assess_accuracy([1, 2, 3], [1, 2])


def test_no_sample_is_refused():
    with pytest.raises(ConfigError, match=r"assess_accuracy: no samples to assess"):
        assess_accuracy([], [])


# ----------------------------------------------------------------------------------------------------- plot


def test_confusion_plot_shows_counts_and_row_shares():
    import matplotlib.pyplot as plt

    report = assess_accuracy(Y_TRUE, Y_PRED, class_names={1: "crop", 2: "forest", 3: "water"})
    ax = plot_confusion_matrix(report)
    shares = ax.images[0].get_array()
    np.testing.assert_allclose(shares, [[2 / 4, 1 / 4, 1 / 4], [1 / 3, 2 / 3, 0], [0, 1 / 3, 2 / 3]])
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(n) for n in [2, 1, 1, 1, 2, 0, 0, 1, 2])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["crop", "forest", "water"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "reference")
    assert "OA 0.600" in ax.get_title() and f"kappa {27 / 67:.3f}" in ax.get_title()
    counts = plot_confusion_matrix(report, normalize=False)
    np.testing.assert_array_equal(counts.images[0].get_array(), report.confusion)
    plt.close("all")


def test_confusion_plot_with_an_empty_reference_row():
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_confusion_matrix(assess_accuracy([1, 1], [1, 2]))
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.5, 0.5], [0, 0]])
    plt.close("all")


# ------------------------------------------------------------------------------------------- several runs


def test_summary_of_two_runs_by_hand():
    first = assess_accuracy(Y_TRUE, Y_PRED, class_names={1: "crop"})  # OA 0.6, kappa 27/67
    second = assess_accuracy(Y_TRUE, Y_TRUE)  # perfect: OA 1, kappa 1, every F1 1
    summary = summarize_runs([first, second])
    assert isinstance(summary, RunsSummary) and summary.n_runs == 2 and summary.labels == [1, 2, 3]
    assert summary.overall_accuracy == pytest.approx(MeanStd(0.8, 0.2))
    assert summary.kappa == pytest.approx(MeanStd((27 / 67 + 1) / 2, (1 - 27 / 67) / 2))
    assert summary.f1[3] == pytest.approx(MeanStd((2 / 3 + 1) / 2, (1 - 2 / 3) / 2))
    macro = (4 / 7 + 4 / 7 + 2 / 3) / 3
    assert summary.macro_f1 == pytest.approx(MeanStd((macro + 1) / 2, (1 - macro) / 2))
    assert summary.confusion.tolist() == [[6, 1, 1], [1, 5, 0], [0, 1, 5]]
    assert summary.name(1) == "crop" and summary.name(2) == "2"
    assert summary.overall_accuracy.format(2) == "0.80 ± 0.20"


def test_runs_with_different_classes_are_aligned_on_their_union():
    a = assess_accuracy([1, 1, 2], [1, 2, 2])
    b = assess_accuracy([2, 3, 3], [2, 3, 2])
    summary = summarize_runs([a, b])
    assert summary.labels == [1, 2, 3]
    assert summary.n_runs_with == {1: 1, 2: 2, 3: 1}
    assert summary.f1[1] == pytest.approx(MeanStd(a.f1[1], 0.0))
    assert summary.confusion.tolist() == [[1, 1, 0], [0, 2, 0], [0, 1, 1]]


def test_summary_to_dict_is_json_ready():
    import json

    summary = summarize_runs([assess_accuracy(Y_TRUE, Y_PRED, class_names={2: "forest"}),
                              assess_accuracy(Y_TRUE, Y_TRUE)])
    data = summary.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["n_runs"] == 2 and data["overall_accuracy"] == {"mean": 0.8, "std": 0.2}
    assert data["per_class"]["forest"]["code"] == 2 and data["per_class"]["forest"]["n_runs"] == 2
    assert data["confusion_matrix"] == [[6, 1, 1], [1, 5, 0], [0, 1, 5]]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=30), st.integers(1, 5))
def test_identical_runs_have_no_spread(pairs, n_runs):
    y_true, y_pred = map(list, zip(*pairs))
    report = assess_accuracy(y_true, y_pred)
    summary = summarize_runs([report] * n_runs)
    assert summary.overall_accuracy == (pytest.approx(report.overall_accuracy), 0.0)
    assert summary.kappa.std == 0.0 and summary.macro_f1.std == 0.0
    assert all(summary.f1[c] == (pytest.approx(report.f1[c]), 0.0) for c in report.labels)
    np.testing.assert_array_equal(summary.confusion, n_runs * report.confusion)


def test_summarize_runs_refuses_nothing_and_other_objects():
    with pytest.raises(ConfigError, match=r"summarize_runs: no report to summarize"):
        summarize_runs([])
    with pytest.raises(ConfigError, match=r"summarize_runs: report 1 is a dict, not an AccuracyReport"):
        summarize_runs([assess_accuracy([1], [1]), {"overall_accuracy": 1.0}])


def test_confusion_plot_of_a_summary():
    import matplotlib.pyplot as plt

    summary = summarize_runs([assess_accuracy(Y_TRUE, Y_PRED), assess_accuracy(Y_TRUE, Y_TRUE)])
    ax = plot_confusion_matrix(summary, normalize=False)
    np.testing.assert_array_equal(ax.images[0].get_array(), summary.confusion)
    assert ax.get_title() == "2 runs, summed · OA 0.800 ± 0.200"
    plt.close("all")


# ------------------------------------------------------------------- Olofsson et al. (2014), section 5

#: The example of Olofsson et al. (2014), section 5 (tables 8 and 9): strata deforestation, forest gain, stable
#: forest, stable non-forest (codes 1..4). Sample counts n_ij, rows: map class, columns: reference class.
OLOFSSON_COUNTS = np.array([[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]])
OLOFSSON_PIXELS = {1: 200_000, 2: 150_000, 3: 3_200_000, 4: 6_450_000}  # Landsat pixels of 30 m = 0.09 ha
OLOFSSON_NAMES = {1: "deforestation", 2: "forest gain", 3: "stable forest", 4: "stable non-forest"}


def _expand(counts):
    """One (map, reference) pair of codes 1..k per sample point."""
    mapped, ref = np.nonzero(counts)
    return np.repeat(mapped + 1, counts[mapped, ref]), np.repeat(ref + 1, counts[mapped, ref])


@pytest.fixture(scope="module")
def olofsson() -> AreaEstimate:
    mapped, ref = _expand(OLOFSSON_COUNTS)
    return estimate_area(mapped, ref, OLOFSSON_PIXELS, pixel_area=0.09, unit="ha", class_names=OLOFSSON_NAMES)


def test_olofsson_2014_published_figures(olofsson):
    """Olofsson et al. (2014), "Good practices for estimating area and assessing accuracy of land change", Remote
    Sensing of Environment 148: 42-57, section 5 (tables 8 and 9, p. 54), reproduced to the paper's rounding.

    Input: the sample counts of table 8 (75, 75, 165 and 325 points in the four strata) and the mapped areas,
    as given in the examples of the R package mapaccuracy (cran/mapaccuracy, R/olofsson.R, "Example of table 8 in
    Olofsson et al. (2014)") and in boothmanrylan/accuracyAssessmentTools (tests/test_olofsson.py).
    Expected: the published figures, as printed in the paper and asserted by boothmanrylan/accuracyAssessmentTools
    (tests/test_olofsson.py): table 9's area proportions; user's accuracies 0.88 ± 0.07, 0.73 ± 0.10, 0.93 ± 0.04,
    0.96 ± 0.02; producer's 0.75 ± 0.21, 0.85 ± 0.23, 0.93 ± 0.03, 0.96 ± 0.01; overall 0.95 ± 0.02; areas
    21 158 ± 6 158 ha, 11 686 ± 3 756 ha, 285 770 ± 15 510 ha, 581 386 ± 16 282 ha (deforestation: 235 086 ±
    68 418 pixels). The paper's producer's-accuracy intervals of forest gain (± 0.23) and stable non-forest
    (± 0.01) are not what its own equation gives (± 0.254 and ± 0.018, as every reimplementation finds:
    accuracyAssessmentTools leaves them out as a rounding error of the paper, PyMapAccuracy asserts 0.2544 and
    0.0184); those two are checked against the independent implementation in the next test.
    """
    est = olofsson
    table9 = [[0.0176, 0.0000, 0.0013, 0.0011],
              [0.0000, 0.0110, 0.0016, 0.0024],
              [0.0019, 0.0000, 0.2967, 0.0213],
              [0.0040, 0.0020, 0.0179, 0.6212]]
    np.testing.assert_allclose(est.proportions, table9, atol=0.00005)
    users = {1: (0.88, 0.07), 2: (0.73, 0.10), 3: (0.93, 0.04), 4: (0.96, 0.02)}
    producers = {1: (0.75, 0.21), 2: (0.85, None), 3: (0.93, 0.03), 4: (0.96, None)}
    for code, (value, ci) in users.items():
        assert est.users_accuracy[code] == pytest.approx(value, abs=0.005)
        assert 1.96 * est.users_accuracy_se[code] == pytest.approx(ci, abs=0.005)
    for code, (value, ci) in producers.items():
        assert est.producers_accuracy[code] == pytest.approx(value, abs=0.005)
        if ci is not None:
            assert 1.96 * est.producers_accuracy_se[code] == pytest.approx(ci, abs=0.005)
    assert est.overall_accuracy == pytest.approx(0.95, abs=0.005)
    assert 1.96 * est.overall_accuracy_se == pytest.approx(0.02, abs=0.005)
    areas_ha = {1: (21_158, 6_158), 2: (11_686, 3_756), 3: (285_770, 15_510), 4: (581_386, 16_282)}
    for code, (area, ci) in areas_ha.items():
        assert est.area[code] == pytest.approx(area, abs=0.5)
        assert est.z * est.area_se[code] == pytest.approx(ci, abs=0.5)
        low, high = est.area_ci[code]
        assert (low, high) == pytest.approx((area - ci, area + ci), abs=1)
    in_pixels = estimate_area(*_expand(OLOFSSON_COUNTS), OLOFSSON_PIXELS)
    assert in_pixels.unit == "pixels"
    assert in_pixels.area[1] == pytest.approx(235_086, abs=0.5)
    assert 1.96 * in_pixels.area_se[1] == pytest.approx(68_418, abs=0.5)
    assert est.mapped_area == pytest.approx({1: 18_000, 2: 13_500, 3: 288_000, 4: 580_500})


def test_olofsson_2014_matches_an_independent_implementation():
    """Full-precision values of the same example from agcopenhaver/PyMapAccuracy (tests/test_olofsson.py,
    test_olofsson_table8_2014, a port of the R package mapaccuracy), which uses z = 1.959964 (norm.ppf(0.975))."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.975)
    est = estimate_area(*_expand(OLOFSSON_COUNTS), {c: n * 900 for c, n in OLOFSSON_PIXELS.items()}, z=z)
    expected_users = [0.8800000, 0.7333333, 0.9272727, 0.9630769921]
    expected_producers = [0.7486614, 0.8471564, 0.9345089, 0.9616090]
    users_ci = [0.07403962, 0.10075516, 0.03974464, 0.02053312]
    producers_ci = [0.21330593, 0.25440369, 0.03432379, 0.01836120]
    for k, code in enumerate([1, 2, 3, 4]):
        assert est.users_accuracy[code] == pytest.approx(expected_users[k], rel=1e-6)
        assert est.producers_accuracy[code] == pytest.approx(expected_producers[k], rel=1e-6)
        assert z * est.users_accuracy_se[code] == pytest.approx(users_ci[k], rel=1e-6)
        assert z * est.producers_accuracy_se[code] == pytest.approx(producers_ci[k], rel=1e-6)
    assert est.overall_accuracy == pytest.approx(0.9465119, rel=1e-6)
    assert z * est.overall_accuracy_se == pytest.approx(0.01848328, rel=1e-5)
    ha = {c: a / 10_000 for c, a in est.area.items()}  # m² -> ha
    ci_ha = {c: z * se / 10_000 for c, se in est.area_se.items()}
    assert ha == pytest.approx({1: 21157.76, 2: 11686.15, 3: 285769.9, 4: 581386.2}, abs=0.1)
    assert ci_ha == pytest.approx({1: 6157.521, 2: 3755.757, 3: 15509.55, 4: 16281.36}, abs=0.1)


def test_olofsson_2014_sample_size_and_allocation():
    """Olofsson et al. (2014), section 5.1.2: eq. 13 with a target standard error of overall accuracy of 0.01 and
    user's accuracies conjectured at 0.7, 0.6, 0.9 and 0.95 gives n = 641 (as used by clcr/pyeo,
    pyeo/tests/validation_sample_allocation.py). Allocating 75 points to each change class and the other 491 in
    proportion to the stable classes' areas gives, by hand, 491 x 0.32/0.965 = 162.8 -> 163 and
    491 x 0.645/0.965 = 328.2 -> 328."""
    design = stratified_sample_design(OLOFSSON_PIXELS, target_se=0.01,
                                      expected_user_accuracy={1: 0.7, 2: 0.6, 3: 0.9, 4: 0.95}, min_per_class=75)
    assert isinstance(design, SampleDesign)
    assert design.n_required == 641
    assert design.allocation == {1: 75, 2: 75, 3: 163, 4: 328}
    assert design.n_total == 641
    assert design.weights == pytest.approx({1: 0.02, 2: 0.015, 3: 0.32, 4: 0.645})
    frame = design.to_frame()
    assert frame["points"].tolist() == [75, 75, 163, 328] and frame["pixels"].sum() == 10_000_000
    # The standard error this allocation should give, by the paper's formula of V(O) with n_i - 1
    by_hand = np.sqrt(sum(w**2 * u * (1 - u) / (n - 1) for w, u, n in
                          zip([0.02, 0.015, 0.32, 0.645], [0.7, 0.6, 0.9, 0.95], [75, 75, 163, 328])))
    assert design.expected_se == pytest.approx(by_hand)


# ------------------------------------------------------------------------------------ area invariants


@st.composite
def _stratified_samples(draw):
    k = draw(st.integers(2, 5))
    strata = {c: draw(st.integers(1, 10**6)) for c in range(1, k + 1)}
    counts = np.array([[draw(st.integers(0, 30)) for _ in range(k)] for _ in range(k)])
    for i in range(k):  # at least 2 points per stratum
        counts[i, draw(st.integers(0, k - 1))] += 2
    return strata, counts


@settings(max_examples=60, deadline=None)
@given(_stratified_samples(), st.floats(0.01, 1000))
def test_area_estimates_are_consistent(sample, pixel_area):
    strata, counts = sample
    est = estimate_area(*_expand(counts), strata, pixel_area=pixel_area)
    total = sum(strata.values()) * pixel_area
    assert est.proportions.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(est.proportions.sum(axis=1), list(est.weights.values()))  # p_i. = W_i
    assert sum(est.area_proportion.values()) == pytest.approx(1.0)
    assert sum(est.area.values()) == pytest.approx(total)
    assert est.total_area == pytest.approx(total)
    assert sum(est.mapped_area.values()) == pytest.approx(total)
    assert 0 <= est.overall_accuracy <= 1 and est.overall_accuracy_se >= 0
    assert est.overall_accuracy == pytest.approx(np.trace(est.proportions))
    for code in est.labels:
        assert est.area[code] == pytest.approx(est.area_proportion[code] * total)
        assert est.area_se[code] == pytest.approx(est.area_proportion_se[code] * total)
        assert est.area_se[code] >= 0
    assert est.n_samples == counts.sum()


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.integers(0, 20), st.integers(1, 10**6), min_size=1, max_size=5), st.integers(2, 40))
def test_a_perfect_reference_gives_back_the_mapped_areas_with_no_error(strata, points):
    codes = np.repeat(sorted(strata), points)
    est = estimate_area(codes, codes, strata, pixel_area=100.0, unit="m²")
    for code, pixels in strata.items():
        assert est.area[code] == pytest.approx(pixels * 100.0)
        assert est.area_se[code] == 0.0
        assert est.users_accuracy[code] == 1.0 and est.producers_accuracy[code] == pytest.approx(1.0)
        assert est.users_accuracy_se[code] == 0.0 and est.producers_accuracy_se[code] == 0.0
    assert est.overall_accuracy == pytest.approx(1.0) and est.overall_accuracy_se == 0.0


def test_a_reference_class_the_map_never_shows():
    # Class 9 is found on the ground but never mapped: it gets an area, a producer's accuracy of 0 and no user's.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = estimate_area([1, 1, 1, 1, 2, 2], [1, 1, 9, 1, 2, 2], {1: 80, 2: 20})
    assert est.labels == [1, 2, 9]
    assert est.area[9] == pytest.approx(0.8 * 1 / 4 * 100)
    assert est.producers_accuracy[9] == 0.0 and np.isnan(est.users_accuracy[9])
    assert est.strata_pixels[9] == 0 and est.mapped_area[9] == 0.0
    assert sum(est.area.values()) == pytest.approx(100)


def test_strata_can_be_counted_on_a_class_map():
    class_map = xr.DataArray(np.array([[1, 1, 2, 255], [1, 2, 2, 2]], "uint8"), dims=("y", "x"))
    from_map = estimate_area([1, 1, 2, 2], [1, 2, 2, 2], class_map)
    from_counts = estimate_area([1, 1, 2, 2], [1, 2, 2, 2], {1: 3, 2: 4})
    assert from_map.area == pytest.approx(from_counts.area) and from_map.strata_pixels == {1: 3, 2: 4}


def test_area_estimate_tables():
    import json

    est = estimate_area(*_expand(OLOFSSON_COUNTS), OLOFSSON_PIXELS, pixel_area=0.09, unit="ha",
                        class_names=OLOFSSON_NAMES)
    frame = est.to_frame()
    assert frame.index.tolist() == list(OLOFSSON_NAMES.values())
    assert frame["points"].tolist() == [75, 75, 165, 325]
    assert frame.loc["deforestation", "area_ci"] == pytest.approx(6158, abs=0.5)
    data = est.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["unit"] == "ha" and data["n_samples"] == 640 and data["total_area"] == pytest.approx(900_000)
    assert data["per_class"]["forest gain"]["area"] == pytest.approx(11_686, abs=0.5)
    assert data["sample_counts"] == OLOFSSON_COUNTS.tolist()


def test_area_estimates_plot():
    import matplotlib.pyplot as plt

    est = estimate_area(*_expand(OLOFSSON_COUNTS), OLOFSSON_PIXELS, pixel_area=0.09, unit="ha",
                        class_names=OLOFSSON_NAMES)
    from matplotlib.container import BarContainer

    ax = plot_area_estimates(est)
    mapped, estimated = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [b.get_height() for b in mapped] == pytest.approx([18_000, 13_500, 288_000, 580_500])
    assert [b.get_height() for b in estimated.patches] == pytest.approx(list(est.area.values()))
    segments = estimated.errorbar.lines[2][0].get_segments()
    assert [s[1][1] - s[0][1] for s in segments] == pytest.approx([2 * 1.96 * est.area_se[c] for c in est.labels])
    assert ax.get_ylabel() == "area (ha)"
    assert [t.get_text() for t in ax.get_xticklabels()] == list(OLOFSSON_NAMES.values())
    plt.close("all")


@pytest.mark.parametrize("args, kwargs, message", [
    (([1, 2], [1]), {}, r"estimate_area: 2 map classes but 1 reference classes"),
    (([], []), {}, r"estimate_area: no sample point"),
    (([1.0, 1.0], [1, 1]), {}, r"map classes must be integer codes; got dtype float64"),
    (([1, 1, 3, 3], [1, 1, 3, 3]), {}, r"sample points fall in map classes \[3\], of which the map has no pixel"),
    (([1, 1, 2], [1, 1, 2]), {}, r"at least 2 sample points .* strata 2 \(1 point\(s\)\)"),
    (([1, 1], [1, 1]), {}, r"strata 2 \(0 point\(s\)\) have fewer"),
    (([1, 1, 2, 2], [1, 1, 2, 2]), {"pixel_area": 0}, r"^estimate_area: pixel_area must be a finite number > 0; "
                                                      r"got 0\.0\.$"),
])
def test_estimate_area_refuses_bad_input(args, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        estimate_area(*args, {1: 10, 2: 10}, **kwargs)


def test_estimate_area_labels_must_cover_the_strata_and_the_reference():
    with pytest.raises(DataModelError, match=r"^estimate_area: labels \[1\] miss class\(es\) \[2\] of "
                                             r"strata_pixel_counts and reference_classes: their samples would drop out"):
        estimate_area([1, 1, 2, 2], [1, 1, 2, 2], {1: 10, 2: 10}, labels=[1])
    with pytest.raises(ConfigError, match=r"^estimate_area: labels must list each class once; \[1\] repeat"):
        estimate_area([1, 1, 2, 2], [1, 1, 2, 2], {1: 10, 2: 10}, labels=[1, 2, 1])


def test_estimate_area_refuses_bad_strata():
    with pytest.raises(ConfigError, match=r"strata must be a class map \(y, x\) or a mapping"):
        estimate_area([1, 1], [1, 1], [10])
    with pytest.raises(ConfigError, match=r"every stratum is empty"):
        estimate_area([1, 1], [1, 1], {1: 0})
    with pytest.raises(ConfigError, match=r"the pixel count of class 1 must be a number >= 0; got -5"):
        estimate_area([1, 1], [1, 1], {1: -5})


# ---------------------------------------------------------------------------------------- sampling design


def _class_map(values, chunks=None) -> xr.DataArray:
    values = np.asarray(values, dtype="uint8")
    height, width = values.shape
    class_map = xr.DataArray(values, dims=("y", "x"),
                             coords={"y": 1000.0 - 10 * (np.arange(height) + 0.5), "x": 10 * (np.arange(width) + 0.5)})
    class_map = class_map.rio.write_crs("EPSG:32633")
    return class_map.chunk(chunks) if chunks else class_map


@pytest.fixture(scope="module")
def patchwork() -> xr.DataArray:
    """A 60 x 50 map: a big class 1, a smaller class 2, a rare class 3 (12 pixels) and unclassified pixels."""
    rng = np.random.default_rng(1)
    values = rng.choice([1, 1, 1, 2, 255], size=(60, 50)).astype("uint8")
    values[rng.integers(0, 60, 12), np.arange(12)] = 3
    return _class_map(values)


def test_pixel_counts_on_numpy_and_dask(patchwork):
    values = patchwork.values
    expected = {c: int((values == c).sum()) for c in (1, 2, 3)}
    assert pixel_counts(patchwork) == expected
    assert pixel_counts(patchwork.chunk({"y": 16, "x": 13})) == expected
    assert pixel_counts(patchwork, nodata=None)[255] == int((values == 255).sum())
    with pytest.raises(ConfigError, match=r"pixel_counts: a class map holds integer codes; got dtype float64"):
        pixel_counts(patchwork.astype(float))
    with pytest.raises(ConfigError, match=r"pixel_counts: needs a class map, a DataArray \(y, x\)"):
        pixel_counts(patchwork.transpose("x", "y"))


def test_design_on_a_class_map(patchwork):
    counts = pixel_counts(patchwork)
    design = stratified_sample_design(patchwork, target_se=0.02, expected_user_accuracy=0.8, min_per_class=50,
                                      class_names={3: "rare"})
    assert design.labels == [1, 2, 3] and design.strata_pixels == counts
    # eq. 13 with one user's accuracy: n = (S / SE)² = 0.8 x 0.2 / 0.02² = 400
    assert design.n_required == 400
    assert design.allocation[3] == 12  # the rare class has 12 pixels: all of them, fewer than the minimum
    assert design.allocation[2] >= 50 and design.n_total == 400
    assert design.to_frame().index.tolist() == ["1", "2", "rare"]


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.integers(0, 9), st.integers(1, 5000), min_size=1, max_size=6),
       st.integers(1, 3000), st.integers(0, 100))
def test_allocation_is_exact_proportional_and_within_bounds(strata, n_total, minimum):
    design = stratified_sample_design(strata, n_total=n_total, min_per_class=minimum)
    allocation = design.allocation
    floors = {c: min(minimum, n) for c, n in strata.items()}
    assert all(floors[c] <= allocation[c] <= strata[c] for c in strata)
    if sum(floors.values()) <= n_total <= sum(strata.values()):
        assert design.n_total == n_total  # exact total when it can be met
    elif n_total > sum(strata.values()):
        assert allocation == strata  # a census
    else:
        assert allocation == floors  # the minima are more than asked for
    free = [c for c in strata if floors[c] < allocation[c] < strata[c]]
    for a in free:  # strata set by neither bound get points in proportion to their pixels (up to rounding)
        for b in free:
            assert allocation[a] / strata[a] == pytest.approx(allocation[b] / strata[b], abs=1.01 / strata[a] +
                                                              1.01 / strata[b])


@pytest.mark.parametrize("kwargs, message", [
    ({"target_se": 0.01, "n_total": 100}, r"give either target_se or n_total, not both"),
    ({"target_se": 0}, r"target_se must be a finite number > 0 and < 1; got 0\.0\.$"),
    ({"n_total": 2.5}, r"n_total must be an integer >= 1; got 2\.5\.$"),
    ({"min_per_class": -1}, r"min_per_class must be an integer >= 0; got -1\.$"),
    ({"expected_user_accuracy": 1.5}, r"expected_user_accuracy must be a finite number from 0 to 1; got 1\.5\.$"),
    ({"expected_user_accuracy": {1: 0.9, 2: float("nan")}}, r"expected_user_accuracy\[2\] must be a finite number "
                                                             r"from 0 to 1; got nan\.$"),
    ({"expected_user_accuracy": {1: 0.9}}, r"expected_user_accuracy gives no value for classes \[2\]"),
])
def test_design_refuses_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError, match=f"stratified_sample_design: {message}"):
        stratified_sample_design({1: 100, 2: 50}, **kwargs)


def test_sample_has_exact_counts_on_pixels_of_its_stratum(patchwork):
    allocation = {1: 40, 2: 25, 3: 12}
    points = draw_stratified_sample(patchwork, allocation, random_state=7)
    assert points["map_class"].value_counts().to_dict() == allocation
    assert (patchwork.values[points["row"], points["col"]] == points["map_class"]).all()
    assert not points.duplicated(["row", "col"]).any()
    np.testing.assert_array_equal(points["x"], patchwork.x.values[points["col"]])
    np.testing.assert_array_equal(points["y"], patchwork.y.values[points["row"]])
    np.testing.assert_array_equal(points.geometry.x, points["x"])
    assert points.crs == "EPSG:32633" and points.index.name == "point"
    assert points["map_class"].is_monotonic_increasing


def test_sample_is_reproducible_and_chunk_independent(patchwork):
    allocation = {1: 30, 2: 20, 3: 5}
    first = draw_stratified_sample(patchwork, allocation, random_state=3)
    again = draw_stratified_sample(patchwork, allocation, random_state=3)
    other = draw_stratified_sample(patchwork, allocation, random_state=4)
    assert first.equals(again)
    assert not first[["row", "col"]].equals(other[["row", "col"]])
    for chunks in ({"y": 7, "x": 11}, {"y": 60, "x": 5}):
        lazy = draw_stratified_sample(patchwork.chunk(chunks), allocation, random_state=3)
        assert lazy.drop(columns="geometry").equals(first.drop(columns="geometry"))
    assert len(draw_stratified_sample(patchwork, allocation)) == 55  # no seed: still exact


def test_sample_never_falls_on_unclassified_pixels(patchwork):
    design = stratified_sample_design(patchwork, n_total=3000, min_per_class=0)  # a census of classified pixels
    points = draw_stratified_sample(patchwork, design, random_state=0)
    assert len(points) == int((patchwork.values != 255).sum())
    assert 255 not in points["map_class"].values


def test_every_pixel_of_a_stratum_is_equally_likely():
    class_map = _class_map([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [2, 2, 2, 2, 2]])
    hits = np.zeros((3, 5))
    for seed in range(400):
        points = draw_stratified_sample(class_map, {1: 3}, random_state=seed)
        np.add.at(hits, (points["row"], points["col"]), 1)
    # each of the 10 pixels is drawn with probability 3/10: 120 times expected, standard deviation 9.2
    assert np.abs(hits[:2] - 120).max() < 46 and hits[2].sum() == 0


def test_draw_refuses_bad_allocations(patchwork):
    with pytest.raises(ConfigError, match=r"class 3 has 12 pixels in the map, fewer than the 20 points asked for"):
        draw_stratified_sample(patchwork, {3: 20}, random_state=0)
    with pytest.raises(ConfigError, match=r"class 3 has 12 pixels"):
        draw_stratified_sample(patchwork.chunk({"y": 20, "x": 20}), {3: 20}, random_state=0)
    with pytest.raises(ConfigError, match=r"asks for points in class 255, the code of unclassified pixels"):
        draw_stratified_sample(patchwork, {255: 3}, random_state=0)
    with pytest.raises(ConfigError, match=r"the number of points of class 1 must be an integer >= 0; got -1\.$"):
        draw_stratified_sample(patchwork, {1: -1}, random_state=0)
    with pytest.raises(ConfigError, match=r"allocation must be a SampleDesign or a mapping"):
        draw_stratified_sample(patchwork, [10, 10], random_state=0)
    with pytest.raises(ConfigError, match=r"^draw_stratified_sample: random_state must be None or an integer from 0 "
                                          r"to 4294967295; got 'seed'\.$"):
        draw_stratified_sample(patchwork, {1: 1}, random_state="seed")
    with pytest.raises(DataModelError, match=r"class map: dims must be \('y', 'x'\)"):
        draw_stratified_sample(patchwork.transpose("x", "y"), {1: 1}, random_state=0)


def test_a_generator_seeds_the_draw(patchwork):
    a = draw_stratified_sample(patchwork, {1: 5}, random_state=np.random.default_rng(5))
    b = draw_stratified_sample(patchwork, {1: 5}, random_state=np.random.default_rng(5))
    assert a.equals(b)
