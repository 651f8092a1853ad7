"""The training envelope of a bundle: the acquisition range of its training patients (intended-use gate).

:func:`manifest_envelope` reads each training patient's study and mask (the same loaders as a case analysis)
and summarises them as a :class:`~tnbc_desktop.core.intended_use.TrainingEnvelope`. [D] It runs in the training
process, one patient after another, from the NIfTI/NRRD headers and the mask where it can (milliseconds per
patient), else by loading the study (seconds); this keeps the extraction workers' output format unchanged.
A patient whose files cannot be read is left out and named in the notes (its features are missing too, so it
did not train).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from types import SimpleNamespace

from tnbc_desktop.core.intended_use import AcquisitionProfile, TrainingEnvelope
from tnbc_desktop.core.manifest import ManifestRow
from tnbc_desktop.errors import TnbcError


def _header_profile(row: ManifestRow, kinetic_settings=None) -> AcquisitionProfile | None:
    """Profile from NIfTI/NRRD headers and the mask alone (no study pixels), or None when the study is not a
    volume file list with phase times in the manifest. A full-size study takes seconds to load; its header
    takes milliseconds."""
    import numpy as np
    import SimpleITK as sitk

    from tnbc_desktop.core.io.volumes import image_geometry, is_volume_path
    from tnbc_desktop.core.study import PatientIdentity

    files = list(row.study) if isinstance(row.study, tuple) else [row.study]
    if row.phase_times_s is None or row.mask is None or not all(is_volume_path(p) for p in files):
        return None
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(files[0]))
    try:
        reader.ReadImageInformation()
        size, spacing = reader.GetSize(), reader.GetSpacing()
        mask = sitk.ReadImage(str(row.mask))
    except RuntimeError:
        return None  # let the full loader say what is wrong
    n_phases = len(files) if len(files) > 1 else (size[3] if len(size) == 4 else 1)
    if n_phases != len(row.phase_times_s) or len(size) < 3:
        return None
    geometry = image_geometry(mask, row.mask)
    volume = float(np.count_nonzero(sitk.GetArrayViewFromImage(mask))) * geometry.voxel_volume_mm3 / 1000.0
    study = SimpleNamespace(phase_times_s=tuple(row.phase_times_s), identity=PatientIdentity(),
                            geometry=SimpleNamespace(spacing_mm=(spacing[2], spacing[1], spacing[0]),
                                                     shape=(size[2], size[1], size[0])))
    return AcquisitionProfile.from_study(study, volume, kinetic_settings)


def row_profile(row: ManifestRow, kinetic_settings=None) -> AcquisitionProfile:
    """Acquisition profile of one manifest row (study + mask): from the headers when the study is a list of
    volume files with its phase times in the manifest, else from the loaded study."""
    from tnbc_desktop.core.io.masks import load_mask
    from tnbc_desktop.core.io.study_loader import load_study

    quick = _header_profile(row, kinetic_settings)
    if quick is not None:
        return quick
    study = load_study(row.study, phase_times_s=row.phase_times_s)
    volume = load_mask(row.mask, study.geometry).volume_ml if row.mask is not None else None
    return AcquisitionProfile.from_study(study, volume, kinetic_settings)


def manifest_envelope(rows: Iterable[ManifestRow], kinetic_settings=None,
                      progress: Callable[[str], None] | None = None) -> tuple[TrainingEnvelope, list[str]]:
    """Envelope over ``rows`` (the training patients) and notes about rows that could not be read."""
    profiles, notes = [], []
    rows = list(rows)
    for i, row in enumerate(rows, start=1):
        try:
            profiles.append(row_profile(row, kinetic_settings))
        except TnbcError as exc:
            notes.append(f"training envelope: row {row.row_number} left out ({getattr(exc, 'problem', exc)})"[:300])
        if progress is not None and (i % 50 == 0 or i == len(rows)):
            progress(f"training envelope: {i}/{len(rows)} patients read")
    return TrainingEnvelope.from_profiles(profiles), notes


def synthetic_cohort_envelope(n: int, seed: int, split: str = "train", kinetic_settings=None) -> TrainingEnvelope:
    """Envelope of a synthetic cohort as ``make_cohort(n, seed)`` writes it, computed in memory (no files):
    the patients of ``split`` with the cohort's shape, spacing, phase times and tumour size."""
    from tnbc_desktop.core.synthetic.cohort import COHORT_SHAPE, COHORT_TUMOUR_ML, cohort_records
    from tnbc_desktop.core.synthetic.patient import DEFAULT_PHASE_TIMES_S, DEFAULT_SPACING_MM, make_patient

    profiles = []
    for rec in cohort_records(n, seed):
        if rec.split != split:
            continue
        p = make_patient(rec.seed, shape=COHORT_SHAPE, spacing_mm=DEFAULT_SPACING_MM,
                         phase_times_s=DEFAULT_PHASE_TIMES_S, tumour_volume_ml=COHORT_TUMOUR_ML)
        profiles.append(AcquisitionProfile.from_study(p.study, p.mask.volume_ml, kinetic_settings))
    return TrainingEnvelope.from_profiles(profiles)


__all__ = ["row_profile", "manifest_envelope", "synthetic_cohort_envelope"]
