"""Bad-input corpus, data cases: masks, numerics (kinetics/habitats/ring/MSI), MAF, text into DICOM/PDF, paths."""
from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.bad_inputs import (HABITAT_MODEL, MAF_HEADER, SHAPE, SPACING, BadCase, Expect, _assert, _load,
                              _phase_files, _study_ok, _write_bytes, maf_line, make_study)
from tnbc_desktop.core.study import DCEStudy, Geometry
from tnbc_desktop.errors import FeatureError, GeometryError, MaskError, MutationFileError, OutputError


# --------------------------------------------------------------------------------------------------- masks
def _mask_cases() -> list[BadCase]:
    from tnbc_desktop.core.io.masks import load_mask
    from tnbc_desktop.core.io.volumes import write_volume

    cases: list[BadCase] = []

    def add(name, build, expect):
        cases.append(BadCase(f"mask/{name}", "masks", build, expect))

    def mask_case(name, arr_fn, expect, geom_fn=None, label=None):
        def build(work, base):
            g = geom_fn(base) if geom_fn else base.study.geometry
            p = write_volume(arr_fn(base), g, work / "mask.nii.gz")
            return lambda: load_mask(p, base.study.geometry, label=label)
        add(name, build, expect)

    mask_case("empty", lambda b: np.zeros(SHAPE, np.uint8), Expect(MaskError, "empty"))

    def one_voxel(b):
        a = np.zeros(SHAPE, np.uint8)
        a[3, 10, 10] = 1
        return a
    mask_case("one-voxel", one_voxel, Expect(check=lambda m, b: _assert(m.n_voxels == 1 and m.array[3, 10, 10])))
    mask_case("wrong-label", lambda b: b.tumour.astype(np.uint8), Expect(MaskError, "label 2"), label=2)

    def multi(b):
        a = b.tumour.astype(np.uint8)
        a[0, 0, 0] = 5
        return a
    mask_case("several-labels", multi, Expect(MaskError, "several labels"))
    mask_case("several-labels-chosen", multi,
              Expect(check=lambda m, b: _assert(m.n_voxels == int(b.tumour.sum()) and m.label == 1)), label=1)
    mask_case("probability-map", lambda b: b.tumour.astype(np.float32) * 0.7, Expect(MaskError, "non-integer"))
    mask_case("far-away-grid", lambda b: b.tumour.astype(np.uint8), Expect(GeometryError, "does not cover"),
              geom_fn=lambda b: Geometry(SHAPE, SPACING, origin_mm=(200.0, 0.0, 0.0)))
    mask_case("other-shape", lambda b: np.ones((6, 10, 10), np.uint8), Expect(GeometryError, "does not cover"),
              geom_fn=lambda b: Geometry((6, 10, 10), SPACING, origin_mm=b.study.geometry.origin_mm))

    def half_res(b):
        return b.tumour[:, ::2, ::2].astype(np.uint8)
    # same region at half in-plane resolution: resampled (nearest neighbour) and flagged
    mask_case("half-resolution-resampled", half_res,
              Expect(check=lambda m, b: _assert(m.resampled and m.n_voxels > 0 and m.notes)),
              geom_fn=lambda b: Geometry((6, 10, 10), (2.0, 2.0, 2.0),
                                         origin_mm=tuple(np.add(b.study.geometry.origin_mm, (0.5, 0.5, 0.0)))))

    def garbage(work, base):
        p = _write_bytes(work, "mask.nii.gz", b"not a nifti at all")
        return lambda: load_mask(p, base.study.geometry)
    add("garbage-file", garbage, Expect(MaskError, "cannot be read"))

    def four_d(work, base):
        from tnbc_desktop.core.io.volumes import write_study_nifti
        p = write_study_nifti(base.study, work / "mask.nii.gz")
        return lambda: load_mask(p, base.study.geometry)
    add("4d-mask", four_d, Expect(MaskError, "4D"))

    def folder(work, base):
        return lambda: load_mask(work, base.study.geometry)
    add("folder-as-mask", folder, Expect(MaskError, "folder"))

    def dicom_not_seg(work, base):
        return lambda: load_mask(_phase_files(base.per_phase, 0)[0], base.study.geometry)
    add("dicom-image-as-mask", dicom_not_seg, Expect(MaskError, "not a DICOM-SEG"))

    def wrong_shape_to_kinetics(work, base):
        from tnbc_desktop.core.kinetics import compute_kinetic_maps
        return lambda: compute_kinetic_maps(base.study, np.ones((6, 10, 10), bool))
    add("kinetics-mask-shape-mismatch", wrong_shape_to_kinetics, Expect(MaskError, "does not match",
                                                                         names_input=False))

    def one_voxel_chain(work, base):
        a = np.zeros(SHAPE, bool)
        a[3, 10, 10] = True
        return lambda: imaging_chain(base.study, a, habitat_model="per-patient")
    add("one-voxel-per-patient-habitats", one_voxel_chain, Expect(FeatureError, "habitats need at least",
                                                                                names_input=False))

    def one_voxel_population(work, base):
        a = np.zeros(SHAPE, bool)
        a[3, 10, 10] = True
        return lambda: imaging_chain(base.study, a)
    add("one-voxel-population-habitats", one_voxel_population, Expect(check=lambda out, b: _one_voxel_check(out)))
    return cases


