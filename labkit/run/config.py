"""The declarative configuration of ``labkit run``: one chain, from the inputs to the outputs, checked before any work.

A config (YAML, or a mapping) has one section per stage, and each section's keys are the keyword arguments of the
stage function(s) it feeds (its ``stages``; ``tests/test_run_config.py`` checks that they cannot drift):

=============== ================================================================================================
section         stage function(s)
=============== ================================================================================================
``inputs``      ``kind: zarr`` :func:`labkit.io.read_zarr`; ``files`` :func:`labkit.io.read_dates`; ``stac``
                :func:`labkit.sources.search_stac` + :func:`~labkit.sources.load_stac`; ``theia``
                :func:`labkit.sources.read_theia`; ``safe`` :func:`labkit.sources.read_safe`
``tiles``       the runner's own: one input per tile (paths, a glob, or STAC bounding boxes)
``masks``       :func:`labkit.masks.mask_from_scl` / ``mask_from_maja`` (``dilate``), ``mask_from_nodata``
``gapfill``     :func:`labkit.gapfill.fill_gaps` (``null``: no gap-filling)
``features``    :func:`labkit.features.compute_features`
``reference``   :func:`labkit.samples.extract_samples` (``polygons``: the vector file) + ``split_runs``
``models``      a list of :class:`labkit.models.ModelConfig` (built with :func:`labkit.models.make_model`)
``inference``   :func:`labkit.inference.predict_map`
``postprocess`` :func:`labkit.postprocess.bayesian_smoothing`, ``majority_filter``, ``sieve``, ``mosaic``
``validation``  :func:`labkit.accuracy.assess_accuracy` (on the test samples of each run)
``outputs``     :func:`labkit.inference.write_map`
``execution``   the runner's own: where the tasks run (a local Dask cluster, Slurm or PBS, or an address)
=============== ================================================================================================

Relative paths are read from the config file's folder (from the working directory for a mapping) and stored
absolute; files that must exist are checked. :func:`load_config` reports every problem of a config at once, one
line each, named by its key path (``models[0].params.n_estimators: ...``).

Example
-------
>>> config = RunConfig.model_validate({"tiles": {"bboxes": {"A": [0, 0, 1, 1]}}, "inputs": {"kind": "stac"},
...                                    "reference": {"polygons": "."}})
>>> config.inputs.kind, config.tile_inputs(), config.models[0].model
('stac', {'A': (0.0, 0.0, 1.0, 1.0)}, 'rf')
"""

from __future__ import annotations

import datetime
import glob as globbing
import numbers
import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, PrivateAttr,
                      ValidationInfo, field_validator, model_validator)

__all__ = ["INPUT_KINDS", "RunConfig", "Section", "input_models"]

INPUT_KINDS = ("zarr", "files", "stac", "theia", "safe")
"""The kinds of ``inputs``: a Zarr store per tile, dated raster files, a STAC search, Theia/MAJA or SAFE folders."""


# -------------------------------------------------------------------------------------------------- value types


def _base(info: ValidationInfo) -> Path:
    return Path((info.context or {}).get("base", ".")).expanduser()


def _absolute(value: Path, info: ValidationInfo) -> Path:
    """``value`` read from the config's folder, absolute; as it is without a folder (a section built in Python)."""
    if not (info.context or {}).get("base"):
        return Path(value).expanduser()
    return Path(os.path.normpath((_base(info) / Path(value).expanduser()).absolute()))


def _existing(value: Path, info: ValidationInfo) -> Path:
    path = _absolute(value, info)
    if not (_base(info) / path).exists():
        raise ValueError(f"no such file or folder: {str(_base(info).absolute() / path)!r} (a relative path is read "
                         "from the config's folder)")
    return path


AnyPath = Annotated[Path, AfterValidator(_absolute)]
"""A path, relative to the config's folder; stored absolute."""

ExistingPath = Annotated[Path, AfterValidator(_existing)]
"""A path that must exist, relative to the config's folder; stored absolute."""


def _date_text(value):
    return value.isoformat() if isinstance(value, datetime.date) else value  # YAML reads 2021-05-01 as a date


DateText = Annotated[str, BeforeValidator(_date_text)]
"""A date as text (``"2021-05-01"``); a YAML date is taken as its text."""


