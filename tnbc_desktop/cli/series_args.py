"""``--series`` and ``--allow-mixed-study`` for the commands that load a study, and the series table text."""
from __future__ import annotations

SERIES_HELP = ("series numbers to build the DCE from, comma-separated (default: the exam scan's choice; "
               "see `inspect STUDY --series`)")


def add_series_arguments(p, table: bool = False) -> None:
    if table:
        p.add_argument("--series", nargs="?", const="", default=None, metavar="N[,N...]",
                       help="print the exam's series table (role of each series, which make the DCE); with "
                            "numbers: " + SERIES_HELP)
    else:
        p.add_argument("--series", default=None, metavar="N[,N...]", help=SERIES_HELP)
    p.add_argument("--allow-mixed-study", action="store_true",
                   help="load phases whose StudyInstanceUID or FrameOfReferenceUID differ (with a warning); "
                        "phases of another patient are always refused")


def parse_series(text: str | None) -> tuple[int, ...] | None:
    """'5,6,7' -> (5, 6, 7); None or '' -> None."""
    from tnbc_desktop.errors import InputError

    if not text:
        return None
    try:
        numbers = tuple(int(v) for v in text.replace(" ", ",").split(",") if v.strip())
    except ValueError:
        raise InputError(f"--series must be comma-separated series numbers, got {text[:60]!r}") from None
    return numbers or None


def series_rows(exam, used=None) -> list[dict]:
    """One plain dict per series (JSON of `inspect --series --json`); ``used``: the DceSelection whose series
    parts are marked chosen (a series split into parts may give only one of them to the DCE)."""
    keys = set() if used is None else {(s.uid, s.part) for s in used.series}
    rows = []
    for s in exam.series:
        rows.append({
            "number": s.number, "description": s.description, "n_images": s.n_images, "role": s.role.value,
            "reason": s.reason, "plane": s.plane, "matrix": list(s.matrix),
            "spacing_mm": None if s.spacing_mm is None else list(s.spacing_mm), "n_positions": s.n_positions,
            "n_volumes": s.n_volumes, "phase_key": s.phase_key, "flip_angles": list(s.flip_angles),
            "repetition_time_ms": s.repetition_time_ms, "echo_time_ms": s.echo_time_ms,
            "chosen": (s.uid, s.part) in keys,
        })
    return rows


def series_table(rows: list[dict]) -> list[str]:
    """The series table as text lines (one per series) for a terminal."""
    head = f"{'#':>5}  {'description':<28} {'images':>6} {'plane':<9} {'matrix':<9} {'spacing mm':<11} " \
           f"{'vol':>4} {'phase key':<28} {'flip':<9} {'role':<10} chosen  reason"
    lines = [head]
    for r in rows:
        spacing = "-" if r["spacing_mm"] is None else "x".join(f"{v:.3g}" for v in r["spacing_mm"])
        flips = ",".join(f"{v:g}" for v in r["flip_angles"][:3]) + ("..." if len(r["flip_angles"]) > 3 else "")
        lines.append(f"{'?' if r['number'] is None else r['number']:>5}  {r['description'][:28]:<28} "
                     f"{r['n_images']:>6} {r['plane']:<9} {'x'.join(map(str, r['matrix'])):<9} {spacing:<11} "
                     f"{r['n_volumes'] if r['n_volumes'] is not None else '-':>4} {(r['phase_key'] or '-')[:28]:<28} "
                     f"{flips or '-':<9} {r['role']:<10} {'yes' if r['chosen'] else '':<7} {r['reason'][:70]}")
    return lines
