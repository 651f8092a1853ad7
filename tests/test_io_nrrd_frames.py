"""NRRD with a frame axis: 3D Slicer's MultiVolume (frames first, times in MultiVolume.FrameLabels) and a
Sequences-style file (list axis last). The files are written here byte by byte with the header lines 3D
Slicer's MultiVolume storage node writes (vtkTeemNRRDWriter: gzip, LPS, ``kinds: list domain domain domain``,
the node attributes as ``key:=value``), so the oracle is the array and times we put in."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from tnbc_desktop.core.io.study_loader import load_study
from tnbc_desktop.errors import InputError, TimingError

T, Z, Y, X = 5, 4, 6, 7
TIMES_MS = (0, 62000, 124000, 186000, 248000)


def _data() -> np.ndarray:
    rng = np.random.default_rng(3)
    return (rng.integers(0, 3000, (T, Z, Y, X)) + 100 * np.arange(T)[:, None, None, None]).astype("<i2")


def write_slicer_multivolume(path, data, labels=TIMES_MS, tag="TriggerTime", units="ms"):
    t, z, y, x = data.shape
    header = (
        "NRRD0004\n"
        "# Complete NRRD file format specification at:\n"
        "# http://teem.sourceforge.net/nrrd/format.html\n"
        "type: short\n"
        "dimension: 4\n"
        "space: left-posterior-superior\n"
        f"sizes: {t} {x} {y} {z}\n"
        "space directions: none (0.7,0,0) (0,0.8,0) (0,0,2.5)\n"
        "kinds: list domain domain domain\n"
        "labels: \"frame\" \"\" \"\" \"\"\n"
        "endian: little\n"
        "encoding: gzip\n"
        "space origin: (-10,20,-30)\n"
        "measurement frame: (1,0,0) (0,1,0) (0,0,1)\n"
        "MultiVolume.DICOM.EchoTime:=2.1\n"
        "MultiVolume.DICOM.FlipAngle:=15\n"
        "MultiVolume.DICOM.RepetitionTime:=4.5\n"
        f"MultiVolume.FrameIdentifyingDICOMTagName:={tag}\n"
        f"MultiVolume.FrameIdentifyingDICOMTagUnits:={units}\n"
        f"MultiVolume.FrameLabels:={','.join(str(v) for v in labels)}\n"
        f"MultiVolume.NumberOfFrames:={t}\n"
        "\n"
    )
    frames_fastest = np.ascontiguousarray(np.transpose(data, (1, 2, 3, 0)))  # NRRD: first axis varies fastest
    path.write_bytes(header.encode("ascii") + gzip.compress(frames_fastest.tobytes()))
    return path


def write_sequence_nrrd(path, data):
    t, z, y, x = data.shape
    header = (
        "NRRD0004\ntype: short\ndimension: 4\nspace: left-posterior-superior\n"
        f"sizes: {x} {y} {z} {t}\n"
        "space directions: (0.7,0,0) (0,0.8,0) (0,0,2.5) none\n"
        "kinds: domain domain domain list\nlabels: \"\" \"\" \"\" \"time\"\nendian: little\nencoding: gzip\n"
        "space origin: (-10,20,-30)\naxis 3 index type:=numeric\n\n"
    )
    path.write_bytes(header.encode("ascii") + gzip.compress(np.ascontiguousarray(data).tobytes()))
    return path


def test_slicer_multivolume_loads_with_times_from_frame_labels(tmp_path):
    data = _data()
    study = load_study(write_slicer_multivolume(tmp_path / "dce.nrrd", data))
    assert study.data.shape == (T, Z, Y, X)
    assert np.array_equal(study.data, data.astype(np.float32))
    assert study.phase_times_s == (0.0, 62.0, 124.0, 186.0, 248.0)
    assert study.timing_source == "MultiVolume.FrameLabels"
    assert study.geometry.spacing_mm == (2.5, 0.8, 0.7) and study.geometry.origin_mm == (-10.0, 20.0, -30.0)


def test_user_times_win_over_frame_labels(tmp_path):
    path = write_slicer_multivolume(tmp_path / "dce.nrrd", _data())
    study = load_study(path, phase_times_s=(0, 30, 60, 90, 120))
    assert study.phase_times_s == (0.0, 30.0, 60.0, 90.0, 120.0) and study.timing_source == "user"


def test_multivolume_of_flip_angles_is_not_a_dce_study(tmp_path):
    path = write_slicer_multivolume(tmp_path / "vfa.nrrd", _data(), labels=(3, 6, 9, 15, 24), tag="FlipAngle",
                                    units="degrees")
    with pytest.raises(InputError, match="FlipAngle"):
        load_study(path)


def test_frame_labels_count_must_match_the_frames(tmp_path):
    path = write_slicer_multivolume(tmp_path / "dce.nrrd", _data(), labels=TIMES_MS[:4])
    with pytest.raises(TimingError, match="4 value"):
        load_study(path)


def test_sequence_nrrd_list_axis_last_needs_times_then_loads(tmp_path):
    data = _data()
    path = write_sequence_nrrd(tmp_path / "dce.seq.nrrd", data)
    with pytest.raises(TimingError, match="no acquisition times"):
        load_study(path)
    study = load_study(path, phase_times_s=(0, 60, 120, 180, 240))
    assert np.array_equal(study.data, data.astype(np.float32))
