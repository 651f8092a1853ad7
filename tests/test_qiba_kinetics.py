"""Kinetic maps on the QIBA DCE-MRI digital reference object v6 (standard Tofts, known Ktrans / ve).

Data: /work/shared/data/qiba_dce_dro_v6/DICOM (see PROVENANCE.txt there): 1321 frames of one 80x50 slice,
0.5 s apart, time in TriggerTime (absent on frame 1, taken as frame 2 minus 0.5 s). Rows 10-69 hold 6x5
patches of 10x10 pixels: Ktrans 0.01, 0.02, 0.05, 0.1, 0.2, 0.35 /min down the rows, ve 0.01, 0.05, 0.1,
0.2, 0.5 across the columns; rows 70-79 are the vascular (AIF) region.
Reduction: baseline S0 = mean of the frames before contrast arrival (first frame where the AIF rises > 1 %
above its first-10-frame mean), placed at the arrival time; early = the frame at 90, 120 or 150 s after the
scan start; late = last frame (660 s).
Expected behaviour (physics of the Tofts model, not values copied from this code): in the ve = 0.2 and
ve = 0.5 columns PE and WIS rise strictly with Ktrans; where the exchange rate Ktrans/ve >= 1 /min the tissue
has washed out before 660 s (WOS > 0); where Ktrans/ve <= 0.1 /min it still takes up (WOS < 0); at the
smallest ve the PE order with Ktrans breaks (fast wash-out), legitimately.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import shared_data
from tnbc_desktop.core.kinetics import KineticSettings, compute_kinetic_maps
from tnbc_desktop.core.study import DCEStudy, Geometry, PhaseInfo

KTRANS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.35)
VE = (0.01, 0.05, 0.1, 0.2, 0.5)

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def qiba_frames():
    """(frames float32 [1321, 80, 50], times_s (1321,)) read with pydicom (about 2-3 s)."""
    import pydicom

    folder = shared_data("qiba_dce_dro_v6", "DICOM")
    files = sorted(folder.glob("*.dcm"))
    assert len(files) == 1321
    dss = sorted((pydicom.dcmread(f) for f in files), key=lambda d: int(d.InstanceNumber))
    frames = np.stack([d.pixel_array.astype(np.float32) for d in dss])
    trig = [d.get("TriggerTime") for d in dss]
    assert trig[0] is None and all(t is not None for t in trig[1:])
    times = np.array([np.nan] + [float(t) / 1000.0 for t in trig[1:]])
    np.testing.assert_allclose(np.diff(times[1:]), 0.5)
    times[0] = times[1] - 0.5
    return frames, times


def patch_means(volume2d: np.ndarray) -> np.ndarray:
    """Mean of each 10x10 patch, (6 Ktrans, 5 ve)."""
    return volume2d[10:70, :].reshape(6, 10, 5, 10).mean(axis=(1, 3))


def reduce_to_three_phases(frames, times, early_s):
    aif = frames[:, 70:80, :].mean(axis=(1, 2))
    arrival = int(np.argmax(aif > 1.01 * aif[:10].mean()))
    assert 100 < arrival < 200  # contrast arrives about 1 min into the scan
    early = int(np.argmin(np.abs(times - early_s)))
    s0 = frames[:arrival].mean(axis=0)
    data = np.stack([s0, frames[early], frames[-1]])[:, None]  # [3, 1, 80, 50]
    t = (0.0, times[early] - times[arrival], times[-1] - times[arrival])
    geom = Geometry(shape=(1, 80, 50), spacing_mm=(5.0, 1.0, 1.0))
    return DCEStudy(data=data.astype(np.float32), phase_times_s=t, geometry=geom,
                    phases=tuple(PhaseInfo(i, ti, "TriggerTime") for i, ti in enumerate(t)),
                    layout="qiba-dro", timing_source="TriggerTime", source="QIBA DRO v6")


@pytest.mark.parametrize("early_s", [90.0, 120.0, 150.0])
def test_qiba_patch_ordering(qiba_frames, early_s):
    frames, times = qiba_frames
    study = reduce_to_three_phases(frames, times, early_s)
    mask = np.zeros((1, 80, 50), bool)
    mask[0, 10:70, :] = True
    maps = compute_kinetic_maps(study, mask, KineticSettings(early_phase=1, late_phase=2))
    assert maps.n_invalid == 0
    pe, wis, wos = (patch_means(m[0]) for m in (maps.pe, maps.wis, maps.wos))
    print(f"\nQIBA DRO v6, early = {early_s:g} s: per-patch mean PE % / WOS %/min "
          f"(rows Ktrans {KTRANS} /min, columns ve {VE})")
    for i, k in enumerate(KTRANS):
        print(f"  Ktrans {k:<5}: " + "  ".join(f"{pe[i, j]:6.1f}/{wos[i, j]:6.2f}" for j in range(5)))
    for j in (VE.index(0.2), VE.index(0.5)):
        assert np.all(np.diff(pe[:, j]) > 0), f"PE not increasing with Ktrans at ve={VE[j]}: {pe[:, j]}"
        assert np.all(np.diff(wis[:, j]) > 0), f"WIS not increasing with Ktrans at ve={VE[j]}: {wis[:, j]}"
    exchange = np.array(KTRANS)[:, None] / np.array(VE)[None, :]  # Ktrans/ve, 1/min
    assert np.all(wos[exchange >= 1.0] > 0), "fast-exchange patches must wash out before 660 s"
    assert np.all(wos[exchange <= 0.1] < 0), "slow-exchange patches must still be enhancing at 660 s"
    assert not np.all(np.diff(pe[:, VE.index(0.01)]) > 0), "at ve=0.01 wash-out breaks the Ktrans order"
