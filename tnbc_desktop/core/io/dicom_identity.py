"""One patient, one study, one frame of reference across the images chosen for a DCE study.

PatientID and PatientName must agree on every image: a phase of another patient is refused
(:class:`IdentityError`). StudyInstanceUID and FrameOfReferenceUID must agree too, unless the caller allows a
mixed study explicitly (``allow_mixed_study``; a re-positioned patient or a study split on export), which is then
said in a warning note. Messages name the series and a file, never the identifiers themselves.
"""
from __future__ import annotations

from tnbc_desktop.core.io.dicom_header import SliceHeader
from tnbc_desktop.errors import IdentityError


def _series(h: SliceHeader) -> str:
    num = "?" if h.series_number is None else str(h.series_number)
    return f"series {num}" + (f" '{h.series_description[:30]}'" if h.series_description else "")


def _patient(h: SliceHeader) -> tuple[str, str]:
    """(PatientID, PatientName) as compared: case, padding and empty trailing name components ignored
    ('DOE^JANE' == 'Doe^Jane^^')."""
    name, pid = (h.identity + ("", ""))[:2]
    return pid.strip(), "^".join(part.strip() for part in name.upper().split("^")).rstrip("^")


def _first_difference(headers, value):
    ref = headers[0]
    for h in headers[1:]:
        if value(h) != value(ref):
            return ref, h
    return None


def check_identity(grid, allow_mixed_study: bool = False) -> list[str]:
    """Refuse a second patient; refuse (or, when allowed, note) a second study / frame of reference.
    ``grid``: the sorted images [phase][slice]. Returns the warning notes."""
    headers = [h for phase in grid for h in phase]
    if not headers:
        return []
    diff = _first_difference(headers, _patient)
    if diff:
        ref, other = diff
        what = "PatientID" if _patient(ref)[0] != _patient(other)[0] else "PatientName"
        raise IdentityError(f"the images are of more than one patient: {_series(other)} has another {what} than "
                            f"{_series(ref)}; a study is never merged across patients", other.label)
    notes = []
    for tag, value in (("StudyInstanceUID", lambda h: h.study_uid),
                       ("FrameOfReferenceUID", lambda h: h.acq.frame_of_reference_uid)):
        diff = _first_difference(headers, value)
        if not diff:
            continue
        ref, other = diff
        text = f"{tag} differs between {_series(ref)} and {_series(other)}"
        if not allow_mixed_study:
            raise IdentityError(f"{text}: the phases may come from different examinations; load them together only "
                                "if you are sure (--allow-mixed-study)", other.label)
        notes.append(f"warning: {text}; loaded together because the user allowed a mixed study")
    return notes