def _one_voxel_check(out) -> None:
    maps, hab, ring, msi = out
    _assert(int((hab.labels > 0).sum()) == 1, "one labelled voxel")
    _assert(len(hab.empty_habitats) == 2 and len(hab.flags) == 2, f"two empty habitats flagged: {hab.flags}")
    _assert(ring.any() and not ring[3, 10, 10], "ring around the voxel, not on it")
    _assert(all(np.isfinite(v) for v in msi.values()), "MSI values finite")


# --------------------------------------------------------------------------------------------------- numerics
def imaging_chain(study: DCEStudy, mask: np.ndarray, habitat_model: dict | str = HABITAT_MODEL):
    """kinetic maps -> habitats (population model, or per-patient k-means) -> ring -> MSI."""
    from tnbc_desktop.core.habitats import assign_habitats, per_patient_habitats
    from tnbc_desktop.core.kinetics import compute_kinetic_maps
    from tnbc_desktop.core.msi import msi_features
    from tnbc_desktop.core.regions import peritumoral_ring

    maps = compute_kinetic_maps(study, mask)
    hab = per_patient_habitats(maps) if habitat_model == "per-patient" else assign_habitats(maps, habitat_model)
    ring = peritumoral_ring(mask, study.spacing_mm, 5.0)
    msi = msi_features(hab.labels, study.geometry.voxel_volume_mm3)
    return maps, hab, ring, msi


