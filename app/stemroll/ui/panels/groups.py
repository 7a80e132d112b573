"""Groups panel: one row per note group (colour, name, note count, solo, mute) plus the residual.

Renames, new groups, removals and seeding go through the document's undo stack as edit values.
Solo and mute act on the stems when a separation is open (``solo_mute_changed``).
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QMenu, QPushButton, QSpinBox,
                               QTableWidget, QTableWidgetItem, QToolButton, QVBoxLayout, QWidget)

from ...core import edits
from ...core.constraints import RESIDUAL_GROUP
from ...core.grouping import apply_grouping
from ...core.score import NoteGroup
from ...core.units import note_name
from ..document import Document

NAME, COUNT, SOLO, MUTE = range(4)
RESIDUAL_TIP = ("The residual: what the notes do not explain (noise, room, wrong or missing notes). "
                "It is exported as its own stem, so all stems add up to the recording.")
BUTTON_STYLE = """
QToolButton#solo, QToolButton#mute {
    background: palette(button); border: 1px solid palette(mid); border-radius: 3px;
    min-width: 20px; min-height: 18px; font-weight: bold; color: palette(button-text);
}
QToolButton#solo:checked { background: #F0E442; color: black; border-color: #a89e1e; }
QToolButton#mute:checked { background: #D55E00; color: white; border-color: #8f3f00; }
"""
SEEDS = (("MIDI tracks", "tracks", "One group per track of the MIDI file (e.g. right hand / left hand)."),
         ("MIDI channels", "channels", "One group per MIDI channel."),
         ("Split at pitch", "split", "Two groups: notes below the split pitch and notes from it up."))


def swatch(colour: str, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(colour))
    return QIcon(pix)


class _PitchSpin(QSpinBox):
    """A MIDI pitch shown as a note name (60 -> C4)."""

    def textFromValue(self, value: int) -> str:
        return note_name(value)

    def valueFromText(self, text: str) -> int:
        from ...core.grouping import parse_pitch
        try:
            return parse_pitch(text)
        except ValueError:
            return self.value()


class GroupsPanel(QWidget):
    """Signals: ``solo_mute_changed()`` (read ``soloed()`` / ``muted()``, sets of group ids; the
    residual is ``RESIDUAL_GROUP``), ``assign_requested(int)`` (assign the canvas selection),
    ``select_notes_requested(int)`` (select the group's notes: context menu, or double-click its count)."""

    solo_mute_changed = Signal()
    assign_requested = Signal(int)
    select_notes_requested = Signal(int)

    def __init__(self, doc: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self._doc = doc
        self._solo: set[int] = set()
        self._mute: set[int] = set()
        self._row_ids: list[int] = []
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["Group", "Notes", "S", "M"])
        self.table.horizontalHeaderItem(COUNT).setToolTip("How many notes the group holds")
        self.table.horizontalHeaderItem(SOLO).setToolTip("Solo: hear only the soloed stems")
        self.table.horizontalHeaderItem(MUTE).setToolTip("Mute: silence this stem")
        self.table.setToolTip("Note groups: each becomes one stem. Click a group to paint with it; "
                              "double-click its name to rename it.")
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.table.verticalHeader().hide()
        self.table.setStyleSheet(BUTTON_STYLE)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(NAME, QHeaderView.Stretch)
        for c in (COUNT, SOLO, MUTE):
            head.setSectionResizeMode(c, QHeaderView.ResizeToContents)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.table.cellDoubleClicked.connect(self._on_cell_double_clicked)
        self.table.setContextMenuPolicy(Qt.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_context_menu)

        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Add an empty group (a new stem) and make it the one you paint with")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the chosen group; its notes move to the first other group")
        self.assign_button = QPushButton("Assign selection")
        self.assign_button.setToolTip("Move the selected notes into the chosen group")
        self.add_button.clicked.connect(self.add_group)
        self.remove_button.clicked.connect(self.remove_current)
        self.assign_button.clicked.connect(lambda: self.assign_requested.emit(self._doc.current_group_id))

        self.seed_combo = QComboBox()
        for label, _, tip in SEEDS:
            self.seed_combo.addItem(label)
            self.seed_combo.setItemData(self.seed_combo.count() - 1, tip, Qt.ToolTipRole)
        self.seed_combo.setToolTip("Start the groups from the MIDI file's structure")
        self.split_spin = _PitchSpin()
        self.split_spin.setRange(1, 127)
        self.split_spin.setValue(60)
        self.split_spin.setToolTip("Split pitch: notes below it go to the first group (60 = C4, middle C)")
        self.seed_button = QPushButton("Seed groups")
        self.seed_button.setToolTip("Replace the groups by the chosen seeding (undoable)")
        self.seed_button.clicked.connect(self._on_seed_clicked)
        self.seed_combo.currentIndexChanged.connect(self._update_enabled)

        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.assign_button):
            buttons.addWidget(b)
        seed = QHBoxLayout()
        seed.addWidget(self.seed_combo, 1)
        seed.addWidget(self.split_spin)
        seed.addWidget(self.seed_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        lay.addLayout(seed)

        doc.score_changed.connect(self.refresh)
        doc.result_changed.connect(self.refresh)
        doc.current_group_changed.connect(self._select_group)
        self.refresh()

    # ---- what the player reads -------------------------------------------------------------
    def soloed(self) -> set[int]:
        return set(self._solo)

    def muted(self) -> set[int]:
        return set(self._mute)

    def set_solo(self, group_id: int, on: bool) -> None:
        (self._solo.add if on else self._solo.discard)(group_id)
        self._sync_buttons()
        self.solo_mute_changed.emit()

    def set_mute(self, group_id: int, on: bool) -> None:
        (self._mute.add if on else self._mute.discard)(group_id)
        self._sync_buttons()
        self.solo_mute_changed.emit()

    # ---- edits -------------------------------------------------------------------------------
    def add_group(self) -> int:
        score = self._doc.score
        gid = score.next_group_id()
        names = {g.name for g in score.groups}
        k = len(score.groups) + 1
        while f"group {k}" in names:
            k += 1
        self._doc.push_edit(edits.PutGroup(NoteGroup(gid, f"group {k}"), text="Add group"))
        self._doc.set_current_group(gid)
        return gid

    def remove_current(self) -> None:
        score = self._doc.score
        gid = self._doc.current_group_id
        others = [g.id for g in score.groups if g.id != gid]
        if not score.has_group(gid) or not others:
            return
        steps = []
        held = [n.id for n in score.notes_of(gid)]
        if held:
            steps.append(edits.assign_group(score, held, others[0]))
        steps.append(edits.DropGroup(gid))
        self._doc.push_edit(edits.Compound(tuple(steps), text=f"Remove group {score.group(gid).name}"))
        self._doc.set_current_group(others[0])

    def rename(self, group_id: int, name: str) -> None:
        name = name.strip()
        score = self._doc.score
        if not name or not score.has_group(group_id) or score.group(group_id).name == name:
            self.refresh()
            return
        self._doc.push_edit(edits.PutGroup(NoteGroup(group_id, name), text=f"Rename group to {name}"))

    def seed(self, spec: str) -> None:
        """Replace the grouping: 'tracks', 'channels' or 'split=PITCH' (one undo step)."""
        score = self._doc.score
        regrouped = apply_grouping(score, spec)
        self._doc.push_edit(edits.replace_grouping(score, regrouped, text=f"Seed groups from {spec}"))
        self._doc.set_current_group(self._doc.score.groups[0].id)

    def _on_seed_clicked(self) -> None:
        kind = SEEDS[self.seed_combo.currentIndex()][1]
        self.seed(f"split={self.split_spin.value()}" if kind == "split" else kind)

    # ---- table ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        doc = self._doc
        groups = list(doc.score.groups)
        counts = doc.score.group_counts()
        rows = [(g.id, g.name, str(counts.get(g.id, 0))) for g in groups]
        rows.append((RESIDUAL_GROUP, "residual", "–"))
        self._row_ids = [r[0] for r in rows]
        with QSignalBlocker(self.table):
            self.table.setRowCount(len(rows))
            for r, (gid, name, count) in enumerate(rows):
                item = QTableWidgetItem(swatch(doc.group_colour(gid)), name)
                flags = Qt.ItemIsEnabled | Qt.ItemIsSelectable
                if gid == RESIDUAL_GROUP:
                    font = item.font()
                    font.setItalic(True)
                    item.setFont(font)
                    item.setFlags(Qt.ItemIsEnabled)
                    item.setToolTip(RESIDUAL_TIP)
                else:
                    item.setFlags(flags | Qt.ItemIsEditable)
                    item.setToolTip(f"{name}: {count} notes. Double-click to rename; click to paint with it.")
                self.table.setItem(r, NAME, item)
                c = QTableWidgetItem(count)
                c.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if gid != RESIDUAL_GROUP:
                    c.setToolTip(f"Double-click to select the {count} notes of {name} (then drag them in time)")
                c.setFlags(Qt.ItemIsEnabled | (Qt.ItemIsSelectable if gid != RESIDUAL_GROUP else Qt.NoItemFlags))
                self.table.setItem(r, COUNT, c)
                for col, letter, tip in ((SOLO, "S", "Solo: hear only the soloed stems"),
                                         (MUTE, "M", "Mute: silence this stem")):
                    b = self.table.cellWidget(r, col)
                    if not isinstance(b, QToolButton):
                        b = QToolButton()
                        b.setText(letter)
                        b.setCheckable(True)
                        b.setAutoRaise(True)
                        b.setObjectName("solo" if col == SOLO else "mute")
                        b.toggled.connect(self._on_button_toggled)
                        self.table.setCellWidget(r, col, b)
                    b.setProperty("group_id", gid)
                    b.setToolTip(f"{tip} ({name})" + ("" if doc.result is not None else "; takes effect after Separate"))
        self._select_group(doc.current_group_id)
        self._sync_buttons()
        self._update_enabled()

    def _on_button_toggled(self, on: bool) -> None:
        b = self.sender()
        gid = int(b.property("group_id"))
        (self.set_solo if b.objectName() == "solo" else self.set_mute)(gid, on)

    def button(self, group_id: int, which: str) -> QToolButton:
        """The solo ('solo') or mute ('mute') button of a group's row (for tests and shortcuts)."""
        return self.table.cellWidget(self._row_ids.index(group_id), SOLO if which == "solo" else MUTE)

    def _sync_buttons(self) -> None:
        for r, gid in enumerate(self._row_ids):
            for col, on in ((SOLO, gid in self._solo), (MUTE, gid in self._mute)):
                b = self.table.cellWidget(r, col)
                if b is not None and b.isChecked() != on:
                    with QSignalBlocker(b):
                        b.setChecked(on)

    def _update_enabled(self) -> None:
        has_notes = len(self._doc.score) > 0
        self.remove_button.setEnabled(len(self._doc.score.groups) > 1)
        self.seed_button.setEnabled(has_notes)
        self.split_spin.setVisible(SEEDS[self.seed_combo.currentIndex()][1] == "split")

    def _select_group(self, group_id: int) -> None:
        if group_id in self._row_ids:
            with QSignalBlocker(self.table):
                self.table.selectRow(self._row_ids.index(group_id))

    def _on_selection_changed(self) -> None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if rows:
            gid = self._row_ids[min(rows)]
            if gid != RESIDUAL_GROUP:
                self._doc.set_current_group(gid)

    def _on_cell_double_clicked(self, row: int, column: int) -> None:
        if column == COUNT and row < len(self._row_ids) and self._row_ids[row] != RESIDUAL_GROUP:
            self.select_notes_requested.emit(self._row_ids[row])

    def context_menu(self, row: int) -> QMenu | None:
        """The menu of a group's row (None for the residual); built on request (tests read it)."""
        if not 0 <= row < len(self._row_ids) or self._row_ids[row] == RESIDUAL_GROUP:
            return None
        gid = self._row_ids[row]
        menu = QMenu(self)
        act = menu.addAction("Select notes of this group")
        act.setToolTip("Select every note of this group, to drag or nudge them in time together")
        act.triggered.connect(lambda: self.select_notes_requested.emit(gid))
        act = menu.addAction("Assign selection to this group")
        act.triggered.connect(lambda: self.assign_requested.emit(gid))
        return menu

    def _on_context_menu(self, pos) -> None:
        menu = self.context_menu(self.table.rowAt(pos.y()))
        if menu is not None:
            menu.setAttribute(Qt.WA_DeleteOnClose)
            menu.popup(self.table.viewport().mapToGlobal(pos))

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == NAME and item.row() < len(self._row_ids):
            gid = self._row_ids[item.row()]
            if gid != RESIDUAL_GROUP:
                self.rename(gid, item.text())