def _one_of(expected: str, check):
    def validate(value):
        if isinstance(value, bool) or not check(value):
            raise ValueError(f"expected {expected}, got {value!r}")
        return value
    return PlainValidator(validate, json_schema_input_type=Any)


def _positive_int(value) -> bool:
    return isinstance(value, numbers.Integral) and value > 0


def _is_block(value) -> bool:
    return _positive_int(value) or (isinstance(value, list | tuple) and len(value) == 2
                                    and all(_positive_int(v) and not isinstance(v, bool) for v in value))


def _is_memory(value) -> bool:
    from ..errors import ConfigError
    from ..tiling import parse_memory

    try:
        parse_memory(value)
    except ConfigError:
        return False
    return True


Block = Annotated[Any, _one_of("a block side in pixels (an integer > 0) or [rows, columns]", _is_block)]
Memory = Annotated[Any, _one_of("a memory size such as '2GB' or '512MiB', or a number of bytes", _is_memory)]
Step = Annotated[Any, _one_of("a number of days (an integer > 0) or 'auto'", lambda v: _positive_int(v) or v == "auto")]
Chunks = Annotated[Any, _one_of("'auto', an integer > 0 or a mapping {dim: size}",
                                lambda v: v == "auto" or _positive_int(v) or isinstance(v, dict))]
Positive = Annotated[int, Field(gt=0)]
BBox = tuple[float, float, float, float]


def _field(default, description: str, **kwargs):
    return Field(default, description=description, **kwargs)


def _required(description: str, example):
    return Field(description=description, examples=[example])


class Section(BaseModel):
    """A section of a run config: unknown keys are refused; ``stages`` names the stage functions whose keyword
    arguments its keys are (empty for the runner's own sections)."""

    # defaults are validated too (a default path is then read from the config's folder, like a given one)
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, revalidate_instances="always")
    stages: ClassVar[tuple[str, ...]] = ()
    runner_keys: ClassVar[tuple[str, ...]] = ()
    """Keys the runner reads itself (a file, a pattern), not passed to the stage functions by name."""


# -------------------------------------------------------------------------------------------------- inputs


class _Inputs(Section):
    bands: list[str] | None = _field(None, "the bands to read (default: all, or the reader's own default)")


class ZarrInputs(_Inputs):
    """A Zarr store per tile (labkit's own, or any xarray store: see ``dims``)."""

    stages: ClassVar = ("labkit.io.read_zarr",)
    kind: Literal["zarr"] = _field("zarr", "what the inputs are: zarr, files, stac, theia or safe")
    chunks: Chunks = _field("auto", "dask chunks: 'auto', a side in pixels or {dim: size}")
    with_mask: bool = _field(True, "also read the store's validity mask")
    crs: str | None = _field(None, "the CRS of a store that does not say it, e.g. 'EPSG:32631'")
    scale: float | None = _field(None, "multiply the stored values by this (digital numbers to reflectance)")
    offset: float | None = _field(None, "then add this")
    nodata: float | None = _field(None, "the stored value that means 'not observed'")
    dims: dict[str, str] | None = _field(None, "a foreign store's dim names to labkit's, e.g. {t: time, lat: y}")


class FilesInputs(_Inputs):
    """Dated raster files (GeoTIFF...) in a folder per tile."""

    stages: ClassVar = ("labkit.io.read_dates",)
    runner_keys: ClassVar = ("files",)
    kind: Literal["files"] = _field("files", "what the inputs are: zarr, files, stac, theia or safe")
    files: str = _field("*.tif", "the pattern of the files inside each tile's folder")
    dates: list[DateText] | None = _field(None, "one date per file, in name order (default: read from the names)")
    chunks: Chunks = _field(512, "dask chunks: 'auto', a side in pixels or {dim: size}")
    crs: str | None = _field(None, "the CRS of files that do not say it")
    nodata: float | None = _field(None, "the value that means 'not observed' (default: the files' own)")
    scale: float | None = _field(None, "multiply the stored values by this (digital numbers to reflectance)")
    offset: float | None = _field(None, "then add this")


