"""Export dialog: which stems, file format and bit depth, the folder, and the groups as MIDI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from ...io.export import stem_filename

FORMATS = (("WAV", "wav"), ("FLAC", "flac"))
BITS = {"wav": (("24-bit", "24"), ("16-bit", "16"), ("32-bit float", "32f")),
        "flac": (("24-bit", "24"), ("16-bit", "16"))}


@dataclass(frozen=True)
class ExportOptions:
    """What the user chose: ``stems`` by name, ``fmt`` 'wav'|'flac', ``bits`` '16'|'24'|'32f'."""

    folder: Path
    song: str
    stems: tuple[str, ...]
    fmt: str = "wav"
    bits: str = "24"
    midi: bool = True
    overwrite: bool = False


class ExportDialog(QDialog):
    """Choose what to export. ``options()`` returns the choice once accepted."""

    def __init__(self, stem_names, *, folder: Path, song: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export stems")
        self.stem_list = QListWidget()
        self.stem_list.setToolTip("The stems to write; untick the ones you do not need")
        for name in stem_names:
            item = QListWidgetItem(name)
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked)
            self.stem_list.addItem(item)
        self.format_combo = QComboBox()
        self.format_combo.setToolTip("WAV opens everywhere; FLAC is lossless and about half the size")
        for text, value in FORMATS:
            self.format_combo.addItem(text, value)
        self.bits_combo = QComboBox()
        self.bits_combo.setToolTip("24-bit suits a DAW; 32-bit float never clips; 16-bit is CD quality")
        self.folder_edit = QLineEdit(str(folder))
        self.folder_edit.setToolTip("The folder the stems are written to (created if needed)")
        browse = QPushButton("Browse…")
        browse.setToolTip("Choose the folder")
        browse.clicked.connect(self._browse)
        self.song_edit = QLineEdit(song)
        self.song_edit.setToolTip("Files are named '<song> - <group>.wav'")
        self.midi_check = QCheckBox("Also write the groups as a MIDI file")
        self.midi_check.setChecked(True)
        self.midi_check.setToolTip("One MIDI track per group, to re-import the split score in a DAW")
        self.overwrite_check = QCheckBox("Overwrite files that exist")
        self.overwrite_check.setToolTip("Without this, exporting into a folder that already holds these stems stops")
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        self.preview.setStyleSheet("color: palette(mid);")
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Export")
        self.buttons.button(QDialogButtonBox.Ok).setToolTip("Write the chosen stems")
        self.buttons.button(QDialogButtonBox.Cancel).setToolTip("Close without writing anything")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Stems", self.stem_list)
        form.addRow("Format", self.format_combo)
        form.addRow("Bit depth", self.bits_combo)
        form.addRow("Song name", self.song_edit)
        form.addRow("Folder", folder_row)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.midi_check)
        lay.addWidget(self.overwrite_check)
        lay.addWidget(self.preview)
        lay.addWidget(self.buttons)
        self.format_combo.currentIndexChanged.connect(self._fill_bits)
        for sig in (self.bits_combo.currentIndexChanged, self.song_edit.textChanged, self.stem_list.itemChanged):
            sig.connect(self._update)
        self._fill_bits()
        self.resize(460, 420)

    def _fill_bits(self) -> None:
        fmt = self.format_combo.currentData()
        keep = self.bits_combo.currentData()
        self.bits_combo.clear()
        for text, value in BITS[fmt]:
            self.bits_combo.addItem(text, value)
        self.bits_combo.setCurrentIndex(max(0, self.bits_combo.findData(keep)))
        self._update()

    def _update(self, *_args) -> None:
        chosen = self.chosen_stems()
        ok = bool(chosen) and bool(self.song_edit.text().strip())
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(ok)
        if chosen:
            example = stem_filename(self.song_edit.text().strip() or "song", chosen[0], self.format_combo.currentData())
            self.preview.setText(f"{len(chosen)} files like “{example}”, plus stems.json")
        else:
            self.preview.setText("Tick at least one stem.")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export stems to", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def chosen_stems(self) -> tuple[str, ...]:
        return tuple(self.stem_list.item(i).text() for i in range(self.stem_list.count())
                     if self.stem_list.item(i).checkState() == Qt.Checked)

    def options(self) -> ExportOptions:
        return ExportOptions(Path(self.folder_edit.text().strip() or "."), self.song_edit.text().strip() or "song",
                             self.chosen_stems(), self.format_combo.currentData(), self.bits_combo.currentData(),
                             self.midi_check.isChecked(), self.overwrite_check.isChecked())
