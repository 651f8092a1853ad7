"""``tnbc-desktop cohort extract MANIFEST --out DIR [--scheduler tcp://HOST:PORT] [--workers N] [--only FILE]
[--habitat-model JSON]``: resumable cohort feature extraction on Dask (see ``tnbc_desktop.core.cohort``).

``tnbc-desktop cohort manifest mama-mia ROOT --out MANIFEST [--subtype S] [--external DUKE,ISPY1]
[--clinical TABLE.xlsx] [--strict]``: the manifest of a MAMA-MIA download (``tnbc_desktop.core.cohorts``).

Exit codes: 0 every patient has features; 1 some patients failed (listed, details in ``DIR/failed/``);
2 the run could not start (bad manifest, options, scheduler, ...).
"""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("cohort", help="cohort manifests of public datasets; resumable feature extraction on Dask")
    csub = p.add_subparsers(dest="cohort_command", metavar="ACTION")
    e = csub.add_parser("extract", help="extract features for every patient of a manifest (resumable)",
                        description="Extract features for every manifest row, one Dask task per patient. "
                                    "Rerun the same command to resume: finished patients are skipped, "
                                    "failed ones retried.")
    e.add_argument("manifest", help="manifest CSV (patient_id, study, mask, ... split)")
    e.add_argument("--out", required=True, help="output folder (per-patient Parquet + features.parquet)")
    e.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    e.add_argument("--workers", type=int, default=2,
                   help="local worker processes (1 thread each) when no --scheduler is given (default 2)")
    e.add_argument("--only", help="text file with one feature name per line (default: all 11,238 features)")
    e.add_argument("--habitat-model", help="habitat model JSON (or a model bundle) to use instead of fitting "
                                           "one on the training rows")
    e.add_argument("--ring-width-mm", type=float, default=5.0, help="peritumoral ring width (default 5 mm)")
    e.set_defaults(func=run_extract)
    m = csub.add_parser("manifest", help="write the manifest of a downloaded public cohort (MAMA-MIA)",
                        description="Read a public cohort as downloaded and write the app's manifest: one row per "
                                    "patient with its phase files, mask, phase times, pCR, DFS and split. "
                                    "Patients whose files are missing are listed and left out.")
    m.add_argument("cohort", choices=("mama-mia",), help="which public cohort the folder holds")
    m.add_argument("root", help="the download's root folder (images/, segmentations/expert/, clinical table)")
    m.add_argument("--out", required=True, help="manifest CSV to write")
    m.add_argument("--subtype", default="triple_negative",
                   help="tumor_subtype to keep (default triple_negative; 'all' keeps every patient)")
    m.add_argument("--external", default="DUKE,ISPY1",
                   help="collections used as external validation (default DUKE,ISPY1; '' for none)")
    m.add_argument("--clinical", help="clinical table (default ROOT/clinical_and_imaging_info.xlsx)")
    m.add_argument("--strict", action="store_true", help="refuse when any patient's files are missing")
    m.set_defaults(func=run_manifest)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def read_names(path: str | None) -> list[str] | None:
    """Feature names, one per line ('#' comments and blank lines ignored); None when no file is given."""
    if not path:
        return None
    from tnbc_desktop.errors import InputError

    from tnbc_desktop.core.io.safe_files import read_bytes_limited

    try:
        lines = read_bytes_limited(path, what="the feature list").decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read the feature list: {getattr(exc, 'strerror', None) or exc}", path) from exc
    names = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not names:
        raise InputError("the feature list is empty", path)
    return names


def read_habitat_model(path: str | None) -> dict | None:
    """A habitat model dict from a JSON file holding the model itself, or from a model bundle (verified)."""
    if not path:
        return None
    from tnbc_desktop.core.habitats import HabitatModel
    from tnbc_desktop.errors import BundleError, InputError

    from tnbc_desktop.core.io.safe_json import read_json

    doc = read_json(path, InputError, what="the habitat model")
    if isinstance(doc, dict) and "habitat_model" in doc:  # a model bundle: verify it properly first
        from tnbc_desktop.core.bundle import load_bundle

        doc = load_bundle(path).habitat_model
    try:
        return HabitatModel.from_dict(doc, str(path)).to_dict()
    except BundleError as exc:
        raise InputError(f"not a valid habitat model: {exc.problem if hasattr(exc, 'problem') else exc}",
                         path) from exc


def run_manifest(args) -> int:
    from tnbc_desktop.core.cohorts.mamamia import build_manifest

    res = build_manifest(args.root, args.out, subtype=None if args.subtype.lower() == "all" else args.subtype,
                         external=[c for c in args.external.split(",") if c.strip()], clinical=args.clinical,
                         strict=args.strict)
    print(f"manifest: {res.path}")
    print("\n".join(res.summary_lines()))
    return 0


def run_extract(args) -> int:
    from tnbc_desktop.core.cohort import extract_cohort

    def show(p):
        print(p.line(), file=sys.stderr, flush=True)

    res = extract_cohort(args.manifest, args.out, scheduler=args.scheduler, n_workers=args.workers,
                         names=read_names(args.only), habitat_model=read_habitat_model(args.habitat_model),
                         ring_width_mm=args.ring_width_mm, progress=show)
    print(f"features: {res.table_path} ({res.n_patients} patients x {res.n_features} features; "
          f"{res.skipped} finished by an earlier run) in {res.elapsed_s:.1f} s")
    for pid, err in sorted(res.failed.items()):
        print(f"FAILED {pid}: {err}")
    if res.failed:
        print(f"{len(res.failed)} patient(s) failed; details in {Path(args.out) / 'failed'}; fix them and rerun "
              "the same command to retry only those", file=sys.stderr)
    return 0 if not res.failed else 1