class StacInputs(_Inputs):
    """A STAC search per tile (its bounding box), loaded with odc-stac."""

    stages: ClassVar = ("labkit.sources.search_stac", "labkit.sources.load_stac")
    runner_keys: ClassVar = ("catalog",)
    kind: Literal["stac"] = _field("stac", "what the inputs are: zarr, files, stac, theia or safe")
    catalog: str = _field("earth-search", "a catalog preset (earth-search, planetary-computer) or a STAC API URL")
    collection: str | None = _field(None, "the collection (default: the preset's Sentinel-2 L2A)")
    dates: str = _field("2021", "the period searched: '2021', '2021-03/2021-10' or '2021-05-01/2021-05-31'")
    max_cloud: float | None = _field(None, "the largest cloud cover of an item, in percent")
    max_items: Positive | None = _field(None, "stop the search after this many items")
    resolution: float = _field(10, "the pixel size, in the CRS's units")
    crs: str | None = _field(None, "the cube's CRS (default: the items' most common one)")
    chunks: Positive = _field(512, "dask chunks of this many pixels a side")
    mask: bool = _field(True, "build the validity mask from the items' SCL")


class TheiaInputs(_Inputs):
    """Theia/MAJA Level-2A product folders, in a folder per tile."""

    stages: ClassVar = ("labkit.sources.read_theia",)
    runner_keys: ClassVar = ("folders",)
    kind: Literal["theia"] = _field("theia", "what the inputs are: zarr, files, stac, theia or safe")
    folders: str = _field("SENTINEL2*", "the pattern of the product folders inside each tile's folder")
    reflectance: Literal["FRE", "SRE"] = _field("FRE", "flat (FRE) or surface (SRE) reflectance")
    resolution: Literal[10, 20] = _field(10, "the pixel size in metres")
    resampling: str = _field("bilinear", "how 20 m bands are resampled to 10 m")
    chunks: Chunks = _field(1024, "dask chunks: a side in pixels or {dim: size}")


class SafeInputs(_Inputs):
    """Sentinel-2 L2A SAFE folders, in a folder per tile."""

    stages: ClassVar = ("labkit.sources.read_safe",)
    runner_keys: ClassVar = ("folders",)
    kind: Literal["safe"] = _field("safe", "what the inputs are: zarr, files, stac, theia or safe")
    folders: str = _field("S2*.SAFE", "the pattern of the SAFE folders inside each tile's folder")
    resolution: Literal[10, 20] = _field(10, "the pixel size in metres")
    resampling: str = _field("bilinear", "how 20 m bands are resampled to 10 m")
    chunks: Chunks = _field(1024, "dask chunks: a side in pixels or {dim: size}")


Inputs = Annotated[ZarrInputs | FilesInputs | StacInputs | TheiaInputs | SafeInputs, Field(discriminator="kind")]


def input_models() -> dict[str, type[Section]]:
    """The section model of each kind of inputs.

    Example
    -------
    >>> input_models()["theia"].stages
    ('labkit.sources.read_theia',)
    """
    return {"zarr": ZarrInputs, "files": FilesInputs, "stac": StacInputs, "theia": TheiaInputs, "safe": SafeInputs}


# -------------------------------------------------------------------------------------------------- tiles


def _tile_name(path: Path) -> str:
    return path.name.split(".")[0] or path.name


class TilesSection(Section):
    """The tiles: each one is read, masked, gap-filled, sampled and mapped on its own (give one of the keys)."""

    paths: list[ExistingPath] | None = Field(
        None, description="one input per tile: a Zarr store, or a folder of files or of product folders",
        examples=[["tiles/T31TCJ.zarr", "tiles/T31TDJ.zarr"]])
    glob: str | None = _field(None, "or a pattern of the tiles' inputs, e.g. 'tiles/*.zarr'")
    bboxes: dict[str, BBox] | None = _field(None, "or, for STAC inputs, {name: [west, south, east, north]} in degrees")
    _paths: dict[str, Path] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _one_way(self, info: ValidationInfo):
        given = [key for key in ("paths", "glob", "bboxes") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(f"give one of 'paths', 'glob' or 'bboxes'; got {given or 'none'}")
        paths = self.paths
        if self.glob is not None:
            paths = sorted(Path(p).absolute() for p in globbing.glob(str(_base(info) / self.glob)))
            if not paths:
                raise ValueError(f"glob: the pattern {self.glob!r} matches nothing in {str(_base(info).absolute())!r}")
        if paths is not None:
            names = [_tile_name(p) for p in paths]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"tiles must have distinct names (their file names); {twice} come twice")
            self._paths = dict(zip(names, paths, strict=True))
        elif not self.bboxes:
            raise ValueError("'bboxes' is empty")
        return self


