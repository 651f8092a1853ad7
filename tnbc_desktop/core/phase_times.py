"""Phase times: the one parser of user-typed times and the one rule set every source of times must meet.

``parse_phase_times`` reads what a user types (CLI ``--phase-times``, a manifest cell): ``0,90,180``,
``0;90;180``, ``0 90 180`` or several such arguments. ``validate_phase_times`` is the rule set for times from
any source (files, user, phase table): numbers, finite, one per phase, strictly increasing; they are returned
relative to phase 0 (the pre-contrast phase is at 0 s). Both raise :class:`TimingError`.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

from tnbc_desktop.core.phase_numbering import phase_number
from tnbc_desktop.errors import TimingError

_SEPARATORS = re.compile(r"[,;\s]+")


def parse_phase_times(values: str | Sequence[str] | None, source: str = "--phase-times") -> tuple[float, ...] | None:
    """Seconds from typed text (see the module docstring); None or blank -> None."""
    if values is None:
        return None
    items = [values] if isinstance(values, str) else list(values)
    parts = [p for item in items for p in _SEPARATORS.split(str(item)) if p]
    if not parts:
        return None
    try:
        return tuple(float(p) for p in parts)
    except ValueError:
        shown = " ".join(str(i) for i in items)[:120]
        raise TimingError(f"phase times must be numbers in seconds separated by commas or spaces, got {shown!r}",
                          source) from None


def validate_phase_times(times: Sequence[float], n_phases: int | None = None,
                         source: str = "phase times") -> tuple[float, ...]:
    """``times`` checked (see the module docstring) and shifted so that phase 0 is at 0 s."""
    try:
        t = [float(v) for v in times]
    except (TypeError, ValueError):
        raise TimingError(f"phase times must be numbers (seconds), got {list(times)!r:.120}", source) from None
    if n_phases is not None and len(t) != n_phases:
        raise TimingError(f"{len(t)} phase time(s) given for {n_phases} phases", source)
    if not all(math.isfinite(v) for v in t):
        raise TimingError("phase times must be finite numbers", source)
    for i in range(1, len(t)):
        if not t[i] > t[i - 1]:
            raise TimingError(f"phase times must increase strictly: phase {phase_number(i)} ({t[i]:g} s) is not "
                              f"after phase {phase_number(i - 1)} ({t[i - 1]:g} s)", source)
    return tuple(v - t[0] for v in t) if t else ()
