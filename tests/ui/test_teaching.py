"""Teaching views: step mode, live matrices, comparison, exports, presentation mode, clean shutdown."""

from __future__ import annotations

import csv
import threading
import time

import numpy as np
import pyqtgraph as pg
import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from stemroll.core.constraints import build_constraints
from stemroll.core.nae import NAEStep, nae_steps
from stemroll.core.nmf import cost, scale_activations
from stemroll.core.params import SeparationParams
from stemroll.core.separation import resolve_stft
from stemroll.core.spectral import magnitude_mono, stft_multi
from stemroll.io.audio import Audio
from stemroll.ui.document import Document
from stemroll.ui.teaching import TeachingWindow, make_teaching_action, open_teaching_window, set_presentation_mode
from stemroll.ui.teaching.problem import PitchMap, build_problem, clip_notes, take_excerpt
from stemroll.ui.teaching.render import Prepared
from stemroll.ui.teaching.runner import Gate, RunOptions, RunSummary, teaching_steps
from tests.material import synth, two_hand_score

RATE = 22050


@pytest.fixture(scope="module")
def material():
    score = two_hand_score(4)
    return score, synth(score.notes, sample_rate=RATE)


@pytest.fixture
def doc(material):
    score, y = material
    d = Document()
    d.set_score(score.copy())
    d.set_audio(Audio(y[None].copy(), RATE))
    return d


def wait_ready(qtbot, win, engines=None, timeout=20000):
    qtbot.waitUntil(lambda: win.controller.state == "ready" and win.prepared is not None
                    and (engines is None or win.prepared.engines == engines), timeout=timeout)


@pytest.fixture
def win(qtbot, doc):
    w = TeachingWindow(doc)
    qtbot.addWidget(w)
    w.controls.iterations.setValue(25)
    w.show()
    qtbot.waitExposed(w)
    wait_ready(qtbot, w)
    yield w
    w.close()


def n_costs(win, engine="nmf") -> int:
    return len(win.last_frame.costs.get(engine, ())) if win.last_frame is not None else 0


def image(win, name) -> np.ndarray:
    return np.array(win.views.images[name].image, copy=True)


# ---- the engine's live model and the problem ------------------------------------------------------------

def test_nae_steps_carry_the_model_whose_cost_they_report(material):
    score, y = material
    ex = take_excerpt(Audio(y[None], RATE), score, SeparationParams(), t0_s=0.0, t1_s=4.0)
    p = build_problem(ex)
    for rule in ("mu", "pgd"):
        gen = nae_steps(p.V, p.W0, p.H0, iterations=6, tol=0, rule=rule)
        for step in gen:
            assert isinstance(step, NAEStep)
            assert step.W.shape == p.W0.shape and step.H.shape == p.H0.shape
            assert cost(p.V, step.W @ step.H, "kl") == pytest.approx(step.cost, rel=1e-4)
            assert np.all(step.H[p.H0 == 0] == 0)


