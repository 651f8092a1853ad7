"""One error hierarchy for the whole app.

Every load/parse path ends in a subclass of :class:`TnbcError` whose message names the input (file, series,
field) and the problem in plain words. The CLI prints ``str(err)`` on one line and exits with code 2; the GUI
shows it in a dialog. Anything that is not a ``TnbcError`` is a bug.
"""
from __future__ import annotations

from pathlib import Path

#: [D] one line of about 300 characters at most: the problem text keeps up to MAX_PROBLEM_CHARS (a longer one
#: is cut with an ellipsis and the count of characters left out: two SHA-256 hashes and their sentence fit), the
#: source up to MAX_SOURCE_CHARS, keeping its end (where the file name is). Worst case 256 + 2 + 100 = 358.
MAX_PROBLEM_CHARS = 256
MAX_SOURCE_CHARS = 100
MAX_MESSAGE_CHARS = MAX_PROBLEM_CHARS + 2 + MAX_SOURCE_CHARS
MAX_DETAILS = 50


def printable(text: str) -> str:
    """``text`` on one line with printable characters only: line breaks and tabs become spaces, NUL bytes
    (e.g. from UTF-16 text read as 8-bit) are dropped, other control characters are shown escaped (``\\x1b``)."""
    out = []
    for ch in str(text):
        if ch.isprintable():
            out.append(ch)
        elif ch in "\r\n\t\v\f":
            out.append(" ")
        elif ch != "\x00":
            out.append(ascii(ch)[1:-1])
    return "".join(out).strip()


def shorten(text: str, limit: int, keep_end: bool = False) -> str:
    """``text`` cut to about ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    if keep_end:
        return "..." + text[-(limit - 3):]
    cut = len(text) - (limit - 30)
    return f"{text[:limit - 30]}... ({cut} more characters)"


def summarise(items, limit: int = 5, noun: str = "item") -> str:
    """'62 columns, first: a, b, c, d, e' for a long list; the whole list when it is short."""
    items = [printable(str(i)) for i in items]
    if len(items) <= limit:
        return ", ".join(items)
    return f"{len(items)} {noun}s, first: {', '.join(items[:limit])}"


class TnbcError(Exception):
    """Base class. ``source`` names the file or input the problem is about (may be None).

    The message is made safe to print here, once for every error: one line, printable characters only, at
    most about :data:`MAX_MESSAGE_CHARS` characters (source and problem together)."""

    exit_code = 2

    def __init__(self, message: str, source: str | Path | None = None, details=()):
        self.problem = shorten(printable(str(message)), MAX_PROBLEM_CHARS)
        self.source = None if source is None else shorten(printable(str(source)), MAX_SOURCE_CHARS, keep_end=True)
        #: optional list behind the one-line message (e.g. every problem of a manifest, by row), each item one
        #: printable line; the CLI prints them below the error line, at most :data:`MAX_DETAILS`
        self.details = tuple(shorten(printable(str(d)), MAX_PROBLEM_CHARS) for d in list(details)[:MAX_DETAILS])
        super().__init__(f"{self.source}: {self.problem}" if self.source else self.problem)


class InputError(TnbcError):
    """A file or value the user gave cannot be read or is not valid."""


class DicomError(InputError):
    """A DICOM file or series cannot be read or assembled into a study."""


class IdentityError(DicomError):
    """Images chosen for one study belong to different patients (or, unless allowed, studies)."""


class GeometryError(InputError):
    """Image grids do not agree (missing slice, mixed orientation, mask on another region...)."""


class TimingError(InputError):
    """Phase acquisition times are missing, ambiguous or not increasing."""


class MaskError(InputError):
    """A tumour mask is empty, unreadable, or its label is ambiguous."""


class SegmentationError(InputError):
    """The semi-automatic segmentation cannot make a lesion mask from the seed, box and threshold given."""


class MutationFileError(InputError):
    """A MAF / mutation-panel file is not readable or lacks required columns."""


class ClinicalInputError(InputError):
    """A pathology value (Ki-67, LVI) is not valid."""


class ConfigError(TnbcError):
    """A settings or parameter file is invalid."""


class BundleError(TnbcError):
    """A model bundle fails its schema, hash or feature-list checks; nothing is predicted from it."""


class FeatureError(TnbcError):
    """A feature could not be computed (for example an empty or too-small region)."""


class OutputError(TnbcError):
    """An output file (report, session, table) could not be written; any previous file is left intact."""


class CancelledError(TnbcError):
    """The user cancelled a long-running job."""

    exit_code = 130


class PipelineError(TnbcError):
    """A pipeline step failed; ``step`` names it and the cause is chained."""

    def __init__(self, step: str, cause: BaseException, source: str | Path | None = None):
        self.step = step
        self.cause = cause
        detail = cause.problem if isinstance(cause, TnbcError) else f"{type(cause).__name__}: {cause}"
        src = source if source is not None else getattr(cause, "source", None)
        super().__init__(f"step '{step}' failed: {detail}", src)
