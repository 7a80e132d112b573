"""The editor's main window: wiring only (actions, menus, toolbars, docks, status bar).

The work happens in ``ui.session.Session`` (files, engine, export), the panels and the canvas;
this module connects them; the File commands and the close prompt live in ``ui.file_commands``.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QLabel, QMainWindow, QMessageBox, QProgressBar,
                               QWidget)

from .align_commands import AlignCommands
from .autosave import Autosaver, offer_recovery
from .canvas import EditorCanvas
from .document import Document
from .file_commands import FileCommands
from .panels.groups import GroupsPanel
from .panels.parameters import ParametersPanel
from .panels.run import RunPanel
from .panels.transport import TransportPanel
from .session import Session
from .teaching import close_teaching_window, make_teaching_action, set_presentation_mode

TOOLS = (("select", "Select", "V", "Select, move and resize notes (drag a box to select several)"),
         ("draw", "Draw", "D", "Draw new notes into the chosen group"),
         ("brush", "Paint", "B", "Paint notes into the chosen group by dragging over them"))


class MainWindow(FileCommands, QMainWindow):
    """The editor. ``settings`` holds Open Recent (tests pass their own file); ``make_player(on_stopped)``
    returns ``(player, reason)`` (default: ``stemroll.playback.Player`` when a device exists);
    ``autosave_dir`` turns on autosave and crash recovery there (``ui.autosave``; off when None)."""

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None, *, make_player=None,
                 autosave_dir=None, autosave_interval_s: float = 60.0):
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.doc = Document(self)
        self.session = Session(self.doc, self.settings, self)
        self.canvas = EditorCanvas(self.doc)
        self.groups_panel = GroupsPanel(self.doc)
        self.params_panel = ParametersPanel(self.doc.params)
        self.run_panel = RunPanel(self.doc)
        self.transport = TransportPanel(self.doc, **({"make_player": make_player} if make_player else {}))
        self.last_message: QMessageBox | None = None
        self.ask_unsaved = self._ask_unsaved  # replaced in tests: returns Save, Discard or Cancel
        self.setCentralWidget(self.canvas)
        self.setAcceptDrops(True)
        self.resize(1400, 860)
        self._build_docks()
        self._build_actions()
        self.aligner = AlignCommands(self)  # Align, doubtful notes, pins, nudges
        self._build_menus_and_toolbars()
        self._build_status_bar()
        self._connect()
        self._update_title()
        self._update_enabled()
        self.autosaver = self.recovery_box = None
        if autosave_dir is not None:
            self.autosaver = Autosaver(self.doc, autosave_dir, interval_s=autosave_interval_s, parent=self)
            self.autosaver.problem.connect(self.show_status)
            self.session.separation.finished.connect(self.autosaver.on_run_finished)
            self.autosaver.start()
        if not self.transport.available:
            self.show_status(self.transport.reason or "Playback is not available")

    # ---- layout -----------------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area, tip: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower().replace(" ", "_"))
        dock.setWidget(widget)
        dock.setToolTip(tip)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                         | QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        right = Qt.RightDockWidgetArea
        self.groups_dock = self._dock("Groups", self.groups_panel, right, "Note groups: one stem each")
        self.run_dock = self._dock("Separation", self.run_panel, right, "Run the separation and watch it converge")
        self.params_dock = self._dock("Settings", self.params_panel, right, "How the separation listens")
        self.tabifyDockWidget(self.run_dock, self.params_dock)
        self.run_dock.raise_()
        self.resizeDocks([self.groups_dock, self.run_dock], [340, 340], Qt.Horizontal)
        self.resizeDocks([self.groups_dock, self.run_dock], [250, 520], Qt.Vertical)

    def _action(self, text: str, tip: str, slot=None, shortcut=None, *, checkable: bool = False) -> QAction:
        a = QAction(text, self)
        a.setStatusTip(tip)
        if shortcut is not None:
            a.setShortcuts(shortcut) if isinstance(shortcut, list) else a.setShortcut(shortcut)
        key = a.shortcut().toString(QKeySequence.NativeText)
        a.setToolTip(f"{tip} ({key})" if key else tip)
        a.setCheckable(checkable)
        if slot is not None:
            (a.toggled if checkable else a.triggered).connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        A, K = self._action, QKeySequence
        self.open_audio_action = A("Open &audio…", "Open a recording (WAV, FLAC, OGG, MP3)", self.choose_audio, K.Open)
        self.import_midi_action = A("&Import MIDI…", "Read the score of the recording from a MIDI file",
                                    self.choose_midi, K("Ctrl+I"))
        self.open_project_action = A("Open &project…", "Open a saved Stemroll project", self.choose_project,
                                     K("Ctrl+Shift+O"))
        self.save_action = A("&Save project", "Save the notes, groups and settings", self.save, K.Save)
        self.save_as_action = A("Save project &as…", "Save the project under a new name", self.save_as, K("Ctrl+Shift+S"))
        self.export_action = A("&Export stems…", "Write the stems as audio files for a DAW", self.choose_export,
                               K("Ctrl+E"))
        self.export_midi_action = A("Export groups as &MIDI…", "Write one MIDI track per group", self.choose_export_midi)
        self.quit_action = A("&Quit", "Close Stemroll", self.close, K.Quit)
        self.undo_action = self.doc.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(K.Undo)
        self.redo_action = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([K("Ctrl+Shift+Z"), K("Ctrl+Y")])
        for a, tip in ((self.undo_action, "Undo the last edit (Ctrl+Z)"), (self.redo_action, "Redo (Ctrl+Shift+Z)")):
            a.setToolTip(tip)
            a.setStatusTip(tip)
            self.addAction(a)
        self.delete_action = A("&Delete notes", "Delete the selected notes", self.canvas.delete_selected,
                               [K(K.Delete), K(Qt.Key_Backspace)])
        self.select_all_action = A("Select &all", "Select every note", self.canvas.select_all, K.SelectAll)
        self.assign_action = A("Assign selection to &group", "Move the selected notes into the chosen group",
                               self.assign_selection, K("Ctrl+G"))
        self.tool_group = QActionGroup(self)
        self.tool_actions = {}
        for name, text, key, tip in TOOLS:
            a = A(text, tip, None, K(key), checkable=True)
            a.triggered.connect(lambda _=False, n=name: self.canvas.set_tool(n))
            self.tool_group.addAction(a)
            self.tool_actions[name] = a
        self.tool_actions["select"].setChecked(True)
        self.overlay_action = A("Notes over spectrogram", "Draw the notes on top of the spectrogram too",
                                self.canvas.set_overlay, K("O"), checkable=True)
        self.overlay_action.setChecked(True)
        self.canvas.set_overlay(True)
        self.zoom_in_action = A("Zoom &in", "Show less time, in more detail", lambda: self.canvas.zoom_time(1.5), K.ZoomIn)
        self.zoom_out_action = A("Zoom &out", "Show more time", lambda: self.canvas.zoom_time(1 / 1.5), K.ZoomOut)
        self.zoom_fit_action = A("Zoom to &fit", "Show the whole piece", self.canvas.zoom_to_fit, K("Ctrl+0"))
        self.separate_action = A("&Separate", "Split the recording into one stem per group", self.session.separate,
                                 K("Ctrl+R"))
        self.cancel_action = A("&Cancel", "Stop the running separation or alignment", self.session.cancel,
                               K("Ctrl+."))
        t = self.transport
        self.play_action = A("&Play / pause", "Play or pause from the playhead", t.toggle_play, K(Qt.Key_Space))
        self.stop_action = A("S&top", "Stop and return to where playing started", t.stop, None)
        self.home_action = A("Go to &start", "Move the playhead to the start", t.go_home, K(Qt.Key_Home))
        self.end_action = A("Go to &end", "Move the playhead to the end", t.go_end, K(Qt.Key_End))
        self.teaching_action = make_teaching_action(self, self.doc)
        self.addAction(self.teaching_action)
        self.presentation_action = A("&Presentation mode", "Large fonts and thick lines for a projector",
                                     lambda on: set_presentation_mode(self, on), K(Qt.Key_F5), checkable=True)
        self.demo_action = A("Open &demo", "Open the bundled demo piece (a minuet for piano)", self.open_demo)
        self.about_action = A("&About Stemroll", "Version and credits", self.about)

    def _build_menus_and_toolbars(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addActions([self.open_audio_action, self.import_midi_action, self.open_project_action])
        self.recent_menu = m.addMenu("Open &recent")
        self.recent_menu.setToolTipsVisible(True)
        m.addSeparator()
        m.addActions([self.save_action, self.save_as_action])
        m.addSeparator()
        m.addActions([self.export_action, self.export_midi_action])
        m.addSeparator()
        m.addAction(self.quit_action)
        m = mb.addMenu("&Edit")
        m.addActions([self.undo_action, self.redo_action])
        m.addSeparator()
        m.addActions([self.select_all_action, self.delete_action, self.assign_action, *self.aligner.edit_actions])
        m = mb.addMenu("&View")
        m.addActions(list(self.tool_actions.values()))
        m.addSeparator()
        m.addActions([self.overlay_action, self.zoom_in_action, self.zoom_out_action, self.zoom_fit_action])
        m.addActions(self.aligner.view_actions)
        m.addSeparator()
        for d in (self.groups_dock, self.run_dock, self.params_dock):
            m.addAction(d.toggleViewAction())
        m.addSeparator()
        m.addActions([self.teaching_action, self.presentation_action])
        m = mb.addMenu("&Separation")
        m.addActions([self.separate_action, self.cancel_action])
        m.addSeparator()
        m.addActions(self.aligner.separation_actions)
        m = mb.addMenu("&Playback")
        m.addActions([self.play_action, self.stop_action, self.home_action, self.end_action])
        m = mb.addMenu("&Help")
        m.addActions([self.demo_action, self.about_action])

        short = {self.open_audio_action: "Open audio", self.import_midi_action: "Import MIDI",
                 self.save_action: "Save", self.undo_action: "Undo", self.redo_action: "Redo",
                 self.overlay_action: "Overlay", self.zoom_out_action: "−", self.zoom_in_action: "+",
                 self.zoom_fit_action: "Fit", self.separate_action: "Separate", self.export_action: "Export"}
        for a, text in short.items():
            a.setIconText(text)
        tb = self.addToolBar("Edit")
        tb.setObjectName("edit_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonTextOnly)
        groups = ([self.open_audio_action, self.import_midi_action, self.save_action],
                  [self.undo_action, self.redo_action],
                  [*self.tool_actions.values(), self.overlay_action],
                  [self.zoom_out_action, self.zoom_in_action, self.zoom_fit_action],
                  [self.aligner.align_action, self.separate_action, self.export_action])
        for i, actions in enumerate(groups):
            if i:
                tb.addSeparator()
            tb.addActions(actions)
        sep = tb.widgetForAction(self.separate_action)
        sep.setStyleSheet("font-weight: bold;")
        tb = self.addToolBar("Transport")
        tb.setObjectName("transport_toolbar")
        tb.addWidget(self.transport)
        self._fill_recent()

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 100)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumWidth(140)
        self.busy_bar.setToolTip("Opening the file…")
        self.busy_bar.hide()
        self.info_label = QLabel()
        self.info_label.setToolTip("The recording and the score that are open")
        sb.addPermanentWidget(self.busy_bar)
        sb.addPermanentWidget(self.info_label)

    # ---- signals ------------------------------------------------------------------------------------
    def _connect(self) -> None:
        doc, s, run, t = self.doc, self.session, self.run_panel, self.transport
        doc.dirty_changed.connect(self.setWindowModified)
        doc.paths_changed.connect(self._update_title)
        for sig in (doc.score_changed, doc.audio_changed, doc.result_changed):
            sig.connect(self._update_enabled)
        doc.params_changed.connect(lambda: self.params_panel.set_params(doc.params))
        self.params_panel.params_changed.connect(doc.set_params)
        self.groups_panel.assign_requested.connect(self.canvas.assign_selected)
        self.groups_panel.solo_mute_changed.connect(self._on_solo_mute_changed)
        run.separate_requested.connect(s.separate)
        run.cancel_requested.connect(s.cancel)
        s.separation_started.connect(run.run_started)
        s.separation.progress.connect(run.on_progress)
        s.separation.costs_updated.connect(run.on_costs)
        s.separation_ended.connect(run.run_ended)
        s.separation.running_changed.connect(self._update_enabled)
        s.status.connect(self.show_status)
        s.error.connect(self.show_error)
        s.loading_changed.connect(self.busy_bar.setVisible)
        s.load_task.progress.connect(self._on_load_progress)
        s.loading_changed.connect(self._update_enabled)
        s.recent_changed.connect(self._fill_recent)
        s.exported.connect(self._on_exported)
        s.files_offered.connect(self.offer_separation_to_files)
        t.position_changed.connect(self._on_position_changed)
        t.message.connect(self.show_status)
        t.message.connect(self.show_error)  # playback failed or the device went away: say so until read
        self.canvas.loop_changed.connect(t.set_loop)
        self.canvas.seek_requested.connect(t.seek)
        self.canvas.selection_changed.connect(self._update_enabled)

    @Slot(object)
    def _on_load_progress(self, p) -> None:
        self.busy_bar.setValue(int(round(100 * p.fraction)))

    @Slot(float)
    def _on_position_changed(self, t_s: float) -> None:
        self.canvas.set_playhead(t_s, follow=self.transport.follow)

    @Slot()
    def _on_solo_mute_changed(self) -> None:
        self.transport.set_solo_mute(self.groups_panel.soloed(), self.groups_panel.muted())

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.doc.title}[*] — Stemroll")
        self.setWindowModified(self.doc.dirty)

    def _update_enabled(self, *_args) -> None:
        doc, s = self.doc, self.session
        running, loading = s.separation.is_running(), s.load_task.is_running()
        has_notes = len(doc.score) > 0
        self.separate_action.setEnabled(doc.audio is not None and has_notes and not running and not loading)
        self.cancel_action.setEnabled(running or loading or self.aligner.task.is_running())
        self.export_action.setEnabled(doc.result is not None)
        self.export_midi_action.setEnabled(has_notes)
        self.save_action.setEnabled(has_notes or doc.audio is not None)
        self.save_as_action.setEnabled(has_notes or doc.audio is not None)
        has_sel = bool(self.canvas.selected_ids())
        self.delete_action.setEnabled(has_sel)
        self.assign_action.setEnabled(has_sel)
        self.groups_panel.assign_button.setEnabled(has_sel)
        parts = []
        if doc.audio is not None:
            a = doc.audio
            parts.append(f"{a.sample_rate / 1000:g} kHz · {'stereo' if a.channels == 2 else f'{a.channels} ch'}"
                         f" · {a.duration_s:.1f} s")
        if has_notes:
            parts.append(f"{len(doc.score)} notes · {len(doc.score.groups)} groups")
        self.info_label.setText("   ".join(parts))

    # ---- messages ------------------------------------------------------------------------------------
    @Slot(str)
    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 10000)

    @Slot(str)
    def show_error(self, text: str) -> None:
        """A window-modal message that does not block the event loop (nor the tests)."""
        if self.last_message is not None:
            self.last_message.close()
        box = QMessageBox(QMessageBox.Warning, "Stemroll", text, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.destroyed.connect(self._on_message_destroyed)
        self.last_message = box
        box.open()

    @Slot()
    def _on_message_destroyed(self) -> None:
        self.last_message = None

    def about(self) -> None:
        from .. import __version__
        QMessageBox.about(self, "About Stemroll",
                          f"<b>Stemroll {__version__}</b><p>Score-informed source separation: paint the notes "
                          "of a recording into groups and get one stem per group.</p>"
                          "<p>After Ewert &amp; Müller, ICASSP 2012. MIT licence.</p>")

    def offer_recovery(self) -> None:
        """Ask about work left by a session that crashed (Recover / Discard / Later); nothing happens unasked."""
        if self.autosaver is not None:
            self.recovery_box = offer_recovery(self, self.autosaver, self.autosaver.find_recoverable())

    def assign_selection(self) -> None:
        self.canvas.assign_selected(self.doc.current_group_id)

    # ---- drag and drop ------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # ---- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        close_teaching_window(self)
        self.transport.shutdown()
        self.session.shutdown()
        self.aligner.shutdown()
        if self.autosaver is not None:  # a clean exit: nothing to recover next time
            self.autosaver.finish()
        event.accept()
