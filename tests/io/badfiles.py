"""Hand-made bad files, one per failure mode listed in PLATFORM.md (made at test time)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf


def _chunk(cid: bytes, data: bytes) -> bytes:
    return cid + struct.pack(">I", len(data)) + data


def _header(fmt: int = 1, ntracks: int = 1, division: int = 480) -> bytes:
    return _chunk(b"MThd", struct.pack(">HHh", fmt, ntracks, division))


NOTE = bytes([0x00, 0x90, 60, 64, 0x60, 0x80, 60, 0])
END = bytes([0x00, 0xFF, 0x2F, 0x00])

BAD_MIDI = {
    "empty.mid": (b"", "empty or cut short"),
    "truncated.mid": (_header() + b"MTrk\x00\x00\x01\x00" + NOTE, "empty or cut short"),
    "not_midi.mid": (b"RIFF\x00\x00\x00\x00WAVEfmt not a midi file at all", "not a MIDI file"),
    "running_status.mid": (_header() + _chunk(b"MTrk", bytes([0x00, 60, 64]) + END), "running status"),
    "bad_key_signature.mid": (_header() + _chunk(b"MTrk", bytes([0x00, 0xFF, 0x59, 0x02, 0x20, 0x00]) + END),
                              "key signature"),
    "unknown_chunk.mid": (_header() + _chunk(b"XXXX", b"junk") + _chunk(b"MTrk", NOTE + END), "MTrk"),
    "type2.mid": (_header(fmt=2) + _chunk(b"MTrk", NOTE + END), "type 2"),
    "smpte.mid": (_header(division=struct.unpack(">h", bytes([0xE7, 0x28]))[0])
                  + _chunk(b"MTrk", NOTE + END), "SMPTE"),
}

ODD_BUT_VALID_MIDI = {
    "data_byte_above_127.mid": _header() + _chunk(b"MTrk", bytes([0x00, 0x90, 60, 200, 0x60, 0x80, 60, 0]) + END),
    "velocity0_noteoff.mid": _header() + _chunk(b"MTrk", bytes([0x00, 0x90, 60, 64, 0x60, 0x90, 60, 0]) + END),
    "drums_only.mid": _header() + _chunk(b"MTrk", bytes([0x00, 0x99, 36, 100, 0x60, 0x89, 36, 0]) + END),
    "no_notes.mid": _header() + _chunk(b"MTrk", END),
}


def write_bad_midi(folder: Path) -> dict[str, tuple[Path, str]]:
    out = {}
    for name, (data, expect) in BAD_MIDI.items():
        p = folder / name
        p.write_bytes(data)
        out[name] = (p, expect)
    return out


def write_bad_audio(folder: Path) -> dict[str, tuple[Path, str]]:
    """Audio files that must be refused, with a phrase the error must contain."""
    out = {}
    p = folder / "garbage.wav"
    p.write_bytes(b"this is not audio" * 10)
    out["garbage"] = (p, "not a readable audio file")
    p = folder / "empty.flac"
    p.write_bytes(b"")
    out["empty"] = (p, "not a readable audio file")
    good = folder / "good.wav"
    sf.write(str(good), np.zeros(22050, np.float32), 22050, subtype="PCM_16")
    data = good.read_bytes()
    p = folder / "truncated.wav"
    p.write_bytes(data[: len(data) // 2])
    out["truncated"] = (p, "truncated")
    p = folder / "missing.wav"
    out["missing"] = (p, "file not found")
    p = folder / "rate_4000.wav"
    sf.write(str(p), np.zeros(4000, np.float32), 4000)
    out["low rate"] = (p, "outside the supported")
    p = folder / "zero_samples.wav"
    sf.write(str(p), np.zeros(0, np.float32), 22050)
    out["zero samples"] = (p, "no audio")
    p = folder / "a_folder.wav"
    p.mkdir()
    out["folder"] = (p, "is a folder")
    return out
