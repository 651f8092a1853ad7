"""Session save/restore of the user's inputs (not of results): one JSON file in the user data folder.

Layout in :func:`tnbc_desktop.paths.user_data_dir`:
- ``session.json``: the last inputs (paths, phase-time edits, Ki-67, LVI, MAF + sample, bundle), written
  atomically on every committed edit and every 30 s by the window's autosave timer;
- ``session.clean``: written at a clean exit and removed at start-up, so "session present and no marker"
  means the previous run crashed and the window offers to restore;
- a corrupt ``session.json`` is renamed ``session.json.corrupt-<time>`` and defaults are used.
No Qt here: the window owns the timer.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from tnbc_desktop.core.io.atomic import set_aside, write_text_atomic
from tnbc_desktop.core.io.safe_json import read_json
from tnbc_desktop.errors import ConfigError
from tnbc_desktop.logsafe import get_logger
from tnbc_desktop.paths import user_data_dir

log = get_logger(__name__)

SESSION_FILE = "session.json"
CLEAN_MARKER = "session.clean"
RECENT_FILE = "recent_cases.json"
SCHEMA_VERSION = 1
MAX_RECENT = 10


@dataclass(frozen=True)
class SessionState:
    """The user's inputs for one case. Paths are strings; ``None`` means not given."""

    study_source: list[str] = field(default_factory=list)  # one folder / 4D file, or one 3D file per phase
    mask_path: str | None = None
    mask_label: int | None = None
    phase_times_s: list[float] | None = None  # user-edited times of the loaded phases (None = from the files)
    phase_order: list[int] | None = None  # loaded phase indices kept, in display order (None = all, as loaded)
    ki67: str = ""  # as typed, e.g. "35" or "35 %"
    lvi: str = "unknown"  # "present" | "absent" | "unknown"
    maf_path: str | None = None
    sample: str | None = None
    bundle_path: str | None = None
    deidentify: bool = False
    mask_provenance: dict | None = None  # MaskProvenance.to_dict() of the mask (None = the file mask_path)
    mask_autosave: str | None = None  # an unsaved mask made in the app, written by the autosave
    series: list[int] | None = None  # DICOM series numbers making the DCE (None = the exam scan's choice)
    allow_mixed_study: bool = False  # phases of different StudyInstanceUID / FrameOfReferenceUID accepted

    def to_dict(self) -> dict:
        return {"schema_version": SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> "SessionState":
        """Build from JSON; raises ValueError naming the field when a value has the wrong type."""
        if not isinstance(data, dict):
            raise ValueError("top level is not an object")
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        state = cls(**kwargs)
        _check_types(state)
        return state

    def with_changes(self, **changes) -> "SessionState":
        return replace(self, **changes)


def _check_types(s: SessionState) -> None:
    def opt(name, value, types):
        if value is not None and not isinstance(value, types):
            raise ValueError(f"field '{name}' has the wrong type")

    if not isinstance(s.study_source, list) or not all(isinstance(p, str) for p in s.study_source):
        raise ValueError("field 'study_source' must be a list of paths")
    opt("mask_provenance", s.mask_provenance, dict)
    for name in ("mask_path", "maf_path", "sample", "bundle_path", "mask_autosave"):
        opt(name, getattr(s, name), str)
    opt("mask_label", s.mask_label, int)
    for name in ("phase_times_s", "phase_order"):
        value = getattr(s, name)
        opt(name, value, list)
        if value is not None and not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise ValueError(f"field '{name}' must be a list of numbers")
    if s.series is not None and (not isinstance(s.series, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in s.series)):
        raise ValueError("field 'series' must be a list of series numbers")
    if not isinstance(s.allow_mixed_study, bool):
        raise ValueError("field 'allow_mixed_study' has the wrong type")
    if not isinstance(s.ki67, str) or not isinstance(s.lvi, str) or not isinstance(s.deidentify, bool):
        raise ValueError("fields 'ki67', 'lvi', 'deidentify' have the wrong type")


class SessionStore:
    """Reads and writes the session files in ``folder`` (default: the user data folder)."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder is not None else user_data_dir()
        self.folder.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path:
        return self.folder / SESSION_FILE

    @property
    def marker(self) -> Path:
        return self.folder / CLEAN_MARKER

    def previous_run_crashed(self) -> bool:
        """True when a session was autosaved but the previous run did not exit cleanly."""
        return self.path.exists() and not self.marker.exists()

    def begin_run(self) -> None:
        """Remove the clean-exit marker: from now on a crash leaves the session without it."""
        self.marker.unlink(missing_ok=True)

    def mark_clean_exit(self) -> None:
        write_text_atomic(self.marker, time.strftime("%Y-%m-%dT%H:%M:%S"))

    def save(self, state: SessionState) -> Path:
        """Write ``state`` atomically (raises OutputError naming the file if that fails). The MAF sample
        barcode (an identifier) is stored only as ``sha256:<hex>``; the MAF reader matches it on restore."""
        doc = state.to_dict()
        if doc.get("sample") and not doc["sample"].startswith("sha256:"):
            doc["sample"] = "sha256:" + hashlib.sha256(doc["sample"].encode("utf-8")).hexdigest()
        return write_text_atomic(self.path, json.dumps(doc, indent=2))

    def load(self) -> tuple[SessionState, str | None]:
        """(state, problem). A missing file gives defaults; a corrupt one is set aside and named in ``problem``."""
        if not self.path.exists():
            return SessionState(), None
        try:
            data = read_json(self.path, ConfigError, what="session file")
            return SessionState.from_dict(data), None
        except (OSError, UnicodeDecodeError, ValueError, TypeError, ConfigError) as exc:
            aside = self.set_aside()
            reason = exc.problem if isinstance(exc, ConfigError) else exc.__class__.__name__ if isinstance(
                exc, (OSError, UnicodeDecodeError)) else str(exc)
            log.warning("session file unreadable (%s); kept as %s", reason, aside.name)
            return SessionState(), (f"The saved session {self.path} could not be read ({reason}); "
                                    f"it was kept as {aside.name} and the app starts with empty inputs.")

    def set_aside(self) -> Path:
        return set_aside(self.path)

    # recent cases -----------------------------------------------------------------------------------
    def recent_cases(self) -> list[dict]:
        """Most recent first: dicts with ``study_source`` (list of str), ``mask_path`` and ``label``."""
        try:
            data = read_json(self.folder / RECENT_FILE, ConfigError, what="recent-cases file")
            return [d for d in data if isinstance(d, dict) and isinstance(d.get("study_source"), list)]
        except (ConfigError, TypeError):
            return []

    def add_recent(self, study_source: list[str], mask_path: str | None, label: str = "") -> None:
        """Put a case first in the list; ``label`` (patient and study date, or the file name when
        de-identified) is what the menu shows."""
        entry = {"study_source": list(study_source), "mask_path": mask_path, "label": label}
        rest = [d for d in self.recent_cases() if d.get("study_source") != entry["study_source"]]
        write_text_atomic(self.folder / RECENT_FILE, json.dumps([entry, *rest][:MAX_RECENT], indent=2))
