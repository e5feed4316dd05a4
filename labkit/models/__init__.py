"""Models: every classifier labkit trains follows scikit-learn's API (``fit``/``predict``/``predict_proba``).

Models take ``X`` as a sample set's array ``(n_samples, n_time, n_band)`` (or already flat, ``(n_samples,
n_features)``). Classical models are scikit-learn pipelines that start with :class:`SeriesFeatures`, which flattens
the series and appends temporal statistics. Comes after :mod:`labkit.samples`, before :mod:`labkit.inference`.
"""

from .classical import CLASSIFIERS, SeriesFeatures, make_classifier

__all__ = ["CLASSIFIERS", "SeriesFeatures", "make_classifier"]
