"""Radiomics features (SPEC sections 6-7): region radiomics per habitat and ring, kinetic (across-phase)
features of the tumour body, MSI; full or lazy extraction by name.

Public API: :func:`extract_features`, :class:`RegionMasks`, :class:`FeatureSet` (extract.py);
:func:`load_params`, :class:`RadiomicsParams` (params.py); :func:`parse_feature_name`,
:func:`all_feature_names` (names.py).
"""
from tnbc_desktop.core.features.extract import FeatureSet, RegionMasks, extract_features, feature_count
from tnbc_desktop.core.features.names import ParsedName, all_feature_names, parse_feature_name
from tnbc_desktop.core.features.params import RadiomicsParams, load_params

__all__ = ["FeatureSet", "RegionMasks", "extract_features", "feature_count", "ParsedName", "all_feature_names",
           "parse_feature_name", "RadiomicsParams", "load_params"]
