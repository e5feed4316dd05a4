"""Public datasets in labkit's own formats: :func:`fetch_dataset` fetches a dataset and converts it into a folder.

``fetch_dataset(NAME, DEST)`` (``labkit fetch NAME --dest DEST``) fetches the dataset's files
(:func:`labkit.datasets.fetch`: origin or mirror, checksums, cache) and writes ``DEST/NAME/``:

* cubes as labkit Zarr stores (:func:`labkit.io.write_zarr`), with their validity mask where the dataset says where
  clouds or no data are: ``cube.zarr``;
* sample sets as NetCDF (:func:`labkit.io.write_samples`): ``train.nc``, ``test.nc``, ``samples.nc``...;
* reference layers as GeoPackage (:func:`labkit.io.write_vector`): ``reference.gpkg``, ``points.gpkg``;
* the super-resolution sets (``dsen2-crops``, ``bigearthnet-*``) as their raw files (MATLAB/HDF5 files, GeoTIFFs
  per band at their native resolutions, a tar.bz2): every band at its own resolution is what they are for, which a
  cube (one grid) cannot hold; :mod:`labkit.datasets.superres_data` reads them;
* ``LICENSE`` (the origin's licence text, or where to find it) and ``README.txt`` (origin URL and commit, licence,
  what each file is).

The folder is written as a whole (under a temporary name, renamed when complete, see :mod:`labkit.outputs`): an
interrupted run leaves nothing. An existing ``DEST/NAME`` is refused unless ``overwrite``, and even then only a
folder that ``fetch_dataset`` wrote is replaced.

Example
-------
>>> files = fetch_dataset("s2-bolzano-tiny", "labkit-data")  # doctest: +SKIP
>>> sorted(files)  # doctest: +SKIP
['LICENSE', 'README.txt', 'cube.zarr']
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import xarray as xr

from .. import __version__
from ..errors import OutputError, OutputExistsError
from ..outputs import _temporary, atomic_path, check_destination
from .remote import DATASETS, RemoteDataset, fetch, find_dataset

__all__ = ["CONVERTERS", "MARKER", "fetch_dataset"]

MARKER = ".labkit-dataset.json"
"""The file by which :func:`fetch_dataset` knows a folder it wrote (the only kind it replaces)."""

Converter = Callable[[Path, Path], dict[str, str]]
"""``converter(fetched root, output folder) -> {file written: what it is}``."""

# --------------------------------------------------------------------------------------------------- cubes


def _openeo_s2(store: str) -> Converter:
    """openEO's Sentinel-2 L2A test stores (dims t, y, x, one variable per band, reflectance x 10 000, SCL)."""

    def convert(root: Path, out: Path) -> dict[str, str]:
        from ..io import write_zarr
        from ..masks import mask_from_scl
        from ..sources.foreign import as_cube

        with xr.open_zarr(root / store) as ds:
            cube = as_cube(ds, bands=["B02", "B03", "B04", "B08"], scale=1e-4).load()
            scl = as_cube(ds, bands=["SCL"]).isel(band=0, drop=True).load()
        mask = mask_from_scl(scl)
        write_zarr(cube, out / "cube.zarr", mask=mask, variables={"scl": scl.fillna(0).astype("uint8")})
        sizes = cube.sizes
        return {"cube.zarr": f"Sentinel-2 L2A cube, {sizes['time']} dates x {sizes['y']} rows x {sizes['x']} "
                             f"columns at 10 m (EPSG:{cube.rio.crs.to_epsg()}), bands B02 B03 B04 B08 as reflectance "
                             "0-1; 'mask' from SCL (labkit.masks.mask_from_scl: clouds, shadows, saturated = 1, no "
                             "data = 2); 'scl' the scene classification itself. labkit.io.read_zarr(path, "
                             "with_mask=True)."}

    return convert


