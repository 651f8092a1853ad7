"""The hovered-voxel readout of the slice view: position in mm (patient LPS) and the value on the shown phase."""
from __future__ import annotations

import numpy as np

from tnbc_desktop.core.phase_numbering import phase_number


def voxel_readout(study, phase: int, zyx: tuple[int, int, int] | None) -> str:
    """'LPS (x, y, z) mm: value on phase N', or '' when no voxel is hovered.

    The position comes from the study geometry (origin, spacing, direction), so it is the scanner's patient
    coordinate in mm, the same a PACS viewer shows; the value is read on ``phase`` (0-based), so the readout
    follows a phase change without moving the mouse.
    """
    if study is None or zyx is None:
        return ""
    z, y, x = (int(v) for v in zyx)
    lps = study.geometry.index_to_lps(np.array([[z, y, x]]))[0]
    value = float(study.data[phase, z, y, x])
    return (f"   ({lps[0]:.1f}, {lps[1]:.1f}, {lps[2]:.1f}) mm LPS: {value:.1f} on phase {phase_number(phase)}")
