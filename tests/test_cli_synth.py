"""``tnbc-desktop synth``: writes loadable DICOM/NIfTI patients and cohorts; bad arguments exit 2."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from tnbc_desktop.cli import main
from tnbc_desktop.core.synthetic import make_patient, phase_times_for


@pytest.mark.parametrize("layout", ["per-phase", "single-series"])
def test_synth_patient_dicom_loads_back(tmp_path, capsys, layout):
    from tnbc_desktop.core.io import masks, study_loader

    out = tmp_path / "case"
    rc = main(["synth", "patient", str(out), "--seed", "4", "--layout", layout, "--phases", "4",
               "--shape", "12,48,48", "--snr", "25"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "mask.nii.gz" in printed and "mutations.maf" in printed
    study = study_loader.load_study(out / "study")
    expected = make_patient(4, shape=(12, 48, 48), phase_times_s=phase_times_for(4), snr=25.0)
    assert study.n_phases == 4 and study.phase_times_s == (0.0, 90.0, 180.0, 270.0)
    assert study.geometry.same_grid(expected.study.geometry)
    # uint16 + rescale in DICOM: equal within half a quantisation step (range / 65534 / 2) + float rounding
    step = float(expected.study.data.max() - expected.study.data.min()) / 65534
    assert np.max(np.abs(study.data - expected.study.data)) <= step / 2 + 1e-3 * expected.study.data.max()
    mask = masks.load_mask(out / "mask.nii.gz", study.geometry)
    assert np.array_equal(mask.array, expected.mask.array)
    for name in ("mask_reader2.nii.gz", "habitats_truth.nii.gz", "mutations.maf", "clinical.json", "truth.json"):
        assert (out / name).exists()


def test_synth_patient_nifti(tmp_path):
    out = tmp_path / "n"
    assert main(["synth", "patient", str(out), "--seed", "1", "--layout", "nifti", "--shape", "12,40,40"]) == 0
    assert (out / "study.nii.gz").exists() and (out / "study.json").exists()


def test_synth_cohort_writes_manifest(tmp_path, capsys):
    out = tmp_path / "cohort"
    assert main(["synth", "cohort", str(out), "--n", "3", "--seed", "2", "--shape", "12,40,40"]) == 0
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert len(rows) == 3 and (out / "cohort_truth.csv").exists()
    assert all((out / r["study"]).exists() for r in rows)
    assert "manifest.csv" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["synth", "patient", "OUT", "--phases", "9"],
    ["synth", "patient", "OUT", "--phases", "2"],
    ["synth", "patient", "OUT", "--shape", "4,4"],
    ["synth", "patient", "OUT", "--snr", "-1", "--shape", "12,40,40"],
    ["synth", "patient", "OUT", "--layout", "analyze"],
    ["synth", "cohort", "OUT", "--n", "0"],
])
def test_bad_arguments_exit_2(tmp_path, capsys, argv):
    argv = [str(tmp_path / "o") if a == "OUT" else a for a in argv]
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse errors
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err
