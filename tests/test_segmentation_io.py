"""Saving a mask made in the app (NIfTI, DICOM-SEG), the segment CLI, two-reader agreement, and the mask's
provenance in the case inputs, the QC and the PDF."""
from __future__ import annotations

import highdicom as hd
import numpy as np
import pytest

from tests.builders import make_test_bundle
from tests.builders import pdf_text
from tests.builders import deep_seed
from tnbc_desktop.cli import main
from tnbc_desktop.core.case import CaseInputs
from tnbc_desktop.core.io.masks import load_mask
from tnbc_desktop.core.io.study_loader import load_study
from tnbc_desktop.core.segmentation import MaskOrigin, MaskProvenance, SegmentationRequest, segment_lesion
from tnbc_desktop.core.segmentation.agreement import compare_masks
from tnbc_desktop.core.segmentation.save import save_mask
from tnbc_desktop.core.synthetic import make_patient, write_patient
from tnbc_desktop.errors import OutputError


@pytest.fixture(scope="module")
def dicom_case(tmp_path_factory):
    """A small synthetic patient written as DICOM (one series per phase) and loaded back by the app."""
    root = tmp_path_factory.mktemp("seg_case")
    patient = make_patient(11, shape=(20, 96, 96), spacing_mm=(2.0, 0.8, 0.8), tumour_volume_ml=6.0)
    files = write_patient(patient, root, layout="per-phase")
    study = load_study(files.study)
    return patient, files, study, deep_seed(patient)


def _edited(result) -> np.ndarray:
    """The semi-automatic mask with a hand-painted corner blob (so it is not just a re-segmentation)."""
    arr = result.mask.array.copy()
    arr[5, 2:5, 2:6] = True
    return arr


def test_dicom_seg_reads_back_equal_through_highdicom_and_the_app_loader(dicom_case, tmp_path):
    patient, files, study, seed = dicom_case
    result = segment_lesion(study, SegmentationRequest(seed_xyz=seed))
    mask = _edited(result)
    prov = save_mask(mask, study, tmp_path / "tumour.dcm", result.provenance)
    assert prov.source.endswith("tumour.dcm") and prov.origin is MaskOrigin.SEMI_AUTOMATIC

    loaded = load_mask(tmp_path / "tumour.dcm", study.geometry)
    assert np.array_equal(loaded.array, mask)

    seg = hd.seg.segread(tmp_path / "tumour.dcm")
    early = result.provenance.early_phase
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == study.phases[early].series_uid
    assert seg.get_segment_description(1).SegmentAlgorithmType == "SEMIAUTOMATIC"
    from tnbc_desktop.core.segmentation.save import phase_source_datasets

    uids = [ds.SOPInstanceUID for ds in phase_source_datasets(study, early)]
    back = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[1],
                                             combine_segments=True, skip_overlap_checks=True)
    assert np.array_equal(np.asarray(back).astype(bool), mask)


def test_nifti_reads_back_equal_and_a_nifti_study_cannot_get_a_seg(dicom_case, tmp_path):
    patient, files, study, seed = dicom_case
    mask = _edited(segment_lesion(study, SegmentationRequest(seed_xyz=seed)))
    save_mask(mask, study, tmp_path / "tumour.nii.gz")
    assert np.array_equal(load_mask(tmp_path / "tumour.nii.gz", study.geometry).array, mask)
    with pytest.raises(OutputError, match="no DICOM source images"):
        save_mask(mask, patient.study, tmp_path / "x.dcm")  # synthetic in-memory study: no DICOM behind it
    with pytest.raises(OutputError, match="empty"):
        save_mask(np.zeros_like(mask), study, tmp_path / "empty.nii.gz")


