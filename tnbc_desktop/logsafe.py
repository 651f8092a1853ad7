"""Logging that never writes patient identifiers.

All app loggers live under ``tnbc_desktop``. :class:`IdentifierFilter` redacts any registered identifier
string (patient name, ID, dates, accession number read from an input) from every record before it is
formatted, so a stray ``log.info(dataset)`` cannot leak them. Identifiers are registered by the loaders via
:func:`register_identifiers`.
"""
from __future__ import annotations

import logging
import re
import threading

_LOCK = threading.Lock()
_IDENTIFIERS: set[str] = set()
REDACTED = "[redacted]"


def register_identifiers(values) -> None:
    """Add identifier strings (len >= 3) that must never appear in a log line."""
    with _LOCK:
        for v in values:
            s = str(v).strip()
            if len(s) >= 3:
                _IDENTIFIERS.add(s)
                # DICOM PN uses '^' between name parts; also redact the parts
                for part in re.split(r"[\^\s]+", s):
                    if len(part) >= 4:
                        _IDENTIFIERS.add(part)


def redact(text: str) -> str:
    with _LOCK:
        ids = sorted(_IDENTIFIERS, key=len, reverse=True)
    for ident in ids:
        if ident in text:
            text = text.replace(ident, REDACTED)
    return text


DICOM_WITHHELD = "[DICOM data withheld]"


def _withhold_dicom(value):
    """A pydicom Dataset / DataElement / Sequence (which print every tag value) becomes a placeholder."""
    module = type(value).__module__ or ""
    if module.startswith("pydicom.") and type(value).__name__ in (
            "Dataset", "FileDataset", "DataElement", "RawDataElement", "Sequence", "FileMetaDataset",
            "PersonName", "MultiValue"):
        return DICOM_WITHHELD
    return value


class IdentifierFilter(logging.Filter):
    """Replaces registered identifiers in the formatted message; drops DICOM datasets passed as args."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _withhold_dicom(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_withhold_dicom(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _withhold_dicom(v) for k, v in record.args.items()}
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not crash logging
            message = str(record.msg)
        record.msg = redact(message)
        record.args = ()
        if record.exc_info and not record.exc_text:  # tracebacks carry exception messages (paths, values)
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def configure_logging(verbose: bool = False) -> None:
    """Console logging for the CLI/GUI with the identifier filter on every handler."""
    root = logging.getLogger("tnbc_desktop")
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    if not any(isinstance(f, IdentifierFilter) for f in root.filters):
        root.addFilter(IdentifierFilter())
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.addFilter(IdentifierFilter())
        root.addHandler(handler)


def get_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name if name.startswith("tnbc_desktop") else f"tnbc_desktop.{name}")
    if not any(isinstance(f, IdentifierFilter) for f in logger.filters):
        logger.addFilter(IdentifierFilter())
    return logger
