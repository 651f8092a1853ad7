"""Build the one-folder frozen app with PyInstaller and smoke-test it.

Usage: python packaging/build.py [--dist DIR] [--work DIR] [--smoke]
Prints build time (s) and size (MiB); with --smoke runs the frozen ``--version`` and ``demo --no-gui``.
Needs ``pip install pyinstaller`` (the ``packaging`` extra).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def folder_size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def build(dist: Path, work: Path) -> tuple[Path, float]:
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
           "--distpath", str(dist), "--workpath", str(work), str(ROOT / "packaging" / "tnbc_desktop.spec")]
    subprocess.run(cmd, check=True, cwd=ROOT)
    return dist / "tnbc-desktop", time.perf_counter() - t0


def smoke(app_dir: Path, out: Path) -> None:
    exe = app_dir / ("tnbc-desktop.exe" if os.name == "nt" else "tnbc-desktop")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["TNBC_DESKTOP_HOME"] = str(out / "home")
    v = subprocess.run([str(exe), "--version"], capture_output=True, text=True, env=env, timeout=300)
    print(v.stdout)
    if v.returncode != 0:
        raise SystemExit(f"frozen --version failed: {v.stderr[-2000:]}")
    d = subprocess.run([str(exe), "demo", "--no-gui", "--out", str(out / "demo")], capture_output=True,
                       text=True, env=env, timeout=900)
    print(d.stdout[-3000:])
    if d.returncode != 0:
        raise SystemExit(f"frozen demo failed: {d.stderr[-3000:]}")
    pdfs = list((out / "demo").rglob("*.pdf"))
    if not pdfs:
        raise SystemExit("frozen demo wrote no PDF")
    print(f"frozen demo PDF: {pdfs[0]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dist", default=str(ROOT / "dist"))
    ap.add_argument("--work", default=None)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="tnbc-pyi-"))
    app_dir, seconds = build(Path(args.dist), work)
    print(f"build time: {seconds:.0f} s; size: {folder_size_mib(app_dir):.0f} MiB; folder: {app_dir}")
    if args.smoke:
        smoke(app_dir, Path(tempfile.mkdtemp(prefix="tnbc-frozen-")))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
