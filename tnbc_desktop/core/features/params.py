"""The pyradiomics parameter file: load, validate, hash.

The file is pyradiomics' own YAML format (``imageType`` / ``featureClass`` / ``setting``). It is checked twice:
against pyradiomics' schema (``radiomics/schemas/paramSchema.yaml``, via pykwalify) and against the app's
allow-list (only the image types, feature classes and settings this app implements; anything else is refused
with a :class:`ConfigError`, never ignored). The SHA-256 of the file bytes goes into every feature set.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from tnbc_desktop.errors import ConfigError
from tnbc_desktop.paths import resource_path

DEFAULT_PARAMS_FILE = "radiomics_params.yaml"

#: image types the app can compute (pyradiomics names), in the order features are listed
SUPPORTED_IMAGE_TYPES = ("Original", "Wavelet", "LoG", "Square", "SquareRoot", "Logarithm")
#: feature classes, all required, each with all its non-deprecated features (value null in the file)
REQUIRED_FEATURE_CLASSES = ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")
ALLOWED_SETTINGS = frozenset({
    "resampledPixelSpacing", "interpolator", "padDistance", "normalize", "normalizeScale", "voxelArrayShift",
    "binCount", "binWidth", "label", "correctMask", "minimumROIDimensions", "minimumROISize",
    "geometryTolerance", "distances", "preCrop", "additionalInfo", "symmetricalGLCM", "gldm_a",
    "weightingNorm",
})
ALLOWED_IMAGE_TYPE_ARGS = {
    "Original": frozenset(), "Square": frozenset(), "SquareRoot": frozenset(), "Logarithm": frozenset(),
    "Wavelet": frozenset({"wavelet", "level", "start_level"}), "LoG": frozenset({"sigma"}),
}
_WAVELET_BANDS = ("LLH", "LHL", "LHH", "HLL", "HLH", "HHL", "HHH", "LLL")


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class RadiomicsParams:
    """A validated parameter file.

    ``image_types``: pyradiomics image type -> its custom arguments; ``settings``: pyradiomics settings
    (read-only mappings); ``sha256``: hash of the file bytes; ``source``: where it was read from.
    """

    image_types: Mapping[str, Mapping[str, Any]]
    settings: Mapping[str, Any]
    sha256: str
    source: str
    text: str

    def settings_dict(self) -> dict[str, Any]:
        """A fresh, mutable copy of the settings (lists, not tuples) for pyradiomics calls."""
        return _thaw(self.settings)

    def image_type_args(self, image_type: str) -> dict[str, Any]:
        return _thaw(self.image_types.get(image_type, {}))

    def image_type_names(self) -> tuple[str, ...]:
        """The derived image names pyradiomics gives, e.g. ``original``, ``wavelet-LLH``, ``log-sigma-2-0-mm-3D``."""
        names: list[str] = []
        for itype in self.image_types:
            args = self.image_types[itype]
            if itype == "Original":
                names.append("original")
            elif itype == "Wavelet":
                level = int(args.get("level", 1))
                start = int(args.get("start_level", 0))
                for idx in range(1, level + 1):
                    prefix = "wavelet" if idx == 1 else f"wavelet{idx}"
                    names.extend(f"{prefix}-{b}" for b in _WAVELET_BANDS if b != "LLL")
                del start
                names.append("wavelet-LLL" if level == 1 else f"wavelet{level}-LLL")
            elif itype == "LoG":
                names.extend(log_image_name(s) for s in args.get("sigma", ()))
            else:
                names.append(itype.lower())
        return tuple(names)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (for bundles and reports)."""
        return {"source": self.source, "sha256": self.sha256, "imageType": _thaw(self.image_types),
                "setting": self.settings_dict()}


def log_image_name(sigma: float) -> str:
    """pyradiomics' name of the LoG image for ``sigma`` mm (``log-sigma-2-0-mm-3D`` for 2.0)."""
    return "log-sigma-%s-mm-3D" % (str(sigma).replace(".", "-"))


def _validate_with_pyradiomics(data: dict, source: str) -> None:
    import pykwalify.core
    from radiomics import getParameterValidationFiles

    schema_file, schema_funcs = getParameterValidationFiles()
    log = logging.getLogger("pykwalify")
    old = log.level
    log.setLevel(logging.CRITICAL)
    try:
        pykwalify.core.Core(source_data=data, schema_files=[schema_file], extensions=[schema_funcs]).validate()
    except Exception as exc:  # pykwalify raises SchemaError/CoreError; both mean "invalid file"
        msg = getattr(exc, "msg", None) or str(exc)
        raise ConfigError(f"not a valid pyradiomics parameter file: {str(msg).strip()}", source) from None
    finally:
        log.setLevel(old)