# -------------------------------------------------------------------------------------------------- stages


class MasksSection(Section):
    """The validity mask: the readers build it (Zarr mask, SCL, MAJA); this section refines it."""

    stages: ClassVar = ("labkit.masks.mask_from_scl", "labkit.masks.mask_from_maja", "labkit.masks.mask_from_nodata")
    dilate: int = _field(0, "grow the cloud mask by this many pixels", ge=0)
    valid_range: tuple[float, float] | None = _field(None, "[low, high]: values outside it are invalid")


class GapfillSection(Section):
    """Gap-filling onto a regular time grid (set the section to null to keep the observed dates)."""

    stages: ClassVar = ("labkit.gapfill.fill_gaps",)
    method: Literal["linear", "nearest", "whittaker"] = _field("linear", "linear, nearest or whittaker")
    step: Step = _field("auto", "days between target dates, or 'auto' (the median revisit)")
    start: DateText | None = _field(None, "the first target date (default: the cube's first)")
    end: DateText | None = _field(None, "the last target date (default: the cube's last)")
    dates: list[DateText] | None = _field(None, "or the target dates themselves")
    lambda_: float | None = _field(None, "smoothing of method whittaker (default 1000)", gt=0)


class FeaturesSection(Section):
    """Features computed from the (gap-filled) cube: time-indexed bands, sampled and mapped (the temporal
    statistics of a classical model are its own, ``models[].stats``)."""

    stages: ClassVar = ("labkit.features.compute_features",)
    indices: list[str] | None = _field(["NDVI"], "spectral indices added as bands (see labkit.features.INDICES)")
    expressions: dict[str, str] | None = _field(None, "{name: band arithmetic}, e.g. {NDWI: (B03 - B08) / (B03 + B08)}")
    keep_bands: bool = _field(True, "keep the cube's bands next to the new ones")

    @field_validator("indices")
    @classmethod
    def _known_indices(cls, indices):
        from ..features import feature_bands

        feature_bands(None, indices=indices or [])  # the names, with a "did you mean"; the tiles' bands at plan time
        return indices

    @field_validator("expressions")
    @classmethod
    def _valid_expressions(cls, expressions):
        from ..errors import ConfigError
        from ..features import feature_bands

        for name, expression in (expressions or {}).items():  # the syntax; the bands are the tiles' (at plan time)
            try:
                feature_bands(None, expressions={name: expression})
            except ConfigError as error:
                raise ValueError(f"{name}: {error}") from None
        return expressions


class ReferenceSection(Section):
    """The reference polygons, the samples drawn in them, and their train/test split into runs."""

    stages: ClassVar = ("labkit.samples.extract_samples", "labkit.samples.split_runs",
                        "labkit.samples.balance_classes")
    runner_keys: ClassVar = ("polygons",)
    polygons: ExistingPath = _required("the reference vector file (GeoPackage, shapefile...)", "reference.gpkg")
    class_field: str = _field("class_id", "the field of the class codes")
    id_field: str | None = _field("polygon_id", "the field of the polygon ids (samples of a polygon stay together)")
    name_field: str | None = _field("class_name", "the field of the class names")
    start: str | None = _field(None, "the field of the first day each polygon was observed over")
    end: str | None = _field(None, "the field of its last day")
    all_touched: bool = _field(False, "sample every pixel a polygon touches (not only the centred ones)")
    on_outside: Literal["raise", "drop"] = _field("drop", "polygons outside a tile: raise or drop")
    min_samples_per_class: Positive = _field(1, "the fewest samples a class may have")
    on_too_few: Literal["raise", "drop"] = _field("raise", "a class with fewer: raise or drop")
    n_runs: Positive = _field(5, "train/test splits, one model each")
    train_size: float = _field(0.7, "the share of the groups in training", gt=0, lt=1)
    random_state: int = _field(0, "the seed of the split (and of the models)", ge=0, le=2**32 - 1)
    by_region: bool = _field(False, "split within each region")
    group_by: str = _field("group", "samples of one group stay on one side of the split")
    max_per_class: Positive | None = _field(None, "at most this many training samples per class, drawn in turn "
                                                  "from each polygon (none: all)")
    min_per_class: Positive | None = _field(None, "with oversample: bring smaller classes to this many samples")
    oversample: bool = _field(False, "duplicate the training samples of small classes")

    @model_validator(mode="after")
    def _balance(self):
        if self.min_per_class is not None and not self.oversample:
            raise ValueError("min_per_class goes with oversample: true (it is the size small classes are brought to)")
        if None not in (self.min_per_class, self.max_per_class) and self.min_per_class > self.max_per_class:
            raise ValueError(f"min_per_class ({self.min_per_class}) is above max_per_class ({self.max_per_class})")
        return self


