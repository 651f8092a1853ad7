"""Where the app's resources, shipped model bundles and user data live.

In a source checkout (and an editable install) ``resources/`` and ``models/`` sit beside the package; a wheel
installs them as the data packages ``tnbc_desktop.resources`` and ``tnbc_desktop.models`` (pyproject maps them);
a PyInstaller build bundles them under ``sys._MEIPASS``. User data (case history, autosave, settings, demo
output) goes to the platform's user data dir, overridable with ``TNBC_DESKTOP_HOME``.
"""
from __future__ import annotations

import hashlib
import os
import sys
from importlib import resources as _res
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _locate(name: str) -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    candidates = []
    if frozen:
        candidates.append(Path(frozen) / name)
    candidates.append(_SOURCE_ROOT / name)
    try:
        candidates.append(Path(str(_res.files(f"tnbc_desktop.{name}"))))
    except (ModuleNotFoundError, TypeError):
        pass
    for c in candidates:
        if c.is_dir():
            return c
    raise FileNotFoundError(f"the app's '{name}' folder is missing from this installation (looked in "
                            + ", ".join(str(c) for c in candidates) + ")")


def resources_dir() -> Path:
    return _locate("resources")


def models_dir() -> Path:
    return _locate("models")


def resource_path(name: str) -> Path:
    return resources_dir() / name


def user_data_dir() -> Path:
    """Per-user writable folder (created on demand)."""
    env = os.environ.get("TNBC_DESKTOP_HOME")
    if env:
        path = Path(env)
    else:
        from platformdirs import user_data_path

        path = user_data_path("tnbc-desktop", appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def shipped_bundles() -> list[tuple[Path, str]]:
    """(path, file SHA-256) of every bundle shipped in models/."""
    return [(p, sha256_file(p)) for p in sorted(models_dir().glob("*.json"))]
