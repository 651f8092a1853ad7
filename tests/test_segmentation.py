"""Semi-automatic lesion segmentation (core.segmentation.lesion) on synthetic patients with known truth."""
from __future__ import annotations

import numpy as np
import pytest

from tnbc_desktop.core.segmentation import MaskOrigin, SegmentationRequest, segment_lesion
from tnbc_desktop.core.segmentation.lesion import LesionSegmenter
from tnbc_desktop.core.synthetic import make_patient
from tnbc_desktop.errors import SegmentationError
from tests.builders import deep_seed

N_PATIENTS = 20


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def _xyz(zyx) -> tuple[int, int, int]:
    z, y, x = (int(v) for v in zyx)
    return x, y, z




@pytest.fixture(scope="module")
def patients():
    return [make_patient(3000 + i, snr=30.0) for i in range(N_PATIENTS)]


def test_seed_inside_the_tumour_gives_dice_at_least_085_on_20_patients(patients, capsys):
    scores, habitats = [], []
    for i, p in enumerate(patients):
        inside = np.argwhere(p.mask.array)
        seed = inside[np.random.default_rng(i).integers(len(inside))]  # any tumour voxel, any habitat
        habitats.append(int(p.habitat_truth[tuple(seed)]))
        result = segment_lesion(p.study, SegmentationRequest(seed_xyz=_xyz(seed)))
        assert result.provenance.origin is MaskOrigin.SEMI_AUTOMATIC
        assert result.provenance.seed_xyz == _xyz(seed) and result.provenance.threshold_pe == 70.0
        scores.append(dice(result.mask.array, p.mask.array))
    with capsys.disabled():
        print(f"\nsegmentation Dice on {N_PATIENTS} synthetic patients: median {np.median(scores):.3f}, "
              f"min {min(scores):.3f}; seeds in habitats {sorted(set(habitats))}")
    assert min(scores) >= 0.85, scores
    assert 1 in habitats  # the poorly perfused habitat (PE below 70 %) was among the seeds


@pytest.mark.parametrize("where", ["air", "fat"])
def test_seed_outside_enhancing_tissue_is_refused_with_a_clear_message(patients, where):
    p = patients[0]
    pre = p.study.data[0]
    if where == "air":
        zyx = (p.study.data.shape[1] // 2, 1, p.study.data.shape[3] // 2)  # in front of the skin
    else:
        far = ~np.pad(p.mask.array, 0)  # fat: low S0, well away from the tumour
        candidates = np.argwhere(far & (pre > 150) & (pre < 300))
        zyx = candidates[np.random.default_rng(1).integers(len(candidates))]
    x, y, z = _xyz(zyx)
    with pytest.raises(SegmentationError) as err:
        segment_lesion(p.study, SegmentationRequest(seed_xyz=(x, y, z)))
    msg = str(err.value)
    assert f"seed (x {x}, y {y}, z {z})" in msg and len(msg) < 300 and "\n" not in msg
    assert ("outside tissue" in msg) if where == "air" else ("not in enhancing tissue" in msg)


def test_threshold_too_low_leaks_and_is_refused(patients):
    p = patients[1]
    seed = deep_seed(p)
    with pytest.raises(SegmentationError, match="search box|fills"):
        segment_lesion(p.study, SegmentationRequest(seed_xyz=seed, threshold_pe=4.0))


def test_user_box_limits_the_region_and_bad_boxes_are_refused(patients):
    p = patients[2]
    zs, ys, xs = np.nonzero(p.mask.array)
    seed = deep_seed(p)
    x0, x1 = int(xs.min()), int(xs.max())
    y0, y1 = int(ys.min()), int(ys.max())
    zc = seed[2]
    box = (x0, y0, zc - 2, x1, y1, zc + 2)
    out = segment_lesion(p.study, SegmentationRequest(seed_xyz=seed, box_xyz=box)).mask.array
    assert out.any() and not out[: zc - 2].any() and not out[zc + 3:].any()
    assert dice(out[zc - 2: zc + 3], p.mask.array[zc - 2: zc + 3]) > 0.85
    with pytest.raises(SegmentationError, match="outside the box"):
        segment_lesion(p.study, SegmentationRequest(seed_xyz=(x0, y0, zc + 3), box_xyz=box))
    with pytest.raises(SegmentationError, match="not inside the image"):
        segment_lesion(p.study, SegmentationRequest(seed_xyz=seed, box_xyz=(x1, y0, 0, x0, y1, 2)))
    with pytest.raises(SegmentationError, match="outside the image"):
        segment_lesion(p.study, SegmentationRequest(seed_xyz=(10_000, 0, 0)))


def test_threshold_change_reuses_the_box_and_raising_it_shrinks_the_core(patients):
    p = patients[3]
    seg = LesionSegmenter(p.study)
    seed = deep_seed(p)
    low = seg.segment(SegmentationRequest(seed_xyz=seed, threshold_pe=70.0))
    cached = seg._cached[1]
    high = seg.segment(SegmentationRequest(seed_xyz=seed, threshold_pe=120.0))
    assert seg._cached[1] is cached  # the preview only redoes the region steps
    assert high.n_core_voxels < low.n_core_voxels
    assert np.count_nonzero(high.mask.array) <= np.count_nonzero(low.mask.array)


def _necrotic_lesion_study():
    """Hand-made 4-phase study: a 12 mm ball whose 8 mm core does not enhance (necrosis) in enhancing rim."""
    from tnbc_desktop.core.study import DCEStudy, Geometry, PhaseInfo

    shape, spacing = (24, 64, 64), (2.0, 1.0, 1.0)
    zz, yy, xx = np.ogrid[:24, :64, :64]
    r = np.sqrt(((zz - 12) * 2.0) ** 2 + (yy - 32.0) ** 2 + (xx - 32.0) ** 2)
    ball, core = r <= 12.0, r <= 8.0
    s0 = np.full(shape, 300.0, np.float32)
    s0[ball] = 900.0
    pe = np.where(ball & ~core, 1.5, 0.05)
    times = (0.0, 90.0, 180.0, 270.0)
    rng = np.random.default_rng(5)
    data = np.stack([s0 * (1 + pe * min(t / 90.0, 1.0)) + rng.normal(0, 10, shape) for t in times])
    study = DCEStudy(data.astype(np.float32), times, Geometry(shape, spacing),
                     tuple(PhaseInfo(i, t, "user") for i, t in enumerate(times)), "hand-made", "user", "hand-made")
    return study, ball, core


def test_seed_in_a_necrotic_core_selects_the_enclosing_lesion_and_fills_it():
    study, ball, core = _necrotic_lesion_study()
    result = segment_lesion(study, SegmentationRequest(seed_xyz=(32, 32, 12)))  # the centre: PE ~5 %
    assert result.mask.array[core].all()
    assert dice(result.mask.array, ball) > 0.9
    assert result.seed_pe < 35.0
