"""Exam scan: one series holding several contrasts (Dixon, multi-echo, magnitude + phase) and VFA sets that
share the dynamic's flip angle.

Oracles: the same DCE written alone by the same writer (the DCE found among other contrasts or series must load
identical to it); the candidate count a reader of the headers expects (one per dynamic contrast).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.builders import random_study as make_study
from tnbc_desktop.cli import main as cli_main
from tnbc_desktop.core.io.dicom_write import MRSequence, write_dicom_study
from tnbc_desktop.core.io.exam_scan import SeriesRole
from tnbc_desktop.core.io.exam_write import add_contrast_copy, relabel_contrast, write_vfa_series
from tnbc_desktop.core.io.study_loader import examine_source, load_study
from tnbc_desktop.errors import DicomError

MAGNITUDE = ("ORIGINAL", "PRIMARY", "M", "ND")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _same(loaded, alone) -> None:
    assert np.array_equal(loaded.data, alone.data)
    assert loaded.phase_times_s == alone.phase_times_s and loaded.geometry == alone.geometry


@pytest.mark.parametrize("layout", ["single-series", "per-phase"])
def test_magnitude_and_phase_images_in_one_series_load_as_the_magnitude_alone(tmp_path, layout):
    study = make_study()
    for folder in ("alone", "exam"):
        write_dicom_study(study, tmp_path / folder, layout=layout)
        relabel_contrast(_files(tmp_path / folder), image_type=MAGNITUDE)
    add_contrast_copy(_files(tmp_path / "exam"), "phase", image_type=("ORIGINAL", "PRIMARY", "P", "ND"))
    alone = load_study(tmp_path / "alone")
    _same(load_study(tmp_path / "exam"), alone)
    numbers = tuple(sorted({p.series_number for p in alone.phases}))
    _same(load_study(tmp_path / "exam", series=numbers), alone)  # the user's choice keeps the magnitude too
    exam = examine_source(tmp_path / "exam")
    phase_parts = [s for s in exam.series if s.image_kind == "P\\ND"]
    assert len(phase_parts) == study.n_phases if layout == "per-phase" else len(phase_parts) == 1
    assert all(s.role == SeriesRole.OTHER and "phase images" in s.reason for s in phase_parts)
    assert len(exam.candidates) == 1


def _dixon(tmp_path, study, first, second) -> Path:
    """One dynamic series 200 with two images per slice position and time point: ``first`` / ``second`` are
    (ImageType, TE) of each."""
    folder = tmp_path / "dixon"
    write_dicom_study(study, folder, layout="single-series", sequence=MRSequence(12.0, 5.8, 2.4))
    relabel_contrast(_files(folder), image_type=first[0], echo_time_ms=first[1])
    add_contrast_copy([p for p in _files(folder)], "b", image_type=second[0], echo_time_ms=second[1])
    return folder


DIXON_CASES = {
    "in-and-opposed-phase": (((*MAGNITUDE[:2], "M", "IP"), 2.4), ((*MAGNITUDE[:2], "M", "OP"), 1.2),
                             ("TE 2.4 ms", "TE 1.2 ms")),
    "water-and-fat": (((*MAGNITUDE[:2], "W", "DIXON"), 2.4), ((*MAGNITUDE[:2], "F", "DIXON"), 2.4),
                      ("images W\\DIXON", "images F\\DIXON")),
}


@pytest.mark.parametrize("case", sorted(DIXON_CASES))
def test_a_dixon_dynamic_series_is_one_candidate_per_contrast_never_one_dce(tmp_path, case, capsys):
    first, second, tags = DIXON_CASES[case]
    study = make_study(n_phases=4, times=(0.0, 60.0, 120.0, 180.0))
    folder = _dixon(tmp_path, study, first, second)
    exam = examine_source(folder)
    parts = [s for s in exam.series if s.number == 200]
    assert len(parts) == 2 and all(s.role == SeriesRole.DCE and s.n_volumes == 4 for s in parts)
    heads = sorted(s.reason.split("]")[0] for s in parts)  # each row of the series table says which part it is
    assert all(head.startswith("[") for head in heads) and [sum(t in h for t in tags) for h in heads] == [1, 1]
    assert len(exam.candidates) == 2
    with pytest.raises(DicomError, match="2 series could be the DCE") as info:
        load_study(folder)
    message = str(info.value)
    assert all(tag in message for tag in tags) and len(message) <= 400, message
    assert "not between parts of one series" in message
    with pytest.raises(DicomError, match="holds 2 dynamic parts") as info:
        load_study(folder, series=(200,))
    assert all(tag in str(info.value) for tag in tags) and "cannot choose" in str(info.value)
    code = cli_main(["inspect", str(folder), "--series", "--json"])
    rows = [r for r in json.loads(capsys.readouterr().out)["series"] if r["number"] == 200]
    assert code == 2 and len(rows) == 2 and all(r["role"] == "dce" for r in rows)


def test_four_dixon_images_in_one_series_are_four_candidates_each_named(tmp_path):
    study = make_study(n_phases=4, times=(0.0, 60.0, 120.0, 180.0))
    folder = tmp_path / "mdixon"
    write_dicom_study(study, folder, layout="single-series", sequence=MRSequence(12.0, 5.8, 2.4))
    originals = _files(folder)
    relabel_contrast(originals, image_type=("ORIGINAL", "PRIMARY", "W", "DIXON"))
    for k, kind in enumerate(("F", "IP", "OP")):
        add_contrast_copy(originals, kind, image_type=("ORIGINAL", "PRIMARY", kind, "DIXON"), seed=k)
    with pytest.raises(DicomError, match="4 series could be the DCE") as info:
        load_study(folder)
    for kind in ("W", "F", "IP", "OP"):
        assert f"[images {kind}\\DIXON]" in str(info.value), str(info.value)
    assert len(str(info.value).split(": ", 1)[1]) <= 300


def test_a_second_echo_that_is_not_t1_weighted_is_left_out_of_the_dynamic(tmp_path):
    """A dual-echo dynamic (TE 2.4 and 14 ms): the long echo is another part, not phases of the DCE."""
    study = make_study()
    write_dicom_study(study, tmp_path / "alone", layout="single-series", sequence=MRSequence(12.0, 20.0, 2.4))
    folder = tmp_path / "dual"
    write_dicom_study(study, folder, layout="single-series", sequence=MRSequence(12.0, 20.0, 2.4))
    add_contrast_copy(_files(folder), "echo2", echo_time_ms=14.0)
    loaded = load_study(folder)
    _same(loaded, load_study(tmp_path / "alone"))
    assert any("TE 14 ms" in s.reason for s in examine_source(folder).series if s.role == SeriesRole.OTHER)
    assert any(n.startswith("ignored 1 other series") for n in loaded.notes), loaded.notes


VFA_CASES = [("single-series", (3, 6, 9, 15, 25, 35), 25), ("per-phase", (3, 6, 9, 15, 25, 35), 25),
             ("single-series", (3, 6, 10, 15, 20, 30), 30), ("per-phase", (3, 6, 10, 15, 20, 30), 30)]


@pytest.mark.parametrize("layout,angles,dce_angle", VFA_CASES)
def test_a_vfa_series_at_the_dynamic_flip_angle_is_not_a_phase(tmp_path, layout, angles, dce_angle):
    """As QIBA's v4 DRO ships it: the dynamic and a VFA set whose angles include the dynamic's."""
    study = make_study()
    write_dicom_study(study, tmp_path / "dyn", layout=layout, sequence=MRSequence(dce_angle, 5.0, 1.0))
    numbers = write_vfa_series(study, tmp_path / "vfa", flip_angles=angles, repetition_time_ms=5.0,
                               echo_time_ms=1.0)
    loaded = load_study(tmp_path)
    _same(loaded, load_study(tmp_path / "dyn"))
    ignored = next(n for n in loaded.notes if n.startswith("ignored "))
    assert ignored.count(" vfa") == 6, ignored
    same_angle = numbers[angles.index(dce_angle)]
    chosen = next(n for n in loaded.notes if n.startswith("DCE from series"))
    assert f"left out {same_angle} 'T1 map FA{dce_angle}'" in chosen and "--series" in chosen, chosen
    exam = examine_source(tmp_path)
    assert {s.number for s in exam.series if s.role == SeriesRole.VFA} == set(numbers)


def test_a_pre_contrast_series_next_to_a_vfa_set_still_joins_the_dynamic(tmp_path):
    """The pre-contrast series (own series, the dynamic's flip angle) is a phase even with a VFA set at the
    same flip angle around; only the VFA volume is left out."""
    study = make_study()
    write_dicom_study(study, tmp_path / "dce", layout="pre-post", sequence=MRSequence(25.0, 5.0, 1.0))
    numbers = write_vfa_series(study, tmp_path / "vfa", repetition_time_ms=5.0, echo_time_ms=1.0,
                               flip_angles=(3, 6, 9, 15, 25, 35))
    loaded = load_study(tmp_path)
    _same(loaded, load_study(tmp_path / "dce"))
    assert sorted({p.series_number for p in loaded.phases}) == [300, 301]
    exam = examine_source(tmp_path)
    assert {s.number for s in exam.series if s.role == SeriesRole.VFA} == set(numbers)


def _add_enhanced_echo(path: Path, echo_time_ms: float) -> None:
    """Every frame of the enhanced file once more, with its own per-frame echo time (a dual-echo enhanced DCE)."""
    import copy

    import pydicom
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ds = pydicom.dcmread(path)
    frames = list(ds.PerFrameFunctionalGroupsSequence)
    extra = []
    for fg in frames:
        twin = copy.deepcopy(fg)
        echo = Dataset()
        echo.EffectiveEchoTime = echo_time_ms
        twin.MREchoSequence = Sequence([echo])
        extra.append(twin)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames + extra)
    ds.NumberOfFrames = 2 * len(frames)
    ds.PixelData = ds.PixelData + bytes(reversed(ds.PixelData))
    ds.save_as(path)


def test_a_dual_echo_enhanced_dce_is_one_candidate_per_echo(tmp_path):
    study = make_study()
    write_dicom_study(study, tmp_path, layout="enhanced", sequence=MRSequence(12.0, 5.8, 2.1))
    _add_enhanced_echo(tmp_path / "enhanced.dcm", 4.2)
    exam = examine_source(tmp_path)
    assert sorted(s.part_tag for s in exam.series) == ["TE 2.1 ms", "TE 4.2 ms"]
    assert len(exam.candidates) == 2 and all(s.n_volumes == study.n_phases for s in exam.series)
    with pytest.raises(DicomError, match="2 series could be the DCE"):
        load_study(tmp_path)


def _add_enhanced_frame_type(path: Path, first: tuple[str, ...], second: tuple[str, ...]) -> None:
    """Every frame once more with the same echo time; the two halves told apart only by their per-frame FrameType
    (an enhanced Dixon DCE: water and fat frames, one TE)."""
    import copy

    import pydicom
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ds = pydicom.dcmread(path)
    frames = list(ds.PerFrameFunctionalGroupsSequence)
    extra = [copy.deepcopy(fg) for fg in frames]
    for group, kind in ((frames, first), (extra, second)):
        for fg in group:
            item = Dataset()
            item.FrameType = list(kind)
            fg.MRImageFrameTypeSequence = Sequence([item])
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames + extra)
    ds.NumberOfFrames = 2 * len(frames)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "MIXED"]
    ds.PixelData = ds.PixelData + bytes(reversed(ds.PixelData))
    ds.save_as(path)


def test_an_enhanced_dixon_dce_is_told_apart_by_each_frames_frame_type(tmp_path):
    study = make_study()
    write_dicom_study(study, tmp_path, layout="enhanced", sequence=MRSequence(12.0, 5.8, 2.1))
    _add_enhanced_frame_type(tmp_path / "enhanced.dcm", ("ORIGINAL", "PRIMARY", "WATER", "NONE"),
                             ("ORIGINAL", "PRIMARY", "FAT", "NONE"))
    exam = examine_source(tmp_path)
    assert len(exam.candidates) == 2 and all(s.n_volumes == study.n_phases for s in exam.series)
    with pytest.raises(DicomError, match="2 series could be the DCE"):
        load_study(tmp_path)


def test_only_the_part_of_a_series_that_makes_the_dce_is_shown_as_chosen(tmp_path, capsys):
    """Magnitude and phase images in one series: `inspect --series --json` marks the magnitude part chosen and
    the phase part not, though both carry the same series number."""
    study = make_study()
    write_dicom_study(study, tmp_path, layout="single-series")
    relabel_contrast(_files(tmp_path), image_type=MAGNITUDE)
    add_contrast_copy(_files(tmp_path), "phase", image_type=("ORIGINAL", "PRIMARY", "P", "ND"))
    assert cli_main(["inspect", str(tmp_path), "--series", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["series"]
    assert len(rows) == 2 and len({r["number"] for r in rows}) == 1
    assert {r["role"]: r["chosen"] for r in rows} == {"dce": True, "other": False}
