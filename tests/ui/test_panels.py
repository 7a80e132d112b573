"""Panels on their own: groups (undoable renames, add/remove, seeding, solo/mute), settings, export dialog."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractButton, QAbstractSpinBox, QCheckBox, QComboBox, QLineEdit,
                               QListWidget)

from stemroll.core.constraints import RESIDUAL_GROUP
from stemroll.core.params import SeparationParams
from stemroll.ui.document import Document
from stemroll.ui.panels.export_dialog import ExportDialog
from stemroll.ui.panels.groups import NAME, GroupsPanel
from stemroll.ui.panels.parameters import FIELDS, ParametersPanel
from tests.material import two_hand_score


@pytest.fixture
def doc():
    d = Document()
    d.set_score(two_hand_score(2))
    return d


def test_rename_is_one_undoable_step(qtbot, doc):
    panel = GroupsPanel(doc)
    qtbot.addWidget(panel)
    panel.table.item(1, NAME).setText("bass")  # as the in-place editor does
    assert doc.score.group(1).name == "bass"
    assert doc.undo_stack.count() == 1 and doc.dirty
    doc.undo_stack.undo()
    assert doc.score.group(1).name == "left hand"
    assert panel.table.item(1, NAME).text() == "left hand"
    panel.table.item(0, NAME).setText("   ")  # empty names are refused
    assert doc.score.group(0).name == "right hand" and panel.table.item(0, NAME).text() == "right hand"


def test_rows_show_counts_and_the_residual(qtbot, doc):
    panel = GroupsPanel(doc)
    qtbot.addWidget(panel)
    counts = doc.score.group_counts()
    rows = [(panel.table.item(r, 0).text(), panel.table.item(r, 1).text()) for r in range(panel.table.rowCount())]
    assert rows == [("right hand", str(counts[0])), ("left hand", str(counts[1])), ("residual", "–")]
    assert not panel.table.item(2, NAME).flags() & Qt.ItemIsEditable


def test_add_remove_and_current_group(qtbot, doc):
    panel = GroupsPanel(doc)
    qtbot.addWidget(panel)
    seen = []
    doc.current_group_changed.connect(seen.append)
    qtbot.mouseClick(panel.add_button, Qt.LeftButton)
    assert [g.name for g in doc.score.groups] == ["right hand", "left hand", "group 3"]
    assert doc.current_group_id == 2 and seen == [2]
    panel.table.selectRow(1)
    assert doc.current_group_id == 1
    held = len(doc.score.notes_of(1))
    qtbot.mouseClick(panel.remove_button, Qt.LeftButton)  # its notes move to the first other group
    assert [g.id for g in doc.score.groups] == [0, 2]
    assert len(doc.score.notes_of(0)) == len(doc.score.notes) and held > 0
    doc.undo_stack.undo()
    assert len(doc.score.notes_of(1)) == held
    panel.table.selectRow(3)  # the residual is not a group one paints with
    assert doc.current_group_id != RESIDUAL_GROUP


def test_seed_from_channels_and_split(qtbot, doc):
    panel = GroupsPanel(doc)
    qtbot.addWidget(panel)
    panel.seed_combo.setCurrentIndex(2)
    assert panel.split_spin.isVisibleTo(panel) and panel.split_spin.text() == "C4"
    panel.split_spin.setValue(67)
    assert panel.split_spin.text() == "G4"
    qtbot.mouseClick(panel.seed_button, Qt.LeftButton)
    assert all((n.pitch < 67) == (n.group_id == 0) for n in doc.score.notes)
    panel.seed("channels")
    assert [g.name for g in doc.score.groups] == ["channel 1", "channel 2"]
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert [g.name for g in doc.score.groups] == ["right hand", "left hand"]


def test_solo_and_mute_buttons(qtbot, doc):
    panel = GroupsPanel(doc)
    qtbot.addWidget(panel)
    changes = []
    panel.solo_mute_changed.connect(lambda: changes.append((panel.soloed(), panel.muted())))
    qtbot.mouseClick(panel.button(0, "solo"), Qt.LeftButton)
    qtbot.mouseClick(panel.button(RESIDUAL_GROUP, "mute"), Qt.LeftButton)
    assert changes[-1] == ({0}, {RESIDUAL_GROUP})
    panel.refresh()  # a score change keeps the buttons' state
    assert panel.button(0, "solo").isChecked() and panel.button(RESIDUAL_GROUP, "mute").isChecked()


def test_parameters_round_trip_and_tooltips(qtbot):
    panel = ParametersPanel(SeparationParams(iterations=12, divergence="euclidean", onset_tolerance_s=0.05))
    qtbot.addWidget(panel)
    got = []
    panel.params_changed.connect(got.append)
    assert panel.editors["onset_tolerance_s"].value() == 50
    assert panel.editors["divergence"].currentData() == "euclidean"
    panel.editors["tolerance_cents"].setValue(30)
    panel.editors["onset_templates"].setChecked(False)
    assert got[-1] == SeparationParams(iterations=12, divergence="euclidean", onset_tolerance_s=0.05,
                                       tolerance_cents=30.0, onset_templates=False)
    qtbot.mouseClick(panel.reset_button, Qt.LeftButton)
    assert got[-1] == SeparationParams()
    assert set(FIELDS) <= {f for f in SeparationParams.__dataclass_fields__}
    for name, w in panel.editors.items():
        assert len(w.toolTip()) > 40, name


def test_export_dialog_options(qtbot, tmp_path):
    dlg = ExportDialog(["right hand", "left hand", "residual"], folder=tmp_path / "out", song="Minuet")
    qtbot.addWidget(dlg)
    dlg.stem_list.item(2).setCheckState(Qt.Unchecked)
    dlg.format_combo.setCurrentIndex(1)  # FLAC: no 32-bit float
    assert [dlg.bits_combo.itemData(i) for i in range(dlg.bits_combo.count())] == ["24", "16"]
    assert "Minuet - right hand.flac" in dlg.preview.text()
    opts = dlg.options()
    assert (opts.folder, opts.song, opts.stems, opts.fmt, opts.bits, opts.midi) == (
        tmp_path / "out", "Minuet", ("right hand", "left hand"), "flac", "24", True)
    for i in range(3):
        dlg.stem_list.item(i).setCheckState(Qt.Unchecked)
    from PySide6.QtWidgets import QDialogButtonBox
    assert not dlg.buttons.button(QDialogButtonBox.Ok).isEnabled()


def test_every_control_in_the_window_has_a_tooltip(qtbot, window):
    missing = []
    kinds = (QAbstractButton, QAbstractSpinBox, QComboBox, QCheckBox, QLineEdit, QListWidget)
    for w in {id(w): w for k in kinds for w in window.findChildren(k)}.values():
        name = w.objectName()
        if name.startswith("qt_") or name in ("ScrollLeftButton", "ScrollRightButton"):
            continue  # Qt's own parts: spin box editors, tab scrollers, extension buttons
        if type(w.parent()).__name__ == "QDockWidget":
            continue  # the dock title bars' float/close buttons
        action = getattr(w, "defaultAction", lambda: None)()
        tip = w.toolTip() or (action.toolTip() if action is not None else "")
        if not tip.strip():
            missing.append(f"{type(w).__name__} {name!r} {getattr(w, 'text', lambda: '')()!r}")
    assert not missing, missing
    for a in window.actions():
        assert a.toolTip() and a.statusTip(), a.text()
