"""Model bundles: one JSON document (SPEC section 15), schema-validated, identified by SHA-256.

Identity: ``sha256`` = SHA-256 of the canonical JSON (``sort_keys``, compact separators, UTF-8) of every key
except ``sha256`` itself. :func:`load_bundle` refuses (``BundleError``) anything that is not a JSON document
(pickles are never opened), is too large, fails the schema, has a hash mismatch (tampered content), names a
feature the naming scheme does not know, has inconsistent vector lengths, or extraction settings the app cannot
honour (see :mod:`tnbc_desktop.core.bundle_settings`). Nothing is predicted from it then. The extraction
settings and the habitat model are parsed once, here, into typed values (``settings``, ``habitat``).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from tnbc_desktop.core.bundle_settings import ExtractionSettings, parse_extraction
from tnbc_desktop.core.habitats import HabitatModel
from tnbc_desktop.core.io.safe_files import read_bytes_limited
from tnbc_desktop.core.io.safe_json import loads_json
from tnbc_desktop.core.io.atomic import write_text_atomic
from tnbc_desktop.errors import BundleError
from tnbc_desktop.paths import resource_path, sha256_file

SCHEMA_VERSION = "1.0"
MAX_BUNDLE_BYTES = 20 * 1024 * 1024
MODEL_NAMES = ("model1", "model2", "model3", "prm", "gprm")
CLINICAL_INPUTS = ("radscore_model3", "ki67_high", "lvi", "vaf_sum")
DEMO_NOTICE = "Trained on synthetic data, for demonstration only, not for clinical use."

_IMAGE_TYPE = (r"(?:original|wavelet-[LH]{2,3}|log-sigma-\d+-\d+-mm-[23]D|square|squareroot|logarithm|exponential"
               r"|gradient|lbp-[23]D(?:-[a-z0-9]+)?)")
_CLASS = r"(?:shape|shape2D|firstorder|glcm|glrlm|glszm|gldm|ngtdm)"
_FEATURE_PATTERNS = (
    re.compile(rf"^(?:H[123]|ring)__{_IMAGE_TYPE}_{_CLASS}_[A-Za-z0-9]+$"),
    re.compile(rf"^kin_(?:mean|var|skew|kurt)__{_IMAGE_TYPE}_{_CLASS}_[A-Za-z0-9]+$"),
    re.compile(r"^MSI(?:norm)?_\w+$"),
)


def is_known_feature_name(name: str) -> bool:
    """True for an imaging feature name of the documented scheme or one of the clinical inputs."""
    if name in CLINICAL_INPUTS:
        return True
    return any(p.match(name) for p in _FEATURE_PATTERNS)


def canonical_json(content: dict) -> bytes:
    """Canonical UTF-8 JSON of ``content`` (sorted keys, compact, NaN forbidden)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def content_sha256(document: dict) -> str:
    """SHA-256 of the canonical JSON of ``document`` without its ``sha256`` key."""
    return hashlib.sha256(canonical_json({k: v for k, v in document.items() if k != "sha256"})).hexdigest()


