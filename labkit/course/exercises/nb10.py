"""Exercises of notebook 10, the capstone: a land-cover map of Sinop (Brazil) from MODIS NDVI, done by the learner.

Three questions: how the samples of many years line up with the cube's one year (``10.same_season``, computed
from the days of the year), which cross-validation is honest (``10.honest_split``, a decision), and a numeric
prediction of how wide an accuracy's interval is with 18 field points (``10.interval_18``). One code exercise
(``10.site``, the place of each sample) and one computed from the learner's own map (``10.point_accuracy``).

The three **deliverables** of the open task (``10.validation``, ``10.land_cover``, ``10.areas``) are judged on their
form, not compared with one right answer: any model, features or post-processing is accepted, as long as the
cross-validation keeps places whole, the map lies on the cube's grid with the samples' class codes, and the areas
add up to the map's area with an interval for each class. Their reference functions are the notebook's baseline,
which the check supplies when a deliverable is missing or wrong.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from ...datamodel import NO_CLASS, UNDECIDED, class_names, label_codes
from ..compare import within
from . import Exercise

# ----------------------------------------------------------------------------------------- guided part

SAME_SEASON = {
    "a": "they cannot be used: a model must be trained on samples of the cube's own year",
    "b": "position by position: each sample's 12 dates fall on the same 12 days of the year as the cube's, so the "
         "i-th value of a sample and the i-th date of the cube are the same moment of the season",
    "c": "only after gap-filling every sample onto the cube's dates, since their days of the year differ",
}
"""The choices of question ``10.same_season``."""


def day_of_year(times) -> np.ndarray:
    """The day of the year (1-366) of each date.

    Example
    -------
    >>> day_of_year(np.array(["2013-09-14", "2012-09-13"], dtype="datetime64[ns]")).tolist()
    [257, 257]
    """
    return pd.DatetimeIndex(np.asarray(times).ravel()).day_of_year.to_numpy().reshape(np.shape(times))


def same_season(samples: xr.Dataset, cube: xr.DataArray) -> str:
    """Which of :data:`SAME_SEASON` is right: ``"b"`` when every sample's dates (``samples.date``, else its
    ``time``) fall on the cube's days of the year, in order, else ``"c"``.

    Example
    -------
    >>> cube = xr.DataArray(np.zeros((2, 1, 1, 1)), dims=("time", "band", "y", "x"),
    ...                     coords={"time": pd.to_datetime(["2013-09-14", "2013-10-16"])})
    >>> dates = np.array([["2000-09-13", "2000-10-15"], ["2010-09-14", "2010-10-16"]], dtype="datetime64[ns]")
    >>> samples = xr.Dataset({"date": (("sample", "time"), dates)})
    >>> same_season(samples, cube)
    'b'
    >>> same_season(samples.assign(date=samples.date + np.timedelta64(8, "D")), cube)
    'c'
    """
    dates = samples["date"].values if "date" in samples else np.broadcast_to(samples["time"].values, (1, -1))
    days, cube_days = day_of_year(dates), day_of_year(cube.time.values)
    return "b" if days.shape[-1] == cube_days.size and bool((days == cube_days).all()) else "c"


def sites(samples: xr.Dataset) -> np.ndarray:
    """The place of each sample: samples at the same longitude and latitude share a number, numbered ``0, 1...`` in
    the order places first appear (what ``pandas.factorize`` gives).

    Example
    -------
    >>> samples = xr.Dataset({"x": ("sample", [-55.1, -55.2, -55.1]), "y": ("sample", [-11.0, -11.0, -11.0])})
    >>> sites(samples).tolist()
    [0, 1, 0]
    """
    places = pd.Series(list(zip(samples["x"].values, samples["y"].values)))
    return pd.factorize(places)[0]


HONEST_SPLIT = {
    "a": "folds of samples drawn at random (each sample on its own)",
    "b": "folds of places: all the samples of one site, whatever their year, in the same fold",
    "c": "folds of years: the samples of one season in the same fold",
    "d": "no folds: the accuracy of the model on the samples it was trained on, since they are so many",
}
"""The choices of question ``10.honest_split``."""


def honest_split() -> str:
    """The honest way to cross-validate the Sinop samples (a decision, fixed): folds of places, ``"b"``.

    Example
    -------
    >>> HONEST_SPLIT[honest_split()].startswith("folds of places")
    True
    """
    return "b"


# --------------------------------------------------------------------------------------------- the task

BASELINE = {"model": "rf", "n_estimators": 100, "folds": 5, "window": 3, "random_state": 0}
"""The notebook's baseline: a random forest on the 12 NDVI values, 5 folds of places, a 3 x 3 majority filter."""


