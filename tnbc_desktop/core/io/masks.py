"""``load_mask``: a tumour mask (NIfTI / NRRD / DICOM-SEG, binary or labelled) aligned to the study grid.

Accepted: a mask on the study grid, or on another grid covering the same physical region (voxel-edge bounding
boxes agree to within the larger voxel size), which is resampled nearest-neighbour onto the study grid
(``resampled=True`` and a note). Anything else is a :class:`GeometryError` giving both geometries. A mask with
several labels needs ``label``; an empty mask is a :class:`MaskError`. In a DICOM-SEG ``label`` is the segment
number; without it a SEG with several segments gives the one labelled "tumour" (see ``_choose_segment``).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk

from tnbc_desktop.core.io.safe_files import require_regular_file
from tnbc_desktop.core.io.sanity import mask_warnings
from tnbc_desktop.core.io.volumes import image_from_array, is_volume_path, read_volume
from tnbc_desktop.core.study import Geometry, Mask
from tnbc_desktop.errors import GeometryError, InputError, MaskError

SEGMENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"


def _edge_box_in_study_mm(geometry: Geometry, study: Geometry) -> np.ndarray:
    """(3, 2) min/max of ``geometry``'s voxel-edge box along the study's (x, y, z) axes, mm from study origin."""
    n = np.asarray(geometry.shape[::-1], dtype=float)  # (x, y, z)
    sp = np.asarray(geometry.spacing_mm[::-1], dtype=float)
    d = np.asarray(geometry.direction, dtype=float).reshape(3, 3)
    corners_idx = np.array([[i, j, k] for i in (-0.5, n[0] - 0.5) for j in (-0.5, n[1] - 0.5)
                            for k in (-0.5, n[2] - 0.5)])
    lps = np.asarray(geometry.origin_mm) + (corners_idx * sp) @ d.T
    ds = np.asarray(study.direction, dtype=float).reshape(3, 3)
    along = (lps - np.asarray(study.origin_mm)) @ ds  # coordinates along the study axes (mm)
    return np.stack([along.min(axis=0), along.max(axis=0)], axis=1)


def covers_same_region(mask_geometry: Geometry, study_geometry: Geometry) -> bool:
    """True when both grids' voxel-edge boxes agree to within the larger voxel size of the two grids."""
    tol = max(max(mask_geometry.spacing_mm), max(study_geometry.spacing_mm)) + 1e-3
    a = _edge_box_in_study_mm(mask_geometry, study_geometry)
    b = _edge_box_in_study_mm(study_geometry, study_geometry)
    return bool(np.all(np.abs(a - b) <= tol))


