"""MaskEditor (core.segmentation.editor): brush in mm, strokes as undo steps, fill, clear, >= 20 undo steps,
live volume, provenance of edits - all without Qt."""
from __future__ import annotations

import numpy as np

from tnbc_desktop.core.segmentation import MaskOrigin, MaskProvenance
from tnbc_desktop.core.segmentation.editor import MaskEditor

SHAPE, SPACING = (10, 60, 60), (2.0, 0.5, 0.5)


def _ball_count(r_mm, spacing, flat):
    half = [0 if flat and a == 0 else int(r_mm // s) for a, s in enumerate(spacing)]
    g = np.ogrid[tuple(slice(-h, h + 1) for h in half)]
    return int(np.count_nonzero(sum((gi * s) ** 2 for gi, s in zip(g, spacing)) <= r_mm ** 2))


def test_brush_is_a_disc_or_ball_in_millimetres_and_volume_follows():
    ed = MaskEditor(SHAPE, SPACING)
    ed.dab((5, 30, 30), 3.0, mode="slice")
    assert ed.array[5].sum() == _ball_count(3.0, SPACING, flat=True) and not ed.array[4].any()
    assert ed.n_voxels == ed.array.sum()
    assert abs(ed.volume_ml - ed.array.sum() * 0.5 * 0.5 * 2.0 / 1000) < 1e-12
    ed.dab((5, 30, 30), 3.0, mode="sphere", erase=True)
    assert not ed.array.any() and ed.n_voxels == 0
    ed.dab((5, 30, 30), 4.0, mode="sphere")
    assert ed.array[[3, 4, 6, 7]].any() and not ed.array[[2, 8]].any()  # 4 mm = 2 slices of 2 mm
    assert ed.array.sum() == _ball_count(4.0, SPACING, flat=False)


def test_stroke_is_one_undo_step_and_undo_redo_restore_exactly():
    ed = MaskEditor(SHAPE, SPACING)
    ed.dab((2, 10, 10), 2.0)
    first = ed.array.copy()
    ed.begin_stroke()
    for x in range(10, 40, 2):
        ed.dab((5, 30, x), 2.0)
    ed.end_stroke()
    stroked = ed.array.copy()
    assert ed.undo() is not None and np.array_equal(ed.array, first)
    assert ed.n_voxels == first.sum()
    assert ed.redo() is not None and np.array_equal(ed.array, stroked)
    ed.undo()
    ed.undo()
    assert not ed.array.any() and ed.undo() is None


def test_at_least_20_undo_steps():
    ed = MaskEditor(SHAPE, SPACING)
    states = [ed.array.copy()]
    for i in range(25):
        ed.dab((i % 10, 5 + 2 * i, 30), 1.0)
        states.append(ed.array.copy())
    for i in range(25):
        ed.undo()
        assert np.array_equal(ed.array, states[-2 - i]), i
    for _ in range(25):
        ed.redo()
    assert np.array_equal(ed.array, states[-1])
    ed.undo()
    ed.dab((0, 0, 0), 1.0)  # a new edit drops the redo history
    assert not ed.can_redo


def test_fill_encloses_only_holes_and_clear_slice():
    ed = MaskEditor(SHAPE, SPACING)
    ring = np.zeros(SHAPE[1:], bool)
    ring[20:40, 20:40] = True
    ring[23:37, 23:37] = False
    ed.replace(np.broadcast_to(ring, SHAPE).copy(), MaskProvenance(origin=MaskOrigin.DRAWN))
    assert ed.fill((4, 2, 2)) is None  # background touching the border: refused
    assert ed.fill((4, 30, 30)) is not None
    assert ed.array[4, 23:37, 23:37].all() and not ed.array[5, 30, 30]
    ed.clear_slice(4)
    assert not ed.array[4].any() and ed.array[5].any()
    ed.undo()
    assert ed.array[4, 30, 30]


def test_provenance_counts_edits_on_an_accepted_semi_automatic_mask_and_undo_restores_it():
    semi = MaskProvenance(origin=MaskOrigin.SEMI_AUTOMATIC, seed_xyz=(30, 30, 5), threshold_pe=70.0)
    ed = MaskEditor(SHAPE, SPACING)
    accepted = np.zeros(SHAPE, bool)
    accepted[4:6, 25:35, 25:35] = True
    ed.replace(accepted, semi)
    assert ed.provenance == semi
    ed.dab((5, 10, 10), 1.5)
    assert ed.provenance.origin is MaskOrigin.EDITED and ed.provenance.based_on == semi
    assert ed.provenance.n_edits == 1
    ed.undo()
    assert ed.provenance == semi and np.array_equal(ed.array, accepted)
    ed.undo()  # undo the accept itself
    assert not ed.array.any() and ed.provenance.origin is MaskOrigin.DRAWN


def test_overlay_region_update_equals_a_full_recompute():
    """The brush redraw recomputes only the changed box of the slice's overlay; it must match a full redraw."""
    from tnbc_desktop.gui.overlays import OverlayCache, compute_layers

    ed = MaskEditor(SHAPE, SPACING)
    ed.dab((5, 30, 30), 4.0)
    cache = OverlayCache(mask=ed.array)
    cache.layers(5)
    for centre, erase in (((5, 33, 36), False), ((5, 30, 27), True), ((5, 1, 1), False)):
        box = ed.dab(centre, 2.0, erase=erase)
        cache.update_region(5, box[1], box[2])
        fill, outline = cache.layers(5)
        full_fill, full_outline = compute_layers(ed.array, None, None, 5, cache.toggles)
        assert np.array_equal(fill, full_fill) and np.array_equal(outline, full_outline)
