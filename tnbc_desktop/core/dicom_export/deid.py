"""De-identification of the exported DICOM objects (PS3.15 Annex E basic profile, in the spirit of the PDF's).

One :class:`DicomDeidentifier` is applied to every object of one export, so the objects keep referring to one
another: each UID not defined by DICOM itself (those under ``1.2.840.10008.``) is replaced by a new random UID,
the same new UID wherever the old one occurs (SOP instance, series, study, frame of reference, tracking UIDs,
references inside sequences, the file meta information).

Rules, applied to every element at every sequence depth:
- person names (PN) are emptied; the Patient's Name becomes ``DEIDENTIFIED^``, the Patient ID one pseudonym per
  export (random, not derived from the real ID);
- dates, times and date-times (DA, TM, DT) are emptied. [D] Content Date / Content Time are Type 1 in the SEG
  (Multi-frame Functional Groups) and SR (SR Document General) modules, so they get the fixed dummy values
  19000101 / 000000 (PS3.15 action "D") rather than a real date;
- accession number, study ID, patient sex/age/size/weight are emptied; institution, address, other patient IDs
  and the other identifying attributes listed in ``REMOVED_KEYWORDS`` are deleted, as are private elements;
- every remaining text value (AE, AS, LO, LT, SH, ST, UC, UT) passes through the report's
  :class:`~tnbc_desktop.core.report.deid.Redactor` (the patient's identifier strings, input paths, sample ID),
  except coded-concept vocabulary (code values, meanings, schemes: ``CODE_KEYWORDS``) and CS defined terms,
  which come from code tables, not from the patient's data.
Patient Identity Removed = YES and the De-identification Method (code DCM 113100, Basic Application
Confidentiality Profile) are set.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable

import highdicom as hd
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence

from tnbc_desktop.core.report.deid import Redactor

DICOM_DEFINED_UID_ROOT = "1.2.840.10008."
DEIDENTIFIED_NAME = "DEIDENTIFIED^"  # family name component only (PN form)
TYPE1_DUMMIES = {"ContentDate": "19000101", "ContentTime": "000000"}
EMPTIED_KEYWORDS = ("AccessionNumber", "StudyID", "PatientSex", "PatientAge", "PatientSize", "PatientWeight")
REMOVED_KEYWORDS = (
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "StationName", "OtherPatientIDs",
    "OtherPatientIDsSequence", "OtherPatientNames", "PatientAddress", "PatientTelephoneNumbers",
    "PatientMotherBirthName", "MedicalRecordLocator", "EthnicGroup", "Occupation",
    "AdditionalPatientHistory", "PatientComments",
    "RequestingPhysician", "PerformingPhysicianName", "OperatorsName", "NameOfPhysiciansReadingStudy",
    "PhysiciansOfRecord", "IssuerOfPatientID", "PatientBirthTime", "PatientBirthName",
    "MilitaryRank", "BranchOfService", "RegionOfResidence", "CountryOfResidence", "StudyComments",
    "RequestAttributesSequence", "ReferencedPatientSequence", "AdmissionID", "ServiceEpisodeID",
)
TEXT_VRS = {"AE", "AS", "LO", "LT", "SH", "ST", "UC", "UT"}
# coded-concept vocabulary (the app's and DICOM's code tables), never copied from the patient's data: a word of
# an identifier (e.g. "Breast" in an institution name) must not erase the code meaning "Breast"
CODE_KEYWORDS = {"CodeValue", "CodingSchemeDesignator", "CodingSchemeVersion", "CodeMeaning", "LongCodeValue",
                 "URNCodeValue", "CodingSchemeName", "CodingSchemeResponsibleOrganization"}


class DicomDeidentifier:
    """De-identifies datasets in place with one UID map and one pseudonym (see the module docstring)."""

    def __init__(self, identifiers: Iterable[str] = ()):
        self.redact = Redactor(identifiers)
        self.pseudonym = "DEID-" + secrets.token_hex(4).upper()
        self.uid_map: dict[str, str] = {}
        self._issued: set[str] = set()

    def new_uid(self, uid: str) -> str:
        """The replacement of ``uid`` (DICOM-defined UIDs and UIDs this de-identifier issued are kept: objects
        built from one another may share an element, which must not be mapped twice)."""
        uid = str(uid)
        if not uid or uid.startswith(DICOM_DEFINED_UID_ROOT) or uid in self._issued:
            return uid
        if uid not in self.uid_map:
            self.uid_map[uid] = str(hd.UID())
            self._issued.add(self.uid_map[uid])
        return self.uid_map[uid]

    def __call__(self, ds: Dataset) -> Dataset:
        ds.remove_private_tags()
        self._walk(ds)
        meta = getattr(ds, "file_meta", None)
        if isinstance(meta, FileMetaDataset) and "MediaStorageSOPInstanceUID" in meta:
            meta.MediaStorageSOPInstanceUID = self.new_uid(meta.MediaStorageSOPInstanceUID)
        ds.PatientName = DEIDENTIFIED_NAME
        ds.PatientID = self.pseudonym
        for keyword in EMPTIED_KEYWORDS:
            if keyword in ds:
                setattr(ds, keyword, "")
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = "tnbc-desktop: PS3.15 basic profile; UIDs replaced; dates removed"
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = \
            "113100", "DCM", "Basic Application Confidentiality Profile"
        ds.DeidentificationMethodCodeSequence = DicomSequence([code])
        ds.LongitudinalTemporalInformationModified = "REMOVED"
        return ds

    def _walk(self, ds: Dataset) -> None:
        for keyword in REMOVED_KEYWORDS:
            if keyword in ds:
                delattr(ds, keyword)
        for elem in list(ds):
            vr = elem.VR
            if vr == "SQ":
                for item in elem.value or ():
                    self._walk(item)
            elif elem.value is None or elem.value == "":
                continue
            elif vr == "UI":
                elem.value = ([self.new_uid(v) for v in elem.value] if elem.VM > 1 else self.new_uid(elem.value))
            elif vr == "PN":
                elem.value = ""
            elif vr in ("DA", "TM", "DT"):
                elem.value = TYPE1_DUMMIES.get(elem.keyword, "")
            elif vr in TEXT_VRS and elem.keyword not in CODE_KEYWORDS:
                elem.value = ([self.redact(v) for v in elem.value] if elem.VM > 1 else self.redact(elem.value))
