"""Benchmark synthetic data generation (SPEC section 14).

Prints seconds for make_patient at the default 48x192x192 crop and at 96x512x512, and for writing a NIfTI
cohort of small (32x128x128) patients, each with a baseline measured in the same run:
- make_patient vs drawing iid float32 normals for naive Rician noise (2 per voxel per phase) - the cost the
  shared NoiseSource avoids;
- cohort writing per patient vs make_patient + the generic SimpleITK-compressed writer
  (core.io.volumes.write_study_nifti + write_volume), which the fast gzip writer replaces.
Usage: python bench/bench_synthetic.py [--big] [--cohort N] [--jobs J]
The machine may be shared: timings are noisy.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from tnbc_desktop.core.synthetic import make_cohort, make_patient


def _time(fn, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def naive_noise_seconds(shape, n_phases) -> float:
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    for _ in range(2 * n_phases):
        rng.standard_normal(shape, dtype=np.float32)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--big", action="store_true", help="also time 96x512x512")
    ap.add_argument("--cohort", type=int, default=30, help="cohort size to write (default 30)")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()

    shapes = [(48, 192, 192)] + ([(96, 512, 512)] if args.big else [])
    for shape in shapes:
        secs, p = _time(lambda: make_patient(1, shape=shape), repeat=2 if shape[1] <= 192 else 1)
        base = naive_noise_seconds(shape, 6)
        print(f"make_patient {shape}: {secs:.2f} s (tumour {p.mask.n_voxels} voxels); naive iid Rician noise "
              f"alone: {base:.2f} s; ratio {secs / base:.2f}")
        del p

    if args.cohort > 0:
        from tnbc_desktop.core.io.volumes import write_study_nifti, write_volume

        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            make_cohort(args.cohort, 0, Path(tmp) / "c", n_jobs=args.jobs)
            cohort_s = time.perf_counter() - t
            n_base = min(5, args.cohort)
            t = time.perf_counter()
            for i in range(n_base):
                p = make_patient(i + 1, shape=(32, 128, 128), tumour_volume_ml=6.0)
                out = Path(tmp) / f"b{i}"
                out.mkdir()
                write_study_nifti(p.study, out / "study.nii.gz")
                for name, arr in (("mask", p.mask.array), ("mask2", p.mask_reader2.array),
                                  ("hab", p.habitat_truth)):
                    write_volume(arr.astype(np.uint8), p.study.geometry, out / f"{name}.nii.gz")
            base_per = (time.perf_counter() - t) / n_base
        per = cohort_s / args.cohort
        print(f"make_cohort n={args.cohort} jobs={args.jobs}: {cohort_s:.1f} s ({per:.3f} s/patient, "
              f"300 patients ~{300 * per:.0f} s); generic SimpleITK writer baseline {base_per:.3f} s/patient; "
              f"ratio {per / base_per:.2f}")


if __name__ == "__main__":
    main()