class ModelSection(Section):
    """A model, as :class:`labkit.models.ModelConfig` takes it; its hyperparameters are checked by the registry."""

    stages: ClassVar = ("labkit.models.ModelConfig",)
    model: str = Field(description="a registered model (labkit models) or a scikit-learn dotted path", examples=["rf"])
    params: dict[str, Any] = _field({}, "its hyperparameters, e.g. {n_estimators: 200}")
    stats: list[str] | None = _field(None, "temporal statistics of a classical model's features step")
    per_region: bool = _field(False, "one model per region of the samples")


class InferenceSection(Section):
    """The maps: predicted block by block on each tile."""

    stages: ClassVar = ("labkit.inference.predict_map",)
    probabilities: bool = _field(True, "also map the class probabilities")
    uncertainty: Literal["entropy", "margin"] = _field("entropy", "the uncertainty map: entropy or margin")
    memory: Memory | None = _field(None, "the budget of the blocks in flight, e.g. '2GB' (sets the block size)")
    block: Block | None = _field(None, "or the block side in pixels, or [rows, columns]")
    workers: Positive | None = _field(None, "threads of one tile's inference (default: all)")
    device: Literal["cpu", "cuda"] | None = _field(None, "where a deep model runs (default: its own device)")
    tile: Positive | None = _field(None, "spatial models: the side of the tiles the network reads")
    overlap: int | None = _field(None, "spatial models: their overlap in pixels", ge=0)
    blend: Literal["cosine", "linear"] = _field("cosine", "spatial models: the weights of overlapping tiles")


class BayesianSmoothing(Section):
    """Smoothing of the probabilities by their neighbours' (before labelling)."""

    stages: ClassVar = ("labkit.postprocess.bayesian_smoothing",)
    window: Positive = _field(5, "the window's side in pixels (odd)")
    smoothness: float = _field(20.0, "the prior's variance: higher smooths more", gt=0)
    neigh_fraction: float = _field(0.5, "the share of the neighbours used", gt=0, le=1)


class MajorityFilter(Section):
    """Majority filter of the class map."""

    stages: ClassVar = ("labkit.postprocess.majority_filter",)
    window: Positive = _field(3, "the window's side in pixels (odd)")


class Sieve(Section):
    """Removal of the patches smaller than ``min_size`` pixels."""

    stages: ClassVar = ("labkit.postprocess.sieve",)
    min_size: Positive = _field(10, "patches under this many pixels take their neighbours' class")
    connectivity: Literal[4, 8] = _field(4, "pixels touch by a side (4) or also by a corner (8)")


class Mosaic(Section):
    """The mosaic of the tiles' maps."""

    stages: ClassVar = ("labkit.postprocess.mosaic",)
    method: Literal["first", "last", "min", "max"] = _field("first", "where tiles overlap: first, last, min or max")
    vrt: bool = _field(False, "write a VRT that points at the tiles' maps instead of a new file")


class PostprocessSection(Section):
    """Post-processing, in this order; a step set to null is skipped."""

    bayesian_smoothing: BayesianSmoothing | None = _field(None, "smooth the probabilities (null: no)")
    majority_filter: MajorityFilter | None = _field(None, "majority filter of the class map (null: no)")
    sieve: Sieve | None = _field(None, "remove small patches (null: no)")
    mosaic: Mosaic | None = _field(Mosaic(), "mosaic of the tiles' maps (null: no)")


class ValidationSection(Section):
    """Accuracy of each run's model on its test samples, and their summary over the runs."""

    stages: ClassVar = ("labkit.accuracy.assess_accuracy",)
    labels: list[int] | None = _field(None, "the class codes reported, in this order (default: all)")
    class_names: dict[int, str] | None = _field(None, "{code: name} (default: the reference's names)")


