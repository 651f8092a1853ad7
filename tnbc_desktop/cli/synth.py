"""``tnbc-desktop synth patient|cohort``: write synthetic DCE-MRI patients with known ground truth."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from tnbc_desktop.errors import InputError


def _shape(text: str) -> tuple[int, int, int]:
    try:
        parts = tuple(int(p) for p in text.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape must be Z,Y,X integers, got {text!r}") from None
    if len(parts) != 3 or min(parts) < 8:
        raise argparse.ArgumentTypeError(f"shape must be three sizes of at least 8 voxels (Z,Y,X), got {text!r}")
    return parts  # type: ignore[return-value]


def register(subparsers) -> None:
    from tnbc_desktop.core.synthetic.patient import LAYOUTS

    p = subparsers.add_parser("synth", help="write synthetic test patients or cohorts (fake data, known truth)")
    sub = p.add_subparsers(dest="synth_command", metavar="WHAT", required=True)

    one = sub.add_parser("patient", help="one synthetic patient (DICOM or NIfTI study, masks, MAF, truth)")
    one.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    one.add_argument("--seed", type=int, default=0, help="random seed (same seed -> same patient)")
    one.add_argument("--layout", choices=LAYOUTS, default="per-phase",
                     help="per-phase DICOM (default), single-series DICOM, pre-post, enhanced, or nifti")
    one.add_argument("--phases", type=int, default=6, help="number of phases, 3-8 (pre + post every 90 s)")
    one.add_argument("--shape", type=_shape, default=(48, 192, 192), help="crop size Z,Y,X (default 48,192,192)")
    one.add_argument("--snr", type=float, default=30.0, help="fibroglandular S0 / noise sigma (default 30)")
    one.set_defaults(func=run_patient)

    many = sub.add_parser("cohort", help="N synthetic patients with manifest.csv and cohort_truth.csv")
    many.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    many.add_argument("--n", type=int, required=True, help="number of patients")
    many.add_argument("--seed", type=int, default=0, help="cohort seed")
    many.add_argument("--layout", choices=LAYOUTS, default="nifti", help="study layout (default nifti)")
    many.add_argument("--phases", type=int, default=6, help="number of phases, 3-8")
    many.add_argument("--shape", type=_shape, default=(32, 128, 128), help="crop size Z,Y,X (default 32,128,128)")
    many.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    many.set_defaults(func=run_cohort)


def run_patient(args) -> int:
    from tnbc_desktop.core.synthetic import make_patient, phase_times_for, write_patient

    if args.snr <= 0:
        raise InputError(f"--snr must be positive, got {args.snr:g}")
    start = time.perf_counter()
    patient = make_patient(args.seed, shape=args.shape, phase_times_s=phase_times_for(args.phases), snr=args.snr)
    files = write_patient(patient, args.out_dir, layout=args.layout)
    z, y, x = args.shape
    print(f"Synthetic patient (seed {args.seed}, not a real person) written to {files.root}")
    print(f"  study:          {files.study}  ({args.layout}, {args.phases} phases, {x}x{y}x{z} voxels, "
          f"times {', '.join(f'{t:g}' for t in patient.study.phase_times_s)} s)")
    print(f"  tumour mask:    {files.mask}  ({patient.mask.n_voxels} voxels, {patient.mask.volume_ml:.1f} ml)")
    print(f"  reader 2 mask:  {files.mask_reader2}")
    print(f"  habitat truth:  {files.habitats_truth}")
    print(f"  mutations:      {files.maf}  (sample {patient.sample_id}, {len(patient.maf_rows)} variants)")
    print(f"  pathology:      {files.clinical}")
    print(f"  ground truth:   {files.truth}")
    print(f"Done in {time.perf_counter() - start:.1f} s.")
    return 0


def run_cohort(args) -> int:
    from tnbc_desktop.core.synthetic import make_cohort, phase_times_for

    if args.n < 1:
        raise InputError(f"--n must be at least 1, got {args.n}")
    start = time.perf_counter()
    manifest = make_cohort(args.n, args.seed, args.out_dir, layout=args.layout, shape=args.shape,
                           phase_times_s=phase_times_for(args.phases), n_jobs=max(1, args.jobs))
    print(f"Synthetic cohort of {args.n} patients (seed {args.seed}) written to {manifest.parent}")
    print(f"  manifest:       {manifest}")
    print(f"  ground truth:   {manifest.parent / 'cohort_truth.csv'}")
    print(f"Done in {time.perf_counter() - start:.1f} s.")
    return 0
