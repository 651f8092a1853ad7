"""Tumour masks made inside the app: semi-automatic lesion segmentation from a seed (``lesion``), hand
editing (``editor``), saving (``save``), two-reader agreement (``agreement``) and provenance
(``provenance``). Headless: no Qt here.
"""
from tnbc_desktop.core.segmentation.lesion import (DEFAULT_THRESHOLD_PE, LesionSegmenter, SegmentationRequest,
                                                   SegmentationResult, segment_lesion)
from tnbc_desktop.core.segmentation.provenance import MaskOrigin, MaskProvenance

__all__ = ["DEFAULT_THRESHOLD_PE", "LesionSegmenter", "MaskOrigin", "MaskProvenance", "SegmentationRequest",
           "SegmentationResult", "segment_lesion"]