def baseline_model():
    """The baseline's model, unfitted: a random forest of 100 trees on the NDVI series and their temporal statistics
    (labkit's ``"rf"``: :class:`~labkit.models.series.SeriesFeatures`, then the forest).

    Example
    -------
    >>> baseline_model()[-1].n_estimators
    100
    """
    from ...models import make_model

    return make_model(BASELINE["model"], n_estimators=BASELINE["n_estimators"],
                      random_state=BASELINE["random_state"])


def validation(samples: xr.Dataset):
    """The baseline's cross-validation: :func:`baseline_model`, ``BASELINE["folds"]`` folds of places (``site``).

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> from labkit.datamodel import make_samples
    >>> s = make_samples(rng.random((40, 3, 1)), ["a", "b"] * 20, bands=["NDVI"])
    >>> validation(s.assign(site=("sample", np.arange(40) // 2))).group_by
    'site'
    """
    from ...models import cross_validate

    return cross_validate(samples, baseline_model(), folds=BASELINE["folds"], group_by="site",
                          random_state=BASELINE["random_state"])


def compare_validation(answer, expected) -> str | None:
    """A cross-validation (:class:`labkit.models.CVResult`) of every sample whose folds keep places whole: right
    whatever the model, else what is wrong with it.

    Example
    -------
    >>> from types import SimpleNamespace as NS
    >>> fold = np.zeros(4)
    >>> compare_validation(NS(fold=fold, group_by="site", pooled=None), NS(fold=fold)) is None
    True
    >>> print(compare_validation(NS(fold=fold, group_by=None, pooled=None), NS(fold=fold))[:37])
    your folds are made of single samples
    """
    if not all(hasattr(answer, name) for name in ("fold", "group_by", "pooled")):
        return ("expected the result of labkit.models.cross_validate (a CVResult); got "
                f"{type(answer).__name__}.")
    if len(answer.fold) != len(expected.fold):
        return (f"your cross-validation tested {len(answer.fold)} samples; the sample set has {len(expected.fold)}: "
                "cross-validate all of them.")
    if answer.group_by in (None, "group"):
        return ("your folds are made of single samples (group_by=None, or 'group', which is each sample's own "
                "number here): the samples of one place in other years land in other folds, so the model is tested "
                "on places it was trained on. Keep places whole: group_by='site'.")
    return None


def land_cover(cube: xr.DataArray, mask: xr.DataArray, samples: xr.Dataset) -> xr.DataArray:
    """The baseline's map: the cube gap-filled on its own dates, the baseline model fitted on every sample, every
    pixel predicted, then a ``BASELINE["window"]`` majority filter.

    Example
    -------
    >>> import labkit.datamodel as dm
    >>> rng = np.random.default_rng(0)
    >>> cube = dm.make_cube(rng.random((3, 1, 4, 4)), ["2020-01-01", "2020-02-01", "2020-03-01"], ["NDVI"],
    ...                     transform=(10, 0, 0, 0, -10, 40), crs="EPSG:32631")
    >>> s = dm.make_samples(rng.random((20, 3, 1)), ["a", "b"] * 10, bands=["NDVI"])
    >>> land_cover(cube, dm.make_mask(np.zeros((3, 4, 4)), like=cube), s).shape
    (4, 4)
    """
    from ...gapfill import fill_gaps
    from ...inference import predict_map
    from ...models import fit_model
    from ...postprocess import majority_filter

    filled, _ = fill_gaps(cube, mask)
    model = fit_model(baseline_model(), samples)
    products = predict_map(filled, model, probabilities=False)
    return majority_filter(products["class_map"].compute(), BASELINE["window"])


