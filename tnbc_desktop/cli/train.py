"""``tnbc-desktop train``: fit a model bundle from a cohort manifest, or rebuild the synthetic demo bundle.

    tnbc-desktop train MANIFEST --out BUNDLE.json [--report REPORT.pdf] [--features TABLE.parquet]
                       [--workers N] [--scheduler ADDR] [--name NAME] [--icc-subset N] [--only NAMES.txt]
    tnbc-desktop train --synthetic-demo [--n 300] [--out models/demo_bundle.json] [--report REPORT.pdf]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from tnbc_desktop.errors import InputError


def register(sub) -> None:
    p = sub.add_parser("train", help="fit Model 1/2/3, PRM and GPRM from a cohort manifest into a model bundle")
    p.add_argument("manifest", nargs="?", help="manifest CSV (patient_id, study, mask, mask2, pcr, split, ...)")
    p.add_argument("--out", help="bundle to write (.json); default models/demo_bundle.json with --synthetic-demo")
    p.add_argument("--report", help="also write the training report PDF here")
    p.add_argument("--features", help="feature table from 'cohort extract' (its habitat_model.json beside it)")
    p.add_argument("--work-dir", help="extraction cache folder (default: <out>.work next to the bundle)")
    p.add_argument("--workers", type=int, default=2, help="local Dask worker processes (default 2)")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--name", default="site bundle", help="bundle name (default 'site bundle')")
    p.add_argument("--version", dest="bundle_version", default="1.0", help="bundle version (default 1.0)")
    p.add_argument("--icc-subset", type=int, default=30,
                   help="training patients with mask2 extracted for the ICC filter (default 30; 0 = no ICC)")
    p.add_argument("--only", help="text file with one candidate feature name per line (default: all 11,238)")
    p.add_argument("--seed", type=int, default=0, help="seed for SMOTE, CV folds and the ICC subset (default 0)")
    p.add_argument("--synthetic-demo", action="store_true",
                   help="make the synthetic demo cohort and train the demo bundle (is_demo = true)")
    p.add_argument("--n", type=int, default=300, help="demo cohort size (default 300)")
    p.add_argument("--cohort-seed", type=int, default=None, help="demo cohort seed (default 2024)")
    p.add_argument("--cache", help="demo cohort cache folder (default: user data folder)")
    p.set_defaults(func=run)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _names(path: str | None):
    if not path:
        return None
    from tnbc_desktop.cli.cohort import read_names

    return tuple(read_names(path))


def run(args) -> int:
    t0 = time.perf_counter()
    if args.synthetic_demo:
        return _run_demo(args, t0)
    if not args.manifest or not args.out:
        raise InputError("give a MANIFEST and --out BUNDLE.json (or --synthetic-demo)")
    from tnbc_desktop.core.training.train_cohort import TrainOptions, train_from_manifest

    opts = TrainOptions(out=Path(args.out), features_table=Path(args.features) if args.features else None,
                        work_dir=Path(args.work_dir) if args.work_dir else None, workers=args.workers,
                        scheduler=args.scheduler, name=args.name, version=args.bundle_version,
                        icc_subset=args.icc_subset, seed=args.seed, names=_names(args.only),
                        source=f"manifest {Path(args.manifest).name}")
    result = train_from_manifest(args.manifest, opts, progress=_say)
    _summary(result)
    if args.report:
        from tnbc_desktop.core.training.report import write_training_report

        print(f"report: {write_training_report(result, args.report)}")
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0 if not result.failed else 1


def _summary(result) -> None:
    from tnbc_desktop.core.bundle import load_bundle

    bundle = load_bundle(result.bundle_path)
    print(bundle.summary())
    for pid, err in sorted(result.failed.items()):
        print(f"FAILED {pid}: {err}")
    t = result.timings_s
    print("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items()))


def _run_demo(args, t0: float) -> int:
    from tnbc_desktop.core.training.demo import DEMO_COHORT_SEED, train_synthetic_demo
    from tnbc_desktop.paths import models_dir

    out = Path(args.out) if args.out else models_dir() / "demo_bundle.json"
    res = train_synthetic_demo(out, n=args.n, seed=DEMO_COHORT_SEED if args.cohort_seed is None else args.cohort_seed,
                               cache_dir=args.cache, workers=args.workers, names=list(_names(args.only) or []) or None,
                               report=args.report, icc_subset=args.icc_subset, progress=_say)
    _summary(res.training)
    print(f"model card: {res.card_path}")
    for line in res.comparison.lines():
        print(line)
    c = res.comparison
    if c.model3_auc is not None:
        print(f"Model 3 vs oracle: {c.model3_auc - c.oracle_auc:+.3f}; vs imaging oracle: "
              f"{c.model3_auc - c.imaging_oracle_auc:+.3f}")
    print(f"cohort {res.cohort_seconds:.1f} s; total {time.perf_counter() - t0:.1f} s")
    return 0
