"""Sending exported objects to a DICOM node: C-STORE (pynetdicom) to a storage SCP started here on 127.0.0.1,
the address book, and readable failures (unknown node, unreachable node, refused object)."""
from __future__ import annotations

import socket

import pydicom
import pytest

from tnbc_desktop.cli import main
from tnbc_desktop.core.dicom_export.pdf import build_encapsulated_pdf, document_bytes
from tnbc_desktop.core.dicom_export.seg import save_dataset
from tnbc_desktop.core.dicom_export.send import DicomNode, find_node, load_nodes, save_nodes, send_files
from tnbc_desktop.errors import ConfigError, OutputError


def _pdf_objects(tmp_path, n=2) -> list:
    ref = pydicom.Dataset()
    ref.PatientName, ref.PatientID, ref.StudyInstanceUID = "Test^Patient", "P1", pydicom.uid.generate_uid()
    paths = []
    for i in range(n):
        ds = build_encapsulated_pdf(b"%PDF-1.4 test document " + bytes([65 + i]), ref, title=f"doc {i}")
        paths.append(save_dataset(ds, tmp_path / f"doc{i}.dcm"))
    return paths


def test_c_store_delivers_every_object_unchanged(storage_scp, tmp_path):
    node, received, _ = storage_scp
    paths = _pdf_objects(tmp_path)
    results = send_files(node, paths)
    assert [r.ok for r in results] == [True, True]
    sent = {pydicom.dcmread(p).SOPInstanceUID: pydicom.dcmread(p) for p in paths}
    assert {str(ds.SOPInstanceUID) for ds in received} == set(sent)
    for ds in received:
        assert document_bytes(ds) == document_bytes(sent[ds.SOPInstanceUID])


def test_refused_object_and_unreachable_node_fail_in_one_line(storage_scp, tmp_path):
    node, received, answer = storage_scp
    answer["status"] = 0xA700  # out of resources
    with pytest.raises(OutputError, match=r"did not store 2 of 2 file\(s\): doc0.dcm \(status 0xA700\)") as info:
        send_files(node, _pdf_objects(tmp_path))
    assert "\n" not in str(info.value) and len(str(info.value)) < 300
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(OutputError, match="did not accept an association"):
        send_files(DicomNode("gone", "127.0.0.1", closed, "NOBODY"), _pdf_objects(tmp_path), timeout_s=5)
    with pytest.raises(OutputError, match="'wrong' .*AE OTHER_AE.* did not accept an association"):
        send_files(DicomNode("wrong", node.host, node.port, "OTHER_AE"), _pdf_objects(tmp_path))
    assert len(received) == 2  # the two refused above; nothing over the refused association


def test_address_book_round_trip_and_validation(tmp_path):
    book = tmp_path / "nodes.json"
    assert load_nodes(book) == ()
    nodes = [DicomNode("pacs", "10.0.0.5", 104, "PACS"), DicomNode("viewer", "localhost", 11112, "VIEW")]
    save_nodes(nodes, book)
    assert load_nodes(book) == tuple(nodes) and find_node("viewer", book) == nodes[1]
    with pytest.raises(ConfigError, match="no DICOM node named 'x'.*known: pacs, viewer"):
        find_node("x", book)
    for bad, message in ((DicomNode("a", "h", 0, "AE"), "port must be 1-65535"),
                         (DicomNode("a", "h", 104, "A" * 17), "AE title must be 1-16"),
                         (DicomNode("a", "h", 104, "BAD\\AE"), "AE title must be"),
                         (DicomNode("a", "", 104, "AE"), "has no host")):
        with pytest.raises(ConfigError, match=message):
            save_nodes([bad], book)
    with pytest.raises(ConfigError, match="unique"):
        save_nodes([nodes[0], nodes[0]], book)
    book.write_text('{"nodes": [{"name": "x"}]}')
    with pytest.raises(ConfigError, match="address book cannot be read"):
        load_nodes(book)


def test_cli_add_node_and_send_a_folder(storage_scp, tmp_path, capsys):
    node, received, _ = storage_scp
    assert main(["dicom", "add-node", node.name, node.host, str(node.port), node.ae_title]) == 0
    assert main(["dicom", "nodes"]) == 0
    assert f"{node.name}: 127.0.0.1:{node.port} AE TEST_SCP" in capsys.readouterr().out
    _pdf_objects(tmp_path, n=3)
    assert main(["dicom", "send", str(tmp_path), "--node", node.name]) == 0
    assert capsys.readouterr().out.count("sent doc") == 3 and len(received) == 3
    assert main(["dicom", "send", str(tmp_path), "--node", "nowhere"]) != 0
    assert "no DICOM node named 'nowhere'" in capsys.readouterr().err
    assert main(["dicom", "remove-node", node.name]) == 0 and load_nodes() == ()


def test_analyze_sends_its_dicom_objects(storage_scp, tmp_path, capsys):
    from tests.builders import make_test_bundle, write_small_patient

    node, received, _ = storage_scp
    main(["dicom", "add-node", node.name, node.host, str(node.port), node.ae_title])
    _, files = write_small_patient(tmp_path / "p", seed=8, layout="per-phase")
    bundle = make_test_bundle(tmp_path / "bundle.json")
    args = ["analyze", "--study", str(files.study), "--mask", str(files.mask), "--bundle", str(bundle),
            "--no-history", "--deidentify", "--send-to", node.name]
    assert main(args) != 0 and "--send-to needs --dicom-out" in capsys.readouterr().err
    assert main(args + ["--dicom-out", str(tmp_path / "out")]) == 0
    written = {str(pydicom.dcmread(p).SOPInstanceUID) for p in (tmp_path / "out").glob("*.dcm")}
    assert len(written) == 3 and {str(ds.SOPInstanceUID) for ds in received} == written
    assert capsys.readouterr().out.count(f"to {node.name}") == 3
