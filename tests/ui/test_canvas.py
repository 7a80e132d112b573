"""EditorCanvas: selecting and editing notes with the tools, one undo step per gesture, playhead,
loop, and a spectrogram whose pitch axis lines up with the piano-roll's."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from stemroll.core.display import DisplaySpectrogram, log_frequency_spectrogram  # noqa: E402
from stemroll.core.score import Note, NoteGroup, Score  # noqa: E402
from stemroll.core.spectral import STFTConfig, stft  # noqa: E402
from stemroll.ui.canvas import EditorCanvas  # noqa: E402
from stemroll.ui.document import Document  # noqa: E402


def small_score() -> Score:
    notes = [Note(0, 60, 0.0, 1.0, group_id=0), Note(1, 64, 1.0, 2.0, group_id=0),
             Note(2, 67, 2.0, 3.0, group_id=1), Note(3, 48, 0.5, 2.5, group_id=1),
             Note(4, 72, 3.0, 4.0, group_id=0)]
    return Score.from_notes(notes, [NoteGroup(0, "right hand"), NoteGroup(1, "left hand"), NoteGroup(2, "strings")])


def sine_display(freq_hz: float = 440.0, *, seconds: float = 5.0) -> DisplaySpectrogram:
    sr, n_fft, hop = 22050, 2048, 512
    t = np.arange(int(sr * seconds)) / sr
    V = np.abs(stft((0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32), STFTConfig(n_fft, hop)))
    return log_frequency_spectrogram(V, sample_rate=sr, n_fft=n_fft, hop_length=hop)


@pytest.fixture
def doc():
    d = Document()
    d.set_score(small_score())
    return d


@pytest.fixture
def canvas(qtbot, doc):
    c = EditorCanvas(doc)
    qtbot.addWidget(c)
    c.resize(1000, 700)
    c.show()
    qtbot.waitExposed(c)
    c.spec_view.setRange(xRange=(0.0, 5.0), yRange=(44.0, 76.0), padding=0.0)
    return c


def notes(doc):
    return {n.id: n for n in doc.score.notes}


def drag(canvas, points, **mods):
    """A gesture through the tools' handlers, in view coordinates (seconds, pitch)."""
    g = canvas.gestures
    g.press(*points[0], **mods)
    for pt in points[1:]:
        g.move(*pt)
    g.release(*points[-1])


# ---- selection ----------------------------------------------------------------------------

def test_click_selects_shift_click_adds_and_toggles(canvas, qtbot):
    with qtbot.waitSignal(canvas.selection_changed) as sig:
        canvas.gestures.click(0.5, 60.2)
    assert sig.args == [(0,)] and canvas.selected_ids() == (0,)
    canvas.gestures.click(1.5, 64.0, shift=True)
    assert canvas.selected_ids() == (0, 1)
    canvas.gestures.click(1.5, 64.0, shift=True)
    assert canvas.selected_ids() == (0,)
    canvas.gestures.click(1.5, 64.0)
    assert canvas.selected_ids() == (1,)
    canvas.gestures.click(4.5, 50.0)  # empty space
    assert canvas.selected_ids() == ()


def test_rubber_band_selects_the_notes_it_meets(canvas, doc):
    drag(canvas, [(0.2, 58.0), (1.0, 62.0), (2.5, 66.8)])
    assert canvas.selected_ids() == (0, 1, 2)
    assert doc.undo_stack.count() == 0  # selecting is not an edit
    drag(canvas, [(3.5, 71.0), (3.6, 73.0)], shift=True)
    assert canvas.selected_ids() == (0, 1, 2, 4)


def test_rubber_band_through_the_real_mouse(canvas, qtbot):
    vp = canvas.graphics.viewport()

    def px(t, p):
        return canvas.graphics.mapFromScene(canvas.roll_view.mapViewToScene(QPointF(t, p)))

    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, px(0.2, 58.0))
    for t, p in [(0.5, 60.0), (1.0, 62.0), (1.6, 65.0)]:
        qtbot.wait(25)  # pyqtgraph drops mouse moves closer than 10 ms
        QTest.mouseMove(vp, px(t, p))
    qtbot.wait(25)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, px(1.6, 65.0))
    assert canvas.selected_ids() == (0, 1)