def _slovenia(root: Path, out: Path) -> dict[str, str]:
    from ..datamodel import make_mask
    from ..io import write_vector, write_zarr
    from .embedded import build_slovenia

    ds, polygons = build_slovenia(root)
    cube = ds["cube"].rio.write_crs(ds.rio.crs).rio.write_transform(ds.rio.transform())
    mask = make_mask(ds["validity"].values, like=cube)
    write_zarr(cube, out / "cube.zarr", mask=mask,
               variables={"cloud_probability": ds["cloud_probability"], "reference": ds["reference"]})
    write_vector(polygons, out / "reference.gpkg")
    return {
        "cube.zarr": f"Sentinel-2 NDVI cube, {cube.sizes['time']} dates x {cube.sizes['y']} x {cube.sizes['x']} px "
                     "at 10 m (EPSG:32633); 'mask' from eo-learn's cloud mask (CLM) and IS_DATA; "
                     "'cloud_probability' (%) and 'reference' (the land-cover raster LULC) on the same grid.",
        "reference.gpkg": f"{len(polygons)} land-cover polygons (polygon_id, class_id, class_name; 'schrubland' "
                          "spelled shrubland, unnamed ones 'no label').",
    }


MODIS_NDVI_RANGE = (-0.2, 1.0)
"""MOD13Q1's valid NDVI range (-2000..10000 x 1e-4); its fill value is -3000, blurred below -0.2 by the lossy
JPEG 2000 compression of the sits example files."""


def _sinop(root: Path, out: Path) -> dict[str, str]:
    import geopandas as gpd
    import pandas as pd

    from ..io import read_dates, write_samples, write_vector, write_zarr
    from ..masks import mask_from_cloud
    from ..sample_tables import read_sits_rda

    cube = read_dates(sorted(str(p) for p in (root / "inst/extdata/raster/mod13q1").glob("*.jp2")),
                      bands=["NDVI"], scale=1e-4)
    ndvi = cube.isel(band=0, drop=True)
    low, high = MODIS_NDVI_RANGE
    mask = mask_from_cloud(ndvi > high, is_data=ndvi >= low)
    write_zarr(cube.where(ndvi >= low), out / "cube.zarr", mask=mask)
    written = {"cube.zarr": f"MODIS MOD13Q1 NDVI cube, {cube.sizes['time']} dates "
                            f"{str(cube.time.values[0])[:10]}..{str(cube.time.values[-1])[:10]}, {cube.sizes['x']} x "
                            f"{cube.sizes['y']} px (columns x rows) at 231.7 m, sinusoidal projection; NDVI = "
                            "stored value x 1e-4; 'mask' 2 (and NaN) below -0.2 (MODIS fill), 1 above 1.0."}
    table = pd.read_csv(root / "inst/extdata/samples/samples_sinop_crop.csv")
    points = gpd.GeoDataFrame(table.drop(columns=["longitude", "latitude"]),
                              geometry=gpd.points_from_xy(table["longitude"], table["latitude"]), crs="EPSG:4326")
    write_vector(points, out / "points.gpkg")
    written["points.gpkg"] = (f"{len(points)} labelled points (EPSG:4326; id, label, start_date, end_date) inside "
                              "the cube, from inst/extdata/samples/samples_sinop_crop.csv.")
    for rda in sorted((root / "data").glob("*.rda")):
        samples = read_sits_rda(rda)
        samples.attrs["source"] = f"sits-sinop: data/{rda.name}"
        write_samples(samples, out / f"{rda.stem}.nc")
        written[f"{rda.stem}.nc"] = (f"sits sample table data/{rda.name}: {samples.sizes['sample']} samples x "
                                     f"{samples.sizes['time']} dates x bands {', '.join(samples.band.values)}, "
                                     f"{len(np.unique(samples.label.values))} classes (labels by name).")
    return written


# ----------------------------------------------------------------------------------------------- sample sets


def _describe(samples: xr.Dataset) -> str:
    return (f"{samples.sizes['sample']} samples x {samples.sizes['time']} dates x {samples.sizes['band']} bands "
            f"({', '.join(map(str, samples.band.values))}), {len(np.unique(samples.label.values))} classes")


def _train_test(read: Callable[[Path, str], xr.Dataset]) -> Converter:
    def convert(root: Path, out: Path) -> dict[str, str]:
        from ..io import write_samples

        written = {}
        for split in ("train", "test"):
            samples = read(root, split)
            write_samples(samples, out / f"{split}.nc")
            written[f"{split}.nc"] = f"the published {split} split: {_describe(samples)}."
        return written

    return convert


def _formosat(root: Path, out: Path) -> dict[str, str]:
    from .tables import read_formosat

    written = _train_test(read_formosat)(root, out)
    shutil.copyfile(root / "example/test_img.tif", out / "test_img.tif")
    written["test_img.tif"] = ("the repository's test image as is: 16 x 16 px x 447 layers (149 dates x NIR, R, G), "
                               "no georeference.")
    return written


