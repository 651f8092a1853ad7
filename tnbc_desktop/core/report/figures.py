"""Report figures drawn with matplotlib's Agg canvas into PNG bytes (never Qt).

Colours come from the app's one palette (tnbc_desktop.core.palette), the same values the GUI draws with.
Axial images are shown with the in-plane pixel aspect (spacing y / spacing x).
"""
from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from tnbc_desktop.core import palette
from tnbc_desktop.core.case import CurveSummary, SurvivalGroup
from tnbc_desktop.core.curves import CURVE_UNIT_LABEL, percent_enhancement
from tnbc_desktop.core.prediction_status import format_p_value
from tnbc_desktop.core.survival_group import at_risk_table, censor_marks
from tnbc_desktop.core.tumour_reading import display_curve_type

HABITAT_COLOURS = tuple(palette.hex_colour(palette.HABITAT_COLOURS[h]) for h in palette.HABITAT_LABELS)
HABITAT_NAMES = tuple(palette.HABITAT_NAMES[h] for h in palette.HABITAT_LABELS)
RING_COLOUR = palette.hex_colour(palette.RING_COLOUR)
TUMOUR_COLOUR = palette.hex_colour(palette.OUTLINE_COLOUR)
CURVE_COLOURS = {name: palette.hex_colour(rgb) for name, rgb in palette.CURVE_COLOURS.items()}
GROUP_COLOURS = {name: palette.hex_colour(rgb) for name, rgb in palette.GROUP_COLOURS.items()}
DPI = 150


