"""How a prediction may be presented: the one place the CLI, the GUI, the PDF and the JSON ask.

:func:`prediction_display` turns a :class:`~tnbc_desktop.core.predict.Prediction` and the case's intended-use
check into the texts every view shows. Rules, in order:

- a model that is not available shows "not available: <reason>" (a bundle whose training cohort could not fit
  the model gives that reason too), never an empty box;
- outside intended use, the probability and CI are still shown, but the group is replaced by
  "no recommendation: outside intended use" (the reasons come from :func:`intended_use_text`);
- a 95 % CI wider than :data:`UNINFORMATIVE_CI_WIDTH` is labelled "uninformative" and gives no recommendation
  either. [D] 0.8: such an interval spans most of the probability scale, so it cannot separate the groups;
- [D] a 95 % CI that straddles the cutoff (``ci_low < cutoff < ci_high``) reads "uncertain": the data do not
  tell which side of the cutoff this patient is on, so no group is shown (JSON ``group`` "uncertain"). A CI
  that ends exactly on the cutoff does not straddle it: the point estimate decides, as in
  ``predict.predict_model``;
- otherwise "predicted pCR" / "predicted non-pCR".

Only the last is a recommendation. Colours come from core.palette: a group colour (never green/red) for a
recommendation, neutral grey for everything else.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from tnbc_desktop.core.palette import NEUTRAL_COLOUR, RGB, group_colour

UNINFORMATIVE_CI_WIDTH = 0.8  # [D] see the module docstring
OUTSIDE_INTENDED_USE = "outside intended use"
UNCERTAIN = "uncertain"


class PredictionStatus(enum.Enum):
    RECOMMENDATION = "recommendation"          # inside intended use, informative CI clear of the cutoff
    OUTSIDE_INTENDED_USE = "outside intended use"
    UNINFORMATIVE = "uninformative"            # the CI is too wide to say anything
    UNCERTAIN = "uncertain"                    # the CI straddles the cutoff
    NOT_AVAILABLE = "not available"


@dataclass(frozen=True)
class PredictionDisplay:
    """Texts of one model's prediction. ``group_text`` is the predicted group only for RECOMMENDATION.

    ``group``: the JSON group value - "pCR" / "non-pCR" for a recommendation, "uncertain" when the CI
    straddles the cutoff, None otherwise; ``point_group``: the side of the cutoff of the point estimate alone
    ("" when not available), kept for the record; ``colour``: RGB from core.palette.
    """

    model: str
    status: PredictionStatus
    probability_text: str
    ci_text: str
    cutoff_text: str
    group_text: str
    ci_uninformative: bool = False
    group: str | None = None
    point_group: str = ""
    colour: RGB = NEUTRAL_COLOUR

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


def ci_straddles_cutoff(ci_low, ci_high, cutoff) -> bool:
    """True when the cutoff lies strictly inside the 95 % CI (all three finite)."""
    try:
        lo, hi, cut = float(ci_low), float(ci_high), float(cutoff)
    except (TypeError, ValueError):
        return False
    return all(map(math.isfinite, (lo, hi, cut))) and lo < cut < hi


def prediction_display(model: str, pred, intended_use=None) -> PredictionDisplay:
    """Display texts for ``pred`` (None = the bundle has no such model) given the case's intended-use check."""
    if pred is None or not getattr(pred, "available", False):
        reason = "model not in bundle" if pred is None else (getattr(pred, "reason", "") or "unknown reason")
        return PredictionDisplay(model, PredictionStatus.NOT_AVAILABLE, "n/a", "", "", f"not available: {reason}")
    wide = ci_is_uninformative(pred.ci_low, pred.ci_high)
    ci = f"{_f(pred.ci_low, 3)}-{_f(pred.ci_high, 3)}" + (" (uninformative)" if wide else "")
    point = str(getattr(pred, "group", "") or "")
    group: str | None = None
    colour = NEUTRAL_COLOUR
    if intended_use is not None and not intended_use.ok:
        status, text = PredictionStatus.OUTSIDE_INTENDED_USE, f"no recommendation: {OUTSIDE_INTENDED_USE}"
    elif wide:
        status, text = PredictionStatus.UNINFORMATIVE, "no recommendation: uninformative CI"
    elif ci_straddles_cutoff(pred.ci_low, pred.ci_high, pred.cutoff):
        status, text, group = PredictionStatus.UNCERTAIN, f"{UNCERTAIN} (CI includes the cutoff)", UNCERTAIN
    else:
        status, text, group, colour = PredictionStatus.RECOMMENDATION, f"predicted {point}", point, group_colour(point)
    return PredictionDisplay(model, status, _f(pred.probability, 3), ci, _f(pred.cutoff, 2), text, wide, group,
                             point, colour)


def intended_use_text(intended_use) -> str:
    """'' when inside intended use, else "Outside intended use: <reason>; <reason>"."""
    if intended_use is None or intended_use.ok:
        return ""
    return f"Outside intended use: {'; '.join(intended_use.reasons)}. The probabilities are shown for " \
           "information only and are not a recommendation."


def format_p_value(p) -> str:
    """[D] A P value as printed everywhere: '< 0.001' below 0.001, else 3 decimals (0.046), 'n/a' when None."""
    try:
        p = float(p)
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


__all__ = ["PredictionStatus", "PredictionDisplay", "prediction_display", "intended_use_text",
           "ci_is_uninformative", "ci_straddles_cutoff", "format_p_value", "UNINFORMATIVE_CI_WIDTH",
           "OUTSIDE_INTENDED_USE", "UNCERTAIN"]
