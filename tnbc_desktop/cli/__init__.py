"""Command-line interface: ``tnbc-desktop <command>``. Every GUI action has a subcommand here.

Each command lives in its own module under ``tnbc_desktop.cli`` exposing ``register(subparsers)``; the list
below is explicit (no discovery by introspection). Bad input exits with code 2 and one plain error line on
stderr, no traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from tnbc_desktop import RESEARCH_USE_NOTICE
from tnbc_desktop.errors import TnbcError

COMMAND_MODULES = (
    "demo",
    "inspect_cmd",
    "synth",
    "maf",
    "features",
    "segment",
    "bundle",
    "train",
    "analyze",
    "batch",
    "history",
    "dicom",
    "cohort",
    "gui",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tnbc-desktop",
        description=f"TNBC radiogenomic decision support (Zhou et al. 2024). {RESEARCH_USE_NOTICE}",
    )
    parser.add_argument("--version", action="store_true", help="print versions of the app, bundles and libraries")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details (never identifiers)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"tnbc_desktop.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tnbc_desktop.cli.{name}":
                continue  # command not part of this build yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from tnbc_desktop.logsafe import configure_logging

    configure_logging(verbose=args.verbose)
    if args.version:
        from tnbc_desktop.versions import version_report

        print(version_report())
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except TnbcError as err:
        print(f"tnbc-desktop: error: {err}", file=sys.stderr)
        for line in err.details:
            print(f"  {line}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("tnbc-desktop: cancelled", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