def _numeric_cases() -> list[BadCase]:
    cases: list[BadCase] = []

    def add(name, data_fn, expect, model: dict | str = HABITAT_MODEL):
        def build(work, base):
            data = data_fn(base.study.data.copy(), base.tumour)
            study = DCEStudy(**{**base.study.__dict__, "data": data.astype(np.float32)})
            return lambda: imaging_chain(study, base.tumour, model)
        cases.append(BadCase(f"numerics/{name}", "numerics", build, expect))

    def constant(d, t):
        d[:] = 100.0
        return d

    def constant_check(out, base):
        maps, hab, ring, msi = out
        # no enhancement: PE = 0 everywhere; |PE2| < 1 % so every SER is clipped and counted (kinetics docstring)
        _assert(np.allclose(maps.pe[maps.valid], 0.0), "PE is 0")
        _assert(maps.n_ser_clipped == int(base.tumour.sum()), f"all SER clipped: {maps.n_ser_clipped}")
        _assert(len(hab.flags) >= 1, "a constant tumour cannot fill three habitats: flagged")
    add("constant-image-population", constant, Expect(check=constant_check))
    add("constant-image-per-patient", constant, Expect(FeatureError, "distinct"), model="per-patient")

    def plant(value, count):
        def fn(d, t):
            idx = np.argwhere(t)[:count]
            for z, y, x in idx:
                d[1, z, y, x] = value
            return d
        return fn

    def invalid_check(count):
        def check(out, base):
            maps, hab, ring, msi = out
            _assert(maps.n_invalid == count, f"n_invalid {maps.n_invalid} != {count}")
            _assert(int(maps.valid.sum()) == int(base.tumour.sum()) - count, "valid count")
            _assert(int((hab.labels > 0).sum()) == int(base.tumour.sum()) - count, "invalid voxels unlabelled")
            _assert(all(np.isfinite(v) for v in msi.values()), "MSI finite")
            for m in (maps.pe, maps.ser, maps.wis, maps.wos):
                _assert(np.all(np.isfinite(m[maps.valid])), "maps finite on valid voxels")
        return check
    add("nan-voxels", plant(np.nan, 7), Expect(check=invalid_check(7)))
    add("inf-voxels", plant(np.inf, 5), Expect(check=invalid_check(5)))
    add("minus-inf-voxels", plant(-np.inf, 3), Expect(check=invalid_check(3)))

    def s0_zero(count):
        def fn(d, t):
            idx = np.argwhere(t)[:count]
            for z, y, x in idx:
                d[0, z, y, x] = 0.0
            return d
        return fn
    add("s0-zero-voxels", s0_zero(9), Expect(check=invalid_check(9)))

    def s0_negative(d, t):
        idx = np.argwhere(t)[:4]
        for z, y, x in idx:
            d[0, z, y, x] = -50.0
        return d
    add("s0-negative-voxels", s0_negative, Expect(check=invalid_check(4)))

    def s0_all_zero(d, t):
        d[0] = 0.0
        return d
    add("s0-zero-everywhere", s0_all_zero, Expect((FeatureError, MaskError), ("valid", "voxel")))

    def all_nan(d, t):
        d[:] = np.nan
        return d
    add("all-nan", all_nan, Expect((FeatureError, MaskError), ("valid", "voxel")))

    def huge(d, t):
        return d.astype(np.float64) * 1e30

    def huge_check(out, base):
        maps, hab, ring, msi = out
        # PE, SER are scale-free (relative slopes): same as the unscaled study within float32 rounding
        ref = imaging_chain(base.study, base.tumour)[0]
        _assert(np.allclose(maps.pe[maps.valid], ref.pe[ref.valid], rtol=1e-3, atol=1e-2), "PE scale-free")
    add("huge-values-1e30", huge, Expect(check=huge_check))
    return cases


