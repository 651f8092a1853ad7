"""Exam scan: whole-exam exports, series roles, the DCE choice, vendor phase keys, identity across phases.

Oracles: the DCE-only folder written by the same writer (the DCE found in a whole-exam export must load
identical to it); the expected role of each real vendor series from its series.csv (written from pydicom reads
by the data's curator, see ../shared/data/vendor_exams/README.md).
"""
from __future__ import annotations

import csv
import json

import numpy as np
import pydicom
import pytest

from tests.helpers import shared_data
from tests.builders import random_study as make_study, tolerance
from tnbc_desktop.cli import main as cli_main
from tnbc_desktop.core.io.dicom_write import MRSequence, write_dicom_study
from tnbc_desktop.core.io.exam_scan import SeriesRole
from tnbc_desktop.core.io.exam_write import write_exam, write_vfa_series
from tnbc_desktop.core.io.study_loader import examine_source, load_study
from tnbc_desktop.errors import DicomError, IdentityError, TimingError

VENDOR_EXAMS = ("ge_premier_localizer_fmri", "ge_pioneer_dwi", "siemens_xa30_enhanced", "uih_umr770_dti_mosaic")


def _inspect_json(capsys, *args):
    code = cli_main(["inspect", *map(str, args), "--json"])
    out = capsys.readouterr()
    return code, json.loads(out.out) if out.out.strip() else None, out.err


@pytest.mark.parametrize("layout", ["per-phase", "single-series", "pre-post", "enhanced"])
def test_whole_exam_loads_the_same_dce_as_the_dce_only_folder(tmp_path, layout, capsys):
    study = make_study()
    exam = write_exam(study, tmp_path / "exam", dce_layout=layout)
    alone = load_study(exam.dce_folder)
    found = load_study(exam.folder)
    assert np.array_equal(found.data, alone.data)
    assert found.phase_times_s == alone.phase_times_s
    assert found.geometry == alone.geometry and found.layout == alone.layout
    ignored = [n for n in found.notes if n.startswith("ignored ")]
    assert len(ignored) == 1 and f"ignored {len(exam.roles)} other series" in ignored[0], found.notes
    assert all(f"{number} '" in ignored[0] for number, _ in exam.roles)

    code, info, _ = _inspect_json(capsys, exam.folder, "--series")
    assert code == 0
    roles = {}
    for row in info["series"]:
        assert {"number", "description", "n_images", "role"} <= set(row)
        roles.setdefault(row["number"], set()).add(row["role"])
    for number, role in exam.roles:
        assert roles[number] == {role}, (number, roles[number])
    dce_numbers = sorted({p.series_number for p in alone.phases})
    assert info["selected_series"] == dce_numbers
    assert all(roles[n] == {"dce"} for n in dce_numbers)


@pytest.mark.parametrize("name", VENDOR_EXAMS)
def test_vendor_exam_is_refused_with_its_series_table_and_roles(name, capsys):
    folder = shared_data("vendor_exams", name)
    with open(folder / "series.csv", newline="") as handle:
        expected = [r for r in csv.DictReader(handle) if r["is_image"] == "yes"]
    with pytest.raises(DicomError) as info:
        load_study(folder / "dicom")
    message = str(info.value)
    assert "no DCE series found" in message and len(message) <= 400 and "\n" not in message
    for row in expected:
        assert f"{row['SeriesNumber']} '" in message
    exam = examine_source(folder / "dicom")
    for row in expected:
        roles = {s.role.value for s in exam.series if s.number == int(row["SeriesNumber"])}
        acceptable = set(row["acceptable_roles"].split("|"))
        assert roles and roles <= acceptable, (row["SeriesDescription"], roles, acceptable)
    assert not exam.candidates
    code, doc, err = _inspect_json(capsys, folder / "dicom", "--series")
    assert code == 2 and doc["selected_series"] == [] and "no DCE series found" in err
    assert {r["number"] for r in doc["series"]} == {int(r["SeriesNumber"]) for r in expected}


def test_vfa_only_folder_is_not_a_dce_study(tmp_path):
    numbers = write_vfa_series(make_study(), tmp_path)
    with pytest.raises(DicomError, match="no DCE series found") as info:
        load_study(tmp_path)
    assert "vfa" in str(info.value)
    exam = examine_source(tmp_path)
    assert {s.number for s in exam.series} == set(numbers)
    assert all(s.role == SeriesRole.VFA for s in exam.series)


def test_vfa_next_to_the_dynamic_series_is_ignored_with_a_note(tmp_path):
    """As QIBA's v4 DRO ships it: the dynamic series (FA 25) and six VFA series (FA 3-35) in one folder."""
    study = make_study()
    write_dicom_study(study, tmp_path / "dyn", layout="single-series", sequence=MRSequence(25.0, 5.0, 1.0))
    write_vfa_series(study, tmp_path / "vfa", repetition_time_ms=5.0, echo_time_ms=1.0)
    alone = load_study(tmp_path / "dyn")
    loaded = load_study(tmp_path)
    assert np.array_equal(loaded.data, alone.data) and loaded.phase_times_s == alone.phase_times_s
    ignored = next(n for n in loaded.notes if n.startswith("ignored "))
    assert ignored.count(" vfa") == 6, ignored


def _acquisition_number_only(study, folder):
    """ParaVision-like: one series, repeated slice positions told apart only by AcquisitionNumber."""
    write_dicom_study(study, folder, layout="single-series")
    for f in sorted(folder.iterdir()):
        ds = pydicom.dcmread(f)
        ds.AcquisitionNumber = int(ds.TemporalPositionIdentifier)
        for tag in ("TemporalPositionIdentifier", "NumberOfTemporalPositions", "TriggerTime"):
            delattr(ds, tag)
        ds.save_as(f)


