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
     "current_group_id": 0,
     "anchors": [{"note_id": 0, "time_s": 1.25}, ...]}   # optional: pins of the alignment

Files without ``anchors`` (older ones) load with none; readers that predate it ignore the field.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..core.params import SeparationParams
from ..core.score import Note, NoteGroup, Score
from .atomic import atomic_write, plain_os_error
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
    anchors: dict[int, float] = field(default_factory=dict)  # note id -> audio time (s) of its onset


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
    for key, base in (("relative", folder), ("absolute", None)):
        v = ref.get(key)
        if v is None or v == "":
            continue
        v = _text(v, f"{what}.{key}")
        candidates.append(base / v if base is not None else Path(v))
    for c in candidates:
        try:
            if c.is_file():
                return c.resolve()
        except (OSError, ValueError, RuntimeError):  # NUL bytes, names too long, link loops
            continue
    if candidates:
        missing.append(str(ref.get("absolute") or ref.get("relative")))
    return candidates[0] if candidates else None


def project_dict(score: Score, *, folder: Path, params: SeparationParams, audio_path: Path | None = None,
                 midi_path: Path | None = None, current_group_id: int = 0, anchors=None) -> dict:
    """The JSON-ready content of a project saved into ``folder``; ``anchors``: note id -> audio time s."""
    data = {
        "format": FORMAT,
        "version": VERSION,
        "audio": _ref(audio_path, folder),
        "midi": _ref(midi_path, folder),
        "groups": [{"id": g.id, "name": g.name} for g in score.groups],
        "notes": [{k: getattr(n, k) for k in _NOTE_FIELDS} for n in score.notes],
        "params": params.to_dict(),
        "current_group_id": int(current_group_id),
    }
    if anchors:
        data["anchors"] = [{"note_id": int(i), "time_s": float(t)} for i, t in sorted(anchors.items())]
    return data


def save_project(path: str | Path, score: Score, *, params: SeparationParams, audio_path: Path | None = None,
                 midi_path: Path | None = None, current_group_id: int = 0, anchors=None) -> Path:
    """Write a project atomically (the previous version is kept as ``<name>.bak``). Returns the path.

    Raises InputError naming the file when it cannot be written.
    """
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    folder = path.absolute().parent
    data = project_dict(score, folder=folder, params=params, audio_path=audio_path, midi_path=midi_path,
                        current_group_id=current_group_id, anchors=anchors)
    text = json.dumps(data, indent=1, ensure_ascii=False)
    with atomic_write(path, backup=True) as tmp:
        tmp.write_bytes(text.encode("utf-8", "replace"))
    return path


def load_project(path: str | Path) -> Project:
    """Read a project file. Raises InputError naming the file for missing, damaged, absurd or newer files.

    Every value is checked (types, ranges, finite times, sizes: at most ``MAX_NOTES`` notes,
    ``MAX_GROUPS`` groups, ``MAX_FILE_BYTES`` bytes), so what loads can be shown and separated.
    """
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(path, "is not a Stemroll project (no 'format': 'stemroll-project')")
    version = data.get("version")
    if type(version) is not int or version < 1:
        raise InputError(path, f"has an invalid format version ({_show(version)})")
    if version > VERSION:
        raise InputError(path, f"was saved by a newer Stemroll (format version {_show(version)}; "
                               f"this one reads up to {VERSION})")
    folder = path.absolute().parent
    missing: list[str] = []
    try:
        groups = [_group(g, i) for i, g in enumerate(_list(data, "groups", MAX_GROUPS))]
        notes = [_note(n, i) for i, n in enumerate(_list(data, "notes", MAX_NOTES))]
        score = Score.from_notes(notes, groups)
        if len(score.groups) > MAX_GROUPS:
            raise ValueError(f"more than {MAX_GROUPS} groups")
        params = _params(data.get("params"))
        audio = _resolve(data.get("audio"), folder, "audio", missing)
        midi = _resolve(data.get("midi"), folder, "midi", missing)
        current = data.get("current_group_id", score.groups[0].id)
        if not score.has_group(current if type(current) is int else None):
            current = score.groups[0].id
        anchors = _anchors(data.get("anchors"), score)
    except (KeyError, TypeError, ValueError, OverflowError, RecursionError) as e:
        detail = f"missing field {e}" if isinstance(e, KeyError) else str(e)
        raise InputError(path, f"is damaged ({_clip(detail)})") from None
    return Project(score, params, audio, midi, current, missing, anchors)


# ---- reading and checking ---------------------------------------------------------------------------
MAX_FILE_BYTES = 200 * 2**20
MAX_NOTES = 1_000_000
MAX_GROUPS = 4096
MAX_TIME_S = 24 * 3600.0
MAX_ID = 2**31 - 1  # ids travel through Qt signals as C ints
MAX_TEXT = 1000
# Allowed ranges of the parameters (wider than the settings panel; a file outside them is damaged).
PARAM_RANGES = {"window_s": (0.0, 2.0), "n_fft": (0, 65536), "hop_length": (0, 32768), "n_harmonics": (1, 200),
                "tolerance_cents": (0.0, 1200.0), "onset_tolerance_s": (0.0, 60.0),
                "offset_tolerance_s": (0.0, 60.0), "onset_window_s": (0.0, 10.0), "iterations": (0, 1_000_000),
                "tol": (0.0, 1.0), "residual_components": (0, 1000), "mask_power": (1e-3, 100.0),
                "seed": (0, MAX_ID)}
PARAM_CHOICES = {"divergence": ("kl", "euclidean"), "engine": ("nmf", "nae")}


