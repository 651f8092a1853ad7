"""One palette: the PDF report's figures and the GUI's overlays/curves draw with the very same colours."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from tnbc_desktop.core import palette
from tnbc_desktop.core.report import figures
from tnbc_desktop.gui import overlays
from tnbc_desktop.gui.window_binding import CURVE_STYLE


def _rgb255(colour) -> tuple[int, int, int]:
    return tuple(int(round(255 * c)) for c in to_rgb(colour))


def _phantom():
    z, y, x = np.mgrid[0:5, 0:40, 0:40]
    r = np.hypot(y - 20, x - 20)
    tumour = (r < 8) & (z >= 1) & (z <= 3)
    labels = np.where(tumour, 1 + (r > 3).astype(np.uint8) + (r > 6).astype(np.uint8), 0).astype(np.uint8)
    ring = (r >= 8) & (r < 11) & (z >= 1) & (z <= 3)
    early = 100.0 + 50.0 * tumour
    return early, labels, ring, tumour


def _pdf_overlay_colours():
    early, labels, ring, tumour = _phantom()
    fig = figures.habitat_images_figure(early, labels, ring, tumour, (2.0, 1.0, 1.0), (0.2, 0.3, 0.5))
    hab_ax, ring_ax = fig.axes[:2]
    hab_img = hab_ax.get_images()[1]
    habitat = {h: _rgb255(hab_img.cmap(hab_img.norm(h - 1.0))) for h in (1, 2, 3)}
    ring_img = ring_ax.get_images()[1]
    ring_rgb = _rgb255(ring_img.cmap(ring_img.norm(1.0)))
    contour = next(c for c in ring_ax.collections if hasattr(c, "get_edgecolor") and len(c.get_edgecolor()))
    outline = _rgb255(contour.get_edgecolor()[0])
    legend = [_rgb255(p.get_facecolor()) for p in hab_ax.get_legend().get_patches()]
    return habitat, ring_rgb, outline, legend


def _gui_overlay_colours():
    _early, labels, ring, tumour = _phantom()
    toggles = overlays.OverlayToggles()
    fill = overlays.fill_rgba(labels[2], tumour[2], ring[2], toggles)
    habitat = {h: tuple(int(v) for v in fill[labels[2] == h][0, :3]) for h in (1, 2, 3)}
    ring_rgb = tuple(int(v) for v in fill[ring[2]][0, :3])
    edge = overlays.outline_rgba(tumour[2], toggles)
    outline = tuple(int(v) for v in edge[overlays.outline_2d(tumour[2])][0, :3])
    legend = [tuple(rgb) for _label, _text, rgb in overlays.habitat_legend_rows((0.2, 0.3, 0.5))]
    return habitat, ring_rgb, outline, legend


def test_pdf_habitat_ring_and_outline_colours_equal_the_gui_ones():
    pdf_hab, pdf_ring, pdf_outline, pdf_legend = _pdf_overlay_colours()
    gui_hab, gui_ring, gui_outline, gui_legend = _gui_overlay_colours()
    assert pdf_hab == gui_hab
    assert pdf_ring == gui_ring
    assert pdf_outline == gui_outline
    assert pdf_legend == gui_legend == [gui_hab[h] for h in (1, 2, 3)]
    assert gui_hab == {h: palette.HABITAT_COLOURS[h] for h in (1, 2, 3)}
    assert gui_ring == palette.RING_COLOUR and gui_outline == palette.OUTLINE_COLOUR


def test_pdf_curve_colours_equal_the_gui_curve_colours():
    from tnbc_desktop.core.case import CurveSummary
    times = [0.0, 60.0, 120.0]
    curves = {name: CurveSummary(name, times, (100.0, 150.0, 160.0), (5.0, 5.0, 5.0), 10, "persistent")
              for name in ("tumour", "H1", "H2", "H3", "ring")}
    fig = figures.curves_figure(curves)
    pdf = {line.get_label().split(" ")[0]: _rgb255(line.get_color()) for line in fig.axes[0].get_lines()}
    gui = {name: tuple(style[1]) for name, style in CURVE_STYLE.items()}
    assert pdf == gui


def test_palette_is_okabe_ito_and_outcomes_are_not_green_or_red():
    assert set(palette.HABITAT_COLOURS.values()) <= set(palette.OKABE_ITO.values())
    assert len(set(palette.HABITAT_COLOURS.values()) | {palette.RING_COLOUR, palette.OUTLINE_COLOUR}) == 5
    for group in ("pCR", "non-pCR", "uncertain"):
        assert palette.group_colour(group) not in (palette.OKABE_ITO["bluish_green"], palette.OKABE_ITO["vermillion"])
    r, g, b = palette.group_colour("uncertain")
    assert r == g == b


def test_gui_and_pdf_plot_curves_in_the_same_unit():
    """The curve the window draws is the curve the report plots: % enhancement over pre-contrast."""
    from tnbc_desktop.core.case import CurveSummary
    from tnbc_desktop.core.curves import CURVE_UNIT_LABEL
    from tnbc_desktop.gui.curves_view import CurveLine
    from tnbc_desktop.gui.window_binding import in_percent

    times, mean, sd = (0.0, 90.0, 180.0), (200.0, 350.0, 300.0), (10.0, 20.0, 30.0)
    fig = figures.curves_figure({"tumour": CurveSummary("tumour", times, mean, sd, 10, "washout")})
    pdf_y = tuple(fig.axes[0].get_lines()[0].get_ydata())
    gui = in_percent(CurveLine("Tumour", times, mean, sd, "washout", (40, 40, 40)))
    assert gui.mean == pytest.approx(pdf_y) and pdf_y == pytest.approx((0.0, 75.0, 50.0))
    assert gui.sd == pytest.approx((5.0, 10.0, 15.0))
    assert fig.axes[0].get_ylabel() == CURVE_UNIT_LABEL
