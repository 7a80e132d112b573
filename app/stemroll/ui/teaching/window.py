"""The "Decomposition" window: V ≈ W H happening live, for a class.

It observes the editor's ``Document`` (audio, score, groups, parameters) and never changes it.
Wiring only: the matrices (``views``), the loss curves (``curves``), the controls (``controls``)
and one run at a time (``controller``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from .controller import RunController
from .controls import ControlBar
from .curves import CurvesPlot
from .export import save_png, write_costs_csv
from .link import TimeLink
from .presentation import is_presentation_mode, set_presentation_mode
from .problem import DEFAULT_EXCERPT_S, take_excerpt
from .readout import legend_html, readout_html
from .render import Prepared
from .runner import Frame, RunSummary
from .views import MatrixViews

DOC_DEBOUNCE_MS = 250  # a burst of score edits (painting notes) re-prepares once


class TeachingWindow(QMainWindow):
    """The lesson's window for ``doc``; ``canvas`` (the editor's ``EditorCanvas``, optional) lends
    its time axis (the views can follow it) and its visible range and loop as excerpts."""

    def __init__(self, doc, *, canvas=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc, self.canvas = doc, canvas
        self.setWindowTitle("Decomposition — V ≈ W H")
        self.controller = RunController(self)
        self.views = MatrixViews()
        self.curves = CurvesPlot()
        self.controls = ControlBar(has_editor=canvas is not None, iterations=max(doc.params.iterations, 100),
                                   divergence=doc.params.divergence)
        self.time_link: TimeLink | None = None
        self.prepared: Prepared | None = None
        self.last_frame: Frame | None = None
        self.summary: RunSummary | None = None
        self.message = QLabel()
        self.hover = QLabel()
        self.statusBar().addWidget(self.hover, 1)
        self.statusBar().addPermanentWidget(self.message)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.views)
        split.addWidget(self.curves)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.controls)
        lay.addWidget(split, 1)
        self.setCentralWidget(central)
        self.resize(1440, 900)
        self._setup_timer = QTimer(self, singleShot=True, interval=DOC_DEBOUNCE_MS)
        self._setup_timer.timeout.connect(self._on_setup_settled)
        self._build_actions()
        self._connect()
        self.follow_action.setChecked(canvas is not None)
        self.controls.set_state("idle")
        QTimer.singleShot(0, self, self.reset)

    # ---- actions and menus ----------------------------------------------------------------------
    def _action(self, text: str, tip: str, slot, shortcut=None, *, checkable: bool = False) -> QAction:
        a = QAction(text, self)
        a.setStatusTip(tip)
        a.setToolTip(tip)
        a.setCheckable(checkable)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        (a.toggled if checkable else a.triggered).connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        A = self._action
        v = self.views
        self.presentation_action = A("&Presentation mode", "Large fonts and thick lines for a projector (F5)",
                                     self.set_presentation, Qt.Key.Key_F5, checkable=True)
        self.follow_action = A("&Follow the editor's time axis", "Zoom and scroll in time together with the editor",
                               self.set_follow_editor, checkable=True)
        self.follow_action.setEnabled(self.canvas is not None)
        self.toggle_action = A("Run / &pause", "Run, or pause before the next iteration", self.toggle_run, Qt.Key.Key_Space)
        self.step_action = A("&Step", "Exactly one iteration", self.step, Qt.Key.Key_Right)
        self.reset_action = A("&Reset", "Back to W0 and H0 from the score", self.reset, Qt.Key.Key_R)
        self.export_actions = {
            "window": A("Export the &window as PNG…", "Everything as on screen", lambda: self._choose_png("window")),
            "matrices": A("Export the &matrices as PNG…", "W, H, W H and V as on screen",
                          lambda: self._choose_png("matrices")),
            "W": A("Export &W as PNG…", "The templates alone", lambda: self._choose_png("W")),
            "H": A("Export &H as PNG…", "The activations alone", lambda: self._choose_png("H")),
            "WH": A("Export W H (&model) as PNG…", "The model alone", lambda: self._choose_png("WH")),
            "V": A("Export &V as PNG…", "The recording's spectrogram alone", lambda: self._choose_png("V")),
            "curves": A("Export the loss &curves as PNG…", "The loss plot alone", lambda: self._choose_png("curves")),
        }
        self.csv_action = A("Export the loss curves as &CSV…", "engine, iteration, loss, engine time", self._choose_csv)
        self.close_action = A("&Close", "Close the teaching views", self.close, QKeySequence.StandardKey.Close)
        self._targets = {"window": self, "matrices": v, "W": v.W_plot, "H": v.H_plot, "WH": v.WH_plot,
                         "V": v.V_plot, "curves": self.curves.getPlotItem()}
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addActions(list(self.export_actions.values()))
        m.addSeparator()
        m.addAction(self.csv_action)
        m.addSeparator()
        m.addAction(self.close_action)
        m = mb.addMenu("&Run")
        m.addActions([self.toggle_action, self.step_action, self.reset_action])
        m = mb.addMenu("&View")
        m.addActions([self.presentation_action, self.follow_action])

    def _connect(self) -> None:
        c, k = self.controller, self.controls
        c.prepared.connect(self._on_prepared)
        c.frame.connect(self._on_frame)
        c.finished.connect(self._on_finished)
        c.failed.connect(self._on_failed)
        c.state_changed.connect(self._on_state_changed)
        k.setup_changed.connect(self._on_setup_settled)
        k.run_clicked.connect(self.run)
        k.pause_clicked.connect(self.pause)
        k.step_clicked.connect(self.step)
        k.reset_clicked.connect(self.reset)
        k.delay_changed.connect(c.set_delay)
        k.show_changed.connect(c.set_show)
        k.x_mode_changed.connect(self.curves.set_x_mode)
        k.excerpt_chosen.connect(self.choose_excerpt)
        self.views.hovered.connect(self.hover.setText)
        for sig in (self.doc.score_changed, self.doc.audio_changed, self.doc.params_changed):
            sig.connect(self._on_doc_changed)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_about_to_quit)

    # ---- commands ---------------------------------------------------------------------------------
    def reset(self, start: str | None = None) -> bool:
        """Prepare a fresh run of the current setup; ``start`` 'run' or 'step' begins it at once."""
        self._setup_timer.stop()
        doc = self.doc
        self.controller.stop()
        self.curves.clear_curves()
        self.curves.set_divergence(self.controls.divergence.currentData())
        self.last_frame = self.summary = None
        if doc.audio is None:
            self.show_message("Open a recording and its score in the editor first")
            return False
        t0, t1 = self.controls.time_range()
        try:
            ex = take_excerpt(doc.audio, doc.score, doc.params, t0_s=t0, t1_s=t1)
        except ValueError as e:
            self.show_message(f"Excerpt: {e}")
            return False
        if ex.duration_s > 60:
            self.show_message(f"A {ex.duration_s:.0f} s excerpt: expect slower updates (a shorter one stays live)")
        self.controller.arm(ex, self.controls.options(tol=doc.params.tol), start=start or None)
        return True

    def run(self) -> None:
        if self.controller.state in ("idle", "finished", "failed"):
            self.reset("run")
        else:
            self.controller.run()

    def pause(self) -> None:
        self.controller.pause()

    def toggle_run(self) -> None:
        self.pause() if self.controller.state == "running" else self.run()

    def step(self) -> None:
        if self.controller.state in ("idle", "finished", "failed"):
            self.reset("step")
        else:
            self.controller.step()

    def choose_excerpt(self, key: str) -> None:
        """Set the excerpt to 'first', 'visible', 'loop', 'whole' (or leave a 'custom' one)."""
        doc, canvas = self.doc, self.canvas
        end = doc.audio.duration_s if doc.audio is not None else DEFAULT_EXCERPT_S
        ranges = {"first": (0.0, min(DEFAULT_EXCERPT_S, end)), "whole": (0.0, end)}
        if canvas is not None:
            ranges["visible"] = tuple(max(0.0, v) for v in canvas.spec_view.viewRange()[0])
            loop = canvas.loop() if callable(canvas.loop) else canvas.loop
            ranges["loop"] = loop if loop[1] > loop[0] else None
        r = ranges.get(key)
        if r is None:
            if key == "loop":
                self.show_message("The editor has no loop: drag on its time ruler to set one")
            return
        self.controls.set_time_range(r[0], r[1], key=key)

    def set_follow_editor(self, on: bool) -> None:
        """Share the time range with the editor's views (both ways), or fit it to the excerpt."""
        if on and self.canvas is not None:
            if self.time_link is None:
                self.time_link = TimeLink(self.canvas.spec_view, self.views.time_view, self)
        else:
            if self.time_link is not None:
                self.time_link.unlink()
                self.time_link = None
            if self.prepared is not None:
                L = self.prepared.layout
                self.views.time_view.setXRange(L.t0_s, L.t0_s + L.duration_s, padding=0)

    def set_presentation(self, on: bool) -> None:
        """Projector mode (F5): large fonts and thick lines; the setup row hides (the numbers
        panel names the loss and the engines)."""
        set_presentation_mode(self, on)
        self.controls.set_compact(on)
        self.views.sync_axes()
        if self.presentation_action.isChecked() != on:
            self.presentation_action.setChecked(on)

    @property
    def presentation(self) -> bool:
        return is_presentation_mode(self)

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    # ---- exports -----------------------------------------------------------------------------------
    def export_png(self, what: str, path) -> Path:
        """Save view ``what`` ('window', 'matrices', 'W', 'H', 'WH', 'V', 'curves') as PNG."""
        if what not in self._targets:
            raise ValueError(f"unknown view '{what}': choose one of {', '.join(self._targets)}")
        return save_png(self._targets[what], path)

    def export_csv(self, path) -> Path:
        """Write every loss point so far (see ``export.write_costs_csv``)."""
        return write_costs_csv(path, self.curves.as_rows(), divergence=self.curves.divergence)

    def _default_name(self, suffix: str) -> str:
        base = self.doc.audio_path.stem if self.doc.audio_path else "lesson"
        folder = self.doc.audio_path.parent if self.doc.audio_path else Path.home()
        return str(folder / f"{base} - {suffix}")

    def _choose_png(self, what: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export as PNG", self._default_name(f"{what}.png"),
                                              "PNG image (*.png)")
        if path:
            self._report(lambda: self.export_png(what, path))

    def _choose_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the loss curves", self._default_name("loss.csv"),
                                              "CSV (*.csv)")
        if path:
            self._report(lambda: self.export_csv(path))

    def _report(self, do) -> None:
        try:
            self.show_message(f"Wrote {do().name}")
        except OSError as e:
            QMessageBox.warning(self, "Export", str(e))

    # ---- reports from the run -------------------------------------------------------------------------
    @Slot(object)
    def _on_prepared(self, prep: Prepared) -> None:
        self.prepared = prep
        L = prep.layout
        colours = [self.doc.group_colour(g) for g in L.group_ids]
        following = self.follow_action.isChecked()
        self.views.set_prepared(prep, colours, fit_time=not following)
        self.views.set_legend(legend_html(L, self.doc.group_colour))
        self.views.set_readout(readout_html(prep, None, self.controller.state))
        if L.K and not any(k != "residual" for k in L.kinds):
            self.show_message("No notes in this excerpt: only the free (residual) components")

    @Slot(object)
    def _on_frame(self, frame: Frame) -> None:
        self.last_frame = frame
        n_curves = len(self.curves.curves)
        self.curves.set_curves(frame.costs, frame.times)
        if len(self.curves.curves) != n_curves and self.presentation:
            set_presentation_mode(self, True)  # scale the new curve and legend entry
        shown = self.views.matrices
        if frame.matrices is not None:
            self.views.set_matrices(frame.matrices)
        elif shown is not None and shown.engine not in ("start", self.controller.show) and self.prepared:
            self.views.set_matrices(self.prepared.start)  # the engine now shown has not drawn yet
        if self.prepared is not None:
            self.views.set_readout(readout_html(self.prepared, frame, self.controller.state))

    @Slot(object)
    def _on_finished(self, summary: RunSummary) -> None:
        self.summary = summary
        if self.prepared is not None and self.last_frame is not None:
            self.views.set_readout(readout_html(self.prepared, self.last_frame, "finished"))

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.show_message(f"The run failed: {message}")

    @Slot(str)
    def _on_state_changed(self, state: str) -> None:
        self.controls.set_state(state)
        if self.prepared is not None and state in ("running", "paused", "ready"):
            self.views.set_readout(readout_html(self.prepared, self.last_frame, state))

    def _on_setup_settled(self) -> None:
        was_running = self.controller.state == "running"
        self.reset("run" if was_running else None)

    def _on_doc_changed(self) -> None:
        if self.controller.state in ("running", "paused"):
            self.show_message("The score or recording changed: press Reset to factorise it")
        else:
            self._setup_timer.start()

    # ---- closing -------------------------------------------------------------------------------------------
    @Slot()
    def _on_about_to_quit(self) -> None:
        self.controller.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self._setup_timer.stop()
        self.controller.shutdown()
        if self.time_link is not None:
            self.time_link.unlink()
            self.time_link = None
        event.accept()

