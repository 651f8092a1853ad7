"""Predictions side by side (Model 3 / PRM / GPRM), the Kaplan-Meier panel and the warnings.

Each card shows the probability of pCR with its 95 % CI as a bar on a 0-1 axis, the cutoff as a tick, and the
predicted group - or, when the model is not available, why. "Research use only" is always visible; the demo
notice appears whenever the bundle is a demo bundle.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from tnbc_desktop import DEMO_BUNDLE_NOTICE, RESEARCH_USE_NOTICE
from tnbc_desktop.core.prediction_status import PredictionStatus, intended_use_text, prediction_display
from tnbc_desktop.gui.km_view import KMView
from tnbc_desktop.gui.palette import hex_colour

OUTDATED_TEXT = "inputs changed - run again"
SHOWN_MODELS = (("model3", "Model 3"), ("prm", "PRM"), ("gprm", "GPRM"))


class CIBar(QWidget):
    """Probability axis 0..1 with the CI as a bar, the estimate as a dot and the cutoff as a tick."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(120, 26)
        self.values: tuple[float, float, float, float] | None = None

    def set_values(self, probability: float, ci_low: float, ci_high: float, cutoff: float) -> None:
        self.values = (probability, ci_low, ci_high, cutoff)
        self.update()

    def clear(self) -> None:
        self.values = None
        self.update()

    def paintEvent(self, _ev):  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width() - 12, self.height()
        x0, mid = 6, h / 2

        def x(v):
            return x0 + w * min(max(v, 0.0), 1.0)

        p.setPen(QPen(QColor(150, 150, 150), 1))
        p.drawLine(int(x0), int(mid), int(x0 + w), int(mid))
        for t in (0.0, 0.5, 1.0):
            p.drawLine(int(x(t)), int(mid - 3), int(x(t)), int(mid + 3))
        if self.values is not None:
            prob, lo, hi, cut = self.values
            if all(map(math.isfinite, (lo, hi))):
                p.fillRect(QRectF(x(lo), mid - 4, max(x(hi) - x(lo), 1.0), 8), QColor(86, 180, 233, 170))
            if math.isfinite(cut):
                p.setPen(QPen(QColor(0, 0, 0), 2))
                p.drawLine(int(x(cut)), int(mid - 10), int(x(cut)), int(mid + 10))
            if math.isfinite(prob):
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(40, 40, 40))
                p.drawEllipse(QRectF(x(prob) - 5, mid - 5, 10, 10))
        p.end()