def _px(canvas, view, t, p):
    return canvas.graphics.mapFromScene(view.mapViewToScene(QPointF(t, p)))


def test_real_mouse_drag_moves_a_note_in_one_undo_step(canvas, doc, qtbot):
    vp = canvas.graphics.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _px(canvas, canvas.roll_view, 2.3, 67.0))
    for t, p in [(2.4, 67.2), (2.6, 68.0), (2.8, 69.1)]:
        qtbot.wait(25)
        QTest.mouseMove(vp, _px(canvas, canvas.roll_view, t, p))
    qtbot.wait(25)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       _px(canvas, canvas.roll_view, 2.8, 69.1))
    n = doc.score.note(2)
    assert n.pitch == 69 and n.onset_s == pytest.approx(2.5, abs=2 * canvas.seconds_per_pixel())
    assert doc.undo_stack.count() == 1 and canvas.selected_ids() == (2,)


def test_hover_sets_tooltips_and_cursor(canvas, qtbot):
    vp = canvas.graphics.viewport()
    QTest.mouseMove(vp, _px(canvas, canvas.roll_view, 1.5, 64.0))
    qtbot.wait(30)
    assert canvas.roll_view.toolTip().startswith("E4, 1.00–2.00 s, group 'right hand'")
    assert canvas.roll_view.cursor().shape() == Qt.CursorShape.SizeAllCursor
    QTest.mouseMove(vp, _px(canvas, canvas.spec_view, 2.0, 69.0))
    qtbot.wait(30)
    assert canvas.spec_view.toolTip().startswith("Spectrogram: A4 ")  # (cents depend on the pixel)
    assert "(440 Hz) at 0:02.0" in canvas.spec_view.toolTip()
    key = canvas.roll_plot.getAxis("left")
    QTest.mouseMove(vp, canvas.graphics.mapFromScene(key.mapToScene(key.boundingRect().center())))
    qtbot.wait(30)
    assert "Hz" in key.toolTip() and "MIDI" in key.toolTip()


def test_real_mouse_click_in_the_ruler_seeks(canvas, qtbot):
    x = _px(canvas, canvas.spec_view, 1.75, 60.0).x()
    y = canvas.graphics.mapFromScene(canvas.ruler.sceneBoundingRect().center()).y()
    with qtbot.waitSignal(canvas.seek_requested) as sig:
        QTest.mouseClick(canvas.graphics.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, y))
    assert sig.args[0] == pytest.approx(1.75, abs=2 * canvas.seconds_per_pixel())


def test_double_click_on_empty_space_seeks(canvas, qtbot):
    with qtbot.waitSignal(canvas.seek_requested) as sig:
        canvas.gestures.click(3.5, 52.0, double=True)
    assert sig.args == [3.5]


# ---- edits: one gesture, one undo step ---------------------------------------------------------

def test_drag_moves_selected_notes_in_one_undo_step(canvas, doc):
    canvas.set_selection([0, 1])
    before = notes(doc)
    drag(canvas, [(0.5, 60.0), (0.6, 60.4), (0.8, 61.6), (1.0, 62.3)])  # pitch snaps to semitones
    after = notes(doc)
    assert doc.undo_stack.count() == 1
    for i in (0, 1):
        assert after[i].pitch == before[i].pitch + 2
        assert after[i].onset_s == pytest.approx(before[i].onset_s + 0.5)
        assert after[i].duration_s == pytest.approx(before[i].duration_s)
    assert after[2] == before[2]
    doc.undo_stack.undo()
    assert notes(doc) == before


def test_drag_on_an_unselected_note_moves_only_that_note(canvas, doc):
    canvas.set_selection([0])
    drag(canvas, [(2.5, 67.0), (2.0, 65.0)])
    assert notes(doc)[2].pitch == 65 and notes(doc)[0].pitch == 60
    assert canvas.selected_ids() == (2,)


