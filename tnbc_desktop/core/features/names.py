"""Feature names: the full list and a parser that says what a name needs.

Name grammar (features are always identified by name, never by position):

- region radiomics: ``<region>__<image>_<class>_<feature>``, region in H1, H2, H3, ring, e.g.
  ``H1__wavelet-LLH_glcm_Contrast``, ``ring__original_shape_Sphericity`` (shape only with ``original``);
- kinetic (tumour body, across phases): ``kin_<stat>__<image>_<class>_<feature>``, stat in mean, var, skew,
  kurt, e.g. ``kin_mean__log-sigma-2-0-mm-3D_firstorder_Mean`` (no shape);
- MSI: ``MSI_*`` / ``MSInorm_*`` (22 names from :mod:`tnbc_desktop.core.msi`).

With the shipped parameter file: 4 x 1409 + 22 + 4 x 1395 = 11,238 names.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from tnbc_desktop.errors import FeatureError

REGIONS = ("H1", "H2", "H3", "ring")
KINETIC_STATS = ("mean", "var", "skew", "kurt")
TEXTURE_CLASSES = ("firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")
MSI_NAMES = (
    "MSI_contrast", "MSI_homogeneity", "MSI_correlation", "MSI_energy",
    "MSI_H1H1", "MSI_H2H2", "MSI_H3H3", "MSI_H1bg", "MSI_H2bg", "MSI_H3bg", "MSI_H1H2", "MSI_H1H3", "MSI_H2H3",
    "MSInorm_H1H1", "MSInorm_H2H2", "MSInorm_H3H3", "MSInorm_H1bg", "MSInorm_H2bg", "MSInorm_H3bg",
    "MSInorm_H1H2", "MSInorm_H1H3", "MSInorm_H2H3",
)


@lru_cache(maxsize=None)
def class_features(feature_class: str) -> tuple[str, ...]:
    """Non-deprecated pyradiomics feature names of one class (e.g. 24 for ``glcm``), sorted."""
    from radiomics import getFeatureClasses

    classes = getFeatureClasses()
    if feature_class not in classes:
        raise FeatureError(f"unknown pyradiomics feature class '{feature_class}'")
    names = classes[feature_class].getFeatureNames()
    return tuple(sorted(n for n, deprecated in names.items() if not deprecated))


@dataclass(frozen=True)
class ParsedName:
    """What one feature name asks for. ``kind`` is ``region``, ``kinetic`` or ``msi``."""

    name: str
    kind: str
    region: str | None = None          # H1/H2/H3/ring for region features
    stat: str | None = None            # mean/var/skew/kurt for kinetic features
    image_type: str | None = None      # e.g. "wavelet-LLH"
    feature_class: str | None = None   # e.g. "glcm"
    feature: str | None = None         # e.g. "Contrast"


@lru_cache(maxsize=16)
def _longest_first(image_types: tuple[str, ...]) -> tuple[tuple[str, ...], frozenset[str] | None]:
    """Image types longest first, and the set of them when none contains "_" (else None)."""
    plain = frozenset(image_types) if not any("_" in t for t in image_types) else None
    return tuple(sorted(image_types, key=len, reverse=True)), plain


def _split_body(name: str, body: str, image_types: Sequence[str]) -> tuple[str, str, str]:
    ordered, plain = _longest_first(tuple(image_types))
    if plain is not None:  # no "_" in any image type: the longest matching prefix is the first "_" field
        itype, _, rest = body.partition("_")
        cls, _, feat = rest.partition("_")
        if itype in plain and cls and feat:
            return itype, cls, feat
    for itype in ordered:
        if body.startswith(itype + "_"):
            rest = body[len(itype) + 1:]
            cls, _, feat = rest.partition("_")
            if cls and feat:
                return itype, cls, feat
    raise FeatureError(f"feature '{name}': image type not produced by the radiomics parameter file "
                       f"(known: {', '.join(image_types)})")


def parse_feature_name(name: str, image_types: Sequence[str]) -> ParsedName:
    """Map a name to (region/stat, image type, class, feature); raise :class:`FeatureError` if it is unknown."""
    if name in MSI_NAMES:
        return ParsedName(name=name, kind="msi")
    head, sep, body = name.partition("__")
    if not sep:
        raise FeatureError(f"feature '{name}' is not a known feature name")
    itype, cls, feat = _split_body(name, body, image_types)
    if head in REGIONS:
        if cls == "shape":
            if itype != "original":
                raise FeatureError(f"feature '{name}': shape features exist only for the 'original' image")
        elif cls not in TEXTURE_CLASSES:
            raise FeatureError(f"feature '{name}': unknown feature class '{cls}'")
        if feat not in class_features(cls):
            raise FeatureError(f"feature '{name}': '{feat}' is not a {cls} feature")
        return ParsedName(name, "region", region=head, image_type=itype, feature_class=cls, feature=feat)
    if head.startswith("kin_") and head[4:] in KINETIC_STATS:
        if cls not in TEXTURE_CLASSES:
            raise FeatureError(f"feature '{name}': kinetic features use {', '.join(TEXTURE_CLASSES)} only")
        if feat not in class_features(cls):
            raise FeatureError(f"feature '{name}': '{feat}' is not a {cls} feature")
        return ParsedName(name, "kinetic", stat=head[4:], image_type=itype, feature_class=cls, feature=feat)
    raise FeatureError(f"feature '{name}': unknown prefix '{head}' (expected H1, H2, H3, ring or kin_<stat>)")


def body_names(image_types: Sequence[str], with_shape: bool) -> list[str]:
    """``<image>_<class>_<feature>`` for every image type and class (shape first, only for original)."""
    out: list[str] = []
    if with_shape:
        out.extend(f"original_shape_{f}" for f in class_features("shape"))
    for itype in image_types:
        for cls in TEXTURE_CLASSES:
            out.extend(f"{itype}_{cls}_{f}" for f in class_features(cls))
    return out


def region_feature_names(image_types: Sequence[str], regions: Iterable[str] = REGIONS) -> list[str]:
    bodies = body_names(image_types, with_shape=True)
    return [f"{r}__{b}" for r in regions for b in bodies]


def kinetic_feature_names(image_types: Sequence[str]) -> list[str]:
    bodies = body_names(image_types, with_shape=False)
    return [f"kin_{s}__{b}" for s in KINETIC_STATS for b in bodies]


def all_feature_names(image_types: Sequence[str]) -> list[str]:
    """Every name of a full extraction, in a fixed order: regions, MSI, kinetic."""
    return region_feature_names(image_types) + list(MSI_NAMES) + kinetic_feature_names(image_types)
