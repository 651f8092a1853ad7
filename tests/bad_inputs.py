"""Bad-input corpus for the reliability suite: cases generated from a small hand-made DCE study.

Every :class:`BadCase` builds its inputs in its own folder (``build(work, base) -> action``) and declares its
expected outcome: either a typed error (``error`` class + a word that must appear in the message) or a
correct result (``check(result, base)`` raises AssertionError if the result is wrong). Anything else - a raw
exception, a wrong error class, a result that passes silently where it should not - is a failure.

The base study: 4 phases (0, 90, 180, 270 s) of 6 x 20 x 20 voxels at 2 x 1 x 1 mm, background 100, a
spherical tumour (radius 4.5 mm) whose three shells enhance like the three habitats (fast wash-out, plateau,
persistent). It is written once per session as per-phase DICOM, single-series DICOM and a 4D NIfTI.
"""
from __future__ import annotations

import gzip
import io
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from tnbc_desktop.core.study import DCEStudy, Geometry, PatientIdentity, PhaseInfo
from tnbc_desktop.errors import DicomError, GeometryError, InputError, TnbcError

CANARY = "ZZCANARY"
TIMES = (0.0, 90.0, 180.0, 270.0)
SHAPE = (6, 20, 20)
SPACING = (2.0, 1.0, 1.0)
EDGE_DIR_PARTS = ("dicom_edge_cases",)

#: population habitat model (the same numbers as tests/test_pipeline.make_test_bundle)
HABITAT_MODEL = {
    "feature_order": ["WIS", "WOS", "SER", "PE"], "scaler_mean": [60.0, 5.0, 1.2, 80.0],
    "scaler_sd": [40.0, 10.0, 0.5, 50.0], "centroids_z": [[-1, -0.5, -0.5, -1], [0, 0, 0, 0], [1, 0.5, 0.5, 1]],
    "winsor_low": [-50.0, -100.0, -10.0, -50.0], "winsor_high": [500.0, 100.0, 10.0, 500.0], "ser_clip": 10.0,
    "slopes": "relative"}


@dataclass(frozen=True)
class Expect:
    """Typed error (``error`` + ``word`` in the message, case-insensitive) or, with ``error=None``, a result
    that ``check(result, base)`` accepts."""

    error: type[TnbcError] | tuple[type[TnbcError], ...] | None = None
    word: str | tuple[str, ...] = ""
    check: Callable[[Any, Any], None] | None = None
    names_input: bool = True  # a loader error must name the file/folder it is about

    @property
    def kinds(self) -> tuple[str, ...]:
        """Accepted outcomes; a case with both ``error`` and ``check`` accepts either (e.g. a stray file in
        a study folder may be refused or ignored, but an ignored file must leave the study unchanged)."""
        out = ("typed error",) if self.error is not None else ()
        return out + (("correct result",) if self.check is not None else ())


@dataclass(frozen=True)
class BadCase:
    name: str
    category: str
    build: Callable[[Path, Any], Callable[[], Any]]
    expect: Expect


@dataclass
class Base:
    """The valid inputs every case starts from (written once under ``root``)."""

    root: Path
    study: DCEStudy
    tumour: np.ndarray
    per_phase: Path
    single_series: Path
    nifti: Path
    mask: Path
    maf: Path
    edge_dir: Path | None
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------- base data
def make_study(name: str = f"{CANARY}^TEST^PATIENT", patient_id: str = f"{CANARY}-0042",
               data: np.ndarray | None = None, shape=SHAPE, times=TIMES) -> tuple[DCEStudy, np.ndarray]:
    """(study, tumour mask): see the module docstring. Signal units are arbitrary (S0 = 100)."""
    zz, yy, xx = np.indices(shape)
    c = [(s - 1) / 2 for s in shape]
    d = np.sqrt(((zz - c[0]) * SPACING[0]) ** 2 + ((yy - c[1]) * SPACING[1]) ** 2 + ((xx - c[2]) * SPACING[2]) ** 2)
    tumour = d <= 4.5
    if data is None:
        data = np.full((len(times), *shape), 100.0, dtype=np.float32)
        for k, t in enumerate(times):
            data[k][tumour & (d <= 2.0)] += 150 * min(t, 90) / 90 - 0.3 * max(t - 90, 0)  # fast, wash-out
            data[k][tumour & (d > 2.0) & (d <= 3.5)] += 90 * min(t, 90) / 90  # plateau
            data[k][tumour & (d > 3.5)] += 0.2 * t  # slow persistent
        rng = np.random.default_rng(0)
        data += rng.normal(0, 0.5, data.shape).astype(np.float32)
    geom = Geometry(shape=tuple(shape), spacing_mm=SPACING, origin_mm=(-10.0, -12.0, 30.0))
    study = DCEStudy(data=data.astype(np.float32), phase_times_s=tuple(times), geometry=geom,
                     phases=tuple(PhaseInfo(i, t, "user") for i, t in enumerate(times)), layout="test",
                     timing_source="user", source="corpus",
                     identity=PatientIdentity(patient_name=name, patient_id=patient_id, birth_date="19700101",
                                              study_date="20240102", accession_number=f"{CANARY}ACC1",
                                              institution=f"{CANARY} Hospital"))
    return study, tumour


