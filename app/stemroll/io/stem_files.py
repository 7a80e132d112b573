"""Separate a recording straight to stem files, block by block, in bounded memory.

``separate_to_files_steps`` is the streamed counterpart of ``core.separation.separate_steps``
followed by ``io.export.export_stems``: it fits the model (``core.separation.model_steps``), then
writes each block of stems (``core.stem_stream.stem_blocks``) as it comes through
``io.export.open_stems``, so neither the stems nor (with an ``io.audio.FileSamples`` source)
the recording are ever held whole. All files appear together at the end, or none do (a failure
or a cancel - closing the generator - removes the temporary files; existing files stay as they
were). The folder is checked, and the temporary files created, before the long factorisation.

Per-stem RMS and the null test (peak of ``sum(stems) - mix``) come from running sums over the
blocks.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Generator, Sequence

import numpy as np

from ..core.constraints import RESIDUAL_GROUP
from ..core.params import SeparationParams
from ..core.score import RESIDUAL_NAME, Note, NoteGroup, Score
from ..core.separation import Progress, audio_source, model_steps
from ..core.stem_stream import SeparationModel, stem_blocks
from ..core.threads import default_engine_threads
from .export import ExportReport, StemInfo, open_stems


@dataclass(frozen=True)
class StemFileReport:
    """What a streamed separation wrote: ``export`` (files, warnings); ``stems``: (name, group id,
    notes, RMS) per stem in file order; ``null_db``: peak of sum(stems) - mix in dBFS (-inf when
    exact); ``model``: the fitted model (costs, unisons...); ``elapsed_s``: the whole run."""

    export: ExportReport
    stems: tuple[tuple[str, int, int, float], ...]
    null_db: float
    model: SeparationModel
    elapsed_s: float


def separate_to_files_steps(audio, sample_rate: int, notes: Sequence[Note], groups: Sequence[NoteGroup],
                            params: SeparationParams, out_dir: str | Path, *, song: str, fmt: str = "wav",
                            bits: str = "24", force: bool = False, score: Score | None = None,
                            n_threads: int | None = None) -> Generator[Progress, None, StemFileReport]:
    """Separate ``audio`` (float32 (channels, n_samples) or a ``core.samples.Samples`` source) into
    ``out_dir``: one file per group plus the residual, stems.json, and the groups MIDI if ``score``.

    Yields ``Progress`` ('analyse', 'factorise', 'refine', then 'resynthesise' while the blocks
    are written, and 'done'); returns a ``StemFileReport``. Names, formats and errors as
    ``io.export.export_stems``. ``n_threads``: threads for the engine and the resynthesis
    (default: every core but one; the command line, with no window to keep alive, uses all).
    """
    t0 = time.perf_counter()
    src = audio_source(audio)
    infos = [StemInfo(g.name, g.id, sum(n.group_id == g.id for n in notes)) for g in groups]
    infos.append(StemInfo(RESIDUAL_NAME, RESIDUAL_GROUP, 0))
    with open_stems(out_dir, infos, sample_rate=sample_rate, channels=src.channels, song=song, fmt=fmt, bits=bits,
                    force=force, score=score, params=params) as writer:
        model = yield from model_steps(src, sample_rate, notes, groups, params, n_threads=n_threads)
        n = max(src.n_samples, 1)
        null_peak = 0.0
        for s0, block in stem_blocks(model, src, threads=n_threads or default_engine_threads()):
            m = block.shape[2]
            if m:
                residue = block.sum(axis=0)
                residue -= src.read(s0, s0 + m)
                null_peak = max(null_peak, float(np.max(np.abs(residue))))
            writer.write(block)
            yield Progress("resynthesise", min(1.0, (s0 + m) / n), elapsed_s=time.perf_counter() - t0)
    stems = tuple((s.name, s.group_id, s.note_count, writer.rms(i)) for i, s in enumerate(infos))
    null_db = 20 * math.log10(null_peak) if null_peak > 0 else float("-inf")
    elapsed = time.perf_counter() - t0
    yield Progress("done", 1.0, elapsed_s=elapsed)
    return StemFileReport(writer.report, stems, null_db, model, elapsed)
