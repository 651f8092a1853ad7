"""Mean signal vs time for each habitat, the tumour, the ring and the voxel under the cursor.

Each curve is a region curve from the core (``tnbc_desktop.core.curves.RegionCurve``: ``times`` s,
``mean`` and ``sd`` per phase, ``curve_type`` persistent / plateau / washout); the legend names its type.
A vertical line marks the phase on screen.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

CURVE_TYPE_TEXT = {"persistent": "persistent", "plateau": "plateau", "washout": "wash-out", "wash-out": "wash-out"}


@dataclass(frozen=True)
class CurveLine:
    """One drawn curve: ``times_s`` and ``mean`` (phase,), optional ``sd``; rgb colour; dashed or not."""

    name: str
    times_s: tuple[float, ...]
    mean: tuple[float, ...]
    sd: tuple[float, ...] | None
    curve_type: str | None
    rgb: tuple[int, int, int]
    dashed: bool = False

    @property
    def label(self) -> str:
        kind = CURVE_TYPE_TEXT.get(self.curve_type or "", self.curve_type)
        return f"{self.name} - {kind}" if kind else self.name


def curve_line(name: str, region_curve, rgb, dashed: bool = False) -> CurveLine:
    """A :class:`CurveLine` from a core ``RegionCurve`` or ``CurveSummary`` (times_s, mean, sd, curve_type)."""
    sd = getattr(region_curve, "sd", None)
    return CurveLine(name, tuple(float(t) for t in region_curve.times_s),
                     tuple(float(v) for v in region_curve.mean),
                     None if sd is None else tuple(float(v) for v in sd),
                     getattr(region_curve, "curve_type", None), tuple(rgb), dashed)


class CurvesView(QWidget):
    """Plot of region curves; ``set_curves``, ``set_cursor_curve``, ``set_phase_time``."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "time after pre-contrast (s)")
        self.plot.setLabel("left", "mean signal (scanner units)")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.legend = self.plot.addLegend(offset=(5, 5), labelTextSize="8pt", labelTextColor="k")
        self.phase_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((120, 120, 120), width=1,
                                                                                  style=pg.QtCore.Qt.PenStyle.DotLine))
        self.plot.addItem(self.phase_line)
        self.phase_line.setVisible(False)
        self.lines: list[CurveLine] = []
        self.cursor_line: CurveLine | None = None
        self._cursor_item = None
        self._error_bars: list = []
        self.summary = QLabel("")
        self.summary.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.plot)

    def set_summary(self, text: str) -> None:
        """The tumour's curve type line above the plot (most suspicious and mean curve); "" hides it."""
        self.summary.setText(f"Tumour {text}" if text else "")
        self.summary.setVisible(bool(text))

    def set_curves(self, lines: list[CurveLine]) -> None:
        self.lines = list(lines)
        self._rebuild()

    def set_cursor_curve(self, line: CurveLine | None) -> None:
        """The voxel-under-cursor curve (drawn dashed), or None to remove it."""
        self.cursor_line = line
        if self._cursor_item is not None:
            self.plot.removeItem(self._cursor_item)
            self.legend.removeItem(self._cursor_item)
            self._cursor_item = None
        if line is not None:
            self._cursor_item = self._draw(line)

    def set_phase_time(self, time_s: float | None) -> None:
        self.phase_line.setVisible(time_s is not None)
        if time_s is not None:
            self.phase_line.setValue(float(time_s))

    def legend_labels(self) -> list[str]:
        return [label.text for _sample, label in self.legend.items]

    def _rebuild(self) -> None:
        for item in list(self.plot.listDataItems()) + self._error_bars:
            self.plot.removeItem(item)
        self._error_bars = []
        self.legend.clear()
        self._cursor_item = None
        for line in self.lines:
            self._draw(line)
        if self.cursor_line is not None:
            self._cursor_item = self._draw(self.cursor_line)

    def _draw(self, line: CurveLine):
        style = pg.QtCore.Qt.PenStyle.DashLine if line.dashed else pg.QtCore.Qt.PenStyle.SolidLine
        pen = pg.mkPen(line.rgb, width=2, style=style)
        item = self.plot.plot(np.asarray(line.times_s), np.asarray(line.mean), pen=pen, symbol="o", symbolSize=5,
                              symbolBrush=line.rgb, symbolPen=None, name=line.label)
        if line.sd is not None and not line.dashed:
            err = pg.ErrorBarItem(x=np.asarray(line.times_s), y=np.asarray(line.mean),
                                  height=2 * np.asarray(line.sd), pen=pg.mkPen(line.rgb + (90,), width=1))
            self.plot.addItem(err)
            self._error_bars.append(err)
        return item
