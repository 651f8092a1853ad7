"""Agreement of two readers' masks of one case: Dice and volume difference (the ICC step of training
needs two readers; this shows how far apart they are before that)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MaskAgreement:
    """``dice`` = 2|A and B| / (|A| + |B|); volumes in ml; ``volume_difference_ml`` = B - A and
    ``volume_difference_percent`` = 100 (B - A) / A (None when A is empty)."""

    dice: float
    volume_a_ml: float
    volume_b_ml: float
    volume_difference_ml: float
    volume_difference_percent: float | None

    def describe(self) -> str:
        pct = "" if self.volume_difference_percent is None else f" ({self.volume_difference_percent:+.1f} %)"
        return (f"Dice {self.dice:.3f}; volume {self.volume_a_ml:.2f} ml vs {self.volume_b_ml:.2f} ml, "
                f"difference {self.volume_difference_ml:+.2f} ml{pct}")


def compare_masks(a: np.ndarray, b: np.ndarray, voxel_volume_mm3: float) -> MaskAgreement:
    """Dice and volume difference of two bool [z, y, x] masks on the same grid (two empty masks: Dice 1)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"masks differ in shape: {a.shape} vs {b.shape}")
    na, nb = int(np.count_nonzero(a)), int(np.count_nonzero(b))
    both = int(np.count_nonzero(a & b))
    dice = 1.0 if na + nb == 0 else 2.0 * both / (na + nb)
    va, vb = na * voxel_volume_mm3 / 1000.0, nb * voxel_volume_mm3 / 1000.0
    return MaskAgreement(dice=dice, volume_a_ml=va, volume_b_ml=vb, volume_difference_ml=vb - va,
                         volume_difference_percent=None if na == 0 else 100.0 * (vb - va) / va)
