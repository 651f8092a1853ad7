"""Model bundle chooser (shipped bundles + "Other file...") and its model card, via core.bundle.load_bundle."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from tnbc_desktop import DEMO_BUNDLE_NOTICE


def shipped_bundle_paths() -> list[Path]:
    try:
        from tnbc_desktop.paths import models_dir

        return sorted(models_dir().glob("*.json"))
    except FileNotFoundError:
        return []


def model_card_text(bundle) -> str:
    """Plain-text card: name, version, hash, intended use, training cohort and per-model performance."""
    card = bundle.card if isinstance(bundle.card, dict) else {}
    lines = [bundle.summary()]
    use = card.get("intended_use")
    if use:
        lines.append(f"intended use: {use}")
    for item in card.get("limitations", []) or []:
        lines.append(f"limitation: {item}")
    return "\n".join(lines)


class BundlePanel(QWidget):
    """Emits ``bundleChosen(str)`` (a path) when the user picks a bundle; ``show_bundle`` shows its card."""

    bundleChosen = Signal(str)
    otherRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.combo = QComboBox()
        self.other_button = QPushButton("Other file...")
        self.demo_label = QLabel("")
        self.demo_label.setWordWrap(True)
        self.demo_label.setStyleSheet("QLabel { color: #8a4b00; font-weight: bold; }")
        self.card = QPlainTextEdit()
        self.card.setReadOnly(True)
        self.card.setMinimumHeight(90)
        row = QHBoxLayout()
        row.addWidget(self.combo, stretch=1)
        row.addWidget(self.other_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.demo_label)
        layout.addWidget(self.card)
        for path in shipped_bundle_paths():
            self.combo.addItem(path.name, str(path))
        self.combo.currentIndexChanged.connect(self._picked)
        self.other_button.clicked.connect(self.otherRequested)

    def current_path(self) -> str | None:
        data = self.combo.currentData()
        return str(data) if data else None

    def select_path(self, path: str) -> None:
        index = self.combo.findData(str(path))
        if index < 0:
            self.combo.addItem(Path(path).name, str(path))
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(index)

    def show_bundle(self, bundle) -> None:
        self.card.setPlainText(model_card_text(bundle))
        self.demo_label.setText(DEMO_BUNDLE_NOTICE if bundle.is_demo else "")

    def show_problem(self, text: str) -> None:
        self.card.setPlainText(text)
        self.demo_label.setText("")

    def _picked(self, _index: int) -> None:
        path = self.current_path()
        if path:
            self.bundleChosen.emit(path)