def compare_class_map(answer, expected: xr.DataArray) -> str | None:
    """A class map on the grid of ``expected``, with its class codes (unclassified and undecided pixels allowed):
    right whatever its classes are where, else what is wrong with it.

    Example
    -------
    >>> expected = xr.DataArray(np.tile(np.array([1, 2], "uint8"), (10, 5)), dims=("y", "x"),
    ...                         coords={"y": np.arange(10.0), "x": np.arange(10.0)})
    >>> compare_class_map(expected.copy(data=3 - expected.values), expected) is None
    True
    >>> print(compare_class_map(expected.where(expected.x > 0, 7).astype("uint8"), expected))
    your map holds codes [7] that are not classes of the samples (1, 2); keep the label codes of the samples.
    >>> print(compare_class_map(expected.where(expected.x > 0, 255).astype("uint8"), expected))
    10% of your map is unclassified or undecided: fill the gaps of the cube before predicting, so that every pixel gets a class.
    """
    if not isinstance(answer, xr.DataArray) or answer.dims != ("y", "x"):
        what = f"dims {answer.dims}" if isinstance(answer, xr.DataArray) else type(answer).__name__
        return (f"expected a class map, an xarray DataArray with dims ('y', 'x') such as predict_map's 'class_map'; "
                f"got {what}.")
    if answer.shape != expected.shape or not (np.allclose(answer.x, expected.x) and np.allclose(answer.y, expected.y)):
        return f"your map is not on the cube's grid: {answer.shape} pixels, the cube has {expected.shape}."
    if not np.issubdtype(answer.dtype, np.integer):
        return f"a class map holds integer class codes; yours is {answer.dtype}."
    classes = {int(c) for c in np.unique(expected.values)} - {NO_CLASS, UNDECIDED}
    codes = {int(c) for c in np.unique(answer.values)}
    foreign = sorted(codes - classes - {NO_CLASS, UNDECIDED})
    if foreign:
        return (f"your map holds codes {foreign} that are not classes of the samples "
                f"({', '.join(map(str, sorted(classes)))}); keep the label codes of the samples.")
    unclassified = float(np.isin(answer.values, (NO_CLASS, UNDECIDED)).mean())
    if unclassified > 0.05:
        return (f"{unclassified:.0%} of your map is unclassified or undecided: fill the gaps of the cube before "
                "predicting, so that every pixel gets a class.")
    return None


ASSUMED_ACCURACY = 0.8
"""The accuracy that question ``10.interval_18`` asks the learner to assume."""


def interval_18(points) -> float:
    """The half-width of the 95 % interval of an accuracy of :data:`ASSUMED_ACCURACY` measured at ``len(points)``
    points (binomial: ``1.96 * sqrt(p (1 - p) / n)``).

    Example
    -------
    >>> round(interval_18(range(18)), 3)
    0.185
    """
    p, n = ASSUMED_ACCURACY, len(points)
    return 1.96 * math.sqrt(p * (1 - p) / n)


def map_at_points(class_map: xr.DataArray, points) -> np.ndarray:
    """The map's class code at each point (the pixel that holds it), the points reprojected to the map's CRS.

    Example
    -------
    >>> import geopandas as gpd
    >>> m = xr.DataArray(np.array([[1, 2], [3, 4]], "uint8"), dims=("y", "x"), coords={"y": [15.0, 5.0],
    ...                  "x": [5.0, 15.0]}).rio.write_crs("EPSG:32631")
    >>> map_at_points(m, gpd.GeoDataFrame(geometry=gpd.points_from_xy([14, 2], [3, 18]), crs="EPSG:32631")).tolist()
    [4, 1]
    """
    on_grid = points.to_crs(class_map.rio.crs)
    x = xr.DataArray(on_grid.geometry.x.values, dims="point")
    y = xr.DataArray(on_grid.geometry.y.values, dims="point")
    return class_map.sel(x=x, y=y, method="nearest").values


def point_accuracy(class_map: xr.DataArray, points, class_names: dict) -> float:
    """The share of field points whose ``label`` is the map's class there (``class_names``: ``{code: name}``).

    Example
    -------
    >>> import geopandas as gpd
    >>> m = xr.DataArray(np.array([[1, 2], [2, 2]], "uint8"), dims=("y", "x"), coords={"y": [15.0, 5.0],
    ...                  "x": [5.0, 15.0]}).rio.write_crs("EPSG:32631")
    >>> pts = gpd.GeoDataFrame({"label": ["Forest", "Forest"]}, geometry=gpd.points_from_xy([2, 14], [18, 3]),
    ...                        crs="EPSG:32631")
    >>> point_accuracy(m, pts, {1: "Forest", 2: "Pasture"})
    0.5
    """
    mapped = [class_names.get(int(code)) for code in map_at_points(class_map, points)]
    return float(np.mean(np.asarray(mapped, dtype=object) == points["label"].to_numpy(dtype=object)))


