"""The regions of one analysed case as DICOM-SEG segments: tumour, habitats H1-H3 and the peritumoral ring.

Coded concepts [D] (Segmented Property Category / Type, CID 7150 / 7151, SNOMED CT as DICOM uses it):

- tumour: category SCT 49755003 "Morphologically abnormal structure", type SCT 108369006 "Neoplasm" - the
  codes 3D Slicer and the QIICR/highdicom examples use for a lesion; the segment is the one a saved tumour
  mask gets (:func:`tnbc_desktop.core.segmentation.save.tumour_segment`): algorithm type MANUAL for a mask
  file or a drawn mask, SEMIAUTOMATIC for the app's seeded segmentation (the case's mask provenance).
- habitats H1/H2/H3: the same category and type (a habitat is a part of the neoplasm); no standard code names
  a perfusion habitat, so the segment label (the app's habitat name, e.g. "H1 poorly perfused") and the
  tracking ID ("H1") tell them apart. Algorithm family: Cluster Analysis (k-means on kinetic features).
- peritumoral ring: category and type SCT 85756007 "Tissue" (the ring is breast tissue around the tumour, not
  tumour), anatomic region Breast, label "Peritumoral ring"; algorithm family: Morphological Operations.

Recommended display colours are the app palette's (:mod:`tnbc_desktop.core.palette`): the tumour its outline
yellow, habitats blue / orange / reddish purple, the ring bluish green, as in the viewer and the PDF.
An empty habitat (no voxel) is left out of the SEG (DICOM has no empty segments); the SR still reports it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from tnbc_desktop.core.case import CaseResult
from tnbc_desktop.core.dicom_export.seg import Segment
from tnbc_desktop.core.palette import HABITAT_COLOURS, HABITAT_LABELS, HABITAT_NAMES, RING_COLOUR
from tnbc_desktop.core.segmentation.provenance import MaskProvenance
from tnbc_desktop.core.segmentation.save import tumour_segment

TUMOUR_ID, RING_ID = "tumour", "ring"
RING_LABEL = "Peritumoral ring"
NEOPLASM_CATEGORY = codes.SCT.MorphologicallyAbnormalStructure
NEOPLASM = codes.SCT.Neoplasm
TISSUE = codes.SCT.Tissue
BREAST = codes.SCT.Breast


@dataclass(frozen=True)
class RegionMeasures:
    """Volume (mL) and fraction of the tumour volume of one region, as the result JSON states them."""

    tracking_id: str
    label: str
    finding_type: Code
    volume_ml: float
    tumour_fraction: float | None = None  # habitats only


def habitat_id(label: int) -> str:
    return f"H{label}"


def case_segments(result: CaseResult) -> list[Segment]:
    """Tumour, non-empty habitats and the ring of ``result`` as SEG segments (arrays on the study grid)."""
    tumour = np.asarray(result.mask.array, dtype=bool)
    labels = np.asarray(result.habitat_labels)
    provenance = result.inputs.mask_provenance or MaskProvenance.from_file(result.inputs.mask_path or "")
    out = [tumour_segment(tumour, provenance)]
    for k in HABITAT_LABELS:
        region = labels == k
        if region.any():
            out.append(Segment(HABITAT_NAMES[k], region, NEOPLASM_CATEGORY, NEOPLASM, HABITAT_COLOURS[k],
                               habitat_id(k), BREAST, codes.cid7162.ClusterAnalysis))
    ring = np.asarray(result.ring, dtype=bool)
    if ring.any():
        out.append(Segment(RING_LABEL, ring, TISSUE, TISSUE, RING_COLOUR, RING_ID, BREAST,
                           codes.cid7162.MorphologicalOperations))
    return out


def region_measures(result: CaseResult) -> list[RegionMeasures]:
    """Tumour, H1-H3 and ring volumes (and habitat fractions) from the result's QC, the JSON's source."""
    qc = result.qc
    out = [RegionMeasures(TUMOUR_ID, "Tumour", NEOPLASM, float(qc.mask_volume_ml))]
    for k, volume, fraction in zip(HABITAT_LABELS, qc.habitat_volumes_ml, qc.habitat_fractions):
        out.append(RegionMeasures(habitat_id(k), HABITAT_NAMES[k], NEOPLASM, float(volume), float(fraction)))
    out.append(RegionMeasures(RING_ID, RING_LABEL, TISSUE, float(qc.ring_volume_ml)))
    return out
