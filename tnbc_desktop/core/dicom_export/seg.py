"""DICOM-SEG of binary segments on the study grid (highdicom), referencing the DICOM images they were drawn on.

:func:`build_seg` turns :class:`Segment` s (bool [z, y, x] arrays on the study grid, a coded category and type,
a display colour) into one BINARY Segmentation instance whose frames reference ``source_datasets``: the
study's images of one phase in slice order (:func:`read_source_datasets` reads their headers from a
:class:`~tnbc_desktop.core.study.DCEStudy`'s ``source_images``). Segments may overlap (a habitat lies inside
the tumour), so they are stacked, not a label map. Empty slices are omitted from the SEG (highdicom's
``omit_empty_frames``). :func:`write_seg` builds and saves atomically.

A study read from NIfTI/NRRD has no DICOM images to reference: :func:`read_source_datasets` raises
:class:`~tnbc_desktop.errors.OutputError` saying so (no SEG is written rather than one pointing nowhere).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.coding import Code

from tnbc_desktop import __version__
from tnbc_desktop.core.io.atomic import write_with_atomic
from tnbc_desktop.core.study import Geometry, SourceImage
from tnbc_desktop.errors import OutputError

MANUFACTURER = "tnbc-desktop (research use only)"
SOFTWARE_NAME = "tnbc-desktop"
NO_DICOM_SOURCE = ("the study was read from NIfTI/NRRD files, so there are no DICOM source images for a "
                   "DICOM-SEG to reference")


@dataclass(frozen=True, eq=False)
class Segment:
    """One segment: bool ``array`` [z, y, x] on the study grid, its label, codes and recommended colour.

    ``category`` / ``property_type``: the Segmented Property Category / Type codes (e.g. SCT Morphologically
    Altered Structure / Neoplasm); ``tracking_id``: a short stable name other objects (the SR) refer to;
    ``colour_rgb``: 0..255 RGB, stored as the CIELab Recommended Display value; ``algorithm_family``: the
    CID 7162 family of the algorithm that made it (e.g. Cluster Analysis), None for a segment the app did not
    compute (a user-supplied mask: algorithm type MANUAL); ``semi_automatic``: the algorithm was steered by
    the user (seed, threshold, hand edits), stored as algorithm type SEMIAUTOMATIC instead of AUTOMATIC."""

    label: str
    array: np.ndarray
    category: Code
    property_type: Code
    colour_rgb: tuple[int, int, int]
    tracking_id: str
    anatomic_region: Code | None = None
    algorithm_family: Code | None = None
    semi_automatic: bool = False


@dataclass(frozen=True)
class SegSeries:
    """Series and instance identity of a written SEG (UIDs generated when left empty)."""

    series_description: str = "tnbc-desktop segmentation"
    series_number: int = 9100
    series_uid: str = ""
    sop_instance_uid: str = ""
    content_label: str = "TNBC_REGIONS"


def read_source_datasets(images: Sequence[SourceImage]) -> list[Dataset]:
    """Headers (no pixels) of one phase's source images, in slice order; a multi-frame source gives one dataset.

    :class:`OutputError` when there are none (NIfTI/NRRD input) or a file cannot be read any more."""
    if not images:
        raise OutputError(NO_DICOM_SOURCE)
    paths = list(dict.fromkeys(im.path for im in images))
    if len(paths) != len(images) and len(paths) != 1:
        raise OutputError("the source images mix single-frame and multi-frame files; a DICOM-SEG needs one kind",
                          paths[0])
    out = []
    for path in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.append(pydicom.dcmread(path, stop_before_pixels=True))
        except (OSError, pydicom.errors.InvalidDicomError) as exc:
            raise OutputError(f"source image cannot be read for the DICOM-SEG references ({type(exc).__name__})",
                              path) from None
    for im, ds in zip(images, out):
        if len(paths) > 1 and str(ds.get("SOPInstanceUID", "")) != im.sop_instance_uid:
            raise OutputError("source image changed since the study was loaded (SOP Instance UID differs)", im.path)
    return out


def _description(number: int, seg: Segment) -> hd.seg.SegmentDescription:
    if seg.algorithm_family is None:
        kind, algorithm = hd.seg.SegmentAlgorithmTypeValues.MANUAL, None
    else:
        kind = hd.seg.SegmentAlgorithmTypeValues["SEMIAUTOMATIC" if seg.semi_automatic else "AUTOMATIC"]
        algorithm = hd.AlgorithmIdentificationSequence(name=SOFTWARE_NAME, version=__version__,
                                                       family=seg.algorithm_family)
    return hd.seg.SegmentDescription(
        segment_number=number, segment_label=seg.label[:64], segmented_property_category=seg.category,
        segmented_property_type=seg.property_type, algorithm_type=kind, algorithm_identification=algorithm,
        tracking_uid=hd.UID(), tracking_id=seg.tracking_id,
        anatomic_regions=[seg.anatomic_region] if seg.anatomic_region is not None else None,
        display_color=hd.color.CIELabColor.from_rgb(*(int(c) for c in seg.colour_rgb)))


def _stack(segments: Sequence[Segment], shape: tuple[int, ...]) -> np.ndarray:
    if not segments:
        raise OutputError("a DICOM-SEG needs at least one segment")
    for seg in segments:
        if tuple(seg.array.shape) != tuple(shape):
            raise OutputError(f"segment '{seg.label}' is {seg.array.shape}, not on the study grid {tuple(shape)}")
        if not np.any(seg.array):
            raise OutputError(f"segment '{seg.label}' is empty; an empty segment is not written")
    return np.stack([np.asarray(s.array, dtype=bool) for s in segments], axis=-1).astype(np.uint8)


def _volume(pixels: np.ndarray, geometry: Geometry, frame_of_reference_uid: str) -> hd.Volume:
    """The stacked segments as a highdicom Volume on the study grid (array axes z, y, x, segment)."""
    d = np.asarray(geometry.direction, dtype=float).reshape(3, 3)  # columns: LPS directions of x, y, z
    dz, dy, dx = geometry.spacing_mm
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1], affine[:3, 2] = d[:, 2] * dz, d[:, 1] * dy, d[:, 0] * dx
    affine[:3, 3] = geometry.origin_mm
    return hd.Volume(pixels, affine, coordinate_system="PATIENT", frame_of_reference_uid=frame_of_reference_uid,
                     channels={"SegmentNumber": list(range(1, pixels.shape[-1] + 1))})


def build_seg(source_datasets: Sequence[Dataset], segments: Sequence[Segment],
              series: SegSeries = SegSeries(), geometry: Geometry | None = None) -> hd.seg.Segmentation:
    """The Segmentation instance (not yet written). ``source_datasets``: one phase's images in slice order
    (one per z), or the single multi-frame image holding them (then ``geometry``, the study grid, places the
    frames and highdicom finds the source frames at the same positions)."""
    if not source_datasets:
        raise OutputError(NO_DICOM_SOURCE)
    n_frames = int(source_datasets[0].get("NumberOfFrames", 1) or 1)
    multiframe = len(source_datasets) == 1 and n_frames > 1
    shape = segments[0].array.shape if segments else ()
    pixels = _stack(segments, shape)
    if multiframe:
        if geometry is None:
            raise OutputError("a multi-frame source image needs the study geometry to place the SEG frames")
        pixels = _volume(pixels, geometry, str(source_datasets[0].get("FrameOfReferenceUID", "")) or None)
    elif len(source_datasets) != shape[0]:
        raise OutputError(f"{len(source_datasets)} source image(s) for {shape[0]} slice(s); the SEG cannot "
                          "reference them one per slice")
    try:
        return hd.seg.Segmentation(
            source_images=list(source_datasets), pixel_array=pixels,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=[_description(i + 1, s) for i, s in enumerate(segments)],
            series_instance_uid=series.series_uid or hd.UID(), series_number=series.series_number,
            sop_instance_uid=series.sop_instance_uid or hd.UID(), instance_number=1, manufacturer=MANUFACTURER,
            manufacturer_model_name=SOFTWARE_NAME, software_versions=__version__, device_serial_number="none",
            content_label=series.content_label, content_description=series.series_description[:64],
            series_description=series.series_description[:64])
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise OutputError(f"DICOM-SEG cannot be built from these source images ({type(exc).__name__}: "
                          f"{str(exc)[:160]})") from None


def save_dataset(ds: Dataset, path: str | Path) -> Path:
    """Write ``ds`` as a DICOM Part 10 file atomically (explicit VR little endian unless its meta says else)."""
    return write_with_atomic(path, lambda f: ds.save_as(f, enforce_file_format=True))


def write_seg(source_datasets: Sequence[Dataset], segments: Sequence[Segment], path: str | Path,
              series: SegSeries = SegSeries(), geometry: Geometry | None = None) -> Path:
    """Build the SEG (see :func:`build_seg`) and write it to ``path`` atomically."""
    return save_dataset(build_seg(source_datasets, segments, series, geometry), path)
