"""How much memory opening and separating a recording will take, before doing it.

The estimates are pure arithmetic on the sizes the pipeline allocates (all float32 / complex64):

* opening: the decoded samples (soundfile's frame-major read plus the channel-major copy) and the
  display spectrogram (the magnitude of the mono mix, the log-frequency image and the chunked
  temporaries of ``core.display``);
* separating (``core.separation.separate_steps`` in the editor, ``io.stem_files`` streamed to
  files by the command line or for a recording too long to hold its stems): the largest of its
  stages. The mean magnitude V (float32), the templates W and about four activation-sized
  arrays H (constraints, scaling and the engine's two copies) while fitting; the refinement's
  long-window magnitude (float16, after V is freed); the stems (unless streamed) while
  resynthesising; and the temporaries of the one analysis or resynthesis segment in flight
  (``core.segments``: no full-size complex STFT is held).

Checked against tracemalloc's peak of real separations (tests/core/test_memory.py; without the
compiled engine's own memory, which tracemalloc does not see), and the streamed estimate against
the peak resident memory of ``stemroll separate`` on 20 and 60 minutes of stereo audio
(benchmarks/memory.py: 2-7 % above what is measured beyond the interpreter's own).

``available_bytes()`` reads what the system can still give (``MemAvailable`` in /proc/meminfo,
psutil where installed); ``None`` when it cannot tell. Sizes are in bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

F16 = 2
F32 = 4
C64 = 8
DISPLAY_WINDOW_S = 0.046  # as ui.jobs' display spectrogram
DISPLAY_OVERLAP = 4
DISPLAY_ROWS = 349  # rows of core.display's image (A0..C8, 4 per semitone)
DISPLAY_CHUNK = 4096  # frames core.display processes at a time
H_COPIES = 6  # activation-sized arrays alive at once: constraints, scaled start, the engine's copies and plans
ENGINE_RUNTIME = 128 * 2**20  # the compiled kernels (numba) and their buffers, while the engine runs


@dataclass(frozen=True)
class MemoryEstimate:
    """``total_bytes`` at the peak, and ``parts`` (name -> bytes) that make it up."""

    total_bytes: int
    parts: tuple[tuple[str, int], ...]

    def describe(self) -> str:
        """'about 3.2 GB (STFT 1.6 GB, masks 1.1 GB, ...)', largest parts first."""
        top = sorted(self.parts, key=lambda p: -p[1])[:3]
        return f"about {format_bytes(self.total_bytes)} (" + ", ".join(f"{k} {format_bytes(v)}" for k, v in top) + ")"


def format_bytes(n: float) -> str:
    """Bytes in plain words: '850 MB', '3.2 GB'."""
    if n >= 10 * 2**30:
        return f"{n / 2**30:.0f} GB"
    if n >= 2**30:
        return f"{n / 2**30:.1f} GB"
    return f"{max(n, 0) / 2**20:.0f} MB"


def _frames(n_samples: int, hop_length: int) -> int:
    return 1 + n_samples // hop_length


def display_fft(sample_rate: int) -> int:
    """The display spectrogram's window (power of two closest to DISPLAY_WINDOW_S)."""
    return int(2 ** round(math.log2(max(16.0, sample_rate * DISPLAY_WINDOW_S))))


def opening_bytes(*, n_samples: int, channels: int, sample_rate: int) -> MemoryEstimate:
    """Peak memory of opening a recording of ``n_samples`` x ``channels`` at ``sample_rate`` Hz."""
    _check(n_samples=n_samples, channels=channels, sample_rate=sample_rate)
    samples = n_samples * channels * F32
    n_fft = display_fft(sample_rate)
    bins, frames = n_fft // 2 + 1, _frames(n_samples, n_fft // DISPLAY_OVERLAP)
    # core.display works through the frames in chunks, with about 26 row-sized temporaries per frame.
    display = (min(frames, DISPLAY_CHUNK) * DISPLAY_ROWS * F32 * 26 + frames * (bins + DISPLAY_ROWS) * F32
               + n_samples * F32)
    parts = (("decoded audio", 2 * samples), ("display", display))
    return MemoryEstimate(sum(v for _, v in parts), parts)


