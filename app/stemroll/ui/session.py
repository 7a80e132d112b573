"""What the editor does with files and the engine: open, import, projects, separate, export.

A ``Session`` drives the document through background tasks (``ui.workers``) and reports with
signals; the main window only wires them to menus, panels, message boxes and the status bar.
Failures never touch what is open: a file that cannot be read leaves the current document as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QSettings, Signal, Slot

from .. import resources_dir
from ..core import memory
from ..core.score import Score
from ..core.threads import default_engine_threads
from ..io.errors import InputError
from ..io.project import SUFFIX as PROJECT_SUFFIX, Project, load_project, save_project
from .document import Document
from .jobs import Loaded, load_steps, separation_steps, separation_to_files_steps, take_snapshot
from .workers import BackgroundTask

AUDIO_SUFFIXES = {".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".aifc", ".w64", ".caf"}
MIDI_SUFFIXES = {".mid", ".midi", ".smf", ".kar"}
MAX_RECENT = 8


def demo_paths() -> tuple[Path, Path]:
    d = resources_dir() / "demo"
    return d / "demo.flac", d / "demo.mid"


def classify(paths) -> tuple[Path | None, Path | None, Path | None, list[Path]]:
    """(audio, midi, project, others) among dropped or given paths (the last of each kind wins)."""
    audio = midi = project = None
    others = []
    for p in map(Path, paths):
        s = p.suffix.lower()
        if s in AUDIO_SUFFIXES:
            audio = p
        elif s in MIDI_SUFFIXES:
            midi = p
        elif s == PROJECT_SUFFIX:
            project = p
        else:
            others.append(p)
    return audio, midi, project, others


def opening_memory_problem(audio: Path) -> str | None:
    """Plain words when opening ``audio`` would need more memory than is free; None when it fits."""
    from ..io.audio import probe

    try:
        info = probe(audio)
        est = memory.opening_bytes(n_samples=max(0, int(info.frames)), channels=int(info.channels),
                                   sample_rate=int(info.samplerate))
    except (InputError, ValueError, OverflowError):
        return None  # the reader will say what is wrong with the file
    free = memory.available_bytes()
    if not memory.shortfall(est.total_bytes, free):
        return None
    return (f"{audio.name}: opening it needs {est.describe()} of memory, but only {memory.format_bytes(free)} "
            "is free. Close other programs, or cut the recording into shorter parts.")


def separation_memory_plan(audio, score: Score, params) -> tuple[str, str | None]:
    """How the editor can separate ``audio`` (``io.audio.Audio``) with the memory that is free.

    ('memory', None): the stems fit in memory, as usual. ('files', offer): they do not, but the
    separation fits when it writes them straight to files block by block; ``offer`` says so in
    plain words. ('refuse', problem): even that does not fit.
    """
    common = dict(n_samples=audio.n_samples, channels=audio.channels, sample_rate=audio.sample_rate,
                  notes=score.notes, groups=score.groups, params=params, threads=default_engine_threads())
    try:
        held = memory.separation_estimate(**common)
        streamed = memory.separation_estimate(**common, streamed=True)
    except ValueError:
        return "memory", None  # the engine will say what is wrong with the settings
    free = memory.available_bytes()
    if not memory.shortfall(held.total_bytes, free):
        return "memory", None
    name = audio.path.name if audio.path else "the recording"
    if not memory.shortfall(streamed.total_bytes, free):
        return "files", (
            f"Separating {name} into {len(score.groups)} stems and keeping them here to listen to needs "
            f"{held.describe()} of memory, but only {memory.format_bytes(free)} is free.\n\n"
            f"Stemroll can instead write the stems straight to files in a folder you choose, one piece at a "
            f"time, which needs {memory.format_bytes(streamed.total_bytes)}. You can follow the progress and "
            "cancel; the stems will not be playable in the editor, so open them in your audio program.")
    return "refuse", (
        f"Separate: separating {name} into {len(score.groups)} stems needs {held.describe()} of memory "
        f"({memory.format_bytes(streamed.total_bytes)} even writing the stems straight to files), but only "
        f"{memory.format_bytes(free)} is free. Close other programs, use fewer groups, or cut the recording "
        "into shorter parts.")


def separation_memory_problem(audio, score: Score, params) -> str | None:
    """Plain words when separating ``audio`` (``io.audio.Audio``) would not fit in memory at all
    (not even streamed to files); None when it can be done."""
    kind, text = separation_memory_plan(audio, score, params)
    return text if kind == "refuse" else None


class Session(QObject):
    """Signals: ``status(str)``, ``error(str)`` (one line: '<file>: <problem>'), ``loading_changed(bool)``,
    ``recent_changed()``, ``separation_started(int)`` (passes), ``separation_ended(str)``,
    ``exported(object)`` (an ``ExportReport``), ``recovered()`` (an autosave was opened by ``recover``),
    ``files_offered(str)``: the stems would not fit in memory but separating straight to files would
    (the text says so; ``separate_to_folder`` does it)."""

    status = Signal(str)
    error = Signal(str)
    loading_changed = Signal(bool)
    recent_changed = Signal()
    separation_started = Signal(int)
    separation_ended = Signal(str)
    exported = Signal(object)
    recovered = Signal()
    files_offered = Signal(str)

    def __init__(self, doc: Document, settings: QSettings, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = doc
        self.settings = settings
        self.load_task = BackgroundTask("load", self)
        self.separation = BackgroundTask("separation", self)
        self.export_task = BackgroundTask("export", self)
        self.streaming_to: Path | None = None  # the folder a running separation writes its stems to
        self.load_task.finished.connect(self._on_loaded)
        self.load_task.failed.connect(self._on_load_failed)
        self.load_task.cancelled.connect(self._on_load_cancelled)
        self.load_task.progress.connect(self._on_load_progress)
        self.separation.finished.connect(self._on_separated)
        self.separation.failed.connect(self._on_separation_failed)
        self.separation.cancelled.connect(self._on_separation_cancelled)
        self.export_task.finished.connect(self._on_exported)
        self.export_task.failed.connect(self._on_export_failed)
        app = QCoreApplication.instance()
        if app is not None:  # quitting without closing the window must not destroy a running thread
            app.aboutToQuit.connect(self.shutdown)

    # ---- opening -------------------------------------------------------------------------------
    def open_paths(self, paths, *, replace_score: bool = True) -> bool:
        """Open audio and/or MIDI files (dropped together, or from the command line), or a project.

        Returns False (after an ``error``) when nothing openable was given.
        """
        audio, midi, project, others = classify(paths)
        if project is not None:
            return self.open_project(project)
        if audio is None and midi is None:
            names = ", ".join(p.name for p in others) or "nothing"
            self.error.emit(f"{names}: not an audio, MIDI or Stemroll project file "
                            "(audio: WAV, FLAC, OGG, MP3; MIDI: .mid; projects: .stemroll)")
            return False
        return self._start_load(audio, midi, tag={"project": None, "fresh": audio is not None and midi is not None})

    def open_demo(self) -> bool:
        audio, midi = demo_paths()
        if not audio.exists() or not midi.exists():
            self.error.emit(f"{audio.parent.name}: the bundled demo is missing from this installation")
            return False
        return self.open_paths([audio, midi])

    def open_project(self, path: Path) -> bool:
        try:
            project = load_project(path)
        except InputError as e:
            self.error.emit(str(e))
            return False
        project_path = Path(path).absolute()
        audio = project.audio_path if project.audio_path and project.audio_path.exists() else None
        if audio is None:
            self._apply_project(project, project_path, None)
            return True
        return self._start_load(audio, None, tag={"project": project, "project_path": project_path, "fresh": True})

    def recover(self, project: Project, *, project_path: Path | None) -> bool:
        """Open an autosaved state as unsaved changes to ``project_path`` (or to a new project)."""
        audio = project.audio_path if project.audio_path and project.audio_path.exists() else None
        tag = {"project": project, "project_path": project_path, "recovered": True}
        if audio is None:
            self._apply_project(project, project_path, None, recovered=True)
            return True
        return self._start_load(audio, None, tag=tag)

    def _start_load(self, audio: Path | None, midi: Path | None, *, tag: dict) -> bool:
        if audio is not None and (problem := opening_memory_problem(audio)):
            self.error.emit(problem)
            return False
        self.separation.shutdown()
        self.load_task.shutdown()
        self.status.emit("Opening " + " and ".join(p.name for p in (audio, midi) if p) + "…")
        self.loading_changed.emit(True)
        self.load_task.start(lambda: load_steps(audio_path=audio, midi_path=midi), tag=tag)
        return True

    @Slot(object)
    def _on_load_progress(self, p) -> None:
        if p.stage == "analyse":
            self.status.emit("Analysing the recording…")

    @Slot(object)
    def _on_loaded(self, loaded: Loaded) -> None:
        tag = self.load_task.tag or {}
        self.loading_changed.emit(False)
        doc = self.doc
        if tag.get("project") is not None:
            self._apply_project(tag["project"], tag["project_path"], loaded, recovered=tag.get("recovered", False))
            return
        if loaded.score is not None:
            doc.set_score(loaded.score, midi_path=loaded.midi_path)
        if loaded.audio is not None:
            doc.set_audio(loaded.audio, loaded.display)
        if tag.get("fresh"):
            doc.set_project_path(None)
            doc.mark_saved()
            self.add_recent([p for p in (loaded.audio_path, loaded.midi_path) if p])
        elif doc.project_path is not None:
            doc.mark_changed()
        self.status.emit(self._summary(loaded.score))

    def _apply_project(self, project: Project, path: Path | None, loaded: Loaded | None, *,
                       recovered: bool = False) -> None:
        doc = self.doc
        doc.set_score(project.score, midi_path=project.midi_path)
        doc.set_anchors(project.anchors)
        if loaded is not None and loaded.audio is not None:
            doc.set_audio(loaded.audio, loaded.display)
        else:
            doc.set_audio(None, None)
        doc.params = project.params
        doc.params_changed.emit()
        if doc.score.has_group(project.current_group_id):
            doc.set_current_group(project.current_group_id)
        doc.set_project_path(path)
        name = path.name if path is not None else doc.title
        if recovered:
            doc.mark_changed()
        else:
            doc.mark_saved()
            self.add_recent([path])
        if project.missing:
            self.error.emit(f"{name}: the recording {Path(project.missing[0]).name} was not found; "
                            "open it with File > Open audio to separate")
        if recovered:
            self.status.emit(f"Recovered the unsaved work on {name}: save it to keep it. " + self._summary(None))
            self.recovered.emit()
        else:
            self.status.emit(f"Opened project {name}. " + self._summary(None))

    def _summary(self, new_score: Score | None) -> str:
        doc = self.doc
        parts = []
        if doc.audio is not None:
            a = doc.audio
            parts.append(f"{a.path.name if a.path else 'audio'}: {a.sample_rate / 1000:g} kHz, "
                         f"{'stereo' if a.channels == 2 else f'{a.channels} ch'}, {a.duration_s:.1f} s")
        parts.append(f"{len(doc.score)} notes in {len(doc.score.groups)} groups")
        if new_score is not None and new_score.warnings:
            parts.append("; ".join(new_score.warnings))
        if doc.audio is not None and doc.score.end_s > doc.audio.duration_s + 0.5:
            parts.append(f"the notes run {doc.score.end_s - doc.audio.duration_s:.1f} s past the end of the recording")
        return ". ".join(parts)

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self.loading_changed.emit(False)
        self.status.emit("Could not open the file; nothing was changed.")
        self.error.emit(message)

    @Slot()
    def _on_load_cancelled(self) -> None:
        self.loading_changed.emit(False)

    # ---- projects -------------------------------------------------------------------------------
    def save_project(self, path: Path | None = None) -> bool:
        doc = self.doc
        path = Path(path) if path else doc.project_path
        if path is None:
            return False
        try:
            saved = save_project(path, doc.score, params=doc.params, audio_path=doc.audio_path,
                                 midi_path=doc.midi_path, current_group_id=doc.current_group_id,
                                 anchors=doc.anchors)
        except InputError as e:
            self.error.emit(str(e))
            return False
        doc.set_project_path(saved)
        doc.mark_saved()
        self.add_recent([saved])
        self.status.emit(f"Saved {saved.name}")
        return True

    # ---- separation ------------------------------------------------------------------------------
    def separate(self) -> bool:
        """Separate in the background, keeping the stems to listen to; when they would not fit in
        memory, ``files_offered`` (streamed to files would fit) or ``error`` (nothing fits) instead."""
        doc = self.doc
        if not self._can_separate():
            return False
        kind, text = separation_memory_plan(doc.audio, doc.score, doc.params)
        if kind == "refuse":
            self.error.emit(text)
            return False
        if kind == "files":
            self.files_offered.emit(text)
            return False
        snap = take_snapshot(doc.audio, doc.score, doc.params)
        self.streaming_to = None
        self.separation.start(lambda: separation_steps(snap), tag=snap)
        self.separation_started.emit(snap.params.iterations)
        self.status.emit(f"Separating {len(snap.notes)} notes into {len(snap.groups)} groups…")
        return True

    def separate_to_folder(self, folder: Path, *, fmt: str = "wav", bits: str = "24") -> bool:
        """Separate straight to stem files in ``folder`` (block by block, in bounded memory), with the
        groups as MIDI beside them; the stems are not kept in the editor. Refuses to overwrite."""
        from ..core.score import RESIDUAL_NAME
        from ..io.export import stem_targets

        doc = self.doc
        if not self._can_separate():
            return False
        folder = Path(folder)
        song = (doc.audio_path or doc.project_path or Path("stems")).stem
        names = [g.name for g in doc.score.groups] + [RESIDUAL_NAME]
        taken = [t for t in stem_targets(folder, song, names, fmt=fmt, midi=True) if t.exists()]
        if taken:
            self.error.emit(f"{taken[0].name}: already exists in {folder}; choose another folder (nothing was "
                            "changed)")
            return False
        snap = take_snapshot(doc.audio, doc.score, doc.params)
        score = doc.score.copy()
        self.streaming_to = folder
        self.separation.start(lambda: separation_to_files_steps(snap, folder, song=song, fmt=fmt, bits=bits,
                                                                score=score), tag=snap)
        self.separation_started.emit(snap.params.iterations)
        self.status.emit(f"Separating {len(snap.notes)} notes into {len(snap.groups)} groups, writing the stems "
                         f"to {folder}…")
        return True

    def _can_separate(self) -> bool:
        doc = self.doc
        if self.separation.is_running() or self.load_task.is_running():
            return False
        if doc.audio is None:
            self.error.emit("Separate: open an audio recording first (File > Open audio)")
            return False
        if len(doc.score) == 0:
            self.error.emit("Separate: the score has no notes; import the MIDI file or draw notes first")
            return False
        return True

    def cancel(self) -> None:
        if self.separation.is_running():
            self.status.emit("Cancelling…")
        self.separation.cancel()
        self.load_task.cancel()

    @Slot(object)
    def _on_separated(self, result) -> None:
        if self.streaming_to is not None:
            folder, self.streaming_to = self.streaming_to, None
            msg = (f"Done: {len(result.model.costs)} passes in {result.elapsed_s:.1f} s; wrote "
                   f"{len(result.export.files)} files to {folder}.")
            self.separation_ended.emit(msg)
            self.status.emit(msg)
            self.exported.emit(result.export)
            return
        snap = self.separation.tag
        self.doc.set_result(result, revision=snap.revision, source=(snap.notes, snap.groups))
        stale = " The notes changed meanwhile: the stems are out of date." if self.doc.result_is_stale else ""
        msg = f"Done: {len(result.costs)} passes in {result.elapsed_s:.1f} s.{stale}"
        self.separation_ended.emit(msg)
        self.status.emit(msg)

    @Slot(str)
    def _on_separation_failed(self, message: str) -> None:
        folder, self.streaming_to = self.streaming_to, None
        self.separation_ended.emit("Failed")
        where = f" Nothing was written to {folder}." if folder is not None else ""
        self.error.emit(f"Separation failed: {message}{where}")

    @Slot()
    def _on_separation_cancelled(self) -> None:
        folder, self.streaming_to = self.streaming_to, None
        self.separation_ended.emit("Cancelled")
        if folder is not None:
            self.status.emit(f"Separation cancelled; nothing was written to {folder}.")
        else:
            self.status.emit("Separation cancelled; the previous stems are kept.")

    # ---- export -------------------------------------------------------------------------------------
    def export(self, options) -> bool:
        """Write stems (``panels.export_dialog.ExportOptions``) in the background; ``exported`` follows."""
        from ..io.export import export_stems

        result = self.doc.result
        if result is None or self.export_task.is_running():
            return False
        score = self.doc.score.copy() if options.midi else None

        def steps():
            yield None
            return export_stems(result, options.folder, song=options.song, fmt=options.fmt, bits=options.bits,
                                force=options.overwrite, only=options.stems, score=score)

        self.status.emit(f"Writing {len(options.stems)} stems to {options.folder}…")
        self.export_task.start(steps, tag=Path(options.folder))
        return True

    @Slot(str)
    def _on_export_failed(self, message: str) -> None:
        folder = self.export_task.tag
        self.status.emit("Export failed.")
        self.error.emit(f"Could not export the stems to {folder}:\n{message}" if folder else message)

    @Slot(object)
    def _on_exported(self, report) -> None:
        self.status.emit(f"Exported {len(report.files)} files to {report.files[0].parent}" if report.files else "")
        self.exported.emit(report)

    def export_midi(self, path: Path) -> bool:
        from ..io.midi import save_midi

        try:
            save_midi(self.doc.score, path)
        except InputError as e:
            self.error.emit(str(e))
            return False
        self.status.emit(f"Wrote the groups as MIDI tracks to {Path(path).name}")
        return True

    # ---- recent files --------------------------------------------------------------------------------
    def recent(self) -> list[list[str]]:
        try:
            items = json.loads(self.settings.value("recent_files", "[]") or "[]")
        except (TypeError, ValueError):
            return []
        return [list(map(str, it)) for it in items if isinstance(it, list) and it]

    def add_recent(self, paths) -> None:
        entry = [str(Path(p).absolute()) for p in paths]
        items = [it for it in self.recent() if it != entry]
        self.settings.setValue("recent_files", json.dumps(([entry] + items)[:MAX_RECENT]))
        self.recent_changed.emit()

    def clear_recent(self) -> None:
        self.settings.setValue("recent_files", "[]")
        self.recent_changed.emit()

    # ---- closing ----------------------------------------------------------------------------------
    def busy(self) -> bool:
        return self.separation.is_running() or self.load_task.is_running() or self.export_task.is_running()

    @Slot()
    def shutdown(self) -> None:
        """Cancel and wait for every background job (before the window closes or the app quits)."""
        for task in (self.separation, self.load_task, self.export_task):
            task.shutdown()
