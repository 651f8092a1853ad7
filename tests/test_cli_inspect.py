"""``tnbc-desktop inspect`` through a subprocess: JSON output, and bad input -> exit 2, one line, no traceback."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from tests.builders import random_study as make_study
from tnbc_desktop.core.io.dicom_write import write_dicom_study
from tnbc_desktop.core.io.volumes import sidecar_path, write_study_nifti, write_volume


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "tnbc_desktop", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_inspect_json_dicom_with_mask(tmp_path):
    study = make_study()
    write_dicom_study(study, tmp_path / "dicom", layout="single-series")
    mask = np.zeros(study.geometry.shape, np.uint8)
    mask[2:5, 10:20, 5:15] = 1
    write_volume(mask, study.geometry, tmp_path / "mask.nii.gz")
    res = run_cli("inspect", tmp_path / "dicom", "--mask", tmp_path / "mask.nii.gz", "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["shape"] == [4, 8, 32, 24]
    assert info["spacing_mm"] == [2.5, 0.7, 0.8]
    assert info["phase_times_s"] == list(study.phase_times_s)
    assert info["timing_source"] == "TriggerTime" and info["layout"] == "dicom-single-series"
    assert np.allclose(info["phase_mean_intensity"], study.phase_means(), rtol=1e-4)
    assert info["mask_voxels"] == 300 and info["mask_resampled"] is False
    assert "ZZCANARY" not in res.stdout + res.stderr


def test_inspect_text_output_and_phase_times(tmp_path):
    path = write_study_nifti(make_study(), tmp_path / "s.nii.gz")
    sidecar_path(path).unlink()
    res = run_cli("inspect", path, "--phase-times", "0,60,120,180")
    assert res.returncode == 0, res.stderr
    assert "nifti-4d" in res.stdout and "t = 180.0 s (user)" in res.stdout


def test_cli_bad_input_exits_2_without_traceback(tmp_path):
    res = run_cli("inspect", tmp_path / "missing")
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert "missing" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_cli_timing_problem_is_one_plain_line(tmp_path):
    path = write_study_nifti(make_study(), tmp_path / "s.nii.gz")
    sidecar_path(path).unlink()
    res = run_cli("inspect", path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "phase-times" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = run_cli("inspect", path, "--phase-times", "0,abc")
    assert res.returncode == 2 and "separated by commas" in res.stderr and "Traceback" not in res.stderr
