"""The case's numbers as a TID 1500 Measurement Report (Comprehensive 3D SR, highdicom.sr).

Content:
- one measurement group per region (tumour, H1, H2, H3, peritumoral ring): Volume (SCT 118565006, mL) and, for
  habitats, the fraction of the tumour volume (unit 1). With a SEG the group is a TID 1411 volumetric ROI
  group that references the region's segment and shares its tracking UID; without one (NIfTI/NRRD input) a
  TID 1501 group with the same tracking identifier;
- one TID 1501 group per available model (tracking identifier = the model's key, e.g. "model3"): probability
  of pCR, the 95 % CI limits and the cutoff (unit 1), and the qualitative evaluation "predicted response
  group": pCR / non-pCR only when the app presents it as a recommendation, otherwise what withholds it
  (outside intended use, uninformative CI, or uncertain: the CI includes the cutoff), by the one labelling
  rule of :mod:`tnbc_desktop.core.prediction_status` that the JSON's ``status`` / ``group`` also follow. Each
  measurement names the model bundle as its algorithm (TID 4019: bundle name, version, and the parameter
  "bundle SHA-256 <hex>"). A model the bundle could not apply is left out (the JSON and PDF give the reason).

[D] No standard code exists for a pCR probability, its CI limits, the cutoff, a habitat fraction or the
response group, so these use the private coding scheme ``99TNBCD`` (PS3.16: designators starting "99" are
private) with the meanings below; volumes and anatomy use SNOMED CT / DCM / UCUM.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from tnbc_desktop import __version__
from tnbc_desktop.core.case import MODEL_LABELS, CaseResult
from tnbc_desktop.core.dicom_export.case_regions import RegionMeasures, region_measures
from tnbc_desktop.core.dicom_export.seg import MANUFACTURER, SOFTWARE_NAME
from tnbc_desktop.core.prediction_status import PredictionStatus, prediction_display

SCHEME = "99TNBCD"
VOLUME = Code("118565006", "SCT", "Volume")
ML = Code("ml", "UCUM", "milliliter")
NO_UNITS = Code("1", "UCUM", "no units")
PCR_PROBABILITY = Code("PCRPROB", SCHEME, "Probability of pathological complete response")
CI_LOW = Code("PCRCILO", SCHEME, "pCR probability 95% CI lower limit")
CI_HIGH = Code("PCRCIHI", SCHEME, "pCR probability 95% CI upper limit")
CUTOFF = Code("PCRCUT", SCHEME, "pCR probability decision cutoff")
TUMOUR_FRACTION = Code("HABFRAC", SCHEME, "Fraction of tumour volume")
RESPONSE_GROUP = Code("PCRGROUP", SCHEME, "Predicted response group")
GROUP_CODES = {"pCR": Code("PCR", SCHEME, "pCR predicted"), "non-pCR": Code("NONPCR", SCHEME, "non-pCR predicted")}
NO_RECOMMENDATION = {
    PredictionStatus.OUTSIDE_INTENDED_USE: Code("NORECIU", SCHEME, "No recommendation: outside intended use"),
    PredictionStatus.UNINFORMATIVE: Code("NORECCI", SCHEME, "No recommendation: uninformative CI"),
    PredictionStatus.UNCERTAIN: Code("UNCERTAIN", SCHEME, "Uncertain: the 95% CI includes the cutoff"),
}


def response_group_code(status: PredictionStatus, group: str | None) -> Code:
    """The coded response group: pCR / non-pCR for a recommendation, else what withholds it."""
    if status is PredictionStatus.RECOMMENDATION and group in GROUP_CODES:
        return GROUP_CODES[group]
    return NO_RECOMMENDATION.get(status) or Code("NOREC", SCHEME, f"No recommendation: {status.value}"[:64])


def model_code(name: str) -> Code:
    return Code(name.upper()[:16], SCHEME, f"{MODEL_LABELS.get(name, name)} pCR model")


def bundle_algorithm(result: CaseResult) -> hd.sr.AlgorithmIdentification:
    b = result.bundle
    return hd.sr.AlgorithmIdentification(name=b.name or "model bundle", version=b.version or "unknown",
                                         parameters=[f"bundle SHA-256 {b.sha256}"])


def _region_group(region: RegionMeasures, seg: hd.seg.Segmentation | None, numbers: dict[str, int]):
    measurements = [hd.sr.Measurement(name=VOLUME, value=region.volume_ml, unit=ML)]
    if region.tumour_fraction is not None:
        measurements.append(hd.sr.Measurement(name=TUMOUR_FRACTION, value=region.tumour_fraction, unit=NO_UNITS))
    number = numbers.get(region.tracking_id)
    if seg is not None and number is not None:
        desc = seg.get_segment_description(number)
        return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=desc.tracking_uid, identifier=region.tracking_id),
            referenced_segment=hd.sr.ReferencedSegment.from_segmentation(seg, number),
            finding_type=region.finding_type, finding_sites=[hd.sr.FindingSite(codes.SCT.Breast)],
            measurements=measurements)
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=region.tracking_id),
        finding_type=region.finding_type, finding_sites=[hd.sr.FindingSite(codes.SCT.Breast)],
        measurements=measurements)


def _model_group(name: str, pred, result: CaseResult, algorithm) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    shown = prediction_display(name, pred, result.intended_use)
    values = [(PCR_PROBABILITY, pred.probability), (CI_LOW, pred.ci_low), (CI_HIGH, pred.ci_high),
              (CUTOFF, pred.cutoff)]
    measurements = [hd.sr.Measurement(name=code, value=float(v), unit=NO_UNITS, algorithm_id=algorithm)
                    for code, v in values if v is not None and math.isfinite(float(v))]
    evaluations = [hd.sr.QualitativeEvaluation(RESPONSE_GROUP, response_group_code(shown.status, shown.group))]
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=name), method=model_code(name),
        algorithm_id=algorithm, measurements=measurements, qualitative_evaluations=evaluations)


def build_measurement_report(result: CaseResult, evidence: Sequence[Dataset], seg: hd.seg.Segmentation | None,
                             series_number: int = 9101) -> hd.sr.Comprehensive3DSR:
    """The SR of ``result``; ``evidence[0]`` gives patient and study (the encapsulated PDF); the evidence must
    hold every instance the content references (the SEG and its source images); ``seg``: the segments the region
    groups reference (None: no SEG was written)."""
    numbers = {}
    if seg is not None:
        numbers = {seg.get_segment_description(n).tracking_id: n for n in seg.segment_numbers}
    algorithm = bundle_algorithm(result)
    groups = [_region_group(r, seg, numbers) for r in region_measures(result)]
    groups += [_model_group(name, p, result, algorithm) for name, p in result.predictions.items()
               if getattr(p, "available", False)]
    device = hd.sr.ObserverContext(
        observer_type=codes.cid270.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=hd.UID(), name=SOFTWARE_NAME, manufacturer_name=MANUFACTURER, model_name=__version__))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=device),
        procedure_reported=codes.SCT.MagneticResonanceImagingOfBreast, imaging_measurements=groups)
    sr = hd.sr.Comprehensive3DSR(
        evidence=list(evidence), content=report, series_instance_uid=hd.UID(), series_number=series_number,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer=MANUFACTURER,
        series_description="tnbc-desktop measurements (research use only)", is_complete=True)
    scheme = Dataset()  # declares the private coding scheme (SOP Common, Coding Scheme Identification)
    scheme.CodingSchemeDesignator = SCHEME
    scheme.CodingSchemeName = "tnbc-desktop private codes"
    scheme.CodingSchemeResponsibleOrganization = "tnbc-desktop"
    sr.CodingSchemeIdentificationSequence = [scheme]
    return sr
