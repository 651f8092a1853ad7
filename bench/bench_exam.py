"""Exam scan cost: load the DCE from a ~2,000-file whole-exam export (headers of every file read, pixels of the
DCE only) against loading the DCE-only folder, in the same run. Not a test; prints both and the ratio.

Exam (synthetic, as a breast MRI export): DCE 6 phases x 160 slices (single series, 960 files), one subtraction
series per post-contrast phase (800 files), a 160-slice T2, a 2 x 80-slice DWI, a 3-plane localizer, MIPs:
2,252 files. Target: exam / DCE-only <= 1.5.

The matrix is 512 x 512 by default: at the bench's 0.7 mm pixels that is a 36 cm field of view, a bilateral
breast DCE as scanners acquire it. Smaller matrices (``--size 128``: a 9 cm field of view) make every image's
pixels cheaper while a header costs the same, so the ratio grows as the matrix shrinks; the note of the exam
scan reports it at 128, 256 and 512.

    PYTHONPATH=. python bench/bench_exam.py [--size 512] [--slices 160] [--repeats 3] [--keep DIR]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from tnbc_desktop.core.io.exam_write import write_exam
from tnbc_desktop.core.io.study_loader import load_study
from tnbc_desktop.core.study import DCEStudy, Geometry, PhaseInfo


def make_study(n_phases: int, n_slices: int, size: int) -> DCEStudy:
    rng = np.random.default_rng(0)
    data = (rng.random((n_phases, n_slices, size, size), dtype=np.float32) * 500
            + 100 * np.arange(n_phases, dtype=np.float32)[:, None, None, None])
    times = tuple(float(t) for t in np.arange(n_phases) * 80.0)
    geometry = Geometry(shape=(n_slices, size, size), spacing_mm=(1.0, 0.7, 0.7), origin_mm=(-90.0, -60.0, -40.0))
    return DCEStudy(data=data, phase_times_s=times, geometry=geometry,
                    phases=tuple(PhaseInfo(i, t, "user") for i, t in enumerate(times)), layout="memory",
                    timing_source="user", source="bench-exam")


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=160)
    parser.add_argument("--size", type=int, default=512, help="matrix of the DCE and subtractions")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", default=None, help="write the exam here and keep it")
    args = parser.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-exam-"))
    try:
        study = make_study(6, args.slices, args.size)
        start = time.perf_counter()
        exam = write_exam(study, root / "exam", dce_layout="single-series", other_slices=args.slices // 2 * 2,
                          all_subtractions=True)
        n_files = sum(1 for p in exam.folder.rglob("*") if p.is_file())
        n_dce = sum(1 for p in exam.dce_folder.rglob("*") if p.is_file())
        print(f"wrote {n_files} files ({n_dce} DCE) in {time.perf_counter() - start:.1f} s")
        a, b = load_study(exam.folder), load_study(exam.dce_folder)  # warm the page cache, check equality
        assert np.array_equal(a.data, b.data) and a.phase_times_s == b.phase_times_s
        t_dce, t_exam = [], []
        for _ in range(args.repeats):  # interleaved: both see the same machine load
            t_dce.append(best_of(lambda: load_study(exam.dce_folder), 1))
            t_exam.append(best_of(lambda: load_study(exam.folder), 1))
        dce, whole = min(t_dce), min(t_exam)
        print(f"DCE-only folder ({n_dce} files): {dce:.2f} s")
        print(f"whole exam ({n_files} files, headers of all, pixels of the DCE): {whole:.2f} s")
        print(f"ratio exam / DCE-only: {whole / dce:.2f} (target <= 1.5)")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
