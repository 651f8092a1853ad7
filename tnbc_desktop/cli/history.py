"""``tnbc-desktop history``: list past analyses from the local case history."""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("history", help="list past analyses (case history)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--limit", type=int, default=20, help="number of most recent analyses (default 20)")
    p.set_defaults(func=run)


def _group_text(preds: dict) -> str:
    parts = []
    for name, label in (("model3", "M3"), ("prm", "PRM"), ("gprm", "GPRM")):
        p = (preds or {}).get(name) or {}
        if p.get("available") and p.get("probability") is not None:
            parts.append(f"{label} {p['probability']:.2f} {p.get('group') or ''}".strip())
        else:
            parts.append(f"{label} n/a")
    return "; ".join(parts)


def run(args) -> int:
    from tnbc_desktop.core.store import CaseStore

    rows = CaseStore().list(limit=max(int(args.limit), 0))
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    if not rows:
        print("no analyses recorded yet")
        return 0
    for r in rows:
        print(f"#{r['id']}  {r['created_utc']}  {r['os_user']}  bundle {r['bundle_name']} "
              f"({r['bundle_sha256'][:12]})  {_group_text(r['predictions'])}"
              + (f"  report {r['report_path']}" if r.get("report_path") else ""))
    return 0
