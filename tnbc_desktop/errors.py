"""One error hierarchy for the whole app.

Every load/parse path ends in a subclass of :class:`TnbcError` whose message names the input (file, series,
field) and the problem in plain words. The CLI prints ``str(err)`` on one line and exits with code 2; the GUI
shows it in a dialog. Anything that is not a ``TnbcError`` is a bug.
"""
from __future__ import annotations

from pathlib import Path


class TnbcError(Exception):
    """Base class. ``source`` names the file or input the problem is about (may be None)."""

    exit_code = 2

    def __init__(self, message: str, source: str | Path | None = None):
        self.source = None if source is None else str(source)
        self.problem = message
        super().__init__(f"{self.source}: {message}" if self.source else message)


class InputError(TnbcError):
    """A file or value the user gave cannot be read or is not valid."""


class DicomError(InputError):
    """A DICOM file or series cannot be read or assembled into a study."""


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


class ModelInputError(TnbcError):
    """A model's inputs are missing or invalid, so that model is not available."""


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
