"""Widgets, the Mask menu and the key help of the tumour-mask tools (behaviour: :mod:`tnbc_desktop.gui.segment_tools`).

Tools: Navigate (Esc), Seed (semi-automatic lesion from a click, threshold slider = live preview, Accept /
Reject), Paint and Erase (brush radius in mm, on the slice or a 3D sphere), Fill (the enclosed region
clicked), Clear slice, Undo / Redo, Save mask; Reader 2: draw or load a second mask and see the agreement.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel,
                               QPushButton, QSlider, QToolButton, QVBoxLayout, QWidget)

TOOLS = (("navigate", "Navigate", "Esc"), ("seed", "Seed", "S"), ("paint", "Paint", "P"),
         ("erase", "Erase", "E"), ("fill", "Fill", "F"))
THRESHOLD_RANGE = (10, 300)

KEY_HELP = """<b>Tumour mask tools</b><br>
Keys as in 3D Slicer's Segment Editor where it has them:<br>
&nbsp; Ctrl+Z undo, Ctrl+Y (or Ctrl+Shift+Z) redo; Esc leaves the tool (navigate);<br>
&nbsp; + or = enlarges the brush (x1.2), - shrinks it (x0.8), as in Slicer's Paint effect;<br>
&nbsp; Shift + mouse wheel also changes the brush radius.<br>
This app's own keys: S seed, P paint, E erase, F fill (the enclosed region clicked), Del clears the slice,
Return accepts the semi-automatic preview.<br>
Mouse: with a tool chosen, the left button acts (click a seed, drag to paint); the other buttons keep their
viewer meaning (right-drag zoom, middle-drag pan, wheel = slice).<br>
Semi-automatic lesion: click a seed inside the enhancing lesion on any slice; the preview follows the PE
threshold slider (percent enhancement on the early phase, default 70 %); Accept makes it the mask.<br>
Second reader: 'Draw reader 2' edits a separate mask (the analysis always uses reader 1); the Dice and volume
difference between the two are shown as you draw."""


class SegmentToolsPanel(QWidget):
    """The buttons, slider and labels of the mask tools."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.tool_buttons: dict[str, QToolButton] = {}
        self.tool_group = QButtonGroup(self)
        self.tool_group.setExclusive(True)
        tools_row = QHBoxLayout()
        for name, text, key in TOOLS:
            b = QToolButton()
            b.setText(text)
            b.setCheckable(True)
            b.setToolTip(f"{text} ({key})")
            self.tool_group.addButton(b)
            self.tool_buttons[name] = b
            tools_row.addWidget(b)
        self.tool_buttons["navigate"].setChecked(True)

        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(*THRESHOLD_RANGE)
        self.threshold_slider.setValue(70)
        self.threshold_slider.setToolTip("Lesion core threshold: percent enhancement on the early phase")
        self.threshold_label = QLabel("PE >= 70 %")
        self.accept_button = QPushButton("Accept")
        self.reject_button = QPushButton("Reject")
        for b in (self.accept_button, self.reject_button):
            b.setEnabled(False)

        self.brush_spin = QDoubleSpinBox()
        self.brush_spin.setRange(0.5, 30.0)
        self.brush_spin.setSingleStep(0.5)
        self.brush_spin.setValue(3.0)
        self.brush_spin.setSuffix(" mm")
        self.brush_spin.setToolTip("Brush radius in millimetres (+ / - keys, Shift + wheel)")
        self.sphere_box = QCheckBox("3D sphere")
        self.sphere_box.setToolTip("Paint a ball through neighbouring slices instead of a disc on this slice")
        self.clear_button = QPushButton("Clear slice")
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.save_button = QPushButton("Save mask...")
        self.volume_label = QLabel("Mask: none")
        self.origin_label = QLabel("")
        self.origin_label.setWordWrap(True)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("QLabel { color: #8a1c1c; }")

        self.reader2_button = QPushButton("Draw reader 2")
        self.reader2_button.setCheckable(True)
        self.reader2_load_button = QPushButton("Load reader 2...")
        self.agreement_label = QLabel("")
        self.agreement_label.setWordWrap(True)

        grid = QGridLayout()
        grid.addWidget(QLabel("Threshold"), 0, 0)
        grid.addWidget(self.threshold_slider, 0, 1)
        grid.addWidget(self.threshold_label, 0, 2)
        grid.addWidget(self.accept_button, 1, 1)
        grid.addWidget(self.reject_button, 1, 2)
        grid.addWidget(QLabel("Brush"), 2, 0)
        grid.addWidget(self.brush_spin, 2, 1)
        grid.addWidget(self.sphere_box, 2, 2)
        edit_row = QHBoxLayout()
        for w in (self.clear_button, self.undo_button, self.redo_button, self.save_button):
            edit_row.addWidget(w)
        reader_row = QHBoxLayout()
        reader_row.addWidget(self.reader2_button)
        reader_row.addWidget(self.reader2_load_button)
        layout = QVBoxLayout(self)
        layout.addLayout(tools_row)
        layout.addLayout(grid)
        layout.addLayout(edit_row)
        layout.addWidget(self.volume_label)
        layout.addWidget(self.origin_label)
        layout.addWidget(self.message_label)
        layout.addLayout(reader_row)
        layout.addWidget(self.agreement_label)
        self.threshold_slider.valueChanged.connect(lambda v: self.threshold_label.setText(f"PE >= {v} %"))

    def tool(self) -> str:
        for name, button in self.tool_buttons.items():
            if button.isChecked():
                return name
        return "navigate"

    def set_tool(self, name: str) -> None:
        self.tool_buttons[name].setChecked(True)


def install_mask_menu(window, controller, help_menu) -> None:
    """The Mask menu (tools and their keys) and the Help entry listing the keys; ``controller`` is the
    window's :class:`~tnbc_desktop.gui.segment_tools.SegmentationController`."""
    from PySide6.QtGui import QAction, QKeySequence

    from tnbc_desktop.gui import dialogs

    menu = window.menuBar().addMenu("&Mask")
    entries = (("Navigate", lambda: controller.set_tool("navigate"), ["Esc"]),
               ("Seed (semi-automatic lesion)", lambda: controller.set_tool("seed"), ["S"]),
               ("Paint", lambda: controller.set_tool("paint"), ["P"]),
               ("Erase", lambda: controller.set_tool("erase"), ["E"]),
               ("Fill enclosed region", lambda: controller.set_tool("fill"), ["F"]),
               ("Accept preview", controller.accept, ["Return"]),
               ("Clear slice", controller.clear_slice, ["Del"]),
               ("Undo", controller.undo, ["Ctrl+Z"]),
               ("Redo", controller.redo, ["Ctrl+Y", "Ctrl+Shift+Z"]),
               ("Larger brush", lambda: controller.scale_brush(1.2), ["+", "="]),
               ("Smaller brush", lambda: controller.scale_brush(0.8), ["-"]),
               ("Save mask...", controller.ask_save, []))
    for text, slot, keys in entries:
        action = QAction(text, window)
        if keys:
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.triggered.connect(slot)
        menu.addAction(action)
    keys = QAction("Mask tools and keys", window)
    keys.triggered.connect(lambda: dialogs.show_message(window, "info", "Mask tools and keys", KEY_HELP))
    help_menu.addAction(keys)