def test_problem_is_built_as_the_separation_builds_it(material):
    score, y = material
    params = SeparationParams()
    whole = build_problem(take_excerpt(Audio(y[None], RATE), score, params, t0_s=0.0, t1_s=100.0))
    cfg = resolve_stft(RATE, params)
    V = magnitude_mono(stft_multi(y[None], cfg))
    cons = build_constraints(score.notes, score.groups, n_frames=V.shape[1], sample_rate=RATE, cfg=cfg,
                             params=params, rng=np.random.default_rng(params.seed))
    np.testing.assert_allclose(whole.V, V, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(whole.W0, cons.W0)
    np.testing.assert_allclose(whole.H0, scale_activations(V, cons.W0, cons.H0), rtol=1e-6)
    assert [c.label for c in whole.components] == [c.label for c in cons.components]

    part = build_problem(take_excerpt(Audio(y[None], RATE), score, params, t0_s=2.0, t1_s=5.0))
    assert part.t0_s == 2.0 and part.n_frames == cfg.n_frames(3 * RATE)
    clipped = clip_notes(score.notes, 2.0, 5.0)
    assert clipped and all(0.0 <= n.onset_s < n.offset_s <= 3.0 for n in clipped)
    assert len(clipped) == sum(1 for n in score.notes if n.offset_s > 2.0 and n.onset_s < 5.0)


@pytest.mark.parametrize("engine", ["nmf", "nae", "nae-pgd"])
def test_live_matrices_are_the_model_of_the_reported_loss(material, engine):
    score, y = material
    ex = take_excerpt(Audio(y[None], RATE), score, SeparationParams(), t0_s=0.0, t1_s=4.0)
    V = build_problem(ex).V
    gen = teaching_steps(ex, RunOptions((engine,), "kl", 8, 0.0), Gate(running=True), frame_s=0.0)
    assert isinstance(next(gen), Prepared)
    frames = []
    for item in gen:
        if isinstance(item, RunSummary):
            break
        frames.append(item)
    gen.close()
    live = [f for f in frames if f.matrices is not None and not f.done[engine]]
    assert [f.matrices.iteration for f in live] == list(range(8)), "a frame without the live model"
    for f in live:
        m = f.matrices
        assert cost(V, m.W @ m.H, "kl") == pytest.approx(f.costs[engine][m.iteration], rel=1e-4)
    assert frames[-1].done[engine] and frames[-1].matrices.iteration == len(frames[-1].costs[engine]) - 1


def test_gate_grants_exactly_the_steps_asked_and_cancel_wakes_it():
    gate = Gate()
    gate.step(2)
    assert gate.acquire() is True and gate.acquire() is True
    got = []
    t = threading.Thread(target=lambda: got.append(gate.acquire()))
    t.start()
    time.sleep(0.1)
    assert not got, "a third iteration ran without a click"
    gate.cancel()
    t.join(2)
    assert got == [False]


# ---- the window ---------------------------------------------------------------------------------------

def test_step_mode_advances_exactly_one_iteration_per_click(qtbot, win):
    assert win.prepared.engines == ("nmf",)
    assert not win.curves.costs
    for clicks in (1, 2, 3):
        qtbot.mouseClick(win.controls.step, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: n_costs(win) == clicks, timeout=10000)
        qtbot.wait(150)  # nothing more arrives: the engine waits for the next click
        assert n_costs(win) == clicks
        x, y = win.curves.curves["nmf"].getData()
        assert len(x) == clicks and list(x) == list(range(clicks))
    assert win.controller.state == "paused"
    c = win.curves.costs["nmf"]
    assert c[2] < c[1] < c[0]


def test_run_updates_matrices_and_cost_plot_live(qtbot, win):
    win.controls.engine.setCurrentIndex(win.controls.engine.findData("nae"))
    wait_ready(qtbot, win, ("nae",))
    start = {k: image(win, k) for k in ("W", "H", "WH", "V")}
    seen = []
    win.controller.frame.connect(lambda f: seen.append(f.matrices.iteration if f.matrices is not None else None))
    win.controls.delay.setValue(50)  # slow motion (at least a frame's time): every iteration is drawn
    qtbot.mouseClick(win.controls.run, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.controller.state == "finished", timeout=30000)
    assert len(seen) >= 10 and seen == list(range(len(seen))), "the matrices were not redrawn at each iteration"
    for k in ("W", "H", "WH"):
        assert not np.array_equal(image(win, k), start[k]), f"{k} did not change"
    assert np.array_equal(image(win, "V"), start["V"])
    result = win.summary.results["nae"]
    np.testing.assert_array_equal(win.views.matrices.W, result.W)
    x, y = win.curves.curves["nae"].getData()
    assert len(x) == len(result.costs) >= 2 and y[-1] < y[0]


def test_nmf_run_ends_on_its_result(qtbot, win):
    start = image(win, "WH")
    win.run()
    qtbot.waitUntil(lambda: win.controller.state == "finished", timeout=30000)
    res = win.summary.results["nmf"]
    np.testing.assert_array_equal(win.views.matrices.H, res.H)
    assert not np.array_equal(image(win, "WH"), start)
    assert win.curves.costs["nmf"] == pytest.approx(res.costs)


def test_comparison_run_holds_two_curves(qtbot, win):
    win.controls.compare.setChecked(True)
    wait_ready(qtbot, win, ("nmf", "nae"))
    win.run()
    qtbot.waitUntil(lambda: win.controller.state == "finished", timeout=30000)
    assert set(win.curves.curves) == {"nmf", "nae"}
    for name in ("nmf", "nae"):
        x, y = win.curves.curves[name].getData()
        assert len(x) >= 2 and len(x) == len(win.summary.costs[name])
    win.controls.x_mode.setCurrentIndex(win.controls.x_mode.findData("time"))
    for name in ("nmf", "nae"):
        x, _ = win.curves.curves[name].getData()
        assert np.all(np.diff(x) >= 0) and x[-1] > 0
        np.testing.assert_allclose(x, win.summary.times[name])
    # After the run, either engine's result can be shown.
    assert win.views.matrices.engine == "nmf"
    win.controls.show_engine.setCurrentIndex(win.controls.show_engine.findData("nae"))
    qtbot.waitUntil(lambda: win.views.matrices.engine == "nae", timeout=10000)
    np.testing.assert_array_equal(win.views.matrices.H, win.summary.results["nae"].H)
    assert win.controller.state == "finished"


def test_csv_export_writes_every_cost(qtbot, win, tmp_path):
    for clicks in (1, 2, 3, 4):
        win.step()
        qtbot.waitUntil(lambda: n_costs(win) == clicks, timeout=10000)
    path = win.export_csv(tmp_path / "loss.csv")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["iteration"] for r in rows] == ["0", "1", "2", "3"]
    assert [float(r["loss"]) for r in rows] == list(win.last_frame.costs["nmf"])
    assert all(r["engine"] == "NMF" and r["divergence"] == "kl" for r in rows)
    assert [float(r["engine_time_s"]) for r in rows] == pytest.approx(win.last_frame.times["nmf"], abs=1e-6)


