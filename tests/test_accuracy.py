"""labkit.accuracy: scores against a confusion matrix worked out by hand, and against their textbook formulas."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.accuracy import assess_accuracy, plot_confusion_matrix
from labkit.errors import ConfigError

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
