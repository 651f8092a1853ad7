"""``tnbc-desktop segment STUDY --seed X,Y,Z [--box X0,Y0,Z0,X1,Y1,Z1] [--threshold PE] --out MASK``.

Runs the app's semi-automatic lesion segmentation (:mod:`tnbc_desktop.core.segmentation.lesion`) and saves
the mask as NIfTI / NRRD or, with a ``.dcm`` name, as a DICOM-SEG referencing the early-phase images.
X, Y, Z are voxel indices (column, row, slice; from 0), as the viewer's status bar shows them.
"""
from __future__ import annotations

import json

from tnbc_desktop.errors import SegmentationError


def parse_ints(text: str, n: int, option: str) -> tuple[int, ...]:
    """'12,34,5' -> (12, 34, 5); exactly ``n`` integers or a :class:`SegmentationError` naming the option."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != n:
        raise SegmentationError(f"{option} needs {n} comma-separated voxel indices, got {text!r}")
    return values


def register(sub) -> None:
    from tnbc_desktop.core.segmentation.lesion import DEFAULT_THRESHOLD_PE

    p = sub.add_parser("segment", help="semi-automatic tumour mask from a seed point (NIfTI or DICOM-SEG)")
    p.add_argument("study", help="DICOM folder, 4D NIfTI/NRRD, or comma-separated 3D files per phase")
    p.add_argument("--seed", required=True, help="seed voxel X,Y,Z (column, row, slice; from 0)")
    p.add_argument("--box", help="search box X0,Y0,Z0,X1,Y1,Z1 (inclusive voxel indices; default 10 cm cube)")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD_PE,
                   help=f"lesion core percent enhancement on the early phase (default {DEFAULT_THRESHOLD_PE:g})")
    p.add_argument("--phase-times", help="phase times in seconds, comma-separated (when the files carry none)")
    p.add_argument("--out", required=True, help="mask file: .nii.gz / .nii / .nrrd, or .dcm for a DICOM-SEG")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run)


def run(args) -> int:
    from tnbc_desktop.cli.inspect_cmd import parse_study_source
    from tnbc_desktop.core.phase_times import parse_phase_times
    from tnbc_desktop.core.io.study_loader import load_study
    from tnbc_desktop.core.segmentation import SegmentationRequest, segment_lesion
    from tnbc_desktop.core.segmentation.save import save_mask

    seed = parse_ints(args.seed, 3, "--seed")
    box = parse_ints(args.box, 6, "--box") if args.box else None
    study = load_study(parse_study_source(args.study), phase_times_s=parse_phase_times(args.phase_times))
    result = segment_lesion(study, SegmentationRequest(seed_xyz=seed, box_xyz=box, threshold_pe=args.threshold))
    provenance = save_mask(result.mask.array, study, args.out, result.provenance)
    summary = {"out": str(args.out), "voxels": result.mask.n_voxels, "volume_ml": result.mask.volume_ml,
               "provenance": provenance.to_dict(), "description": provenance.describe()}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"mask: {result.mask.n_voxels} voxels, {result.mask.volume_ml:.2f} ml -> {args.out}")
        print(f"provenance: {provenance.describe()}")
    return 0
