"""Overlay images for the slice view, as RGBA uint8 arrays [y, x, 4] (pure numpy; no Qt).

Two layers are drawn over the grey image: a *fill* layer (habitats, or the tumour when no habitats exist yet,
plus the peritumoral ring) whose opacity the user sets, and an opaque *outline* layer (tumour boundary, one
pixel wide, 8-connected in-plane). :class:`OverlayCache` computes each slice once per toggle state, so a
slice change only swaps two prepared arrays (see bench/bench_gui.py for the gain over recomputing).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tnbc_desktop.gui.palette import HABITAT_COLOURS, HABITAT_NAMES, OUTLINE_COLOUR, RING_COLOUR, habitat_lut

_TUMOUR_FILL = OUTLINE_COLOUR
RING_ALPHA = 130  # the ring is drawn fainter than the habitats so the tumour stands out


@dataclass(frozen=True)
class OverlayToggles:
    """Which overlay layers are visible."""

    outline: bool = True
    habitats: bool = True
    ring: bool = True


def outline_2d(mask_slice: np.ndarray) -> np.ndarray:
    """Boundary pixels of a 2D bool mask: inside pixels with at least one 4-neighbour outside (bool [y, x])."""
    m = np.asarray(mask_slice, dtype=bool)
    if not m.any():
        return np.zeros_like(m)
    p = np.pad(m, 1, constant_values=False)
    interior = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return m & ~interior


def fill_rgba(labels_slice: np.ndarray | None, mask_slice: np.ndarray | None, ring_slice: np.ndarray | None,
              toggles: OverlayToggles) -> np.ndarray:
    """Fill layer [y, x, 4] uint8: habitat colours (or a tumour tint when no labels) and the ring."""
    ref = next(a for a in (labels_slice, mask_slice, ring_slice) if a is not None)
    out = np.zeros(ref.shape + (4,), dtype=np.uint8)
    if toggles.ring and ring_slice is not None:
        out[np.asarray(ring_slice, dtype=bool)] = (*RING_COLOUR, RING_ALPHA)
    if toggles.habitats:
        if labels_slice is not None:
            lab = np.asarray(labels_slice)
            inside = lab > 0
            out[inside] = habitat_lut()[np.clip(lab[inside], 0, 3)]
        elif mask_slice is not None:
            out[np.asarray(mask_slice, dtype=bool)] = (*_TUMOUR_FILL, 110)
    return out


def outline_rgba(mask_slice: np.ndarray | None, toggles: OverlayToggles) -> np.ndarray | None:
    """Opaque outline layer [y, x, 4] uint8, or None when hidden / no mask."""
    if mask_slice is None or not toggles.outline:
        return None
    edge = outline_2d(mask_slice)
    out = np.zeros(edge.shape + (4,), dtype=np.uint8)
    out[edge] = (*OUTLINE_COLOUR, 255)
    return out


class OverlayCache:
    """Per-slice overlay arrays for one case; recomputed only when the data or the toggles change.

    ``labels`` uint8 [z, y, x] (0 outside, 1..3), ``mask`` and ``ring`` bool [z, y, x]; any may be None.
    """

    def __init__(self, mask: np.ndarray | None = None, labels: np.ndarray | None = None,
                 ring: np.ndarray | None = None, toggles: OverlayToggles = OverlayToggles()):
        self.mask, self.labels, self.ring = mask, labels, ring
        self._toggles = toggles
        self._cache: dict[int, tuple[np.ndarray | None, np.ndarray | None]] = {}

    @property
    def empty(self) -> bool:
        return self.mask is None and self.labels is None and self.ring is None

    @property
    def toggles(self) -> OverlayToggles:
        return self._toggles

    def set_toggles(self, toggles: OverlayToggles) -> None:
        if toggles != self._toggles:
            self._toggles = toggles
            self._cache.clear()

    def layers(self, z: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(fill, outline) RGBA arrays for slice ``z`` (None where there is nothing to draw)."""
        hit = self._cache.get(z)
        if hit is None:
            hit = compute_layers(self.mask, self.labels, self.ring, z, self._toggles)
            self._cache[z] = hit
        return hit


    def update_region(self, z: int, rows: slice, cols: slice) -> None:
        """After the arrays changed in place inside ``rows`` x ``cols`` (mask editing), recompute slice ``z``'s
        layers there only; other slices are recomputed on use. The outline of the pixels next to the change
        can change too, so one pixel around it is redrawn, from a two-pixel margin."""
        hit = self._cache.get(z)
        self._cache.clear()
        if hit is None or hit[0] is None or hit[1] is None:
            return
        ny, nx = hit[0].shape[:2]
        rows = slice(max(rows.start - 1, 0), min(rows.stop + 1, ny))
        cols = slice(max(cols.start - 1, 0), min(cols.stop + 1, nx))
        r0, r1 = max(rows.start - 1, 0), min(rows.stop + 1, ny)
        c0, c1 = max(cols.start - 1, 0), min(cols.stop + 1, nx)

        def sub(a):
            return None if a is None else a[z:z + 1, r0:r1, c0:c1]

        fill, outline = compute_layers(sub(self.mask), sub(self.labels), sub(self.ring), 0, self._toggles)
        inner = (slice(rows.start - r0, rows.stop - r0), slice(cols.start - c0, cols.stop - c0))
        layers = []
        for old, new in ((hit[0], fill), (hit[1], outline)):
            out = old.copy()
            out[rows, cols] = new[inner]
            layers.append(out)
        self._cache[z] = (layers[0], layers[1])


def compute_layers(mask, labels, ring, z: int, toggles: OverlayToggles):
    """Uncached (fill, outline) for slice ``z`` - the baseline the cache is measured against."""
    def pick(a):
        return None if a is None else a[z]

    m, lab, r = pick(mask), pick(labels), pick(ring)
    if m is None and lab is None and r is None:
        return None, None
    return fill_rgba(lab, m, r, toggles), outline_rgba(m if m is not None else (lab > 0 if lab is not None else None),
                                                         toggles)


def habitat_legend_rows(fractions, centroids_original=None) -> list[tuple[int, str, tuple[int, int, int]]]:
    """Legend rows (label, text, rgb): name, volume % and the kinetic centroid (WIS, WOS, SER, PE)."""
    rows = []
    for i, label in enumerate((1, 2, 3)):
        text = HABITAT_NAMES[label]
        if fractions is not None and i < len(fractions):
            text += f"  {100.0 * float(fractions[i]):.1f} % of tumour"
        if centroids_original is not None and i < len(centroids_original):
            wis, wos, ser, pe = (float(v) for v in centroids_original[i])
            text += f"\n   WIS {wis:.0f} %/min, WOS {wos:.0f} %/min, SER {ser:.2f}, PE {pe:.0f} %"
        rows.append((label, text, HABITAT_COLOURS[label]))
    return rows

