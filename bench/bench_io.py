"""Benchmark: ``inspect`` on a 6-phase 192x192x48 DICOM study (288 files), per layout, against a baseline
measured in the same run (reading every file's pixels with plain pydicom, no sorting). Run:
``python bench/bench_io.py``. Prints seconds and ratios; the machine may be shared, so timings are noisy."""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pydicom

from tnbc_desktop.core.io.dicom_write import write_dicom_study
from tnbc_desktop.core.io.study_loader import load_study
from tnbc_desktop.core.study import DCEStudy, Geometry, PhaseInfo

SHAPE, TIMES = (48, 192, 192), (0.0, 90.0, 180.0, 270.0, 360.0, 450.0)


def make_study() -> DCEStudy:
    rng = np.random.default_rng(0)
    data = (rng.random((len(TIMES), *SHAPE), dtype=np.float32) * 800 + 100).astype(np.float32)
    geometry = Geometry(SHAPE, (2.0, 0.7, 0.7), (-67.2, -67.2, -48.0))
    return DCEStudy(data, TIMES, geometry, tuple(PhaseInfo(i, t, "user") for i, t in enumerate(TIMES)),
                    "memory", "user", "bench")


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    study = make_study()
    with tempfile.TemporaryDirectory() as tmp:
        for layout in ("per-phase", "single-series"):
            folder = Path(tmp) / layout
            t_write, files = timed(lambda: write_dicom_study(study, folder, layout))
            t_base, _ = timed(lambda: [pydicom.dcmread(f).pixel_array for f in files])
            t_load, loaded = timed(lambda: load_study(folder))
            assert loaded.data.shape == (6, *SHAPE)
            t_cli, res = timed(lambda: subprocess.run([sys.executable, "-m", "tnbc_desktop", "inspect", str(folder),
                                                       "--json"], capture_output=True, text=True))
            assert res.returncode == 0, res.stderr
            print(f"{layout:14s} files={len(files)} write={t_write:.2f}s baseline(pydicom read all)={t_base:.2f}s "
                  f"load_study={t_load:.2f}s ({t_load / t_base:.2f}x baseline) inspect CLI={t_cli:.2f}s")
    qiba = Path(__file__).resolve().parents[2] / "shared" / "data" / "qiba_dce_dro_v6" / "DICOM"
    if qiba.exists():
        files = sorted(qiba.glob("*.dcm"))
        t_base, _ = timed(lambda: [pydicom.dcmread(f).pixel_array for f in files])
        t_load, loaded = timed(lambda: load_study(qiba))
        print(f"QIBA DRO v6    files={len(files)} baseline={t_base:.2f}s load_study={t_load:.2f}s "
              f"({t_load / t_base:.2f}x baseline) shape={loaded.data.shape}")


if __name__ == "__main__":
    main()
