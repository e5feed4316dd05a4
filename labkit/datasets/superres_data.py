"""Real Sentinel-2 scenes with every band at its native resolution: the data of super-resolution.

* :func:`load_dsen2` — one of the two **DSen2** crops (Lanaras et al. 2018, ``lanha/DSen2``, data CC BY 4.0):
  Sentinel-2 **L1C**, 6 x 6 km, 600 x 600 px at 10 m (B02 B03 B04 B08), 300 x 300 at 20 m (B05 B06 B07 B8A B11
  B12), 100 x 100 at 60 m (B01 B09); MATLAB v7.3 files (HDF5) without CRS or transform;
* :func:`load_bigearthnet` — the 14 distinct **BigEarthNet** patches of ``kai-tub/bigearthnet_common``
  (Sentinel-2 **L2A**, 1.2 x 1.2 km: 120 x 120 px at 10 m, 60 x 60 at 20 m, 20 x 20 at 60 m), one GeoTIFF per band,
  with CRS, transform, date and land-cover labels.

Both return :class:`Scene` objects: a dict of bands (float32 reflectance: digital numbers / 10 000, B01..B12 at
their native resolution; DSen2's are top-of-atmosphere, BigEarthNet's surface reflectance), plus the scene's name,
date, CRS and the transform of its 10 m grid. Every grid of a scene shares its upper-left corner: a 20 m pixel
covers the 2 x 2 10 m pixels below and right of its corner. Files come through :func:`labkit.datasets.fetch`, from
their origin or ``mirror`` / ``$LABKIT_DATA_MIRROR`` (a local copy), checked against pinned checksums. The next stage is
:mod:`labkit.models.deep.superres` (training) and :mod:`labkit.superres` (applying it to a cube).

Example
-------
>>> scene = load_dsen2("T33UUB")  # doctest: +SKIP
>>> scene.bands["B02"].shape, scene.bands["B05"].shape, scene.bands["B01"].shape  # doctest: +SKIP
((600, 600), (300, 300), (100, 100))
"""

from __future__ import annotations

import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from affine import Affine

from ..errors import ConfigError, ReadError
from ..inputs import read_failure
from .remote import fetch

__all__ = ["BANDS_10M", "BANDS_20M", "BANDS_60M", "DSEN2_SCENES", "Scene", "load_bigearthnet", "load_dsen2"]

BANDS_10M = ("B02", "B03", "B04", "B08")
BANDS_20M = ("B05", "B06", "B07", "B8A", "B11", "B12")
BANDS_60M = ("B01", "B09")
RESOLUTION = {**dict.fromkeys(BANDS_10M, 10), **dict.fromkeys(BANDS_20M, 20), **dict.fromkeys(BANDS_60M, 60)}
"""The native resolution (m) of each band that the two datasets hold (B10, cirrus, is in neither)."""

DSEN2_SCENES = ("S2A_MSIL1C_20170527_T33UUB", "S2B_MSIL1C_20171022_T49JGM")
"""The two DSen2 crops: fields and a village in Germany (T33UUB), a salt lake in Western Australia (T49JGM)."""

_DSEN2_VARIABLES = (("im10", BANDS_10M), ("im20", BANDS_20M), ("im60", BANDS_60M))
_BEN_TINY = "nbs/datasets/tiny"
_BEN_TAR = "src/bigearthnet_common/BigEarthNet-S2-Example.tar.bz2"
DN_SCALE = 10_000.0
"""Sentinel-2 digital numbers are reflectance x 10 000."""


@dataclass(frozen=True)
class Scene:
    """One Sentinel-2 scene (or patch) with each band at its native resolution.

    Attributes
    ----------
    name : str
        The product-style name (``S2A_MSIL1C_20170527_T33UUB``, ``S2B_MSIL2A_20170924T93021_41_29``).
    bands : dict of str to numpy.ndarray
        ``(y, x)`` float32 reflectance per band, at 10, 20 or 60 m (see :data:`RESOLUTION`).
    date : numpy.datetime64
        The acquisition date (from the name).
    crs : rasterio.crs.CRS or None
        None for DSen2's crops, which carry no georeference.
    transform : affine.Affine or None
        The transform of the 10 m grid; a band at ``r`` m has ``transform * Affine.scale(r / 10)``.
    labels : tuple of str
        BigEarthNet's land-cover labels of the patch (empty for DSen2).
    source : str
        The file or folder the scene was read from.
    level : str
        ``"L1C"`` (top-of-atmosphere reflectance, DSen2) or ``"L2A"`` (surface reflectance, BigEarthNet).
    """

    name: str
    bands: dict[str, np.ndarray]
    date: np.datetime64
    crs: object = None
    transform: Affine | None = None
    labels: tuple[str, ...] = ()
    source: str = ""
    level: str = field(default="", compare=False)

    def transform_at(self, resolution: int) -> Affine | None:
        """The transform of the grid at ``resolution`` m (10, 20 or 60), None without a georeference.

        Example
        -------
        >>> s = Scene("x", {}, np.datetime64("2021-05-01"), "EPSG:32633", Affine(10, 0, 500000, 0, -10, 4000000))
        >>> tuple(s.transform_at(20))[:6]
        (20.0, 0.0, 500000.0, 0.0, -20.0, 4000000.0)
        """
        return None if self.transform is None else self.transform * Affine.scale(resolution / 10)


