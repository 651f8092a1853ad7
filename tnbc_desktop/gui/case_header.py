"""Texts that say whose case is on screen: the case header and the recent-cases menu entries (no Qt).

In de-identified mode neither shows a name, an ID or a date.
"""
from __future__ import annotations

from pathlib import Path

from tnbc_desktop.core.report.deid import format_dicom_date

LATERALITY = {"L": "left", "R": "right", "B": "both breasts"}


def _series_text(study) -> str:
    described = []
    for p in study.phases:
        text = p.series_description or (f"series {p.series_number}" if p.series_number is not None else "")
        if text and text not in described:
            described.append(text)
    if not described:
        return ""
    return described[0] if len(described) == 1 else f"{len(described)} series ({described[0]}, ...)"


def header_text(study, source: list[str], deidentify: bool) -> str:
    """Patient name, ID, birth date, study date, series and laterality (where the headers say them)."""
    ident = study.identity
    lines = []
    if deidentify:
        lines.append("Patient: de-identified")
    else:
        who = ident.patient_name.replace("^", " ").strip() or "name not in the files"
        pid = f"ID {ident.patient_id}" if ident.patient_id else "no patient ID in the files"
        born = f", born {format_dicom_date(ident.birth_date)}" if ident.birth_date else ""
        lines.append(f"Patient: {who} ({pid}){born}")
    study_bits = []
    if ident.study_date and not deidentify:
        study_bits.append(f"study date {format_dicom_date(ident.study_date)}")
    series = _series_text(study)
    if series:
        study_bits.append(f"series {series}")
    if ident.laterality:
        study_bits.append(f"laterality {LATERALITY.get(ident.laterality, ident.laterality)}")
    if not study_bits:
        study_bits.append(f"from {', '.join(Path(p).name for p in source)}" if not deidentify else "study")
    lines.append("Study: " + "; ".join(study_bits))
    lines.append(f"{study.n_phases} phases, {study.geometry.describe()}\ntiming from {study.timing_source}")
    return "\n".join(lines)


def recent_label(study, source: list[str], deidentify: bool) -> str:
    """The recent-cases menu entry: patient and study date, or the file name when de-identified / unknown."""
    ident = study.identity
    name = Path(source[0]).name if source else "?"
    if deidentify or not (ident.patient_name or ident.patient_id):
        return name
    who = ident.patient_name.replace("^", " ").strip() or ident.patient_id
    if ident.patient_id and ident.patient_id not in who:
        who += f" ({ident.patient_id})"
    date = f", study {format_dicom_date(ident.study_date)}" if ident.study_date else ""
    return f"{who}{date} - {name}"
