"""The editor's background jobs as plain generators (Qt-free), run by ``ui.workers.BackgroundTask``.

Each yields ``stemroll.core.separation.Progress`` values and returns its result, so loading and
separating (in memory, or straight to files) share one worker, one progress bar and one cancel path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Generator

import numpy as np

from ..core.nmf_blocks import prepare_kernels
from ..core.params import SeparationParams
from ..core.score import Note, NoteGroup, Score
from ..core.separation import Progress, SeparationResult, separate_steps
from ..core.spectral import STFTConfig, magnitude_mono, stft

DISPLAY_WINDOW_S = 0.046  # display spectrogram: ~2048 samples at 44.1 kHz
DISPLAY_OVERLAP = 4


@dataclass
class Loaded:
    """What a load job produced: ``audio`` (stemroll.io.audio.Audio) and its display spectrogram,
    and/or a ``score`` read from ``midi_path``. Fields are None for what was not asked."""

    audio: object | None = None
    display: object | None = None
    score: Score | None = None
    audio_path: Path | None = None
    midi_path: Path | None = None


def display_spectrogram(samples: np.ndarray, sample_rate: int):
    """The log-frequency display of ``samples`` (float32 (channels, n)) on the MIDI-pitch axis."""
    from ..core.display import log_frequency_spectrogram

    cfg = STFTConfig.for_rate(sample_rate, window_s=DISPLAY_WINDOW_S, overlap=DISPLAY_OVERLAP)
    mono = np.asarray(samples, dtype=np.float32).mean(axis=0)
    V = magnitude_mono(stft(mono, cfg)[None])
    return log_frequency_spectrogram(V, sample_rate=sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length)


def load_steps(*, audio_path: Path | None = None, midi_path: Path | None = None
               ) -> Generator[Progress, None, Loaded]:
    """Read the audio (and analyse it for display) and/or the MIDI file.

    Raises ``stemroll.io.errors.InputError`` naming the file that could not be read.
    """
    from ..io.audio import load_audio
    from ..io.midi import load_midi

    t0 = time.perf_counter()
    out = Loaded(audio_path=audio_path, midi_path=midi_path)
    if midi_path is not None:
        yield Progress("read MIDI", 0.0, elapsed_s=time.perf_counter() - t0)
        out.score = load_midi(midi_path)
    if audio_path is not None:
        yield Progress("read audio", 0.1, elapsed_s=time.perf_counter() - t0)
        out.audio = load_audio(audio_path)
        yield Progress("analyse", 0.5, elapsed_s=time.perf_counter() - t0)
        out.display = display_spectrogram(out.audio.samples, out.audio.sample_rate)
        prepare_kernels()  # the engine's compiled code, so that Separate starts at once
    yield Progress("done", 1.0, elapsed_s=time.perf_counter() - t0)
    return out


@dataclass(frozen=True)
class Snapshot:
    """Read-only inputs of one separation: taken in the GUI thread, used in the worker."""

    samples: np.ndarray  # float32 (channels, n_samples), never written
    sample_rate: int
    notes: tuple[Note, ...]
    groups: tuple[NoteGroup, ...]
    params: SeparationParams
    revision: int  # the score revision the notes come from


def take_snapshot(audio, score: Score, params: SeparationParams) -> Snapshot:
    samples = audio.samples.view()
    samples.flags.writeable = False
    return Snapshot(samples, int(audio.sample_rate), score.notes, score.groups, params, score.revision)


def separation_steps(snap: Snapshot) -> Generator[Progress, None, SeparationResult]:
    """The core's separation on a snapshot (the live score may change meanwhile).

    BLAS is held to one thread for the whole run (the engine's own passes use every core but one),
    so the window and the audio callback keep a core; the limit ends when the run ends or is cancelled.
    """
    from ..core.threads import engine_threads

    with engine_threads(1):
        return (yield from separate_steps(snap.samples, snap.sample_rate, snap.notes, snap.groups, snap.params))


def separation_to_files_steps(snap: Snapshot, folder: Path, *, song: str, fmt: str = "wav", bits: str = "24",
                              score: Score | None = None):
    """The separation of a snapshot written straight to stem files in ``folder`` block by block
    (``io.stem_files``): returns a ``StemFileReport``. Closing the generator (Cancel) leaves
    nothing in the folder. BLAS is held to one thread as in ``separation_steps``."""
    from ..core.threads import engine_threads
    from ..io.stem_files import separate_to_files_steps

    with engine_threads(1):
        return (yield from separate_to_files_steps(snap.samples, snap.sample_rate, snap.notes, snap.groups,
                                                   snap.params, folder, song=song, fmt=fmt, bits=bits, score=score))
