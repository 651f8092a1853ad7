"""Multiregional spatial interaction (MSI) matrix and its 22 features, Wu-lab definition (SPEC section 5).

M is a (K+1) x (K+1) count matrix (K = 3 habitats, index 0 = outside the tumour). For every tumour voxel c
(label > 0) and each neighbour n (8 in-plane neighbours by default, the 6 face neighbours in 3D, or all 26 3D
neighbours; :class:`MsiConnectivity`), add 1 to
M[label(c), label(n)]; voxels beyond the array edge count as 0. Then M[0, 0] = 0 and row 0 := column 0.
Second-order features (graycoprops style) on P = M / sum(M): contrast sum (i-j)^2 P, homogeneity
sum P / (1 + |i-j|), correlation sum (i-mu_i)(j-mu_j) P / (sd_i sd_j), energy sum P^2.
First-order: diagonal 1..K and strictly lower triangle in column-major order, raw (x voxel volume mm^3) and
normalised (/ sum(M)).
"""
from __future__ import annotations

import itertools
from enum import Enum

import numpy as np

from tnbc_desktop.core.regions import bounding_box
from tnbc_desktop.errors import FeatureError

N_HABITATS = 3


class MsiConnectivity(str, Enum):
    """The neighbourhoods MSI counts over (the bundle schema's ``msi_connectivity`` allows exactly these)."""

    IN_PLANE_8 = "2d-8"    # the 8 neighbours in the slice (the paper's 2D MSI)
    FACES_6 = "3d-6"       # the 6 face neighbours in 3D
    FULL_26 = "3d-26"      # all 26 neighbours in 3D


CONNECTIVITIES = tuple(c.value for c in MsiConnectivity)
SECOND_ORDER = ("contrast", "homogeneity", "correlation", "energy")


def _pair_names(k: int = N_HABITATS) -> list[str]:
    """Names of diagonal then lower-triangle (column-major) entries: H1H1.., H1bg.., H1H2.."""
    names = [f"H{i}H{i}" for i in range(1, k + 1)]
    for j in range(0, k + 1):
        for i in range(j + 1, k + 1):
            names.append(f"H{i}bg" if j == 0 else f"H{j}H{i}")
    return names


PAIR_NAMES = tuple(_pair_names())
MSI_FEATURE_NAMES = (tuple(f"MSI_{n}" for n in SECOND_ORDER) + tuple(f"MSI_{n}" for n in PAIR_NAMES)
                     + tuple(f"MSInorm_{n}" for n in PAIR_NAMES))


def as_connectivity(connectivity: str | MsiConnectivity) -> MsiConnectivity:
    """The :class:`MsiConnectivity` named by ``connectivity``; :class:`FeatureError` for any other value."""
    try:
        return MsiConnectivity(connectivity)
    except ValueError:
        raise FeatureError(f"MSI connectivity must be one of {', '.join(CONNECTIVITIES)}, "
                           f"not {connectivity!r}") from None


def neighbour_offsets(connectivity: str | MsiConnectivity = MsiConnectivity.IN_PLANE_8) -> list[tuple[int, int, int]]:
    """(dz, dy, dx) offsets of the neighbourhood."""
    conn = as_connectivity(connectivity)
    cube = [o for o in itertools.product((-1, 0, 1), repeat=3) if o != (0, 0, 0)]
    if conn is MsiConnectivity.IN_PLANE_8:
        return [o for o in cube if o[0] == 0]
    if conn is MsiConnectivity.FACES_6:
        return [o for o in cube if sum(map(abs, o)) == 1]
    return cube


