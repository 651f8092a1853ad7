"""Shared fixtures. Tests that read ../shared/data skip with a clear reason when it is absent."""
from __future__ import annotations

import os
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.helpers import REPO_ROOT, SHARED_DATA, shared_data  # noqa: F401 (re-exported)


@pytest.fixture(autouse=True)
def _isolated_user_home(tmp_path_factory, monkeypatch):
    """Every test writes user data (history, autosave) to its own folder, never the real home."""
    home = tmp_path_factory.mktemp("tnbc_home")
    monkeypatch.setenv("TNBC_DESKTOP_HOME", str(home))
    return home


@pytest.fixture
def messages(monkeypatch):
    """GUI tests: record every dialog instead of showing it; questions answer from ``answers``."""
    from tnbc_desktop.gui import dialogs

    log = {"shown": [], "asked": [], "answers": {"yes_no": True, "item": None}}
    monkeypatch.setattr(dialogs, "show_message", lambda parent, kind, title, text: log["shown"].append((kind, text)))

    def ask_yes_no(parent, title, text):
        log["asked"].append(text)
        return log["answers"]["yes_no"]

    monkeypatch.setattr(dialogs, "ask_yes_no", ask_yes_no)
    monkeypatch.setattr(dialogs, "ask_item", lambda parent, title, text, items: log["answers"]["item"] or items[-1])
    return log


@pytest.fixture
def storage_scp():
    """A storage SCP on 127.0.0.1 (free port) keeping what it receives; ``status`` is what it answers."""
    from pynetdicom import AE, StoragePresentationContexts, evt

    from tnbc_desktop.core.dicom_export.send import DicomNode

    received, answer = [], {"status": 0x0000}

    def on_store(event):
        ds = event.dataset
        ds.file_meta = event.file_meta
        received.append(ds)
        return answer["status"]

    ae = AE(ae_title="TEST_SCP")
    ae.require_called_aet = True  # as a PACS does: the wrong AE title is refused
    ae.supported_contexts = StoragePresentationContexts
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    yield DicomNode("test pacs", "127.0.0.1", server.server_address[1], "TEST_SCP"), received, answer
    server.shutdown()
