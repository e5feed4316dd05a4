"""Deep models: PyTorch networks behind scikit-learn's API, registered in labkit's one model registry.

* :mod:`.networks`: the pixel time-series networks (MLP, TempCNN, L-TAE, GRU, Transformer encoder), plain
  :class:`torch.nn.Module` objects that read a series, the dates of its observations and a mask of the missing ones;
* :mod:`.data`: series as batches (standardised, masked, dated), from arrays in memory or streamed from Zarr;
* :mod:`.training`: the training loop (validation, early stopping, schedule, checkpoints, CUDA and mixed precision);
* :mod:`.estimator`: :class:`DeepClassifier` and :class:`DeepRegressor`, the scikit-learn estimators;
* :mod:`.spatial`: a U-Net trained on image patches of a cube against a reference raster
  (:class:`~.spatial.SpatialClassifier`, registered as ``"unet"``, ``inputs="patches"``);
* :mod:`.superres`: super-resolution of Sentinel-2's 20 m bands to 10 m (:class:`~.superres.SuperResolution`,
  registered as ``"dsen2"``, ``inputs="scenes"``, task ``"super-resolution"``).

Every network is registered under its name for classification (``make_model("tempcnn")``, ``labkit cv --model
ltae``) and under ``NAME-regressor`` for regression. Importing this package does not import torch: the estimators'
module is imported when a deep model is built.

Example
-------
>>> from labkit.models import make_model
>>> model = make_model("ltae", epochs=5, network_params={"n_head": 4})
>>> type(model).__name__, model.network, model.uses_dates
('DeepClassifier', 'ltae', True)
"""

from __future__ import annotations

import functools

from ..registry import register_model

#: Each network: (reads the dates, description). The classes are in :mod:`.networks`; this table lets the registry
#: describe them without importing torch.
_NETWORKS = {
    "mlp": (False, "multilayer perceptron on the flattened series (fixed number of dates)"),
    "tempcnn": (False, "TempCNN (Pelletier et al. 2019): 1-D convolutions over time"),
    "ltae": (True, "L-TAE (Sainte Fare Garnot & Landrieu 2020): lightweight temporal attention over dated, "
                   "possibly cloudy observations"),
    "gru": (False, "bidirectional GRU over the valid observations"),
    "transformer": (True, "Transformer encoder with day-of-year positional encoding"),
}


def _build(network: str, task: str, **params):
    from .estimator import DeepClassifier, DeepRegressor

    return (DeepClassifier if task == "classification" else DeepRegressor)(network, **params)


for _name, (_dates, _description) in _NETWORKS.items():
    for _task, _suffix, _estimator in (("classification", "", "DeepClassifier"),
                                       ("regression", "-regressor", "DeepRegressor")):
        register_model(f"{_name}{_suffix}", functools.partial(_build, _name, _task),
                       description=_description + (" (regression)" if _suffix else ""), takes_stats=False,
                       estimator=f"labkit.models.deep.estimator.{_estimator}", inputs="series",
                       uses_dates=_dates, gpu=True, task=_task)



#: The image models: name -> (class in this package, what it reads, task, description).
_IMAGE_MODELS = {
    "unet": ("spatial.SpatialClassifier", "patches", "classification",
             "U-Net on image patches (dates x bands as channels), trained on a reference raster"),
    "dsen2": ("superres.SuperResolution", "scenes", "super-resolution",
              "DSen2-style residual CNN: Sentinel-2's 20 m bands to 10 m, trained by Wald's protocol"),
}


def _build_image_model(path: str, **params):
    import importlib

    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)(**params)


for _name, (_path, _inputs, _task, _description) in _IMAGE_MODELS.items():
    register_model(_name, functools.partial(_build_image_model, _path), description=_description, takes_stats=False,
                   estimator=f"{__name__}.{_path}", inputs=_inputs, uses_dates=False, gpu=True, task=_task)
