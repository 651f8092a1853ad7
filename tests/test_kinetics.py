"""Kinetic maps (SPEC section 2) against closed-form values computed by hand in the test.

Oracle: the expected numbers are written out from the SPEC formulas for hand-chosen signals, e.g. S0=100,
S1=250, S2=200 at 0, 2, 6 min -> PE = 150 %, PE2 = 100 %, SER = 1.5, WIS = 75 %/min, WOS = 12.5 %/min
(absolute: WIS = 75 /min, WOS = 12.5 /min because S0 = 100).
"""
from __future__ import annotations

import numpy as np
import pytest

from tnbc_desktop.core.kinetics import KineticSettings, compute_kinetic_maps, select_early_late
from tnbc_desktop.errors import MaskError, TimingError
from tests.builders import curves_study




TIMES = (0.0, 120.0, 360.0)  # 0, 2, 6 min


def test_closed_form_relative_and_absolute():
    curves = [[100, 250, 200],   # wash-out: PE 150, PE2 100, SER 1.5, WIS 75, WOS 12.5
              [200, 300, 400],   # persistent: PE 50, PE2 100, SER 0.5, WIS 25, WOS -12.5
              [50, 100, 100],    # plateau: PE 100, PE2 100, SER 1, WIS 50, WOS 0
              [100, 100, 100],   # no enhancement: PE 0, PE2 0 -> SER clipped to 0 (PE1 = 0)
              [100, 180, 100.5],  # PE2 = 0.5 % < 1 % -> SER = +clip
              [100, 180, 99.5]]  # PE2 = -0.5 % -> SER = -clip (sign kept)
    study = curves_study(curves, TIMES)
    mask = np.ones((1, 2, 3), bool)
    rel = compute_kinetic_maps(study, mask, KineticSettings(early_phase=1, ser_clip=4.0))
    pe = rel.pe.ravel()
    np.testing.assert_allclose(pe, [150, 50, 100, 0, 80, 80], rtol=1e-6)
    np.testing.assert_allclose(rel.ser.ravel(), [1.5, 0.5, 1.0, 0.0, 4.0, -4.0], rtol=1e-6)
    np.testing.assert_allclose(rel.wis.ravel(), [75, 25, 50, 0, 40, 40], rtol=1e-6)
    np.testing.assert_allclose(rel.wos.ravel(), [12.5, -12.5, 0, 0, (80 - 0.5) / 4, (80 + 0.5) / 4], rtol=1e-5)
    assert rel.n_ser_clipped == 3 and rel.n_invalid == 0
    assert (rel.early_phase, rel.late_phase) == (1, 2)

    ab = compute_kinetic_maps(study, mask, KineticSettings(slopes="absolute", early_phase=1, ser_clip=4.0))
    np.testing.assert_allclose(ab.wis.ravel(), [75, 50, 25, 0, 40, 40], rtol=1e-6)  # (S1-S0)/2 min
    np.testing.assert_allclose(ab.wos.ravel(), [12.5, -25, 0, 0, 79.5 / 4, 80.5 / 4], rtol=1e-5)
    np.testing.assert_allclose(ab.pe, rel.pe)
    np.testing.assert_allclose(ab.ser, rel.ser)


def test_relative_slopes_are_gain_invariant_absolute_are_not():
    rng = np.random.default_rng(1)
    curves = rng.uniform(50, 400, size=(6, 3))
    a, b = curves_study(curves, TIMES), curves_study(3.0 * curves, TIMES)
    mask = np.ones((1, 2, 3), bool)
    ra, rb = compute_kinetic_maps(a, mask), compute_kinetic_maps(b, mask)
    for name in ("pe", "ser", "wis", "wos"):
        np.testing.assert_allclose(getattr(ra, name), getattr(rb, name), rtol=1e-5)
    s = KineticSettings(slopes="absolute")
    np.testing.assert_allclose(compute_kinetic_maps(b, mask, s).wis, 3 * compute_kinetic_maps(a, mask, s).wis,
                               rtol=1e-5)


def test_s0_guards_mark_invalid_and_outside_is_nan():
    curves = [[100, 200, 150], [0, 50, 60], [-5, 10, 20], [0.5, 100, 100], [100, 200, 150], [np.nan, 1, 2]]
    study = curves_study(curves, TIMES)
    mask = np.ones((1, 2, 3), bool)
    mask[0, 1, 1] = False  # voxel 4 outside the mask
    maps = compute_kinetic_maps(study, mask)
    # median S0 of the positive finite in-mask values (100, 0.5) = 50.25; 0.5 < 1 % of it -> invalid
    assert maps.valid.ravel().tolist() == [True, False, False, False, False, False]
    assert maps.n_invalid == 4  # S0 = 0, S0 < 0, S0 tiny, NaN (the outside voxel is not counted)
    assert np.isnan(maps.pe.ravel()[1:]).all() and np.isfinite(maps.pe.ravel()[0])
    feats, idx = maps.voxel_features()
    assert feats.shape == (1, 4)
    np.testing.assert_allclose(feats[0], [50.0, 12.5, 2.0, 100.0])  # WIS, WOS, SER, PE order
    assert [i.tolist() for i in idx] == [[0], [0], [0]]


def test_early_phase_selection_rule():
    times = (0, 30, 75, 150, 300, 450)
    assert select_early_late(times) == (2, 5)  # first post-contrast at >= 60 s
    assert select_early_late(times, KineticSettings(early_post_index=2)) == (3, 5)
    assert select_early_late(times, KineticSettings(early_phase=1, late_phase=4)) == (1, 4)
    with pytest.raises(TimingError):
        select_early_late((0, 10, 20))  # nothing at >= 60 s
    with pytest.raises(TimingError):
        select_early_late((0, 90))  # too few phases
    with pytest.raises(TimingError):
        select_early_late((0, 120, 90, 300))  # not increasing
    with pytest.raises(TimingError):
        select_early_late(times, KineticSettings(early_phase=5))  # early == late


def test_bad_masks_raise_mask_error():
    study = curves_study(np.full((6, 3), 100.0), TIMES)
    with pytest.raises(MaskError):
        compute_kinetic_maps(study, np.zeros((1, 2, 3), bool))
    with pytest.raises(MaskError):
        compute_kinetic_maps(study, np.ones((2, 2, 3), bool))


def test_invalid_settings_raise_config_error():
    from tnbc_desktop.errors import ConfigError

    with pytest.raises(ConfigError):
        KineticSettings(slopes="percent")
    with pytest.raises(ConfigError):
        KineticSettings(ser_clip=0.0)