def _read_json(path: Path):
    try:
        if not path.exists():
            raise InputError(path, "file not found")
        if path.is_dir():
            raise InputError(path, "is a folder, not a Stemroll project")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(path, f"is too large for a Stemroll project ({size / 2**20:.0f} MB; "
                                   f"at most {MAX_FILE_BYTES // 2**20} MB)")
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(path, f"could not be read ({plain_os_error(e)})") from None
    if not raw.strip():
        raise InputError(path, "is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(path, "is not a Stemroll project (not a text file)") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(path, f"is damaged: not valid JSON (line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise InputError(path, "is damaged: not readable JSON (lists or objects nested too deeply)") from None
    except ValueError as e:  # e.g. a number with thousands of digits
        why = "a number has too many digits" if "digits" in str(e) else _clip(str(e) or "ValueError")
        raise InputError(path, f"is damaged: not readable JSON ({why})") from None


def _clip(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _show(v) -> str:
    return _clip(repr(v), 40)


def _list(data: dict, key: str, limit: int) -> list:
    v = data.get(key, [])
    if not isinstance(v, list):
        raise ValueError(f"'{key}' must be a list, got {type(v).__name__}")
    if len(v) > limit:
        raise ValueError(f"{len(v)} {key}: more than this version handles ({limit})")
    return v


def _int(v, what: str, lo: int, hi: int) -> int:
    if type(v) is float and v.is_integer():  # 3.0 is fine, 3.5 is not
        v = int(v)
    if type(v) is not int or not lo <= v <= hi:
        raise ValueError(f"{what} must be a whole number {lo}..{hi}, got {_show(v)}")
    return v


def _float(v, what: str, lo: float, hi: float) -> float:
    if type(v) not in (int, float) or not math.isfinite(v) or not lo <= v <= hi:
        raise ValueError(f"{what} must be a number {lo:g}..{hi:g}, got {_show(v)}")
    return float(v)


def _text(v, what: str) -> str:
    if not isinstance(v, str):
        raise ValueError(f"{what} must be text, got {_show(v)}")
    if len(v) > MAX_TEXT:
        raise ValueError(f"{what} is longer than {MAX_TEXT} characters")
    return v.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot be saved again


def _group(g, i: int) -> NoteGroup:
    if not isinstance(g, dict):
        raise ValueError(f"group {i} must be an object, got {_show(g)}")
    return NoteGroup(_int(g["id"], f"group {i}: id", 0, MAX_ID), _text(g["name"], f"group {i}: name"))


def _note(n, i: int) -> Note:
    if not isinstance(n, dict):
        raise ValueError(f"note {i} must be an object, got {_show(n)}")
    onset = _float(n["onset_s"], f"note {i}: onset_s", 0.0, MAX_TIME_S)
    offset = _float(n["offset_s"], f"note {i}: offset_s", 0.0, MAX_TIME_S)
    if not offset > onset:
        raise ValueError(f"note {i} ends ({offset:g} s) before it starts ({onset:g} s)")
    return Note(_int(n["id"], f"note {i}: id", 0, MAX_ID), _int(n["pitch"], f"note {i}: pitch", 0, 127),
                onset, offset, _int(n.get("velocity", 80), f"note {i}: velocity", 0, 127),
                _int(n.get("group_id", 0), f"note {i}: group_id", 0, MAX_ID),
                _int(n.get("track", 0), f"note {i}: track", 0, MAX_ID),
                _int(n.get("channel", 0), f"note {i}: channel", 0, 15),
                _text(n.get("track_name", ""), f"note {i}: track_name"))


def _anchors(v, score: Score) -> dict[int, float]:
    """Optional pins: [{"note_id", "time_s"}]; pins of notes the score does not hold are dropped."""
    if v is None:
        return {}
    if not isinstance(v, list) or len(v) > MAX_NOTES:
        raise ValueError(f"'anchors' must be a list of at most {MAX_NOTES} pins")
    out = {}
    for i, a in enumerate(v):
        if not isinstance(a, dict):
            raise ValueError(f"anchor {i} must be an object, got {_show(a)}")
        nid = _int(a["note_id"], f"anchor {i}: note_id", 0, MAX_ID)
        t = _float(a["time_s"], f"anchor {i}: time_s", 0.0, MAX_TIME_S)
        if nid in score:
            out[nid] = t
    return out


def _params(d) -> SeparationParams:
    if d is None:
        return SeparationParams()
    if not isinstance(d, dict):
        raise ValueError(f"'params' must be an object, got {_show(d)}")
    out = {}
    for f in fields(SeparationParams):
        if f.name not in d:
            continue
        v, what, default = d[f.name], f"params.{f.name}", f.default
        if f.name in PARAM_CHOICES:
            if v not in PARAM_CHOICES[f.name]:
                raise ValueError(f"{what} must be one of {', '.join(PARAM_CHOICES[f.name])}, got {_show(v)}")
        elif type(default) is bool:
            if type(v) is not bool:
                raise ValueError(f"{what} must be true or false, got {_show(v)}")
        elif type(default) is int:
            v = _int(v, what, *PARAM_RANGES.get(f.name, (0, MAX_ID)))
        elif type(default) is float:
            v = _float(v, what, *PARAM_RANGES.get(f.name, (0.0, 1e6)))
        out[f.name] = v
    params = SeparationParams(**out)
    if params.n_fft and (params.n_fft < 16 or params.n_fft % 2 or params.hop_length > params.n_fft // 2):
        raise ValueError(f"params.n_fft must be 0 or an even number >= 16 with hop_length up to half of it, "
                         f"got n_fft {params.n_fft}, hop_length {params.hop_length}")
    return params
