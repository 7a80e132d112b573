"""Autosave and crash recovery: nothing the user did is lost when Stemroll dies.

Each running editor owns a folder ``<data>/autosave/<session>/`` holding a lock file
(``session.lock``, a ``QLockFile``: it says the session is running, with its process id) and,
while there are unsaved changes, ``autosave.stemroll``: the open project's state (score, groups,
settings, the inputs' paths, and under ``"recovery"`` the project file it belongs to). It is
written atomically every ``interval_s`` seconds when the document has changed, and after every
completed separation. Saving the project removes it (the project file holds the work); a clean
exit removes the whole folder.

After a crash the folder stays behind with a lock whose process is gone. The next start finds
it (``Autosaver.find_recoverable``) and the window asks: Recover / Discard / Later
(``offer_recovery``). Nothing is applied unless the user chooses Recover: then the recovered
state opens as an unsaved document that belongs to the original project file.

``<data>`` is ``$STEMROLL_DATA_DIR`` when set (tests), else Qt's AppDataLocation.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QStandardPaths, QTimer, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from ..io.atomic import atomic_write, plain_os_error
from ..io.errors import InputError
from ..io.project import Project, load_project, project_dict
from .document import Document

ENV_DATA_DIR = "STEMROLL_DATA_DIR"
INTERVAL_S = 60.0
LOCK_NAME = "session.lock"
AUTOSAVE_NAME = "autosave.stemroll"


def data_dir() -> Path:
    """Where Stemroll keeps its own files: ``$STEMROLL_DATA_DIR``, else the platform's app data folder."""
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env)
    return Path(QStandardPaths.writableLocation(QStandardPaths.AppDataLocation) or Path.home() / ".stemroll")


@dataclass
class Recoverable:
    """An autosave left by a session that did not exit cleanly."""

    folder: Path
    autosave: Path
    saved_at: float  # seconds since the epoch
    title: str
    project_path: Path | None
    notes: int
    lock: QLockFile | None = None  # held while the offer is open, so no other window offers it too

    def describe(self) -> str:
        when = time.strftime("%d %b %Y, %H:%M", time.localtime(self.saved_at))
        return f"{self.title} ({self.notes} notes), autosaved {when}"


def _lock(path: Path) -> QLockFile:
    lock = QLockFile(str(path))
    lock.setStaleLockTime(0)  # stale only when its process is gone, however long a session runs
    return lock


