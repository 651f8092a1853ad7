"""``tnbc-desktop features STUDY --mask MASK [--phase-times S ...] [--only NAMES_FILE] [--bundle B] [--jobs N]
--out FILE.csv|.json``.

Steps: load the study and the tumour mask, then the imaging chain ``analyze`` runs
(:func:`tnbc_desktop.core.imaging_chain.run_imaging_chain`): kinetic maps, habitats, peritumoral ring, MSI and the
radiomics features, with the bundle's extraction settings and population habitat model when ``--bundle`` is
given (else the defaults: shipped parameter file, 5 mm ring, 2D-8 MSI, per-patient k-means habitats). All
11,238 names, or only those listed in ``--only`` (one name per line; blank lines and ``#`` comments ignored).
Output, written atomically: CSV ``name,value`` (not computable names get an empty value) or JSON
``{values, not_computable, params_sha256, timings_s, notes, habitat_fractions}``.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import replace
from pathlib import Path

from tnbc_desktop.cli.series_args import add_series_arguments, parse_series
from tnbc_desktop.core.phase_times import parse_phase_times
from tnbc_desktop.errors import ConfigError, OutputError

OUTPUT_SUFFIXES = (".csv", ".json")


def register(sub) -> None:
    p = sub.add_parser("features", help="extract radiomics / kinetic / MSI features of one study to CSV or JSON")
    p.add_argument("study", nargs="+", help="DICOM folder or file(s), 4D NIfTI/NRRD, or one 3D file per phase")
    p.add_argument("--mask", required=True, help="tumour mask (NIfTI/NRRD/DICOM SEG) on the study grid")
    p.add_argument("--mask-label", type=int, default=None, help="label value of the tumour in a multi-label mask")
    p.add_argument("--phase-times", nargs="+", metavar="S", help="phase times in seconds from the pre-contrast "
                   "phase (e.g. 0 90 180 or 0,90,180), if the files do not give them")
    p.add_argument("--only", metavar="NAMES_FILE", help="text file with the feature names to extract, one per line")
    p.add_argument("--bundle", help="model bundle whose habitat model and extraction settings to use")
    p.add_argument("--params", help="pyradiomics parameter file (default: the bundle's, else the shipped one)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes for the extraction (default 1)")
    add_series_arguments(p)
    p.add_argument("--out", required=True, help="output file: .csv (name,value) or .json")
    p.set_defaults(func=run)


def read_names_file(path: str | Path) -> list[str]:
    """Feature names from a text file (one per line; blank lines and ``#`` comments skipped)."""
    p = Path(path)
    from tnbc_desktop.core.io.safe_files import read_bytes_limited

    try:
        text = read_bytes_limited(p, error=ConfigError, what="the feature-name list").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read the feature-name list ({getattr(exc, 'strerror', None) or exc})", p) from None
    names = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    names = [n for n in names if n]
    if not names:
        raise ConfigError("the feature-name list is empty", p)
    return names


def feature_document(fs, habitat_fractions=None) -> dict:
    """JSON-able form of a :class:`FeatureSet` (with the habitat fractions H1..H3 when given)."""
    doc = {"values": fs.values, "not_computable": fs.not_computable, "params_sha256": fs.params_sha256,
           "timings_s": fs.timings_s, "notes": list(fs.notes)}
    if habitat_fractions is not None:
        doc["habitat_fractions"] = [float(f) for f in habitat_fractions]
    return doc


def feature_csv(fs) -> str:
    """``name,value`` rows (values with full precision; not computable names with an empty value)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", "value"])
    for name, value in fs.values.items():
        w.writerow([name, repr(float(value))])
    for name in fs.not_computable:
        w.writerow([name, ""])
    return buf.getvalue()


def run(args) -> int:
    from tnbc_desktop.core.bundle_settings import default_extraction
    from tnbc_desktop.core.features import parse_feature_name
    from tnbc_desktop.core.features.params import load_params
    from tnbc_desktop.core.imaging_chain import run_imaging_chain
    from tnbc_desktop.core.io.atomic import write_text_atomic
    from tnbc_desktop.core.io.masks import load_mask
    from tnbc_desktop.core.io.study_loader import load_study

    out = Path(args.out)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise OutputError(f"the output must end in .csv or .json (got '{out.suffix or 'no suffix'}')", out)
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1 (got {args.jobs})")
    names = read_names_file(args.only) if args.only else None
    habitat_model, settings = None, default_extraction()
    if args.bundle:
        from tnbc_desktop.core.bundle import load_bundle

        bundle = load_bundle(args.bundle)
        habitat_model, settings = bundle.habitat, bundle.settings
    if args.params:
        settings = replace(settings, params=load_params(args.params))
    if names is not None:  # refuse unknown names before the slow steps
        itypes = settings.params.image_type_names()
        for n in names:
            parse_feature_name(n, itypes)
    src = args.study[0] if len(args.study) == 1 else [Path(s) for s in args.study]
    study = load_study(src, phase_times_s=parse_phase_times(args.phase_times), series=parse_series(args.series),
                       allow_mixed_study=args.allow_mixed_study)
    mask = load_mask(args.mask, study.geometry, label=args.mask_label)
    chain = run_imaging_chain(study, mask.array, settings, habitat_model, names, n_jobs=int(args.jobs))
    fs = chain.feature_set
    text = feature_csv(fs) if out.suffix.lower() == ".csv" else \
        json.dumps(feature_document(fs, chain.habitats.fractions), indent=1) + "\n"
    try:
        write_text_atomic(out, text)
    except OSError as exc:
        raise OutputError(f"cannot write the features ({exc.strerror or exc})", out) from None
    print(f"{len(fs.values)} feature(s) written to {out}; {len(fs.not_computable)} not computable; "
          f"{fs.timings_s.get('total', 0.0):.1f} s", file=sys.stderr)
    return 0
