"""``MaskEditor``: hand editing of a tumour mask, with undo/redo and a live volume (no Qt here).

Operations work on a bool [z, y, x] array on the study grid: paint / erase with a brush of radius ``r`` mm
(a disc on the current slice, or a 3D ball through neighbouring slices, both in mm with the real spacing),
fill (the enclosed background region clicked into on one slice), clear a slice, and replace the whole mask
(accepting a semi-automatic result). A brush *stroke* (press, drag, release) is one undo step. Every change
is kept as before/after patches of its bounding box, so undo/redo costs the size of the change, not of the
volume; ``MAX_UNDO`` = 50 steps are kept [D: >= 20 asked; 50 small patches stay well under 100 MB even for
whole-mask replacements on a 96x512x512 grid (~25 MB each as bool, packed 8x by ``np.packbits``)].
The voxel count is updated from the patches, so the volume shown while drawing costs nothing extra.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from tnbc_desktop.core.segmentation.provenance import MaskOrigin, MaskProvenance

MAX_UNDO = 50
BRUSH_MODES = ("slice", "sphere")


@dataclass
class _Patch:
    box: tuple[slice, slice, slice]
    shape: tuple[int, int, int]
    before: np.ndarray  # packed bits
    after: np.ndarray

    @classmethod
    def make(cls, box, before: np.ndarray, after: np.ndarray) -> "_Patch":
        return cls(box, before.shape, np.packbits(before, axis=None), np.packbits(after, axis=None))

    def unpack(self, which: str) -> np.ndarray:
        n = int(np.prod(self.shape))
        return np.unpackbits(getattr(self, which), count=n).astype(bool).reshape(self.shape)


@dataclass
class _Step:
    name: str
    patches: list[_Patch] = field(default_factory=list)
    # a whole-mask replacement also swaps the base provenance: (before, edits before, after)
    provenance: tuple[MaskProvenance, int, MaskProvenance] | None = None


class MaskEditor:
    """Editable mask with undo/redo. ``spacing_mm`` (z, y, x); ``provenance`` of the starting mask."""

    def __init__(self, shape, spacing_mm, initial: np.ndarray | None = None,
                 provenance: MaskProvenance | None = None, max_undo: int = MAX_UNDO):
        self.shape = tuple(int(s) for s in shape)
        self.spacing_mm = tuple(float(s) for s in spacing_mm)
        self.array = np.zeros(self.shape, dtype=bool) if initial is None else np.array(initial, dtype=bool)
        if self.array.shape != self.shape:
            raise ValueError(f"initial mask shape {self.array.shape} is not {self.shape}")
        self.base_provenance = provenance or MaskProvenance(origin=MaskOrigin.DRAWN)
        self.max_undo = int(max_undo)
        self.n_voxels = int(np.count_nonzero(self.array))
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._stroke: _Step | None = None
        self._n_edits = 0
        self.modified = False

    # ------------------------------------------------------------------ state
    @property
    def volume_ml(self) -> float:
        return self.n_voxels * float(np.prod(self.spacing_mm)) / 1000.0

    @property
    def provenance(self) -> MaskProvenance:
        """The starting provenance, marked edited when hand edits were made on top of it."""
        if self._n_edits == 0:
            return self.base_provenance
        if self.base_provenance.origin is MaskOrigin.DRAWN:
            return MaskProvenance(origin=MaskOrigin.DRAWN, n_edits=self._n_edits)
        return self.base_provenance.edited(self._n_edits)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def mark_saved(self, provenance: MaskProvenance) -> None:
        """The mask was saved with ``provenance``: it becomes the base, edits since then start from 0."""
        self.base_provenance = provenance
        self._n_edits = 0
        self.modified = False

    # ------------------------------------------------------------------ undo machinery
    def _apply(self, box, new: np.ndarray) -> _Patch | None:
        old = self.array[box]
        if np.array_equal(old, new):
            return None
        patch = _Patch.make(box, old.copy(), new)
        self.n_voxels += int(np.count_nonzero(new)) - int(np.count_nonzero(old))
        self.array[box] = new
        return patch

    def _commit(self, step: _Step) -> bool:
        if not step.patches:
            return False
        self._undo.append(step)
        del self._undo[:-self.max_undo]
        self._redo.clear()
        self._n_edits += 1
        self.modified = True
        return True

    def undo(self) -> tuple[slice, slice, slice] | None:
        """Undo the last step; returns the box it changed (None when there is nothing to undo)."""
        self.end_stroke()
        if not self._undo:
            return None
        step = self._undo.pop()
        for patch in reversed(step.patches):
            self._restore(patch, "before")
        self._redo.append(step)
        if step.provenance is not None:
            self.base_provenance, self._n_edits = step.provenance[0], step.provenance[1]
        else:
            self._n_edits = max(self._n_edits - 1, 0)
        self.modified = True
        return _union([p.box for p in step.patches])

    def redo(self) -> tuple[slice, slice, slice] | None:
        self.end_stroke()
        if not self._redo:
            return None
        step = self._redo.pop()
        for patch in step.patches:
            self._restore(patch, "after")
        self._undo.append(step)
        if step.provenance is not None:
            self.base_provenance, self._n_edits = step.provenance[2], 0
        else:
            self._n_edits += 1
        self.modified = True
        return _union([p.box for p in step.patches])

    def _restore(self, patch: _Patch, which: str) -> None:
        values = patch.unpack(which)
        self.n_voxels += int(np.count_nonzero(values)) - int(np.count_nonzero(self.array[patch.box]))
        self.array[patch.box] = values

    # ------------------------------------------------------------------ brush
    def begin_stroke(self, erase: bool = False) -> None:
        self.end_stroke()
        self._stroke = _Step("erase" if erase else "paint")

    def end_stroke(self) -> bool:
        """Close the current stroke as one undo step (True when it changed anything)."""
        stroke, self._stroke = self._stroke, None
        return self._commit(stroke) if stroke is not None else False

    def brush_box(self, centre_zyx, radius_mm: float, mode: str = "slice"):
        """([z, y, x] box, bool footprint) of a brush dab at ``centre_zyx`` clipped to the volume."""
        if mode not in BRUSH_MODES:
            raise ValueError(f"brush mode must be one of {BRUSH_MODES}")
        r = max(float(radius_mm), 0.0)
        half = [0 if (mode == "slice" and a == 0) else int(np.floor(r / s)) for a, s in enumerate(self.spacing_mm)]
        c = [int(v) for v in centre_zyx]
        box = tuple(slice(max(ci - h, 0), min(ci + h + 1, n)) for ci, h, n in zip(c, half, self.shape))
        grids = np.ogrid[tuple(slice(b.start - ci, b.stop - ci) for b, ci in zip(box, c))]
        d2 = sum((g * s) ** 2 for g, s in zip(grids, self.spacing_mm))
        return box, d2 <= r * r + 1e-9

    def dab(self, centre_zyx, radius_mm: float, mode: str = "slice", erase: bool = False):
        """One brush dab (inside a stroke, or as its own undo step); returns the changed box or None."""
        box, foot = self.brush_box(centre_zyx, radius_mm, mode)
        current = self.array[box]
        new = (current & ~foot) if erase else (current | foot)
        patch = self._apply(box, new)
        if patch is None:
            return None
        if self._stroke is not None:
            self._stroke.patches.append(patch)
        else:
            self._commit(_Step("erase" if erase else "paint", [patch]))
        return box

    # ------------------------------------------------------------------ slice / whole-mask operations
    def fill(self, zyx) -> tuple[slice, slice, slice] | None:
        """Fill the background region of slice ``z`` holding (y, x) when the mask encloses it in-plane.
        Returns the changed box, or None when (y, x) is already in the mask or the region reaches the
        slice border (that would fill the whole background)."""
        self.end_stroke()
        z, y, x = (int(v) for v in zyx)
        plane = self.array[z]
        if plane[y, x]:
            return None
        regions, _ = ndimage.label(~plane)
        region = regions == regions[y, x]
        if region[0].any() or region[-1].any() or region[:, 0].any() or region[:, -1].any():
            return None
        box = (slice(z, z + 1), slice(0, self.shape[1]), slice(0, self.shape[2]))
        return self._single("fill", box, (plane | region)[None])

    def clear_slice(self, z: int) -> tuple[slice, slice, slice] | None:
        self.end_stroke()
        box = (slice(int(z), int(z) + 1), slice(0, self.shape[1]), slice(0, self.shape[2]))
        return self._single("clear slice", box, np.zeros((1,) + self.shape[1:], dtype=bool))

    def replace(self, array: np.ndarray, provenance: MaskProvenance) -> None:
        """Set the whole mask (e.g. an accepted semi-automatic result) as one undoable step; ``provenance``
        becomes the base the later edits are counted on."""
        self.end_stroke()
        new = np.asarray(array, dtype=bool)
        if new.shape != self.shape:
            raise ValueError(f"mask shape {new.shape} is not {self.shape}")
        from tnbc_desktop.core.regions import bounding_box

        boxes = [b for b in (bounding_box(self.array), bounding_box(new)) if b is not None]
        patch = self._apply(_union(boxes), new[_union(boxes)].copy()) if boxes else None
        self._undo.append(_Step("replace", [patch] if patch is not None else [],
                                (self.base_provenance, self._n_edits, provenance)))
        del self._undo[:-self.max_undo]
        self._redo.clear()
        self.base_provenance = provenance
        self._n_edits = 0
        self.modified = True

    def _single(self, name: str, box, new: np.ndarray):
        patch = self._apply(box, new)
        if patch is None:
            return None
        self._commit(_Step(name, [patch]))
        return box


def _union(boxes) -> tuple[slice, slice, slice]:
    return tuple(slice(min(b[a].start for b in boxes), max(b[a].stop for b in boxes)) for a in range(3))
