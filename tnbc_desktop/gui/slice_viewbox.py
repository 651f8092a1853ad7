"""A pyqtgraph ViewBox with the mouse conventions of 3D Slicer.

Wheel: change slice; left-drag: window/level (horizontal = width, vertical = level); right-drag: zoom about
the press point; middle-drag: pan; ctrl + double-click: reset window/level. The box does not know about
images; it calls back into its owner (``SliceView``) through plain callables. While a mask tool is chosen
(``left_tool`` set, see ``gui.segment_tools``), the left button clicks / drags go to the tool instead of
window/level, and Shift + wheel goes to the tool (brush radius, as in 3D Slicer's Paint effect). Otherwise a
plain left click goes to ``on_point_click(scene_pos)`` when set: the viewer moves the other planes there.
"""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt


class SliceViewBox(pg.ViewBox):
    """ViewBox with Slicer-style mouse handling. Callbacks: ``on_slice_step(int)``,
    ``on_window_drag(dx_px, dy_px)``, ``on_reset_window()``."""

    def __init__(self, on_slice_step, on_window_drag, on_reset_window):
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self._on_slice_step = on_slice_step
        self._on_window_drag = on_window_drag
        self._on_reset_window = on_reset_window
        self.left_tool = None  # object with tool_click/press/move/release(scene_pos) and tool_wheel(delta)
        self.on_point_click = None  # callable(scene_pos) for a plain left click when no tool is chosen

    def wheelEvent(self, ev, axis=None):  # noqa: N802 (Qt naming)
        delta = ev.delta() if hasattr(ev, "delta") else ev.angleDelta().y()
        if delta and self.left_tool is not None and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.left_tool.tool_wheel(1 if delta > 0 else -1)
        elif delta:
            self._on_slice_step(1 if delta > 0 else -1)
        ev.accept()

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802
        ev.accept()
        if self.left_tool is not None and ev.button() == Qt.MouseButton.LeftButton:
            if ev.isStart():
                self.left_tool.tool_press(ev.buttonDownScenePos())
            self.left_tool.tool_move(ev.scenePos())
            if ev.isFinish():
                self.left_tool.tool_release(ev.scenePos())
            return
        if ev.isStart():
            return
        d = ev.screenPos() - ev.lastScreenPos()
        button = ev.button()
        if button == Qt.MouseButton.LeftButton:
            self._on_window_drag(float(d.x()), float(d.y()))
        elif button == Qt.MouseButton.RightButton:
            factor = math.exp(float(d.y()) * 0.01)
            self.scaleBy((factor, factor), center=self.mapToView(ev.buttonDownPos()))
        elif button == Qt.MouseButton.MiddleButton:
            shift = self.mapToView(ev.pos()) - self.mapToView(ev.lastPos())
            self.translateBy(x=-shift.x(), y=-shift.y())

    def mouseClickEvent(self, ev):  # noqa: N802
        if self.left_tool is not None and ev.button() == Qt.MouseButton.LeftButton and not ev.double():
            self.left_tool.tool_click(ev.scenePos())
            ev.accept()
            return
        if ev.double() and ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self._on_reset_window()
            ev.accept()
            return
        if self.on_point_click is not None and ev.button() == Qt.MouseButton.LeftButton and not ev.double():
            self.on_point_click(ev.scenePos())
        ev.accept()
