"""App settings: one JSON file ``settings.json`` in the user data folder, with a corrupt-file fallback.

A missing file gives the defaults. A file that is not valid JSON, or holds a value of the wrong type, is renamed
``settings.json.corrupt-<time>`` (kept for the user), the defaults are used, and the problem is returned so the
GUI/CLI can say so in plain words. Writes go through the atomic writer (never a partial file).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from tnbc_desktop.core.io.safe_json import read_json
from tnbc_desktop.core.io.atomic import set_aside, write_text_atomic
from tnbc_desktop.errors import ConfigError
from tnbc_desktop.logsafe import get_logger
from tnbc_desktop.paths import user_data_dir

log = get_logger(__name__)

SETTINGS_FILE = "settings.json"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class AppSettings:
    """User preferences (no patient data). ``autosave_interval_s`` in seconds; ``n_jobs`` feature workers."""

    deidentify_by_default: bool = False
    store_identifiers_in_history: bool = False
    autosave_interval_s: int = 30
    n_jobs: int = 1
    default_bundle_path: str | None = None
    last_open_folder: str | None = None
    theme: str = "light"

    def to_dict(self) -> dict:
        return {"schema_version": SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: object, source: str | Path | None = None) -> "AppSettings":
        """Validate and build; raises :class:`ConfigError` naming the field. Unknown keys are ignored."""
        if not isinstance(data, dict):
            raise ConfigError("settings must be a JSON object", source)
        kwargs = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            default = getattr(cls(), f.name)
            if f.name in ("default_bundle_path", "last_open_folder"):
                ok = value is None or isinstance(value, str)
            elif isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
            else:
                ok = isinstance(value, str)
            if not ok:
                raise ConfigError(f"setting '{f.name}' has an invalid value {value!r}", source)
            kwargs[f.name] = value
        return cls(**kwargs)

    def with_changes(self, **changes) -> "AppSettings":
        return replace(self, **changes)


class SettingsStore:
    """Reads and writes ``settings.json`` in ``folder`` (default: the user data folder)."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder is not None else user_data_dir()
        self.folder.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path:
        return self.folder / SETTINGS_FILE

    def load(self) -> tuple[AppSettings, str | None]:
        """(settings, problem). Missing -> defaults, None; corrupt -> set aside, defaults, a plain message."""
        if not self.path.exists():
            return AppSettings(), None
        try:
            data = read_json(self.path, ConfigError, what="settings file")
            return AppSettings.from_dict(data, self.path), None
        except (OSError, UnicodeDecodeError, ValueError, ConfigError) as exc:
            reason = exc.problem if isinstance(exc, ConfigError) else type(exc).__name__
            aside = self.set_aside()
            log.warning("settings file unreadable (%s); kept as %s", reason, aside.name)
            return AppSettings(), (f"The settings file {self.path} could not be read ({reason}); it was kept as "
                                   f"{aside.name} and the default settings are used.")

    def save(self, settings: AppSettings) -> Path:
        """Write atomically; raises :class:`~tnbc_desktop.errors.OutputError` naming the file on failure."""
        return write_text_atomic(self.path, json.dumps(settings.to_dict(), indent=2))

    def set_aside(self) -> Path:
        return set_aside(self.path)