class OutputsSection(Section):
    """Where the products go: a folder per tile and run, the mosaics and the report."""

    stages: ClassVar = ("labkit.inference.write_map",)
    runner_keys: ClassVar = ("folder", "overwrite")
    folder: AnyPath = _field(Path("outputs"), "the output folder")
    format: Literal["cog", "zarr"] = _field("cog", "cog (Cloud-Optimised GeoTIFFs) or zarr")
    probabilities: Literal["uint8", "float32"] | None = _field("uint8", "probabilities as uint8 percent, float32 or null")
    colors: dict[int, tuple[int, int, int]] | None = _field(None, "{code: [r, g, b]} (default: a palette)")
    cog_tile: Annotated[int, Field(ge=128, le=4096, multiple_of=16)] = _field(
        512, "the side of the COGs' internal tiles, 128..4096, a multiple of 16")
    overwrite: bool = _field(False, "write into a folder that holds other files than an earlier run's")


class ExecutionSection(Section):
    """Where the tasks run (used by the runner): a local Dask cluster, Slurm or PBS jobs, or an existing cluster."""

    scheduler: Literal["local", "slurm", "pbs"] = _field("local", "local, slurm or pbs (dask-jobqueue)")
    address: str | None = _field(None, "or join this running Dask scheduler (e.g. a Dask gateway's)")
    workers: Positive | None = _field(None, "Dask workers (local: sized to the machine; slurm/pbs: jobs)")
    cores: Positive | None = _field(None, "threads per worker (slurm/pbs: cores per job)")
    memory: Memory | None = _field(None, "memory per worker (slurm/pbs: per job), e.g. '16GB'")
    walltime: str | None = _field(None, "slurm/pbs: the time limit of a job, e.g. '02:00:00'")
    queue: str | None = _field(None, "slurm/pbs: the partition or queue")
    account: str | None = _field(None, "slurm/pbs: the account charged")

    @model_validator(mode="after")
    def _batch_keys(self):
        batch = [key for key in ("walltime", "queue", "account") if getattr(self, key) is not None]
        if batch and self.scheduler == "local":
            raise ValueError(f"{batch} go with scheduler slurm or pbs, not local")
        if self.address is not None and self.scheduler != "local":
            raise ValueError("give either an 'address' or a scheduler slurm/pbs, not both")
        return self


# -------------------------------------------------------------------------------------------------- the run


class RunConfig(Section):
    """One run of ``labkit run``: the whole chain, section by section (see the module's table)."""

    inputs: Inputs = _field(ZarrInputs(), "what each tile's input is, and the reader's arguments")
    tiles: TilesSection = _required("the tiles", {"paths": ["tiles/T31TCJ.zarr", "tiles/T31TDJ.zarr"]})
    masks: MasksSection = _field(MasksSection(), "the validity mask")
    gapfill: GapfillSection | None = _field(GapfillSection(), "gap-filling onto a regular time grid (null: none)")
    features: FeaturesSection = _field(FeaturesSection(), "the features")
    reference: ReferenceSection = _required("the reference data and its split into runs",
                                            {"polygons": "reference.gpkg"})
    models: list[ModelSection] = Field([ModelSection(model="rf")], description="the models, each fitted on each run",
                                       min_length=1)
    inference: InferenceSection = _field(InferenceSection(), "the maps")
    postprocess: PostprocessSection = _field(PostprocessSection(), "post-processing of the maps")
    validation: ValidationSection = _field(ValidationSection(), "accuracy assessment")
    outputs: OutputsSection = _field(OutputsSection(), "the products")
    execution: ExecutionSection = _field(ExecutionSection(), "where the tasks run")

    @model_validator(mode="after")
    def _tiles_fit_inputs(self):
        if (self.inputs.kind == "stac") != (self.tiles.bboxes is not None):
            raise ValueError("STAC inputs take tiles.bboxes; the other inputs take tiles.paths or tiles.glob "
                             f"(inputs.kind is {self.inputs.kind!r})")
        return self

    def tile_inputs(self) -> dict[str, Path | BBox]:
        """Each tile's name and its input: a path (store or folder), or a STAC bounding box.

        Example
        -------
        >>> RunConfig.model_validate({"tiles": {"bboxes": {"A": [0, 0, 1, 1]}}, "inputs": {"kind": "stac"},
        ...                           "reference": {"polygons": "."}}).tile_inputs()
        {'A': (0.0, 0.0, 1.0, 1.0)}
        """
        return dict(self.tiles.bboxes) if self.tiles.bboxes is not None else dict(self.tiles._paths)
