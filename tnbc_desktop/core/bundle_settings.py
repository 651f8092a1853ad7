"""A bundle's ``extraction`` section, parsed once (at load) into typed, frozen settings.

:class:`ExtractionSettings` is what every imaging chain run uses: the verified pyradiomics parameter file,
the kinetic settings, the peritumoral ring width and the MSI neighbourhood. The parameter file is one of the
app's shipped resources, named by file name only (no folder, so a bundle can never make the app read
``/etc/passwd`` or ``/dev/zero``) and pinned by its SHA-256, which is compared with the shipped file's at
load: a mismatch is a :class:`BundleError` naming both hashes, never a silent fallback.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from tnbc_desktop.core.features.params import DEFAULT_PARAMS_FILE, RadiomicsParams, load_params
from tnbc_desktop.core.kinetics import KineticSettings
from tnbc_desktop.core.msi import MsiConnectivity
from tnbc_desktop.errors import BundleError, ConfigError
from tnbc_desktop.paths import resource_path

#: parameter files shipped in ``resources/`` that a bundle may name
SHIPPED_PARAMS_FILES = (DEFAULT_PARAMS_FILE,)
#: a bare file name (also the schema's pattern): no folder separators, no leading dot
PARAMS_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.ya?ml$")
DEFAULT_RING_WIDTH_MM = 5.0
_KINETIC_FIELDS = {f.name: f for f in fields(KineticSettings)}


@dataclass(frozen=True)
class ExtractionSettings:
    """How study + mask become features: ``params`` (verified parameter file), ``kinetic`` settings,
    ``ring_width_mm`` and ``msi_connectivity``."""

    params: RadiomicsParams
    kinetic: KineticSettings = KineticSettings()
    ring_width_mm: float = DEFAULT_RING_WIDTH_MM
    msi_connectivity: MsiConnectivity = MsiConnectivity.IN_PLANE_8

    @property
    def params_name(self) -> str:
        return DEFAULT_PARAMS_FILE if not self.params.source else resource_name(self.params.source)

    def to_document(self) -> dict[str, Any]:
        """The bundle's ``extraction`` keys these settings stand for."""
        return {"pyradiomics_params_file": self.params_name, "pyradiomics_params_sha256": self.params.sha256,
                "kinetic_settings": asdict(self.kinetic), "ring_width_mm": float(self.ring_width_mm),
                "msi_connectivity": self.msi_connectivity.value}


def resource_name(source: str) -> str:
    """The file name of a parameter file's source path."""
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def default_extraction(slopes: str = "relative") -> ExtractionSettings:
    """The shipped parameter file, default kinetic settings with ``slopes``, a 5 mm ring and 2D-8 MSI."""
    return ExtractionSettings(params=load_params(), kinetic=KineticSettings(slopes=slopes))


def shipped_params(name: Any, sha256: Any, source: str) -> RadiomicsParams:
    """The shipped parameter file ``name``, checked to have SHA-256 ``sha256``; else :class:`BundleError`.

    ``name`` is checked to be one of :data:`SHIPPED_PARAMS_FILES` before anything is read.
    """
    if not isinstance(name, str) or not PARAMS_NAME_PATTERN.match(name) or name not in SHIPPED_PARAMS_FILES:
        raise BundleError(f"extraction.pyradiomics_params_file must name a parameter file shipped with the app "
                          f"({', '.join(SHIPPED_PARAMS_FILES)}), not {str(name)[:80]!r}", source)
    try:
        params = load_params(resource_path(name))
    except ConfigError as exc:
        raise BundleError(f"the shipped parameter file {name} cannot be used ({exc.problem})", source) from exc
    if params.sha256 != sha256:
        raise BundleError(f"the bundle was made with a different {name}: bundle SHA-256 {sha256}, "
                          f"shipped file SHA-256 {params.sha256}; refusing to extract with other settings", source)
    return params


def parse_kinetic_settings(given: Any, source: str) -> KineticSettings:
    """``extraction.kinetic_settings`` -> :class:`KineticSettings`; unknown keys or bad values -> BundleError."""
    if not isinstance(given, dict):
        raise BundleError("extraction.kinetic_settings must be an object", source)
    unknown = sorted(set(given) - set(_KINETIC_FIELDS))
    if unknown:
        raise BundleError(f"extraction.kinetic_settings has unknown key(s) {', '.join(unknown[:5])}; "
                          f"known: {', '.join(_KINETIC_FIELDS)}", source)
    try:
        return KineticSettings(**given)
    except (ConfigError, TypeError) as exc:
        raise BundleError(f"extraction.kinetic_settings: {getattr(exc, 'problem', None) or exc}", source) from None


def parse_extraction(extraction: Any, source: str) -> ExtractionSettings:
    """The typed settings of a (schema-valid) bundle's ``extraction`` section; :class:`BundleError` if unusable."""
    if not isinstance(extraction, dict):
        raise BundleError("extraction must be an object", source)
    try:
        msi = MsiConnectivity(extraction.get("msi_connectivity"))
    except ValueError:
        raise BundleError(f"extraction.msi_connectivity must be one of "
                          f"{', '.join(c.value for c in MsiConnectivity)}", source) from None
    width = extraction.get("ring_width_mm")
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < float(width) < float("inf"):
        raise BundleError(f"extraction.ring_width_mm must be a positive number of mm, not {width!r}", source)
    kinetic = parse_kinetic_settings(extraction.get("kinetic_settings"), source)
    params = shipped_params(extraction.get("pyradiomics_params_file"),
                            extraction.get("pyradiomics_params_sha256"), source)
    return ExtractionSettings(params=params, kinetic=kinetic, ring_width_mm=float(width), msi_connectivity=msi)
