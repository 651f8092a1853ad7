"""Versions of the app and the software of unknown provenance (SOUP) it runs on."""
from __future__ import annotations

from importlib import metadata

from tnbc_desktop import RESEARCH_USE_NOTICE, __version__

KEY_LIBRARIES = (
    "numpy", "scipy", "pandas", "pydicom", "highdicom", "pynetdicom", "SimpleITK", "pyradiomics-bhklab", "scikit-learn",
    "imbalanced-learn", "lifelines", "reportlab", "dask", "distributed", "PySide6-Essentials", "pyqtgraph",
)


def library_versions() -> dict[str, str]:
    out = {}
    for name in KEY_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def version_report() -> str:
    lines = [f"tnbc-desktop {__version__}", RESEARCH_USE_NOTICE]
    try:
        from tnbc_desktop.paths import shipped_bundles

        for path, sha in shipped_bundles():
            lines.append(f"bundle {path.name} sha256 {sha}")
    except Exception as exc:  # bundles module may be absent in early builds; say so
        lines.append(f"bundles: unavailable ({type(exc).__name__})")
    lines += [f"{k} {v}" for k, v in library_versions().items()]
    return "\n".join(lines)