def test_live_feedback_does_not_touch_the_score_and_escape_cancels(canvas, doc, qtbot):
    rev = doc.score.revision
    g = canvas.gestures
    g.press(0.5, 60.0)
    g.move(1.5, 65.0)
    shown = canvas.notes_item.shown()
    assert shown.pitch[list(shown.ids).index(0)] == 65  # the preview moved
    assert doc.score.note(0).pitch == 60 and doc.score.revision == rev
    canvas.graphics.setFocus()
    QTest.keyClick(canvas.graphics, Qt.Key.Key_Escape)
    g.release(1.5, 65.0)  # the rest of a cancelled drag does nothing
    assert doc.undo_stack.count() == 0 and doc.score.note(0).pitch == 60
    assert canvas.notes_item.preview is None


def test_drag_near_the_right_edge_resizes(canvas, doc):
    end = doc.score.note(1).offset_s
    spp = canvas.seconds_per_pixel()
    drag(canvas, [(end - 2 * spp, 64.0), (end + 0.3, 64.0), (end + 0.75, 64.0)])
    n = doc.score.note(1)
    assert n.onset_s == 1.0 and n.offset_s == pytest.approx(2.75, abs=3 * spp)
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.score.note(1).offset_s == 2.0


def test_draw_adds_a_note_in_the_current_group(canvas, doc):
    doc.set_current_group(2)
    canvas.set_tool("draw")
    drag(canvas, [(3.0, 55.2), (3.2, 56.0), (3.7, 56.4)])
    new = [n for n in doc.score.notes if n.id not in range(5)]
    assert len(new) == 1 and doc.undo_stack.count() == 1
    (n,) = new
    assert (n.pitch, n.group_id) == (55, 2)
    assert (n.onset_s, n.offset_s) == pytest.approx((3.0, 3.7))
    assert canvas.selected_ids() == (n.id,)
    canvas.gestures.click(4.2, 50.0)  # a click adds a short note
    assert len(doc.score) == 7 and doc.undo_stack.count() == 2


def test_brush_assigns_every_note_it_touches_in_one_step(canvas, doc):
    doc.set_current_group(2)
    canvas.set_tool("brush")
    drag(canvas, [(0.3, 60.0), (0.8, 60.0), (1.5, 64.0), (2.5, 67.0)])  # crosses notes 0, 1, 2 (not 3)
    groups = {i: n.group_id for i, n in notes(doc).items()}
    assert groups == {0: 2, 1: 2, 2: 2, 3: 1, 4: 0}
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert {i: n.group_id for i, n in notes(doc).items()} == {0: 0, 1: 0, 2: 1, 3: 1, 4: 0}


def test_delete_key_and_delete_selected(canvas, doc, qtbot):
    canvas.set_selection([1, 2])
    canvas.graphics.setFocus()
    QTest.keyClick(canvas.graphics, Qt.Key.Key_Delete)
    assert sorted(notes(doc)) == [0, 3, 4] and canvas.selected_ids() == ()
    canvas.select_all()
    canvas.delete_selected()
    assert len(doc.score) == 0 and doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert sorted(notes(doc)) == [0, 1, 2, 3, 4]


def test_assign_selected(canvas, doc):
    canvas.set_selection([0, 3])
    canvas.assign_selected(2)
    assert doc.score.note(0).group_id == 2 and doc.score.note(3).group_id == 2
    assert doc.undo_stack.count() == 1


def test_undo_redraws_from_the_score(canvas, doc):
    canvas.set_selection([0])
    drag(canvas, [(0.5, 60.0), (0.5, 63.0)])
    assert canvas.notes_item.table.pitch[list(canvas.note_table.ids).index(0)] == 63
    doc.undo_stack.undo()
    assert canvas.notes_item.table.pitch[list(canvas.note_table.ids).index(0)] == 60


# ---- playhead, loop, seek ---------------------------------------------------------------------

