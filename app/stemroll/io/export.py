"""Stem export for a DAW: one file per group plus the residual, all at the input's rate and length.

Files are named ``<song> - <group>.<ext>``; ``stems.json`` beside them lists each stem's name,
file, note count and RMS; ``<song> - groups.mid`` holds the groups as MIDI tracks. Everything is
written to temporary files first and renamed at the end, so a failure leaves no partial files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import soundfile as sf

from ..core.score import Score
from ..core.separation import SeparationResult, Stem
from .atomic import atomic_write_all
from .errors import InputError

FORMATS = {"wav": "WAV", "flac": "FLAC"}
SUBTYPES = {("wav", "16"): "PCM_16", ("wav", "24"): "PCM_24", ("wav", "32f"): "FLOAT",
            ("flac", "16"): "PCM_16", ("flac", "24"): "PCM_24"}
_BAD_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def safe_name(text: str) -> str:
    """A file-name-safe version of ``text`` (characters file systems reject become '_')."""
    s = _BAD_CHARS.sub("_", text).strip().rstrip(".")
    return s or "untitled"


@dataclass(frozen=True)
class ExportReport:
    """What was written, and warnings for the user (e.g. clipping)."""

    files: tuple[Path, ...]
    warnings: tuple[str, ...]


def stem_filename(song: str, stem_name: str, fmt: str) -> str:
    return f"{safe_name(song)} - {safe_name(stem_name)}.{fmt}"


def check_format(fmt: str, bits: str) -> str:
    """The soundfile subtype for (format, bit depth); ValueError with the allowed choices otherwise."""
    if (fmt, bits) not in SUBTYPES:
        if fmt == "flac" and bits == "32f":
            raise ValueError("FLAC cannot store 32-bit float samples: use --bits 16 or 24, or --format wav")
        raise ValueError(f"unsupported format {fmt}/{bits}: choose wav with 16, 24 or 32f, or flac with 16 or 24")
    return SUBTYPES[(fmt, bits)]


def export_stems(result: SeparationResult, out_dir: str | Path, *, song: str, fmt: str = "wav", bits: str = "24",
                 force: bool = False, only: Iterable[str] | None = None, score: Score | None = None) -> ExportReport:
    """Write the stems (all, or the names in ``only``) and stems.json (and groups MIDI if ``score``).

    Raises InputError (naming the file) when a target exists and ``force`` is False, or when the
    folder cannot be written; in both cases nothing is left behind.
    """
    subtype = check_format(fmt, bits)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(out, f"cannot create the folder ({e.strerror or e})") from None
    wanted = set(only) if only is not None else None
    stems: list[Stem] = [s for s in result.stems if wanted is None or s.name in wanted]
    if wanted is not None and (missing := wanted - {s.name for s in result.stems}):
        raise ValueError(f"no stem named {sorted(missing)}; stems are {[s.name for s in result.stems]}")
    targets = {s.name: out / stem_filename(song, s.name, fmt) for s in stems}
    manifest = out / "stems.json"
    midi_path = out / f"{safe_name(song)} - groups.mid" if score is not None else None
    all_targets = list(targets.values()) + [manifest] + ([midi_path] if midi_path else [])
    if len(set(all_targets)) != len(all_targets):
        raise ValueError("two stems would get the same file name; rename a group")
    if not force:
        for t in all_targets:
            if t.exists():
                raise InputError(t, "already exists; use --force (or choose another folder) to overwrite")
    warnings: list[str] = []
    for s in stems:
        peak = float(np.max(np.abs(s.audio))) if s.audio.size else 0.0
        if subtype != "FLOAT" and peak > 1.0:
            warnings.append(f"{targets[s.name].name}: peaks at {20 * np.log10(peak):+.1f} dBFS and will clip in "
                            f"{bits}-bit PCM; export as 32-bit float (--bits 32f) to keep it")
    entries = [{"name": s.name, "file": targets[s.name].name, "group_id": s.group_id, "notes": s.note_count,
                "rms": round(s.rms, 8), "rms_dbfs": round(20 * np.log10(max(s.rms, 1e-12)), 2)} for s in stems]
    doc = {"song": song, "sample_rate": result.sample_rate,
           "channels": int(stems[0].audio.shape[0]) if stems else 0,
           "samples": int(stems[0].audio.shape[1]) if stems else 0,
           "format": fmt, "bits": bits, "stems": entries, "params": result.params.to_dict()}
    # Every file or none: temporaries in the folder, renamed together at the end (rolled back on failure).
    with atomic_write_all(all_targets) as temps:
        try:
            for s in stems:
                sf.write(str(temps[targets[s.name]]), s.audio.T, result.sample_rate, subtype=subtype,
                         format=FORMATS[fmt])
            temps[manifest].write_text(json.dumps(doc, indent=2))
            if midi_path is not None:
                from .midi import midi_file_for

                midi_file_for(score).save(str(temps[midi_path]))
        except (sf.LibsndfileError, RuntimeError) as e:
            raise InputError(out, f"could not write the stems ({e})") from None
        except OSError as e:
            raise InputError(out, f"could not write the stems ({e.strerror or e})") from None
    return ExportReport(tuple(all_targets), tuple(warnings))


def stem_sum_error_db(stems: Sequence[np.ndarray], mix: np.ndarray) -> float:
    """Peak of sum(stems) - mix in dBFS (the null test); -inf when exact."""
    err = float(np.max(np.abs(np.sum(stems, axis=0) - mix))) if len(stems) else float(np.max(np.abs(mix)))
    return 20 * np.log10(err) if err > 0 else float("-inf")
