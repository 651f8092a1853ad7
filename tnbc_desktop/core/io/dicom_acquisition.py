"""Acquisition facts of one 2D image that tell series apart by what they are (sequence, flip angle, b-value).

The exam scan (:mod:`tnbc_desktop.core.io.exam_scan`) gives every series a role from these facts: a DCE is a
T1-weighted gradient echo with one flip angle repeated in time; EPI time series (fMRI, ASL), diffusion (b-values
in the public tag or a vendor's private tag) and variable-flip-angle T1 maps are temporal or repeated too, and
must not be taken for one. Read from the header pass (no pixels); classic images from top-level tags, enhanced
multi-frame images from the frame's functional groups (per-frame first, then shared).

Vendor private b-value tags (as dcm2niix reads them): GE (0043,1039) first value (newer software adds 10^9),
Siemens (0019,100C), Philips (2001,1003), UIH (0065,1009) effective / (0065,100A) nominal.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

_NUMBER_TEXT = b"0123456789.+-eE\\ "  # the bytes of IS / DS text
_PRIVATE_B_VALUES = ((0x0043, 0x1039), (0x0019, 0x100C), (0x2001, 0x1003), (0x0065, 0x1009), (0x0065, 0x100A))


@dataclass(frozen=True)
class AcquisitionFacts:
    """Sequence facts of one image; None / "" when the header does not say.

    ``echo_planar``: ScanningSequence holds EP, EchoPlanarPulseSequence is YES, or the sequence name is an EPI
    one; ``b_value``: the largest b-value any public or private tag gives (s/mm2);
    ``acquisition_number``: AcquisitionNumber (the only phase key of some preclinical exports)."""

    flip_angle: float | None = None
    repetition_time_ms: float | None = None
    echo_time_ms: float | None = None
    scanning_sequence: str = ""
    sequence_name: str = ""
    protocol_name: str = ""
    acquisition_contrast: str = ""
    echo_planar: bool = False
    b_value: float | None = None
    acquisition_number: int | None = None
    frame_of_reference_uid: str = ""

    def sequence_key(self) -> tuple:
        """(flip angle, TR, TE) rounded: images of one dynamic share it."""
        def r(v):
            return None if v is None else round(float(v), 1)
        return r(self.flip_angle), r(self.repetition_time_ms), r(self.echo_time_ms)


def dicom_int(value, default=None):
    """A DICOM element value rounded to an int; ``default`` when it is empty or not a number."""
    f = dicom_float(value)
    return default if f is None else int(round(f))


def dicom_float(value, default=None):
    """``float(value)`` of a DICOM element value; ``default`` when it is empty or not a number."""
    try:
        if value is None or value == "":
            return default
        return float(value)
    except (TypeError, ValueError):
        return default


def _is_number_text(raw: bytes) -> bool:
    """``raw`` reads as IS / DS text ('1000\\8\\0'), not as a binary number (8 zero bytes are the double 0)."""
    text = raw.rstrip(b"\0 ")
    return bool(text) and not text.strip(_NUMBER_TEXT)


def _private_number(ds, tag) -> float | None:
    """First number of a private element, whatever VR pydicom gave it (IS/DS/FD/FL, or raw bytes for UN)."""
    try:
        elem = ds.get(tag)
    except Exception:  # noqa: BLE001 - a malformed private element says nothing about b-values
        return None
    if elem is None:
        return None
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        if elem.VR == "FD" or (elem.VR == "UN" and len(raw) == 8 and not _is_number_text(raw)):
            return struct.unpack("<d", raw[:8])[0] if len(raw) >= 8 else None
        return dicom_float(raw.decode("ascii", "ignore").split("\\")[0].strip(" \0"))
    if isinstance(value, (list, tuple)) or hasattr(value, "__len__") and not isinstance(value, str):
        value = value[0] if len(value) else None
    return dicom_float(value)


def _b_value(ds, diffusion_item=None) -> float | None:
    values = []
    public = dicom_float(ds.get("DiffusionBValue"))
    if public is not None:
        values.append(public)
    if diffusion_item is not None:
        b = dicom_float(diffusion_item.get("DiffusionBValue"))
        if b is not None:
            values.append(b)
    for tag in _PRIVATE_B_VALUES:
        b = _private_number(ds, tag)
        if b is not None and abs(b) < 1e12:
            values.append(b % 1e9 if tag == (0x0043, 0x1039) else b)
    return max(values) if values else None


def _is_epi(scanning_sequence: str, sequence_name: str, echo_planar_flag: str) -> bool:
    name = sequence_name.lower().lstrip("*")
    return ("EP" in scanning_sequence.upper().split("\\") or echo_planar_flag.upper() == "YES"
            or name.startswith(("ep", "epi", "epfid", "epse", "ep2d", "fmri")))


def dicom_text(value) -> str:
    """An element value as text; several values joined by backslash, as DICOM writes them (not a list's repr)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def classic_facts(ds) -> AcquisitionFacts:
    scanning, name = dicom_text(ds.get("ScanningSequence")), dicom_text(ds.get("SequenceName"))
    return AcquisitionFacts(
        flip_angle=dicom_float(ds.get("FlipAngle")), repetition_time_ms=dicom_float(ds.get("RepetitionTime")),
        echo_time_ms=dicom_float(ds.get("EchoTime")), scanning_sequence=scanning, sequence_name=name,
        protocol_name=dicom_text(ds.get("ProtocolName")),
        acquisition_contrast=dicom_text(ds.get("AcquisitionContrast")),
        echo_planar=_is_epi(scanning, name, dicom_text(ds.get("EchoPlanarPulseSequence"))),
        b_value=_b_value(ds), acquisition_number=dicom_int(ds.get("AcquisitionNumber")),
        frame_of_reference_uid=dicom_text(ds.get("FrameOfReferenceUID")))




def enhanced_frame_facts(ds, item) -> AcquisitionFacts:
    """Facts of one frame of an enhanced image; ``item(name)`` returns the frame's (or shared) first item of a
    functional-group sequence."""
    timing, echo, diffusion = item("MRTimingAndRelatedParametersSequence"), item("MREchoSequence"), \
        item("MRDiffusionSequence")
    content = item("FrameContentSequence")
    name = dicom_text(ds.get("PulseSequenceName")) or dicom_text(ds.get("SequenceName"))
    scanning = dicom_text(ds.get("ScanningSequence"))
    return AcquisitionFacts(
        flip_angle=dicom_float(timing.get("FlipAngle")) if timing else dicom_float(ds.get("FlipAngle")),
        repetition_time_ms=(dicom_float(timing.get("RepetitionTime")) if timing
                            else dicom_float(ds.get("RepetitionTime"))),
        echo_time_ms=dicom_float(echo.get("EffectiveEchoTime")) if echo else dicom_float(ds.get("EchoTime")),
        scanning_sequence=scanning, sequence_name=name, protocol_name=dicom_text(ds.get("ProtocolName")),
        acquisition_contrast=dicom_text(ds.get("AcquisitionContrast")),
        echo_planar=_is_epi(scanning, name, dicom_text(ds.get("EchoPlanarPulseSequence"))),
        b_value=_b_value(ds, diffusion),
        acquisition_number=dicom_int(ds.get("AcquisitionNumber")) if content is None or
        content.get("FrameAcquisitionNumber") is None else dicom_int(content.get("FrameAcquisitionNumber")),
        frame_of_reference_uid=dicom_text(ds.get("FrameOfReferenceUID")))
