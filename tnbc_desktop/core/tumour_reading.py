"""What a breast radiologist reads off the tumour: its longest diameters and its kinetic curve type.

Curve type rule [D]: BI-RADS reports the *most suspicious* curve of a lesion (wash-out > plateau >
persistent), not the curve of its mean signal, which averages a washing-out rim with a persistent core. The
candidates are the mean curves of the tumour's habitats (clusters of kinetically similar voxels, so each mean
is a denoised curve of a real sub-region) that hold at least ``MIN_HABITAT_VOXELS`` voxels and at least
``MIN_HABITAT_FRACTION`` of the tumour: single noisy voxels must not decide the call, as workstation "worst
curve" tools require a minimum ROI. When no habitat qualifies (no analysis yet, tiny habitats), the tumour's
mean curve decides. The mean curve's type is always reported beside it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tnbc_desktop.core.tumour_size import TumourDiameters, tumour_diameters

SUSPICION_ORDER = ("persistent", "plateau", "washout")  # least to most suspicious
MIN_HABITAT_VOXELS = 10
MIN_HABITAT_FRACTION = 0.05
HABITAT_KEYS = ("H1", "H2", "H3")
CURVE_TYPE_RULE = (f"most suspicious (wash-out > plateau > persistent) of the habitat mean curves with "
                   f">= {MIN_HABITAT_VOXELS} voxels and >= {100 * MIN_HABITAT_FRACTION:.0f} % of the tumour")


@dataclass(frozen=True)
class TumourReading:
    """Longest diameters (None without a mask) and curve types: the most suspicious (``curve_type``, from the
    region ``curve_type_source``, e.g. "H3") and the tumour mean curve's (``mean_curve_type``)."""

    diameters: TumourDiameters | None
    curve_type: str
    curve_type_source: str
    mean_curve_type: str
    rule: str = CURVE_TYPE_RULE

    def curve_text(self) -> str:
        """One line for the GUI and the report, e.g. "curve type wash-out (H3); mean curve plateau"."""
        return (f"curve type {display_curve_type(self.curve_type)} ({self.curve_type_source}); "
                f"mean curve {display_curve_type(self.mean_curve_type)}")


def display_curve_type(curve_type: str) -> str:
    """The BI-RADS spelling shown to people ("washout" -> "wash-out")."""
    return "wash-out" if curve_type == "washout" else (curve_type or "undetermined")


def most_suspicious_curve_type(curves: Mapping[str, Any]) -> tuple[str, str]:
    """(curve type, source region) by the rule in the module docstring; ``curves`` maps region names
    ("tumour", "H1".."H3", ...) to objects with ``curve_type`` and ``n_voxels`` (``CurveSummary``)."""
    tumour = curves.get("tumour")
    n_tumour = int(getattr(tumour, "n_voxels", 0) or 0)
    floor = max(MIN_HABITAT_VOXELS, MIN_HABITAT_FRACTION * n_tumour)
    best, source = None, ""
    for key in HABITAT_KEYS:
        c = curves.get(key)
        if c is None or c.curve_type not in SUSPICION_ORDER or int(c.n_voxels) < floor:
            continue
        if best is None or SUSPICION_ORDER.index(c.curve_type) > SUSPICION_ORDER.index(best):
            best, source = c.curve_type, key
    if best is None:
        return (getattr(tumour, "curve_type", "") or "undetermined"), "tumour mean curve"
    return best, source


def read_tumour(mask: np.ndarray | None, spacing_mm, curves: Mapping[str, Any]) -> TumourReading:
    """The :class:`TumourReading` of a mask [z, y, x] (spacing (z, y, x) mm) and its region curves."""
    diameters = None if mask is None else tumour_diameters(mask, spacing_mm)
    curve_type, source = most_suspicious_curve_type(curves)
    tumour = curves.get("tumour")
    mean_type = (getattr(tumour, "curve_type", "") or "undetermined") if tumour is not None else "undetermined"
    return TumourReading(diameters=diameters, curve_type=curve_type, curve_type_source=source,
                         mean_curve_type=mean_type)
