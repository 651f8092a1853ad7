"""Shared fixtures. Tests that read ../shared/data skip with a clear reason when it is absent."""
from __future__ import annotations

import os
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.helpers import REPO_ROOT, SHARED_DATA, shared_data  # noqa: F401 (re-exported)


@pytest.fixture(autouse=True)
def _isolated_user_home(tmp_path_factory, monkeypatch):
    """Every test writes user data (history, autosave) to its own folder, never the real home."""
    home = tmp_path_factory.mktemp("tnbc_home")
    monkeypatch.setenv("TNBC_DESKTOP_HOME", str(home))
    return home
