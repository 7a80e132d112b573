"""Atomic saves and exports: a failure injected at each step leaves the previous files intact and no
temporary or partial files behind.

The tests run as root on the CI machines, and root writes into a ``chmod 555`` folder anyway, so a
read-only folder is simulated by making the file creation fail with EACCES / EROFS (the chmod
variant runs only for ordinary users).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import tempfile

import numpy as np
import pytest
import soundfile as sf

from stemroll.core.params import SeparationParams
from stemroll.core.score import Note, NoteGroup, Score
from stemroll.core.separation import SeparationResult, Stem
from stemroll.core.spectral import STFTConfig
from stemroll.io import atomic, export
from stemroll.io.atomic import atomic_write, atomic_write_all
from stemroll.io.errors import InputError
from stemroll.io.project import load_project, save_project


def _listing(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _write(path, text):
    with atomic_write(path, backup=True) as tmp:
        tmp.write_text(text)


@pytest.fixture
def saved(tmp_path):
    """A file saved twice: 'v2' in place, 'v1' as its .bak."""
    p = tmp_path / "doc.txt"
    _write(p, "v1")
    _write(p, "v2")
    assert p.read_text() == "v2" and (tmp_path / "doc.txt.bak").read_text() == "v1"
    assert _listing(tmp_path) == ["doc.txt", "doc.txt.bak"]
    return p


def test_success_keeps_previous_as_bak_and_sets_plain_permissions(tmp_path):
    p = tmp_path / "doc.txt"
    _write(p, "one")
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~atomic._umask()  # not mkstemp's 0600
    os.chmod(p, 0o640)
    _write(p, "two")
    assert p.read_text() == "two" and (tmp_path / "doc.txt.bak").read_text() == "one"
    assert stat.S_IMODE(p.stat().st_mode) == 0o640  # the file's own permissions are kept
    assert _listing(tmp_path) == ["doc.txt", "doc.txt.bak"]


# Each step of a save, made to fail. (name, what to patch, exception expected by the caller)
STEPS = ["create temp", "writer raises ENOSPC", "writer half-writes then ENOSPC", "writer raises ValueError",
         "writer interrupted", "fsync", "backup copy", "rename"]


@pytest.mark.parametrize("step", STEPS)
def test_a_failure_at_each_step_leaves_the_previous_version(saved, monkeypatch, step):
    folder = saved.parent

    def writer(tmp):
        if step == "writer raises ENOSPC":
            _enospc()
        if step == "writer half-writes then ENOSPC":
            with open(tmp, "w") as f:
                f.write("v3 partial")
                f.flush()
                _enospc()
        if step == "writer raises ValueError":
            raise ValueError("bug in the writer")
        if step == "writer interrupted":
            raise KeyboardInterrupt
        tmp.write_text("v3")

    if step == "create temp":
        monkeypatch.setattr(tempfile, "mkstemp", lambda *a, **k: (_ for _ in ()).throw(
            PermissionError(errno.EACCES, "Permission denied")))
    elif step == "fsync":
        monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    elif step == "backup copy":
        monkeypatch.setattr(os, "link", _enospc)
        monkeypatch.setattr(shutil, "copyfile", _enospc)
    elif step == "rename":
        monkeypatch.setattr(os, "replace", _enospc)
    expected = {"writer raises ValueError": ValueError, "writer interrupted": KeyboardInterrupt}.get(step, InputError)
    with pytest.raises(expected) as info:
        with atomic_write(saved, backup=True) as tmp:
            writer(tmp)
    monkeypatch.undo()
    if expected is InputError:
        msg = str(info.value)
        assert msg.startswith("doc.txt: ") and "\n" not in msg
        words = {"create temp": "permission denied", "fsync": "input/output error"}.get(step, "disk is full")
        assert words in msg, msg
        if step == "create temp":
            assert str(folder) in msg  # names the folder it could not write in
    assert saved.read_text() == "v2"
    assert (folder / "doc.txt.bak").read_text() == "v1"
    assert _listing(folder) == ["doc.txt", "doc.txt.bak"]


def test_failure_before_first_save_leaves_nothing(tmp_path):
    with pytest.raises(InputError, match="disk is full"):
        with atomic_write(tmp_path / "new.txt", backup=True):
            _enospc()
    assert _listing(tmp_path) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_by_chmod(saved):
    folder = saved.parent
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(InputError, match="permission denied"):
            _write(saved, "v3")
    finally:
        os.chmod(folder, 0o755)
    assert saved.read_text() == "v2" and _listing(folder) == ["doc.txt", "doc.txt.bak"]


def test_all_or_none_rolls_back_renames_that_already_happened(tmp_path, monkeypatch):
    a, b, c = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    a.write_text("old a")
    c.write_text("old c")
    real_replace = os.replace
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if str(dst) == str(c) and str(src).endswith(".tmp.txt"):
            _enospc()
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(InputError, match=r"^c\.txt: could not be written \(the disk is full\)"):
        with atomic_write_all([a, b, c], backup=True) as temps:
            for target, tmp in temps.items():
                tmp.write_text("new " + target.stem)
    assert a.read_text() == "old a" and not b.exists() and c.read_text() == "old c"
    assert _listing(tmp_path) == ["a.txt", "c.txt"]
    monkeypatch.undo()
    with atomic_write_all([a, b, c], backup=True) as temps:
        for target, tmp in temps.items():
            tmp.write_text("new " + target.stem)
    assert [p.read_text() for p in (a, b, c)] == ["new a", "new b", "new c"]
    assert _listing(tmp_path) == ["a.txt", "a.txt.bak", "b.txt", "c.txt", "c.txt.bak"]


# ---- projects ------------------------------------------------------------------------------------
def _score(n: int = 3) -> Score:
    return Score.from_notes([Note(i, 60 + i, i * 0.5, i * 0.5 + 0.4, 80, 0) for i in range(n)], [NoteGroup(0, "a")])


@pytest.mark.parametrize("patch", ["write", "fsync", "replace", "mkstemp"])
def test_project_save_failure_keeps_the_previous_project(tmp_path, monkeypatch, patch):
    p = tmp_path / "song.stemroll"
    save_project(p, _score(3), params=SeparationParams(iterations=1))
    save_project(p, _score(4), params=SeparationParams(iterations=2))
    target = {"write": (type(p), "write_bytes"), "fsync": (os, "fsync"), "replace": (os, "replace"),
              "mkstemp": (tempfile, "mkstemp")}[patch]
    monkeypatch.setattr(*target, _enospc)
    with pytest.raises(InputError, match=r"^song\.stemroll: .*disk is full"):
        save_project(p, _score(9), params=SeparationParams(iterations=3))
    monkeypatch.undo()
    assert len(load_project(p).score) == 4 and load_project(p).params.iterations == 2
    assert json.loads((tmp_path / "song.stemroll.bak").read_text())["params"]["iterations"] == 1
    assert _listing(tmp_path) == ["song.stemroll", "song.stemroll.bak"]


# ---- stem export -----------------------------------------------------------------------------------
def _result(n_stems: int = 3, n: int = 2205) -> SeparationResult:
    rng = np.random.default_rng(0)
    stems = [Stem(f"part {i}", i, (0.1 * rng.standard_normal((2, n))).astype(np.float32), 2) for i in range(n_stems)]
    return SeparationResult(stems, 22050, [1.0], STFTConfig(), SeparationParams())


def _no_partials(folder) -> bool:
    return not [p for p in folder.iterdir() if ".part" in p.name or ".tmp" in p.name or p.name.startswith(".")]


def test_export_disk_full_mid_way_writes_nothing(tmp_path, monkeypatch):
    real_write = sf.SoundFile.write
    calls = []

    def write(self, data):
        calls.append(self.name)
        if len(calls) == 2:
            real_write(self, data)  # a partial file exists when the disk fills up
            _enospc()
        return real_write(self, data)

    monkeypatch.setattr(export.sf.SoundFile, "write", write)
    out = tmp_path / "stems"
    with pytest.raises(InputError) as info:
        export.export_stems(_result(), out, song="song", score=_score())
    msg = str(info.value)
    assert msg.startswith("stems: ") and "No space left on device" in msg
    assert _listing(out) == []


@pytest.mark.parametrize("patch", ["read-only folder", "fsync", "midi writer"])
def test_export_failure_keeps_the_previous_export(tmp_path, monkeypatch, patch):
    out = tmp_path / "stems"
    export.export_stems(_result(), out, song="song", score=_score())
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    if patch == "read-only folder":  # as root chmod does not stop writes: make file creation fail instead
        monkeypatch.setattr(tempfile, "mkstemp", lambda *a, **k: (_ for _ in ()).throw(
            PermissionError(errno.EACCES, "Permission denied")))
    elif patch == "fsync":
        monkeypatch.setattr(os, "fsync", _enospc)
    else:
        from stemroll.io import midi
        monkeypatch.setattr(midi, "midi_file_for", _enospc)
    with pytest.raises(InputError) as info:
        export.export_stems(_result(), out, song="song", score=_score(), force=True)
    monkeypatch.undo()
    msg = str(info.value)
    assert "\n" not in msg, msg
    assert any(w in msg.lower() for w in ("no space left", "disk is full", "permission denied")), msg
    assert msg.startswith(("stems: ", "song - ")) and ".part" not in msg and ".tmp" not in msg, msg
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _no_partials(out)


def test_export_rename_failure_is_all_or_none(tmp_path, monkeypatch):
    out = tmp_path / "stems"
    real_replace = os.replace
    n = []

    def replace(src, dst):
        n.append(dst)
        if len(n) == 2:
            _enospc()
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(InputError):
        export.export_stems(_result(), out, song="song")
    monkeypatch.undo()
    assert _listing(out) == [] and _no_partials(out)
