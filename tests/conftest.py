"""Shared fixtures. Tests that read ../shared/data skip with a clear reason when it is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("TNBC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data, or skip the test saying what is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared reference data not present: {path} (runs in CI where ../shared/data exists)")
    return path


@pytest.fixture(autouse=True)
def _isolated_user_home(tmp_path_factory, monkeypatch):
    """Every test writes user data (history, autosave) to its own folder, never the real home."""
    home = tmp_path_factory.mktemp("tnbc_home")
    monkeypatch.setenv("TNBC_DESKTOP_HOME", str(home))
    return home