@lru_cache(maxsize=1)
def bundle_schema() -> dict:
    return json.loads(resource_path("bundle.schema.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ModelSpec:
    """One logistic model: z-scored inputs, coefficients, coefficient covariance (p+1, p+1; intercept first)."""

    name: str
    features: tuple[str, ...]
    z_mean: np.ndarray
    z_sd: np.ndarray
    coefficients: np.ndarray
    intercept: float
    covariance: np.ndarray
    cutoff: float
    input_min: np.ndarray
    input_max: np.ndarray
    performance: dict = field(default_factory=dict)
    survival: dict | None = None
    description: str = ""

    @classmethod
    def from_dict(cls, name: str, d: dict) -> "ModelSpec":
        return cls(name, tuple(d["features"]), np.asarray(d["z_mean"], float), np.asarray(d["z_sd"], float),
                   np.asarray(d["coefficients"], float), float(d["intercept"]), np.asarray(d["covariance"], float),
                   float(d["cutoff"]), np.asarray(d["input_range"]["min"], float),
                   np.asarray(d["input_range"]["max"], float), dict(d.get("performance") or {}), d.get("survival"),
                   str(d.get("description", "")))


@dataclass(frozen=True)
class ModelBundle:
    """A verified bundle. ``sha256`` = content hash (stored and recomputed); ``file_sha256`` = hash of the file;
    ``settings`` / ``habitat``: the extraction settings and the habitat model, typed."""

    document: dict
    sha256: str
    file_sha256: str
    source: str
    models: dict[str, ModelSpec]
    settings: ExtractionSettings
    habitat: HabitatModel

    @property
    def name(self) -> str:
        return self.document["name"]

    @property
    def version(self) -> str:
        return self.document["version"]

    @property
    def is_demo(self) -> bool:
        return bool(self.document["is_demo"])

    @property
    def card(self) -> dict:
        return self.document["card"]

    @property
    def habitat_model(self) -> dict:
        return self.document["habitat_model"]

    @property
    def extraction(self) -> dict:
        return self.document["extraction"]

    @property
    def training_envelope(self):
        """The :class:`~tnbc_desktop.core.intended_use.TrainingEnvelope` of the training data (None: not recorded)."""
        from tnbc_desktop.core.intended_use import TrainingEnvelope

        return TrainingEnvelope.from_dict(self.document.get("training_envelope"))

    @property
    def not_trainable(self) -> dict[str, str]:
        """Models the training cohort could not fit: name -> what was missing."""
        models = self.document["models"]
        return {name: str(models[name]["not_trainable"]) for name in MODEL_NAMES
                if isinstance(models.get(name), dict) and "not_trainable" in models[name]}

    def required_features(self) -> list[str]:
        """Imaging feature names any model needs (clinical inputs excluded), in first-use order."""
        out: list[str] = []
        for spec in self.models.values():
            for f in spec.features:
                if f not in CLINICAL_INPUTS and f not in out:
                    out.append(f)
        return out

    def summary(self) -> str:
        tc = self.card.get("training_cohort", {})
        lines = [f"bundle: {self.name} {self.version}{' (DEMO)' if self.is_demo else ''}",
                 f"sha256 (content): {self.sha256}", f"sha256 (file): {self.file_sha256}",
                 f"training cohort: n={tc.get('n')}, pCR rate={tc.get('pcr_rate')}, source={tc.get('source')}"]
        for name, spec in self.models.items():
            val = (spec.performance or {}).get("validation") or {}
            auc = val.get("auc")
            lines.append(f"  {name}: {len(spec.features)} inputs, cutoff {spec.cutoff:.3f}"
                         + (f", validation AUC {auc:.3f}" if isinstance(auc, (int, float)) else ""))
            for coll, perf in sorted(((spec.performance or {}).get("external_by_collection") or {}).items()):
                ext = (perf or {}).get("auc")
                lines.append(f"    external {coll}: n={(perf or {}).get('n')}, AUC "
                             + (f"{ext:.3f}" if isinstance(ext, (int, float)) else "n/a"))
        for name, why in self.not_trainable.items():
            lines.append(f"  {name}: not trainable: {why}")
        if self.is_demo:
            lines.append(DEMO_NOTICE)
        return "\n".join(lines)


def _check_consistency(doc: dict, source: str) -> dict[str, ModelSpec]:
    models: dict[str, ModelSpec] = {}
    for name in MODEL_NAMES:
        d = doc["models"][name]
        if "not_trainable" in d:  # the schema allows this for PRM and GPRM only
            continue
        p = len(d["features"])
        for key in ("z_mean", "z_sd", "coefficients"):
            if len(d[key]) != p:
                raise BundleError(f"model '{name}': '{key}' has {len(d[key])} values for {p} features", source)
        for key in ("min", "max"):
            if len(d["input_range"][key]) != p:
                raise BundleError(f"model '{name}': input_range.{key} has the wrong length", source)
        cov = d["covariance"]
        if len(cov) != p + 1 or any(len(row) != p + 1 for row in cov):
            raise BundleError(f"model '{name}': covariance must be {p + 1}x{p + 1} (intercept first)", source)
        unknown = [f for f in d["features"] if not is_known_feature_name(f)]
        if unknown:
            raise BundleError(f"model '{name}' uses feature names this app does not know: {', '.join(unknown[:5])}",
                              source)
        models[name] = ModelSpec.from_dict(name, d)
    return models


def verify_document(doc, source: str = "<bundle>") -> dict[str, ModelSpec]:
    """Schema, hash, feature and settings checks on a parsed document; returns the model specs or raises
    BundleError."""
    return _verify(doc, source)[0]


def _typed_parts(doc: dict, source: str) -> tuple[ExtractionSettings, HabitatModel]:
    settings = parse_extraction(doc["extraction"], source)
    habitat = HabitatModel.from_dict(doc["habitat_model"], source)
    if habitat.slopes != settings.kinetic.slopes:
        raise BundleError(f"extraction.kinetic_settings.slopes {settings.kinetic.slopes!r} differs from the "
                          f"habitat model's {habitat.slopes!r}", source)
    return settings, habitat


def _verify(doc, source: str) -> tuple[dict[str, ModelSpec], ExtractionSettings, HabitatModel]:
    import jsonschema

    if not isinstance(doc, dict):
        raise BundleError("a model bundle must be a JSON object", source)
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise BundleError(f"unsupported bundle schema version {doc.get('schema_version')!r} "
                          f"(this app reads {SCHEMA_VERSION})", source)
    validator = jsonschema.Draft202012Validator(bundle_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise BundleError(f"does not match the bundle schema at {where}: {e.message[:300]}", source)
    try:
        actual = content_sha256(doc)
    except ValueError as exc:
        raise BundleError(f"contains non-finite numbers ({exc})", source) from exc
    if actual != doc["sha256"]:
        raise BundleError("content hash mismatch: the bundle was modified after it was made "
                          f"(stored {doc['sha256'][:12]}..., actual {actual[:12]}...); refusing to use it", source)
    models = _check_consistency(doc, source)
    return (models, *_typed_parts(doc, source))


def load_bundle(path: str | Path, max_bytes: int = MAX_BUNDLE_BYTES) -> ModelBundle:
    """Read and verify a bundle file (JSON only; a pickle or any non-JSON file is refused unopened)."""
    path = Path(path)
    src = str(path)
    if path.suffix.lower() != ".json":
        raise BundleError(f"model bundles are JSON files ending in .json; refusing '{path.name}' "
                          "(pickle/joblib files are never opened)", src)
    raw = read_bytes_limited(path, max_bytes, BundleError, "the model bundle")
    doc = loads_json(raw, src, BundleError, max_bytes=max_bytes, what="the model bundle")
    models, settings, habitat = _verify(doc, src)
    return ModelBundle(doc, doc["sha256"], hashlib.sha256(raw).hexdigest(), src, models, settings, habitat)


def sanitize(obj):
    """Make ``obj`` JSON-able: numpy scalars/arrays -> Python, non-finite floats -> None, tuples -> lists."""
    if isinstance(obj, dict):
        return {str(k): sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [sanitize(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return sanitize(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


def seal(bundle_dict: dict) -> dict:
    """Sanitised copy of ``bundle_dict`` with schema_version and a fresh ``sha256``; verified (BundleError if not)."""
    doc = sanitize({k: v for k, v in bundle_dict.items() if k != "sha256"})
    doc.setdefault("schema_version", SCHEMA_VERSION)
    doc["sha256"] = content_sha256(doc)
    verify_document(doc, str(bundle_dict.get("name", "<new bundle>")))
    return doc


def save_bundle(bundle_dict: dict, path: str | Path) -> Path:
    """Seal (hash + verify) and write atomically as indented JSON; returns the path."""
    doc = seal(bundle_dict)
    text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return write_text_atomic(path, text + "\n")


def assemble_bundle(*, name: str, version: str, models: dict, habitat_model: dict, extraction: dict,
                    training_cohort: dict, is_demo: bool, intended_use: str | None = None,
                    outcome: str = "pCR = ypT0/is ypN0", comparisons: dict | None = None, cox: dict | None = None,
                    created: str | None = None, limitations: list[str] | None = None,
                    training_notes: list[str] | None = None) -> dict:
    """Build an (unsealed) bundle document from its parts; pass it to :func:`save_bundle`."""
    notice = DEMO_NOTICE if is_demo else "Research use only; not a standalone clinical decision."
    doc = {
        "schema_version": SCHEMA_VERSION, "name": name, "version": version, "is_demo": is_demo,
        "intended_use": intended_use or ("Adults with triple-negative breast cancer before neoadjuvant chemotherapy, "
                                         "pre-treatment DCE-MRI; research decision support, "
                                         "not a standalone decision."),
        "card": {"training_cohort": training_cohort, "outcome": outcome, "notice": notice,
                 "limitations": limitations or []},
        "extraction": extraction, "habitat_model": habitat_model, "models": models,
        "comparisons": comparisons or {}, "cox": cox, "training_notes": training_notes or [],
    }
    if created:
        doc["created"] = created
    return doc


def file_sha256(path: str | Path) -> str:
    return sha256_file(path)


__all__ = ["ModelBundle", "ModelSpec", "load_bundle", "save_bundle", "seal", "assemble_bundle", "verify_document",
           "content_sha256", "canonical_json", "is_known_feature_name", "MODEL_NAMES", "CLINICAL_INPUTS",
           "DEMO_NOTICE", "MAX_BUNDLE_BYTES", "SCHEMA_VERSION"]
