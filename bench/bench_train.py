"""Benchmark of training: feature extraction (per patient, serial vs Dask) and model fitting.

    python bench/bench_train.py [--n 20] [--workers 2] [--full-one]

Makes an ``--n``-patient fraction of the demo cohort (same generator settings, seed 2024), then times:
1. baseline: one patient's demo-candidate extraction in-process (serial);
2. the whole fraction through ``extract_cohort`` on a LocalCluster (per-patient wall time, ratio vs 1);
3. ``fit_models`` on the extracted table (scaled note: fitting cost grows with candidates, not patients);
4. optionally (``--full-one``) one patient's FULL extraction (11,238 names) for comparison.
Prints seconds, ratios and the projection for the 300-patient demo. Timings on a shared machine are noisy.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30, help="patients (>= ~25 so each class has 5 in training)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--full-one", action="store_true", help="also time one full 11,238-feature extraction")
    args = ap.parse_args()

    from tnbc_desktop.core.cohort import extract_cohort
    from tnbc_desktop.core.habitats import fit_habitat_model
    from tnbc_desktop.core.imaging_case import extract_case_features, patient_voxel_features
    from tnbc_desktop.core.manifest import read_manifest
    from tnbc_desktop.core.synthetic import make_cohort
    from tnbc_desktop.core.training.demo import DEMO_COHORT_SEED, demo_feature_names
    from tnbc_desktop.core.training.train_cohort import TrainOptions, train_from_manifest

    names = demo_feature_names()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        manifest = make_cohort(args.n, DEMO_COHORT_SEED, root / "cohort", n_jobs=args.workers)
        t_cohort = time.perf_counter() - t
        man = read_manifest(manifest)
        train = man.by_split("train")
        t = time.perf_counter()
        hm = fit_habitat_model([patient_voxel_features(r.study, r.mask, r.phase_times_s) for r in train]).to_dict()
        t_hab = time.perf_counter() - t
        r0 = man.rows[0]
        t = time.perf_counter()
        extract_case_features(r0.study, r0.mask, hm, names=names, phase_times_s=r0.phase_times_s)
        t_one = time.perf_counter() - t
        t = time.perf_counter()
        res = extract_cohort(manifest, root / "feat", n_workers=args.workers, names=names, habitat_model=hm)
        t_cohort_ext = time.perf_counter() - t
        per_patient = t_cohort_ext / max(1, res.n_patients)
        t = time.perf_counter()
        train_from_manifest(manifest, TrainOptions(out=root / "b.json", features_table=res.table_path,
                                                   work_dir=root / "work", icc_subset=0, names=tuple(names),
                                                   created="2024-01-01T00:00:00+00:00"))
        t_fit = time.perf_counter() - t
        print(f"cohort generation: {args.n} patients in {t_cohort:.1f} s ({t_cohort / args.n:.2f} s/patient)")
        print(f"habitat model (training voxels, serial): {t_hab:.1f} s")
        print(f"baseline serial extraction, 1 patient, {len(names)} demo candidates: {t_one:.2f} s")
        print(f"Dask extraction ({args.workers} workers): {t_cohort_ext:.1f} s for {res.n_patients} patients = "
              f"{per_patient:.2f} s/patient wall; ratio vs serial baseline {per_patient / t_one:.2f}")
        print(f"fit (selection + 5 models + evaluation + bundle), {res.n_patients} patients: {t_fit:.1f} s")
        print(f"projection for the 300-patient demo: extraction ~{300 * per_patient / 60:.1f} min "
              f"(+10 % for 30 reader-2 patients)")
        if args.full_one:
            t = time.perf_counter()
            extract_case_features(r0.study, r0.mask, hm, names=None, phase_times_s=r0.phase_times_s)
            t_full = time.perf_counter() - t
            print(f"full extraction (11,238 names), 1 patient serial: {t_full:.1f} s; ratio vs demo set "
                  f"{t_full / t_one:.1f}")


if __name__ == "__main__":
    main()
