"""tnbc-desktop: research-use-only decision support for TNBC on DCE-MRI.

Implements the radiogenomic method of Zhou et al., Cancer Imaging 2024 (doi:10.1186/s40644-024-00746-z)
on a clinician's desk. Research use only; not a medical device.
"""
from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("tnbc-desktop")
except _metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.1.0+src"

RESEARCH_USE_NOTICE = "Research use only - not for clinical decision making as a standalone tool."
DEMO_BUNDLE_NOTICE = "Demo model trained on synthetic data - not for clinical use."
