"""Does an input belong to the patient of the study on screen? (MAF sample barcode, DICOM-SEG mask.)

Each check returns ``None`` when the input agrees or when nothing can be compared (a NIfTI study carries no
PatientID, a NIfTI mask no identity), else one readable sentence for the question the window asks before
accepting the input. The sentences name the identifiers, so they are shown to the user and never logged.
"""
from __future__ import annotations

import re
from pathlib import Path

_SEPARATOR = re.compile(r"[^0-9A-Z]")


def _norm(text: str) -> str:
    return " ".join(str(text or "").split()).upper()


def sample_matches_patient(sample: str, patient_id: str) -> bool | None:
    """True / False, or None when either is empty.

    [D] A tumour sample barcode belongs to a patient when one is the other followed by a separator and more
    (TCGA 'TCGA-A1-A0SK-01A-11D' for patient 'TCGA-A1-A0SK'; '<ID>-T1'), or when both are equal - compared
    without case and surrounding blanks. A bare prefix without a separator ('P-3' vs 'P-31-T1') does not count.
    """
    s, p = _norm(sample), _norm(patient_id)
    if not s or not p:
        return None
    if s == p:
        return True
    short, long_ = (s, p) if len(s) < len(p) else (p, s)
    return long_.startswith(short) and bool(_SEPARATOR.match(long_[len(short)]))


def sample_mismatch(sample: str | None, study) -> str | None:
    """Sentence when the MAF sample ``sample`` does not belong to the study's patient, else None."""
    patient_id = getattr(getattr(study, "identity", None), "patient_id", "")
    if sample_matches_patient(sample or "", patient_id) is not False:
        return None
    return (f"The mutation file's sample '{sample}' does not look like a sample of the patient on screen "
            f"(PatientID '{patient_id}').")


def mask_mismatch(path: str | Path, study) -> str | None:
    """Sentence when a DICOM-SEG mask references another study or patient than ``study``, else None.

    Only DICOM files carry an identity; NIfTI / NRRD masks return None (nothing to compare).
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    p = Path(path)
    if p.is_dir() or p.suffix.lower() in (".nii", ".gz", ".nrrd", ".nhdr", ".mha", ".mhd"):
        return None
    try:
        ds = pydicom.dcmread(str(p), stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError, AttributeError):
        return None
    problems = []
    study_uid = str(getattr(study, "study_uid", "") or "")
    mask_study = str(ds.get("StudyInstanceUID", "") or "")
    referenced = [str(item.get("StudyInstanceUID", "") or "")
                  for item in ds.get("ReferencedSeriesSequence", []) or []] if "ReferencedSeriesSequence" in ds else []
    if study_uid and mask_study and mask_study != study_uid and study_uid not in referenced:
        problems.append("belongs to another study (StudyInstanceUID differs)")
    patient_id = getattr(getattr(study, "identity", None), "patient_id", "")
    mask_patient = str(ds.get("PatientID", "") or "")
    if patient_id and mask_patient and _norm(mask_patient) != _norm(patient_id):
        problems.append(f"names patient '{mask_patient}', the study '{patient_id}'")
    if not problems:
        return None
    return f"The mask {p.name} " + " and ".join(problems) + "."
