"""The PDF report as an Encapsulated PDF instance (PS3.3 A.45.1), built with pydicom.

highdicom has no encapsulated-document class, so the dataset is assembled here from the IOD's modules: Patient
and General Study (copied from the study's reference dataset, so the report lands in the patient's study),
Encapsulated Document Series (modality DOC, its own series), General Equipment, SC Equipment (conversion type
WSD), Encapsulated Document and SOP Common. The document bytes are stored unchanged; an odd-length PDF gets the
one padding byte DICOM requires, and Encapsulated Document Length gives the true length.
"""
from __future__ import annotations

import datetime as _dt

import highdicom as hd
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from tnbc_desktop import __version__
from tnbc_desktop.core.dicom_export.seg import MANUFACTURER, SOFTWARE_NAME

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"
PATIENT_STUDY_KEYWORDS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyDate", "StudyTime",
    "ReferringPhysicianName", "StudyID", "AccessionNumber",
)
TYPE1_KEYWORDS = ("StudyInstanceUID", "Modality", "SeriesInstanceUID", "SeriesNumber", "ConversionType",
                  "InstanceNumber", "BurnedInAnnotation", "MIMETypeOfEncapsulatedDocument", "EncapsulatedDocument",
                  "SOPClassUID", "SOPInstanceUID")


def patient_study_dataset(reference: Dataset) -> Dataset:
    """Patient and General Study attributes of ``reference`` (Type 2 ones present, possibly empty)."""
    out = Dataset()
    for keyword in PATIENT_STUDY_KEYWORDS:
        setattr(out, keyword, reference.get(keyword, "") or "")
    out.SpecificCharacterSet = reference.get("SpecificCharacterSet", "ISO_IR 192") or "ISO_IR 192"
    return out


def build_encapsulated_pdf(pdf: bytes, reference: Dataset, *, title: str, series_number: int = 9102,
                           identifiers_in_document: bool = True, now: _dt.datetime | None = None) -> Dataset:
    """Encapsulated PDF dataset holding ``pdf``, in the study of ``reference`` (its patient/study attributes)."""
    now = now or _dt.datetime.now()
    ds = patient_study_dataset(reference)
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = ENCAPSULATED_PDF_STORAGE
    ds.SOPInstanceUID = str(hd.UID())
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = str(hd.UID())
    ds.SeriesNumber = series_number
    ds.SeriesDescription = "tnbc-desktop report (research use only)"
    ds.Manufacturer = MANUFACTURER
    ds.ManufacturerModelName = SOFTWARE_NAME
    ds.SoftwareVersions = __version__
    ds.ConversionType = "WSD"
    ds.InstanceNumber = 1
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    ds.BurnedInAnnotation = "YES" if identifiers_in_document else "NO"
    ds.DocumentTitle = title[:64]
    ds.ConceptNameCodeSequence = []
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocumentLength = len(pdf)
    ds.EncapsulatedDocument = pdf + (b"\0" if len(pdf) % 2 else b"")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ENCAPSULATED_PDF_STORAGE
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def document_bytes(ds: Dataset) -> bytes:
    """The encapsulated document without DICOM's padding byte."""
    data = bytes(ds.EncapsulatedDocument)
    length = ds.get("EncapsulatedDocumentLength")
    return data[:int(length)] if length is not None else data
