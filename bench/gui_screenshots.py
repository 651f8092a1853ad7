"""Launch the real app under Xvfb, open the demo patient, analyse it and save screenshots of the window.

Run: ``python bench/gui_screenshots.py [--out DIR] [--bundle B]`` (re-executes itself under ``xvfb-run`` when
no DISPLAY is set). Writes ``DIR/01_loaded.png`` (case loaded) and ``DIR/02_analysed.png`` (after the analysis)
using the same scripted mode as ``tnbc-desktop gui --demo [--analyze] --screenshot PNG``. Without a shipped
bundle in ``models/`` it uses the tiny stand-in bundle from ``tests/builders.py`` (say so in captions).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def default_bundle(out: Path) -> str:
    shipped = sorted((REPO / "models").glob("*.json"))
    if shipped:
        return str(shipped[0])
    sys.path.insert(0, str(REPO))
    from tests.builders import make_test_bundle

    print("no shipped bundle in models/: using the tiny stand-in test bundle")
    return str(make_test_bundle(out / "standin_bundle.json"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(REPO / "bench" / "screenshots"))
    ap.add_argument("--bundle", default=None)
    args = ap.parse_args()
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        xvfb = shutil.which("xvfb-run")
        if xvfb:
            return subprocess.call([xvfb, "-a", "-s", "-screen 0 1920x1200x24", sys.executable, *sys.argv])
        print("xvfb-run not found: falling back to the offscreen platform")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bundle = args.bundle or default_bundle(out)
    home = out / "home"
    env = dict(os.environ, TNBC_DESKTOP_HOME=str(home))
    # The demo command passes the shipped bundle; here the bundle is given through a session file.
    sys.path.insert(0, str(REPO))
    os.environ["TNBC_DESKTOP_HOME"] = str(home)
    from tnbc_desktop.gui.session import SessionState, SessionStore

    store = SessionStore(home)
    store.save(SessionState(bundle_path=bundle))
    store.mark_clean_exit()
    for name, extra in (("01_loaded.png", []), ("02_analysed.png", ["--analyze"])):
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "tnbc_desktop", "gui", "--demo", *extra, "--screenshot", str(out / name)]
        rc = subprocess.call(cmd, env=env, cwd=REPO)
        print(f"{name}: exit {rc}, {time.perf_counter() - t0:.1f} s")
        if rc != 0:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
