"""Identity checks (MAF sample vs PatientID, DICOM-SEG vs study) and the input record of a result."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from tnbc_desktop.core.case import CaseInputs
from tnbc_desktop.core.identity_check import mask_mismatch, sample_matches_patient, sample_mismatch
from tnbc_desktop.core.input_record import changed_inputs, input_record, mask_digest, outdated_models


@pytest.mark.parametrize("sample, patient, expected", [
    ("TCGA-A1-A0SK-01A-11D-A10Y-09", "TCGA-A1-A0SK", True),
    ("ZZCANARY-3-T1", "ZZCANARY-3", True),
    ("zzcanary-3-t1", " ZZCANARY-3 ", True),
    ("ZZCANARY-31-T1", "ZZCANARY-3", False),  # a bare prefix is not the same patient
    ("ZZCANARY-4-T1", "ZZCANARY-3", False),
    ("TCGA-A1-A0SK", "TCGA-A1-A0SK", True),
    ("S1", "", None),
])
def test_sample_matches_patient(sample, patient, expected):
    assert sample_matches_patient(sample, patient) is expected


def test_sample_mismatch_names_both_identifiers():
    study = SimpleNamespace(identity=SimpleNamespace(patient_id="P-3"))
    assert sample_mismatch("P-3-T1", study) is None
    text = sample_mismatch("P-4-T1", study)
    assert "P-4-T1" in text and "P-3" in text
    assert sample_mismatch("P-4-T1", SimpleNamespace(identity=SimpleNamespace(patient_id=""))) is None


def test_dicom_seg_of_another_study_is_named(tmp_path):
    from tests.builders import write_small_patient
    from tnbc_desktop.core.io.study_loader import load_study
    from tnbc_desktop.core.segmentation.save import save_mask

    _pa, files_a = write_small_patient(tmp_path / "A", seed=3, layout="per-phase")
    _pb, files_b = write_small_patient(tmp_path / "B", seed=4, layout="per-phase")
    study_a, study_b = load_study(files_a.study), load_study(files_b.study)
    assert study_a.study_uid and study_a.study_uid != study_b.study_uid
    from tnbc_desktop.core.io.masks import load_mask

    mask = load_mask(files_a.mask, study_a.geometry).array
    seg = tmp_path / "a_seg.dcm"
    save_mask(mask, study_a, seg)
    assert mask_mismatch(seg, study_a) is None
    text = mask_mismatch(seg, study_b)
    assert text is not None and "another study" in text and study_b.identity.patient_id in text
    assert mask_mismatch(files_a.mask, study_b) is None  # a NIfTI mask carries no identity


INPUTS = CaseInputs(study_source="/data/A", mask_path="/data/A/mask.nii.gz", ki67="51", lvi="absent",
                    maf_path="/data/A/a.maf", sample="A-T1")


def _record(**changes):
    study = SimpleNamespace(phases=(SimpleNamespace(series_uid="1.2"),), study_uid="9.9", phase_times_s=(0.0, 90.0))
    mask = np.zeros((2, 3, 3), bool)
    mask[1, 1, 1] = True
    values = {"inputs": INPUTS, "study": study, "mask": mask, "sha": "ab"}
    values.update(changes)
    return input_record(values["inputs"], values["study"], values["mask"], values["sha"])


def test_input_record_changes_and_the_models_they_touch():
    base, inputs = _record(), INPUTS
    assert changed_inputs(base, _record()) == ()
    ki67 = _record(inputs=replace(inputs, ki67="5"))
    assert changed_inputs(base, ki67) == ("pathology",)
    assert outdated_models(("pathology",), ("model3", "prm", "gprm")) == ("prm", "gprm")
    assert changed_inputs(base, _record(inputs=replace(inputs, maf_path=None))) == ("panel",)
    assert outdated_models(("panel",), ("model3", "prm", "gprm")) == ("gprm",)
    other_mask = np.zeros((2, 3, 3), bool)
    assert changed_inputs(base, _record(mask=other_mask)) == ("mask",)
    assert outdated_models(("mask",), ("model3", "prm", "gprm")) == ("model3", "prm", "gprm")
    phases = SimpleNamespace(phases=(SimpleNamespace(series_uid="1.2"),), study_uid="9.9", phase_times_s=(0.0, 60.0))
    assert changed_inputs(base, _record(study=phases)) == ("phases",)
    assert changed_inputs(base, _record(sha="cd")) == ("bundle",)
    assert mask_digest(None) == "" and mask_digest(other_mask) != mask_digest(np.zeros((3, 2, 3), bool))


def test_header_names_the_patient_and_hides_it_when_deidentified():
    from tnbc_desktop.core.study import PatientIdentity
    from tnbc_desktop.gui.case_header import header_text, recent_label

    ident = PatientIdentity(patient_name="DOE^JANE", patient_id="P123", birth_date="19620102",
                            study_date="20240115", laterality="L")
    study = SimpleNamespace(identity=ident, n_phases=6, timing_source="TriggerTime",
                            geometry=SimpleNamespace(describe=lambda: "64x64x16"),
                            phases=(SimpleNamespace(series_description="DCE dyn", series_number=5),) * 6)
    text = header_text(study, ["/x/study"], deidentify=False)
    for needle in ("DOE JANE", "ID P123", "born 1962-01-02", "study date 2024-01-15", "series DCE dyn",
                   "laterality left"):
        assert needle in text, needle
    hidden = header_text(study, ["/x/study"], deidentify=True)
    for secret in ("DOE", "P123", "1962", "2024"):
        assert secret not in hidden
    assert "de-identified" in hidden and "laterality left" in hidden
    assert recent_label(study, ["/x/study"], False) == "DOE JANE (P123), study 2024-01-15 - study"
    assert recent_label(study, ["/x/study"], True) == "study"
