"""Class 1, data loss: no writer deletes or replaces a folder to write a file, or anything it did not write.

Every case puts a user's files where an output goes, asks for the output (with ``overwrite`` where it exists), and
checks that a labkit error said why and that every file of the user's is still there, byte for byte.
"""

from __future__ import annotations

import shutil

import geopandas as gpd
import nbformat
import pytest
from shapely.geometry import Point

from labkit.accuracy import assess_accuracy
from labkit.cli import main
from labkit.errors import ConfigError, OutputError, OutputExistsError
from labkit.io import write_bands, write_cog, write_dates, write_json, write_samples, write_vector, write_zarr
from labkit.outputs import atomic_files, atomic_paths
from labkit.report import write_accuracy_report, write_report

from .damage import user_files


@pytest.fixture
def precious(tmp_path):
    """A folder of the user's, with two files and a sub-folder."""
    folder = tmp_path / "precious"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.tex").write_text("three years of work")
    (folder / "sub" / "data.csv").write_text("1,2,3")
    (folder / "notes.md").write_text("notes")
    return folder


def _intact(folder) -> None:
    assert (folder / "thesis.tex").read_text() == "three years of work"
    assert (folder / "sub" / "data.csv").read_text() == "1,2,3"
    assert (folder / "notes.md").read_text() == "notes"


FOLDER_AS_FILE = r"is a folder: labkit never deletes a folder to write a file"


@pytest.mark.parametrize("writer", ["cog", "json", "samples", "vector", "dates-folder-file"])
def test_a_file_writer_never_replaces_a_folder(precious, cube, samples, writer):
    calls = {
        "cog": lambda: write_cog(cube.isel(time=0, band=0, drop=True), precious, overwrite=True),
        "json": lambda: write_json({"a": 1}, precious, overwrite=True),
        "samples": lambda: write_samples(samples, precious, overwrite=True),
        "vector": lambda: write_vector(gpd.GeoDataFrame(geometry=[Point(0, 0)], crs="EPSG:4326"), precious,
                                       overwrite=True),
    }
    if writer == "vector":  # a folder named like a GeoPackage
        precious = precious.rename(precious.with_suffix(".gpkg"))
    if writer == "dates-folder-file":  # one of the date files would be a folder of the user's
        (precious.parent / "out").mkdir()
        blocker = precious.parent / "out" / "2021-03-11.tif"
        precious.rename(blocker)
        with pytest.raises(OutputError, match=FOLDER_AS_FILE):
            write_dates(cube, precious.parent / "out", overwrite=True)
        assert sorted(p.name for p in blocker.parent.iterdir()) == ["2021-03-11.tif"]  # nothing else written
        _intact(blocker)
        return
    with pytest.raises(OutputError, match=FOLDER_AS_FILE):
        calls[writer]()
    _intact(precious)


def test_a_store_writer_never_replaces_a_folder_that_is_not_a_store(precious, cube):
    with pytest.raises(OutputError, match=r"is a folder that is not a Zarr store: labkit replaces only a store"):
        write_zarr(cube, precious, overwrite=True)
    _intact(precious)


def test_a_store_writer_never_replaces_a_file(tmp_path, cube):
    path = tmp_path / "cube.zarr"
    path.write_text("not a store")
    with pytest.raises(OutputError, match=r"is a file, not a store"):
        write_zarr(cube, path, overwrite=True)
    assert path.read_text() == "not a store"


def test_a_store_replaces_a_store(store, cube):
    write_zarr(cube * 0, store, overwrite=True)
    from labkit.io import read_zarr

    assert float(read_zarr(store).sum()) == 0.0


def test_cv_json_on_a_folder_keeps_the_folder(precious, samples_file, capsys):
    code = main(["cv", str(samples_file), "--model", "rf", "--folds", "2", "--json", str(precious), "--overwrite"])
    out, err = capsys.readouterr()
    assert code == 2 and FOLDER_AS_FILE in err.replace("\n", " ")
    assert out == ""  # refused before the cross-validation
    _intact(precious)


def test_synth_refuses_a_folder_of_the_users(precious, capsys):
    store = precious.with_suffix(".zarr")
    precious.rename(store)
    code = main(["synth", "--out", str(store), "--size", "16", "16", "--dates", "2", "--overwrite", "--no-progress"])
    assert code == 2 and "is a folder that is not a Zarr store" in capsys.readouterr().err
    _intact(store)
    assert not store.with_suffix(".gpkg").exists()


