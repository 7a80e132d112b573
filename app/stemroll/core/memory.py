"""How much memory opening and separating a recording will take, before doing it.

The estimates are pure arithmetic on the sizes the pipeline allocates (all float32 / complex64):

* opening: the decoded samples (soundfile's frame-major read plus the channel-major copy) and the
  display spectrogram (the magnitude of the mono mix, the log-frequency image and the chunked
  temporaries of ``core.display``);
* separating (``core.separation.separate_steps``): the mean magnitude V, the templates W and
  about four activation-sized arrays H (constraints, scaling and the engine's two copies), the
  stems, and the temporaries of the one analysis or resynthesis segment in flight
  (``core.segments``: no full-size complex STFT is held).

Checked against tracemalloc's peak of real separations (tests/core/test_memory.py): the estimate
is 0-10 % above what is measured.

``available_bytes()`` reads what the system can still give (``MemAvailable`` in /proc/meminfo,
psutil where installed); ``None`` when it cannot tell. Sizes are in bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

F32 = 4
C64 = 8
DISPLAY_WINDOW_S = 0.046  # as ui.jobs' display spectrogram
DISPLAY_OVERLAP = 4
DISPLAY_ROWS = 349  # rows of core.display's image (A0..C8, 4 per semitone)
DISPLAY_CHUNK = 4096  # frames core.display processes at a time
H_COPIES = 4


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
                     n_groups: int) -> MemoryEstimate:
    """Peak memory of one separation (``core.separation.separate_steps``), beyond the recording itself.

    n_components: K, the templates (``component_count``); n_groups: groups with notes, without the residual.
    """
    _check(n_samples=n_samples, channels=channels, sample_rate=1)
    if n_fft < 2 or hop_length < 1 or n_components < 0 or n_groups < 0:
        raise ValueError(f"invalid sizes: n_fft {n_fft}, hop_length {hop_length}, "
                         f"n_components {n_components}, n_groups {n_groups}")
    bins, frames = n_fft // 2 + 1, _frames(n_samples, hop_length)
    grid = bins * frames * F32  # the magnitude V, float32
    model = bins * n_components * F32 + H_COPIES * n_components * frames * F32
    stems = (n_groups + 1) * channels * n_samples * F32
    # One segment in flight (core.segments): analysis of up to 1024 frames (windowed frames and
    # their spectrum), or resynthesis of up to 512 frames plus the window's overlap (spectrum,
    # masked copy, masks, inverse-transformed frames); 1.6 covers the allocator's slack, as measured.
    f_mag = min(frames, 1024)
    f_res = min(frames, 512) + n_fft // hop_length
    mag_seg = f_mag * (2 * n_fft * F32 + bins * (C64 + F32))
    res_seg = f_res * (bins * (2 * C64 + n_groups * F32) + 2 * n_fft * F32)
    segment = int(1.6 * max(mag_seg, res_seg))
    parts = (("magnitude", grid), ("model", model), ("stems", stems), ("segment", segment))
    total = grid + model + stems + segment
    return MemoryEstimate(total, parts)


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