# --------------------------------------------------------------------------------------------------- MAF
def _maf_cases() -> list[BadCase]:
    from tnbc_desktop.core.io.mutations import read_mutation_panel

    cases: list[BadCase] = []

    def add(name, content: Callable[[Any], bytes], expect, sample=None, fname="panel.maf"):
        def build(work, base):
            p = _write_bytes(work, fname, content(base))
            return lambda: read_mutation_panel(p, sample=sample)
        cases.append(BadCase(f"maf/{name}", "maf", build, expect))

    def good(lines=(maf_line(), maf_line("MED23", vaf="0.10", start=200)), header=MAF_HEADER, enc="utf-8",
             nl="\n", bom=b""):
        return lambda base: bom + (nl.join(["#version 2.4", header, *lines]) + nl).encode(enc)

    def vaf_check(expected):  # 0.25 (REL) + 0.10 (MED23) written above
        return lambda panel, base: _assert(panel.vaf_sum is not None and abs(panel.vaf_sum - expected) < 1e-9,
                                           f"vaf_sum {panel.vaf_sum}")

    add("empty", lambda b: b"", Expect(MutationFileError, "empty"))
    add("garbage-binary", lambda b: bytes(range(256)) * 8, Expect(MutationFileError, "binary"))
    add("png", lambda b: b"\x89PNG\r\n\x1a\n" + bytes(64), Expect(MutationFileError, "PNG"))
    add("xlsx", lambda b: b"PK\x03\x04" + bytes(64), Expect(MutationFileError, "ZIP"))
    add("truncated-gzip", lambda b: gzip.compress(good()(b))[:40], Expect(MutationFileError, "gzip"),
        fname="panel.maf.gz")
    add("comments-only", lambda b: b"#version 2.4\n#nothing\n", Expect(MutationFileError, "no header"))
    add("vcf", lambda b: b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n1\t100\t.\tC\tT\n",
        Expect(MutationFileError, "VCF"))
    add("missing-columns", lambda b: b"Hugo_Symbol\tt_vaf\nREL\t0.2\n", Expect(MutationFileError, "column"))
    # a MAF with no variant rows: no mutation, so the VAF sum is 0 (mutations.py docstring), or refused
    add("header-only", good(lines=()), Expect(MutationFileError, ("no variant", "sample", "no row", "empty"),
                                              check=lambda p, b: _assert(p.variants == () and p.vaf_sum == 0.0)))
    add("utf8-bom", good(bom=b"\xef\xbb\xbf"), Expect(check=vaf_check(0.35)))
    add("crlf", good(nl="\r\n"), Expect(check=vaf_check(0.35)))
    add("bare-cr", good(nl="\r"), Expect(check=vaf_check(0.35)))
    add("latin1-sample", good(lines=(maf_line(sample="ZZCANARY-Müller"),), enc="latin-1"),
        Expect(check=lambda p, b: _assert(p.sample == "ZZCANARY-Müller" and abs(p.vaf_sum - 0.25) < 1e-9)))
    add("utf16", good(enc="utf-16"), Expect(MutationFileError, ("binary", "utf-16", "encoding")))
    add("non-numeric-vaf", good(lines=(maf_line(vaf="high"),)),
        Expect(check=lambda p, b: _assert(p.vaf_sum is None and p.vaf_unavailable_reason), ))
    add("vaf-out-of-range", good(lines=(maf_line(vaf="7.5"),)),
        Expect(check=lambda p, b: _assert(p.vaf_sum is None or 0 <= p.vaf_sum <= 1, f"vaf_sum {p.vaf_sum}")))
    long_id = "ZZCANARY-" + "X" * 5000
    add("very-long-sample-id", good(lines=(maf_line(sample=long_id),)),
        Expect(check=lambda p, b: _assert(p.sample == long_id and abs(p.vaf_sum - 0.25) < 1e-9)))
    add("markup-sample-id", good(lines=(maf_line(sample="ZZCANARY<b>&amp;</b>"),)),
        Expect(check=lambda p, b: _assert(p.sample == "ZZCANARY<b>&amp;</b>")))
    add("non-latin-sample-id", good(lines=(maf_line(sample="ZZCANARY-李小龙-Ωμέγα"),)),
        Expect(check=lambda p, b: _assert(p.sample == "ZZCANARY-李小龙-Ωμέγα")))
    two = (maf_line(sample="S1"), maf_line("MED23", sample="S2", vaf="0.4", start=300))
    add("multi-sample-no-choice", good(lines=two), Expect(MutationFileError, "sample"))
    add("multi-sample-unknown", good(lines=two), Expect(MutationFileError, "sample"), sample="S9")
    add("multi-sample-chosen", good(lines=two), Expect(check=vaf_check(0.4)), sample="S2")
    add("ragged-rows", lambda b: (MAF_HEADER + "\n" + maf_line() + "\textra\tcells\tmore\n").encode(),
        Expect(MutationFileError, ("cells", "column", "fields")))
    add("nul-bytes", lambda b: good()(b).replace(b"REL", b"R\x00L", 1), Expect(MutationFileError, "binary"))
    return cases