def _victoria(root: Path, out: Path) -> dict[str, str]:
    from .tables import read_victoria

    return _train_test(read_victoria)(root, out)


def _rondonia(root: Path, out: Path) -> dict[str, str]:
    from ..io import write_samples
    from .tables import read_rondonia

    samples = read_rondonia(root)
    write_samples(samples, out / "samples.nc")
    return {"samples.nc": f"sits in-situ samples (lon/lat in x, y): {_describe(samples)}."}


def _ucr_crop(root: Path, out: Path) -> dict[str, str]:
    from ..io import write_samples
    from ..sample_tables import read_csv_wide

    path = "data/sample/Crop/Crop_TRAIN.tsv"
    samples = read_csv_wide(root / path, label_column=0, bands=["NDVI"], header=False, sep="\t")
    samples.attrs = {"source": f"ucr-crop-train: {path}", "dataset": "ucr-crop-train"}
    write_samples(samples, out / "samples.nc")
    return {"samples.nc": f"UCR Crop training split: {_describe(samples)}; labels 1..24 (the archive gives no "
                          "names), time = position (no dates)."}


# ------------------------------------------------------------------------------------------------- raw files


def _raw_files(name: str) -> Converter:
    """The dataset's files as they are: each of its paths (file or folder) under its last name."""

    def convert(root: Path, out: Path) -> dict[str, str]:
        spec = DATASETS[name]
        written = {}
        for path in spec.paths:
            if path in spec.licence_files:
                continue
            source, target = root / path, out / Path(path).name
            if source.is_dir():
                shutil.copytree(source, target)
                count = sum(1 for p in target.rglob("*") if p.is_file())
                written[target.name] = f"raw files, as in the origin's {path}/ ({count} files)."
            else:
                shutil.copyfile(source, target)
                written[target.name] = f"raw file, the origin's {path}."
        return written

    return convert


CONVERTERS: dict[str, Converter] = {
    "s2-bolzano": _openeo_s2("tests/data/stac/S2_L2A_sample.zarr"),
    "s2-bolzano-tiny": _openeo_s2("tests/data/s2_l2a_zarr_sample.zarr"),
    "eolearn-slovenia": _slovenia,
    "dl4sits-victoria": _victoria,
    "tempcnn-formosat": _formosat,
    "insitu-rondonia": _rondonia,
    "sits-sinop": _sinop,
    "ucr-crop-train": _ucr_crop,
    "dsen2-crops": _raw_files("dsen2-crops"),
    "bigearthnet-s2": _raw_files("bigearthnet-s2"),
    "bigearthnet-s2-example": _raw_files("bigearthnet-s2-example"),
}
"""How each dataset of :data:`labkit.datasets.DATASETS` becomes labkit files."""


# ------------------------------------------------------------------------------------------- licence, README


def _licence(spec: RemoteDataset, root: Path, out: Path) -> dict[str, str]:
    if not spec.licence_files:
        owner_repo, commit = spec.repo.split("@")
        (out / "LICENSE").write_text(
            f"Licence: {spec.licence}\n\nThe files of this dataset come from https://github.com/{owner_repo} at commit "
            f"{commit}, which holds no licence file among them.{' ' + spec.licence_note if spec.licence_note else ''}"
            "\nSee the repository for its terms, and cite it where you use these data.\n", encoding="utf-8")
        return {"LICENSE": f"the licence ({spec.licence}) and where its terms are stated."}
    written = {}
    for path in spec.licence_files:
        shutil.copyfile(root / path, out / Path(path).name)
        written[Path(path).name] = f"the licence text, the origin's {path}."
    return written


def _readme(name: str, spec: RemoteDataset, written: dict[str, str]) -> str:
    width = max(len(n) for n in [*written, "README.txt"])
    listing = "\n".join(f"  {n.ljust(width)}  {what}" for n, what in
                        [*sorted(written.items()), ("README.txt", "this file.")])
    note = f" {spec.licence_note}" if spec.licence_note else ""
    return (
        f"{name}: {spec.description}\n\n"
        f"Origin:  {spec.origin}\n"
        f"         files {', '.join(spec.paths)}\n"
        f"Licence: {spec.licence}.{note}\n\n"
        f"Written by labkit {__version__} ('labkit fetch {name}'), every file checked against its pinned SHA-256:\n\n"
        f"{listing}\n\n"
        "Cite the origin and keep its licence when you use or share these data.\n"
    )


