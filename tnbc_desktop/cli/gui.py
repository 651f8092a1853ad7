"""``tnbc-desktop gui``: open the desktop app (optionally load a case, analyse, screenshot and quit)."""
from __future__ import annotations

import argparse

from tnbc_desktop.cli.series_args import add_series_arguments, parse_series


def register(subparsers) -> None:
    p = subparsers.add_parser("gui", help="open the desktop application",
                              description="Open the desktop app. With --screenshot / --quit-after-load / --analyze it "
                                          "runs scripted: load, optionally analyse, save a PNG of the window, quit.")
    p.add_argument("--demo", action="store_true", help="open the synthetic demo patient")
    p.add_argument("--study", nargs="+", metavar="S", help="DICOM folder, 4D NIfTI/NRRD, or one 3D file per phase")
    p.add_argument("--mask", metavar="M", help="tumour mask (NIfTI/NRRD/DICOM-SEG)")
    p.add_argument("--mask-label", type=int, default=None)
    p.add_argument("--phase-times", type=float, nargs="+", metavar="SECONDS", default=None,
                   help="phase times in seconds from pre-contrast, when the files carry none")
    add_series_arguments(p)
    p.add_argument("--maf", default=None, help="mutation panel (MAF or CSV)")
    p.add_argument("--sample", default=None, help="Tumor_Sample_Barcode in a multi-sample MAF")
    p.add_argument("--ki67", default=None, help="Ki-67 percent")
    p.add_argument("--lvi", default=None, help="present / absent / unknown")
    p.add_argument("--bundle", default=None, help="model bundle JSON (default: shipped demo bundle)")
    p.add_argument("--screenshot", metavar="PNG", default=None, help="save a screenshot of the window, then quit")
    p.add_argument("--quit-after-load", action="store_true", help="quit once the case is loaded")
    p.add_argument("--analyze", action="store_true", help="run the analysis after loading, then quit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tnbc_desktop.errors import InputError

    inputs = None
    if args.study:
        if not args.mask:
            raise InputError("--study needs --mask (the tumour mask)")
        from tnbc_desktop.core.case import CaseInputs

        inputs = CaseInputs(study_source=args.study[0] if len(args.study) == 1 else tuple(args.study),
                            mask_path=args.mask, mask_label=args.mask_label,
                            phase_times_s=tuple(args.phase_times) if args.phase_times else None,
                            maf_path=args.maf, sample=args.sample, ki67=args.ki67, lvi=args.lvi,
                            bundle_path=args.bundle, series=parse_series(args.series),
                            allow_mixed_study=args.allow_mixed_study)
    from tnbc_desktop.gui.app import run_gui

    return run_gui(case_inputs=inputs, demo=args.demo, screenshot=args.screenshot,
                   quit_after_load=args.quit_after_load, analyze=args.analyze)
