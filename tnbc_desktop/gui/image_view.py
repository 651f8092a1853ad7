"""The axial slice viewer: DCE signal, subtraction, MIP or a kinetic map, with tumour / habitat / ring
overlays, orientation letters, a ruler and the tumour's longest diameter; it drives the coronal and sagittal
reformats (:mod:`tnbc_desktop.gui.reformat_views`).

Arrays are [z, y, x]; the displayed slice is ``data[phase, z]`` drawn row-major with each pixel
``spacing_x`` mm wide and ``spacing_y`` mm high (aspect locked), rows downward, so anisotropic voxels keep
their true shape. Display modes: ``"signal"``; ``"subtraction"`` = phase shown - pre-contrast (phase 1 for
people; the early phase by default); ``"mip"`` = axial maximum intensity projection of that subtraction
(computed once per phase, slice by slice, and cached); or a kinetic map name. Each of signal / subtraction /
MIP keeps its own window, defaulting to :func:`tnbc_desktop.core.display_window.default_window` on the early
phase. When a kinetic map is shown the habitat fill is hidden (its own opacity, 0 by default) so the map is
read, not the habitats. Keys (when the view has focus): Up/Down or wheel = slice, ``[`` / ``]`` = phase,
``g`` = segmentation overlay on/off; mouse conventions in :mod:`tnbc_desktop.gui.slice_viewbox`.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QVBoxLayout, QWidget

from tnbc_desktop.core.display_window import DisplayWindow
from tnbc_desktop.core.orientation import plane_frame
from tnbc_desktop.core.regions import bounding_box
from tnbc_desktop.core.study import DCEStudy
from tnbc_desktop.gui.kinetic_colours import MapStyle, map_style
from tnbc_desktop.gui.overlays import OverlayCache, OverlayToggles, outline_rgba
from tnbc_desktop.gui.slice_viewbox import SliceViewBox
from tnbc_desktop.gui.view_annotations import DiameterLine, OrientationMarkers, Ruler
from tnbc_desktop.gui.view_windowing import ViewWindowing

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

MAP_UNITS = {"PE": "PE (%)", "SER": "SER (ratio)", "WIS": "WIS (%/min)", "WOS": "WOS (%/min)"}
IMAGE_MODES = ("signal", "subtraction", "mip")


class KeyGraphicsView(pg.GraphicsLayoutWidget):
    """Graphics widget that hands viewer keys to its owner before pyqtgraph sees them."""

    def __init__(self, on_key):
        super().__init__()
        self._on_key = on_key
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def keyPressEvent(self, ev):  # noqa: N802
        if not self._on_key(ev.key(), ev.text()):
            super().keyPressEvent(ev)


class SliceView(ViewWindowing, QWidget):
    """Axial viewer. Signals: ``sliceChanged(int)``, ``phaseChanged(int)``, ``windowChanged(float, float)``,
    ``cursorMoved(int, int, int)`` (z, y, x of the voxel under the mouse; -1s when outside),
    ``modeChanged(str)``."""

    sliceChanged = Signal(int)
    phaseChanged = Signal(int)
    windowChanged = Signal(float, float)
    cursorMoved = Signal(int, int, int)
    overlaysToggled = Signal(bool)
    modeChanged = Signal(str)
    windowDefaultsChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.study: DCEStudy | None = None
        self.overlays = OverlayCache()
        self.maps: dict[str, np.ndarray] = {}
        self.map_styles: dict[str, MapStyle] = {}
        self.mode = "signal"
        self.reformats: list = []
        self._z = 0
        self._phase = 0
        self._early = 1
        self._windows: dict[str, DisplayWindow] = {}  # set by the user (drag, preset); else the default
        self._body_windows: dict[str, DisplayWindow] = {}
        self._default_windows: dict[str, DisplayWindow] = {}
        self._window_mask = None
        self._mip_cache: dict[int, np.ndarray] = {}
        self._opacity = 0.6
        self._map_opacity = 0.0
        self._segmentation_visible = True

        self.graphics = KeyGraphicsView(self.handle_key)
        self.box = SliceViewBox(self.step_slice, self.drag_window, self.reset_window)
        self.box.on_point_click = lambda pos: self.navigate_to(self.voxel_at(pos))
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
        self.markers = OrientationMarkers(self.box)
        self.ruler = Ruler(self.box)
        self.diameter = DiameterLine(self.box)
        self.graphics.scene().sigMouseMoved.connect(self._mouse_moved)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)

    # ---------------------------------------------------------------- data
    def set_study(self, study: DCEStudy, early_phase: int | None = None) -> None:
        self.study = study
        self._early = min(early_phase if early_phase is not None else 1, study.n_phases - 1)
        self._mip_cache = {}
        self._window_mask = None
        self._body_windows = {}
        self._default_windows = {}
        self._windows = {}
        self.maps = {}
        self.map_styles = {}
        self.mode = "signal"
        self.overlays = OverlayCache(toggles=self.overlays.toggles)
        self.ruler.stop()
        self.diameter.set_line(None)
        sy, sx = study.spacing_mm[1], study.spacing_mm[2]
        transform = QTransform.fromScale(sx, sy)
        for item in (self.image, self.map_image, self.fill_image, self.outline_image):
            item.setTransform(transform)
        self.markers.set_letters(plane_frame(study.geometry.direction, "axial").markers())
        self._z = study.data.shape[1] // 2
        self._phase = self._early
        for view in self.reformats:
            view.set_study(study)
        self.redraw()
        self.reset_zoom()
        self.windowDefaultsChanged.emit()

    def attach_reformat(self, view) -> None:
        """Drive a :class:`~tnbc_desktop.gui.reformat_views.PlaneView` from this view."""
        self.reformats.append(view)
        if self.study is not None:
            view.set_study(self.study)

    def set_overlays(self, mask: np.ndarray | None = None, labels: np.ndarray | None = None,
                     ring: np.ndarray | None = None, centre_on_mask: bool = False) -> None:
        """Overlay arrays on the study grid ([z, y, x]; mask/ring bool, labels uint8 0..3)."""
        self.overlays = OverlayCache(mask=mask, labels=labels, ring=ring, toggles=self.overlays.toggles)
        if mask is not self._window_mask:  # a new mask: the default windows keep the lesion unsaturated
            self._window_mask = mask
            self._default_windows = {}
            self.windowDefaultsChanged.emit()
        if centre_on_mask and mask is not None and mask.any():
            self._z = int(np.argmax(mask.reshape(mask.shape[0], -1).sum(axis=1)))
            self._centre_reformats(mask)
            self.sliceChanged.emit(self._z)
        self.redraw()
        self.windowChanged.emit(*self.window)

    def refresh_overlays(self, box: tuple[slice, slice, slice] | None = None) -> None:
        """Redraw the overlays of the shown slice after their arrays were changed in place (mask editing);
        ``box`` ([z, y, x] slices of the change) limits the recomputation to the changed rows and columns."""
        ov = self.overlays
        if box is not None and box[0].start <= self._z < box[0].stop:
            ov.update_region(self._z, box[1], box[2])
        else:
            self.overlays = OverlayCache(mask=ov.mask, labels=ov.labels, ring=ov.ring, toggles=ov.toggles)
        self._draw_overlays()
        for view in self.reformats:
            view.draw_overlays()

    def _centre_reformats(self, mask: np.ndarray) -> None:
        box = bounding_box(mask)
        centre = [(b.start + b.stop - 1) // 2 for b in box]
        for view in self.reformats:
            if view.frame is not None:
                view.set_slice(centre[view.frame.slice_axis])

    def set_kinetic_maps(self, maps: dict[str, np.ndarray]) -> None:
        """Kinetic parameter maps by name (PE, SER, WIS, WOS), float [z, y, x], NaN outside the tumour."""
        self.maps = dict(maps)
        self.map_styles = {name: map_style(name, values) for name, values in self.maps.items()}
        if self.mode not in self.maps and self.mode not in IMAGE_MODES:
            self.mode = "signal"
        self.redraw()

    def navigate_to(self, zyx, source=None) -> None:
        """Move every plane but ``source`` (None = this axial view) through voxel ``zyx`` (a click)."""
        if zyx is None or self.study is None:
            return
        if source is not None:
            self.set_slice(int(zyx[0]))
        for view in self.reformats:
            if view is not source and view.frame is not None:
                view.set_slice(int(zyx[view.frame.slice_axis]))

    def set_diameter(self, diameters) -> None:
        """Draw a ``TumourDiameters``' longest axial diameter on its slice (None removes it)."""
        if diameters is None or self.study is None:
            self.diameter.set_line(None)
        else:
            sy, sx = self.study.spacing_mm[1], self.study.spacing_mm[2]
            a, b = (((p[2] + 0.5) * sx, (p[1] + 0.5) * sy) for p in diameters.axial_ends)
            self.diameter.set_line(int(diameters.axial_slice), a, b, f"{diameters.axial_mm:.1f} mm")
        self._show_diameter()

    # ---------------------------------------------------------------- state
    @property
    def current_slice(self) -> int:
        return self._z

    @property
    def current_phase(self) -> int:
        return self._phase

    @property
    def early_phase(self) -> int:
        return self._early

    @property
    def segmentation_visible(self) -> bool:
        return self._segmentation_visible

    @property
    def fill_opacity(self) -> float:
        """Opacity of the habitat/ring fill now: the map opacity (0 by default) while a kinetic map shows."""
        return self._map_opacity if self.mode in self.maps else self._opacity

    def n_slices(self) -> int:
        return 0 if self.study is None else int(self.study.data.shape[1])

    def set_slice(self, z: int) -> None:
        if self.study is None:
            return
        z = int(np.clip(z, 0, self.n_slices() - 1))
        if z != self._z:
            self._z = z
            self.redraw(reformats=False)
            for view in self.reformats:
                view.update_axial_line()
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
        """"signal", "subtraction", "mip" or the name of a kinetic map."""
        self.mode = mode if (mode in self.maps or mode in IMAGE_MODES) else "signal"
        self.redraw()
        self.modeChanged.emit(self.mode)
        self.windowChanged.emit(*self.window)

    def reset_zoom(self) -> None:
        if self.study is not None:
            _, ny, nx = self.study.data.shape[1:]
            sy, sx = self.study.spacing_mm[1], self.study.spacing_mm[2]
            self.box.setRange(QRectF(0, 0, nx * sx, ny * sy), padding=0.02)
        for view in self.reformats:
            view.reset_zoom()

    def set_opacity(self, opacity: float) -> None:
        """Fill opacity of the display shown (the kinetic maps keep their own, 0 by default)."""
        value = float(np.clip(opacity, 0.0, 1.0))
        if self.mode in self.maps:
            self._map_opacity = value
        else:
            self._opacity = value
        self.fill_image.setOpacity(self.fill_opacity)
        for view in self.reformats:
            view.fill_image.setOpacity(self.fill_opacity)

    def set_toggles(self, toggles: OverlayToggles) -> None:
        self.overlays.set_toggles(toggles)
        self._draw_overlays()
        for view in self.reformats:
            view.draw_overlays()

    def set_segmentation_visible(self, visible: bool) -> None:
        self._segmentation_visible = bool(visible)
        self._draw_overlays()
        for view in self.reformats:
            view.draw_overlays()
        self.overlaysToggled.emit(self._segmentation_visible)

    # ---------------------------------------------------------------- drawing
    def base_slice(self) -> np.ndarray:
        """The grey image of the axial view now: signal, subtraction or MIP."""
        data, p, z = self.study.data, self._phase, self._z
        if self.mode == "mip":
            return self.mip(p)
        if self.mode == "subtraction":
            return data[p, z] - data[0, z]
        return data[p, z]

    def reformat_base(self, view) -> np.ndarray:
        """The grey image of a reformat: signal, or the subtraction (also in MIP mode)."""
        data, p = self.study.data, self._phase
        if self.mode in ("subtraction", "mip"):
            return view.section(data[p]) - view.section(data[0])
        return view.section(data[p])

    def map_style_shown(self) -> MapStyle | None:
        return self.map_styles.get(self.mode)

    def redraw(self, reformats: bool = True) -> None:
        if self.study is None:
            return
        self.image.setImage(self.base_slice(), autoLevels=False)
        self._apply_levels()
        style = self.map_style_shown()
        self.map_image.setVisible(style is not None)
        self.colour_bar.setVisible(style is not None)
        if style is not None:
            self.map_image.setImage(self.maps[self.mode][self._z], autoLevels=False, levels=style.levels)
            self.colour_bar.setColorMap(style.colour_map)
            self.colour_bar.setLevels(style.levels)
            self.map_image.setColorMap(style.colour_map)
            self.colour_bar.axis.setLabel(MAP_UNITS.get(self.mode, self.mode))
        self._draw_overlays()
        self._show_diameter()
        if reformats:
            for view in self.reformats:
                view.redraw()

    def _apply_levels(self) -> None:
        level, width = self.window
        self.image.setLevels((level - width / 2.0, level + width / 2.0))
        for view in self.reformats:
            view.apply_levels()

    def _draw_overlays(self) -> None:
        fill = outline = None
        if self._segmentation_visible and not self.overlays.empty and self.study is not None:
            if self.mode == "mip":  # the projected tumour outline only
                projected = self._projected_mask()
                outline = None if projected is None else outline_rgba(projected, self.overlays.toggles)
            else:
                fill, outline = self.overlays.layers(self._z)
        for item, layer in ((self.fill_image, fill), (self.outline_image, outline)):
            if layer is None:
                item.setVisible(False)
            else:
                item.setImage(layer, autoLevels=False, levels=(0, 255))
                item.setVisible(True)
        self.fill_image.setOpacity(self.fill_opacity)

    def _projected_mask(self) -> np.ndarray | None:
        ov = self.overlays
        source = ov.mask if ov.mask is not None else (None if ov.labels is None else ov.labels > 0)
        return None if source is None else np.asarray(source, dtype=bool).any(axis=0)

    def _show_diameter(self) -> None:
        self.diameter.show_for(self._z, visible=self.mode != "mip" and self._segmentation_visible)

    # ---------------------------------------------------------------- interaction
    def handle_key(self, key: int, text: str) -> bool:
        """The viewer keys (module docstring); False when ``key`` is not one of them."""
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