def separation_bytes(*, n_samples: int, channels: int, n_fft: int, hop_length: int, n_components: int,
                     n_groups: int, fine_n_fft: int = 0, streamed: bool = False,
                     runtime: bool = True, threads: int = 1) -> MemoryEstimate:
    """Peak memory of one separation, beyond the recording itself (held by the editor, or read from
    its file block by block by the command line).

    n_components: K, the templates (``component_count``); n_groups: groups with notes, without the
    residual; fine_n_fft: the refinement's long window (``core.refine.fine_stft_config``; 0: no
    refinement). ``streamed``: the stems go to files block by block (``io.stem_files``) instead of
    being held (``core.separation.separate_steps``). The peak is that of the largest stage:

    * analysis and factorisation: the float32 magnitude V, W, H and one segment in flight;
    * refinement: the float16 long-window magnitude (V is freed first), the long templates and H;
    * resynthesis: W, H, one block's spectra and masks, and (not streamed) the stems.

    ``runtime``: count the compiled engine's code and buffers while it runs (``ENGINE_RUNTIME``;
    resident memory that Python's allocator statistics do not see). ``threads``: the thread budget
    the separation runs with (``core.threads``): that many segments in flight, and each engine
    thread's own template-update sums (numerator and denominator, K x bins float32 each).
    """
    _check(n_samples=n_samples, channels=channels, sample_rate=1)
    threads = max(1, int(threads))
    if n_fft < 2 or hop_length < 1 or n_components < 0 or n_groups < 0 or (fine_n_fft and fine_n_fft < n_fft):
        raise ValueError(f"invalid sizes: n_fft {n_fft}, hop_length {hop_length}, fine_n_fft {fine_n_fft}, "
                         f"n_components {n_components}, n_groups {n_groups}")
    frames = _frames(n_samples, hop_length)
    bins = n_fft // 2 + 1
    last_fft = fine_n_fft or n_fft  # the window of the masks
    last_bins = last_fft // 2 + 1
    templates = (bins + (last_bins if fine_n_fft else 0)) * n_components * F32
    model = templates + H_COPIES * n_components * frames * F32
    engine = ENGINE_RUNTIME if runtime else 0
    sums = threads * 2 * n_components * F32  # per engine thread, times the bins
    stages = [(("magnitude", bins * frames * F32), ("model", model + sums * bins),
               ("segment", max(threads * _analysis_segment(n_fft, hop_length, channels, min(frames, 1024)),
                               _engine_scratch(bins, frames))), ("engine", engine))]
    if fine_n_fft:  # the long window's segments have as many samples as the analysis ones
        stages.append((("long-window magnitude", last_bins * frames * F16), ("model", model + sums * last_bins),
                       ("segment", max(threads * _analysis_segment(last_fft, hop_length, channels,
                                                                   min(frames, 1024 * n_fft // last_fft)),
                                       _engine_scratch(last_bins, frames))), ("engine", engine)))
    stems = 0 if streamed else (n_groups + 1) * channels * n_samples * F32
    block_frames = min(frames, 512 * n_fft // last_fft)
    stages.append((("stems", stems), ("model", model),
                   ("segment", threads * _resynthesis_segment(last_fft, hop_length, channels, block_frames,
                                                              n_groups))))
    parts = max(stages, key=lambda st: sum(v for _, v in st))
    return MemoryEstimate(sum(v for _, v in parts), tuple((k, v) for k, v in parts if v))


def _analysis_segment(n_fft: int, hop: int, channels: int, f: int) -> int:
    """Temporaries of ``core.segments.magnitude`` on ``f`` frames: the samples read, the windowed
    frames and their spectrum (twice: the transform's result and its transposed copy), the sum."""
    return f * (2 * n_fft * F32 + (n_fft // 2 + 1) * (C64 + F32) + 3 * channels * hop * F32 // 2)


def _engine_scratch(bins: int, frames: int) -> int:
    """The factorisation's temporaries besides its buffers: the check of V's sign, a boolean per
    cell of up to 1024 frames (the cost's constant is one compiled sweep, with none)."""
    return bins * min(frames, 1024)


def _resynthesis_segment(n_fft: int, hop: int, channels: int, f: int, n_groups: int) -> int:
    """Temporaries of one ``core.segments.resynthesis_blocks`` block of ``f`` frames (plus the
    window's overlap): spectrum, masked copy, masks and their sum, inverse-transformed frames,
    and the block of stems with the samples read."""
    f_res = f + n_fft // hop
    per_frame = (n_fft // 2 + 1) * (2 * C64 + (n_groups + 3) * F32) + 2 * n_fft * F32
    return f_res * per_frame + 2 * (n_groups + 1) * channels * f * hop * F32


def separation_estimate(*, n_samples: int, channels: int, sample_rate: int, notes, groups, params,
                        streamed: bool = False, runtime: bool = True, threads: int = 1) -> MemoryEstimate:
    """``separation_bytes`` for a score (``core.score.Note``s and ``NoteGroup``s) and
    ``core.params.SeparationParams``: the windows and the number of templates they imply."""
    from .refine import fine_stft_config
    from .separation import resolve_stft

    cfg = resolve_stft(sample_rate, params)
    fine = fine_stft_config(cfg, sample_rate, params)
    pitches: dict[int, set[int]] = {g.id: set() for g in groups}
    for n in notes:
        pitches.setdefault(n.group_id, set()).add(n.pitch)
    k = component_count({g: len(p) for g, p in pitches.items()}, onset_templates=params.onset_templates,
                        residual_components=params.residual_components)
    return separation_bytes(n_samples=n_samples, channels=channels, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
                            n_components=k, n_groups=len(groups), fine_n_fft=fine.n_fft if fine else 0,
                            streamed=streamed, runtime=runtime, threads=threads)


def component_count(pitches_per_group: dict[int, int], *, onset_templates: bool, residual_components: int) -> int:
    """K for a score: one harmonic (and one onset) template per (group, pitch), plus the residual's."""
    per = 2 if onset_templates else 1
    return per * sum(pitches_per_group.values()) + residual_components


def available_bytes() -> int | None:
    """Memory the system can still give without swapping, in bytes; None when it cannot tell."""
    try:
        import psutil  # optional; not a dependency
        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - missing or broken psutil: fall back to /proc
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def shortfall(needed_bytes: int, available: int | None, *, reserve_bytes: int = 256 * 2**20) -> int:
    """How many bytes are missing (0 when it fits or the available memory is unknown).

    ``reserve_bytes`` is kept free for the window, the player and the rest of the system.
    """
    if available is None:
        return 0
    return max(0, int(needed_bytes) + reserve_bytes - int(available))


def _check(*, n_samples: int, channels: int, sample_rate: int) -> None:
    if n_samples < 0 or channels < 1 or sample_rate < 1:
        raise ValueError(f"invalid recording size: {n_samples} samples, {channels} channels, {sample_rate} Hz")