def pixel_area_ha(class_map: xr.DataArray) -> float:
    """The area of one pixel of the map, in hectares.

    Example
    -------
    >>> m = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"), coords={"y": [150.0, 50.0], "x": [50.0, 150.0]})
    >>> pixel_area_ha(m.rio.write_crs("EPSG:32631"))
    1.0
    """
    width, height = class_map.rio.resolution()
    return abs(width * height) / 10_000


def areas(class_map: xr.DataArray, cv, samples: xr.Dataset):
    """The baseline's area estimate: the stratified estimator of :func:`labkit.accuracy.estimate_area` with the
    map's classes as strata and the cross-validation's out-of-fold predictions as the sample (map class) against
    the samples' labels (reference class), in hectares.

    Example
    -------
    >>> from types import SimpleNamespace as NS
    >>> from labkit.datamodel import make_samples
    >>> s = make_samples(np.zeros((6, 1, 1)), ["a", "a", "a", "b", "b", "b"], bands=["NDVI"])
    >>> m = xr.DataArray(np.array([[1, 1], [1, 2]], "uint8"), dims=("y", "x"), coords={"y": [150.0, 50.0],
    ...                  "x": [50.0, 150.0]}).rio.write_crs("EPSG:32631")
    >>> estimate = areas(m, NS(predictions=np.array([1, 1, 2, 2, 2, 1])), s)  # 1 ha pixels, 3 mapped 'a'
    >>> {estimate.name(c): round(a, 2) for c, a in estimate.area.items()}
    {'a': 2.33, 'b': 1.67}
    """
    from ...accuracy import estimate_area, pixel_counts

    reference, _ = label_codes(samples)
    return estimate_area(cv.predictions, reference, pixel_counts(class_map), pixel_area=pixel_area_ha(class_map),
                         unit="ha", class_names=class_names(samples))


def compare_areas(answer, expected) -> str | None:
    """Areas of every class with an interval, adding up to the map's area: an
    :class:`~labkit.accuracy.AreaEstimate`, or a table (DataFrame) with a row per class and columns ``area`` and
    ``area_ci`` (the interval's half-width), in hectares. Right whatever the estimator, else what is wrong.

    Example
    -------
    >>> from labkit.accuracy import estimate_area
    >>> expected = estimate_area([1, 1, 2, 2], [1, 1, 2, 1], {1: 60, 2: 40}, pixel_area=2.0, unit="ha")
    >>> compare_areas(expected.to_frame(), expected) is None
    True
    >>> compare_areas(pd.DataFrame({"area": [100.0, 80.0], "area_ci": [5.0, 5.0]}), expected)
    'your areas add up to 180 ha; the map covers 200 ha: every pixel of the map is in one class.'
    >>> print(compare_areas({"a": 1}, expected)[-9:])
    got dict.
    >>> print(compare_areas(expected.to_frame()[["area"]], expected)[:40])
    your table has no column 'area_ci': give
    """
    table = answer.to_frame() if hasattr(answer, "to_frame") and hasattr(answer, "area_se") else answer
    if not isinstance(table, pd.DataFrame):
        return ("expected an AreaEstimate (estimate_area's result) or a DataFrame with columns 'area' and 'area_ci' "
                f"(hectares); got {type(answer).__name__}.")
    missing = [name for name in ("area", "area_ci") if name not in table.columns]
    if missing:
        return (f"your table has no column {' nor '.join(map(repr, missing))}: give each class its area and the "
                "half-width of its 95 % interval, in hectares.")
    total, covered = float(table["area"].sum()), expected.total_area
    if not math.isclose(total, covered, rel_tol=0.01):
        return (f"your areas add up to {total:,.0f} ha; the map covers {covered:,.0f} ha: every pixel of the map is "
                "in one class.")
    ci = table["area_ci"].to_numpy(dtype=float)
    if not (np.isfinite(ci).all() and (ci >= 0).all()):
        return "every class needs an interval: 'area_ci', a half-width in hectares, finite and not negative."
    return None


