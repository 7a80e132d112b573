"""Stem export for a DAW: one file per group plus the residual, all at the input's rate and length.

Files are named ``<song> - <group>.<ext>``; ``stems.json`` beside them lists each stem's name,
file, note count and RMS; ``<song> - groups.mid`` holds the groups as MIDI tracks. Everything is
written to temporary files first and renamed at the end, so a failure leaves no partial files.
``export_stems`` writes stems held in memory; ``open_stems`` writes them block by block as a
streamed separation makes them (``io.stem_files``), with the same names, formats and guarantees.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import soundfile as sf

from ..core.params import SeparationParams
from ..core.score import Score
from ..core.segments import fused_kernels
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


@dataclass(frozen=True)
class StemInfo:
    """What stems.json says about a stem besides its audio."""

    name: str
    group_id: int
    note_count: int


class StemWriter:
    """The stem files of one export while they are written block by block (made by ``open_stems``).

    ``write(block)`` appends one block to every file: a sequence of float32 (channels, m) arrays
    (or one array (n_stems, channels, m)), one per stem in ``open_stems``' order. It keeps each
    stem's running sum of squares and peak, from which ``rms``, ``peak`` and the clipping
    warnings come. ``report`` is set once every file is in place.
    """

    def __init__(self, files: list, n_stems: int, channels: int, folder: Path, *, wav24: bool = False):
        self._files, self._channels, self._folder = files, channels, folder  # files: opened by open_stems
        self.n_samples = 0
        self._sumsq = np.zeros(n_stems)
        self._peak = np.zeros(n_stems)
        self.report: ExportReport | None = None
        self._kernels = fused_kernels()
        self._wav24 = wav24  # 24-bit WAV: the kernels hand libsndfile int32, the same samples it makes from float

    def write(self, block: Sequence[np.ndarray]) -> None:
        if len(block) != len(self._sumsq):
            raise ValueError(f"a block of {len(block)} stems for {len(self._sumsq)} files")
        with _as_input_error(self._folder):
            for i, (f, a) in enumerate(zip(self._files, block)):
                if self._kernels is not None and a.dtype == np.float32 and a.ndim == 2:
                    f.write(self._interleaved(i, a))
                    continue
                if a.size:
                    self._sumsq[i] += float(np.sum(np.square(a, dtype=np.float64)))
                    self._peak[i] = max(self._peak[i], float(np.max(np.abs(a))))
                f.write(np.ascontiguousarray(a.T))
        self.n_samples += block[0].shape[1] if len(block) else 0

    def _interleaved(self, i: int, a: np.ndarray) -> np.ndarray:
        """Stem ``i``'s block a (channels, m) frame-major for the file, its statistics taken on the way
        (one compiled sweep per channel instead of a transposed copy and two reductions)."""
        kern = self._kernels
        out = np.empty((a.shape[1], a.shape[0]), np.int32 if self._wav24 else np.float32)
        sweep = kern.interleave_pcm24 if self._wav24 else kern.interleave
        for c in range(a.shape[0]):
            ss, pk = sweep(np.ascontiguousarray(a[c]), out, c)
            self._sumsq[i] += ss
            self._peak[i] = max(self._peak[i], float(pk))
        return out

    def rms(self, i: int) -> float:
        """RMS of stem ``i`` over everything written so far (all channels)."""
        return float(np.sqrt(self._sumsq[i] / (self._channels * self.n_samples))) if self.n_samples else 0.0

    def peak(self, i: int) -> float:
        return float(self._peak[i])

    def _close(self) -> None:
        """Close the files (their headers are completed here); errors reach the caller."""
        for f in self._files:
            f.close()

    def _abandon(self) -> None:
        for f in self._files:  # closing a closed SoundFile does nothing
            with contextlib.suppress(Exception):
                f.close()


def _prepare_folder(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(out, f"cannot create the folder ({e.strerror or e})") from None
    return out


def stem_targets(out: Path, song: str, names: Sequence[str], *, fmt: str, midi: bool) -> list[Path]:
    """Every file a stem export into ``out`` writes: one per stem name (groups, then the residual),
    stems.json, and the groups MIDI file when ``midi``."""
    targets = [out / stem_filename(song, name, fmt) for name in names] + [out / "stems.json"]
    return targets + ([out / f"{safe_name(song)} - groups.mid"] if midi else [])


@contextlib.contextmanager
def open_stems(out_dir: str | Path, stems: Sequence[StemInfo], *, sample_rate: int, channels: int, song: str,
               fmt: str = "wav", bits: str = "24", force: bool = False, score: Score | None = None,
               params: SeparationParams | None = None) -> Iterator[StemWriter]:
    """Write stems block by block: yields a ``StemWriter``; when the block ends, stems.json (and the
    groups MIDI file if ``score``) are written and every file appears at once, or none does.

    Same names, formats and checks as ``export_stems``. On any failure or exception in the block
    (a cancel included) the temporary files are removed and existing files are left untouched.
    Raises InputError (naming the file) when a target exists and ``force`` is False, or the
    folder cannot be written.
    """
    subtype = check_format(fmt, bits)
    out = _prepare_folder(out_dir)
    all_targets = stem_targets(out, song, [s.name for s in stems], fmt=fmt, midi=score is not None)
    targets, manifest = all_targets[: len(stems)], all_targets[len(stems)]
    midi_path = all_targets[-1] if score is not None else None
    if len(set(all_targets)) != len(all_targets):
        raise ValueError("two stems would get the same file name; rename a group")
    if not force:
        for t in all_targets:
            if t.exists():
                raise InputError(t, "already exists; use --force (or choose another folder) to overwrite")
    # Every file or none: temporaries in the folder, renamed together at the end (rolled back on failure).
    with atomic_write_all(all_targets) as temps:
        files: list = []
        writer = StemWriter(files, len(targets), channels, out, wav24=(fmt, subtype) == ("wav", "PCM_24"))
        try:
            with _as_input_error(out):
                for t in targets:
                    files.append(sf.SoundFile(str(temps[t]), "w", samplerate=sample_rate, channels=channels,
                                              subtype=subtype, format=FORMATS[fmt]))
            yield writer  # the caller's failures pass through as they are (and remove the temporaries)
            with _as_input_error(out):
                writer._close()
                doc = _manifest(writer, stems, targets, song=song, sample_rate=sample_rate, channels=channels,
                                fmt=fmt, bits=bits, params=params)
                temps[manifest].write_text(json.dumps(doc, indent=2))
                if midi_path is not None:
                    from .midi import midi_file_for

                    midi_file_for(score).save(str(temps[midi_path]))
        finally:
            writer._abandon()
    warnings = [f"{t.name}: peaks at {20 * np.log10(writer.peak(i)):+.1f} dBFS and will clip in {bits}-bit PCM; "
                "export as 32-bit float WAV to keep it (on the command line: --bits 32f)"
                for i, t in enumerate(targets) if subtype != "FLOAT" and writer.peak(i) > 1.0]
    writer.report = ExportReport(tuple(all_targets), tuple(warnings))


def _manifest(writer: StemWriter, stems: Sequence[StemInfo], targets: Sequence[Path], *, song: str,
              sample_rate: int, channels: int, fmt: str, bits: str, params: SeparationParams | None) -> dict:
    """stems.json: each stem's name, file, notes and RMS (from what was written), and the settings."""
    entries = [{"name": s.name, "file": t.name, "group_id": s.group_id, "notes": s.note_count,
                "rms": round(writer.rms(i), 8), "rms_dbfs": round(20 * np.log10(max(writer.rms(i), 1e-12)), 2)}
               for i, (s, t) in enumerate(zip(stems, targets))]
    return {"song": song, "sample_rate": sample_rate, "channels": channels if stems else 0,
            "samples": writer.n_samples, "format": fmt, "bits": bits, "stems": entries,
            "params": params.to_dict() if params is not None else {}}


