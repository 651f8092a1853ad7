"""End-to-end benchmark: DICOM folder -> analyze_case -> two-page PDF, against the peer path.

Cases (each run in this process, timings printed in seconds):
  demo       the synthetic demo patient (6 phases of 48x192x192, 0.7x0.7x2 mm), one DICOM series per phase
  realistic  a synthetic study of realistic size (6 phases of 96x512x512, 0.7x0.7x2 mm), same layout
Paths:
  app        tnbc-desktop: load DICOM, kinetic maps, habitats, ring, MSI, only the bundle's features, predict,
             survival group, PDF (written to disk)
  peer       plain pyradiomics (RadiomicsFeatureExtractor) with the MR example settings quoted in SPEC 6
             (normalize, normalizeScale 100, voxelArrayShift 300, binWidth 5, sitkBSpline) at the method's 1 mm
             resampling and 15 image types, extracting every feature of the method (4 regions on the early
             phase + the tumour on every phase), then the prediction. The study load and habitat labels are
             shared with the app (not timed in the peer), so the peer figure is a lower bound.

Usage: python bench/bench_end_to_end.py [--skip-demo] [--skip-realistic] [--jobs N] [--peer-units N] [--no-peer]
                                        [--trees DIR ... [--repeat N]] [--standin-bundle]
The bundle is models/demo_bundle.json when present (or with --standin-bundle), else a stand-in with the demo bundle's
shape (5 habitat, 2 ring, 18 kinetic features chosen at random with a fixed seed, plus Ki-67/LVI/VAF models).

Before/after in one run: ``--trees DIR ...`` also runs the app path of other source trees (e.g. the
previous commit: ``mkdir /tmp/old && git archive HEAD~1 | tar x -C /tmp/old``) on the SAME DICOM files. Every
tree, this one included, then runs in a fresh child process (same cold-process conditions), the trees
alternating, ``--repeat`` times; the table gives each tree's median per step and the ratio to this tree, and
says whether the predictions and features are identical to this tree's.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def standin_bundle(path: Path) -> Path:
    """A bundle with realistic feature names (cheap coefficients) when no demo bundle is shipped yet."""
    from tnbc_desktop.core.bundle import assemble_bundle, save_bundle
    from tnbc_desktop.core.features.names import kinetic_feature_names, region_feature_names
    from tnbc_desktop.core.features.params import load_params

    params = load_params()
    itypes = params.image_type_names()
    rng = np.random.default_rng(0)
    hab = [n for n in region_feature_names(itypes, ("H1", "H2", "H3"))]
    ring = region_feature_names(itypes, ("ring",))
    kin = kinetic_feature_names(itypes)
    feats = (list(rng.choice(hab, 5, replace=False)) + list(rng.choice(ring, 2, replace=False))
             + list(rng.choice(kin, 18, replace=False)))

    def model(features, cutoff=0.4):
        p = len(features)
        return {"features": features, "z_mean": [0.0] * p, "z_sd": [1e3] * p, "coefficients": [0.01] * p,
                "intercept": 0.0, "covariance": (np.eye(p + 1) * 0.01).tolist(), "cutoff": cutoff,
                "input_range": {"min": [-1e12] * p, "max": [1e12] * p}, "performance": {}}

    models = {"model1": model(feats[:7]), "model2": model(feats[7:]), "model3": model(feats),
              "prm": model(["radscore_model3", "ki67_high", "lvi"], 0.37),
              "gprm": model(["radscore_model3", "ki67_high", "lvi", "vaf_sum"], 0.16)}
    hm = {"feature_order": ["WIS", "WOS", "SER", "PE"], "scaler_mean": [60.0, 5.0, 1.2, 80.0],
          "scaler_sd": [40.0, 10.0, 0.5, 50.0], "centroids_z": [[-1, -.5, -.5, -1], [0, 0, 0, 0], [1, .5, .5, 1]],
          "winsor_low": [-50.0, -100.0, -10.0, -50.0], "winsor_high": [500.0, 100.0, 10.0, 500.0],
          "ser_clip": 10.0, "slopes": "relative"}
    doc = assemble_bundle(name="bench stand-in", version="0", models=models, habitat_model=hm,
                          extraction={"pyradiomics_params_file": "radiomics_params.yaml",
                                      "pyradiomics_params_sha256": params.sha256, "kinetic_settings": {},
                                      "ring_width_mm": 5.0, "msi_connectivity": "2d-8"},
                          training_cohort={"n": 1, "pcr_rate": 0.4, "source": "bench"}, is_demo=True)
    return save_bundle(doc, path)


def bundle_path(tmp: Path, standin: bool = False) -> Path:
    from tnbc_desktop.paths import models_dir

    if standin:
        return standin_bundle(tmp / "standin_bundle.json")
    shipped = models_dir() / "demo_bundle.json"
    return shipped if shipped.exists() else standin_bundle(tmp / "standin_bundle.json")


def write_case(tmp: Path, name: str, shape) -> tuple:
    from tnbc_desktop.core.synthetic import DEMO_SEED, make_patient, write_patient

    t0 = time.perf_counter()
    patient = make_patient(seed=DEMO_SEED, shape=shape, spacing_mm=(2.0, 0.7, 0.7))
    files = write_patient(patient, tmp / name, layout="per-phase")
    return patient, files, time.perf_counter() - t0


def run_app(files, bundle, patient, out_pdf: Path, n_jobs: int = 1):
    from tnbc_desktop.core.case import CaseInputs
    from tnbc_desktop.core.pipeline import analyze_case
    from tnbc_desktop.core.report import write_report

    inputs = CaseInputs(study_source=files.study, mask_path=files.mask, maf_path=files.maf,
                        ki67=f"{patient.ki67_percent:g}", lvi="present" if patient.lvi else "absent")
    t0 = time.perf_counter()
    result = analyze_case(inputs, bundle, n_jobs=n_jobs)
    t1 = time.perf_counter()
    write_report(result, out_pdf)
    t2 = time.perf_counter()
    return result, t2 - t0, t2 - t1


def peer_extractor():
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    ext = featureextractor.RadiomicsFeatureExtractor(
        normalize=True, normalizeScale=100, voxelArrayShift=300, binWidth=5, interpolator="sitkBSpline",
        resampledPixelSpacing=[1.0, 1.0, 1.0], label=1, correctMask=True)
    ext.enableAllFeatures()
    ext.enableImageTypes(Original={}, Wavelet={}, LoG={"sigma": [1.0, 2.0, 3.0]}, Square={}, SquareRoot={},
                         Logarithm={})
    return ext


def run_peer(result, bundle, max_units: int | None):
    """Every feature with plain pyradiomics: H1-H3 + ring on the early phase, tumour on every phase."""
    import SimpleITK as sitk

    from tnbc_desktop.core.predict import predict_all

    study, geom = result.study, result.study.geometry

    def image(arr):
        img = sitk.GetImageFromArray(np.ascontiguousarray(arr, dtype=np.float32))
        img.SetSpacing(tuple(float(s) for s in geom.spacing_mm[::-1]))
        img.SetOrigin(tuple(geom.origin_mm))
        img.SetDirection(tuple(geom.direction))
        return img

    labels = np.asarray(result.habitats.labels)
    early = result.qc.early_phase
    units = [(f"H{k}", early, labels == k) for k in (1, 2, 3)] + [("ring", early, result.ring)]
    units += [("tumour", p, result.mask.array) for p in range(study.n_phases)]
    if max_units:
        units = units[:max_units]
    ext = peer_extractor()
    per_unit, n_features = [], 0
    t0 = time.perf_counter()
    for name, phase, region in units:
        if not region.any():
            continue
        u0 = time.perf_counter()
        mask = image(region.astype(np.uint8))
        feats = ext.execute(image(study.data[phase]), mask)
        n_features += sum(1 for k in feats if not k.startswith("diagnostics"))
        per_unit.append((f"{name}@phase{phase}", time.perf_counter() - u0))
        print(f"    peer unit {name} phase {phase}: {per_unit[-1][1]:.1f} s", flush=True)
    predict_all(bundle, result.features, result.pathology, None)
    return time.perf_counter() - t0, per_unit, n_features, len(units)


def child_run(spec_path: str) -> int:
    """Child mode of ``--trees``: import tnbc_desktop from ``spec['tree']``, run the app path once, print JSON."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    sys.path.insert(0, spec["tree"])
    import tnbc_desktop
    from tnbc_desktop.core.bundle import load_bundle
    from tnbc_desktop.core.case import CaseInputs
    from tnbc_desktop.core.pipeline import analyze_case
    from tnbc_desktop.core.report import write_report

    inputs = CaseInputs(study_source=spec["study"], mask_path=spec["mask"], maf_path=spec["maf"],
                        ki67=spec["ki67"], lvi=spec["lvi"])
    bundle = load_bundle(spec["bundle"])
    t0 = time.perf_counter()
    result = analyze_case(inputs, bundle, n_jobs=spec["jobs"])
    t1 = time.perf_counter()
    write_report(result, Path(spec["pdf"]))
    t2 = time.perf_counter()
    out = {"package": str(Path(tnbc_desktop.__file__).parent),
           "timings": {"total": t2 - t0, "PDF": t2 - t1, **dict(result.timings_s)},
           "predictions": {k: repr(getattr(v, "probability", None)) for k, v in result.predictions.items()},
           "features": {k: repr(v) for k, v in result.features.items()}}
    print("CHILD-RESULT " + json.dumps(out), flush=True)
    return 0