def test_acquisition_number_only_series_needs_times_then_loads_in_that_order(tmp_path):
    study = make_study(n_phases=5, times=(0.0, 60.0, 120.0, 180.0, 240.0))
    _acquisition_number_only(study, tmp_path)
    with pytest.raises(TimingError) as info:
        load_study(tmp_path)
    assert "AcquisitionNumber" in str(info.value) and "5 phases" in str(info.value)
    given = (0.0, 10.0, 20.0, 30.0, 45.0)
    loaded = load_study(tmp_path, phase_times_s=given)
    assert loaded.phase_times_s == given and loaded.timing_source == "user"
    assert np.abs(loaded.data - study.data).max() <= tolerance(study)


def test_several_candidates_are_an_error_until_the_user_chooses(tmp_path, capsys):
    first, second = make_study(seed=1), make_study(seed=2, shape=(6, 20, 20))
    write_dicom_study(first, tmp_path / "a", layout="single-series", sequence=MRSequence(15.0, 4.5, 2.1))
    write_dicom_study(second, tmp_path / "b", layout="enhanced", sequence=MRSequence(12.0, 3.9, 1.8))
    with pytest.raises(DicomError, match="2 series could be the DCE") as info:
        load_study(tmp_path)
    assert "200 'DCE dynamic'" in str(info.value) and "400 'DCE enhanced'" in str(info.value)
    chosen = load_study(tmp_path, series=(400,))
    assert chosen.layout == "dicom-enhanced" and chosen.data.shape[1:] == (6, 20, 20)
    code, doc, _ = _inspect_json(capsys, tmp_path, "--series", "200")
    assert code == 0 and doc["selected_series"] == [200] and doc["shape"][1:] == [8, 32, 24]


def _edit_phase(folder, phase, fn):
    for f in sorted((folder / f"phase_{phase:02d}").iterdir()):
        ds = pydicom.dcmread(f)
        fn(ds)
        ds.save_as(f)


def test_a_phase_of_another_patient_is_refused(tmp_path):
    write_dicom_study(make_study(), tmp_path, layout="per-phase")
    _edit_phase(tmp_path, 2, lambda ds: setattr(ds, "PatientID", "ZZOTHERPATIENT"))
    with pytest.raises(IdentityError, match="more than one patient") as info:
        load_study(tmp_path)
    assert "series 102" in str(info.value)
    assert "ZZOTHER" not in str(info.value) and "ZZCANARY" not in str(info.value)


def test_another_patient_name_is_refused_even_when_mixed_studies_are_allowed(tmp_path):
    write_dicom_study(make_study(), tmp_path, layout="per-phase")
    _edit_phase(tmp_path, 1, lambda ds: setattr(ds, "PatientName", "OTHER^ZZPERSON"))
    with pytest.raises(IdentityError, match="PatientName"):
        load_study(tmp_path, allow_mixed_study=True)


@pytest.mark.parametrize("tag", ["StudyInstanceUID", "FrameOfReferenceUID"])
def test_another_study_needs_the_users_choice(tmp_path, tag):
    write_dicom_study(make_study(), tmp_path, layout="per-phase")
    _edit_phase(tmp_path, 3, lambda ds: setattr(ds, tag, "1.2.3.4.5.6.7"))
    with pytest.raises(IdentityError, match=tag):
        load_study(tmp_path)
    loaded = load_study(tmp_path, allow_mixed_study=True)
    assert loaded.n_phases == 4
    assert any(n.startswith("warning:") and tag in n for n in loaded.notes)


def test_analyze_arguments_carry_the_series_choice_into_the_case_inputs():
    from tnbc_desktop.cli import build_parser
    from tnbc_desktop.cli.analyze import inputs_from_args

    args = build_parser().parse_args(["analyze", "--study", "exam", "--mask", "m.nii.gz", "--series", "200,201",
                                      "--allow-mixed-study"])
    inputs = inputs_from_args(args, args.study[0], args.mask)
    assert inputs.series == (200, 201) and inputs.allow_mixed_study is True
    gui = build_parser().parse_args(["gui", "--series", "7"])
    assert gui.series == "7"


def test_patient_name_padding_is_not_another_patient(tmp_path):
    write_dicom_study(make_study(), tmp_path, layout="per-phase")
    _edit_phase(tmp_path, 2, lambda ds: setattr(ds, "PatientName", "doe^zzcanaryjane^^"))
    assert load_study(tmp_path).n_phases == 4


def test_the_header_scan_reports_progress_and_stops_when_cancelled(tmp_path):
    """A long header scan says how far it is, and the user's cancel stops it as a cancel (not as a load error)."""
    import threading

    from tnbc_desktop.errors import CancelledError

    exam = write_exam(make_study(), tmp_path / "exam", dce_layout="single-series", other_slices=8,
                      all_subtractions=True)
    steps = []
    load_study(exam.folder, progress=lambda step, fraction: steps.append((step, fraction)))
    n_files = sum(1 for p in exam.folder.rglob("*") if p.is_file())
    assert len(steps) >= 2 and all(step.endswith(f"of {n_files:,} files") for step, _ in steps)
    assert [f for _, f in steps] == sorted(f for _, f in steps) and steps[-1][1] < 1.0
    cancel = threading.Event()

    def cancel_after_first(step, fraction):
        cancel.set()

    with pytest.raises(CancelledError, match="cancelled by the user"):
        load_study(exam.folder, progress=cancel_after_first, cancel=cancel)
    with pytest.raises(CancelledError):
        examine_source(exam.folder, cancel=cancel)