# ------------------------------------------------------------------------------------------------ the folder


def _check_target(target: Path, overwrite: bool) -> None:
    """Refuse, before fetching, a dataset folder that exists (without ``overwrite``) or that labkit did not write."""
    check_destination(target.parent, kind="folder")
    if not (target.exists() or target.is_symlink()):
        return
    if not target.is_dir():
        raise OutputError(f"{target} is a file, not a dataset folder: labkit never replaces a file with a folder. "
                          "Choose another --dest.")
    if not overwrite:
        raise OutputExistsError(f"{target} already exists. Pass overwrite=True (--overwrite) to replace it, or "
                                "choose another destination (--dest).")
    if any(target.iterdir()) and not (target / MARKER).is_file():
        raise OutputError(f"{target} is a folder that labkit fetch did not write (no {MARKER} in it): labkit "
                          "replaces only its own. Choose another destination (--dest), or empty it yourself.")


@contextlib.contextmanager
def _dataset_folder(target: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a new folder to fill; it becomes ``target`` when the block succeeds, and the old ``target`` (if any)
    goes. On failure the old one is put back: set aside under a name :func:`labkit.outputs.clear_stale_temporaries`
    restores if the process is killed meanwhile."""
    _check_target(target, overwrite)
    aside = None
    if target.exists():
        aside = _temporary(target, "old")
        os.replace(target, aside)
    try:
        with atomic_path(target, kind="store") as tmp:
            tmp.mkdir()
            yield tmp
    except BaseException:
        if aside is not None:
            os.replace(aside, target)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def fetch_dataset(
    name: str,
    dest: str | os.PathLike,
    *,
    mirror: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> dict[str, Path]:
    """Fetch a public dataset and write it into ``dest/NAME/`` in labkit's formats, with its licence and a README.

    Parameters
    ----------
    name : str
        A dataset of :data:`labkit.datasets.DATASETS` (``labkit fetch --list``).
    dest : path
        The folder that receives the dataset's folder ``NAME``.
    mirror : str or path, optional
        Where the files come from: a mirror folder or URL (see :mod:`labkit.datasets.remote`); default
        ``$LABKIT_DATA_MIRROR``, else the origin.
    cache_dir : path, optional
        The download cache; default ``$LABKIT_CACHE``, else pooch's cache folder for ``labkit``.
    overwrite : bool, default False
        Replace ``dest/NAME`` if it exists (only a folder that ``fetch_dataset`` wrote).
    progress : bool, default False
        Show a progress bar while fetching.

    Returns
    -------
    dict of str to pathlib.Path
        ``{file name: path}`` of what ``dest/NAME/`` holds: ``cube.zarr``, ``train.nc``... ``LICENSE``,
        ``README.txt``.

    Raises
    ------
    labkit.errors.DatasetError
        Unknown name (with the closest names), a file that cannot be fetched or fails its checksum.
    labkit.errors.OutputExistsError
        ``dest/NAME`` exists and ``overwrite`` is False.
    labkit.errors.OutputError
        ``dest/NAME`` is a file, or a folder that ``fetch_dataset`` did not write; ``dest`` cannot be written.

    Example
    -------
    >>> files = fetch_dataset("dl4sits-victoria", "labkit-data")  # doctest: +SKIP
    >>> from labkit.io import read_samples  # doctest: +SKIP
    >>> read_samples(files["train.nc"]).sizes["sample"]  # doctest: +SKIP
    400
    """
    spec = find_dataset(name)
    target = Path(dest) / name
    _check_target(target, overwrite)  # before fetching: a refused destination costs no download
    root = fetch(name, mirror=mirror, cache_dir=cache_dir, progress=progress)
    with _dataset_folder(target, overwrite) as out:
        written = CONVERTERS[name](root, out)
        written.update(_licence(spec, root, out))
        (out / "README.txt").write_text(_readme(name, spec, written), encoding="utf-8")
        (out / MARKER).write_text(json.dumps({"dataset": name, "repo": spec.repo, "labkit": __version__,
                                              "files": sorted([*written, "README.txt"])}, indent=1) + "\n",
                                  encoding="utf-8")
    return {file: target / file for file in sorted([*written, "README.txt"])}
