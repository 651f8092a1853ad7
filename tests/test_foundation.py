"""Package basics: error hierarchy, atomic writes, headless core, CLI exit codes."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tnbc_desktop.core.io.atomic import write_text_atomic
from tnbc_desktop.errors import GeometryError, InputError, OutputError, TimingError, TnbcError


def test_errors_name_the_source_and_problem():
    err = TimingError("no tag gives phase times", "/data/case1")
    assert isinstance(err, InputError) and isinstance(err, TnbcError)
    assert str(err) == "/data/case1: no tag gives phase times"
    assert err.exit_code == 2
    assert issubclass(GeometryError, InputError)


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "report.txt"
    write_text_atomic(target, "first")
    write_text_atomic(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]  # no temp files left behind


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_atomic_write_readonly_folder_keeps_previous(tmp_path):
    target = tmp_path / "report.txt"
    write_text_atomic(target, "keep me")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            write_text_atomic(target, "new")
    finally:
        tmp_path.chmod(0o700)
    assert target.read_text() == "keep me"


def test_atomic_write_missing_folder_is_typed_error(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        write_text_atomic(tmp_path / "nope" / "x.txt", "data")


def test_core_imports_without_qt():
    """core must run headless: importing every core module must not load Qt or pyqtgraph."""
    code = (
        "import sys, pkgutil, importlib, tnbc_desktop.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'tnbc_desktop.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'PyQt5', 'PyQt6')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr


def test_cli_version_lists_key_libraries():
    res = subprocess.run([sys.executable, "-m", "tnbc_desktop", "--version"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0
    assert "tnbc-desktop" in res.stdout and "pyradiomics-bhklab" in res.stdout
    assert "Research use only" in res.stdout
