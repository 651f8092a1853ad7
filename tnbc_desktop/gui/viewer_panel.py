"""The centre of the window: the axial view (with coronal and sagittal reformats beside it in the 3-view
layout), its controls (slice, phase, display, window presets, layout, ruler), overlay toggles, the habitat
legend and the tumour's reading (longest diameters, curve type)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider,
                               QSplitter, QVBoxLayout, QWidget)

from tnbc_desktop.core.phase_numbering import phase_name
from tnbc_desktop.core.study import DCEStudy
from tnbc_desktop.gui.image_view import SliceView
from tnbc_desktop.gui.reformat_views import PlaneView
from tnbc_desktop.gui.readout import voxel_readout
from tnbc_desktop.gui.overlays import OverlayToggles, habitat_legend_rows
from tnbc_desktop.gui.palette import OUTLINE_COLOUR, RING_COLOUR, hex_colour


VIEWER_HELP = (
    "Mouse (3D Slicer conventions): wheel = slice; left-drag = window/level; ctrl + double-click = reset the "
    "window; right-drag = zoom; middle-drag = pan; left click = move the other planes through that voxel.\n"
    "Keys over a view: Up/Down = slice; [ and ] = phase; g = overlays on/off.\n"
    "Display: DCE signal, subtraction (phase shown - phase 1, the early phase by default), MIP of that "
    "subtraction, or a kinetic map (the habitat fill is hidden under a map; the opacity slider brings it "
    "back). Letters at the edges: patient Right/Left, Anterior/Posterior, Superior/Inferior from the "
    "study's orientation. Ruler: drag its ends; lengths in mm. The dashed line is the tumour's longest axial "
    "diameter, on its slice.")


def _swatch(rgb) -> str:
    return f'<span style="background-color:{hex_colour(rgb)}">&nbsp;&nbsp;&nbsp;&nbsp;</span>'


def screen_orientation(direction) -> str:
    """Which patient side is at the screen's left/right for columns (ITK direction, LPS): e.g. "R | L"."""
    col = np.asarray(direction, dtype=float).reshape(3, 3)[:, 0]
    if abs(col[0]) >= max(abs(col[1]), abs(col[2])):
        return "R | L" if col[0] > 0 else "L | R"
    return "columns not left-right (oblique or non-axial)"