MAF_HEADER = ("Hugo_Symbol\tChromosome\tStart_Position\tEnd_Position\tReference_Allele\tTumor_Seq_Allele2\t"
              "Variant_Classification\tVariant_Type\tTumor_Sample_Barcode\tt_vaf\tHGVSp_Short")


def maf_line(gene="REL", sample=f"{CANARY}-T1", vaf="0.25", vclass="Missense_Mutation", start=100) -> str:
    return f"{gene}\t2\t{start}\t{start}\tC\tT\t{vclass}\tSNP\t{sample}\t{vaf}\tp.R1W"


def make_base(root: Path, edge_dir: Path | None) -> Base:
    from tnbc_desktop.core.io.dicom_write import write_dicom_study
    from tnbc_desktop.core.io.volumes import write_study_nifti, write_volume

    study, tumour = make_study()
    root.mkdir(parents=True, exist_ok=True)
    write_dicom_study(study, root / "per_phase", layout="per-phase")
    write_dicom_study(study, root / "single", layout="single-series")
    write_study_nifti(study, root / "study.nii.gz")
    write_volume(tumour.astype(np.uint8), study.geometry, root / "mask.nii.gz")
    maf = root / "panel.maf"
    maf.write_text("#version 2.4\n" + MAF_HEADER + "\n" + maf_line() + "\n"
                   + maf_line("MED23", vaf="0.10", start=200) + "\n", encoding="utf-8")
    return Base(root=root, study=study, tumour=tumour, per_phase=root / "per_phase", single_series=root / "single",
                nifti=root / "study.nii.gz", mask=root / "mask.nii.gz", maf=maf, edge_dir=edge_dir)


# --------------------------------------------------------------------------------------------------- helpers
def _copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _phase_files(folder: Path, phase: int) -> list[Path]:
    return sorted((folder / f"phase_{phase:02d}").glob("*.dcm"))


def _edit(path: Path, fn: Callable[[Dataset], None]) -> None:
    ds = pydicom.dcmread(path)
    fn(ds)
    ds.save_as(path, enforce_file_format=True)


def _load(src, times=None):
    from tnbc_desktop.core.io.study_loader import load_study

    return lambda: load_study(src, phase_times_s=times)


def _study_ok(shape=SHAPE, n_phases=4, times=TIMES):
    """Check: the study loaded with the base grid, phase count, times, and pixel values within quantisation."""
    def check(study, base):
        assert study.data.shape == (n_phases, *shape), study.data.shape
        assert np.allclose(study.phase_times_s, times[:n_phases], atol=1e-3), study.phase_times_s
        if shape == SHAPE and n_phases == 4:
            # the writer quantises to uint16 over the data range: error <= slope / 2 (dicom_write docstring)
            tol = float(np.ptp(base.study.data)) / 65534.0 + 1e-3
            assert np.max(np.abs(study.data - base.study.data)) <= tol
    return check


def _write_bytes(work: Path, name: str, data: bytes) -> Path:
    p = work / name
    p.write_bytes(data)
    return p


def _valid_slice_bytes(base: Base) -> bytes:
    return _phase_files(base.per_phase, 0)[2].read_bytes()


def _pixel_offset(raw: bytes) -> int:
    """Byte offset of the (7FE0,0010) PixelData element tag in an explicit-VR little-endian file."""
    return raw.rindex(b"\xe0\x7f\x10\x00")


# --------------------------------------------------------------------------------------------------- files
def _damaged_folder(work: Path, base: Base, make_bytes) -> Callable[[], Any]:
    folder = _copy_tree(base.per_phase, work / "study")
    victim = _phase_files(folder, 2)[3]
    victim.write_bytes(make_bytes(victim.read_bytes()))
    return _load(folder)