class PredictionCard(QGroupBox):
    """One model's prediction."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(title, parent)
        self.probability = QLabel("-")
        self.probability.setStyleSheet("QLabel { font-size: 18pt; font-weight: bold; }")
        self.bar = CIBar()
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.group = QLabel("")
        self.group.setWordWrap(True)
        self.group.setStyleSheet("QLabel { font-weight: bold; }")
        layout = QVBoxLayout(self)
        layout.addWidget(self.probability)
        layout.addWidget(self.bar)
        layout.addWidget(self.group)
        layout.addWidget(self.detail)
        self.available = False
        self.shown = None
        self.outdated = False

    def mark_outdated(self) -> None:
        """Grey the card: its inputs changed after the analysis."""
        self.outdated = True
        self.setEnabled(False)
        self.group.setText(OUTDATED_TEXT)
        self.group.setStyleSheet("QLabel { font-weight: bold; color: #6e6e6e; }")

    def show_prediction(self, pred, intended_use=None) -> None:
        self.outdated = False
        self.setEnabled(True)
        shown = prediction_display("", pred, intended_use)
        if shown.status is PredictionStatus.NOT_AVAILABLE:
            self.show_unavailable(shown.group_text)
            return
        self.available = True
        self.probability.setText(f"{pred.probability:.0%}")
        self.bar.set_values(pred.probability, pred.ci_low, pred.ci_high, pred.cutoff)
        self.shown = shown
        self.group.setText(shown.group_text)
        self.group.setStyleSheet(f"QLabel {{ font-weight: bold; color: {hex_colour(shown.colour)}; }}")
        grey = "" if shown.is_recommendation else " color: #777;"  # a probability, not a recommendation
        self.probability.setStyleSheet(f"QLabel {{ font-size: 18pt; font-weight: bold;{grey} }}")
        extra = "".join(f"<br>! {w}" for w in pred.warnings)
        self.detail.setText(f"P(pCR) {shown.probability_text} (95% CI {shown.ci_text}); "
                            f"cutoff {shown.cutoff_text}{extra}")

    def show_unavailable(self, reason: str) -> None:
        self.available = False
        self.probability.setText("n/a")
        self.probability.setStyleSheet("QLabel { font-size: 18pt; font-weight: bold; }")
        self.bar.clear()
        self.group.setText("not available")
        self.group.setStyleSheet("QLabel { font-weight: bold; color: #555; }")
        self.detail.setText(reason)

    def reset(self, reason: str = "") -> None:
        self.available = False
        self.shown = None
        self.outdated = False
        self.setEnabled(True)
        self.probability.setText("-")
        self.probability.setStyleSheet("QLabel { font-size: 18pt; font-weight: bold; }")
        self.bar.clear()
        self.group.setText("")
        self.detail.setText(reason or "Run the analysis to see this model's prediction.")


class ResultsPanel(QWidget):
    """``show_result(case_result)``, ``reset()``; ``cards`` by model key; ``km`` view."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.research_label = QLabel(RESEARCH_USE_NOTICE)
        self.research_label.setWordWrap(True)
        self.research_label.setStyleSheet("QLabel { background: #fff3cd; color: #5c4500; padding: 4px; "
                                          "font-weight: bold; }")
        self.demo_label = QLabel(DEMO_BUNDLE_NOTICE)
        self.demo_label.setWordWrap(True)
        self.demo_label.setStyleSheet("QLabel { background: #f8d7da; color: #721c24; padding: 4px; "
                                      "font-weight: bold; }")
        self.demo_label.setVisible(False)
        self.gate_label = QLabel("")
        self.gate_label.setWordWrap(True)
        self.gate_label.setStyleSheet("QLabel { background: #f8d7da; color: #721c24; padding: 4px; "
                                      "font-weight: bold; }")
        self.gate_label.setVisible(False)
        self.outdated_label = QLabel("")
        self.outdated_label.setWordWrap(True)
        self.outdated_label.setStyleSheet("QLabel { background: #e6e6e6; color: #333; padding: 4px; "
                                          "font-weight: bold; }")
        self.outdated_label.setVisible(False)
        self.cards = {key: PredictionCard(title) for key, title in SHOWN_MODELS}
        row = QHBoxLayout()
        for card in self.cards.values():
            row.addWidget(card)
        self.km_model = QComboBox()
        for key, title in SHOWN_MODELS:
            self.km_model.addItem(f"Kaplan-Meier by {title} group", key)
        self.km = KMView()
        self.warnings = QLabel("")
        self.warnings.setWordWrap(True)
        self.warnings.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.research_label)
        layout.addWidget(self.demo_label)
        layout.addWidget(self.gate_label)
        layout.addWidget(self.outdated_label)
        layout.addLayout(row)
        layout.addWidget(self.km_model)
        layout.addWidget(self.km, stretch=1)
        layout.addWidget(self.warnings)
        self.result = None
        self.km_model.currentIndexChanged.connect(lambda _i: self._show_km())
        self.reset()

    def set_demo(self, is_demo: bool) -> None:
        self.demo_label.setVisible(bool(is_demo))

    def reset(self, reason: str = "") -> None:
        self.result = None
        for card in self.cards.values():
            card.reset(reason)
        self.outdated_label.setVisible(False)
        self.km.setEnabled(True)
        self.gate_label.setText("")
        self.gate_label.setVisible(False)
        self.km.clear()
        self.warnings.setText("")

    def mark_outdated(self, models: tuple[str, ...], changes: str) -> None:
        """Grey the predictions of ``models`` (and the KM panel when its model is one of them) and say which
        inputs changed; with no models, show the result as computed again."""
        if self.result is None:
            return
        self._show_cards()
        self.km.setEnabled(True)
        self.outdated_label.setVisible(False)
        if not models:
            return
        for key in models:
            if key in self.cards:
                self.cards[key].mark_outdated()
        self.km.setEnabled(self.km_model.currentData() not in models)
        self.outdated_label.setText(f"Inputs changed since this analysis ({changes}): the greyed predictions are "
                                    "outdated. Run the analysis again; Export is disabled until then.")
        self.outdated_label.setVisible(True)

    def outdated_models(self) -> tuple[str, ...]:
        return tuple(key for key, card in self.cards.items() if card.outdated)

    def show_result(self, result) -> None:
        self.result = result
        self.outdated_label.setVisible(False)
        self.km.setEnabled(True)
        gate = intended_use_text(getattr(result, "intended_use", None))
        self.gate_label.setText(gate)
        self.gate_label.setVisible(bool(gate))
        self._show_cards()
        self.set_demo(bool(getattr(result.bundle, "is_demo", False)))
        warnings = list(result.warnings) + [f"out of training range: {w}" for w in result.qc.out_of_range]
        self.warnings.setText("<b>Warnings</b><br>" + "<br>".join(f"- {w}" for w in warnings) if warnings else "")
        from tnbc_desktop.core.report.pages import km_model

        shown_in_report = self.km_model.findData(km_model(result))
        if shown_in_report >= 0 and shown_in_report != self.km_model.currentIndex():
            self.km_model.setCurrentIndex(shown_in_report)  # redraws through the signal
        else:
            self._show_km()

    def _show_cards(self) -> None:
        for key, card in self.cards.items():
            card.show_prediction(self.result.predictions.get(key), getattr(self.result, "intended_use", None))

    def shown_probabilities(self) -> dict[str, str]:
        """Probability text per model as displayed (used by tests and screenshots)."""
        return {key: card.probability.text() for key, card in self.cards.items()}

    def _show_km(self) -> None:
        if self.result is None:
            return
        key = self.km_model.currentData()
        group = self.result.survival_groups.get(key)
        title = dict(SHOWN_MODELS)[key]
        if intended_use_text(getattr(self.result, "intended_use", None)):
            self.km.clear(f"{title}: no Kaplan-Meier group: the case is outside intended use.")
        elif group is None:
            pred = self.result.predictions.get(key)
            why = pred.reason if pred is not None and not pred.available else "no reference curves in the bundle"
            self.km.clear(f"{title}: no Kaplan-Meier group ({why}).")
        else:
            self.km.set_group(group, title, prediction_display(key, self.result.predictions.get(key),
                                                               getattr(self.result, "intended_use", None)))