def test_synth_refuses_a_polygons_path_that_is_a_folder(precious, capsys):
    precious.rename(precious.with_suffix(".gpkg"))
    out = precious.with_suffix(".zarr")
    code = main(["synth", "--out", str(out), "--size", "16", "16", "--dates", "2", "--overwrite", "--no-progress"])
    assert code == 2 and FOLDER_AS_FILE in capsys.readouterr().err
    assert not out.exists()
    _intact(precious.with_suffix(".gpkg"))


@pytest.mark.slow
def test_demo_writes_beside_the_users_files_and_replaces_only_its_own(precious):
    from labkit.demo import run_demo

    run_demo(precious, n_estimators=2, progress=False)
    _intact(precious)
    run_demo(precious, n_estimators=3, progress=False)  # its own files, unchanged: replaced without asking
    _intact(precious)
    (precious / "report.md").write_text("my edits")  # changed: now the user's
    with pytest.raises(OutputExistsError, match="report.md already exists and is not an unchanged output"):
        run_demo(precious, n_estimators=2, progress=False)
    assert (precious / "report.md").read_text() == "my edits"
    run_demo(precious, n_estimators=2, progress=False, overwrite=True)  # unless asked
    assert (precious / "report.md").read_text().startswith("# labkit demo")
    _intact(precious)


def test_reports_replace_their_own_files_only(precious, cube):
    class_map = cube.isel(time=0, band=0, drop=True).astype("uint8")
    accuracy = assess_accuracy([1, 2, 2], [1, 2, 1])
    for _ in range(2):  # the second report replaces the first's files, and nothing else
        write_report(precious, title="t", accuracy=accuracy, class_map=class_map,
                     confidence=class_map.astype(float), facts={})
        write_accuracy_report(precious, accuracy)
    _intact(precious)
    assert {"report.md", "maps.png", "confusion_matrix.png", "accuracy_report.md"} <= set(user_files(precious))


def test_reports_can_refuse_to_replace(precious):
    (precious / "accuracy_report.md").write_text("mine")
    with pytest.raises(OutputExistsError, match="accuracy_report.md already exists"):
        write_accuracy_report(precious, assess_accuracy([1], [1]), overwrite=False)
    assert (precious / "accuracy_report.md").read_text() == "mine"
    assert not (precious / "confusion_matrix.png").exists()  # nothing written: checked before


def test_a_report_file_name_cannot_leave_its_folder(precious):
    with pytest.raises(ConfigError, match="filename must be a plain file name"):
        write_accuracy_report(precious, assess_accuracy([1], [1]), filename="../../escape.md")