def _file_cases() -> list[BadCase]:
    cases: list[BadCase] = []

    def single(name, make_bytes, word, error=DicomError):
        def build(work, base):
            return _load([_write_bytes(work, "case.dcm", make_bytes(_valid_slice_bytes(base)))])
        cases.append(BadCase(f"file/{name}", "files", build, Expect(error, word)))

    def in_folder(name, make_bytes, word, error=DicomError):
        """One slice of phase 2 in an otherwise valid study folder is damaged (``make_bytes(its bytes)``)."""
        def build(work, base):
            folder = _copy_tree(base.per_phase, work / "study")
            victim = _phase_files(folder, 2)[3]
            victim.write_bytes(make_bytes(victim.read_bytes()))
            return _load(folder)
        cases.append(BadCase(f"folder/{name}", "files", build, Expect(error, word)))

    single("zero-bytes", lambda b: b"", "not a DICOM")
    single("text", lambda b: b"PatientName,Age\nSmith,40\n" * 20, "not a DICOM")
    single("png", lambda b: b"\x89PNG\r\n\x1a\n" + bytes(200), "not a DICOM")
    single("gzip", gzip.compress, "gzip")
    single("preamble-only", lambda b: bytes(128) + b"DICM", ("no DICOM elements", "not a DICOM", "cannot be read"))
    single("truncated-header-200", lambda b: b[:200], ("not an image", "no DICOM elements",
                                                                           "cannot be read", "not a DICOM"))
    single("truncated-dataset-half", lambda b: b[: _pixel_offset(b) // 2],
           ("not an image", "cannot be read", "no DICOM elements", "not a DCE study"))
    # one valid slice alone is not a DCE study
    single("one-valid-slice", lambda b: b, "not a DCE study")
    # in a folder the same damage must be caught, never a silently missing or zero slice
    in_folder("zero-bytes", lambda b: b"", ("missing", "duplicated"), GeometryError)
    in_folder("text", lambda b: b"hello\n" * 10, ("missing", "duplicated"), GeometryError)
    in_folder("truncated-pixels", lambda b: b[:-150], ("pixel", "truncated", "cannot be read"))
    in_folder("truncated-in-pixel-tag", lambda b: b[: _pixel_offset(b) + 6],
              ("pixel", "truncated", "cannot be read"))
    in_folder("truncated-header", lambda b: b[:300], ("missing", "duplicated"), GeometryError)

    def pixel_length_lie(b):  # PixelData length field claims more bytes than the file holds
        raw = bytearray(b)
        off = _pixel_offset(bytes(raw))
        struct.pack_into("<I", raw, off + 8, struct.unpack_from("<I", raw, off + 8)[0] + 4096)
        return bytes(raw)

    def pixel_length_short(b):  # PixelData length field smaller than rows x columns x 2
        raw = bytearray(b)
        off = _pixel_offset(bytes(raw))
        n = struct.unpack_from("<I", raw, off + 8)[0]
        struct.pack_into("<I", raw, off + 8, n - 200)
        return bytes(raw[: off + 12 + n - 200])

    def element_length_lie(b):  # a header element (SeriesDescription) claims 60000 bytes
        raw = bytearray(b)
        off = raw.index(b"\x08\x00\x3e\x10")  # (0008,103E) LO, 2-byte length
        struct.pack_into("<H", raw, off + 6, 60000)
        return bytes(raw)

    cases.append(BadCase("folder/pixel-length-too-long", "files",
                         lambda w, b: _damaged_folder(w, b, pixel_length_lie),
                         Expect(DicomError, ("pixel", "cannot be read", "truncated"), check=_study_ok())))
    in_folder("pixel-length-too-short", pixel_length_short, ("pixel", "cannot be read", "truncated"))
    single("element-length-lie", element_length_lie, ("cannot be read", "not an image", "not a DCE study",
                                                      "no DICOM elements", "header"))

    def deep_nesting(b, depth=200):  # pydicom's own writer hangs beyond ~250 levels
        ds = pydicom.dcmread(io.BytesIO(b))
        inner = Dataset()
        inner.CodeValue = "X"
        for _ in range(depth):
            outer = Dataset()
            outer.ContentSequence = DicomSequence([inner])
            inner = outer
        ds.ContentSequence = inner.ContentSequence
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        return buf.getvalue()

    single("deep-sequence-nesting", deep_nesting, ("not a DCE study", "cannot be read", "header"))

    def nested_ok(work, base):  # a deeply nested but valid slice replaces a slice: loads the same study
        folder = _copy_tree(base.per_phase, work / "study")
        victim = _phase_files(folder, 2)[3]
        victim.write_bytes(deep_nesting(victim.read_bytes(), depth=120))
        return _load(folder)
    cases.append(BadCase("folder/deep-sequence-nesting-valid", "files", nested_ok, Expect(check=_study_ok())))
    return cases


def _edge_cases() -> list[BadCase]:
    """Each shared edge-case file: alone (never a DCE study), and dropped into a valid study folder (ignored,
    or a typed error when it is an image that does not belong)."""
    names = ["pydicom_ExplVR_BigEndNoMeta.dcm", "pydicom_JPEG-lossy.dcm", "pydicom_JPEG2000.dcm", "pydicom_LICENSE",
             "pydicom_MR_small.dcm", "pydicom_MR_small_RLE.dcm", "pydicom_MR_small_bigendian.dcm",
             "pydicom_MR_small_expb.dcm", "pydicom_MR_small_implicit.dcm", "pydicom_MR_small_jp2klossless.dcm",
             "pydicom_MR_small_jpeg_ls_lossless.dcm", "pydicom_MR_small_padded.dcm", "pydicom_MR_truncated.dcm",
             "pydicom_README.txt", "pydicom_badVR.dcm", "pydicom_meta_missing_tsyntax.dcm", "pydicom_no_meta.dcm",
             "pydicom_zipMR.gz", "pydicomdata_MR-SIEMENS-DICOM-WithOverlays.dcm", "pydicomdata_MR2_J2KI.dcm",
             "pydicomdata_emri_small.dcm", "pydicomdata_emri_small_RLE.dcm", "pydicomdata_emri_small_big_endian.dcm",
             "pydicomdata_emri_small_jpeg_2k_lossless.dcm", "pydicomdata_emri_small_jpeg_2k_lossless_too_short.dcm",
             "pydicomdata_emri_small_jpeg_ls_lossless.dcm"]
    cases = []
    # a single 2D image (or a non-image / unreadable file) is never a DCE study; the 10-frame enhanced MR
    # files have no DCE timing and are refused for their geometry/timing
    alone_expect = Expect(InputError, ("DCE", "DICOM", "truncated", "pixel", "timing", "times", "slice",
                                       "orientation", "position", "geometry", "frame", "gzip", "decoded",
                                       "not an image", "cannot be read", "spacing", "images"))
    for name in names:
        def alone(work, base, name=name):
            return _load([base.edge_dir / name])

        def mixed(work, base, name=name):
            folder = _copy_tree(base.per_phase, work / "study")
            shutil.copy(base.edge_dir / name, folder / ("zz_" + name))
            return _load(folder)
        cases.append(BadCase(f"edge/{name}/alone", "files", alone, alone_expect))
        image = not name.endswith((".txt", "LICENSE", ".gz")) and name not in (
            "pydicom_ExplVR_BigEndNoMeta.dcm", "pydicomdata_emri_small_jpeg_2k_lossless_too_short.dcm")
        if image:  # an MR image of another series/matrix: refused, or dropped (derived/unusable) with a note
            exp = Expect((GeometryError, DicomError), ("matrix", "orientation", "spacing", "geometry", "frames",
                                                       "position", "pixel", "header", "truncated"),
                         check=_ignored_with_note)
        else:  # not an image: ignored, the study loads unchanged
            exp = Expect(check=_study_ok())
        cases.append(BadCase(f"edge/{name}/in-study-folder", "files", mixed, exp))
    return cases


def _ignored_with_note(study, base) -> None:
    _study_ok()(study, base)
    _assert(any("ignored" in n for n in study.notes), f"stray file ignored without a note: {study.notes}")


def _assert(cond: bool, message: str = "check failed") -> None:
    if not cond:
        raise AssertionError(message)


def all_cases() -> list[BadCase]:
    from tests.bad_inputs_data import _maf_cases, _mask_cases, _numeric_cases, _path_cases, _text_cases
    from tests.bad_inputs_hostile import hostile_cases
    from tests.bad_inputs_series import _series_cases

    cases = (_file_cases() + _edge_cases() + _series_cases() + _mask_cases() + _numeric_cases() + _maf_cases()
             + _text_cases() + _path_cases() + hostile_cases())
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise RuntimeError(f"duplicate case names: {dup}")
    return cases