EXERCISES: dict[str, Exercise] = {
    "10.same_season": Exercise(
        reference=same_season,
        title="how samples of many years line up with the cube",
        hint="Compare the days of the year of a few samples' dates (samples.date) with the cube's dates.",
        hints=("pandas.DatetimeIndex(dates).day_of_year gives the day of the year; MOD13Q1 composites start on fixed "
               "days of the year.",),
        choices=SAME_SEASON,
        explanation="MOD13Q1 composites start on the same days of every year (every 16 days from 1 January), and "
                    "these samples take one every other composite from mid-September: their 12 dates fall on the "
                    "cube's 12 days of the year, whatever the year. A model fitted on the 12 values of the samples "
                    "reads the cube's 12 dates as the same moments of the season. What it cannot know is how the "
                    "2013-14 season differed from the years it learnt from (rain, planting dates).",
    ),
    "10.site": Exercise(
        reference=sites,
        title="the place of each sample",
        hint="Samples taken at the same longitude and latitude (samples.x, samples.y) are the same place: give "
             "them the same number.",
        hints=("pandas.factorize numbers the distinct values of a sequence in the order they first appear; make "
               "each sample's value the pair (x, y).",
               "pd.factorize(pd.Series(list(zip(samples.x.values, samples.y.values))))[0]"),
    ),
    "10.honest_split": Exercise(
        reference=honest_split,
        title="the honest cross-validation of these samples",
        hint="The map will be used on places the model never saw. Which folds test the model on places it never "
             "saw?",
        hints=("Some places were sampled in up to 15 seasons, with the same class each time: their series are "
               "alike from year to year.",),
        choices=HONEST_SPLIT,
        explanation="A place sampled in several seasons keeps its class, and its NDVI series look alike from year "
                    "to year: with folds of single samples, the model is tested on places it learnt in another "
                    "year, and scores better than it will on the map. Folds of places keep every sample of a site on "
                    "one side. Folds of years put the same place on both sides; the training accuracy says nothing "
                    "about new places.",
    ),
    "10.validation": Exercise(
        reference=validation,
        title="your cross-validation (deliverable 1)",
        hint="Cross-validate your model on all the samples with labkit.models.cross_validate, in folds that keep "
             "each place whole.",
        hints=("cross_validate(samples, model, folds=5, group_by='site', random_state=0)",),
        compare=compare_validation,
    ),
    "10.land_cover": Exercise(
        reference=land_cover,
        title="your land-cover map (deliverable 2)",
        hint="Gap-fill the cube, fit your model on the samples, predict every pixel (predict_map), then post-process "
             "the class map.",
        hints=("fill_gaps(cube, mask) fills the few gaps on the cube's own dates; fit_model(model, samples); "
               "predict_map(filled, model)['class_map']; majority_filter(class_map, 3).",),
        compare=compare_class_map,
    ),
    "10.interval_18": Exercise(
        reference=interval_18,
        title="your prediction: the ± of an accuracy measured at 18 points",
        hint="Each point is right or wrong, like a coin that lands right 80 % of the time: the standard error of a "
             "proportion p measured on n trials is sqrt(p (1 - p) / n).",
        hints=("A 95 % interval is about 1.96 standard errors on each side.",),
        compare=within(abs=0.06),
        explanation="Each point is a yes/no trial: the standard error of an accuracy p measured at n points is "
                    "sqrt(p (1 - p) / n), 0.094 for p = 0.8 and n = 18, so the 95 % interval is about ± 0.19: "
                    "18 points tell 'somewhere between 0.6 and 1'. They can reveal a gross error or a systematic "
                    "confusion; they cannot rank two good maps. A useful assessment needs hundreds of points.",
    ),
    "10.point_accuracy": Exercise(
        reference=point_accuracy,
        title="the share of field points your map gets right",
        hint="Read the map at each point (reproject the points to the map's CRS, then take the nearest pixel), turn "
             "the codes into class names, and compare with the points' 'label'.",
        hints=("points.to_crs(land_cover.rio.crs) gives x and y in metres; land_cover.sel(x=..., y=..., "
               "method='nearest') with DataArrays of x and y along a new dim reads one pixel per point.",),
    ),
    "10.areas": Exercise(
        reference=areas,
        title="your area estimate (deliverable 3)",
        hint="Areas from the map's pixel counts are biased by its errors: correct them with an error matrix "
             "(labkit.accuracy.estimate_area), and give an interval for each class.",
        hints=("estimate_area(map classes of a sample, reference classes, pixel_counts(land_cover), pixel_area=..., "
               "unit='ha', class_names=...); the cross-validation's out-of-fold predictions (cv.predictions) and the "
               "samples' label codes are such a sample, if you accept what that assumes.",),
        compare=compare_areas,
    ),
}