def _validate_allow_list(data: dict, source: str) -> None:
    unknown_top = set(data) - {"imageType", "featureClass", "setting"}
    if unknown_top:
        raise ConfigError(f"unknown section(s) {sorted(unknown_top)}; allowed: imageType, featureClass, setting",
                          source)
    itypes = data.get("imageType") or {}
    if not itypes:
        raise ConfigError("no image types enabled (section 'imageType' is empty)", source)
    for name, args in itypes.items():
        if name not in ALLOWED_IMAGE_TYPE_ARGS:
            raise ConfigError(f"image type '{name}' is not supported; allowed: {', '.join(SUPPORTED_IMAGE_TYPES)}",
                              source)
        bad = set(args or {}) - ALLOWED_IMAGE_TYPE_ARGS[name]
        if bad:
            raise ConfigError(f"unknown option(s) {sorted(bad)} for image type '{name}'", source)
    if "LoG" in itypes and not (itypes["LoG"] or {}).get("sigma"):
        raise ConfigError("image type 'LoG' needs a non-empty 'sigma' list (mm)", source)
    classes = data.get("featureClass") or {}
    if set(classes) != set(REQUIRED_FEATURE_CLASSES):
        raise ConfigError(f"featureClass must list exactly {', '.join(REQUIRED_FEATURE_CLASSES)} "
                          f"(found {', '.join(sorted(classes)) or 'none'})", source)
    subsets = [c for c, v in classes.items() if v]
    if subsets:
        raise ConfigError(f"feature subsets are chosen by name at extraction, not in the parameter file: "
                          f"remove the lists under {subsets}", source)
    settings = data.get("setting") or {}
    bad = set(settings) - ALLOWED_SETTINGS
    if bad:
        raise ConfigError(f"unknown or unsupported setting(s) {sorted(bad)}", source)
    if ("binCount" in settings) == ("binWidth" in settings):
        raise ConfigError("give exactly one of 'binCount' and 'binWidth'", source)
    spacing = settings.get("resampledPixelSpacing")
    if spacing is None or len(spacing) != 3 or any(float(s) <= 0 for s in spacing):
        raise ConfigError("'resampledPixelSpacing' must be three positive spacings in mm", source)
    if int(settings.get("padDistance", 5)) < 1:
        raise ConfigError("'padDistance' must be at least 1", source)


def load_params(path: str | Path | None = None) -> RadiomicsParams:
    """Read and validate a parameter file (default: the shipped ``resources/radiomics_params.yaml``).

    Raises :class:`ConfigError` naming the file and the problem (unreadable, not YAML, schema violation,
    unknown key, unsupported image type or setting).
    """
    p = Path(path) if path is not None else resource_path(DEFAULT_PARAMS_FILE)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the radiomics parameter file ({exc.strerror or exc})", p) from None
    sha = hashlib.sha256(raw).hexdigest()
    cached = _LOADED.get((str(p), sha))
    if cached is not None:  # same path, same bytes: the same (immutable) result, without re-validating
        return cached
    try:
        text = raw.decode("utf-8")
        data = yaml.safe_load(text)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"the radiomics parameter file is not valid YAML ({type(exc).__name__})", p) from None
    if not isinstance(data, dict):
        raise ConfigError("the radiomics parameter file must be a mapping with imageType/featureClass/setting", p)
    _validate_with_pyradiomics(data, str(p))
    _validate_allow_list(data, str(p))
    itypes = {k: dict(v or {}) for k, v in data["imageType"].items()}
    ordered = {k: itypes[k] for k in SUPPORTED_IMAGE_TYPES if k in itypes}
    params = RadiomicsParams(image_types=_freeze(ordered), settings=_freeze(dict(data.get("setting") or {})),
                             sha256=sha, source=str(p), text=text)
    _LOADED[(str(p), sha)] = params
    return params


#: validated files by (path, SHA-256 of the bytes). Every extraction loads the file; pykwalify's schema check
#: alone took ~20 ms, a tenth of a lazy extraction's Python overhead. Files are still read and hashed each time.
_LOADED: dict[tuple[str, str], RadiomicsParams] = {}
