"""Save a tumour mask made in the app: NIfTI / NRRD (by suffix) or DICOM-SEG (``.dcm``, the app's one SEG
writer :func:`tnbc_desktop.core.dicom_export.seg.write_seg`) referencing the study's images of the phase it
was drawn on. Both are written atomically and re-open identical through
:func:`tnbc_desktop.core.io.masks.load_mask`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tnbc_desktop.core.segmentation.provenance import MaskOrigin, MaskProvenance
from tnbc_desktop.core.study import DCEStudy
from tnbc_desktop.errors import InputError, OutputError

SEG_SUFFIXES = (".dcm",)


def is_seg_path(path: str | Path) -> bool:
    return str(path).lower().endswith(SEG_SUFFIXES)


def phase_source_datasets(study: DCEStudy, phase: int) -> list:
    """Headers (no pixels) of the DICOM images behind ``study`` phase ``phase``, in slice order
    (:class:`OutputError` for a study read from NIfTI/NRRD)."""
    from tnbc_desktop.core.dicom_export.seg import read_source_datasets

    images = study.source_images[phase] if phase < len(study.source_images) else ()
    return read_source_datasets(images)


def tumour_segment(mask: np.ndarray, provenance: MaskProvenance):
    """The tumour as a SEG segment; its algorithm type follows the provenance (semi-automatic, or manual
    for a file or a mask drawn by hand)."""
    from pydicom.sr.codedict import codes

    from tnbc_desktop.core.dicom_export.seg import Segment
    from tnbc_desktop.core.palette import OUTLINE_COLOUR

    root = provenance
    while root.based_on is not None:
        root = root.based_on
    steered = root.origin is MaskOrigin.SEMI_AUTOMATIC
    return Segment(label="Tumour", array=mask, category=codes.SCT.MorphologicallyAbnormalStructure,
                   property_type=codes.SCT.Neoplasm, colour_rgb=OUTLINE_COLOUR, tracking_id="tumour",
                   algorithm_family=codes.DCM.ImageProcessing if steered else None, semi_automatic=steered)


def save_mask(array: np.ndarray, study: DCEStudy, path: str | Path,
              provenance: MaskProvenance | None = None, phase: int | None = None) -> MaskProvenance:
    """Write the bool [z, y, x] ``array`` (on ``study``'s grid) to ``path``; returns the provenance noting
    the file. ``.dcm`` -> DICOM-SEG over phase ``phase`` (default: the provenance's early phase, else the
    kinetic early phase); anything else -> a volume file by suffix (NIfTI / NRRD)."""
    from tnbc_desktop.core.io.volumes import is_volume_path, write_volume

    target = Path(path)
    mask = np.asarray(array, dtype=bool)
    if mask.shape != tuple(study.geometry.shape):
        raise OutputError(f"mask shape {mask.shape} is not the study's {tuple(study.geometry.shape)}", target)
    if not mask.any():
        raise OutputError("the mask is empty; nothing was saved", target)
    prov = provenance or MaskProvenance(origin=MaskOrigin.DRAWN)
    if is_seg_path(target):
        from tnbc_desktop.core.dicom_export.seg import SegSeries, write_seg

        if phase is None:
            phase = prov.early_phase if prov.early_phase is not None else _early_phase(study)
        try:
            sources = phase_source_datasets(study, phase)
        except OutputError as exc:
            raise OutputError(f"{exc.problem}; save the mask as .nii.gz instead", exc.source or target) from None
        write_seg(sources, [tumour_segment(mask, prov)], target,
                  SegSeries(series_description="Tumour mask (tnbc-desktop)", content_label="TUMOUR"),
                  geometry=study.geometry)
    elif is_volume_path(target):
        write_volume(mask.astype(np.uint8), study.geometry, target)
    else:
        raise OutputError("unknown mask format; use .nii.gz, .nii, .nrrd or .dcm (DICOM-SEG)", target)
    return prov.saved_as(target)


def _early_phase(study: DCEStudy) -> int:
    from tnbc_desktop.core.kinetics import select_early_late

    try:
        return select_early_late(study.phase_times_s)[0]
    except InputError:
        return min(1, study.n_phases - 1)
