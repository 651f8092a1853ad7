"""Pathology inputs of the clinical models: Ki-67 (high = >= 20 %) and lymphovascular invasion (LVI).

``parse_ki67`` accepts a percentage (35, 35.0, "35", "35%", "35,5 %") or a category relative to the 20 % cutoff
("<20%", ">=20%", "≥20%", "> 30%", "<10%": any bound that settles the side of the cutoff); ``parse_lvi`` accepts
present / absent / unknown and yes/no, y/n, 1/0, true/false, positive/negative. Empty, None, NaN, "unknown"
and "NA" mean unknown (``None``), never a guessed value. Invalid values raise
:class:`~tnbc_desktop.errors.ClinicalInputError` with a plain message. ``read_clinical_json`` reads the
``{"ki67_percent": .., "lvi": ..}`` file written by the synthetic generator.
"""
from __future__ import annotations

import enum
import math
import numbers
import re
from dataclasses import dataclass
from pathlib import Path

from tnbc_desktop.core.io.safe_json import read_json
from tnbc_desktop.errors import ClinicalInputError

KI67_CUTOFF_PERCENT = 20.0
_UNKNOWN_TEXT = {"", "unknown", "unk", "na", "n/a", "nan", "none", "null", "not assessed", "not available", "?", "-"}
_KI67_MESSAGE = "Ki-67 must be a percentage between 0 and 100 or '<20%' / '>=20%', got '{}'"
_LVI_MESSAGE = "LVI must be present, absent or unknown (also yes/no, 1/0, true/false), got '{}'"
_BOUND = re.compile(r"^(<=|=<|≤|<|>=|=>|≥|>)\s*([0-9]+(?:[.,][0-9]+)?)\s*%?$")
_NUMBER = re.compile(r"^([0-9]+(?:[.,][0-9]+)?)\s*%?$")


@dataclass(frozen=True)
class Ki67:
    """Ki-67 as given: ``percent`` (0-100) when a number was given, ``high`` (>= 20 %) or None if unknown."""

    percent: float | None
    high: bool | None
    text: str

    @property
    def known(self) -> bool:
        return self.high is not None

    def describe(self) -> str:
        if self.percent is not None:
            return f"{self.percent:g} %"
        if self.high is None:
            return "unknown"
        return ">= 20 %" if self.high else "< 20 %"


class LVI(enum.Enum):
    """Lymphovascular invasion."""

    PRESENT = "present"
    ABSENT = "absent"
    UNKNOWN = "unknown"

    @property
    def present(self) -> bool | None:
        return None if self is LVI.UNKNOWN else self is LVI.PRESENT


_LVI_WORDS = {
    **{w: LVI.PRESENT for w in ("present", "yes", "y", "1", "true", "positive", "pos", "+")},
    **{w: LVI.ABSENT for w in ("absent", "no", "n", "0", "false", "negative", "neg")},
}


def _is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in _UNKNOWN_TEXT


def _to_float(text: str) -> float:
    return float(text.replace(",", "."))


def parse_ki67(value, source: str | None = None) -> Ki67:
    """Ki-67 from a form field, table cell or JSON value. Raises ClinicalInputError when not valid."""
    if isinstance(value, Ki67):
        return value
    if _is_missing(value):
        return Ki67(None, None, "" if value is None else str(value).strip())
    if isinstance(value, bool) or not isinstance(value, (str, numbers.Real)):
        raise ClinicalInputError(_KI67_MESSAGE.format(value), source)
    if isinstance(value, numbers.Real):
        return _ki67_from_percent(float(value), str(value), source)
    text = " ".join(value.split())
    number = _NUMBER.match(text)
    if number:
        return _ki67_from_percent(_to_float(number.group(1)), text, source)
    bound = _BOUND.match(text)
    if bound:
        return _ki67_from_bound(bound.group(1), _to_float(bound.group(2)), text, source)
    raise ClinicalInputError(_KI67_MESSAGE.format(text), source)


