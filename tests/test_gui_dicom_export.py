"""GUI File > "Export to DICOM...": the shown result goes out as SEG + encapsulated PDF + SR, off the GUI thread,
de-identified when the session asks for it; a NIfTI case says why there is no SEG."""
from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom
import pytest

from tests.builders import WAIT_MS, make_test_bundle, make_window, open_case, write_small_patient
from tnbc_desktop.core.dicom_export.pdf import document_bytes
from tnbc_desktop.core.synthetic import CANARY
from tnbc_desktop.gui import dialogs
from tnbc_desktop.gui.dicom_export_action import export_dicom

pytestmark = pytest.mark.gui


def _analyse(qtbot, window, files, bundle, **extra):
    open_case(qtbot, window, files, bundle, ki67="35", lvi="absent", **extra)
    with qtbot.waitSignal(window.analysisFinished, timeout=WAIT_MS) as blocker:
        window.run_analysis()
    return blocker.args[0]


def test_export_to_dicom_menu_writes_seg_pdf_and_sr(qtbot, messages, tmp_path, monkeypatch):  # noqa: F811
    bundle = make_test_bundle(tmp_path / "bundle.json")
    patient, files = write_small_patient(tmp_path / "p", layout="per-phase")
    window = make_window(qtbot)
    actions = {a.text(): a for a in window.menuBar().actions()[0].menu().actions()}
    out = tmp_path / "dicom"
    monkeypatch.setattr(dialogs, "ask_open_paths", lambda *a, **k: [str(out)])
    actions["Export to DICOM..."].trigger()  # before any analysis: a message, nothing written
    assert messages["shown"][-1][1].startswith("Run the analysis") and not out.exists()
    result = _analyse(qtbot, window, files, bundle, deidentify=True)
    actions["Export to DICOM..."].trigger()
    with qtbot.waitSignal(window.task.finished, timeout=WAIT_MS) as blocker:
        pass
    export = blocker.args[0]
    assert sorted(p.name for p in out.iterdir()) == ["DOC_report.dcm", "SEG_regions.dcm", "SR_measurements.dcm"]
    assert "DICOM written to" in window.statusBar().currentMessage()
    seg = hd.seg.segread(export.seg)
    uids = [im.sop_instance_uid for im in result.study.source_images[result.qc.early_phase]]
    assert seg.number_of_segments == 5 and seg.PatientName == "DEIDENTIFIED^"
    assert not {uid for _, _, uid in seg.get_source_image_uids()} & set(uids)  # de-identified: new UIDs
    assert all(CANARY.encode() not in p.read_bytes() for p in export.paths)
    assert document_bytes(pydicom.dcmread(export.pdf))[:5] == b"%PDF-"
    assert not [m for m in messages["shown"] if m[0] == "error"], messages["shown"]


def test_export_to_dicom_of_a_nifti_case_explains_the_missing_seg(qtbot, messages, tmp_path):  # noqa: F811
    bundle = make_test_bundle(tmp_path / "bundle.json")
    patient, files = write_small_patient(tmp_path / "p", layout="nifti")
    window = make_window(qtbot)
    result = _analyse(qtbot, window, files, bundle)
    with qtbot.waitSignal(export_dicom(window, str(tmp_path / "out")).finished, timeout=WAIT_MS) as blocker:
        pass
    export = blocker.args[0]
    assert export.seg is None and export.sr.exists() and export.pdf.exists()
    assert messages["shown"][-1] == ("info", "no SEG: the study was read from NIfTI/NRRD files, so there are no "
                                             "DICOM source images for a DICOM-SEG to reference")
    sr = hd.sr.srread(export.sr)
    groups = {g.tracking_identifier: g for g in sr.content.get_image_measurement_groups()}
    volume = {m.name.meaning: m.value for m in groups["tumour"].get_measurements()}["Volume"]
    assert volume == pytest.approx(result.qc.mask_volume_ml) and np.isfinite(volume)


def test_send_to_dicom_node_from_the_address_book(qtbot, messages, tmp_path, storage_scp):  # noqa: F811
    from tnbc_desktop.core.dicom_export.send import save_nodes

    node, received, _ = storage_scp
    bundle = make_test_bundle(tmp_path / "bundle.json")
    patient, files = write_small_patient(tmp_path / "p", layout="per-phase")
    window = make_window(qtbot)
    actions = {a.text(): a for a in window.menuBar().actions()[0].menu().actions()}
    result = _analyse(qtbot, window, files, bundle)
    actions["Send to DICOM node..."].trigger()  # empty address book: say how to add a node, send nothing
    assert messages["shown"][-1][0] == "info" and "tnbc-desktop dicom add-node" in messages["shown"][-1][1]
    save_nodes([node])
    messages["answers"]["item"] = f"{node.name} ({node.host}:{node.port}, AE {node.ae_title})"
    actions["Send to DICOM node..."].trigger()
    with qtbot.waitSignal(window.task.finished, timeout=WAIT_MS) as blocker:
        pass
    notes, sent = blocker.args[0]
    assert len(sent) == 3 and len(received) == 3 and f"Sent 3 DICOM object(s) to '{node.name}'" in \
        window.statusBar().currentMessage()
    seg = [ds for ds in received if ds.Modality == "SEG"][0]
    assert str(seg.PatientID) == str(result.study.identity.patient_id)  # the session did not ask to de-identify
    assert not [m for m in messages["shown"] if m[0] == "error"], messages["shown"]
