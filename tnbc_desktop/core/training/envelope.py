"""The training envelope of a bundle: the acquisition range of its training patients (intended-use gate).

:func:`manifest_envelope` reads each training patient's study and mask (the same loaders as a case analysis)
and summarises them as a :class:`~tnbc_desktop.core.intended_use.TrainingEnvelope`. [D] It runs in the training
process, one patient after another: a study load is about a second, small next to the minutes of feature
extraction per patient, and keeps the extraction workers' output format unchanged. A patient whose files
cannot be read is left out and named in the notes (its features are missing too, so it did not train).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from tnbc_desktop.core.intended_use import AcquisitionProfile, TrainingEnvelope
from tnbc_desktop.core.manifest import ManifestRow
from tnbc_desktop.errors import TnbcError


def row_profile(row: ManifestRow, kinetic_settings=None) -> AcquisitionProfile:
    """Acquisition profile of one manifest row (study + mask)."""
    from tnbc_desktop.core.io.masks import load_mask
    from tnbc_desktop.core.io.study_loader import load_study

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
