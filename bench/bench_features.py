"""Benchmark radiomics extraction on one synthetic 6-phase patient.

(a) peer: plain pyradiomics RadiomicsFeatureExtractor, MR example settings (binWidth 5, no preCrop), same
    15 image types, every region (H1..H3, ring on the early phase) and every phase (tumour) in turn;
(b) plain pyradiomics with OUR parameter file, one region/phase per execute() call;
(c) our full extraction (11,238 names): with --n-jobs workers (first call starts the pool, second reuses it)
    and in-process on one core; (d) our lazy extraction of a random 25-feature model, one core.
"One core": SimpleITK, BLAS and OpenMP limited to one thread, as (a) and (b) are run.
Prints seconds, ratios a/c, b/c, b/d, how many (b) values equal (c) for the same names, and the load average.
One-core runs also print CPU seconds of this process (``time.process_time``) and ratios of those: on a shared
machine (load average above the core count) wall-clock seconds stretch with the other processes, CPU seconds
much less.
Run: python bench/bench_features.py [--skip-peer] [--peer-cap-s 600] [--n-jobs 2]
Timings are wall clock on a shared machine: noisy; compare ratios measured in the same run.
"""
from __future__ import annotations

import argparse
import logging
import time

import numpy as np


def patient_inputs():
    from tnbc_desktop.core.features import RegionMasks
    from tnbc_desktop.core.synthetic import make_patient
    from scipy import ndimage

    p = make_patient(3)
    study = p.study
    tumour = p.mask.array
    labels = p.habitat_truth.astype(np.uint8)
    dist = ndimage.distance_transform_edt(~tumour, sampling=study.geometry.spacing_mm)
    ring = (dist > 0) & (dist <= 5.0)
    return study, RegionMasks(tumour=tumour, habitat_labels=labels, ring=ring)


def pyradiomics_runs(ext, study, regions, early, cap_s):
    """Region features on the early phase + tumour features on every phase; stops after cap_s seconds."""
    from tnbc_desktop.core.features.filters import to_sitk

    out, t0, c0 = {}, time.perf_counter(), time.process_time()
    jobs = [(r, early, regions.region(r)) for r in ("H1", "H2", "H3", "ring")]
    jobs += [(f"phase{ph}", ph, regions.tumour) for ph in range(study.n_phases)]
    done = 0
    for name, ph, mask in jobs:
        if time.perf_counter() - t0 > cap_s:
            break
        res = ext.execute(to_sitk(study.data[ph], study.geometry), to_sitk(mask.astype(np.uint32), study.geometry))
        out[name] = {k: float(v) for k, v in res.items() if not k.startswith("diagnostics")}
        done += 1
    return out, time.perf_counter() - t0, done, len(jobs), time.process_time() - c0


def load_average() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--peer-cap-s", type=float, default=600.0)
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args()
    logging.getLogger("radiomics").setLevel(logging.CRITICAL)
    import SimpleITK as sitk
    from radiomics.featureextractor import RadiomicsFeatureExtractor
    from threadpoolctl import threadpool_limits

    from tnbc_desktop.core.features import extract_features, load_params

    study, regions = patient_inputs()
    early = 2 if study.n_phases > 2 else 1
    print(f"patient: {study.data.shape} voxels, tumour {int(regions.tumour.sum())} voxels, "
          f"habitats {[int((regions.habitat_labels == k).sum()) for k in (1, 2, 3)]}, ring {int(regions.ring.sum())}")
    params = load_params()

    print(f"load average at start: {load_average()} (2-core machine: above 2 means shared cores)")
    t = time.perf_counter()
    full = extract_features(study, regions, early_phase=early, n_jobs=args.n_jobs)
    tc_cold = time.perf_counter() - t
    t = time.perf_counter()
    full = extract_features(study, regions, early_phase=early, n_jobs=args.n_jobs)
    tc = time.perf_counter() - t
    itk_threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    with threadpool_limits(limits=1):
        t, c = time.perf_counter(), time.process_time()
        full1 = extract_features(study, regions, early_phase=early, n_jobs=1)
        tc1, cc1 = time.perf_counter() - t, time.process_time() - c
        rng = np.random.default_rng(0)
        model = list(rng.choice(sorted(full.values), size=25, replace=False))
        t, c = time.perf_counter(), time.process_time()
        lazy = extract_features(study, regions, model, early_phase=early)
        td, cd = time.perf_counter() - t, time.process_time() - c
    assert all(lazy.values[n] == full1.values[n] for n in model)
    assert full.values == full1.values
    print(f"(c) ours full, n_jobs={args.n_jobs}: {tc:.2f} s with the pool running ({tc_cold:.2f} s including "
          f"starting it; {len(full.values)} values); one core: {tc1:.2f} s ({cc1:.2f} s CPU)  [{full1.timings_s}]")
    print(f"(d) ours lazy 25 features, one core: {td:.2f} s ({cd:.2f} s CPU)  "
          f"[{', '.join(sorted({n.split('__')[-1].split('_')[0] for n in model if '__' in n}))}]")

    with threadpool_limits(limits=1):  # one core, like (c1)
        ext_b = RadiomicsFeatureExtractor(params.source)
        b, tb, nb, nall, cb = pyradiomics_runs(ext_b, study, regions, early, args.peer_cap_s)
    print(f"(b) pyradiomics, our parameter file: {tb:.2f} s ({cb:.2f} s CPU) for {nb}/{nall} execute() calls")
    same = close = total = 0
    for r in ("H1", "H2", "H3", "ring"):
        for k, v in b.get(r, {}).items():
            ours = full1.values.get(f"{r}__{k}")
            if ours is None:
                continue
            total += 1
            same += ours == v
            close += bool(np.isclose(ours, v, rtol=1e-6, atol=1e-9))
    print(f"    region values (b) vs (c): {same}/{total} identical, {close}/{total} within rtol 1e-6 "
          f"(differences: rounding; GLCM MCC by eigenvalues, see region.py)")
    print(f"ratios: b/c = {tb / tc1:.2f} (one core each), b/c(n_jobs={args.n_jobs}) = {tb / tc:.2f}, "
          f"b/d = {tb / td:.2f}; by CPU seconds: b/c = {cb / cc1:.2f}, b/d = {cb / cd:.2f}")
    if not args.skip_peer:
        ext_a = RadiomicsFeatureExtractor(binWidth=5, normalize=True, normalizeScale=100, voxelArrayShift=300,
                                          resampledPixelSpacing=[1.0, 1.0, 1.0], interpolator="sitkBSpline",
                                          correctMask=True)
        ext_a.enableImageTypes(**{k: params.image_type_args(k) for k in params.image_types})
        with threadpool_limits(limits=1):
            a, ta, na, nall, ca = pyradiomics_runs(ext_a, study, regions, early, args.peer_cap_s)
        note = "" if na == nall else f" (CAPPED after {na}/{nall} calls; true time is larger)"
        print(f"(a) peer pyradiomics MR example settings: {ta:.2f} s ({ca:.2f} s CPU){note}; a/c = {ta / tc1:.2f} "
              f"(one core each; by CPU seconds {ca / cc1:.2f})")
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(itk_threads)
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