def msi_matrix(labels: np.ndarray, connectivity: str | MsiConnectivity = MsiConnectivity.IN_PLANE_8,
               n_habitats: int = N_HABITATS) -> np.ndarray:
    """The symmetric (K+1, K+1) int64 MSI count matrix of a uint label map [z, y, x] (0 = outside)."""
    lab = np.asarray(labels)
    if lab.ndim != 3:
        raise FeatureError(f"habitat label map must be 3D [z, y, x], got {lab.ndim}D")
    offsets = neighbour_offsets(connectivity)
    k1 = n_habitats + 1
    # bounding box of the tumour from axis projections (np.nonzero over a 96x512x512 grid was most of the cost)
    box = bounding_box(lab > 0)
    if box is None:
        raise FeatureError("habitat label map has no tumour voxel; MSI features cannot be computed")
    lab_max = int(lab.max())
    if lab_max > n_habitats or int(lab.min()) < 0:
        raise FeatureError(f"habitat labels must lie in 0..{n_habitats}, found {int(lab.min())}..{lab_max}")
    # crop to the tumour bounding box and pad by one voxel of background on every side
    pad = np.pad(lab[box].astype(np.int64), 1)
    core = tuple(slice(1, s - 1) for s in pad.shape)
    centre = pad[core]
    sel = centre > 0
    centre_codes = centre[sel] * k1
    counts = np.zeros(k1 * k1, dtype=np.int64)
    for dz, dy, dx in offsets:
        shifted = pad[1 + dz:pad.shape[0] - 1 + dz, 1 + dy:pad.shape[1] - 1 + dy, 1 + dx:pad.shape[2] - 1 + dx]
        counts += np.bincount(centre_codes + shifted[sel], minlength=k1 * k1)
    m = counts.reshape(k1, k1)
    m[0, 0] = 0
    m[0, :] = m[:, 0]
    return m


def second_order_features(m: np.ndarray) -> dict[str, float]:
    """Contrast, homogeneity (|i-j|), correlation, energy of P = M / sum(M) (graycoprops, 1-based indices)."""
    p = m.astype(np.float64) / float(m.sum())
    n = p.shape[0]
    i, j = np.meshgrid(np.arange(1, n + 1), np.arange(1, n + 1), indexing="ij")
    mu_i, mu_j = float((i * p).sum()), float((j * p).sum())
    sd_i = float(np.sqrt((((i - mu_i) ** 2) * p).sum()))
    sd_j = float(np.sqrt((((j - mu_j) ** 2) * p).sum()))
    corr = float(((i - mu_i) * (j - mu_j) * p).sum() / (sd_i * sd_j)) if sd_i > 0 and sd_j > 0 else float("nan")
    return {"contrast": float((((i - j) ** 2) * p).sum()),
            "homogeneity": float((p / (1.0 + np.abs(i - j))).sum()),
            "correlation": corr,
            "energy": float((p ** 2).sum())}


def first_order_entries(m: np.ndarray) -> np.ndarray:
    """Diagonal 1..K, then the strictly lower triangle in column-major order, as float64 (2K + K(K+1)/2,)."""
    k1 = m.shape[0]
    diag = [m[i, i] for i in range(1, k1)]
    lower = [m[i, j] for j in range(k1) for i in range(j + 1, k1)]
    return np.asarray(diag + lower, dtype=np.float64)


def msi_features(labels: np.ndarray, voxel_volume_mm3: float,
                 connectivity: str | MsiConnectivity = MsiConnectivity.IN_PLANE_8) -> dict[str, float]:
    """The 22 MSI features (names in ``MSI_FEATURE_NAMES``) of a habitat label map uint8 [z, y, x]."""
    if not (np.isfinite(voxel_volume_mm3) and voxel_volume_mm3 > 0):
        raise FeatureError(f"voxel volume must be a positive number of mm^3, got {voxel_volume_mm3}")
    m = msi_matrix(labels, connectivity)
    total = float(m.sum())
    out = {f"MSI_{k}": v for k, v in second_order_features(m).items()}
    entries = first_order_entries(m)
    for name, raw in zip(PAIR_NAMES, entries):
        out[f"MSI_{name}"] = float(raw * voxel_volume_mm3)
    for name, raw in zip(PAIR_NAMES, entries):
        out[f"MSInorm_{name}"] = float(raw / total)
    return {name: out[name] for name in MSI_FEATURE_NAMES}
