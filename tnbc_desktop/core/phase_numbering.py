"""How phases are numbered for people, in one place (GUI, PDF report, CLI text).

[D] People see phases counted from 1, the pre-contrast phase being phase 1 (the first image a reader scrolls
to is "phase 1"; radiology reports say "first post-contrast" for phase 2). Arrays, kinetic settings and JSON
keep 0-based indices, and every JSON key that holds one says so with an ``_index0`` suffix
(``early_phase_index0``); JSON never holds a 1-based phase number.
"""
from __future__ import annotations

PHASE_NUMBERING_NOTE = "phases are counted from 1; phase 1 is the pre-contrast"


def phase_number(index0: int) -> int:
    """The number people see for the phase at 0-based ``index0``."""
    return int(index0) + 1


def phase_name(index0: int, time_s: float | None = None) -> str:
    """'phase 1 (pre-contrast, 0 s)', 'phase 3 (180 s)'; without the time when ``time_s`` is None."""
    parts = (["pre-contrast"] if int(index0) == 0 else []) + ([f"{time_s:g} s"] if time_s is not None else [])
    return f"phase {phase_number(index0)}" + (f" ({', '.join(parts)})" if parts else "")
