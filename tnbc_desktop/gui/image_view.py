"""The axial slice viewer: DCE signal or a kinetic map, with tumour / habitat / ring overlays.

Arrays are [z, y, x]; the displayed slice is ``data[phase, z]`` drawn row-major with each pixel
``spacing_x`` mm wide and ``spacing_y`` mm high (aspect locked), rows downward, so anisotropic voxels keep
their true shape. Keys (when the view has focus): Up/Down or wheel = slice, ``[`` / ``]`` = phase,
``g`` = segmentation overlay on/off; mouse conventions in :mod:`tnbc_desktop.gui.slice_viewbox`.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QVBoxLayout, QWidget

from tnbc_desktop.core.study import DCEStudy
from tnbc_desktop.gui.overlays import OverlayCache, OverlayToggles
from tnbc_desktop.gui.slice_viewbox import SliceViewBox

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

MAP_UNITS = {"PE": "PE (%)", "SER": "SER (ratio)", "WIS": "WIS (%/min)", "WOS": "WOS (%/min)"}


class _KeyGraphicsView(pg.GraphicsLayoutWidget):
    """Graphics widget that hands viewer keys to its owner before pyqtgraph sees them."""

    def __init__(self, on_key):
        super().__init__()
        self._on_key = on_key
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def keyPressEvent(self, ev):  # noqa: N802
        if not self._on_key(ev.key(), ev.text()):
            super().keyPressEvent(ev)


def auto_window(study: DCEStudy) -> tuple[float, float]:
    """(level, width) spanning the 1st-99.5th percentile of a subsample of all phases (signal units)."""
    sample = study.data[:, ::2, ::3, ::3]
    lo, hi = np.nanpercentile(sample, [1.0, 99.5])
    width = max(float(hi - lo), 1e-6)
    return float(lo) + width / 2.0, width


class SliceView(QWidget):
    """Axial viewer. Signals: ``sliceChanged(int)``, ``phaseChanged(int)``, ``windowChanged(float, float)``,
    ``cursorMoved(int, int, int)`` (z, y, x of the voxel under the mouse; -1s when outside)."""

    sliceChanged = Signal(int)
    phaseChanged = Signal(int)
    windowChanged = Signal(float, float)
    cursorMoved = Signal(int, int, int)
    overlaysToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.study: DCEStudy | None = None
        self.overlays = OverlayCache()
        self.maps: dict[str, np.ndarray] = {}
        self.mode = "signal"
        self._z = 0
        self._phase = 0
        self._level, self._width = 0.0, 1.0
        self._default_window = (0.0, 1.0)
        self._opacity = 0.6
        self._segmentation_visible = True

        self.graphics = _KeyGraphicsView(self._handle_key)
        self.box = SliceViewBox(self.step_slice, self._drag_window, self.reset_window)
        self.graphics.addItem(self.box, row=0, col=0)
        self.image = pg.ImageItem()
        self.map_image = pg.ImageItem()
        self.fill_image = pg.ImageItem()
        self.outline_image = pg.ImageItem()
        for z_order, item in enumerate((self.image, self.map_image, self.fill_image, self.outline_image)):
            item.setZValue(z_order)
            self.box.addItem(item)
        self.fill_image.setOpacity(self._opacity)
        self.map_image.setVisible(False)
        self.colour_bar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False, width=14)
        self.colour_bar.setImageItem(self.map_image)
        self.graphics.addItem(self.colour_bar, row=0, col=1)
        self.colour_bar.setVisible(False)
        self.graphics.scene().sigMouseMoved.connect(self._mouse_moved)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)

    # ---------------------------------------------------------------- data
    def set_study(self, study: DCEStudy, early_phase: int | None = None) -> None:
        self.study = study
        self._default_window = auto_window(study)
        self._level, self._width = self._default_window
        self.maps = {}
        self.mode = "signal"
        self.overlays = OverlayCache(toggles=self.overlays.toggles)
        sy, sx = study.spacing_mm[1], study.spacing_mm[2]
        transform = QTransform.fromScale(sx, sy)
        for item in (self.image, self.map_image, self.fill_image, self.outline_image):
            item.setTransform(transform)
        self._z = study.data.shape[1] // 2
        self._phase = min(early_phase if early_phase is not None else 1, study.n_phases - 1)
        self.redraw()
        self.reset_zoom()

    def set_overlays(self, mask: np.ndarray | None = None, labels: np.ndarray | None = None,
                     ring: np.ndarray | None = None, centre_on_mask: bool = False) -> None:
        """Overlay arrays on the study grid ([z, y, x]; mask/ring bool, labels uint8 0..3)."""
        self.overlays = OverlayCache(mask=mask, labels=labels, ring=ring, toggles=self.overlays.toggles)
        if centre_on_mask and mask is not None and mask.any():
            self._z = int(np.argmax(mask.reshape(mask.shape[0], -1).sum(axis=1)))
            self.sliceChanged.emit(self._z)
        self.redraw()

    def set_kinetic_maps(self, maps: dict[str, np.ndarray]) -> None:
        """Kinetic parameter maps by name (PE, SER, WIS, WOS), float [z, y, x], NaN outside the tumour."""
        self.maps = dict(maps)
        if self.mode not in self.maps:
            self.mode = "signal"
        self.redraw()

    # ---------------------------------------------------------------- state
    @property
    def current_slice(self) -> int:
        return self._z

    @property
    def current_phase(self) -> int:
        return self._phase

    @property
    def window(self) -> tuple[float, float]:
        """(level, width) in signal units."""
        return self._level, self._width

    @property
    def segmentation_visible(self) -> bool:
        return self._segmentation_visible

    def n_slices(self) -> int:
        return 0 if self.study is None else int(self.study.data.shape[1])

    def set_slice(self, z: int) -> None:
        if self.study is None:
            return
        z = int(np.clip(z, 0, self.n_slices() - 1))
        if z != self._z:
            self._z = z
            self.redraw()
            self.sliceChanged.emit(z)

    def step_slice(self, delta: int) -> None:
        self.set_slice(self._z + delta)

    def set_phase(self, phase: int) -> None:
        if self.study is None:
            return
        phase = int(np.clip(phase, 0, self.study.n_phases - 1))
        if phase != self._phase:
            self._phase = phase
            self.redraw()
            self.phaseChanged.emit(phase)

    def step_phase(self, delta: int) -> None:
        self.set_phase(self._phase + delta)

    def set_mode(self, mode: str) -> None:
        """"signal" or the name of a kinetic map."""
        self.mode = mode if mode in self.maps else "signal"
        self.redraw()

    def set_window(self, level: float, width: float) -> None:
        self._level, self._width = float(level), max(float(width), 1e-6)
        self._apply_levels()
        self.windowChanged.emit(self._level, self._width)

    def reset_window(self) -> None:
        self.set_window(*self._default_window)

    def reset_zoom(self) -> None:
        if self.study is not None:
            _, ny, nx = self.study.data.shape[1:]
            sy, sx = self.study.spacing_mm[1], self.study.spacing_mm[2]
            self.box.setRange(QRectF(0, 0, nx * sx, ny * sy), padding=0.02)

    def set_opacity(self, opacity: float) -> None:
        self._opacity = float(np.clip(opacity, 0.0, 1.0))
        self.fill_image.setOpacity(self._opacity)

    def set_toggles(self, toggles: OverlayToggles) -> None:
        self.overlays.set_toggles(toggles)
        self._draw_overlays()

    def set_segmentation_visible(self, visible: bool) -> None:
        self._segmentation_visible = bool(visible)
        self._draw_overlays()
        self.overlaysToggled.emit(self._segmentation_visible)

    # ---------------------------------------------------------------- drawing
    def redraw(self) -> None:
        if self.study is None:
            return
        self.image.setImage(self.study.data[self._phase, self._z], autoLevels=False)
        self._apply_levels()
        show_map = self.mode in self.maps
        self.map_image.setVisible(show_map)
        self.colour_bar.setVisible(show_map)
        if show_map:
            values = self.maps[self.mode]
            finite = values[np.isfinite(values)]
            lo, hi = (np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0))
            hi = hi if hi > lo else lo + 1.0
            self.map_image.setImage(values[self._z], autoLevels=False, levels=(float(lo), float(hi)))
            self.colour_bar.setLevels((float(lo), float(hi)))
            self.colour_bar.axis.setLabel(MAP_UNITS.get(self.mode, self.mode))
        self._draw_overlays()

    def _apply_levels(self) -> None:
        self.image.setLevels((self._level - self._width / 2.0, self._level + self._width / 2.0))

    def _draw_overlays(self) -> None:
        fill = outline = None
        if self._segmentation_visible and not self.overlays.empty and self.study is not None:
            fill, outline = self.overlays.layers(self._z)
        for item, layer in ((self.fill_image, fill), (self.outline_image, outline)):
            if layer is None:
                item.setVisible(False)
            else:
                item.setImage(layer, autoLevels=False, levels=(0, 255))
                item.setVisible(True)

    # ---------------------------------------------------------------- interaction
    def _drag_window(self, dx_px: float, dy_px: float) -> None:
        step = self._default_window[1] / 400.0
        self.set_window(self._level - dy_px * step, self._width + dx_px * step)

    def _handle_key(self, key: int, text: str) -> bool:
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Right):
            self.step_slice(1)
        elif key in (Qt.Key.Key_Down, Qt.Key.Key_Left):
            self.step_slice(-1)
        elif text == "]":
            self.step_phase(1)
        elif text == "[":
            self.step_phase(-1)
        elif text.lower() == "g":
            self.set_segmentation_visible(not self._segmentation_visible)
        else:
            return False
        return True

    def voxel_at(self, scene_pos) -> tuple[int, int, int] | None:
        """(z, y, x) of the voxel under a scene position, or None outside the image."""
        if self.study is None or not self.box.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.box.mapSceneToView(scene_pos)
        sy, sx = self.study.spacing_mm[1], self.study.spacing_mm[2]
        y, x = int(np.floor(p.y() / sy)), int(np.floor(p.x() / sx))
        _, ny, nx = self.study.data.shape[1:]
        if 0 <= y < ny and 0 <= x < nx:
            return self._z, y, x
        return None

    def _mouse_moved(self, scene_pos) -> None:
        voxel = self.voxel_at(scene_pos)
        self.cursorMoved.emit(*(voxel if voxel is not None else (-1, -1, -1)))