def compare_trees(trees: list[str], spec: dict, tmp: Path, repeat: int, name: str) -> None:
    """Run the app path of this tree and of ``trees`` in fresh child processes, alternating; print medians."""
    here = str(Path(__file__).resolve().parent.parent)
    labels = ["this tree"] + [f"tree {i + 1}" for i in range(len(trees))]
    runs: dict[str, list[dict]] = {lab: [] for lab in labels}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for r in range(repeat):
        for lab, tree in zip(labels, [here] + [str(Path(t).resolve()) for t in trees]):
            spec_file = tmp / f"child_{name}.json"
            spec_file.write_text(json.dumps({**spec, "tree": tree, "pdf": str(tmp / f"{name}_child.pdf")}),
                                 encoding="utf-8")
            proc = subprocess.run([sys.executable, __file__, "--child", str(spec_file)], capture_output=True,
                                  text=True, env=env, check=False)
            line = [x for x in proc.stdout.splitlines() if x.startswith("CHILD-RESULT ")]
            if proc.returncode != 0 or not line:
                print(f"[{name}] {lab} failed:\n{proc.stderr[-2000:]}")
                return
            runs[lab].append(json.loads(line[0][len("CHILD-RESULT "):]))
        with open("/proc/loadavg", encoding="ascii") as fh:
            load = fh.read().split()[:3]
        print(f"[{name}] round {r + 1}/{repeat} done (load average {' '.join(load)})", flush=True)
    steps = ["total", "load study", "load mask", "kinetic maps", "habitats", "peritumoral ring", "MSI",
             "features", "curves", "mutations", "predictions", "PDF"]
    mine = runs[labels[0]]
    print(f"[{name}] median of {repeat} fresh-process runs, seconds (ratio = tree / this tree):")
    print(f"    {'step':18s}" + "".join(f"{lab:>22s}" for lab in labels))
    for step in steps:
        med = [statistics.median(r["timings"].get(step, 0.0) for r in runs[lab]) for lab in labels]
        cells = [f"{med[0]:.2f}"] + [f"{m:.2f} ({m / med[0]:.2f}x)" if med[0] > 0 else f"{m:.2f}" for m in med[1:]]
        print(f"    {step:18s}" + "".join(f"{c:>22s}" for c in cells))
    for lab in labels[1:]:
        other = runs[lab][0]
        same = other["features"] == mine[0]["features"] and other["predictions"] == mine[0]["predictions"]
        print(f"[{name}] {lab} ({other['package']}): features and predictions "
              + ("identical to this tree's" if same else "DIFFER from this tree's"))


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        return child_run(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-realistic", action="store_true")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--jobs", type=int, default=1, help="feature-extraction worker processes for the app")
    ap.add_argument("--peer-units", type=int, default=None, help="limit the peer to the first N extraction units")
    ap.add_argument("--trees", nargs="+", default=[], help="other source trees to time on the same files")
    ap.add_argument("--repeat", type=int, default=3, help="fresh-process runs per tree with --trees")
    ap.add_argument("--standin-bundle", action="store_true",
                    help="use the stand-in bundle (25 features drawn from all 15 image types) instead of the demo "
                         "bundle (12 features of the 'original' image): what a site bundle may ask for")
    args = ap.parse_args()
    from tnbc_desktop.core.bundle import load_bundle

    cases = (([] if args.skip_demo else [("demo", (48, 192, 192))])
             + ([] if args.skip_realistic else [("realistic", (96, 512, 512))]))
    with tempfile.TemporaryDirectory(prefix="tnbc_bench_") as tmpdir:
        tmp = Path(tmpdir)
        bpath = bundle_path(tmp, args.standin_bundle)
        bundle = load_bundle(bpath)
        print(f"bundle: {bpath.name} ({len(bundle.required_features())} imaging features); machine shared, "
              "timings are noisy")
        for name, shape in cases:
            patient, files, t_write = write_case(tmp, name, shape)
            print(f"[{name}] {shape[0]}x{shape[1]}x{shape[2]} x 6 phases, tumour "
                  f"{patient.mask.volume_ml:.1f} mL; synthetic DICOM written in {t_write:.1f} s")
            if args.trees:
                spec = {"study": str(files.study), "mask": str(files.mask), "maf": str(files.maf),
                        "ki67": f"{patient.ki67_percent:g}", "lvi": "present" if patient.lvi else "absent",
                        "bundle": str(bpath), "jobs": args.jobs}
                compare_trees(args.trees, spec, tmp, args.repeat, name)
                continue
            result, t_app, t_pdf = run_app(files, bundle, patient, tmp / f"{name}.pdf", args.jobs)
            steps = ", ".join(f"{k} {v:.2f}" for k, v in result.timings_s.items())
            print(f"[{name}] app end-to-end DICOM -> PDF (jobs={args.jobs}): {t_app:.2f} s (PDF {t_pdf:.2f} s; "
                  f"{steps})")
            if result.feature_set is not None:
                inner = ", ".join(f"{k} {v:.2f}" for k, v in result.feature_set.timings_s.items())
                print(f"[{name}]   feature extraction detail: {inner}")
            if args.no_peer:
                continue
            t_peer, units, n_feat, n_units = run_peer(result, bundle, args.peer_units)
            done = len(units)
            note = "" if done == n_units and not args.peer_units else f" (first {done} of 10 units only)"
            print(f"[{name}] peer (plain pyradiomics, every feature, then predict): {t_peer:.1f} s for "
                  f"{n_feat} features{note}")
            print(f"[{name}] ratio peer / app = {t_peer / t_app:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