def resample_to_study(binary: np.ndarray, mask_geometry: Geometry, study_geometry: Geometry) -> np.ndarray:
    """Nearest-neighbour resampling of a bool [z, y, x] mask onto the study grid (SimpleITK)."""
    moving = image_from_array(binary.astype(np.uint8), mask_geometry)
    reference = image_from_array(np.zeros(study_geometry.shape, dtype=np.uint8), study_geometry)
    out = sitk.Resample(moving, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    return sitk.GetArrayFromImage(out).astype(bool)


def select_label(values: np.ndarray, label: int | None, source: Path) -> tuple[np.ndarray, int]:
    """Bool mask of one label from a binary or labelled array; errors name the labels found."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        n_bad = int(np.count_nonzero(~np.isfinite(arr)))
        if n_bad:
            raise MaskError(f"holds {n_bad} NaN or infinite value(s); a binary or labelled mask is needed", source)
        if np.any(arr != np.round(arr)):
            raise MaskError("holds non-integer values (a probability map?); a binary or labelled mask is needed",
                            source)
        arr = arr.astype(np.int64)
    elif arr.dtype == bool:
        arr = arr.astype(np.uint8)
    labels = [int(v) for v in np.unique(arr) if v != 0]
    if label is not None:
        if int(label) not in labels:
            found = ", ".join(map(str, labels)) or "none"
            raise MaskError(f"label {label} is not in the mask (labels present: {found})", source)
        return arr == int(label), int(label)
    if not labels:
        raise MaskError("is empty (no voxel is set)", source)
    if len(labels) > 1:
        shown = ", ".join(map(str, labels[:20])) + (" ..." if len(labels) > 20 else "")
        raise MaskError(f"holds several labels ({shown}); choose one (--mask-label)", source)
    return arr == labels[0], labels[0]


def _segment_names(ds) -> dict[int, tuple[str, str]]:
    """Segment number -> (label, tracking id) from the SegmentSequence (empty strings where absent)."""
    out = {}
    for item in ds.get("SegmentSequence") or ():
        number = int(item.get("SegmentNumber", 0) or 0)
        out[number] = (str(item.get("SegmentLabel", "") or ""), str(item.get("TrackingID", "") or ""))
    return out


def _choose_segment(present: list[int], names: dict[int, tuple[str, str]], label: int | None, path: Path) -> int:
    """The segment to load: ``label`` if given, the only one, or the one labelled / tracked as the tumour.

    [D] A SEG with several segments (e.g. tumour, habitats and ring as the app exports them) gives its tumour
    when exactly one segment is labelled or tracked "tumour"/"tumor"; otherwise the user chooses."""
    def shown(n):
        return f"{n} '{names.get(n, ('', ''))[0]}'" if names.get(n, ("", ""))[0] else str(n)

    if label is not None:
        if int(label) not in present:
            raise MaskError(f"segment {label} is not in the DICOM-SEG (segments present: "
                            f"{', '.join(shown(n) for n in present[:20]) or 'none'})", path)
        return int(label)
    if len(present) == 1:
        return present[0]
    tumour = [n for n in present if {v.strip().lower() for v in names.get(n, ("", ""))} & {"tumour", "tumor"}]
    if len(tumour) == 1:
        return tumour[0]
    listed = ", ".join(shown(n) for n in present[:20]) + (" ..." if len(present) > 20 else "")
    raise MaskError(f"holds several labels (segments {listed}); choose one (--mask-label)", path)


def _read_segmentation(path: Path, study: Geometry, label: int | None) -> tuple[np.ndarray, Geometry]:
    """One segment of a DICOM-SEG placed onto the study grid (uint16 [z, y, x] holding its segment number).

    Frames must lie in the study's slice planes with its in-plane grid (sparse frames are fine); a SEG on
    another grid is refused with a :class:`GeometryError`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
            frames = np.asarray(ds.pixel_array)
    except Exception as exc:
        raise MaskError(f"cannot be read as DICOM ({type(exc).__name__}: {exc})", path) from None
    if str(ds.get("SOPClassUID", "")) != SEGMENTATION_STORAGE:
        raise MaskError("is a DICOM file but not a DICOM-SEG segmentation", path)
    if frames.ndim == 2:
        frames = frames[None]
    try:
        shared = ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds else None
        per_frame = ds.PerFrameFunctionalGroupsSequence

        def item(fg, name):  # a functional group from the frame, else the shared groups
            seq = fg.get(name) or (shared.get(name) if shared is not None else None)
            return seq[0]

        ori = np.asarray(item(per_frame[0], "PlaneOrientationSequence").ImageOrientationPatient, dtype=float)
        spacing = np.asarray(item(per_frame[0], "PixelMeasuresSequence").PixelSpacing, dtype=float)
        positions = np.array([item(fg, "PlanePositionSequence").ImagePositionPatient for fg in per_frame],
                             dtype=float)
        segments = [int(item(fg, "SegmentIdentificationSequence").ReferencedSegmentNumber) for fg in per_frame]
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        raise MaskError("DICOM-SEG lacks the plane orientation/position or segment number of its frames", path) \
            from None
    chosen = _choose_segment(sorted(set(segments)), _segment_names(ds), label, path)
    d = np.asarray(study.direction, dtype=float).reshape(3, 3)
    same_plane = (np.allclose(ori, np.concatenate([d[:, 0], d[:, 1]]), atol=1e-3)
                  and np.allclose(spacing, study.spacing_mm[1:], rtol=1e-4)
                  and frames.shape[1:] == tuple(study.shape[1:]))
    rel = (positions - np.asarray(study.origin_mm)) @ d / np.asarray(study.spacing_mm[::-1])  # (x, y, z) index
    k = np.rint(rel[:, 2]).astype(int)
    if not (same_plane and np.allclose(rel[:, :2], 0, atol=1e-2) and np.allclose(rel[:, 2], k, atol=1e-2)
            and np.all((k >= 0) & (k < study.shape[0]))):
        raise GeometryError(f"DICOM-SEG frames ({frames.shape[2]}x{frames.shape[1]} at {spacing[1]:g}x"
                            f"{spacing[0]:g} mm) do not lie on the study grid ({study.describe()})", path)
    labels = np.zeros(study.shape, dtype=np.uint16)
    for frame, z, seg in zip(frames, k, segments):
        if seg == chosen:
            labels[z][frame.astype(bool)] = seg
    return labels, study


def load_mask(path: str | Path, study_geometry: Geometry, label: int | None = None) -> Mask:
    """Load a tumour mask and align it to ``study_geometry``; see the module docstring."""
    p = Path(path)
    if not p.exists():
        raise MaskError("does not exist", p)
    if p.is_dir():
        raise MaskError("is a folder; give the mask file (NIfTI, NRRD or DICOM-SEG)", p)
    require_regular_file(p, MaskError)
    notes: list[str] = []
    if is_volume_path(p):
        try:
            values, geometry = read_volume(p)
        except (MaskError, GeometryError):
            raise
        except InputError as exc:
            raise MaskError(exc.problem, p) from None
        if values.ndim != 3:
            raise MaskError(f"is {values.ndim}D; a 3D mask is needed", p)
    else:
        values, geometry = _read_segmentation(p, study_geometry, label)
    binary, chosen = select_label(values, label, p)
    resampled = False
    if not geometry.same_grid(study_geometry):
        if not covers_same_region(geometry, study_geometry):
            raise GeometryError(f"mask grid does not cover the study: mask {geometry.describe()}; study "
                                f"{study_geometry.describe()}", p)
        binary = resample_to_study(binary, geometry, study_geometry)
        resampled = True
        notes.append(f"resampled (nearest neighbour) from {geometry.describe()} onto the study grid")
    if not binary.any():
        raise MaskError("is empty on the study grid" + (" after resampling" if resampled else ""), p)
    return Mask(array=np.ascontiguousarray(binary), geometry=study_geometry, source=str(p), label=chosen,
                resampled=resampled, notes=tuple(notes), warnings=mask_warnings(binary))
