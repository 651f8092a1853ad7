"""Semi-automatic lesion segmentation from a seed point on the early post-contrast phase.

Method (SPEC style; [D] = a choice of this app, with its reason):

1. **Search box.** The user's box (voxel indices X0,Y0,Z0,X1,Y1,Z1, inclusive, column/row/slice from 0), or by
   default a cube of +-``DEFAULT_HALF_BOX_MM`` = 50 mm around the seed clipped to the image [D: holds a 5 cm
   TNBC lesion wherever in it the seed is clicked; larger lesions need a box]. All work is on this box.
2. **Enhancement.** PE = 100 (S_early - S0) / S0 with S_early the early post-contrast phase of the kinetic
   maps (``kinetics.select_early_late``: the first phase at >= 60 s). Voxels whose S0 is below the tissue
   floor, 10 % of the 99th percentile of the pre-contrast phase [D: air and background noise have S0 near
   the noise level, where PE is meaningless], count as PE 0. PE is median-filtered 3x3 in-plane [D: at
   SNR 30 single-voxel PE noise is ~6 %; the median keeps edges, unlike a Gaussian].
3. **Region (hysteresis).** Core = PE >= T (``threshold_pe``, default 70 % [D: the functional tumour volume
   threshold of I-SPY / ACRIN 6657]); lesion = the 6-connected component of PE >= T/2 (``LOW_FRACTION``)
   that contains the seed and at least one core voxel [D: poorly perfused and necrotic-rim tumour
   (PE ~40-65 %) is part of the lesion the radiologist draws, while fibroglandular BPE and the peritumoral
   zone stay below T/2; PE >= T alone misses the poorly perfused habitat - Dice 0.0-0.75 on such synthetic
   lesions]. A seed in a non-enhancing hole (necrosis) enclosed in-plane by a lesion component selects it.
4. **Shape.** Morphological closing with a ball of ``CLOSE_MM`` = 3 mm, holes filled in 3D and on every
   slice, opening with a ball of ``OPEN_MM`` = 1 mm, and the component holding the seed kept [D: closes
   the non-enhancing core and rim notches, removes one-voxel spurs along vessels; balls are in mm so the
   0.7x0.7x2 mm grid does not bias the shape].
5. **Refusals** (:class:`SegmentationError`, one line naming the seed and the numbers): the seed outside tissue
   or outside enhancing tissue (PE at the seed below T/2), an enhancing region whose peak PE stays below T,
   or a leak: the region fills more than ``MAX_BOX_FRACTION`` = 50 % of the box [D: a lesion is rarely half
   of the box it was found in; the whole box enhancing means the threshold is too low], or, with the
   default box, touches 3 or more of its inner faces [D: a lesion larger than 10 cm or a leak into
   enhancing parenchyma; a user box may be drawn tight, so its faces are not checked].

Measured on 20 synthetic patients (SNR 30, ~20 ml lesions, a random seed inside the tumour): Dice vs the
true tumour mask median 0.98, minimum 0.95 (tests/test_segmentation.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from tnbc_desktop.core.segmentation.provenance import MaskOrigin, MaskProvenance
from tnbc_desktop.core.study import DCEStudy, Mask
from tnbc_desktop.errors import SegmentationError

DEFAULT_THRESHOLD_PE = 70.0
DEFAULT_HALF_BOX_MM = 50.0
LOW_FRACTION = 0.5
TISSUE_FLOOR_FRACTION = 0.10
CLOSE_MM = 3.0
OPEN_MM = 1.0
MAX_BOX_FRACTION = 0.5
MAX_DEFAULT_BOX_FACES = 2
METHOD = "PE hysteresis (T, T/2) + closing 3 mm + hole fill + opening 1 mm"
_SIX = ndimage.generate_binary_structure(3, 1)


@dataclass(frozen=True)
class SegmentationRequest:
    """A seed (X, Y, Z = column, row, slice from 0), an optional inclusive box (X0,Y0,Z0,X1,Y1,Z1), the PE
    threshold in percent and the phase to segment on (None = the early phase of the kinetic maps)."""

    seed_xyz: tuple[int, int, int]
    box_xyz: tuple[int, int, int, int, int, int] | None = None
    threshold_pe: float = DEFAULT_THRESHOLD_PE
    early_phase: int | None = None


@dataclass(frozen=True, eq=False)
class SegmentationResult:
    """The lesion ``mask`` on the study grid, its ``provenance``, the box used ([z, y, x] slices), the PE at
    the seed (after the median) and the voxel count of the core (PE >= T)."""

    mask: Mask
    provenance: MaskProvenance
    box_zyx: tuple[slice, slice, slice]
    seed_pe: float
    n_core_voxels: int


def ball(radius_mm: float, spacing_mm) -> np.ndarray:
    """Bool structuring element: voxel centres within ``radius_mm`` of the centre on a (z, y, x) spacing grid."""
    half = [int(np.floor(radius_mm / float(s))) for s in spacing_mm]
    grid = np.ogrid[tuple(slice(-h, h + 1) for h in half)]
    return sum((g * float(s)) ** 2 for g, s in zip(grid, spacing_mm)) <= radius_mm ** 2 + 1e-9


def tissue_floor(study: DCEStudy) -> float:
    """S0 below which a voxel is air/background: 10 % of the 99th percentile of a subsample of phase 0."""
    sample = study.data[0][::2, ::4, ::4]
    return TISSUE_FLOOR_FRACTION * float(np.percentile(sample, 99.0))


class LesionSegmenter:
    """Segments lesions on one study; keeps the PE of the last box so a threshold change (live preview) only
    redoes steps 3-5."""

    def __init__(self, study: DCEStudy):
        self.study = study
        self._floor: float | None = None
        self._cached: tuple[tuple, np.ndarray] | None = None

    # ------------------------------------------------------------------ inputs
    def early_phase(self, request: SegmentationRequest) -> int:
        from tnbc_desktop.core.kinetics import select_early_late

        if request.early_phase is not None:
            e = int(request.early_phase)
            if not 0 < e < self.study.n_phases:
                raise SegmentationError(f"phase {e} is not a post-contrast phase (1..{self.study.n_phases - 1})",
                                        self.study.source)
            return e
        return select_early_late(self.study.phase_times_s)[0]

    def box(self, request: SegmentationRequest) -> tuple[slice, slice, slice]:
        """The search box as [z, y, x] slices (checked: inside the image, holding the seed)."""
        shape = self.study.geometry.shape
        sx, sy, sz = (int(v) for v in request.seed_xyz)
        seed_zyx = (sz, sy, sx)
        if not all(0 <= c < n for c, n in zip(seed_zyx, shape)):
            raise SegmentationError(f"seed (x {sx}, y {sy}, z {sz}) is outside the image "
                                    f"({shape[2]}x{shape[1]}x{shape[0]} voxels)", self.study.source)
        if request.box_xyz is None:
            spacing = self.study.spacing_mm
            half = [int(np.ceil(DEFAULT_HALF_BOX_MM / float(s))) for s in spacing]
            return tuple(slice(max(0, c - h), min(n, c + h + 1)) for c, h, n in zip(seed_zyx, half, shape))
        x0, y0, z0, x1, y1, z1 = (int(v) for v in request.box_xyz)
        lo, hi = (z0, y0, x0), (z1, y1, x1)
        if any(a > b or a < 0 or b >= n for a, b, n in zip(lo, hi, shape)):
            raise SegmentationError(f"box ({x0},{y0},{z0},{x1},{y1},{z1}) is not inside the image "
                                    f"({shape[2]}x{shape[1]}x{shape[0]} voxels) with X0<=X1, Y0<=Y1, Z0<=Z1",
                                    self.study.source)
        if not all(a <= c <= b for a, c, b in zip(lo, seed_zyx, hi)):
            raise SegmentationError(f"seed (x {sx}, y {sy}, z {sz}) is outside the box "
                                    f"({x0},{y0},{z0},{x1},{y1},{z1})", self.study.source)
        return tuple(slice(a, b + 1) for a, b in zip(lo, hi))

    def box_pe(self, box, early: int) -> np.ndarray:
        """Median-filtered PE (float32, percent) on ``box``; non-tissue voxels 0 (cached for the last box)."""
        key = (tuple((s.start, s.stop) for s in box), early)
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1]
        if self._floor is None:
            self._floor = tissue_floor(self.study)
        s0 = self.study.data[0][box].astype(np.float32)
        s1 = self.study.data[early][box].astype(np.float32)
        tissue = s0 >= max(self._floor, 1e-6)
        pe = np.zeros(s0.shape, np.float32)
        np.divide(100.0 * (s1 - s0), s0, out=pe, where=tissue)
        pe = ndimage.median_filter(pe, size=(1, 3, 3))
        pe[~tissue] = 0.0  # the median must not pull air next to tissue into the lesion
        self._cached = (key, pe)
        return pe

    # ------------------------------------------------------------------ method
    def segment(self, request: SegmentationRequest) -> SegmentationResult:
        """Steps 1-5 of the module docstring; raises :class:`SegmentationError` with a readable reason."""
        threshold = float(request.threshold_pe)
        if not np.isfinite(threshold) or not 0 < threshold <= 1000:
            raise SegmentationError(f"PE threshold must be a number in (0, 1000] %, not {request.threshold_pe}",
                                    self.study.source)
        early = self.early_phase(request)
        box = self.box(request)
        pe = self.box_pe(box, early)
        sx, sy, sz = (int(v) for v in request.seed_xyz)
        seed = (sz - box[0].start, sy - box[1].start, sx - box[2].start)
        where = f"seed (x {sx}, y {sy}, z {sz})"
        if self.study.data[0][sz, sy, sx] < (self._floor or 0.0):
            raise SegmentationError(f"{where} is outside tissue (air or background: pre-contrast signal below "
                                    "the tissue floor); click inside the enhancing lesion", self.study.source)
        strong = pe >= threshold
        labels, _ = ndimage.label(pe >= LOW_FRACTION * threshold, structure=_SIX)
        cores = np.unique(labels[strong])
        cores = cores[cores > 0]
        label = int(labels[seed]) or self._enclosing_label(labels, cores, seed)
        if label == 0:
            raise SegmentationError(
                f"{where} is not in enhancing tissue: PE there is {pe[seed]:.0f} % (lesion edge threshold "
                f"{LOW_FRACTION * threshold:g} %, core {threshold:g} %); click inside the enhancing lesion or "
                "lower the threshold", self.study.source)
        region = labels == label
        if label not in cores:
            raise SegmentationError(
                f"the enhancing region at {where} peaks at PE {float(pe[region].max()):.0f} %, below the "
                f"threshold {threshold:g} %; lower the threshold if this is the lesion", self.study.source)
        region = _shape(region, seed, self.study.spacing_mm)
        self._check_leak(region, box, request, where)
        full = np.zeros(self.study.geometry.shape, dtype=bool)
        full[box] = region
        provenance = MaskProvenance(origin=MaskOrigin.SEMI_AUTOMATIC, seed_xyz=(sx, sy, sz),
                                    box_xyz=None if request.box_xyz is None else tuple(int(v) for v in request.box_xyz),
                                    threshold_pe=threshold, early_phase=early, method=METHOD)
        mask = Mask(array=full, geometry=self.study.geometry, source="semi-automatic segmentation")
        return SegmentationResult(mask=mask, provenance=provenance, box_zyx=box, seed_pe=float(pe[seed]),
                                  n_core_voxels=int(np.count_nonzero(strong & region)))

    @staticmethod
    def _enclosing_label(labels: np.ndarray, cores: np.ndarray, seed) -> int:
        """Label of the core component whose in-plane hole holds the seed (necrotic centre), else 0."""
        z, y, x = seed
        plane = np.isin(labels[z], cores)
        if not plane.any():
            return 0
        holes = ndimage.binary_fill_holes(plane) & ~plane
        if not holes[y, x]:
            return 0
        hole_labels, _ = ndimage.label(holes)
        rim = ndimage.binary_dilation(hole_labels == hole_labels[y, x]) & plane
        values = labels[z][rim]
        return int(np.bincount(values).argmax()) if values.size else 0

    def _check_leak(self, region: np.ndarray, box, request: SegmentationRequest, where: str) -> None:
        fraction = float(np.count_nonzero(region)) / region.size
        if fraction > MAX_BOX_FRACTION:
            raise SegmentationError(
                f"the region grown from {where} fills {100 * fraction:.0f} % of the search box (a leak into "
                "surrounding tissue); raise the threshold or draw a tighter box", self.study.source)
        if request.box_xyz is not None:
            return
        shape = self.study.geometry.shape
        faces = 0
        for axis, sl in enumerate(box):
            lo = [slice(None)] * 3
            if sl.start > 0:
                lo[axis] = 0
                faces += bool(region[tuple(lo)].any())
            if sl.stop < shape[axis]:
                lo[axis] = -1
                faces += bool(region[tuple(lo)].any())
        if faces > MAX_DEFAULT_BOX_FACES:
            raise SegmentationError(
                f"the region grown from {where} reaches the edge of the {2 * DEFAULT_HALF_BOX_MM:g} mm search box "
                f"on {faces} sides (a leak, or a lesion larger than the box); raise the threshold or give a box",
                self.study.source)


def _shape(region: np.ndarray, seed, spacing_mm) -> np.ndarray:
    """Step 4 on the region's bounding box (padded so the closing sees background around it)."""
    close_el, open_el = ball(CLOSE_MM, spacing_mm), ball(OPEN_MM, spacing_mm)
    pad = [h // 2 + 1 for h in close_el.shape]
    nz = np.nonzero(region)
    lo = [max(int(a.min()) - p, 0) for a, p in zip(nz, pad)]
    hi = [min(int(a.max()) + p + 1, n) for a, p, n in zip(nz, pad, region.shape)]
    crop = tuple(slice(a, b) for a, b in zip(lo, hi))
    sub = np.pad(region[crop], [(p, p) for p in pad])
    sub = ndimage.binary_closing(sub, structure=close_el)
    sub = ndimage.binary_fill_holes(sub)
    for z in range(sub.shape[0]):
        sub[z] = ndimage.binary_fill_holes(sub[z])
    sub = ndimage.binary_opening(sub, structure=open_el)
    sub = sub[tuple(slice(p, s - p) for p, s in zip(pad, sub.shape))]
    out = np.zeros_like(region)
    out[crop] = sub
    labels, n = ndimage.label(out, structure=_SIX)
    if n > 1:
        keep = labels[seed] or 1 + int(np.argmax(ndimage.sum_labels(out, labels, np.arange(1, n + 1))))
        out = labels == keep
    return out


def segment_lesion(study: DCEStudy, request: SegmentationRequest) -> SegmentationResult:
    """The semi-automatic lesion mask for ``request`` on ``study`` (see the module docstring)."""
    return LesionSegmenter(study).segment(request)