class ViewerPanel(QWidget):
    """Slice view + slice slider, phase and display selectors, overlay toggles, opacity, legend, status line."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = SliceView(self)
        self.coronal = PlaneView("coronal", self.view)
        self.sagittal = PlaneView("sagittal", self.view)
        for reformat in (self.coronal, self.sagittal):
            self.view.attach_reformat(reformat)
        self.views = QSplitter(Qt.Orientation.Horizontal)
        self.views.addWidget(self.view)
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.sagittal)
        side.addWidget(self.coronal)
        self.views.addWidget(side)
        self.views.setStretchFactor(0, 3)
        self.views.setStretchFactor(1, 2)
        self.reformat_side = side
        self.layout_combo = QComboBox()
        self.layout_combo.addItem("Axial + sagittal + coronal", "3")
        self.layout_combo.addItem("Axial only", "1")
        self.layout_combo.setToolTip("Views: the axial slice alone, or with sagittal and coronal reformats")
        self.layout_combo.currentIndexChanged.connect(
            lambda _i: self.reformat_side.setVisible(self.layout_combo.currentData() == "3"))
        self.window_combo = QComboBox()
        self.window_combo.setToolTip("Window/level presets (left-drag adjusts, ctrl + double-click resets)")
        self.window_combo.activated.connect(self._preset_chosen)
        self.ruler_button = QPushButton("Ruler")
        self.ruler_button.setCheckable(True)
        self.ruler_button.setToolTip("Measure a distance in mm on the axial view (drag the ends)")
        self.ruler_button.toggled.connect(self._ruler_toggled)
        self.reading = QLabel("")
        self.reading.setWordWrap(True)
        self.slice_slider = QSlider(Qt.Orientation.Horizontal)
        self.slice_slider.setToolTip("Slice (mouse wheel or Up/Down arrows)")
        self.phase_combo = QComboBox()
        self.phase_combo.setToolTip("Phase ('[' and ']')")
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("DCE signal", "signal")
        self.mode_combo.setToolTip("Show the DCE signal or a kinetic map (available after analysis)")
        self.outline_box = QCheckBox("Tumour outline")
        self.habitats_box = QCheckBox("Habitats")
        self.ring_box = QCheckBox("Ring (5 mm)")
        for box in (self.outline_box, self.habitats_box, self.ring_box):
            box.setChecked(True)
            box.toggled.connect(self._toggles_changed)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(60)
        self.opacity_slider.setToolTip("Overlay opacity")
        self.opacity_slider.valueChanged.connect(lambda v: self.view.set_opacity(v / 100.0))
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.status = QLabel("No study loaded. File > Open, drag a DICOM folder or NIfTI here, or Open demo patient.")
        self.status.setWordWrap(True)

        controls = QGridLayout()
        controls.addWidget(QLabel("Slice"), 0, 0)
        controls.addWidget(self.slice_slider, 0, 1, 1, 3)
        controls.addWidget(QLabel("Phase"), 1, 0)
        controls.addWidget(self.phase_combo, 1, 1)
        controls.addWidget(QLabel("Display"), 1, 2)
        controls.addWidget(self.mode_combo, 1, 3)
        controls.addWidget(QLabel("Window"), 2, 0)
        controls.addWidget(self.window_combo, 2, 1)
        controls.addWidget(self.layout_combo, 2, 2)
        controls.addWidget(self.ruler_button, 2, 3)
        toggles = QHBoxLayout()
        for w in (self.outline_box, self.habitats_box, self.ring_box, QLabel("Opacity"), self.opacity_slider):
            toggles.addWidget(w)
        layout = QVBoxLayout(self)
        layout.addWidget(self.views, stretch=1)
        layout.addLayout(controls)
        layout.addLayout(toggles)
        layout.addWidget(self.reading)
        layout.addWidget(self.legend)
        layout.addWidget(self.status)

        self.slice_slider.valueChanged.connect(self.view.set_slice)
        self.phase_combo.currentIndexChanged.connect(self._phase_selected)
        self.mode_combo.currentIndexChanged.connect(lambda _i: self.view.set_mode(self.mode_combo.currentData()))
        self.view.modeChanged.connect(self._mode_shown)
        self.view.windowDefaultsChanged.connect(self._fill_presets)
        self.view.sliceChanged.connect(self._sync)
        self.view.phaseChanged.connect(self._sync)
        self.view.windowChanged.connect(lambda *_a: self._sync())
        self.view.overlaysToggled.connect(lambda _v: self._sync())
        self._cursor_voxel: tuple[int, int, int] | None = None
        self.view.cursorMoved.connect(self._cursor)
        self.set_legend(None, None, has_mask=False)

    # ------------------------------------------------------------------ binding
    def set_study(self, study: DCEStudy, early_phase: int | None = None) -> None:
        self._cursor_voxel = None
        self.view.set_study(study, early_phase)
        self.phase_combo.blockSignals(True)
        self.phase_combo.clear()
        for i, t in enumerate(study.phase_times_s):
            self.phase_combo.addItem(phase_name(i, t))
        self.phase_combo.setCurrentIndex(self.view.current_phase)
        self.phase_combo.blockSignals(False)
        self.slice_slider.blockSignals(True)
        self.slice_slider.setRange(0, self.view.n_slices() - 1)
        self.slice_slider.blockSignals(False)
        self.set_kinetic_maps({})
        self._sync()

    def set_kinetic_maps(self, maps: dict[str, np.ndarray]) -> None:
        self.view.set_kinetic_maps(maps)
        self.mode_combo.blockSignals(True)
        self.mode_combo.clear()
        self.mode_combo.addItem("DCE signal", "signal")
        self.mode_combo.addItem("Subtraction (phase - pre)", "subtraction")
        self.mode_combo.addItem("MIP of subtraction", "mip")
        for name in ("PE", "SER", "WIS", "WOS"):
            if name in maps:
                self.mode_combo.addItem(f"{name} map", name)
        self.mode_combo.setCurrentIndex(max(self.mode_combo.findData(self.view.mode), 0))
        self.mode_combo.blockSignals(False)
        self._mode_shown(self.view.mode)

    def set_reading(self, reading, curve_type_known: bool = True) -> None:
        """Show a ``TumourReading`` (diameters drawn on the axial view; text below the controls); None clears."""
        if reading is None:
            self.view.set_diameter(None)
            self.reading.setText("")
            return
        self.view.set_diameter(reading.diameters)
        parts = []
        if reading.diameters is not None:
            parts.append(f"Tumour: {reading.diameters.describe()} (outer voxel edges)")
        if curve_type_known:
            parts.append(reading.curve_text())
        self.reading.setText("; ".join(parts))
        self.reading.setToolTip(f"Curve type rule: {reading.rule}")

    def _mode_shown(self, mode: str) -> None:
        self.opacity_slider.blockSignals(True)
        self.opacity_slider.setValue(int(round(100 * self.view.fill_opacity)))
        self.opacity_slider.blockSignals(False)
        self._fill_presets()

    def _fill_presets(self) -> None:
        self.presets = self.view.window_presets()
        self.window_combo.blockSignals(True)
        self.window_combo.clear()
        for name in self.presets:
            self.window_combo.addItem(name)
        self.window_combo.blockSignals(False)

    def _preset_chosen(self, index: int) -> None:
        name = self.window_combo.itemText(index)
        if name in getattr(self, "presets", {}):
            w = self.presets[name]
            self.view.set_window(w.level, w.width)

    def _ruler_toggled(self, on: bool) -> None:
        if on:
            self.view.ruler.start()
        else:
            self.view.ruler.stop()

    def set_legend(self, fractions, centroids, has_mask: bool = True, has_ring: bool = False) -> None:
        lines = []
        if has_mask:
            lines.append(f"{_swatch(OUTLINE_COLOUR)} Tumour outline")
        if fractions is not None:
            for _label, text, rgb in habitat_legend_rows(fractions, centroids):
                first, *rest = text.split("\n")
                tail = "".join(f"<br>&nbsp;&nbsp;&nbsp;{r.strip()}" for r in rest)
                lines.append(f"{_swatch(rgb)} <b>{first}</b>{tail}")
        if has_ring:
            lines.append(f"{_swatch(RING_COLOUR)} Peritumoral ring (0-5 mm)")
        self.legend.setText("<br>".join(lines))
        self.legend.setVisible(bool(lines))

    # ------------------------------------------------------------------ events
    def _phase_selected(self, index: int) -> None:
        if index >= 0:
            self.view.set_phase(index)

    def _toggles_changed(self) -> None:
        self.view.set_toggles(OverlayToggles(outline=self.outline_box.isChecked(),
                                             habitats=self.habitats_box.isChecked(),
                                             ring=self.ring_box.isChecked()))

    def _cursor(self, z: int, y: int, x: int) -> None:
        self._cursor_voxel = None if self.view.study is None or z < 0 else (z, y, x)
        self._sync()

    def _sync(self, *_args) -> None:
        study = self.view.study
        if study is None:
            return
        z, p = self.view.current_slice, self.view.current_phase
        for widget, value in ((self.slice_slider, z), (self.phase_combo, p)):
            if (widget.value() if isinstance(widget, QSlider) else widget.currentIndex()) != value:
                widget.blockSignals(True)
                widget.setValue(value) if isinstance(widget, QSlider) else widget.setCurrentIndex(value)
                widget.blockSignals(False)
        level, width = self.view.window
        seg = "" if self.view.segmentation_visible else "   overlays hidden (g)"
        sy, sx = study.spacing_mm[1], study.spacing_mm[2]
        shown = {"subtraction": f"   subtraction phase {p + 1} - phase 1",
                 "mip": f"   MIP of phase {p + 1} - phase 1"}.get(self.view.mode, "")
        self.status.setText(
            f"Slice {z + 1}/{self.view.n_slices()}   {phase_name(p, study.phase_times_s[p])}{shown}   "
            f"W {width:.0f} L {level:.0f}   pixel {sx:g} x {sy:g} mm   "
            f"screen {screen_orientation(study.geometry.direction)}"
            f"{seg}{voxel_readout(study, p, self._cursor_voxel)}")
