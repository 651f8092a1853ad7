"""Geometry of the synthetic breast crop: air, fat-suppressed fat, fibroglandular tissue, chest wall, and one
irregular tumour with three spatially coherent habitats. Arrays are [z, y, x]; y runs anterior (air, skin)
to posterior (chest wall). Signal levels are in arbitrary scanner units with fibroglandular S0 = 1000.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

S0_FIBROGLANDULAR = 1000.0
S0_FAT = 220.0           # fat-suppressed fat: low
S0_MUSCLE = 600.0
S0_TUMOUR = 900.0
RING_MARGIN_MM = 8.0     # the tumour's local box extends this far beyond the tumour (peritumoral zone ~5 mm)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], corr_vox: tuple[float, ...]) -> np.ndarray:
    """Smooth Gaussian random field (float32, mean 0, SD 1) with correlation length ~``corr_vox`` per axis.

    Made on a coarse grid and upsampled linearly, so it costs little even at 96x512x512.
    """
    corr = np.maximum(np.asarray(corr_vox, float) / 2.0, 1.0)  # coarse cell = half the correlation length
    coarse_shape = tuple(int(np.ceil(s / c)) + 3 for s, c in zip(shape, corr))
    coarse = ndimage.gaussian_filter(rng.standard_normal(coarse_shape), sigma=1.2, mode="wrap")
    field = coarse.astype(np.float32)
    # Separable linear upsampling, the axis that grows least first (fewer full-size temporaries).
    for axis in np.argsort(np.asarray(shape) / np.asarray(coarse_shape)):
        coords = np.linspace(1.0, coarse_shape[axis] - 2.0, shape[axis], dtype=np.float32)
        lo = np.floor(coords).astype(np.intp)
        w = (coords - lo).reshape([-1 if a == axis else 1 for a in range(len(shape))])
        field = np.take(field, lo, axis=axis) * (1 - w) + np.take(field, lo + 1, axis=axis) * w
    field -= field.mean()
    sd = float(field.std())
    if sd > 0:
        field /= sd
    return field.astype(np.float32, copy=False)


@dataclass(frozen=True)
class Background:
    """Whole-crop tissue maps: ``s0`` float32 pre-contrast signal, ``bpe_amplitude`` float32 enhancement amplitude
    of the parenchyma, ``muscle`` bool chest wall, ``breast`` bool (not air). All [z, y, x]."""

    s0: np.ndarray
    bpe_amplitude: np.ndarray
    muscle: np.ndarray
    breast: np.ndarray


def make_background(shape, spacing_mm, rng: np.random.Generator, bpe_amplitude: float) -> Background:
    """Breast crop: air in front of a curved skin line, fat with ~30 % fibroglandular tissue, chest wall behind."""
    nz, ny, nx = shape
    zn = np.linspace(-1.0, 1.0, nz, dtype=np.float32)[:, None]
    xn = np.linspace(-1.0, 1.0, nx, dtype=np.float32)[None, :]
    wobble = 0.02 * smooth_noise(rng, (nz, nx), (nz / 2.0, nx / 3.0))
    y_skin = ny * np.clip(0.04 + 0.40 * xn**2 + 0.12 * zn**2 + wobble, 0.0, 0.6)        # (z, x)
    y_wall = ny * (0.90 + 0.03 * np.sin(np.pi * xn + 0.5) + 0.01 * zn + 0.5 * wobble)   # (z, x)
    yy = np.arange(ny, dtype=np.float32)[None, :, None]
    breast = yy >= y_skin[:, None, :]
    muscle = yy >= y_wall[:, None, :]
    # Fibroglandular fraction: smooth field, soft threshold (partial volume at the fat interface).
    corr_mm = 9.0
    fgt_field = smooth_noise(rng, shape, tuple(corr_mm / s for s in spacing_mm))
    fgt = 1.0 / (1.0 + np.exp(-(fgt_field - 0.5) / 0.12))
    fgt *= breast
    fgt[muscle] = 0.0
    s0 = (S0_FAT + (S0_FIBROGLANDULAR - S0_FAT) * fgt).astype(np.float32)
    s0[~breast] = 0.0
    s0[muscle] = S0_MUSCLE
    amp = (bpe_amplitude * fgt + 0.04 * (1.0 - fgt)).astype(np.float32)  # fat enhances a little
    amp[~breast] = 0.0
    amp[muscle] = 0.0
    return Background(s0=s0, bpe_amplitude=amp, muscle=muscle, breast=breast)


@dataclass(frozen=True)
class TumourLayout:
    """The tumour in its local box ``box`` (tuple of slices into the crop): ``mask`` bool, ``mask_reader2`` bool,
    ``habitats`` uint8 (0 outside, 1..3), ``distance_mm`` float32 distance to the tumour (0 inside)."""

    box: tuple[slice, slice, slice]
    mask: np.ndarray
    mask_reader2: np.ndarray
    habitats: np.ndarray
    distance_mm: np.ndarray


def _local_box(shape, spacing_mm, centre_vox, half_mm):
    box = []
    for n, s, c in zip(shape, spacing_mm, centre_vox):
        h = int(np.ceil(half_mm / s))
        box.append(slice(max(0, int(round(c)) - h), min(n, int(round(c)) + h + 1)))
    return tuple(box)


def make_tumour(shape, spacing_mm, rng: np.random.Generator, volume_ml: float,
                fractions: tuple[float, float, float], mixing: float) -> TumourLayout:
    """Irregular (lobulated, noise-perturbed) ellipsoidal tumour of ``volume_ml`` near the crop centre."""
    spacing = np.asarray(spacing_mm, float)
    r_eq = (3.0 * volume_ml * 1000.0 / (4.0 * np.pi)) ** (1.0 / 3.0)                  # mm
    ratios = np.exp(rng.normal(0.0, 0.12, 3))
    ratios /= np.prod(ratios) ** (1.0 / 3.0)
    radii = r_eq * ratios                                                                # (z, y, x) mm
    fov = np.asarray(shape) * spacing
    radii = np.minimum(radii, 0.32 * fov)  # fit small crops
    centre = np.asarray(shape, float) / 2.0 + rng.normal(0.0, 0.04, 3) * np.asarray(shape) * [0.5, 0.3, 0.5]
    centre[1] = shape[1] * 0.5 + rng.normal(0.0, 0.02) * shape[1]
    box = _local_box(shape, spacing, centre, 1.5 * radii.max() + RING_MARGIN_MM)
    grids = np.meshgrid(*[(np.arange(b.start, b.stop) - c) * s for b, c, s in zip(box, centre, spacing)],
                        indexing="ij", sparse=True)
    theta = rng.uniform(0, np.pi)
    cz, (cy, cx) = grids[0], (np.cos(theta) * grids[1] + np.sin(theta) * grids[2],
                              -np.sin(theta) * grids[1] + np.cos(theta) * grids[2])
    radial = np.sqrt((cz / radii[0]) ** 2 + (cy / radii[1]) ** 2 + (cx / radii[2]) ** 2).astype(np.float32)
    local_shape = radial.shape
    lobes = smooth_noise(rng, local_shape, tuple(0.45 * r_eq / s for s in spacing))
    level = radial * (1.0 + 0.22 * lobes)
    target = int(round(volume_ml * 1000.0 / float(np.prod(spacing))))
    target = max(8, min(target, level.size // 3))
    threshold = np.partition(level.ravel(), target - 1)[target - 1]
    mask = _largest_component(level <= threshold)
    mask = ndimage.binary_fill_holes(mask)
    distance = ndimage.distance_transform_edt(~mask, sampling=spacing).astype(np.float32)
    habitats = _habitats(rng, mask, radial, fractions, mixing, r_eq, spacing)
    reader2 = _reader2_mask(rng, mask, spacing)
    return TumourLayout(box=box, mask=mask, mask_reader2=reader2, habitats=habitats, distance_mm=distance)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels, n = ndimage.label(mask)
    if n <= 1:
        return mask
    sizes = ndimage.sum_labels(mask, labels, index=np.arange(1, n + 1))
    return labels == (1 + int(np.argmax(sizes)))


def _habitats(rng, mask, radial, fractions, mixing, r_eq, spacing) -> np.ndarray:
    """Nested irregular shells: poorly perfused core (1), moderately perfused (2), highly perfused rim (3).

    ``mixing`` (0..1) weights a smooth noise field against the radial position, so high mixing interleaves
    the habitats into blobs that reach the tumour edge (more interaction with the parenchyma).
    """
    noise = smooth_noise(rng, mask.shape, tuple(0.5 * r_eq / s for s in spacing))
    score = radial + float(mixing) * 0.45 * noise
    inside = score[mask]
    order = np.argsort(inside, kind="stable")
    labels_inside = np.empty(inside.size, np.uint8)
    cuts = np.round(np.cumsum(fractions)[:2] * inside.size).astype(int)
    labels_inside[order[:cuts[0]]] = 1
    labels_inside[order[cuts[0]:cuts[1]]] = 2
    labels_inside[order[cuts[1]:]] = 3
    out = np.zeros(mask.shape, np.uint8)
    out[mask] = labels_inside
    return out


def _reader2_mask(rng, mask, spacing) -> np.ndarray:
    """Second reader: the boundary moved by about one voxel in-plane, outwards or inwards in smooth patches."""
    plane = np.zeros((3, 3, 3), bool)
    plane[1] = ndimage.generate_binary_structure(2, 1)
    grown = ndimage.binary_dilation(mask, structure=plane)
    shrunk = ndimage.binary_erosion(mask, structure=plane)
    side = smooth_noise(rng, mask.shape, tuple(6.0 / s for s in spacing))
    return np.where(side > 0, grown, shrunk)
