"""How a prediction may be presented: the one place the CLI, the GUI and the PDF ask.

:func:`prediction_display` turns a :class:`~tnbc_desktop.core.predict.Prediction` and the case's intended-use
check into the texts every view shows:

- a model that is not available shows "not available: <reason>" (a bundle whose training cohort could not fit
  the model gives that reason too), never an empty box;
- outside intended use, the probability and CI are still shown, but the group is replaced by
  "no recommendation: outside intended use" (the reasons come from :func:`intended_use_text`);
- a 95 % CI wider than :data:`UNINFORMATIVE_CI_WIDTH` is labelled "uninformative" and gives no recommendation
  either. [D] 0.8: such an interval spans most of the probability scale, so it cannot separate the groups.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass

UNINFORMATIVE_CI_WIDTH = 0.8  # [D] see the module docstring
OUTSIDE_INTENDED_USE = "outside intended use"


class PredictionStatus(enum.Enum):
    RECOMMENDATION = "recommendation"          # inside intended use, informative CI: the group is a prediction
    OUTSIDE_INTENDED_USE = "outside intended use"
    UNINFORMATIVE = "uninformative"            # the CI is too wide to say anything
    NOT_AVAILABLE = "not available"


@dataclass(frozen=True)
class PredictionDisplay:
    """Texts of one model's prediction. ``group_text`` is the predicted group only for RECOMMENDATION."""

    model: str
    status: PredictionStatus
    probability_text: str
    ci_text: str
    cutoff_text: str
    group_text: str
    ci_uninformative: bool = False

    @property
    def is_recommendation(self) -> bool:
        return self.status is PredictionStatus.RECOMMENDATION

    def one_line(self) -> str:
        """The CLI line after the model label."""
        if self.status is PredictionStatus.NOT_AVAILABLE:
            return self.group_text
        return (f"P(pCR) {self.probability_text} (95% CI {self.ci_text}), cutoff {self.cutoff_text} -> "
                f"{self.group_text}")


def _f(v, digits: int) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return "-"
    return f"{v:.{digits}f}" if math.isfinite(v) else "-"


def ci_is_uninformative(ci_low, ci_high) -> bool:
    try:
        return float(ci_high) - float(ci_low) > UNINFORMATIVE_CI_WIDTH
    except (TypeError, ValueError):
        return False


def prediction_display(model: str, pred, intended_use=None) -> PredictionDisplay:
    """Display texts for ``pred`` (None = the bundle has no such model) given the case's intended-use check."""
    if pred is None or not getattr(pred, "available", False):
        reason = "model not in bundle" if pred is None else (getattr(pred, "reason", "") or "unknown reason")
        return PredictionDisplay(model, PredictionStatus.NOT_AVAILABLE, "n/a", "", "", f"not available: {reason}")
    wide = ci_is_uninformative(pred.ci_low, pred.ci_high)
    ci = f"{_f(pred.ci_low, 3)}-{_f(pred.ci_high, 3)}" + (" (uninformative)" if wide else "")
    if intended_use is not None and not intended_use.ok:
        status, group = PredictionStatus.OUTSIDE_INTENDED_USE, f"no recommendation: {OUTSIDE_INTENDED_USE}"
    elif wide:
        status, group = PredictionStatus.UNINFORMATIVE, "no recommendation: uninformative CI"
    else:
        status, group = PredictionStatus.RECOMMENDATION, f"predicted {pred.group}"
    return PredictionDisplay(model, status, _f(pred.probability, 3), ci, _f(pred.cutoff, 2), group, wide)


def intended_use_text(intended_use) -> str:
    """'' when inside intended use, else "Outside intended use: <reason>; <reason>"."""
    if intended_use is None or intended_use.ok:
        return ""
    return f"Outside intended use: {'; '.join(intended_use.reasons)}. The probabilities are shown for " \
           "information only and are not a recommendation."


__all__ = ["PredictionStatus", "PredictionDisplay", "prediction_display", "intended_use_text",
           "ci_is_uninformative", "UNINFORMATIVE_CI_WIDTH", "OUTSIDE_INTENDED_USE"]