# --------------------------------------------------------------------------------------------------- text / PDF
def _text_cases() -> list[BadCase]:
    cases: list[BadCase] = []

    def dicom_name(name, value):
        def build(work, base):
            from tnbc_desktop.core.io.dicom_write import write_dicom_study
            study, _ = make_study(name=value)
            write_dicom_study(study, work / "study", layout="per-phase")
            return _load(work / "study")

        def check(study, base):
            _assert(study.identity.patient_name == value,
                    f"PatientName read back as {study.identity.patient_name[:80]!r}")
        cases.append(BadCase(f"text/dicom-patientname-{name}", "text", build, Expect(check=check)))

    dicom_name("markup", "ZZCANARY^<b>&amp;</b>^<fs>")
    dicom_name("latin1", "ZZCANARY^Müller^Zoë")
    dicom_name("non-latin", "ZZCANARY^李^小龙")
    dicom_name("very-long", "ZZCANARY^" + "Verylongname" * 40)

    def pdf(name, patient_name, sample):
        def build(work, base):
            from tests.builders import fake_case_result
            from tnbc_desktop.core.report import write_report
            result = fake_case_result(name=patient_name, sample=sample)
            return lambda: write_report(result, work / "report.pdf")

        def check(path, base):
            from tests.builders import pdf_text
            n, text, _ = pdf_text(path)
            _assert(n == 2, f"{n} pages")
            flat = "".join(text.split())
            for token in [t for t in patient_name.replace("^", " ").split() if t][:3]:
                # glyphs the font lacks (CJK) must stay visible as <U+XXXX>, never vanish
                shown = "".join(c if ord(c) < 0x2E80 else f"<U+{ord(c):04X}>" for c in token)
                _assert(token[:60] in flat or shown[:60] in flat, f"{token[:40]!r} missing from the PDF text")
            _assert("\x00" not in text, "NUL glyphs in the PDF text")
        cases.append(BadCase(f"text/pdf-{name}", "text", build, Expect(check=check)))

    pdf("markup", "ZZCANARY^<fs>&<b>", "ZZCANARY-<i>&amp;")
    pdf("non-latin", "ZZCANARY^李小龙^Ωμέγα", "ZZCANARY-Ünïcødé")
    pdf("very-long", "ZZCANARY^" + "Longname" * 60, "ZZCANARY-" + "S" * 400)
    return cases


# --------------------------------------------------------------------------------------------------- paths
def _path_cases() -> list[BadCase]:
    cases: list[BadCase] = []

    def unicode_folder(work, base):
        folder = work / "患者 データ" / "Zoë's scans (1)"
        folder.parent.mkdir(parents=True)
        shutil.copytree(base.per_phase, folder)
        return _load(folder)
    cases.append(BadCase("paths/unicode-folder", "paths", unicode_folder, Expect(check=_study_ok())))

    def unicode_nifti_and_mask(work, base):
        from tnbc_desktop.core.io.masks import load_mask
        from tnbc_desktop.core.io.study_loader import load_study
        folder = work / "пациент ñ"
        folder.mkdir()
        shutil.copy(base.nifti, folder / "étude.nii.gz")
        shutil.copy(base.nifti.with_name("study.json"), folder / "étude.json")
        shutil.copy(base.mask, folder / "masque ü.nii.gz")

        def run():
            study = load_study(folder / "étude.nii.gz")
            return study, load_mask(folder / "masque ü.nii.gz", study.geometry)
        return run
    cases.append(BadCase("paths/unicode-nifti-and-mask", "paths", unicode_nifti_and_mask,
                         Expect(check=lambda out, b: (_study_ok()(out[0], b),
                                                      _assert(out[1].n_voxels == int(b.tumour.sum()))))))

    def unicode_maf(work, base):
        from tnbc_desktop.core.io.mutations import read_mutation_panel
        p = work / "变异 ü.maf"
        shutil.copy(base.maf, p)
        return lambda: read_mutation_panel(p)
    cases.append(BadCase("paths/unicode-maf", "paths", unicode_maf,
                         Expect(check=lambda p, b: _assert(abs(p.vaf_sum - 0.35) < 1e-9))))

    def missing_output_folder(work, base):
        from tnbc_desktop.core.io.atomic import write_text_atomic
        return lambda: write_text_atomic(work / "no" / "such" / "out.json", "{}")
    cases.append(BadCase("paths/output-folder-missing", "paths", missing_output_folder,
                         Expect(OutputError, "does not exist")))

    def output_is_folder(work, base):
        from tnbc_desktop.core.io.atomic import write_text_atomic
        (work / "taken.json").mkdir()
        return lambda: write_text_atomic(work / "taken.json", "{}")
    cases.append(BadCase("paths/output-target-is-folder", "paths", output_is_folder,
                         Expect(OutputError, "could not be written")))

    def read_only_output(work, base):
        """A read-only folder: /proc/self is not writable even for root."""
        from tnbc_desktop.core.io.atomic import write_text_atomic
        return lambda: write_text_atomic(Path("/proc/self/tnbc-report.json"), "{}")
    cases.append(BadCase("paths/read-only-output-folder", "paths", read_only_output,
                         Expect(OutputError, ("not writable", "cannot write"))))
    return cases
