"""Resource limits, end to end: hostile inputs given to the CLI end in exit code 2 and one error line, in a
child process whose data memory is capped at 500 MB (``RLIMIT_DATA``: the app's shared libraries alone reserve
~500 MB of address space, so ``RLIMIT_AS`` at 500 MB would stop the imports), and never hang.

The cap makes an attempted large allocation fail inside the child instead of swapping the machine; the child's
peak resident memory (``ru_maxrss``) is checked against the same 500 MB. The subprocess timeout only guards
against a hang (a refusal takes about two seconds, mostly imports); no test asserts on wall time.
"""
from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.bad_inputs import _edit, make_study

CAP_BYTES = 500 * 1024**2  # RLIMIT_DATA: heap and private mappings (shared-library code is not counted)
HANG_GUARD_S = 120


def _cap():
    resource.setrlimit(resource.RLIMIT_DATA, (CAP_BYTES, CAP_BYTES))


def run_cli(*args: str) -> tuple[subprocess.CompletedProcess, int]:
    """(completed process, its peak RSS in bytes) for ``tnbc-desktop ARGS`` under the memory cap."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    code = ("import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:])\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(p.returncode)\n")
    # a one-shot wrapper so that RUSAGE_CHILDREN measures this CLI run alone
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "tnbc_desktop", *args],
                          preexec_fn=_cap, capture_output=True, text=True, timeout=HANG_GUARD_S, env=env)
    lines = proc.stderr.strip().splitlines()
    peak_kib = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    proc.stderr = "\n".join(lines[:-1])
    return proc, peak_kib * 1024


def _assert_refused(proc, peak: int, *words: str) -> str:
    err = proc.stderr.strip()
    assert proc.returncode == 2, f"exit {proc.returncode}: {err[-500:]}"
    assert "Traceback" not in err and len(err.splitlines()) == 1, err[-500:]
    assert err.startswith("tnbc-desktop: error: ") and len(err) <= 400 and err.isprintable(), err
    for w in words:
        assert w in err, f"{w!r} not in {err!r}"
    assert 0 < peak < CAP_BYTES, f"peak RSS {peak / 1e6:.0f} MB"
    return err


@pytest.fixture(scope="module")
def dicom_study(tmp_path_factory) -> Path:
    from tnbc_desktop.core.io.dicom_write import write_dicom_study

    study, _ = make_study()
    root = tmp_path_factory.mktemp("limits")
    write_dicom_study(study, root / "study", layout="per-phase")
    return root / "study"


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_declared_60000_by_60000_dicom_is_refused_with_its_sizes(dicom_study, tmp_path):
    folder = _copy(dicom_study, tmp_path / "big")
    for f in folder.rglob("*.dcm"):
        _edit(f, lambda ds: (setattr(ds, "Rows", 60000), setattr(ds, "Columns", 60000)))
    proc, peak = run_cli("inspect", str(folder))
    _assert_refused(proc, peak, "60000 x 60000", "GB", "holds only")


def test_declared_60000_by_60000_compressed_dicom_is_refused_by_the_memory_budget(dicom_study, tmp_path):
    """A compressed transfer syntax has no size to compare with the file: the memory budget refuses it."""
    from pydicom.uid import RLELossless

    f = sorted(dicom_study.rglob("*.dcm"))[0]
    target = tmp_path / "one.dcm"

    def fn(ds):
        ds.compress(RLELossless)
        ds.Rows = ds.Columns = 60000
    import shutil
    shutil.copy(f, target)
    _edit(target, fn)
    proc, peak = run_cli("inspect", str(target))
    _assert_refused(proc, peak, "60000 x 60000", "memory")


def test_json_nested_10000_deep_is_refused(tmp_path):
    p = tmp_path / "bundle.json"
    p.write_text("[" * 10_000 + "]" * 10_000)
    proc, peak = run_cli("bundle", "verify", str(p))
    _assert_refused(proc, peak, "nested 10000 levels")


def test_fifo_named_as_the_study_is_refused(tmp_path):
    fifo = tmp_path / "study.dcm"
    os.mkfifo(fifo)
    proc, peak = run_cli("inspect", str(fifo))
    _assert_refused(proc, peak, "FIFO")


def test_fifo_as_the_mutation_file_is_refused(tmp_path):
    fifo = tmp_path / "panel.maf"
    os.mkfifo(fifo)
    proc, peak = run_cli("maf", "summarize", str(fifo))
    _assert_refused(proc, peak, "FIFO")


def test_symlink_to_dev_zero_as_the_bundle_is_refused(tmp_path):
    link = tmp_path / "bundle.json"
    os.symlink("/dev/zero", link)
    proc, peak = run_cli("bundle", "verify", str(link))
    _assert_refused(proc, peak, "device")


def test_folder_with_fifo_and_dev_zero_link_loads_the_study(dicom_study, tmp_path):
    """Special files in a study folder are skipped like any other non-DICOM file: the study loads."""
    folder = _copy(dicom_study, tmp_path / "study")
    os.mkfifo(folder / "phase_01" / "zz_pipe")
    os.symlink("/dev/zero", folder / "phase_02" / "zz_zero.dcm")
    proc, peak = run_cli("inspect", str(folder), "--json")
    assert proc.returncode == 0, proc.stderr[-500:]
    info = json.loads(proc.stdout)
    assert info["shape"][0] == 4 and any("ignored 2 file" in n for n in info["notes"]), info["notes"]
    assert 0 < peak < CAP_BYTES


def test_nifti_header_exceeding_its_data_is_refused(tmp_path):
    import gzip
    import struct

    from tnbc_desktop.core.io.volumes import write_volume
    study, _ = make_study()
    p = write_volume(study.data[0], study.geometry, tmp_path / "v.nii")
    raw = bytearray(p.read_bytes())
    struct.pack_into("<3h", raw, 42, 30000, 30000, 30000)  # dim[1..3]: 27e12 voxels declared
    gz = tmp_path / "v.nii.gz"
    gz.write_bytes(gzip.compress(bytes(raw)))
    proc, peak = run_cli("inspect", f"{gz},{gz},{gz}", "--phase-times", "0,90,180")
    err = _assert_refused(proc, peak, "30000 x 30000 x 30000")
    assert "memory" in err or "holds" in err


def test_inspect_json_is_strict_json_for_nan_voxels(tmp_path):
    """NaN voxels of a NIfTI study are kept (SimpleITK would read them as 0); their phase mean is not a
    number, which ``inspect --json`` prints as null with a warning, never as bare NaN."""
    from tnbc_desktop.core.io.volumes import write_study_nifti
    from tnbc_desktop.core.study import DCEStudy

    study, tumour = make_study()
    data = study.data.copy()
    data[1][tumour] = np.nan
    p = write_study_nifti(DCEStudy(**{**study.__dict__, "data": data}), tmp_path / "s.nii.gz")
    proc, _ = run_cli("inspect", str(p), "--json")
    assert proc.returncode == 0, proc.stderr[-500:]
    info = json.loads(proc.stdout, parse_constant=lambda c: pytest.fail(f"bare {c} in the JSON"))
    means = info["phase_mean_intensity"]
    assert means[1] is None and all(isinstance(m, float) and math.isfinite(m) for k, m in enumerate(means)
                                    if k != 1), means
    assert any("phase_mean_intensity[1]" in w for w in info["warnings"]), info["warnings"]
    assert any("phase 2" in w and "NaN" in w for w in info["warnings"]), info["warnings"]


def test_inspect_json_never_prints_nan_for_a_nan_rescale_slope(dicom_study, tmp_path):
    folder = _copy(dicom_study, tmp_path / "s")
    for f in (folder / "phase_01").glob("*.dcm"):
        _edit(f, lambda ds: setattr(ds, "RescaleSlope", "NaN"))
    proc, peak = run_cli("inspect", str(folder), "--json")
    assert "NaN" not in proc.stdout
    _assert_refused(proc, peak, "RescaleSlope")