@pytest.mark.parametrize("what", ["window", "matrices", "W", "H", "WH", "V", "curves"])
def test_png_export_writes_an_image(qtbot, win, tmp_path, what):
    win.step()
    qtbot.waitUntil(lambda: n_costs(win) == 1, timeout=10000)
    path = win.export_png(what, tmp_path / f"{what}.png")
    img = QImage(str(path))
    assert not img.isNull() and img.width() > 50 and img.height() > 50
    arr = np.array([img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)])
    assert len(np.unique(arr)) > 5, "the image is blank"


def test_presentation_mode_toggles_font_sizes(qtbot, win):
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    axis = win.views.W_plot.getAxis("left")
    before = (win.font().pointSizeF(), win.controls.run.font().pointSizeF(), axis.style["tickFont"],
              win.views.H_plot.titleLabel.opts["size"])
    qtbot.keyClick(win, Qt.Key.Key_F5)
    assert win.presentation and win.presentation_action.isChecked()
    assert win.font().pointSizeF() == pytest.approx(1.8 * before[0])
    assert win.controls.run.font().pointSizeF() == pytest.approx(1.8 * before[1])
    assert win.controls.run.font().bold()
    big = axis.style["tickFont"]
    assert big is not None and (big.pointSizeF() > 12 or big.pixelSize() > 20)
    assert float(win.views.H_plot.titleLabel.opts["size"][:-2]) == pytest.approx(1.8 * float(before[3][:-2]))
    assert not win.controls.engine.isVisible(), "the setup row stays hidden on the projector"
    win.step()  # a curve added in presentation mode is drawn thick too
    qtbot.waitUntil(lambda: n_costs(win) == 1, timeout=10000)
    assert win.curves.curves["nmf"].opts["pen"].widthF() == pytest.approx(2.5 * 1.8)
    qtbot.keyClick(win, Qt.Key.Key_F5)
    assert not win.presentation
    assert win.font().pointSizeF() == pytest.approx(before[0])
    assert win.controls.run.font().pointSizeF() == pytest.approx(before[1])
    assert win.views.H_plot.titleLabel.opts["size"] == before[3]
    assert win.controls.engine.isVisible()