def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """PNG of a matplotlib Figure rendered with the Agg canvas (never Qt)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()



def best_slice(mask: np.ndarray) -> int:
    """Index z of the axial slice with the largest mask area (middle slice if the mask is empty)."""
    areas = np.asarray(mask, dtype=bool).reshape(mask.shape[0], -1).sum(axis=1)
    return int(np.argmax(areas)) if areas.any() else mask.shape[0] // 2


def crop_box(mask2d: np.ndarray, margin: int = 12) -> tuple[slice, slice]:
    """(rows, cols) slices around the mask with ``margin`` pixels, made square-ish; whole image if empty."""
    ys, xs = np.nonzero(mask2d)
    if ys.size == 0:
        return slice(None), slice(None)
    h, w = mask2d.shape
    half = max(ys.max() - ys.min(), xs.max() - xs.min()) // 2 + margin
    cy, cx = (ys.max() + ys.min()) // 2, (xs.max() + xs.min()) // 2
    return (slice(max(cy - half, 0), min(cy + half + 1, h)), slice(max(cx - half, 0), min(cx + half + 1, w)))


def _window(img: np.ndarray) -> tuple[float, float]:
    finite = img[np.isfinite(img)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(finite, [1, 99.5])
    return float(lo), float(hi if hi > lo else lo + 1.0)


def habitat_images_png(early: np.ndarray, labels: np.ndarray, ring: np.ndarray, tumour: np.ndarray,
                       spacing_mm: Sequence[float], fractions: Sequence[float],
                       size_in: tuple[float, float] = (5.6, 2.9), diameters=None) -> bytes:
    """PNG of :func:`habitat_images_figure`."""
    return png_bytes(habitat_images_figure(early, labels, ring, tumour, spacing_mm, fractions, size_in, diameters))


def habitat_images_figure(early: np.ndarray, labels: np.ndarray, ring: np.ndarray, tumour: np.ndarray,
                          spacing_mm: Sequence[float], fractions: Sequence[float],
                          size_in: tuple[float, float] = (5.6, 2.9), diameters=None) -> Figure:
    """Two axial panels on the early phase: habitat overlay (with legend giving volume %), and the ring.

    ``early``, ``labels``, ``ring``, ``tumour``: [z, y, x]; ``spacing_mm``: (z, y, x). ``diameters``: a
    ``TumourDiameters``; its axial slice is shown with the longest axial diameter drawn on the ring panel.
    """
    z = best_slice(tumour) if diameters is None else int(diameters.axial_slice)
    rows, cols = crop_box(np.asarray(tumour[z]) | np.asarray(ring[z]))
    img = np.asarray(early[z], dtype=float)[rows, cols]
    lab = np.asarray(labels[z])[rows, cols]
    rng = np.asarray(ring[z], dtype=bool)[rows, cols]
    tum = np.asarray(tumour[z], dtype=bool)[rows, cols]
    aspect = float(spacing_mm[1]) / float(spacing_mm[2])
    vmin, vmax = _window(img)
    fig = Figure(figsize=size_in)
    axes = fig.subplots(1, 2)
    cmap = ListedColormap(HABITAT_COLOURS)
    for ax in axes:
        ax.imshow(img, cmap="gray", vmin=vmin, vmax=vmax, aspect=aspect, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    overlay = np.ma.masked_where(lab == 0, lab.astype(float) - 1.0)
    axes[0].imshow(overlay, cmap=cmap, vmin=0, vmax=2, alpha=0.75, aspect=aspect, interpolation="nearest")
    axes[0].set_title(f"Habitats (slice {z + 1})", fontsize=8)
    handles = [Patch(color=c, label=f"{n}: {100 * float(f):.1f}%")
               for c, n, f in zip(HABITAT_COLOURS, HABITAT_NAMES, list(fractions) + [0.0] * 3)]
    axes[0].legend(handles=handles, loc="upper center", bbox_to_anchor=(1.02, -0.02), ncol=3, fontsize=6.8,
                   frameon=False, handlelength=1.0, columnspacing=0.8)
    ring_overlay = np.ma.masked_where(~rng, np.ones_like(img))
    axes[1].imshow(ring_overlay, cmap=ListedColormap([RING_COLOUR]), vmin=0, vmax=1, alpha=0.55,
                   aspect=aspect, interpolation="nearest")
    if tum.any() and tum.shape[0] > 1 and tum.shape[1] > 1:
        axes[1].contour(tum.astype(float), levels=[0.5], colors=[TUMOUR_COLOUR], linewidths=0.8)
    axes[1].set_title("Tumour outline and 5 mm ring", fontsize=8)
    if diameters is not None:
        (_, y0, x0), (_, y1, x1) = diameters.axial_ends
        r0, c0 = rows.start or 0, cols.start or 0
        # imshow puts pixel (r, c) centre at (c, r); the ends are fractional indices on the outer voxel faces
        axes[1].plot([x0 - c0, x1 - c0], [y0 - r0, y1 - r0], color="white", linewidth=1.0, linestyle="--")
        axes[1].text(0.02, 0.03, f"{diameters.axial_mm:.1f} mm", transform=axes[1].transAxes, color="white",
                     fontsize=7, va="bottom")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.92, bottom=0.12, wspace=0.04)
    return fig


def curves_png(curves: Mapping[str, CurveSummary], size_in: tuple[float, float] = (3.2, 2.9)) -> bytes:
    """PNG of :func:`curves_figure`."""
    return png_bytes(curves_figure(curves, size_in))


def curves_figure(curves: Mapping[str, CurveSummary], size_in: tuple[float, float] = (3.2, 2.9)) -> Figure:
    """Mean enhancement (% over pre-contrast) against time (s) for tumour, each habitat and the ring."""
    fig = Figure(figsize=size_in)
    ax = fig.subplots()
    for name, curve in curves.items():
        rel, _ = percent_enhancement(curve.mean)
        if not np.isfinite(rel).any():
            continue
        label = f"{name} ({display_curve_type(curve.curve_type)})" if curve.curve_type else name
        ax.plot(curve.times_s, rel, marker="o", markersize=2.5, linewidth=1.2 if name != "tumour" else 1.8,
                color=CURVE_COLOURS.get(name), linestyle="--" if name == "ring" else "-", label=label)
    ax.set_xlabel("time from pre-contrast (s)", fontsize=7)
    ax.set_ylabel(CURVE_UNIT_LABEL, fontsize=6.5)
    ax.tick_params(labelsize=6)
    ax.grid(alpha=0.3, linewidth=0.5)
    ax.legend(fontsize=5.5, frameon=False, loc="upper center", bbox_to_anchor=(0.45, -0.2), ncol=2)
    ax.set_title("Enhancement curves", fontsize=8)
    fig.subplots_adjust(left=0.16, right=0.97, top=0.9, bottom=0.36)
    return fig


def km_png(group: SurvivalGroup, title: str, size_in: tuple[float, float] = (3.2, 2.7)) -> bytes:
    """PNG of :func:`km_figure`."""
    return png_bytes(km_figure(group, title, size_in))


def km_figure(group: SurvivalGroup, title: str, size_in: tuple[float, float] = (3.2, 2.7)) -> Figure:
    """Reference-cohort DFS Kaplan-Meier curves per predicted group, with censor marks and numbers at risk.

    The group this case's estimate falls in is drawn bold with its CI band; without a case (``group.group``
    empty, e.g. the training report) every group is drawn so. The title (wrapped, never cut) carries the
    log-rank P as :func:`~tnbc_desktop.core.prediction_status.format_p_value` prints it.
    """
    fig = Figure(figsize=size_in)
    ax = fig.add_axes((0.16, 0.36, 0.8, 0.47))
    for name, curve in group.curves.items():
        t = np.asarray(curve["time_months"], dtype=float)
        s = np.asarray(curve["survival"], dtype=float)
        this_case = name == group.group
        mine = this_case or not group.group
        colour = GROUP_COLOURS.get(name, "grey")
        ax.step(t, s, where="post", color=colour, linewidth=2.2 if mine else 0.9, alpha=1.0 if mine else 0.6,
                label=f"predicted {name}{' (this case)' if this_case else ''}")
        ct, cs = censor_marks(curve)
        ax.plot(ct, cs, linestyle="none", marker="|", markersize=4, color=colour, alpha=1.0 if mine else 0.6)
        if mine and "ci_low" in curve and "ci_high" in curve:
            ax.fill_between(t, curve["ci_low"], curve["ci_high"], step="post", color=colour, alpha=0.15,
                            linewidth=0)
    for year in (1, 3, 5):
        ax.axvline(12 * year, color="grey", linewidth=0.4, linestyle=":")
    risk_times, risk = at_risk_table(group.curves)
    ax.set_xlim(0, max(risk_times[-1], max((c["time_months"][-1] for c in group.curves.values()), default=0)) * 1.02)
    ax.set_xticks(risk_times)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("months", fontsize=6.5, labelpad=1)
    ax.set_ylabel("disease-free survival", fontsize=6.5)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=5.8, frameon=False, loc="lower left")
    xaxis = ax.get_xaxis_transform()  # x in months, y in axes fractions (negative = below the axis)
    ax.text(-0.2, -0.3, "At risk", transform=ax.transAxes, fontsize=5.8, fontweight="bold")
    for row, (name, counts) in enumerate(risk.items()):
        y = -0.42 - 0.12 * row
        ax.text(-0.2, y, name, transform=ax.transAxes, fontsize=5.6, color=GROUP_COLOURS.get(name, "grey"))
        for t, n in zip(risk_times, counts):
            ax.text(t, y, "-" if n is None else str(n), transform=xaxis, fontsize=5.6, ha="center")
    p = f"log-rank P {format_p_value(group.logrank_p)}" if group.logrank_p is not None else ""
    wrapped = "\n".join(textwrap.wrap(title, 48) + ([p] if p else []))
    fig.suptitle(wrapped, fontsize=7, y=0.985, va="top")
    return fig