def test_segment_cli_writes_the_same_mask_as_the_core_and_refuses_a_seed_in_air(dicom_case, tmp_path, capsys):
    patient, files, study, seed = dicom_case
    x, y, z = seed
    out = tmp_path / "cli.dcm"
    assert main(["segment", str(files.study), "--seed", f"{x},{y},{z}", "--out", str(out)]) == 0
    assert "semi-automatic: seed" in capsys.readouterr().out
    core = segment_lesion(study, SegmentationRequest(seed_xyz=seed)).mask.array
    assert np.array_equal(load_mask(out, study.geometry).array, core)
    assert main(["segment", str(files.study), "--seed", f"{x},1,{z}", "--out", str(tmp_path / "air.nii.gz")]) == 2
    err = capsys.readouterr().err
    assert "outside tissue" in err and err.count("\n") == 1
    assert not (tmp_path / "air.nii.gz").exists()
    assert main(["segment", str(files.study), "--seed", "1,2", "--out", str(tmp_path / "b.nii.gz")]) == 2
    assert "--seed needs 3" in capsys.readouterr().err


def test_second_reader_agreement_dice_and_volume_difference(dicom_case):
    patient = dicom_case[0]
    a, b = patient.mask.array, patient.mask_reader2.array
    agreement = compare_masks(a, b, patient.study.geometry.voxel_volume_mm3)
    inter = np.count_nonzero(a & b)
    assert agreement.dice == pytest.approx(2 * inter / (a.sum() + b.sum()))
    assert agreement.volume_difference_ml == pytest.approx((b.sum() - a.sum()) * 0.8 * 0.8 * 2.0 / 1000)
    assert 0.5 < agreement.dice < 1.0 and "Dice" in agreement.describe()
    assert compare_masks(a, a, 1.0).dice == 1.0


def test_provenance_round_trips_and_describes_each_origin():
    semi = MaskProvenance(origin=MaskOrigin.SEMI_AUTOMATIC, seed_xyz=(1, 2, 3), box_xyz=(0, 0, 0, 9, 9, 9),
                          threshold_pe=80.0, early_phase=1)
    edited = semi.edited(3).edited(2)
    assert MaskProvenance.from_dict(edited.to_dict()) == edited
    assert edited.n_edits == 5 and edited.based_on == semi
    text = edited.describe()
    assert "seed (x 1, y 2, z 3)" in text and "PE >= 80 %" in text and "edited by hand (5 edits)" in text
    assert MaskProvenance.from_file("/a/b/mask.nii.gz").describe() == "file mask.nii.gz"
    with pytest.raises(ValueError):
        MaskProvenance.from_dict({"origin": "guessed"})


def test_pdf_qc_shows_the_provenance_line_of_a_semi_automatic_mask(dicom_case, tmp_path):
    from tnbc_desktop.core.pipeline import analyze_case
    from tnbc_desktop.core.report import write_report

    patient, files, study, seed = dicom_case
    seg = segment_lesion(study, SegmentationRequest(seed_xyz=seed, threshold_pe=75.0))
    inputs = CaseInputs(study_source=str(files.study), mask_path="", ki67="30", lvi="absent",
                        mask_provenance=seg.provenance)
    result = analyze_case(inputs, make_test_bundle(tmp_path / "bundle.json"), study=study, mask=seg.mask)
    assert np.array_equal(result.mask.array, seg.mask.array)
    x, y, z = seed
    line = f"semi-automatic: seed (x {x}, y {y}, z {z}), PE >= 75 % on phase 2, default box"
    assert result.qc.mask_provenance == line
    _, text, _ = pdf_text(write_report(result, tmp_path / "r.pdf"))
    assert "Mask origin" in text and line in text


def test_dicom_seg_over_an_enhanced_multiframe_study_reads_back_equal(tmp_path):
    patient = make_patient(12, shape=(12, 64, 64), spacing_mm=(2.0, 1.0, 1.0), tumour_volume_ml=3.0)
    files = write_patient(patient, tmp_path / "case", layout="enhanced")
    study = load_study(files.study)
    assert study.layout == "dicom-enhanced"
    result = segment_lesion(study, SegmentationRequest(seed_xyz=deep_seed(patient)))
    save_mask(result.mask.array, study, tmp_path / "t.dcm", result.provenance)
    assert np.array_equal(load_mask(tmp_path / "t.dcm", study.geometry).array, result.mask.array)
