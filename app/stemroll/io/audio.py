"""Audio files through soundfile: WAV, FLAC, OGG and MP3, mono or multichannel, 8-192 kHz."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import InputError

MIN_RATE = 8000
MAX_RATE = 192000


@dataclass
class Audio:
    """Decoded audio: ``samples`` float32 (channels, n_samples), ``sample_rate`` in Hz."""

    samples: np.ndarray
    sample_rate: int
    path: Path | None = None
    subtype: str = ""

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def n_samples(self) -> int:
        return self.samples.shape[1]

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate

    def mono(self) -> np.ndarray:
        """Channel mean, float32 (n_samples,)."""
        return self.samples.mean(axis=0)


def probe(path: str | Path) -> sf._SoundFileInfo:
    """Header information without decoding; raises InputError for unreadable files."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a folder, not an audio file")
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise InputError(path, f"not a readable audio file ({_plain(e)})") from None


def load_audio(path: str | Path) -> Audio:
    """Read an audio file as float32 (channels, n_samples) at its own sample rate.

    Raises InputError naming the file for missing, unreadable, empty or out-of-range files.
    """
    path = Path(path)
    info = probe(path)
    if not MIN_RATE <= info.samplerate <= MAX_RATE:
        raise InputError(path, f"sample rate {info.samplerate} Hz is outside the supported {MIN_RATE}-{MAX_RATE} Hz")
    if info.channels < 1:
        raise InputError(path, "has no audio channels")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError, MemoryError) as e:
        raise InputError(path, f"could not be decoded ({_plain(e)})") from None
    if data.shape[0] == 0:
        raise InputError(path, "holds no audio (0 samples)")
    declared = _wav_declared_frames(path, info)
    if declared is not None and data.shape[0] < declared:
        raise InputError(path, f"is truncated: the header promises {declared} samples, the file holds {data.shape[0]}")
    if not np.isfinite(data).all():
        raise InputError(path, "holds samples that are not numbers (NaN or infinity)")
    return Audio(np.ascontiguousarray(data.T), int(rate), path, info.subtype)


def _wav_declared_frames(path: Path, info) -> int | None:
    """Frames the RIFF 'data' chunk header declares (libsndfile silently reads fewer when cut)."""
    if info.format not in ("WAV", "WAVEX"):
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            block = None
            while True:
                ch = f.read(8)
                if len(ch) < 8:
                    return None
                cid, size = ch[:4], int.from_bytes(ch[4:], "little")
                if cid == b"fmt ":
                    fmt = f.read(size)
                    block = int.from_bytes(fmt[12:14], "little")
                    if size % 2:
                        f.read(1)
                elif cid == b"data":
                    if not block or size in (0, 0xFFFFFFFF):
                        return None
                    return size // block
                else:
                    f.seek(size + (size % 2), 1)
    except OSError:
        return None


def _plain(e: Exception) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    # libsndfile prefixes messages with the path; keep only the problem.
    if ": " in msg and ("Error opening" in msg or "Error" in msg.split(":")[0]):
        msg = msg.split(": ", 1)[-1]
    return msg
