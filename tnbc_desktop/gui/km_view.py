"""Kaplan-Meier DFS panel: the bundle's reference curves per predicted group, the patient's group marked.

Input is a :class:`tnbc_desktop.core.case.SurvivalGroup`: ``curves`` maps each group ("pCR" / "non-pCR") to
``time_months`` / ``survival`` (and optional ``ci_low`` / ``ci_high``) lists; ``group`` is the patient's.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from tnbc_desktop.core.prediction_status import format_p_value
from tnbc_desktop.core.survival_group import at_risk_table, censor_marks
from tnbc_desktop.gui.palette import group_colour, hex_colour


def step_xy(times, surv) -> tuple[np.ndarray, np.ndarray]:
    """Right-continuous step polyline through (0, 1) and the KM points."""
    t = np.concatenate([[0.0], np.asarray(times, dtype=float)])
    s = np.concatenate([[1.0], np.asarray(surv, dtype=float)])
    if t.size > 1 and t[1] == 0.0:
        t, s = t[1:], s[1:]
    x = np.repeat(t, 2)[1:]
    y = np.repeat(s, 2)[:-1]
    return x, y


class KMView(QWidget):
    """Plot + caption. ``set_group(survival_group, model_label)``; ``clear(reason)``."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.setMinimumHeight(170)
        self.plot.setLabel("bottom", "months")
        self.plot.setLabel("left", "disease-free survival")
        self.plot.setYRange(0, 1.02)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.legend = self.plot.addLegend(offset=(-5, -5), labelTextSize="8pt", labelTextColor="k")
        self.caption = QLabel("Kaplan-Meier reference curves appear after the analysis.")
        self.caption.setWordWrap(True)
        self.at_risk = QLabel("")
        self.at_risk_rows: dict[str, list] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        layout.addWidget(self.at_risk)
        layout.addWidget(self.caption)
        self.patient_group: str | None = None

    def clear(self, reason: str = "") -> None:
        self.plot.clear()
        self.legend.clear()
        self.patient_group = None
        self.at_risk.setText("")
        self.at_risk_rows = {}
        self.caption.setText(reason or "Kaplan-Meier reference curves appear after the analysis.")

    def set_group(self, group, model_label: str, reading=None) -> None:
        """Draw ``group``'s reference curves (censor marks, numbers at risk as the report draws them).

        ``reading``: the model's :class:`~tnbc_desktop.core.prediction_status.PredictionDisplay`, so an
        uncertain prediction is said to be uncertain next to the group of its point estimate.
        """
        self.clear()
        self.patient_group = group.group
        for name, curve in group.curves.items():
            rgb = group_colour(name)
            is_patient = name == group.group
            x, y = step_xy(curve.get("time_months", []), curve.get("survival", []))
            label = f"predicted {name}" + (" (this case)" if is_patient else "")
            self.plot.plot(x, y, pen=pg.mkPen(rgb, width=4 if is_patient else 1.5), name=label)
            ct, cs = censor_marks(curve)
            if ct:
                self.plot.plot(ct, cs, pen=None, symbol="+", symbolSize=7, symbolPen=pg.mkPen(rgb, width=1),
                               symbolBrush=None)
            lo, hi = curve.get("ci_low"), curve.get("ci_high")
            if is_patient and lo and hi and len(lo) == len(hi) == len(curve.get("time_months", [])):
                xl, yl = step_xy(curve["time_months"], lo)
                xh, yh = step_xy(curve["time_months"], hi)
                c_lo = self.plot.plot(xl, yl, pen=pg.mkPen(rgb + (60,), width=1))
                c_hi = self.plot.plot(xh, yh, pen=pg.mkPen(rgb + (60,), width=1))
                self.plot.addItem(pg.FillBetweenItem(c_lo, c_hi, brush=pg.mkBrush(rgb + (40,))))
        times, risk = at_risk_table(group.curves)
        self.at_risk_rows = {name: list(counts) for name, counts in risk.items()}
        head = "".join(f"<td align='right'>&nbsp;{t:g}</td>" for t in times)
        body = "".join(f"<tr><td style='color:{hex_colour(group_colour(name))}'>{name}</td>"
                       + "".join(f"<td align='right'>&nbsp;{'-' if n is None else n}</td>" for n in counts)
                       + "</tr>" for name, counts in risk.items())
        self.at_risk.setText(f"<table><tr><td><b>At risk</b> (months)</td>{head}</tr>{body}</table>")
        p = f", log-rank P {format_p_value(group.logrank_p)}" if group.logrank_p is not None else ""
        landmarks = "; ".join(f"{yr}-year DFS {v[0]:.0%}" for yr, v in sorted(group.dfs.items())
                              if v and v[0] is not None)
        lead = (f"{model_label} gives no recommendation for this case ({reading.group_text}); its point estimate "
                f"falls in the predicted {group.group} group. "
                if reading is not None and not reading.is_recommendation else "")
        self.caption.setText(f"{lead}Reference cohort{p}: of the cohort's patients whose {model_label} prediction "
                             f"was {group.group}, {landmarks or 'DFS not available'}. These are group outcomes, "
                             "not this patient's prognosis.")