def test_playhead_follow_turns_the_page(canvas):
    canvas.spec_view.setXRange(0.0, 4.0, padding=0.0)
    canvas.set_playhead(3.0)
    assert canvas.spec_view.viewRange()[0] == pytest.approx([0.0, 4.0])
    canvas.set_playhead(4.5)
    x0, x1 = canvas.spec_view.viewRange()[0]
    assert x0 <= 4.5 < x1 and x0 > 4.0 and x1 - x0 == pytest.approx(4.0)
    assert canvas.roll_view.viewRange()[0] == pytest.approx([x0, x1])  # both views scroll together
    canvas.set_playhead(20.0, follow=False)
    assert canvas.spec_view.viewRange()[0] == pytest.approx([x0, x1])
    assert canvas.playhead() == 20.0


def test_alt_drag_sets_a_loop_and_ruler_click_seeks(canvas, qtbot):
    with qtbot.waitSignal(canvas.loop_changed) as sig:
        drag(canvas, [(3.0, 50.0), (2.0, 50.0), (1.0, 52.0)], alt=True)
    assert sig.args == pytest.approx([1.0, 3.0])
    assert canvas.loops[0].isVisible() and canvas.loops[1].getRegion() == pytest.approx((1.0, 3.0))
    assert canvas.doc.undo_stack.count() == 0
    with qtbot.waitSignal(canvas.seek_requested) as sig:
        canvas._on_ruler_click(2.25)
    assert sig.args == [2.25] and canvas.playhead() == 2.25
    with qtbot.waitSignal(canvas.loop_changed) as sig:
        canvas._on_ruler_drag(0.5, 1.5, "start")
        canvas._on_ruler_drag(0.5, 2.0, "move")
        canvas._on_ruler_drag(0.5, 2.5, "finish")
    assert sig.args == pytest.approx([0.5, 2.5])
    with qtbot.waitSignal(canvas.loop_changed) as sig:  # dragging an edge of the region
        canvas.loops[1].lines[1].setValue(3.0)
        canvas.loops[1].lines[1].sigPositionChangeFinished.emit(canvas.loops[1].lines[1])
    assert sig.args == pytest.approx([0.5, 3.0]) and canvas.loops[0].getRegion() == pytest.approx((0.5, 3.0))
    with qtbot.waitSignal(canvas.loop_changed) as sig:
        canvas.clear_loop()
    assert sig.args == [0.0, 0.0] and not canvas.loops[0].isVisible()


