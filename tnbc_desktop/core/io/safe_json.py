"""JSON from untrusted files with a size and nesting-depth cap: bundles, sidecars, settings, clinical JSON,
session and cohort files.

Python's ``json`` recurses once per nesting level, so a document nested 10,000 deep ends in a
``RecursionError``; the depth is therefore measured first by a linear scan (brackets outside strings), and a
deeper document is refused before it is parsed. ``NaN`` / ``Infinity`` (not JSON) are refused too. Every
failure is the caller's error class naming the file; nothing else escapes.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tnbc_desktop.core.io.safe_files import MAX_TEXT_BYTES, read_bytes_limited
from tnbc_desktop.errors import InputError, TnbcError

#: [D] deepest nesting accepted. The app's own documents are at most ~8 deep (a bundle's model
#: coefficients); 64 leaves room for other tools' sidecars while staying far below Python's recursion limit.
MAX_JSON_DEPTH = 64

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def json_depth(text: str) -> int:
    """Deepest bracket nesting of ``text`` (strings skipped); linear time, no recursion."""
    depth = deepest = 0
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif tok in "]}":
            depth -= 1
    return deepest


def _reject_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def loads_json(text: str | bytes, source: str | Path | None = None, error: type[TnbcError] = InputError,
               max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_TEXT_BYTES, what: str = "JSON") -> Any:
    """Parse ``text`` (bytes are UTF-8, BOM allowed) or raise ``error`` naming ``source``."""
    if len(text) > max_bytes:
        raise error(f"{what} is {len(text)} bytes, over the {max_bytes}-byte limit", source)
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise error(f"{what} is not a UTF-8 text file (byte {exc.start} is not UTF-8); a JSON file is "
                        "expected", source) from None
    depth = json_depth(text)
    if depth > max_depth:
        raise error(f"{what} is nested {depth} levels deep, over the limit of {max_depth}; not parsed", source)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise error(f"{what} is not a valid JSON document (line {exc.lineno} column {exc.colno}: {exc.msg})", source) \
            from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise error(f"{what} is not a valid JSON document ({type(exc).__name__}: {str(exc)[:120]})", source) from None


def read_json(path: str | Path, error: type[TnbcError] = InputError, max_depth: int = MAX_JSON_DEPTH,
              max_bytes: int = MAX_TEXT_BYTES, what: str = "JSON file") -> Any:
    """Read a regular file of at most ``max_bytes`` and parse it as in :func:`loads_json`."""
    raw = read_bytes_limited(path, max_bytes, error, what)
    return loads_json(raw, path, error, max_depth, max_bytes, what)
