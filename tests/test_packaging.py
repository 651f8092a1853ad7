"""Frozen build: PyInstaller one-folder app runs ``--version`` and ``demo --no-gui``.

Slow (several minutes): it runs where PyInstaller is installed (CI installs it via the ``packaging``
extra) and skips with the reason elsewhere. Build time and size are printed for the issue note.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.slow


def _size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


@pytest.mark.skipif(importlib.util.find_spec("PyInstaller") is None,
                    reason="PyInstaller not installed (pip install -e '.[packaging]'); CI installs it")
@pytest.mark.timeout(1800)
def test_frozen_app_runs_version_and_demo(tmp_path, capsys):
    dist, work = tmp_path / "dist", tmp_path / "work"
    t0 = time.perf_counter()
    build = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", str(dist),
         "--workpath", str(work), str(REPO_ROOT / "packaging" / "tnbc_desktop.spec")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=1700)
    seconds = time.perf_counter() - t0
    assert build.returncode == 0, build.stderr[-4000:]
    app = dist / "tnbc-desktop"
    exe = app / "tnbc-desktop"
    assert exe.exists()
    # the frozen app must not need the build's Python: run it with a scrubbed environment
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen",
           "TNBC_DESKTOP_HOME": str(tmp_path / "home"), "LANG": "C.UTF-8"}
    v = subprocess.run([str(exe), "--version"], capture_output=True, text=True, env=env, timeout=300)
    assert v.returncode == 0, v.stderr[-3000:]
    assert "tnbc-desktop" in v.stdout and "pyradiomics-bhklab" in v.stdout and "not installed" not in v.stdout
    d = subprocess.run([str(exe), "demo", "--no-gui", "--out", str(tmp_path / "demo")], capture_output=True,
                       text=True, env=env, timeout=900)
    assert d.returncode == 0, (d.stdout[-2000:], d.stderr[-3000:])
    pdfs = sorted((tmp_path / "demo").rglob("*.pdf"))
    assert pdfs and pdfs[0].stat().st_size > 10_000
    with capsys.disabled():
        print(f"\n[packaging] PyInstaller build {seconds:.0f} s, one-folder size {_size_mib(app):.0f} MiB")
