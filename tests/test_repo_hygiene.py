"""House rules checked on the repository itself: ruff clean, no committed binaries, no skipped app imports."""
from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import REPO_ROOT


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    return [f for f in out.decode("utf-8").split("\0") if f]


def test_ruff_is_clean():
    """ruff (configured in pyproject.toml; in the test extra) finds nothing."""
    res = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=REPO_ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-1000:]


#: binary files the app ships on purpose: the application icon the packaging step puts into the installer
SHIPPED_ASSETS = frozenset({"packaging/tnbc-desktop.png"})


def test_no_binary_files_are_committed():
    """Source, docs and data descriptions only: any other tracked file with a NUL byte (wheels, archives,
    pickles, images) is refused."""
    binaries = []
    for name in sorted(set(_tracked_files()) - SHIPPED_ASSETS):
        path = REPO_ROOT / name
        if path.is_file() and b"\0" in path.read_bytes()[:1 << 20]:
            binaries.append(name)
    assert not binaries, binaries


def test_no_importorskip_of_the_app_s_own_modules():
    """An import error in the app must fail its tests, not skip them."""
    pattern = re.compile(r"importorskip\(\s*['\"]tnbc_desktop")
    offenders = [name for name in _tracked_files() if name.startswith("tests/") and name.endswith(".py")
                 and pattern.search((REPO_ROOT / name).read_text(encoding="utf-8"))]
    assert not offenders, offenders


def test_test_modules_do_not_import_each_other():
    """Shared builders live in tests/builders.py (fixtures in conftest.py), not in another test module."""
    pattern = re.compile(r"^\s*(from tests\.test_\w+ import|import tests\.test_|from tests import test_)", re.M)
    offenders = [name for name in _tracked_files() if name.startswith("tests/") and name.endswith(".py")
                 and pattern.search((REPO_ROOT / name).read_text(encoding="utf-8"))]
    assert not offenders, offenders
