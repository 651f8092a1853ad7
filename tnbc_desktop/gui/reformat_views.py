"""Coronal and sagittal reformats shown beside the axial view, driven by it (same phase, display mode,
window and overlays).

A reformat is a plain slice of the study array (a strided view, never a copy of the 4D data): coronal =
``[:, y, :]`` (rows z, columns x), sagittal = ``[:, :, x]`` (rows z, columns y), drawn with the real spacing of
its rows and columns (aspect locked) and flipped vertically so the head is on top (see
:mod:`tnbc_desktop.core.orientation`, which also gives the edge letters). A dashed line marks the axial
slice on screen. Mouse: wheel = this reformat's slice, left-drag = the shared window/level, ctrl +
double-click = reset, right-drag zoom, middle-drag pan (as the axial view), a left click moves the other
planes through the voxel clicked; keys: Up/Down = this reformat's
slice, ``[`` / ``]`` and ``g`` as in the axial view.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from tnbc_desktop.core.orientation import PlaneFrame, plane_frame
from tnbc_desktop.gui.image_view import KeyGraphicsView
from tnbc_desktop.gui.overlays import fill_rgba, outline_rgba
from tnbc_desktop.gui.slice_viewbox import SliceViewBox
from tnbc_desktop.gui.view_annotations import OrientationMarkers


def plane_slice(volume: np.ndarray, frame: PlaneFrame, index: int) -> np.ndarray:
    """The 2D [rows, cols] section of a [z, y, x] volume at ``index`` along the frame's slice axis, flipped
    as the frame says (a view of ``volume``, not a copy)."""
    section = _section(volume, frame.slice_axis, int(index))
    return section[::-1] if frame.flip_rows else section


def _section(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    key = [slice(None)] * volume.ndim
    key[axis] = index
    return volume[tuple(key)]


class PlaneView(QWidget):
    """One reformatted plane ("coronal" or "sagittal") of the owner's study. Signal ``sliceChanged(int)``."""

    sliceChanged = Signal(int)

    def __init__(self, plane: str, owner, parent: QWidget | None = None):
        super().__init__(parent)
        self.plane = plane
        self.owner = owner  # the axial SliceView: study, mode, phase, window, overlays
        self.frame: PlaneFrame | None = None
        self._index = 0
        self._overlay_key = None  # what the overlay layers were drawn from: redrawn only when it changes
        self.title = QLabel(plane.capitalize())
        self.title.setStyleSheet("QLabel { color: #ddd; background: #222; padding: 1px 4px; }")
        self.graphics = KeyGraphicsView(self._handle_key)
        self.box = SliceViewBox(self.step_slice, owner.drag_window, owner.reset_window)
        self.box.on_point_click = lambda pos: owner.navigate_to(self.voxel_at(pos), source=self)
        self.graphics.addItem(self.box, row=0, col=0)
        self.image, self.map_image, self.fill_image, self.outline_image = (pg.ImageItem() for _ in range(4))
        for z_order, item in enumerate((self.image, self.map_image, self.fill_image, self.outline_image)):
            item.setZValue(z_order)
            self.box.addItem(item)
        self.axial_line = pg.InfiniteLine(angle=0, movable=False,
                                          pen=pg.mkPen((255, 210, 0, 150), width=1, style=Qt.PenStyle.DashLine))
        self.axial_line.setZValue(10)
        self.box.addItem(self.axial_line, ignoreBounds=True)
        self.markers = OrientationMarkers(self.box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics)

    # ---------------------------------------------------------------- geometry
    def set_study(self, study) -> None:
        self.frame = plane_frame(study.geometry.direction, self.plane)
        sp = study.spacing_mm
        transform = QTransform.fromScale(sp[self.frame.cols_axis], sp[self.frame.rows_axis])
        for item in (self.image, self.map_image, self.fill_image, self.outline_image):
            item.setTransform(transform)
        self.markers.set_letters(self.frame.markers())
        self._index = study.data.shape[1 + self.frame.slice_axis] // 2
        self.redraw()
        self.reset_zoom()

    def n_slices(self) -> int:
        study = self.owner.study
        return 0 if study is None or self.frame is None else int(study.data.shape[1 + self.frame.slice_axis])

    @property
    def current_slice(self) -> int:
        return self._index

    def set_slice(self, index: int) -> None:
        if self.owner.study is None or self.frame is None:
            return
        index = int(np.clip(index, 0, self.n_slices() - 1))
        if index != self._index:
            self._index = index
            self.redraw()
            self.sliceChanged.emit(index)

    def step_slice(self, delta: int) -> None:
        self.set_slice(self._index + delta)

    def _handle_key(self, key: int, text: str) -> bool:
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Right):
            self.step_slice(1)
            return True
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Left):
            self.step_slice(-1)
            return True
        return self.owner.handle_key(key, text)

    def reset_zoom(self) -> None:
        study = self.owner.study
        if study is None or self.frame is None:
            return
        sp, shape = study.spacing_mm, study.data.shape[1:]
        w = shape[self.frame.cols_axis] * sp[self.frame.cols_axis]
        h = shape[self.frame.rows_axis] * sp[self.frame.rows_axis]
        self.box.setRange(QRectF(0, 0, w, h), padding=0.02)

    def voxel_at(self, scene_pos) -> tuple[int, int, int] | None:
        """(z, y, x) study index of the voxel under a scene position in this plane, or None outside."""
        study = self.owner.study
        if study is None or self.frame is None or not self.box.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.box.mapSceneToView(scene_pos)
        f, sp, shape = self.frame, study.spacing_mm, study.data.shape[1:]
        row, col = int(np.floor(p.y() / sp[f.rows_axis])), int(np.floor(p.x() / sp[f.cols_axis]))
        if not (0 <= row < shape[f.rows_axis] and 0 <= col < shape[f.cols_axis]):
            return None
        if f.flip_rows:
            row = shape[f.rows_axis] - 1 - row
        zyx = [0, 0, 0]
        zyx[f.slice_axis], zyx[f.rows_axis], zyx[f.cols_axis] = self._index, row, col
        return tuple(zyx)

    def section(self, volume: np.ndarray) -> np.ndarray:
        """This view's current section of a [z, y, x] volume."""
        return plane_slice(volume, self.frame, self._index)

    # ---------------------------------------------------------------- drawing
    def redraw(self) -> None:
        owner, study = self.owner, self.owner.study
        if study is None or self.frame is None:
            return
        self.image.setImage(np.ascontiguousarray(owner.reformat_base(self)), autoLevels=False)
        self.apply_levels()
        style = owner.map_style_shown()
        self.map_image.setVisible(style is not None)
        if style is not None:
            self.map_image.setImage(np.ascontiguousarray(self.section(owner.maps[owner.mode])), autoLevels=False,
                                    levels=style.levels)
            self.map_image.setColorMap(style.colour_map)
        self.draw_overlays()
        self.update_axial_line()
        self.title.setText(f"{self.plane.capitalize()}  slice {self._index + 1}/{self.n_slices()}")

    def apply_levels(self) -> None:
        level, width = self.owner.window
        self.image.setLevels((level - width / 2.0, level + width / 2.0))

    def draw_overlays(self) -> None:
        owner = self.owner
        ov = owner.overlays
        key = (ov, ov.toggles, self._index, owner.segmentation_visible)
        if self._overlay_key is not None and all(a is b or a == b for a, b in zip(key, self._overlay_key)):
            self.fill_image.setOpacity(owner.fill_opacity)  # a phase or mode change: the layers stand
            return
        self._overlay_key = key
        fill = outline = None
        if owner.segmentation_visible and not ov.empty:
            mask, labels, ring = (None if a is None else self.section(a) for a in (ov.mask, ov.labels, ov.ring))
            fill = fill_rgba(labels, mask, ring, ov.toggles)
            edge = mask if mask is not None else (labels > 0 if labels is not None else None)
            outline = outline_rgba(edge, ov.toggles)
        for item, layer in ((self.fill_image, fill), (self.outline_image, outline)):
            item.setVisible(layer is not None)
            if layer is not None:
                item.setImage(np.ascontiguousarray(layer), autoLevels=False, levels=(0, 255))
        self.fill_image.setOpacity(owner.fill_opacity)

    def update_axial_line(self) -> None:
        study = self.owner.study
        if study is None or self.frame is None:
            return
        nz, sz = study.data.shape[1], study.spacing_mm[0]
        z = self.owner.current_slice
        row = (nz - 1 - z) if self.frame.flip_rows else z
        self.axial_line.setValue((row + 0.5) * sz)
        self.axial_line.setVisible(self.owner.mode != "mip")
