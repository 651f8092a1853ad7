"""``tnbc-desktop bundle verify FILE`` and ``bundle show FILE``: check and describe a model bundle."""
from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    parser = subparsers.add_parser("bundle", help="verify or show a model bundle (JSON)")
    sub = parser.add_subparsers(dest="bundle_command", metavar="ACTION", required=True)
    verify = sub.add_parser("verify", help="check schema, SHA-256 and feature names; exit 0 if valid, 2 if not")
    verify.add_argument("file", help="bundle .json file")
    verify.set_defaults(func=run)
    show = sub.add_parser("show", help="print the model card, models and performance")
    show.add_argument("file", help="bundle .json file")
    show.add_argument("--json", action="store_true", help="print the verified document as JSON")
    show.set_defaults(func=run)


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, (int, float)) else "-"


def run(args: argparse.Namespace) -> int:
    from tnbc_desktop.core.bundle import load_bundle

    bundle = load_bundle(args.file)  # BundleError -> exit 2 with one line, handled by cli.main
    if args.bundle_command == "verify":
        print(f"OK: {bundle.summary()}")
        return 0
    if getattr(args, "json", False):
        print(json.dumps(bundle.document, indent=1, sort_keys=True))
        return 0
    print(bundle.summary())
    card = bundle.card
    print(f"intended use: {bundle.document['intended_use']}")
    print(f"outcome: {card.get('outcome')}")
    print(f"notice: {card.get('notice')}")
    for name, spec in bundle.models.items():
        print(f"\n[{name}] {spec.description}")
        for f, b in zip(spec.features, spec.coefficients):
            print(f"  {b:+.4f}  {f}")
        print(f"  intercept {spec.intercept:+.4f}; cutoff {spec.cutoff:.3f}")
        for split in ("training", "validation"):
            perf = (spec.performance or {}).get(split)
            if perf:
                ci = perf.get("auc_ci") or [None, None]
                print(f"  {split}: AUC {_fmt(perf.get('auc'))} ({_fmt(ci[0])}-{_fmt(ci[1])}), "
                      f"sens {_fmt(perf.get('sensitivity'))}, spec {_fmt(perf.get('specificity'))}, "
                      f"cal. slope {_fmt(perf.get('calibration_slope'))}, Brier {_fmt(perf.get('brier'))}")
        if spec.survival:
            print(f"  DFS by predicted group ({spec.survival.get('cohort')}): log-rank P "
                  f"{_fmt(spec.survival.get('logrank_p'))}")
    return 0