class Autosaver(QObject):
    """Autosaves ``doc`` into ``root/autosave/<session>/``. Signals: ``saved(str)`` (the file written),
    ``problem(str)`` (autosave could not write: plain words, once per failure streak)."""

    saved = Signal(str)
    problem = Signal(str)

    def __init__(self, doc: Document, root: Path, *, interval_s: float = INTERVAL_S, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = doc
        self.base = Path(root) / "autosave"
        self.folder: Path | None = None
        self._lock: QLockFile | None = None
        self._stamp = None
        self._failing = False
        self.timer = QTimer(self)
        self.timer.setInterval(int(interval_s * 1000))
        self.timer.timeout.connect(self._on_timer)
        doc.dirty_changed.connect(self._on_dirty_changed)

    @property
    def path(self) -> Path | None:
        return self.folder / AUTOSAVE_NAME if self.folder is not None else None

    def start(self) -> bool:
        """Create this session's folder and lock; False (after ``problem``) when it cannot."""
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
        folder = self.base / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self.problem.emit(f"Autosave is off: cannot write in {self.base} ({plain_os_error(e)})")
            return False
        lock = _lock(folder / LOCK_NAME)
        if not lock.tryLock(0):
            self.problem.emit(f"Autosave is off: cannot create {folder / LOCK_NAME}")
            return False
        self.folder, self._lock = folder, lock
        self.timer.start()
        return True

    def _state_stamp(self):
        d = self.doc
        return (id(d.score), d.score.revision, d.params, d.audio_path, d.midi_path, d.project_path,
                d.current_group_id)

    def has_work(self) -> bool:
        return len(self.doc.score) > 0 or self.doc.audio is not None

    def autosave_now(self) -> Path | None:
        """Write the document's state now (when there is something to keep). Returns the file or None."""
        if self.folder is None or not self.has_work():
            return None
        d = self.doc
        data = project_dict(d.score, folder=self.folder, params=d.params, audio_path=d.audio_path,
                            midi_path=d.midi_path, current_group_id=d.current_group_id,
                            anchors=getattr(d, "anchors", None))
        data["recovery"] = {"project_path": str(d.project_path) if d.project_path else None, "title": d.title,
                            "saved_at": time.time(), "pid": os.getpid()}
        try:
            with atomic_write(self.path) as tmp:
                tmp.write_bytes(json.dumps(data, ensure_ascii=False).encode("utf-8", "replace"))
        except InputError as e:
            if not self._failing:
                self.problem.emit(f"Autosave failed: {e}")
            self._failing = True
            return None
        self._failing = False
        self._stamp = self._state_stamp()
        self.saved.emit(str(self.path))
        return self.path

    @Slot()
    def _on_timer(self) -> None:
        if self.doc.dirty and self._state_stamp() != self._stamp:
            self.autosave_now()

    @Slot()
    def on_run_finished(self, *_args) -> None:
        """After a completed separation: keep the state if it is not in a project file yet."""
        if self.doc.dirty or self.doc.project_path is None:
            self.autosave_now()

    @Slot(bool)
    def _on_dirty_changed(self, dirty: bool) -> None:
        if not dirty and self.path is not None:  # saved: the project file holds the work now
            with contextlib.suppress(OSError):
                self.path.unlink()
            self._stamp = None

    def finish(self) -> None:
        """A clean exit: remove this session's autosave, lock and folder."""
        self.timer.stop()
        if self.folder is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        if self._lock is not None:
            self._lock.unlock()
        with contextlib.suppress(OSError):
            self.folder.rmdir()
        self.folder, self._lock = None, None

    # ---- recovery ---------------------------------------------------------------------------------
    def find_recoverable(self) -> list[Recoverable]:
        """Autosaves of sessions that ended without a clean exit, newest first (their locks are held).

        Folders of dead sessions with nothing to recover are removed; live sessions are left alone.
        """
        found = []
        try:
            folders = [p for p in self.base.iterdir() if p.is_dir() and p != self.folder]
        except OSError:
            return []
        for folder in folders:
            lock = _lock(folder / LOCK_NAME)
            if not lock.tryLock(0):
                continue  # another Stemroll is running with it
            item = _describe(folder, lock)
            if item is None:
                lock.unlock()
                with contextlib.suppress(OSError):
                    shutil.rmtree(folder)
            else:
                found.append(item)
        return sorted(found, key=lambda r: -r.saved_at)

    @staticmethod
    def load(item: Recoverable) -> Project:
        """The recovered state (raises InputError when the autosave cannot be read)."""
        return load_project(item.autosave)

    @staticmethod
    def discard(item: Recoverable) -> None:
        if item.lock is not None:
            item.lock.unlock()
        shutil.rmtree(item.folder, ignore_errors=True)

    @staticmethod
    def later(item: Recoverable) -> None:
        """Keep the autosave for the next start."""
        if item.lock is not None:
            item.lock.unlock()


def _describe(folder: Path, lock: QLockFile) -> Recoverable | None:
    """What the autosave in ``folder`` holds; None when there is none (nothing to recover)."""
    path = folder / AUTOSAVE_NAME
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        meta = data.get("recovery") or {}
        notes = len(data.get("notes") or [])
        saved_at = float(meta.get("saved_at") or mtime)
    except (OSError, ValueError, TypeError, AttributeError, RecursionError):  # offered anyway: Recover says why
        return Recoverable(folder, path, mtime, "an unreadable autosave", None, 0, lock)
    project = meta.get("project_path")
    return Recoverable(folder, path, saved_at, str(meta.get("title") or "untitled"),
                       Path(project) if isinstance(project, str) and project else None, notes, lock)


def offer_recovery(window: QWidget, autosaver: Autosaver, items: list[Recoverable]) -> QMessageBox | None:
    """Ask about the newest crashed session: Recover / Discard / Later (window-modal, non-blocking).

    ``window`` provides ``maybe_save()``, ``session.recover(project, project_path=)`` and ``show_error``.
    Older crashed sessions are kept for the next start. Returns the open message box (tests click it).
    """
    if not items:
        return None
    item, rest = items[0], items[1:]
    for other in rest:
        autosaver.later(other)
    box = QMessageBox(QMessageBox.Question, "Recover unsaved work",
                      "Stemroll did not close properly last time, and unsaved work was kept:\n\n"
                      f"{item.describe()}\n\nRecover it now? Later keeps it for the next start.", parent=window)
    box.recover_button = box.addButton("Recover", QMessageBox.AcceptRole)
    box.discard_button = box.addButton("Discard", QMessageBox.DestructiveRole)
    box.later_button = box.addButton("Later", QMessageBox.RejectRole)
    box.recover_button.setToolTip("Open the autosaved state as an unsaved document")
    box.discard_button.setToolTip("Delete the autosaved state for good")
    box.later_button.setToolTip("Decide at the next start")
    box.setDefaultButton(box.recover_button)
    box.setEscapeButton(box.later_button)

    def done(_result=None) -> None:
        clicked = box.clickedButton()
        if clicked is box.recover_button:
            _recover(window, autosaver, item)
        elif clicked is box.discard_button:
            autosaver.discard(item)
        else:
            autosaver.later(item)

    box.finished.connect(done)
    box.open()
    return box


def _recover(window, autosaver: Autosaver, item: Recoverable) -> None:
    if not window.maybe_save():
        autosaver.later(item)
        return
    try:
        project = autosaver.load(item)
    except InputError as e:
        autosaver.later(item)
        window.show_error(f"The autosaved work could not be recovered: {e}")
        return
    session = window.session

    def recovered() -> None:  # the state is this session's now: autosave it here, then drop the old folder
        session.recovered.disconnect(recovered)
        autosaver.autosave_now()
        autosaver.discard(item)

    session.recovered.connect(recovered)
    if not session.recover(project, project_path=item.project_path):
        session.recovered.disconnect(recovered)
        autosaver.later(item)
