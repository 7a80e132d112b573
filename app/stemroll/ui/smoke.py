"""``--smoke-test OUT_DIR``: open, separate, export through the real window, then quit.

Used by the bundle's smoke test (packaging/smoke_test.sh). Prints one ``smoke: ...`` line per
stage; on failure or after a time limit prints ``stemroll: smoke test failed: <reason>`` and
exits with status 1.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication


class SmokeTest(QObject):
    """Drives ``win`` (a MainWindow whose files are loading) through separation and export."""

    def __init__(self, win, out_dir: Path, *, iterations: int = 8, limit_s: float = 120.0):
        super().__init__(win)
        self.win = win
        self.out_dir = Path(out_dir)
        self.iterations = iterations
        s = win.session
        s.loading_changed.connect(self._on_loading_changed)
        s.separation_ended.connect(self._on_separation_ended)
        s.exported.connect(self._on_exported)
        s.error.connect(self._fail)
        s.export_task.failed.connect(self._fail)
        QTimer.singleShot(int(limit_s * 1000), lambda: self._fail(f"no result after {limit_s:.0f} s"))

    def _say(self, text: str) -> None:
        print(f"smoke: {text}", flush=True)

    @Slot(bool)
    def _on_loading_changed(self, loading: bool) -> None:
        if not loading:  # the document takes the loaded files right after this signal
            QTimer.singleShot(0, self._start_separation)

    def _start_separation(self) -> None:
        doc = self.win.doc
        if doc.audio is None:
            self._fail("the files did not load")
            return
        self._say("loaded")
        doc.params = dataclasses.replace(doc.params, iterations=self.iterations)
        if not self.win.session.separate():
            self._fail("separation did not start")

    @Slot(str)
    def _on_separation_ended(self, message: str) -> None:
        if self.win.doc.result is None:
            self._fail(f"separation ended without stems: {message}")
            return
        self._say("separated")
        from ..playback import playback_status

        status = playback_status()
        self._say(f"audio: {'available' if status.available else 'unavailable'} ({status.message})")
        from .panels.export_dialog import ExportOptions

        result = self.win.doc.result
        song = self.win.doc.audio_path.stem if self.win.doc.audio_path else "stemroll"
        opts = ExportOptions(folder=self.out_dir, song=song, stems=tuple(s.name for s in result.stems),
                             fmt="wav", bits="24", midi=True, overwrite=True)
        if not self.win.session.export(opts):
            self._fail("export did not start")

    @Slot(object)
    def _on_exported(self, report) -> None:
        self._say(f"exported {len(report.files)} files")
        self.win.doc.undo_stack.setClean()
        QApplication.instance().exit(0)

    @Slot(str)
    def _fail(self, reason: str) -> None:
        print(f"stemroll: smoke test failed: {reason}", file=sys.stderr, flush=True)
        QApplication.instance().exit(1)
