"""Slice-change redraw time of the viewer with all overlays on (256x256 slices), cached vs recomputed overlays;
phase changes with the sagittal/coronal reformats against the axial view alone; MIP first vs cached.

Run: ``QT_QPA_PLATFORM=offscreen python bench/bench_gui.py``. Prints the median and 90th percentile per slice
change (set_slice + synchronous repaint of the view) for: (a) cached RGBA overlays (the app) and (b) the
baseline, overlays recomputed from scratch on every slice change, measured in the same run. Target <= 30 ms.
Then the cost of a phase change that redraws both reformats as a ratio to the axial view alone, and a MIP
phase change that computes the projection against one that finds it in the cache (same run).
"""
from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def build_case(nz=48, ny=256, nx=256, n_phases=6):
    from tnbc_desktop.core.study import DCEStudy, Geometry, PhaseInfo

    rng = np.random.default_rng(0)
    data = rng.normal(500, 40, (n_phases, nz, ny, nx)).astype(np.float32)
    zz, yy, xx = np.mgrid[:nz, :ny, :nx]
    r = np.sqrt(((zz - nz / 2) * 2.0) ** 2 + ((yy - ny / 2) * 0.7) ** 2 + ((xx - nx / 2) * 0.7) ** 2)
    mask = r < 30
    ring = (r >= 30) & (r < 35)
    labels = np.zeros(mask.shape, np.uint8)
    labels[mask] = 1 + (xx[mask] > nx / 2) + (yy[mask] > ny / 2)
    times = tuple(90.0 * i for i in range(n_phases))
    study = DCEStudy(data, times, Geometry((nz, ny, nx), (2.0, 0.7, 0.7)),
                     tuple(PhaseInfo(i, t, "user") for i, t in enumerate(times)), "bench", "user", "bench")
    return study, mask, labels, ring


def time_slice_changes(panel, app, zs, recompute: bool) -> list[float]:
    view = panel.view
    out = []
    for z in zs:
        if recompute:
            view.overlays._cache.clear()
        t0 = time.perf_counter()
        view.set_slice(int(z))
        view.graphics.viewport().repaint()
        app.processEvents()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    app = QApplication.instance() or QApplication([])
    from tnbc_desktop.gui.viewer_panel import ViewerPanel

    study, mask, labels, ring = build_case()
    panel = ViewerPanel()
    panel.resize(900, 900)
    panel.show()
    panel.set_study(study, early_phase=1)
    panel.view.set_overlays(mask=mask, labels=labels, ring=ring)
    app.processEvents()
    nz = study.data.shape[1]
    zs = [z % nz for z in range(12, 12 + 3 * nz)]
    time_slice_changes(panel, app, zs[:nz], recompute=False)  # warm-up: fills the cache once
    cached = time_slice_changes(panel, app, zs, recompute=False)
    baseline = time_slice_changes(panel, app, zs, recompute=True)

    def stats(v):
        v = sorted(v)
        return statistics.median(v) * 1000, v[int(0.9 * (len(v) - 1))] * 1000

    (cm, c90), (bm, b90) = stats(cached), stats(baseline)
    print(f"slice change, 256x256, all overlays on, {len(zs)} changes (machine shared: timings are noisy)")
    print(f"  baseline (overlays recomputed each time): median {bm:.1f} ms, p90 {b90:.1f} ms")
    print(f"  cached RGBA overlays (the app):           median {cm:.1f} ms, p90 {c90:.1f} ms")
    print(f"  speed-up (median): {bm / cm:.2f}x; target <= 30 ms median: {'met' if cm <= 30 else 'NOT met'}")
    time_reformats_and_mip(panel, app, study.n_phases, stats)
    panel.close()


def time_phase_changes(panel, app, phases) -> list[float]:
    out = []
    for p in phases:
        t0 = time.perf_counter()
        panel.view.set_phase(int(p))
        panel.views.repaint()
        app.processEvents()
        out.append(time.perf_counter() - t0)
    return out


def time_reformats_and_mip(panel, app, n_phases: int, stats) -> None:
    phases = [p % n_phases for p in range(1, 1 + 4 * n_phases)]
    three = time_phase_changes(panel, app, phases)
    panel.layout_combo.setCurrentIndex(panel.layout_combo.findData("1"))
    for view in panel.view.reformats:  # the axial view alone: the reformats are not drawn at all
        view.redraw = lambda: None
    axial = time_phase_changes(panel, app, phases)
    (tm, _), (am, _) = stats(three), stats(axial)
    print(f"phase change, axial + sagittal + coronal: median {tm:.1f} ms; axial only: {am:.1f} ms "
          f"(reformats cost {tm / am:.2f}x the axial view alone)")
    panel.view.set_mode("mip")
    first = time_phase_changes(panel, app, range(n_phases))  # each phase's MIP computed once
    cached = time_phase_changes(panel, app, range(n_phases))
    (fm, _), (cm, _) = stats(first), stats(cached)
    print(f"MIP phase change: computed median {fm:.1f} ms, cached {cm:.1f} ms ({fm / cm:.1f}x)")


if __name__ == "__main__":
    main()
