"""Region / voxel curves and their BI-RADS classification.

Oracle: means and SDs are checked against numpy on the same samples; class boundaries come from the BI-RADS
rules written in tnbc_desktop/core/curves.py (initial rise <50 / 50-100 / >100 %, late change vs early
signal +-10 %), with hand-chosen signals just either side of each boundary.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.builders import curves_study as make_study
from tnbc_desktop.core.curves import classify_curve, region_curve, voxel_curve
from tnbc_desktop.errors import MaskError

TIMES = (0.0, 90.0, 180.0, 450.0)


@pytest.mark.parametrize("s0,s1,s2,ctype,rise", [
    (100, 140, 160, "persistent", "slow"),     # PE 40 %, late +14.3 %
    (100, 150, 150, "plateau", "medium"),      # PE 50 % exactly -> medium; late 0 %
    (100, 200, 221, "persistent", "medium"),   # PE 100 % -> medium; late +10.5 %
    (100, 200, 219, "plateau", "medium"),      # late +9.5 %
    (100, 201, 180, "washout", "fast"),        # PE 101 %; late -10.4 %
    (100, 201, 182, "plateau", "fast"),        # late -9.45 %
])
def test_classification_boundaries(s0, s1, s2, ctype, rise):
    pe1, delta, got_type, got_rise = classify_curve(s0, s1, s2)
    assert (got_type, got_rise) == (ctype, rise)
    assert pe1 == pytest.approx(100 * (s1 - s0) / s0)
    assert delta == pytest.approx(100 * (s2 - s1) / s1)


def test_region_curve_mean_sd_and_type():
    curves = np.array([[100, 300, 320, 250], [120, 330, 350, 280], [80, 250, 260, 200],
                       [100, 110, 120, 130], [90, 95, 100, 140], [100, 100, 100, 100]], float)
    study = make_study(curves, TIMES)
    region = np.zeros((1, 2, 3), bool)
    region[0, 0, :] = True  # first three curves: fast rise, wash-out
    c = region_curve(study, region)
    np.testing.assert_allclose(c.mean, curves[:3].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(c.sd, curves[:3].std(axis=0, ddof=1), rtol=1e-6)
    assert c.n_voxels == 3 and c.early_phase == 1 and c.late_phase == 3
    assert (c.curve_type, c.initial_rise) == ("washout", "fast")
    np.testing.assert_allclose(c.enhancement_percent[0], 0.0)

    v = voxel_curve(study, (0, 1, 1))  # curve 5: PE 5.6 %, late +47 % -> slow persistent
    assert (v.curve_type, v.initial_rise) == ("persistent", "slow")
    np.testing.assert_allclose(v.mean, curves[4])
    assert np.all(v.sd == 0)


def test_empty_region_is_undetermined_and_bad_inputs_raise():
    study = make_study(np.full((6, 4), 100.0), TIMES)
    c = region_curve(study, np.zeros((1, 2, 3), bool))
    assert c.n_voxels == 0 and c.curve_type == "undetermined" and np.isnan(c.mean).all()
    with pytest.raises(MaskError):
        region_curve(study, np.zeros((2, 2, 3), bool))
    with pytest.raises(MaskError):
        voxel_curve(study, (0, 5, 0))
