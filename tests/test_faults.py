"""Fault injection: disk full, read-only target, killed while saving, corrupt files at start-up.

How faults are made:
- disk full: (a) ``os.fsync`` inside the atomic writer monkeypatched to raise ENOSPC (always runs); (b) a real
  64 KiB tmpfs mounted as root (skipped with the reason when ``mount`` is not permitted, e.g. unprivileged CI);
- read-only target: (a) ``tempfile.mkstemp`` in the atomic writer monkeypatched to raise EROFS; (b) a real
  read-only bind mount (root ignores chmod, so chmod is NOT used; skipped when ``mount`` is not permitted);
- killed while saving: one ``os.fork()``-ed child per kill, SIGKILL after a random 0-20 ms, 200 kills.
Expected behaviour comes from the atomic-write contract (core/io/atomic.py): previous file intact, an
OutputError naming the path, never a partial file at the target.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tnbc_desktop.core.io import atomic
from tnbc_desktop.core.io.atomic import write_bytes_atomic
from tnbc_desktop.errors import OutputError
from tnbc_desktop.gui.session import SessionState, SessionStore


@pytest.fixture(scope="module")
def case_result():
    from tests.builders import fake_case_result

    return fake_case_result()


def _write_pdf(result, path):
    from tnbc_desktop.core.report import write_report

    return write_report(result, path)


def _save_session(folder, state=SessionState(ki67="35", lvi="present")):
    return SessionStore(folder).save(state)


def _enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, "No space left on device")


def _erofs(*_a, **_k):
    raise OSError(errno.EROFS, "Read-only file system")


# ------------------------------------------------------------------------------------------ simulated faults
@pytest.mark.parametrize("fault,word", [(_enospc, "disk is full"), (_erofs, "not writable")])
@pytest.mark.parametrize("target", ["pdf", "session"])
def test_failed_save_keeps_previous_file_and_names_path(tmp_path, monkeypatch, case_result, fault, word, target):
    if target == "pdf":
        path = tmp_path / "report.pdf"
        save = lambda: _write_pdf(case_result, path)  # noqa: E731
    else:
        path = tmp_path / "session.json"
        save = lambda: _save_session(tmp_path)  # noqa: E731
    path.write_bytes(b"previous complete file")
    if fault is _enospc:
        monkeypatch.setattr(atomic.os, "fsync", fault)
    else:
        monkeypatch.setattr(atomic.tempfile, "mkstemp", fault)
    with pytest.raises(OutputError) as info:
        save()
    assert str(path) in str(info.value) and word in str(info.value)
    assert path.read_bytes() == b"previous complete file"
    assert not list(tmp_path.glob(".tnbc-tmp-*"))  # the temp file was removed


# ------------------------------------------------------------------------------------------ real mounts
def _mount(*args) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_real_full_disk_tmpfs(tmp_path, case_result):
    """A 64 KiB tmpfs: a ~100 KiB PDF cannot fit; the small previous file survives."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)):
        pytest.skip("cannot mount a tmpfs here (needs root and mount permission); simulated ENOSPC test covers it")
    try:
        target = mnt / "report.pdf"
        target.write_bytes(b"old")
        with pytest.raises(OutputError) as info:
            from tnbc_desktop.core.report import render_report

            write_bytes_atomic(target, render_report(case_result) + os.urandom(200_000))
        assert "disk is full" in str(info.value) and str(target) in str(info.value)
        assert target.read_bytes() == b"old"
        assert sorted(p.name for p in mnt.iterdir()) == ["report.pdf"]
    finally:
        _umount(mnt)


def test_real_read_only_bind_mount(tmp_path, case_result):
    src, ro = tmp_path / "src", tmp_path / "ro"
    src.mkdir()
    ro.mkdir()
    (src / "session.json").write_text('{"ki67": "10"}')
    if not (_mount("--bind", str(src), str(ro)) and _mount("-o", "remount,bind,ro", str(ro))):
        _umount(ro)
        pytest.skip("cannot make a read-only bind mount here; the simulated EROFS test covers it")
    try:
        with pytest.raises(OutputError) as info:
            _write_pdf(case_result, ro / "report.pdf")
        assert "not writable" in str(info.value) and str(ro / "report.pdf") in str(info.value)
        with pytest.raises(OutputError):
            _store_at(ro).save(SessionState(ki67="99"))
        assert (ro / "session.json").read_text() == '{"ki67": "10"}'
        assert not (ro / "report.pdf").exists()
    finally:
        _umount(ro)


def _store_at(folder: Path) -> SessionStore:
    store = SessionStore.__new__(SessionStore)  # skip mkdir: the folder exists but is read-only
    store.folder = folder
    return store


# ------------------------------------------------------------------------------------------ kill while saving
def test_killed_while_saving_never_leaves_partial_file(tmp_path, case_result, capsys):
    """200 forked writers killed at random moments: the target is always absent or one complete version."""
    if not hasattr(os, "fork"):
        pytest.skip("os.fork is not available on this platform")
    from tnbc_desktop.core.report import render_report

    pdf = render_report(case_result)
    versions = [pdf + os.urandom(1_500_000), pdf + os.urandom(1_000_000)]  # large enough to be mid-write
    session_versions = [json.dumps(SessionState(ki67=str(k), study_source=["x" * 200_000]).to_dict(), indent=2)
                        .encode() for k in range(2)]
    valid = {hashlib.sha256(v).hexdigest() for v in versions + session_versions}
    pdf_target, session_target = tmp_path / "report.pdf", tmp_path / "session.json"
    rng = random.Random(11)
    clean, n = 0, 200
    for i in range(n):
        pid = os.fork()
        if pid == 0:  # child: save forever until killed
            try:
                k = 0
                jobs = [(pdf_target, versions), (session_target, session_versions)][:: 1 if i % 2 else -1]
                while True:
                    for target, payloads in jobs:
                        write_bytes_atomic(target, payloads[k % 2])
                    k += 1
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.02))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        ok = True
        for target in (pdf_target, session_target):
            if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() not in valid:
                ok = False
        clean += ok
    leftovers = len(list(tmp_path.glob(".tnbc-tmp-*")))  # kills that landed mid-write leave a temp file
    assert pdf_target.exists() and session_target.exists()  # the children really wrote (not vacuous)
    assert leftovers > 0  # ... and some kills interrupted a write
    with capsys.disabled():
        print(f"\nkill-while-saving: {clean} / {n} clean (temp files left beside the target: {leftovers}, "
              "never at the target)")
    assert clean == n


# ------------------------------------------------------------------------------------------ corrupt at start-up
@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00garbage", b'["a list"]', b'{"ki67": 35}', b""])
def test_corrupt_session_falls_back_and_is_kept(tmp_path, content):
    (tmp_path / "session.json").write_bytes(content)
    state, problem = SessionStore(tmp_path).load()
    assert state == SessionState() and problem and "session.json" in problem
    kept = list(tmp_path.glob("session.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == content
    assert not (tmp_path / "session.json").exists()