def _ki67_from_percent(percent: float, text: str, source) -> Ki67:
    if not math.isfinite(percent) or not 0.0 <= percent <= 100.0:
        raise ClinicalInputError(_KI67_MESSAGE.format(text), source)
    return Ki67(percent, percent >= KI67_CUTOFF_PERCENT, text)


def _ki67_from_bound(op: str, limit: float, text: str, source) -> Ki67:
    """A one-sided bound is accepted only when it settles the side of the 20 % cutoff."""
    if not 0.0 <= limit <= 100.0:
        raise ClinicalInputError(_KI67_MESSAGE.format(text), source)
    if op == "<" and limit <= KI67_CUTOFF_PERCENT or op in ("<=", "=<", "≤") and limit < KI67_CUTOFF_PERCENT:
        return Ki67(None, False, text)
    if op in (">=", "=>", "≥") and limit >= KI67_CUTOFF_PERCENT or op == ">" and limit >= KI67_CUTOFF_PERCENT:
        return Ki67(None, True, text)
    raise ClinicalInputError(
        f"Ki-67 '{text}' does not say on which side of the 20% cutoff it is; give the percentage, "
        "'<20%' or '>=20%'",
        source,
    )


def parse_lvi(value, source: str | None = None) -> LVI:
    """LVI from a form field, table cell or JSON value. Raises ClinicalInputError when not valid."""
    if isinstance(value, LVI):
        return value
    if _is_missing(value):
        return LVI.UNKNOWN
    if isinstance(value, bool):
        return LVI.PRESENT if value else LVI.ABSENT
    if isinstance(value, numbers.Real):
        if float(value) in (0.0, 1.0):
            return LVI.PRESENT if float(value) == 1.0 else LVI.ABSENT
        raise ClinicalInputError(_LVI_MESSAGE.format(value), source)
    if isinstance(value, str):
        found = _LVI_WORDS.get(" ".join(value.split()).lower())
        if found is not None:
            return found
    raise ClinicalInputError(_LVI_MESSAGE.format(value), source)


@dataclass(frozen=True)
class PathologyInputs:
    """Ki-67 and LVI as the clinical models use them (``None`` = unknown)."""

    ki67: Ki67
    lvi: LVI

    @classmethod
    def from_values(cls, ki67=None, lvi=None, source: str | None = None) -> "PathologyInputs":
        return cls(parse_ki67(ki67, source), parse_lvi(lvi, source))

    @property
    def ki67_high(self) -> bool | None:
        return self.ki67.high

    @property
    def lvi_present(self) -> bool | None:
        return self.lvi.present

    @property
    def complete(self) -> bool:
        return self.ki67_high is not None and self.lvi_present is not None

    def missing(self) -> tuple[str, ...]:
        """Names of the inputs that are unknown."""
        return tuple(n for n, v in (("Ki-67", self.ki67_high), ("LVI", self.lvi_present)) if v is None)


_KI67_KEYS = ("ki67_percent", "ki67", "ki-67", "ki67_pct", "ki_67")
_LVI_KEYS = ("lvi", "lvi_present", "lymphovascular_invasion")


def read_clinical_json(path: str | Path) -> PathologyInputs:
    """Pathology inputs from a JSON object with ``ki67_percent`` and ``lvi`` (keys matched case-insensitively).

    An absent key means unknown. Raises :class:`ClinicalInputError` naming the file.
    """
    p = Path(path)
    if not p.exists():
        raise ClinicalInputError("file not found", p)
    data = read_json(p, ClinicalInputError, what="the pathology file")
    if not isinstance(data, dict):
        raise ClinicalInputError('must hold a JSON object like {"ki67_percent": 35, "lvi": "absent"}', p)
    lowered = {str(k).strip().lower(): v for k, v in data.items()}
    ki67 = next((lowered[k] for k in _KI67_KEYS if k in lowered), None)
    lvi = next((lowered[k] for k in _LVI_KEYS if k in lowered), None)
    return PathologyInputs(parse_ki67(ki67, str(p)), parse_lvi(lvi, str(p)))
