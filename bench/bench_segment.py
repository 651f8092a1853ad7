"""Speed of the mask tools on a 96x512x512 synthetic study (6 phases, 2 x 0.7 x 0.7 mm).

Run: ``QT_QPA_PLATFORM=offscreen python bench/bench_segment.py [--repeats 3]``. Prints, with ratios to
baselines measured in the same run:

1. seed -> mask (``segment_lesion``, cold: tissue floor, PE box, region, shape, checks), target <= 1 s; and a
   threshold change on the same seed (the live preview; PE box cached). Baselines: copying the early phase
   (reading it) and computing PE over the whole early phase with numpy (what a whole-volume method costs).
2. brush-stroke redraw in the real main window: one dab of a 3 mm brush through the controller (editor
   update + overlay of the shown slice + repaint), target <= 30 ms. Baseline: a slice change (set_slice +
   repaint) in the same window.
Times are medians of ``--repeats`` runs (dabs: of 40); the machine may be loaded, so compare the ratios.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def bench_seed(study, seed_xyz, repeats: int) -> None:
    from tnbc_desktop.core.segmentation import LesionSegmenter, SegmentationRequest, segment_lesion

    early = 1
    t_copy, _ = timed(lambda: np.array(study.data[early], copy=True), repeats)

    def whole_pe():
        s0 = study.data[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return 100.0 * (study.data[early] - s0) / s0

    t_pe, _ = timed(whole_pe, repeats)
    t_seed, result = timed(lambda: segment_lesion(study, SegmentationRequest(seed_xyz=seed_xyz)), repeats)
    seg = LesionSegmenter(study)
    seg.segment(SegmentationRequest(seed_xyz=seed_xyz))
    levels = iter([75.0, 80.0, 85.0, 90.0, 95.0] * repeats)
    t_thr, _ = timed(lambda: seg.segment(SegmentationRequest(seed_xyz=seed_xyz, threshold_pe=next(levels))), repeats)
    print(f"baseline copy early phase      {1000 * t_copy:8.1f} ms")
    print(f"baseline whole-volume PE       {1000 * t_pe:8.1f} ms")
    print(f"seed -> mask (cold)            {1000 * t_seed:8.1f} ms  = {t_seed / t_copy:5.1f}x copy, "
          f"{t_seed / t_pe:5.2f}x whole-volume PE  (target <= 1000 ms; mask {result.mask.volume_ml:.1f} ml)")
    print(f"threshold change (preview)     {1000 * t_thr:8.1f} ms  = {t_thr / t_copy:5.1f}x copy")


def bench_brush(study, seed_xyz, n: int = 40) -> None:
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    import tempfile

    from tnbc_desktop.gui.app import create_window
    from tnbc_desktop.gui.session import SessionState, SessionStore

    app = QApplication.instance() or QApplication([])
    window, _ = create_window(SessionStore(tempfile.mkdtemp(prefix="bench_segment_")))  # no restore prompt
    window.resize(1600, 980)
    window.show()
    view = window.viewer.view
    window.viewer.set_study(study, early_phase=1)
    seg = window.segmentation
    seg.attach(SimpleNamespace(study=study, mask=None), SessionState())
    x0, y0, z0 = seed_xyz
    view.set_slice(z0)
    seg.set_tool("paint")
    sy, sx = study.spacing_mm[1], study.spacing_mm[2]

    def scene(y, x):
        return view.box.mapViewToScene(QPointF((x + 0.5) * sx, (y + 0.5) * sy))

    app.processEvents()
    dab_times, slice_times = [], []
    seg.tool_press(scene(y0, x0))
    for i in range(n):
        pos = scene(y0 + (i % 20), x0 + 2 * i)
        t0 = time.perf_counter()
        seg.tool_move(pos)
        view.graphics.viewport().repaint()
        app.processEvents()
        dab_times.append(time.perf_counter() - t0)
    seg.tool_release(scene(y0, x0))
    for i in range(n):
        t0 = time.perf_counter()
        view.set_slice(z0 + (1 if i % 2 == 0 else 0))
        view.graphics.viewport().repaint()
        app.processEvents()
        slice_times.append(time.perf_counter() - t0)
    d, s = statistics.median(dab_times), statistics.median(slice_times)
    p90 = sorted(dab_times)[int(0.9 * (len(dab_times) - 1))]
    print(f"baseline slice change redraw   {1000 * s:8.1f} ms")
    print(f"brush dab redraw               {1000 * d:8.1f} ms  (p90 {1000 * p90:.1f} ms) = {d / s:5.2f}x slice "
          f"change  (target <= 30 ms; mask {seg.editor.volume_ml:.2f} ml)")
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shape", default="96,512,512", help="z,y,x voxels")
    args = parser.parse_args()
    from scipy import ndimage

    from tnbc_desktop.core.synthetic import make_patient

    shape = tuple(int(v) for v in args.shape.split(","))
    t0 = time.perf_counter()
    patient = make_patient(7, shape=shape, spacing_mm=(2.0, 0.7, 0.7))
    print(f"synthetic study {shape} x {patient.study.n_phases} phases made in {time.perf_counter() - t0:.1f} s")
    depth = ndimage.distance_transform_edt(patient.habitat_truth == 3)
    z, y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    seed = (int(x), int(y), int(z))
    print(f"load average before: {os.getloadavg()[0]:.1f} (2-core machine shared with other jobs)")
    bench_seed(patient.study, seed, args.repeats)
    bench_brush(patient.study, seed)


if __name__ == "__main__":
    main()
