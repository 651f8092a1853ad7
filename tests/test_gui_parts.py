"""GUI building blocks without a window: overlays, phase edits, session store, KM steps.

Oracles: the outline is checked against scipy.ndimage.binary_erosion (4-connected structuring element), an
independent implementation of "inside pixel with an outside 4-neighbour"; the Okabe-Ito RGB values are those
published by Okabe & Ito (2008) (e.g. blue 0,114,178; reddish purple 204,121,167).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest
from scipy import ndimage

from tnbc_desktop.errors import TimingError
from tnbc_desktop.gui.case_jobs import edit_phases
from tnbc_desktop.gui.km_view import step_xy
from tnbc_desktop.gui.overlays import OverlayCache, OverlayToggles, compute_layers, outline_2d
from tnbc_desktop.core.phase_times import validate_phase_times
from tnbc_desktop.gui.phase_table import checked_table_times
from tnbc_desktop.gui.session import SessionState, SessionStore
from tests.builders import hand_made_study


def test_outline_matches_scipy_erosion():
    rng = np.random.default_rng(1)
    m = ndimage.binary_opening(rng.random((40, 50)) > 0.4)
    cross = ndimage.generate_binary_structure(2, 1)
    expected = m & ~ndimage.binary_erosion(m, cross, border_value=0)
    assert np.array_equal(outline_2d(m), expected)
    assert not outline_2d(np.zeros((5, 5), bool)).any()


def test_fill_colours_are_okabe_ito_and_toggles_work():
    labels = np.zeros((1, 4, 4), np.uint8)
    labels[0, 1, 1], labels[0, 2, 2] = 1, 3
    ring = np.zeros((1, 4, 4), bool)
    ring[0, 0, 0] = True
    fill, outline = compute_layers(labels > 0, labels, ring, 0, OverlayToggles())
    assert tuple(fill[1, 1, :3]) == (0, 114, 178) and fill[1, 1, 3] == 255
    assert tuple(fill[2, 2, :3]) == (204, 121, 167)
    assert tuple(fill[0, 0, :3]) == (0, 158, 115) and 0 < fill[0, 0, 3] < 255
    assert fill[3, 3, 3] == 0
    fill2, outline2 = compute_layers(labels > 0, labels, ring, 0, OverlayToggles(ring=False, outline=False))
    assert fill2[0, 0, 3] == 0 and outline2 is None


def test_cache_returns_same_layers_as_uncached_and_invalidates_on_toggle():
    study, mask = hand_made_study()
    labels = mask.astype(np.uint8) * 2
    cache = OverlayCache(mask=mask, labels=labels)
    for z in (0, 6, 9):
        a, b = cache.layers(z), compute_layers(mask, labels, None, z, cache.toggles)
        assert all((x is None and y is None) or np.array_equal(x, y) for x, y in zip(a, b))
    first = cache.layers(6)
    assert cache.layers(6)[0] is first[0]  # cached
    cache.set_toggles(OverlayToggles(habitats=False))
    assert not cache.layers(6)[0][..., 3].any()


def test_phase_time_validation_messages():
    """The phase table applies the app's one rule set (times relative to the first kept phase) and needs three
    kept phases."""
    assert checked_table_times([0, 90, 180]) == (0.0, 90.0, 180.0)
    assert checked_table_times([10, 90, 180]) == validate_phase_times([10, 90, 180], 3) == (0.0, 80.0, 170.0)
    with pytest.raises(TimingError, match="increase"):
        checked_table_times([0, 180, 90])
    with pytest.raises(TimingError, match="at least 3"):
        checked_table_times([0, 90])


def test_edit_phases_reorders_and_drops():
    study, _ = hand_made_study(n_phases=5)
    edited = edit_phases(study, [0, 2, 3, 4], [0.0, 100.0, 200.0, 300.0])
    assert edited.n_phases == 4
    assert np.array_equal(edited.data[1], study.data[2])
    assert edited.phase_times_s == (0.0, 100.0, 200.0, 300.0)
    assert [p.index for p in edited.phases] == [0, 2, 3, 4]
    assert edited.timing_source.startswith("user")
    with pytest.raises(ValueError):
        edit_phases(study, [0, 0, 1], [0, 1, 2])


def test_session_round_trip_and_crash_detection(tmp_path):
    store = SessionStore(tmp_path)
    assert store.load() == (SessionState(), None)
    state = SessionState(study_source=["/x/study.nii.gz"], mask_path="/x/m.nii.gz", ki67="35", lvi="present",
                         phase_times_s=[0.0, 80.0, 170.0], maf_path="/x/a.maf", sample="S1")
    store.begin_run()
    store.save(state)
    assert store.previous_run_crashed()
    # the sample barcode is an identifier: it is stored only as a hash, matched against the MAF on restore
    hashed = "sha256:" + hashlib.sha256(b"S1").hexdigest()
    assert "S1" not in store.path.read_text()
    assert store.load() == (dataclasses.replace(state, sample=hashed), None)
    store.mark_clean_exit()
    assert not store.previous_run_crashed()
    assert json.loads(store.path.read_text())["schema_version"] == 1


@pytest.mark.parametrize("content", ["{not json", '{"study_source": "not-a-list"}', '["a"]',
                                     '{"phase_times_s": ["x"]}'])
def test_corrupt_session_is_set_aside(tmp_path, content):
    store = SessionStore(tmp_path)
    store.path.write_text(content)
    state, problem = store.load()
    assert state == SessionState()
    assert problem and "could not be read" in problem
    assert not store.path.exists()
    assert len(list(tmp_path.glob("session.json.corrupt-*"))) == 1


def test_recent_cases_most_recent_first(tmp_path):
    store = SessionStore(tmp_path)
    store.add_recent(["/a"], None)
    store.add_recent(["/b"], "/m")
    store.add_recent(["/a"], None)
    assert [r["study_source"] for r in store.recent_cases()] == [["/a"], ["/b"]]


def test_km_step_polyline():
    x, y = step_xy([10.0, 30.0], [0.9, 0.7])
    # (0,1) -> (10,1) drop to (10,0.9) -> (30,0.9) drop to (30,0.7)
    assert list(x) == [0.0, 10.0, 10.0, 30.0, 30.0]
    assert list(y) == [1.0, 1.0, 0.9, 0.9, 0.7]
