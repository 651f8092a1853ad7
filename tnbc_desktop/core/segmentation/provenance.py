"""Where a tumour mask came from: a file, the semi-automatic segmentation (seed, box, threshold), or hand
edits on top of either. Recorded in the case inputs and shown as one line in the report's QC section.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class MaskOrigin(str, Enum):
    """How the mask was made."""

    FILE = "file"
    SEMI_AUTOMATIC = "semi-automatic"
    DRAWN = "drawn"      # painted by hand from an empty mask
    EDITED = "edited"    # hand edits on top of ``based_on``


@dataclass(frozen=True)
class MaskProvenance:
    """Provenance of one tumour mask.

    ``source``: the file it was read from (FILE) or saved to (any origin, once saved); ``seed_xyz`` /
    ``box_xyz`` voxel indices (column, row, slice from 0; the box as X0,Y0,Z0,X1,Y1,Z1 inclusive);
    ``threshold_pe`` percent enhancement; ``early_phase`` the phase index segmented on; ``n_edits`` brush
    strokes and other edit operations; ``based_on`` the mask before the edits (EDITED only).
    """

    origin: MaskOrigin
    source: str = ""
    seed_xyz: tuple[int, int, int] | None = None
    box_xyz: tuple[int, int, int, int, int, int] | None = None
    threshold_pe: float | None = None
    early_phase: int | None = None
    method: str = ""
    n_edits: int = 0
    based_on: "MaskProvenance | None" = None

    @classmethod
    def from_file(cls, path: str | Path) -> "MaskProvenance":
        return cls(origin=MaskOrigin.FILE, source=str(path))

    def edited(self, n_edits: int) -> "MaskProvenance":
        """This mask after ``n_edits`` more hand edits (a drawn mask stays DRAWN)."""
        if self.origin in (MaskOrigin.EDITED, MaskOrigin.DRAWN):
            return MaskProvenance(origin=self.origin, source="", n_edits=self.n_edits + int(n_edits),
                                  based_on=self.based_on)
        return MaskProvenance(origin=MaskOrigin.EDITED, n_edits=int(n_edits), based_on=self)

    def saved_as(self, path: str | Path) -> "MaskProvenance":
        """The same provenance, noting the file the mask was saved to."""
        return MaskProvenance(origin=self.origin, source=str(path), seed_xyz=self.seed_xyz, box_xyz=self.box_xyz,
                              threshold_pe=self.threshold_pe, early_phase=self.early_phase, method=self.method,
                              n_edits=self.n_edits, based_on=self.based_on)

    def describe(self) -> str:
        """One human line, e.g. ``semi-automatic: seed (x 96, y 80, z 24), PE >= 70 % on phase 2, box ...``
        (voxel indices from 0, as the status bar shows them; the phase numbered as everywhere people see it)."""
        if self.origin is MaskOrigin.FILE:
            return f"file {Path(self.source).name}" if self.source else "file"
        if self.origin is MaskOrigin.SEMI_AUTOMATIC:
            text = "semi-automatic"
            if self.seed_xyz is not None:
                x, y, z = self.seed_xyz
                text += f": seed (x {x}, y {y}, z {z})"
            if self.threshold_pe is not None:
                text += f", PE >= {self.threshold_pe:g} %"
            if self.early_phase is not None:
                from tnbc_desktop.core.phase_numbering import phase_number

                text += f" on phase {phase_number(self.early_phase)}"
            if self.box_xyz is not None:
                text += ", box (" + ",".join(str(v) for v in self.box_xyz) + ")"
            else:
                text += ", default box"
        elif self.origin is MaskOrigin.DRAWN:
            text = f"drawn by hand ({_edits(self.n_edits)})"
        else:
            base = self.based_on.describe() if self.based_on is not None else "unknown mask"
            text = f"{base}; then edited by hand ({_edits(self.n_edits)})"
        if self.source and self.origin is not MaskOrigin.EDITED:
            text += f"; saved as {Path(self.source).name}"
        return text

    def to_dict(self) -> dict:
        """JSON-able form (for the session file and the case history)."""
        return {"origin": self.origin.value, "source": self.source,
                "seed_xyz": list(self.seed_xyz) if self.seed_xyz is not None else None,
                "box_xyz": list(self.box_xyz) if self.box_xyz is not None else None,
                "threshold_pe": self.threshold_pe, "early_phase": self.early_phase, "method": self.method,
                "n_edits": self.n_edits, "based_on": self.based_on.to_dict() if self.based_on else None}

    @classmethod
    def from_dict(cls, data: dict) -> "MaskProvenance":
        """Inverse of :meth:`to_dict`; raises ValueError on a malformed record."""
        if not isinstance(data, dict):
            raise ValueError("mask provenance is not an object")
        try:
            based = data.get("based_on")
            return cls(origin=MaskOrigin(data["origin"]), source=str(data.get("source") or ""),
                       seed_xyz=_ints(data.get("seed_xyz"), 3), box_xyz=_ints(data.get("box_xyz"), 6),
                       threshold_pe=None if data.get("threshold_pe") is None else float(data["threshold_pe"]),
                       early_phase=None if data.get("early_phase") is None else int(data["early_phase"]),
                       method=str(data.get("method") or ""), n_edits=int(data.get("n_edits") or 0),
                       based_on=cls.from_dict(based) if based else None)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"mask provenance is malformed ({exc})") from None


def _edits(n: int) -> str:
    return f"{n} edit" if n == 1 else f"{n} edits"


def _ints(value, n: int):
    if value is None:
        return None
    out = tuple(int(v) for v in value)
    if len(out) != n:
        raise ValueError(f"expected {n} integers, got {len(out)}")
    return out
