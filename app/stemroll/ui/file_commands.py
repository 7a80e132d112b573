"""File commands of the main window: choosers, saving, export, Open Recent and the unsaved-changes prompt.

A mixin of ``MainWindow`` (which provides ``doc``, ``session``, ``recent_menu`` and ``show_error``), kept
apart so the window module stays a list of connections.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from .panels.export_dialog import ExportDialog
from .session import classify

AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.mp3 *.aif *.aiff);;All files (*)"
MIDI_FILTER = "MIDI (*.mid *.midi);;All files (*)"
PROJECT_FILTER = "Stemroll project (*.stemroll)"


class FileCommands:
    """Open / import / save / export, as the File menu and the close prompt need them."""

    def _start_folder(self) -> str:
        for p in (self.doc.project_path, self.doc.audio_path, self.doc.midi_path):
            if p is not None:
                return str(p.parent)
        return str(Path.home())

    def choose_audio(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open audio", self._start_folder(), AUDIO_FILTER)
        if path:
            self.session.open_paths([path])

    def choose_midi(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import MIDI", self._start_folder(), MIDI_FILTER)
        if path and self.maybe_save():
            self.session.open_paths([path])

    def choose_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", self._start_folder(), PROJECT_FILTER)
        if path and self.maybe_save():
            self.session.open_project(Path(path))

    def open_paths(self, paths) -> bool:
        """Open files as given on the command line or dropped: asks first if edits would be lost."""
        audio, midi, project, _ = classify(paths)
        if (midi or project) and not self.maybe_save():
            return False
        return self.session.open_paths(paths)

    def open_demo(self) -> bool:
        return self.maybe_save() and self.session.open_demo()

    def save(self) -> bool:
        if self.doc.project_path is None:
            return self.save_as()
        return self.session.save_project()

    def save_as(self) -> bool:
        start = self.doc.project_path or Path(self._start_folder()) / (
            (self.doc.audio_path or self.doc.midi_path or Path("untitled")).stem + ".stemroll")
        path, _ = QFileDialog.getSaveFileName(self, "Save project", str(start), PROJECT_FILTER)
        return bool(path) and self.session.save_project(Path(path))

    def choose_export(self) -> None:
        result = self.doc.result
        if result is None:
            return
        base = self.doc.audio_path or self.doc.project_path or Path.home() / "stems"
        song = base.stem
        dlg = ExportDialog([s.name for s in result.stems], folder=base.parent / f"{song} stems", song=song, parent=self)
        if dlg.exec() == ExportDialog.Accepted:
            self.session.export(dlg.options())

    def offer_separation_to_files(self, text: str) -> None:
        """The stems would not fit in memory: offer to write them straight to files (non-blocking box;
        its 'Separate to files…' button asks for the folder and starts)."""
        box = QMessageBox(QMessageBox.Question, "Separate to files", text, QMessageBox.Cancel, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        self.files_button = box.addButton("Separate to files…", QMessageBox.AcceptRole)
        box.setDefaultButton(self.files_button)
        box.buttonClicked.connect(self._on_files_offer_clicked)
        self.files_offer = box
        box.open()

    def _on_files_offer_clicked(self, button) -> None:
        if button is self.files_button:
            self.choose_stems_folder()

    def choose_stems_folder(self) -> bool:
        """Ask for a folder and separate straight to files there, as 32-bit float WAV (nothing can
        clip, and there is no export dialog on this route to choose a PCM depth)."""
        base = self.doc.audio_path or self.doc.project_path or Path.home() / "stems"
        folder = self.ask_folder("Folder for the stems", str(base.parent))
        return bool(folder) and self.session.separate_to_folder(Path(folder), bits="32f")

    def ask_folder(self, title: str, start: str) -> str:
        """A folder the user chooses ('' when cancelled); tests replace it."""
        return QFileDialog.getExistingDirectory(self, title, start)

    def _on_exported(self, report) -> None:
        if report.warnings:
            self.show_error("Exported, with warnings:\n" + "\n".join(report.warnings))

    def choose_export_midi(self) -> None:
        start = Path(self._start_folder()) / ((self.doc.audio_path or self.doc.midi_path or Path("song")).stem
                                             + " - groups.mid")
        path, _ = QFileDialog.getSaveFileName(self, "Export groups as MIDI", str(start), MIDI_FILTER)
        if path:
            self.session.export_midi(Path(path))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        items = self.session.recent()
        for entry in items:
            a = self.recent_menu.addAction(" + ".join(Path(p).name for p in entry))
            a.setToolTip("\n".join(entry))
            a.triggered.connect(lambda _=False, e=entry: self.open_paths(e))
        self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("Clear list", self.session.clear_recent)
        clear.setEnabled(bool(items))
        self.recent_menu.setEnabled(True)

    def _ask_unsaved(self) -> QMessageBox.StandardButton:
        return QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.doc.title} before closing it?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)

    def maybe_save(self) -> bool:
        """True when it is fine to drop the open document (saved, discarded, or nothing to save)."""
        if not self.doc.dirty:
            return True
        answer = self.ask_unsaved()
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard
