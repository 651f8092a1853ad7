"""Cohort extraction throughput: patients per minute with 1 vs 2 local Dask workers on the same cohort.

    python bench/bench_cohort.py                       # 8 patients of the default cohort shape, full extraction
    python bench/bench_cohort.py --patients 4 --shape 16,64,64 --only names.txt   # quicker, feature subset

Both runs use the same synthetic cohort and the same habitat model (fitted once, passed to both runs, so only
the per-patient feature stage is timed; the cluster start-up is included in each run's wall time and also
printed separately). Prints wall seconds, patients/minute, the per-patient extraction time (worker-side) and
the parallel efficiency = (rate_2 / rate_1) / 2 (target >= 0.85). Timings depend on machine load: the load
average is printed before and after; compare figures only within one run of this script.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _run(manifest: Path, out: Path, workers: int, names, hm: dict) -> tuple[float, float, list[float]]:
    """(wall s of the whole extract_cohort call, wall s of the features stage, per-patient task seconds)."""
    from tnbc_desktop.core.cohort import extract_cohort

    marks: dict[str, float] = {}

    def progress(p):
        if p.stage == "features" and p.done + p.failed == 0:
            marks["start"] = time.perf_counter()
        marks["end"] = time.perf_counter()

    t0 = time.perf_counter()
    res = extract_cohort(manifest, out, n_workers=workers, names=names, habitat_model=hm, progress=progress)
    wall = time.perf_counter() - t0
    if res.failed:
        raise SystemExit(f"patients failed: {res.failed}")
    return wall, marks["end"] - marks["start"], list(res.patient_seconds.values())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=8)
    ap.add_argument("--shape", default="32,128,128", help="z,y,x voxels of each synthetic patient")
    ap.add_argument("--only", help="feature list file (default: full 11,238-feature extraction)")
    ap.add_argument("--keep", help="folder to keep the cohort and outputs in (default: a temp folder)")
    args = ap.parse_args(argv)

    from tnbc_desktop.cli.cohort import read_names
    from tnbc_desktop.core.cohort import MAX_VOXELS_PER_PATIENT
    from tnbc_desktop.core.habitats import fit_habitat_model
    from tnbc_desktop.core.imaging_case import patient_voxel_features
    from tnbc_desktop.core.manifest import read_manifest
    from tnbc_desktop.core.synthetic import make_cohort

    names = read_names(args.only)
    shape = tuple(int(v) for v in args.shape.split(","))
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_cohort_"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()}  (cpus: {os.cpu_count()})")
    t = time.perf_counter()
    manifest = make_cohort(args.patients, 5, root / "data", shape=shape)
    print(f"cohort: {args.patients} patients of {shape} written in {time.perf_counter() - t:.1f} s")
    rows = read_manifest(manifest).rows
    t = time.perf_counter()
    hm = fit_habitat_model([patient_voxel_features(r.study, r.mask, r.phase_times_s, key=r.patient_id,
                                                   max_voxels=MAX_VOXELS_PER_PATIENT) for r in rows]).to_dict()
    print(f"habitat model (all rows, bench only) fitted in {time.perf_counter() - t:.1f} s")
    n_feat = "all 11,238" if names is None else str(len(names))
    results = {}
    for workers in (1, 2):
        out = root / f"out_{workers}"
        shutil.rmtree(out, ignore_errors=True)
        wall, stage, per_patient = _run(manifest, out, workers, names, hm)
        rate = len(rows) / stage * 60.0
        results[workers] = (wall, stage, rate, statistics.median(per_patient))
        print(f"{workers} worker(s): features stage {stage:.1f} s = {rate:.2f} patients/min; median worker time "
              f"per patient {results[workers][3]:.1f} s; whole call incl. cluster start {wall:.1f} s; "
              f"{n_feat} features")
    eff = (results[2][2] / results[1][2]) / 2.0
    print(f"speed-up 2 vs 1 worker: {results[2][2] / results[1][2]:.2f}x; parallel efficiency "
          f"(rate_2/rate_1)/2 = {eff:.2f} (target >= 0.85)")
    print(f"per-patient extraction time (1 worker, median): {results[1][3]:.1f} s")
    print(f"load average after: {os.getloadavg()}")
    print(json.dumps({"patients": len(rows), "shape": shape, "features": n_feat,
                      "rate_per_min": {k: v[2] for k, v in results.items()}, "efficiency": eff}))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
