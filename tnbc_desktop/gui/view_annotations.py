"""Things drawn over a slice view in millimetre view coordinates: orientation letters at the four edges, a
ruler the user drags, and the tumour's longest diameter.

View coordinates are millimetres: a view's image item is scaled by the pixel spacing, so pixel (row r, col c)
covers [c sx, (c + 1) sx] x [r sy, (r + 1) sy] and a fractional voxel index f sits at (f + 0.5) s.
"""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF

from tnbc_desktop.core.palette import OKABE_ITO

MARKER_COLOUR = (255, 210, 0)
RULER_COLOUR = OKABE_ITO["sky_blue"]
DIAMETER_COLOUR = (255, 255, 255)


class OrientationMarkers:
    """Four letters (left, right, top, bottom) kept at the middle of the visible edges of a ViewBox."""

    ANCHORS = {"left": (0.0, 0.5), "right": (1.0, 0.5), "top": (0.5, 0.0), "bottom": (0.5, 1.0)}

    def __init__(self, box: pg.ViewBox):
        self.box = box
        self.items: dict[str, pg.TextItem] = {}
        for edge, anchor in self.ANCHORS.items():
            item = pg.TextItem("", color=MARKER_COLOUR, anchor=anchor)
            item.setZValue(50)
            box.addItem(item, ignoreBounds=True)
            self.items[edge] = item
        box.sigRangeChanged.connect(self._place)

    def set_letters(self, letters: dict[str, str]) -> None:
        for edge, item in self.items.items():
            item.setText(letters.get(edge, ""))
        self._place()

    def letters(self) -> dict[str, str]:
        return {edge: item.toPlainText() for edge, item in self.items.items()}

    def _place(self, *_args) -> None:
        r = self.box.viewRect()
        # the box has invertY: rect.top() is the smallest y, drawn at the top of the screen
        mid_x, mid_y = r.center().x(), r.center().y()
        pos = {"left": (r.left(), mid_y), "right": (r.right(), mid_y), "top": (mid_x, r.top()),
               "bottom": (mid_x, r.bottom())}
        for edge, item in self.items.items():
            item.setPos(*pos[edge])


class Ruler:
    """A draggable two-handle line whose length in mm is written beside it (``length_mm``)."""

    def __init__(self, box: pg.ViewBox):
        self.box = box
        self.roi: pg.LineSegmentROI | None = None
        self.label = pg.TextItem("", color=RULER_COLOUR, anchor=(0.0, 1.0))
        self.label.setZValue(60)

    @property
    def active(self) -> bool:
        return self.roi is not None

    def start(self, a_mm: tuple[float, float] | None = None, b_mm: tuple[float, float] | None = None) -> None:
        """Show the ruler from ``a_mm`` to ``b_mm`` (view coordinates; default: across the middle third)."""
        self.stop()
        if a_mm is None or b_mm is None:
            r = self.box.viewRect()
            a_mm = (r.left() + r.width() / 3, r.center().y())
            b_mm = (r.left() + 2 * r.width() / 3, r.center().y())
        self.roi = pg.LineSegmentROI([a_mm, b_mm], pen=pg.mkPen(RULER_COLOUR, width=2))
        self.roi.setZValue(60)
        self.box.addItem(self.roi)
        self.box.addItem(self.label, ignoreBounds=True)
        self.roi.sigRegionChanged.connect(self._update)
        self._update()

    def stop(self) -> None:
        if self.roi is not None:
            self.box.removeItem(self.roi)
            self.box.removeItem(self.label)
            self.roi = None

    def ends_mm(self) -> tuple[QPointF, QPointF] | None:
        if self.roi is None:
            return None
        a, b = (self.roi.mapToParent(h["item"].pos()) for h in self.roi.handles)
        return a, b

    def length_mm(self) -> float | None:
        ends = self.ends_mm()
        if ends is None:
            return None
        a, b = ends
        return math.hypot(b.x() - a.x(), b.y() - a.y())

    def _update(self, *_args) -> None:
        a, b = self.ends_mm()
        self.label.setText(f"{self.length_mm():.1f} mm")
        self.label.setPos(max(a, b, key=lambda p: p.x()))


class DiameterLine:
    """The tumour's longest axial diameter: a dashed line with its length, shown on its own slice only."""

    def __init__(self, box: pg.ViewBox):
        self.line = pg.PlotDataItem(pen=pg.mkPen(DIAMETER_COLOUR, width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.label = pg.TextItem("", color=DIAMETER_COLOUR, anchor=(0.0, 0.0))
        for item in (self.line, self.label):
            item.setZValue(55)
            box.addItem(item, ignoreBounds=True)
        self.slice: int | None = None
        self.set_line(None)

    def set_line(self, slice_index: int | None, a_mm=None, b_mm=None, text: str = "") -> None:
        """Line from ``a_mm`` to ``b_mm`` ((x, y) view mm) on axial slice ``slice_index``; None hides it."""
        self.slice = slice_index
        if slice_index is None:
            self.line.setData([], [])
            self.label.setText("")
            return
        self.line.setData([a_mm[0], b_mm[0]], [a_mm[1], b_mm[1]])
        self.label.setText(text)
        self.label.setPos(*max(a_mm, b_mm))

    def show_for(self, z: int, visible: bool = True) -> None:
        on = visible and self.slice is not None and z == self.slice
        self.line.setVisible(on)
        self.label.setVisible(on)

    @property
    def visible(self) -> bool:
        return self.line.isVisible()