@contextlib.contextmanager
def _as_input_error(folder: Path) -> Iterator[None]:
    """Failures of the sound-file and file-system calls inside, as InputError naming ``folder``."""
    try:
        yield
    except (sf.LibsndfileError, RuntimeError) as e:
        raise InputError(folder, f"could not write the stems ({e})") from None
    except OSError as e:
        raise InputError(folder, f"could not write the stems ({e.strerror or e})") from None


WRITE_BLOCK = 1 << 20  # samples per write when exporting stems held in memory


def export_stems(result: SeparationResult, out_dir: str | Path, *, song: str, fmt: str = "wav", bits: str = "24",
                 force: bool = False, only: Iterable[str] | None = None, score: Score | None = None) -> ExportReport:
    """Write the stems (all, or the names in ``only``) and stems.json (and groups MIDI if ``score``).

    Raises InputError (naming the file) when a target exists and ``force`` is False, or when the
    folder cannot be written; in both cases nothing is left behind.
    """
    check_format(fmt, bits)
    wanted = set(only) if only is not None else None
    stems: list[Stem] = [s for s in result.stems if wanted is None or s.name in wanted]
    if wanted is not None and (missing := wanted - {s.name for s in result.stems}):
        raise ValueError(f"no stem named {sorted(missing)}; stems are {[s.name for s in result.stems]}")
    channels, n = stems[0].audio.shape if stems else (1, 0)
    infos = [StemInfo(s.name, s.group_id, s.note_count) for s in stems]
    with open_stems(out_dir, infos, sample_rate=result.sample_rate, channels=channels, song=song, fmt=fmt, bits=bits,
                    force=force, score=score, params=result.params) as writer:
        for a in range(0, n, WRITE_BLOCK):
            writer.write([s.audio[:, a: a + WRITE_BLOCK] for s in stems])
    return writer.report


def stem_sum_error_db(stems: Sequence[np.ndarray], mix: np.ndarray) -> float:
    """Peak of sum(stems) - mix in dBFS (the null test); -inf when exact."""
    err = float(np.max(np.abs(np.sum(stems, axis=0) - mix))) if len(stems) else float(np.max(np.abs(mix)))
    return 20 * np.log10(err) if err > 0 else float("-inf")
