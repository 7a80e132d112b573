"""Audio files through soundfile: WAV, FLAC, OGG and MP3, mono or multichannel, 8-192 kHz.

``load_audio`` decodes a whole file into memory; ``FileSamples`` reads it block by block (for
separating long recordings straight to files).
"""

from __future__ import annotations

import os
import tempfile
import threading
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


def _checked_info(path: Path):
    """``probe(path)`` after the checks every reader makes: rate in range, at least one channel."""
    info = probe(path)
    if not MIN_RATE <= info.samplerate <= MAX_RATE:
        raise InputError(path, f"sample rate {info.samplerate} Hz is outside the supported {MIN_RATE}-{MAX_RATE} Hz")
    if info.channels < 1:
        raise InputError(path, "has no audio channels")
    return info


def _check_frames(path: Path, info, frames: int) -> None:
    if frames == 0:
        raise InputError(path, "holds no audio (0 samples)")
    declared = _wav_declared_frames(path, info)
    if declared is not None and frames < declared:
        raise InputError(path, f"is truncated: the header promises {declared} samples, the file holds {frames}")


def _not_numbers(path: Path) -> InputError:
    return InputError(path, "holds samples that are not numbers (NaN or infinity)")


def load_audio(path: str | Path) -> Audio:
    """Read an audio file as float32 (channels, n_samples) at its own sample rate.

    Raises InputError naming the file for missing, unreadable, empty or out-of-range files.
    """
    path = Path(path)
    info = _checked_info(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError, MemoryError) as e:
        raise InputError(path, f"could not be decoded ({_plain(e)})") from None
    _check_frames(path, info, data.shape[0])
    if not np.isfinite(data).all():
        raise _not_numbers(path)
    return Audio(np.ascontiguousarray(data.T), int(rate), path, info.subtype)


class FileSamples:
    """A recording read from its file block by block (a ``core.samples.Samples`` source).

    Nothing but one block is held in memory. Formats whose decoders cannot seek to an exact
    sample (MP3, Ogg) are decoded once into an unnamed temporary file of float32 samples
    (channels x n_samples x 4 bytes of disk, freed on ``close``). ``read`` raises InputError
    naming the file when it cannot be read, or holds NaN or infinite samples. Thread-safe.
    Use as a context manager, or call ``close()``.
    """

    BLOCK = 1 << 18  # frames per read while decoding to the temporary file

    def __init__(self, path: str | Path):
        self.path = Path(path)
        info = _checked_info(self.path)
        self.sample_rate, self.channels, self.subtype = int(info.samplerate), int(info.channels), info.subtype
        self._lock = threading.Lock()
        self._spool = None
        try:
            self._file = sf.SoundFile(str(self.path))
            if info.format in ("MP3", "MPEG", "OGG"):
                self.n_samples = self._decode_to_spool()
            else:
                self.n_samples = int(self._file.frames)
        except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as e:
            self.close()
            raise InputError(self.path, f"could not be decoded ({_plain(e)})") from None
        try:
            _check_frames(self.path, info, self.n_samples)
        except InputError:
            self.close()
            raise

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate

    def _decode_to_spool(self) -> int:
        self._spool = tempfile.TemporaryFile(prefix="stemroll-", suffix=".f32")
        n = 0
        for block in self._file.blocks(self.BLOCK, dtype="float32", always_2d=True):
            self._spool.write(np.ascontiguousarray(block, np.float32).tobytes())
            n += block.shape[0]
        self._spool.flush()
        self._file.close()
        self._file = None
        return n

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``start .. stop-1``: float32 (channels, stop - start), zeros outside the recording."""
        out = np.zeros((self.channels, max(0, stop - start)), np.float32)
        lo, hi = max(start, 0), min(stop, self.n_samples)
        if hi <= lo:
            return out
        try:
            with self._lock:
                if self._spool is not None:
                    size = 4 * self.channels
                    raw = os.pread(self._spool.fileno(), (hi - lo) * size, lo * size)
                    data = np.frombuffer(raw, np.float32).reshape(-1, self.channels)
                else:
                    self._file.seek(lo)
                    data = self._file.read(hi - lo, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, OSError, ValueError, AttributeError) as e:
            raise InputError(self.path, f"could not be read ({_plain(e)})") from None
        if data.shape[0] != hi - lo:
            raise InputError(self.path, f"could not be read: {data.shape[0]} of {hi - lo} samples from {lo}")
        if not np.isfinite(data).all():
            raise _not_numbers(self.path)
        out[:, lo - start: hi - start] = data.T
        return out

    def mono(self) -> np.ndarray:
        """Channel mean, float32 (n_samples,), read block by block."""
        out = np.empty(self.n_samples, np.float32)
        for a in range(0, self.n_samples, self.BLOCK):
            b = min(self.n_samples, a + self.BLOCK)
            out[a:b] = self.read(a, b).mean(axis=0)
        return out

    def close(self) -> None:
        for f in (getattr(self, "_file", None), self._spool):
            if f is not None:
                f.close()
        self._file = self._spool = None

    def __enter__(self) -> "FileSamples":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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
