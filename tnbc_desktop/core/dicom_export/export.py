"""Write one analysed case back as DICOM: the regions as a SEG, the report as an encapsulated PDF, the numbers as
a TID 1500 SR, all in the patient's study (see :mod:`.seg`, :mod:`.pdf`, :mod:`.sr`).

The SEG references the early post-contrast phase's images (the phase the habitats' early enhancement is read
from: ``qc.early_phase``). A study read from NIfTI/NRRD has no DICOM images to reference, so no SEG is
written and the export says why; the PDF and SR are still written, in a new study (the files carry no study
UID) under the patient identity the inputs give, if any. With ``deidentify`` every object goes through one
:class:`~.deid.DicomDeidentifier` (one UID map, so the SR still points at the SEG and the SEG at its source
images' new UIDs) and the PDF must be the de-identified report.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import highdicom as hd
from pydicom.dataset import Dataset

from tnbc_desktop.core.case import CaseResult
from tnbc_desktop.core.dicom_export.case_regions import case_segments
from tnbc_desktop.core.dicom_export.deid import DicomDeidentifier
from tnbc_desktop.core.dicom_export.pdf import build_encapsulated_pdf
from tnbc_desktop.core.dicom_export.seg import NO_DICOM_SOURCE, SegSeries, build_seg, read_source_datasets, save_dataset
from tnbc_desktop.core.dicom_export.sr import build_measurement_report
from tnbc_desktop.core.phase_numbering import phase_number
from tnbc_desktop.core.report.deid import identifier_strings
from tnbc_desktop.errors import OutputError

SEG_NAME, PDF_NAME, SR_NAME = "SEG_regions.dcm", "DOC_report.dcm", "SR_measurements.dcm"


@dataclass(frozen=True)
class DicomExport:
    """Where the objects went (``seg`` None when none was written; ``notes`` say why)."""

    folder: Path
    seg: Path | None
    pdf: Path
    sr: Path
    notes: tuple[str, ...] = ()

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(p for p in (self.seg, self.pdf, self.sr) if p is not None)


def _reference_without_source(result: CaseResult) -> Dataset:
    """Patient / study attributes for a study that has no DICOM source (from the inputs' identity)."""
    ident = result.study.identity
    ds = Dataset()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = ident.patient_name, ident.patient_id, ident.birth_date
    ds.PatientSex, ds.StudyDate, ds.StudyTime, ds.ReferringPhysicianName = "", ident.study_date, "", ""
    ds.StudyID, ds.AccessionNumber = "", ident.accession_number
    ds.StudyInstanceUID = result.study.study_uid or str(hd.UID())
    return ds


def export_case_dicom(result: CaseResult, report_pdf: str | Path, out_dir: str | Path,
                      deidentify: bool | None = None) -> DicomExport:
    """Write SEG (when the study is DICOM), encapsulated PDF and SR of ``result`` into ``out_dir``.

    ``report_pdf``: the report file as written for this result (de-identified when ``deidentify``);
    ``deidentify`` defaults to the inputs' choice. Raises :class:`OutputError` naming the problem."""
    deidentify = bool(result.inputs.deidentify if deidentify is None else deidentify)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        pdf_bytes = Path(report_pdf).read_bytes()
    except OSError as exc:
        raise OutputError(f"cannot prepare the DICOM export ({exc.strerror or type(exc).__name__})",
                          exc.filename or out) from None
    notes: list[str] = []
    seg, sources = None, []
    phase = result.qc.early_phase if result.qc.early_phase is not None else 1
    if result.study.source_images:
        sources = read_source_datasets(result.study.source_images[phase])
        segments = case_segments(result)
        seg = build_seg(sources, segments, SegSeries(series_description="tnbc-desktop tumour, habitats, ring"),
                        geometry=result.study.geometry)
        reference = sources[0]
        notes.append(f"SEG references the {len(result.study.source_images[phase])} image(s) of phase "
                     f"{phase_number(phase)} "
                     "(early post-contrast)")
    else:
        reference = _reference_without_source(result)
        notes.append(f"no SEG: {NO_DICOM_SOURCE}")
    doc = build_encapsulated_pdf(pdf_bytes, reference, title="TNBC pCR decision support report (research use)",
                                 identifiers_in_document=not deidentify)
    sr = build_measurement_report(result, [doc] + ([seg] if seg is not None else []) + sources, seg)
    objects = [(SEG_NAME, seg), (PDF_NAME, doc), (SR_NAME, sr)]
    if deidentify:
        scrub = DicomDeidentifier(identifier_strings(result))
        for _, ds in objects:
            if ds is not None:
                scrub(ds)
    written = {name: save_dataset(ds, out / name) for name, ds in objects if ds is not None}
    return DicomExport(out, written.get(SEG_NAME), written[PDF_NAME], written[SR_NAME], tuple(notes))
