"""Patient-orientation letters for the screen edges of the axial, coronal and sagittal views.

The study's direction matrix (ITK, LPS: +x = patient Left, +y = Posterior, +z = Superior; columns = the
directions of the x, y, z index axes) says where each index axis points in the patient. A view shows two
index axes of the [z, y, x] array: its *rows* run down the screen and its *columns* to the right. The letter
of a screen edge is the patient direction of the index axis pointing at it; an oblique axis gets up to two
letters, the larger component first (e.g. "LA"), as DICOM viewers print them.

Display conventions [D]: the axial view shows [y, x] as stored (no flip: the markers tell where the patient's
right is, whatever the acquisition); coronal [z, x] and sagittal [z, y] reformats are flipped vertically
when the slice axis points superior, so the head is at the top of the screen as readers expect.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLANES = ("axial", "coronal", "sagittal")
# plane -> (array axis of the slice, rows axis, columns axis) in [z, y, x] order
PLANE_AXES = {"axial": (0, 1, 2), "coronal": (1, 0, 2), "sagittal": (2, 0, 1)}
_POSITIVE = ("L", "P", "S")  # LPS: what +x, +y, +z mean
_NEGATIVE = ("R", "A", "I")
SECOND_LETTER_MIN = 0.35  # [D] a second letter when the axis leans this much (about 20 degrees) towards it


def direction_letters(vector) -> str:
    """Patient direction of an LPS vector: "L", "A", ... or two letters for an oblique one ("LA")."""
    v = np.asarray(vector, dtype=float)
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        return "?"
    v = v / norm
    order = np.argsort(-np.abs(v))
    letters = []
    for rank, axis in enumerate(order[:2]):
        if rank == 0 or abs(v[axis]) >= SECOND_LETTER_MIN:
            letters.append(_POSITIVE[axis] if v[axis] > 0 else _NEGATIVE[axis])
    return "".join(letters)


def index_axis_direction(direction, axis_zyx: int) -> np.ndarray:
    """LPS unit vector of the [z, y, x] array axis ``axis_zyx`` (0 = z, 1 = y, 2 = x)."""
    d = np.asarray(direction, dtype=float).reshape(3, 3)
    return d[:, 2 - int(axis_zyx)]


@dataclass(frozen=True)
class PlaneFrame:
    """How one plane is drawn: which array axes are its rows / columns, whether rows are flipped, and the
    orientation letters at the screen's left, right, top and bottom edges."""

    plane: str
    slice_axis: int
    rows_axis: int
    cols_axis: int
    flip_rows: bool
    left: str
    right: str
    top: str
    bottom: str

    def markers(self) -> dict[str, str]:
        return {"left": self.left, "right": self.right, "top": self.top, "bottom": self.bottom}


def plane_frame(direction, plane: str) -> PlaneFrame:
    """The :class:`PlaneFrame` of ``plane`` ("axial", "coronal", "sagittal") for a study direction matrix."""
    if plane not in PLANE_AXES:
        raise ValueError(f"unknown plane {plane!r}; expected one of {', '.join(PLANES)}")
    slice_axis, rows_axis, cols_axis = PLANE_AXES[plane]
    rows_dir = index_axis_direction(direction, rows_axis)
    cols_dir = index_axis_direction(direction, cols_axis)
    flip = plane != "axial" and rows_dir[2] > 0  # rows run towards the head: flip so the head is on top
    down = -rows_dir if flip else rows_dir
    return PlaneFrame(plane=plane, slice_axis=slice_axis, rows_axis=rows_axis, cols_axis=cols_axis,
                      flip_rows=bool(flip), left=direction_letters(-cols_dir), right=direction_letters(cols_dir),
                      top=direction_letters(-down), bottom=direction_letters(down))
