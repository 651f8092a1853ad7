"""``tnbc-desktop demo``: make (or reuse) the synthetic demo patient as a real DICOM study, analyse it with
the demo bundle, write the PDF report, and open the GUI when a display is available (unless ``--no-gui``)."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from tnbc_desktop.core.case import CaseInputs
from tnbc_desktop.core.io.atomic import write_text_atomic

from tnbc_desktop.core.synthetic.demo_patient import DEMO_SEED

DEFAULT_OUT = "tnbc_demo_output"
MARKER = "demo_patient.json"
_PATIENT_VERSION = 2  # bump when the demo patient recipe changes, so cached copies are remade


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the synthetic demo case end to end (DICOM -> PDF)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT})")
    p.add_argument("--no-gui", action="store_true", help="do not open the desktop window")
    p.add_argument("--seed", type=int, default=DEMO_SEED, help="synthetic patient seed")
    p.add_argument("--bundle", help="model bundle JSON (default: the shipped demo bundle)")
    p.add_argument("--deidentify", action="store_true", help="de-identified report")
    p.set_defaults(func=run)


def ensure_demo_patient(out_dir: Path, seed: int = DEMO_SEED):
    """The demo patient's files under ``out_dir/patient`` (written once; reused when the seed matches)."""
    from tnbc_desktop.core.synthetic import PatientFiles, make_demo_patient, write_patient

    root = out_dir / "patient"
    marker = out_dir / MARKER
    if marker.exists():
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        files = {k: Path(v) for k, v in (info.get("files") or {}).items()}
        current = info.get("seed") == seed and info.get("version") == _PATIENT_VERSION
        if current and files and all(p.exists() for p in files.values()):
            return PatientFiles(**files), True
        shutil.rmtree(root, ignore_errors=True)  # our own earlier demo patient (marker present): replace it
    patient = make_demo_patient(seed)
    files = write_patient(patient, root, layout="per-phase")
    info = {"seed": seed, "version": _PATIENT_VERSION, "layout": "per-phase",
            "files": {k: str(getattr(files, k)) for k in files.__dataclass_fields__},
            "ki67_percent": patient.ki67_percent, "lvi": bool(patient.lvi)}
    write_text_atomic(marker, json.dumps(info, indent=1) + "\n")
    return files, False


def _demo_pathology(out_dir: Path) -> tuple[str | None, str | None]:
    try:
        info = json.loads((out_dir / MARKER).read_text(encoding="utf-8"))
        return f"{float(info['ki67_percent']):g}", "present" if info["lvi"] else "absent"
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def display_available() -> bool:
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(args) -> int:
    from tnbc_desktop.cli.analyze import ProgressPrinter, summary_lines, warn_history
    from tnbc_desktop.core.case_run import analyze_report_record
    from tnbc_desktop.core.pipeline import resolve_bundle

    bundle = resolve_bundle(args.bundle, CaseInputs(study_source="", mask_path="", bundle_path=args.bundle))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    files, reused = ensure_demo_patient(out_dir, args.seed)
    print(("reusing" if reused else "wrote") + f" the synthetic demo patient (seed {args.seed}) in {files.root}")
    ki67, lvi = _demo_pathology(out_dir)
    inputs = CaseInputs(study_source=files.study, mask_path=files.mask, maf_path=files.maf, ki67=ki67, lvi=lvi,
                        bundle_path=args.bundle, deidentify=args.deidentify, case_label="synthetic demo")
    done = analyze_report_record(inputs, bundle, progress=ProgressPrinter(), pdf=out_dir / "demo_report.pdf")
    print("\n".join(summary_lines(done.result)))
    print(f"report: {done.report_path.resolve()}")
    warn_history(done)
    if args.no_gui:
        return 0
    if not display_available():
        print("no display available: the GUI was not opened (use --no-gui to silence this)")
        return 0
    try:
        from tnbc_desktop.gui.app import run_gui
    except ImportError as exc:
        print(f"the GUI is unavailable in this installation ({exc})")
        return 0
    import inspect

    extra = {"analyze": True} if "analyze" in inspect.signature(run_gui).parameters else {}
    return int(run_gui(case_inputs=inputs, **extra) or 0)