def test_atomic_files_keep_other_files_and_refuse_existing_ones(precious):
    with pytest.raises(OutputExistsError, match="notes.md already exists"):
        with atomic_files(precious, expected=["notes.md"]) as staging:
            (staging / "notes.md").write_text("replaced")
    _intact(precious)
    with pytest.raises(OutputExistsError, match="notes.md already exists"):
        with atomic_files(precious) as staging:  # names known only while writing: checked before any move
            (staging / "new.txt").write_text("new")
            (staging / "notes.md").write_text("replaced")
    _intact(precious)
    assert not (precious / "new.txt").exists()  # all or nothing
    assert not [p for p in precious.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_all_or_nothing_when_one_output_exists(tmp_path, cube):
    (tmp_path / "dates").mkdir()
    (tmp_path / "dates" / "2021-04-20.tif").write_text("the user's")  # the last date's file
    with pytest.raises(OutputExistsError):
        write_dates(cube, tmp_path / "dates")
    assert user_files(tmp_path / "dates") == {"2021-04-20.tif": b"the user's"}  # none of the others was written
    (tmp_path / "bands").mkdir()
    (tmp_path / "bands" / "B08.tif").mkdir()  # a folder where the second band's file goes
    with pytest.raises(OutputError, match=FOLDER_AS_FILE):
        write_bands(cube, tmp_path / "bands", overwrite=True)
    assert sorted(p.name for p in (tmp_path / "bands").iterdir()) == ["B08.tif"]


def test_an_exception_while_writing_leaves_the_old_output_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    write_json({"version": 1}, target)
    with pytest.raises(RuntimeError):
        with atomic_paths([target], overwrite=True) as (tmp,):
            tmp.write_text('{"version": 2, "half')
            raise RuntimeError("the writer failed")
    assert target.read_text() == '{\n  "version": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_value_json_cannot_hold_is_refused_before_the_file_is_touched(tmp_path):
    target = tmp_path / "metrics.json"
    write_json({"oa": 0.9}, target)

    class Loop(dict):
        pass

    loop = Loop()
    loop["self"] = loop
    with pytest.raises(ConfigError, match=r"cannot be written as JSON \(nested too deeply, or circular\)"):
        write_json(loop, target, overwrite=True)
    assert "0.9" in target.read_text()


def test_two_outputs_cannot_be_the_same_file(tmp_path):
    with pytest.raises(ConfigError, match="Two outputs would have the same path"):
        with atomic_paths([tmp_path / "a.tif", tmp_path / "." / "a.tif"]):
            pass


def test_a_failed_replacement_keeps_the_previous_map(tmp_path, cube):
    """A failing write of a COG (values that do not fit the type) leaves the previous map."""
    first = write_cog(cube.isel(time=0, band=0, drop=True), tmp_path / "m.tif")
    before = first.read_bytes()
    bad = cube.isel(time=0, band=0, drop=True) * 1e6
    with pytest.raises(Exception, match="do not fit"):
        write_cog(bad, first, dtype="uint8", nodata=255, overwrite=True)
    assert first.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tif"]


# ------------------------------------------------------------------------------------------------ the course


@pytest.fixture
def one_source(tmp_path):
    """A course folder with the first real notebook source."""
    from pathlib import Path

    src = tmp_path / "src"
    src.mkdir()
    first = sorted((Path(__file__).parents[2] / "course").glob("[0-9][0-9]_*.py"))[0]
    (src / first.name).write_text(first.read_text())
    return src


def test_make_student_keeps_a_learners_work(one_source, tmp_path, capsys):
    from labkit.course.build import make_student

    out = tmp_path / "student"
    (name,) = [p.name for p in make_student(one_source, out)]
    make_student(one_source, out)  # unchanged: replaced quietly
    assert capsys.readouterr().out == ""
    work = out / name
    work.write_text(work.read_text().replace('"cells": [', '"cells": [{"cell_type": "markdown", "id": "mine", '
                                                           '"metadata": {}, "source": "my answer"}, ', 1))
    mine = work.read_bytes()
    written = make_student(one_source, out)
    assert work.read_bytes() == mine  # the learner's notebook is kept...
    assert [p.name for p in written] == [name.replace(".ipynb", ".new.ipynb")]  # ... the fresh copy is beside it
    assert "Kept your changed notebook(s)" in capsys.readouterr().out


def test_course_build_never_removes_a_users_notebook(one_source, tmp_path):
    from labkit.course.build import build_notebooks

    out = tmp_path / "build"
    (out / "solution").mkdir(parents=True)
    (out / "solution" / "my_experiments.ipynb").write_text("{}")
    with pytest.warns(UserWarning, match="my_experiments.ipynb is no longer an output, but it is yours"):
        build_notebooks(one_source, out)
    assert (out / "solution" / "my_experiments.ipynb").read_text() == "{}"


def test_a_damaged_notebook_stops_the_book_before_anything_is_written(tmp_path):
    from pathlib import Path

    from labkit.course.build import BookBuildError, build_book

    book = tmp_path / "book"
    shutil.copytree(Path(__file__).parents[2] / "book", book, ignore=shutil.ignore_patterns("_build", "notebooks"))
    (book / "notebooks").mkdir()
    (book / "notebooks" / "my_page.md").write_text("mine")
    notebooks = tmp_path / "nb"
    notebooks.mkdir()
    for source in sorted((Path(__file__).parents[2] / "course").glob("[0-9][0-9]_*.py")):
        nbformat.write(nbformat.v4.new_notebook(), notebooks / f"{source.stem}.ipynb")
    (notebooks / "00_data_cube.ipynb").write_text('{"cells": [')  # truncated
    with pytest.raises(BookBuildError, match=r"00_data_cube\.ipynb: not a readable notebook"):
        build_book(notebooks, book)
    assert [p.name for p in (book / "notebooks").iterdir()] == ["my_page.md"]
