"""``labkit doctor``: a healthy machine passes; a missing package, too little memory or an unwritable folder is a ✗
with its fix; --json parses. The machine is simulated by replacing the probes of labkit.course.doctor."""

import json
import os
import sys

import pytest

from labkit.cli import main
from labkit.course import doctor


def _by_item(checks):
    return {check.item: check for check in checks}


def test_a_healthy_venv_passes(tmp_path, capsys):
    assert main(["doctor", "--folder", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("labkit ") and lines[-1].startswith("Ready for the course")
    for item in ("Python", "packages", "course data", "fetched data", "memory", "disk", "JupyterLab", "kernel",
                 "widgets", "working folder"):
        assert any(line[2:].startswith(item) for line in lines), item
    assert "✗" not in out


def test_a_missing_package_fails_with_the_pip_command(monkeypatch, tmp_path):
    real = doctor.installed_version
    monkeypatch.setattr(doctor, "installed_version", lambda name: None if name == "rioxarray" else real(name))
    check = _by_item(doctor.diagnose(tmp_path))["packages"]
    assert check.failed and "rioxarray" in check.message
    assert "-m pip install" in check.fix and '"rioxarray==0.19.0"' in check.fix  # the lock's pin


def test_a_version_labkit_refuses_fails_and_one_off_the_lock_warns(monkeypatch, tmp_path):
    real = doctor.installed_version
    monkeypatch.setattr(doctor, "installed_version", lambda name: "1.0" if name == "numpy" else real(name))
    check = doctor.check_packages()
    assert check.failed and "numpy 1.0" in check.message and '"numpy==2.4.6"' in check.fix
    monkeypatch.setattr(doctor, "lock_pins", lambda: {"numpy": "2.4.5"})  # labkit accepts 2.4.6; the lock says 2.4.5
    monkeypatch.setattr(doctor, "installed_version", real)
    check = doctor.check_packages()
    assert check.status == "warn" and "numpy 2.4.6 (numpy==2.4.5)" in check.message


def test_too_little_memory_fails_and_little_available_warns(monkeypatch):
    gb = 1024**3
    monkeypatch.setattr(doctor, "memory_bytes", lambda: (1 * gb, gb // 2))
    check = doctor.check_memory()
    assert check.failed and "1.0 GiB" in check.message and "JupyterHub" in check.fix
    monkeypatch.setattr(doctor, "memory_bytes", lambda: (8 * gb, gb // 2))
    assert doctor.check_memory().status == "warn"
    monkeypatch.setattr(doctor, "memory_bytes", lambda: None)
    assert doctor.check_memory().status == "warn"


def test_memory_from_proc_meminfo_without_psutil(monkeypatch):
    if not os.path.exists("/proc/meminfo"):
        pytest.skip("no /proc/meminfo on this system")
    import psutil

    expected = psutil.virtual_memory().total
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil raises ImportError
    total, available = doctor.memory_bytes()
    assert total == expected and 0 < available <= total


def test_an_unwritable_folder_fails_and_the_command_exits_1(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(doctor, "is_writable", lambda folder: False)
    assert main(["doctor", "--folder", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "working folder" in line)
    assert line.startswith("✗") and str(tmp_path) in line and "cannot be written" in line
    assert "→ work in a folder of your own" in out and "1 problem to fix" in out.splitlines()[-1]


def test_the_real_write_probe(tmp_path):
    assert doctor.is_writable(tmp_path)
    assert not doctor.is_writable(tmp_path / "missing")


def test_little_disk_and_a_wrong_python_fail(monkeypatch, tmp_path):
    monkeypatch.setattr(doctor, "disk_free_bytes", lambda folder: 100 * 1024**2)
    assert doctor.check_disk(tmp_path).failed
    monkeypatch.setattr(doctor, "python_version", lambda: (3, 9, 1))
    check = doctor.check_python()
    assert check.failed and "3.9.1" in check.message and ">=3.11" in check.message


def test_jupyter_kernel_and_widgets(monkeypatch):
    monkeypatch.setattr(doctor, "kernel_specs", lambda: {})
    check = doctor.check_kernel()
    assert check.failed and "ipykernel install" in check.fix and "--name python3" in check.fix
    other = {"python3": {"resource_dir": "/elsewhere", "spec": {"argv": ["/opt/other/bin/python", "-m", "x"]}}}
    monkeypatch.setattr(doctor, "kernel_specs", lambda: other)
    assert doctor.check_kernel().status == "warn"
    monkeypatch.setattr(doctor, "module_found", lambda name: name != "jupyterlab")
    assert doctor.check_jupyter().failed
    monkeypatch.setattr(doctor, "installed_version", lambda name: None)
    assert doctor.check_widgets().failed


def test_course_data_not_cached_warns_unless_a_mirror_holds_it(monkeypatch, tmp_path, mirror):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("LABKIT_DATA_MIRROR", raising=False)
    check = doctor.check_fetched_data()
    assert check.status == "warn" and "GitHub" in check.message and "fetch(name)" in check.fix
    monkeypatch.setenv("LABKIT_DATA_MIRROR", str(mirror))
    assert doctor.check_fetched_data().status == "ok"
    monkeypatch.setenv("LABKIT_DATA_MIRROR", str(tmp_path / "no-mirror"))
    check = doctor.check_fetched_data()
    assert check.failed and "LABKIT_DATA_MIRROR" in check.fix


def test_broken_embedded_data_fails(monkeypatch):
    def broken():
        raise OSError("labkit/datasets/data/slovenia.nc: truncated")

    monkeypatch.setattr(doctor, "load_embedded", broken)
    check = doctor.check_embedded_data()
    assert check.failed and "truncated" in check.message and "pip install" in check.fix


def test_json_output_parses(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(doctor, "memory_bytes", lambda: (1024**3, 1024**3))
    assert main(["doctor", "--json", "--folder", str(tmp_path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["python"].startswith("3.")
    checks = {c["item"]: c for c in report["checks"]}
    assert checks["memory"]["status"] == "fail" and checks["memory"]["fix"]
    assert checks["Python"]["status"] == "ok" and set(checks["Python"]) == {"item", "status", "message", "fix"}