def _date_of(name: str) -> np.datetime64:
    """The date in a Sentinel-2 product name: the 8 digits after ``MSIL1C_`` / ``MSIL2A_``."""
    stamp = name.split("_")[2][:8]
    return np.datetime64(f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}", "D")


# ---------------------------------------------------------------------------------------------------------- DSen2


def _dsen2_name(name: str) -> str:
    matches = [s for s in DSEN2_SCENES if name in (s, s.rsplit("_", 1)[1])]
    if not matches:
        raise ConfigError(f"load_dsen2: unknown scene {name!r}; choose one of {DSEN2_SCENES} (or its tile: "
                          f"{[s.rsplit('_', 1)[1] for s in DSEN2_SCENES]}).")
    return matches[0]


def read_dsen2_mat(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The bands of a DSen2 ``.mat`` file (MATLAB v7.3 = HDF5) as float32 reflectance, in the right orientation.

    The file holds ``im10`` (4, 600, 600), ``im20`` (6, 300, 300) and ``im60`` (2, 100, 100) in digital numbers,
    each image stored transposed (MATLAB is column-major): they are read with ``.transpose(0, 2, 1)`` and divided
    by 10 000.

    Raises
    ------
    labkit.errors.ReadError
        Naming the file: not HDF5, a variable missing or of the wrong shape.
    """
    import h5py

    path = Path(path)
    bands = {}
    try:
        with h5py.File(path, "r") as handle:
            for variable, names in _DSEN2_VARIABLES:
                if variable not in handle:
                    raise ReadError(f"{path}: no variable {variable!r} (found {sorted(handle)}); expected a DSen2 "
                                    "file with im10, im20 and im60.")
                data = np.asarray(handle[variable][()], dtype=np.float32)
                if data.ndim != 3 or data.shape[0] != len(names):
                    raise ReadError(f"{path}: {variable} has shape {data.shape}; expected ({len(names)}, n, n).")
                for name, image in zip(names, data.transpose(0, 2, 1)):
                    bands[name] = np.ascontiguousarray(image) / np.float32(DN_SCALE)
    except ReadError:
        raise
    except Exception as error:  # h5py raises OSError for a file that is not HDF5
        raise read_failure(error, str(path)) from None
    return bands


def load_dsen2(name: str, mirror: str | os.PathLike | None = None, *,
               cache_dir: str | os.PathLike | None = None) -> Scene:
    """One of DSen2's two Sentinel-2 L1C crops, every band at its native resolution.

    Parameters
    ----------
    name : str
        ``"S2A_MSIL1C_20170527_T33UUB"`` (Germany: fields, a village) or ``"S2B_MSIL1C_20171022_T49JGM"``
        (Western Australia: a salt lake), or just the tile, ``"T33UUB"`` / ``"T49JGM"``.
    mirror : str or path, optional
        A local mirror folder or URL of the files (see :func:`labkit.datasets.fetch`); default
        ``$LABKIT_DATA_MIRROR``, else the origin.
    cache_dir : path, optional
        See :func:`labkit.datasets.fetch`.

    Returns
    -------
    Scene
        B02 B03 B04 B08 600 x 600 (10 m), B05 B06 B07 B8A B11 B12 300 x 300 (20 m), B01 B09 100 x 100 (60 m),
        float32 top-of-atmosphere reflectance; no CRS nor transform (the files hold none).

    Raises
    ------
    labkit.errors.ConfigError
        Unknown scene name.
    labkit.errors.DatasetError, labkit.errors.ReadError
        The file cannot be fetched, or read (naming it).

    Example
    -------
    >>> scene = load_dsen2("T49JGM")  # doctest: +SKIP
    >>> scene.name, str(scene.date), round(float(scene.bands["B8A"].mean()), 3)  # doctest: +SKIP
    ('S2B_MSIL1C_20171022_T49JGM', '2017-10-22', 0.268)
    """
    full = _dsen2_name(name)
    path = f"data/{full}.mat"
    root = fetch("dsen2-crops", (path,), mirror=mirror, cache_dir=cache_dir)
    bands = read_dsen2_mat(root / path)
    return Scene(full, bands, _date_of(full), source=str(root / path), level="L1C")


# ---------------------------------------------------------------------------------------------------- BigEarthNet


def _read_band(source, label: str) -> tuple[np.ndarray, object, Affine]:
    """One BigEarthNet GeoTIFF (a path or bytes) as float32 reflectance, with its CRS and transform."""
    import rasterio
    from rasterio.io import MemoryFile

    try:
        if isinstance(source, bytes):
            with MemoryFile(source) as memory, memory.open() as dataset:
                data, crs, transform = dataset.read(1), dataset.crs, dataset.transform
        else:
            with rasterio.open(source) as dataset:
                data, crs, transform = dataset.read(1), dataset.crs, dataset.transform
    except Exception as error:
        raise read_failure(error, label) from None
    return data.astype(np.float32) / np.float32(DN_SCALE), crs, transform


def _patch(name: str, files: dict[str, object], source: str) -> Scene:
    """A BigEarthNet patch from its files: ``{"B02": path or bytes, ..., "labels": path or bytes}``."""
    bands, crs, transform = {}, None, None
    for band in (*BANDS_10M, *BANDS_20M, *BANDS_60M):
        if band not in files:
            raise ReadError(f"{source}: patch {name} has no {band} GeoTIFF ({name}_{band}.tif).")
        label = f"{source}/{name}_{band}.tif"
        bands[band], band_crs, band_transform = _read_band(files[band], label)
        expected = 120 // (RESOLUTION[band] // 10)
        if bands[band].shape != (expected, expected):
            raise ReadError(f"{label}: shape {bands[band].shape}; a BigEarthNet patch has {expected} x {expected} "
                            f"px at {RESOLUTION[band]} m.")
        if band == "B02":
            crs, transform = band_crs, band_transform
        elif band_crs != crs or (band_transform.c, band_transform.f) != (transform.c, transform.f):
            raise ReadError(f"{label}: its CRS or upper-left corner differs from {name}_B02.tif's.")
    labels = ()
    if "labels" in files:
        raw = files["labels"] if isinstance(files["labels"], bytes) else Path(files["labels"]).read_bytes()
        labels = tuple(json.loads(raw).get("labels", ()))
    return Scene(name, bands, _date_of(name), crs, transform, labels, source, level="L2A")


def _files_of(folder: Path) -> dict[str, Path]:
    name = folder.name
    files = {p.stem[len(name) + 1:]: p for p in folder.glob(f"{name}_B*.tif")}
    labels = folder / f"{name}_labels_metadata.json"
    if labels.is_file():
        files["labels"] = labels
    return files


def _tar_patches(path: Path) -> dict[str, dict[str, bytes]]:
    """``{patch name: {band or "labels": bytes}}`` of the example archive, read in memory (nothing extracted)."""
    patches: dict[str, dict[str, bytes]] = {}
    try:
        with tarfile.open(path, "r:bz2") as archive:
            for member in archive.getmembers():
                parts = member.name.split("/")
                if not member.isfile() or len(parts) != 3:
                    continue
                name, file = parts[1], parts[2]
                key = "labels" if file.endswith("_labels_metadata.json") else file[len(name) + 1:].removesuffix(".tif")
                patches.setdefault(name, {})[key] = archive.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise read_failure(error, str(path)) from None
    return patches


def load_bigearthnet(mirror: str | os.PathLike | None = None, *,
                     cache_dir: str | os.PathLike | None = None) -> list[Scene]:
    """The 14 distinct BigEarthNet Sentinel-2 L2A patches of ``kai-tub/bigearthnet_common``, sorted by name.

    11 come from ``nbs/datasets/tiny`` (dataset ``bigearthnet-s2``) and 6 from the example archive
    (``bigearthnet-s2-example``), 3 of which are the same (byte for byte) as in ``tiny``: they are kept once.

    Parameters
    ----------
    mirror : str or path, optional
        A local mirror folder or URL of the files (see :func:`labkit.datasets.fetch`); default
        ``$LABKIT_DATA_MIRROR``, else the origin.
    cache_dir : path, optional
        See :func:`labkit.datasets.fetch`.

    Returns
    -------
    list of Scene
        Each with B02 B03 B04 B08 120 x 120 (10 m), B05 B06 B07 B8A B11 B12 60 x 60 (20 m), B01 B09 20 x 20 (60 m)
        as float32 surface reflectance (uint16 digital numbers / 10 000), its CRS (UTM), the transform of its 10 m
        grid, date and labels.

    Raises
    ------
    labkit.errors.DatasetError, labkit.errors.ReadError
        A file cannot be fetched, or read (naming it).

    Example
    -------
    >>> patches = load_bigearthnet()  # doctest: +SKIP
    >>> len(patches), patches[0].bands["B02"].shape, patches[0].bands["B05"].shape  # doctest: +SKIP
    (14, (120, 120), (60, 60))
    """
    tiny = fetch("bigearthnet-s2", (_BEN_TINY,), mirror=mirror, cache_dir=cache_dir) / _BEN_TINY
    scenes = {folder.name: _patch(folder.name, _files_of(folder), str(folder))
              for folder in sorted(tiny.iterdir()) if folder.is_dir()}
    archive = fetch("bigearthnet-s2-example", (_BEN_TAR,), mirror=mirror, cache_dir=cache_dir) / _BEN_TAR
    for name, files in sorted(_tar_patches(archive).items()):
        if name not in scenes:
            scenes[name] = _patch(name, files, f"{archive}:{name}")
    return [scenes[name] for name in sorted(scenes)]
