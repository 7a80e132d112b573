"""Project files (``*.stemroll``): JSON holding the inputs' paths, the score, the groups and the parameters.

No decoded audio is stored: the recording is found again through its path, first relative to the
project's folder (so a project moved together with its audio keeps working), then absolute.

Layout (format version 1)::

    {"format": "stemroll-project", "version": 1,
     "audio": {"relative": "song.flac", "absolute": "/home/me/song.flac"} | null,
     "midi":  {"relative": ..., "absolute": ...} | null,
     "groups": [{"id": 0, "name": "bass"}, ...],
     "notes": [{"id": 0, "pitch": 40, "onset_s": 0.0, "offset_s": 0.5, "velocity": 80,
                "group_id": 0, "track": 1, "channel": 0, "track_name": "Bass"}, ...],
     "params": {... SeparationParams fields ...},
     "current_group_id": 0}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.params import SeparationParams
from ..core.score import Note, NoteGroup, Score
from .atomic import atomic_write
from .errors import InputError

FORMAT = "stemroll-project"
VERSION = 1
SUFFIX = ".stemroll"
_NOTE_FIELDS = ("id", "pitch", "onset_s", "offset_s", "velocity", "group_id", "track", "channel", "track_name")


@dataclass
class Project:
    """What a project file holds. ``audio_path`` / ``midi_path`` are resolved to existing files when
    possible; ``missing`` lists the inputs that could not be found (as stored)."""

    score: Score
    params: SeparationParams = field(default_factory=SeparationParams)
    audio_path: Path | None = None
    midi_path: Path | None = None
    current_group_id: int = 0
    missing: list[str] = field(default_factory=list)


def _ref(target: Path | None, folder: Path) -> dict | None:
    if target is None:
        return None
    target = Path(target).absolute()
    try:
        rel = os.path.relpath(target, folder)
    except ValueError:  # another drive on Windows
        rel = None
    return {"relative": None if rel is None else Path(rel).as_posix(), "absolute": str(target)}


def _resolve(ref, folder: Path, what: str, missing: list[str]) -> Path | None:
    if ref is None:
        return None
    if not isinstance(ref, dict):
        raise ValueError(f"'{what}' must be an object with 'relative' and 'absolute' paths")
    candidates = []
    if ref.get("relative"):
        candidates.append(folder / ref["relative"])
    if ref.get("absolute"):
        candidates.append(Path(ref["absolute"]))
    for c in candidates:
        if c.exists():
            return c.resolve()
    missing.append(str(ref.get("absolute") or ref.get("relative")))
    return candidates[0] if candidates else None


def project_dict(score: Score, *, folder: Path, params: SeparationParams, audio_path: Path | None = None,
                 midi_path: Path | None = None, current_group_id: int = 0) -> dict:
    """The JSON-ready content of a project saved into ``folder``."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "audio": _ref(audio_path, folder),
        "midi": _ref(midi_path, folder),
        "groups": [{"id": g.id, "name": g.name} for g in score.groups],
        "notes": [{k: getattr(n, k) for k in _NOTE_FIELDS} for n in score.notes],
        "params": params.to_dict(),
        "current_group_id": int(current_group_id),
    }


def save_project(path: str | Path, score: Score, *, params: SeparationParams, audio_path: Path | None = None,
                 midi_path: Path | None = None, current_group_id: int = 0) -> Path:
    """Write a project atomically (the previous version is kept as ``<name>.bak``). Returns the path.

    Raises InputError naming the file when it cannot be written.
    """
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    folder = path.absolute().parent
    data = project_dict(score, folder=folder, params=params, audio_path=audio_path, midi_path=midi_path,
                        current_group_id=current_group_id)
    text = json.dumps(data, indent=1, ensure_ascii=False)
    with atomic_write(path, backup=True) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def load_project(path: str | Path) -> Project:
    """Read a project file. Raises InputError naming the file for missing, damaged or newer files."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a folder, not a Stemroll project")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(path, "is not a Stemroll project (not a text file)") from None
    except json.JSONDecodeError as e:
        raise InputError(path, f"is damaged: not valid JSON (line {e.lineno}, column {e.colno})") from None
    except OSError as e:
        raise InputError(path, f"could not be read ({e.strerror or e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(path, "is not a Stemroll project (no 'format': 'stemroll-project')")
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise InputError(path, f"has an invalid format version ({version!r})")
    if version > VERSION:
        raise InputError(path, f"was saved by a newer Stemroll (format version {version}; this one reads up to {VERSION})")
    folder = path.absolute().parent
    missing: list[str] = []
    try:
        groups = [NoteGroup(int(g["id"]), str(g["name"])) for g in data.get("groups", [])]
        notes = [Note(**{k: (v if k == "track_name" else (float(v) if k.endswith("_s") else int(v)))
                         for k, v in n.items() if k in _NOTE_FIELDS}) for n in data.get("notes", [])]
        score = Score.from_notes(notes, groups)
        params = SeparationParams.from_dict(data.get("params") or {})
        audio = _resolve(data.get("audio"), folder, "audio", missing)
        midi = _resolve(data.get("midi"), folder, "midi", missing)
        current = int(data.get("current_group_id", groups[0].id if groups else 0))
    except (KeyError, TypeError, ValueError) as e:
        detail = f"missing field {e}" if isinstance(e, KeyError) else str(e)
        raise InputError(path, f"is damaged ({detail})") from None
    return Project(score, params, audio, midi, current, missing)