def _wheel(canvas, view, t, p, notches, modifiers=Qt.KeyboardModifier.NoModifier):
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QWheelEvent

    vp = canvas.graphics.viewport()
    pos = QPointF(_px(canvas, view, t, p))
    ev = QWheelEvent(pos, QPointF(vp.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, int(120 * notches)),
                     Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QCoreApplication.sendEvent(vp, ev)


def test_real_wheel_zooms_time_around_the_pointer_and_ctrl_wheel_zooms_pitch(canvas):
    canvas.spec_view.setRange(xRange=(0.0, 4.0), yRange=(50.0, 70.0), padding=0.0)
    _wheel(canvas, canvas.roll_view, 1.0, 60.0, 1)
    (x0, x1), (y0, y1) = canvas.spec_view.viewRange()
    assert x1 - x0 == pytest.approx(4.0 / 1.2, rel=1e-3) and (y0, y1) == pytest.approx((50.0, 70.0))
    assert (1.0 - x0) / (x1 - x0) == pytest.approx(0.25, abs=0.01)  # the time under the pointer stays put
    _wheel(canvas, canvas.spec_view, 1.0, 60.0, 1, Qt.KeyboardModifier.ControlModifier)
    (y0, y1) = canvas.roll_view.viewRange()[1]
    assert y1 - y0 == pytest.approx(20.0 / 1.2, rel=1e-3) and (60.0 - y0) / (y1 - y0) == pytest.approx(0.5, abs=0.02)
    before = canvas.spec_view.viewRange()[0]
    _wheel(canvas, canvas.roll_view, 1.0, 60.0, -1, Qt.KeyboardModifier.ShiftModifier)
    after = canvas.spec_view.viewRange()[0]
    assert after[0] > before[0] and after[1] - after[0] == pytest.approx(before[1] - before[0])


def test_wheel_zoom_and_scroll_keep_both_views_together(canvas):
    canvas.spec_view.setRange(xRange=(0.0, 4.0), yRange=(50.0, 70.0), padding=0.0)
    canvas.zoom_time(2.0, center=1.0)
    assert canvas.roll_view.viewRange()[0] == pytest.approx([0.5, 2.5])
    canvas.scroll_time(0.5)
    assert canvas.spec_view.viewRange()[0] == pytest.approx([1.5, 3.5])
    canvas.zoom_pitch(2.0, center=60.0)
    assert canvas.roll_view.viewRange()[1] == pytest.approx([55.0, 65.0])


# ---- display --------------------------------------------------------------------------------

def test_spectrogram_pitch_axis_lines_up_with_the_piano_roll(canvas, doc, qtbot):
    doc.set_display(sine_display(440.0))
    tile = canvas.spectrogram.tiles[0]
    img = tile.image  # uint8 (rows, frames)
    row = int(np.argmax(img[:, img.shape[1] // 2]))
    y = tile.mapToView(QPointF(img.shape[1] // 2 + 0.5, row + 0.5)).y()  # the row's centre in view units
    assert y == pytest.approx(69.0, abs=0.25)
    # ... and in the pixels on screen, against the piano-roll's y for pitch 69.
    canvas.spec_view.setRange(xRange=(1.0, 4.0), yRange=(57.0, 81.0), padding=0.0)
    qtbot.wait(10)
    shot = canvas.graphics.grab().toImage()
    x_px = canvas.graphics.mapFromScene(canvas.spec_view.mapViewToScene(QPointF(2.5, 69.0))).x()
    top = canvas.graphics.mapFromScene(canvas.spec_view.mapViewToScene(QPointF(2.5, 80.0))).y()
    bottom = canvas.graphics.mapFromScene(canvas.spec_view.mapViewToScene(QPointF(2.5, 58.0))).y()
    ratio = shot.devicePixelRatio()
    light = [shot.pixelColor(int(x_px * ratio), int(y * ratio)).lightness() for y in range(top, bottom)]
    y_peak = top + int(np.argmax(light))
    pitch = canvas.spec_view.mapSceneToView(canvas.graphics.mapToScene(QPoint(x_px, y_peak))).y()
    assert pitch == pytest.approx(69.0, abs=0.25)
    roll_y = canvas.roll_view.mapViewToScene(QPointF(2.5, 69.0)).y() - canvas.roll_view.sceneBoundingRect().top()
    spec_y = canvas.spec_view.mapViewToScene(QPointF(2.5, 69.0)).y() - canvas.spec_view.sceneBoundingRect().top()
    assert roll_y / canvas.roll_view.height() == pytest.approx(spec_y / canvas.spec_view.height(), abs=0.01)


def test_long_spectrogram_is_tiled_without_auto_downsampling(canvas, doc):
    db = np.full((349, 40_000), -80.0, np.float32)
    db[192, :] = 0.0
    doc.set_display(DisplaySpectrogram(db, 21.0, 4, 512 / 44100))
    tiles = canvas.spectrogram.tiles
    assert len(tiles) == 10 and all(t.image.shape[1] <= 4096 for t in tiles)
    assert not any(t.autoDownsample for t in tiles)
    assert all(t.image.dtype == np.uint8 for t in tiles)
    last = tiles[-1]
    assert last.mapToView(QPointF(last.image.shape[1], 0)).x() == pytest.approx(40_000 * 512 / 44100 - 0.5 * 512 / 44100)


def test_zoomed_out_spectrogram_shows_a_pooled_level_that_keeps_short_events(canvas, doc):
    db = np.full((349, 40_000), -80.0, np.float32)
    db[100:110, 12_345] = 0.0  # a one-frame click
    doc.set_display(DisplaySpectrogram(db, 21.0, 4, 512 / 44100))
    canvas.spec_view.setXRange(0.0, 40_000 * 512 / 44100, padding=0.0)
    layer = canvas.spectrogram
    frames_per_px = canvas.seconds_per_pixel() / layer.display.hop_s
    assert layer.level >= 1 and 1 <= frames_per_px / 4 ** layer.level < 4
    shown = [t for t in layer.levels[layer.level] if t.isVisible()]
    assert shown and not any(t.isVisible() for t in layer.tiles)
    assert max(int(t.image[100:110].max()) for t in shown) == 255  # max-pooling keeps the click
    canvas.spec_view.setXRange(10.0, 12.0, padding=0.0)
    assert layer.level == 0 and all(t.isVisible() for t in layer.tiles)


def test_contrast_swaps_the_colour_table_only(canvas, doc):
    rng = np.random.default_rng(2)
    db = np.clip(rng.normal(-40.0, 8.0, (349, 500)), -80, 0).astype(np.float32)
    doc.set_display(DisplaySpectrogram(db, 21.0, 4, 0.01, -80.0))
    tile = canvas.spectrogram.tiles[0]
    image = tile.image
    assert canvas.spectrogram.effective_floor_db() == pytest.approx(-40.0 / 0.75, abs=1.0)  # automatic
    canvas.set_db_floor(-40.0)
    lut = np.asarray(tile.lut)
    i_floor = int(round(255 * (1 - 40 / 80)))  # the uint8 index of -40 dB
    assert (lut[:i_floor + 1] == lut[0]).all() and not (lut[i_floor + 2] == lut[0]).all()
    assert tile.image is image  # not re-quantised
    canvas.set_db_floor(None)
    assert not (np.asarray(tile.lut)[i_floor + 1] == lut[0]).all()
    with pytest.raises(ValueError, match="below 0 dB"):
        canvas.set_db_floor(3.0)


def test_tooltips_name_the_note(canvas):
    text, cursor = canvas.describe(canvas.roll_view, 1.5, 64.0)
    assert text.startswith("E4, 1.00–2.00 s, group 'right hand'") and cursor == "move"
    text, _ = canvas.describe(canvas.roll_view, 4.5, 50.0)
    assert "D3" in text and "drag" in text
    assert "Spectrogram" in canvas.describe(canvas.spec_view, 1.0, 69.0)[0]


def test_unison_is_hatched_and_overlay_toggles(canvas, doc):
    from stemroll.core.edits import AddNotes

    doc.push_edit(AddNotes((Note(10, 60, 0.5, 1.5, group_id=1),)))
    assert canvas.notes_item.unisons == [(60, 0.5, 1.0, 0, 1)]
    canvas.set_overlay(True)
    assert canvas.overlay_item.isVisible()
    canvas.gestures.click(0.2, 60.0)  # the tools act in the spectrogram view when the overlay is on
    assert canvas.selected_ids() == (0,)
    canvas.set_overlay(False)
    assert not canvas.overlay_item.isVisible()


def test_set_tool_refuses_unknown_names(canvas):
    with pytest.raises(ValueError, match="unknown tool 'eraser'"):
        canvas.set_tool("eraser")


# ---- platform guard --------------------------------------------------------------------------

def test_thousands_of_graphics_item_changes_keep_none_alive(canvas, qtbot):
    """PySide6 6.12.0 on Python 3.11 loses a reference to None at every call of a Python
    ``itemChange`` override (pyqtgraph has them everywhere) and aborts the interpreter once the
    count reaches zero. About 6,000 itemChange calls per round here; a leak fails the test before
    the abort can happen (None starts with tens of thousands of references)."""
    singletons = {"None": None, "True": True, "False": False}
    start = {k: sys.getrefcount(v) for k, v in singletons.items()}
    for r in range(10):
        for k in range(1000):
            canvas.playheads[k % 2].setPos(r + k * 1e-3)
            canvas.loops[k % 2].setVisible(k % 3 == 0)
        for name, obj in singletons.items():
            lost = start[name] - sys.getrefcount(obj)
            assert lost < 1000, f"{lost} references to {name} lost after {r + 1}000 rounds of graphics-item changes"
    canvas.set_selection([0])
    qtbot.wait(1)