def test_set_presentation_mode_scales_any_widget_tree(qtbot):
    root = QWidget()
    qtbot.addWidget(root)
    lay = QVBoxLayout(root)
    label, bold, styled, plot = QLabel("x"), QLabel("bold"), QLabel("styled"), pg.PlotWidget()
    f = bold.font()
    f.setBold(True)  # sets the weight only: the size still follows the parent
    bold.setFont(f)
    styled.setStyleSheet("color: #E69F00;")  # a style sheet stops font inheritance in Qt
    for w in (label, bold, styled, plot):
        lay.addWidget(w)
    curve = plot.plot([0, 1], [0, 1], pen=pg.mkPen("w", width=2))
    size0 = label.font().pointSizeF()
    for _ in range(3):  # toggling never drifts
        set_presentation_mode(root, True)
        for w in (label, bold, styled):
            assert w.font().pointSizeF() == pytest.approx(1.8 * size0)
        assert bold.font().bold()
        assert curve.opts["pen"].widthF() == pytest.approx(3.6)
        set_presentation_mode(root, False)
        for w in (label, bold, styled):
            assert w.font().pointSizeF() == pytest.approx(size0)
        assert bold.font().bold() and not label.font().bold()
        assert curve.opts["pen"].widthF() == pytest.approx(2.0)


def test_close_during_a_run_finishes_cleanly(qtbot, doc):
    w = TeachingWindow(doc)
    qtbot.addWidget(w)
    w.controls.iterations.setValue(5000)
    w.controls.compare.setChecked(True)
    w.show()
    wait_ready(qtbot, w, ("nmf", "nae"))
    w.run()
    qtbot.waitUntil(lambda: n_costs(w) >= 3, timeout=20000)
    assert w.controller.is_running()
    t0 = time.monotonic()
    w.close()
    assert time.monotonic() - t0 < 5.0
    assert not w.controller.is_running() and w.controller.state == "idle"


def test_reset_and_cancel_during_slow_motion(qtbot, win):
    win.controls.delay.setValue(1000)
    win.run()
    qtbot.waitUntil(lambda: n_costs(win) == 1, timeout=10000)
    t0 = time.monotonic()
    win.reset()  # the worker waits out a 1 s delay: the gate wakes it at once
    assert time.monotonic() - t0 < 0.8
    wait_ready(qtbot, win)
    assert not win.curves.costs


def test_opened_from_the_editor_follows_its_time_axis_and_closes_with_it(qtbot, doc):
    from stemroll.ui.canvas import EditorCanvas

    editor = QMainWindow()
    editor.doc = doc
    editor.canvas = EditorCanvas(doc)
    editor.setCentralWidget(editor.canvas)
    qtbot.addWidget(editor)
    editor.show()
    action = make_teaching_action(editor, doc)
    action.trigger()
    win = open_teaching_window(editor)  # the same window comes to the front
    assert win.canvas is editor.canvas and win.follow_action.isChecked()
    wait_ready(qtbot, win)
    editor.canvas.spec_view.setXRange(1.0, 3.0, padding=0)
    qtbot.waitUntil(lambda: abs(win.views.time_view.viewRange()[0][0] - 1.0) < 0.05, timeout=5000)
    win.choose_excerpt("visible")
    assert win.controls.time_range() == pytest.approx((1.0, 3.0), abs=0.05)
    win.run()
    qtbot.waitUntil(lambda: n_costs(win) >= 2, timeout=20000)
    editor.close()  # closes the teaching window, which stops its run and waits for its thread
    qtbot.waitUntil(lambda: not shiboken6.isValid(win) or not win.isVisible(), timeout=5000)


def test_pitch_map_takes_the_band_maximum_or_the_interpolation():
    rng = np.random.default_rng(3)
    n_fft, sr = 1024, 16000
    X = rng.random((n_fft // 2 + 1, 7), dtype=np.float32)
    pm = PitchMap(n_fft=n_fft, sample_rate=sr, pitch_lo=30.0, pitch_hi=110.0, rows_per_semitone=2)
    hz = lambda q: 440.0 * 2.0 ** ((q - 69.0) / 12.0)  # noqa: E731
    out = pm(X)
    assert out.shape == (pm.n_rows, 7)
    np.testing.assert_array_equal(pm.frames(np.ascontiguousarray(X.T)), out.T)
    for r in range(pm.n_rows):
        p = pm.pitch_lo + r / 2
        c = hz(p) * n_fft / sr
        f = int(np.floor(c))
        want = X[f] + (X[f + 1] - X[f]) * (c - f)
        lo, hi = int(np.ceil(hz(p - 0.25) * n_fft / sr)), int(np.floor(hz(p + 0.25) * n_fft / sr))
        if hi >= lo:
            want = np.maximum(want, X[lo: hi + 1].max(axis=0))
        np.testing.assert_allclose(out[r], want, rtol=1e-6)
