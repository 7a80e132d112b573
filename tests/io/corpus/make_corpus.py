"""Regenerate the bad-file corpus beside this script: ``python tests/io/corpus/make_corpus.py``.

Tiny hand-made files, each breaking a reader in one way (or odd but valid). ``expected.json``
says which reader each file is meant for and what it must do: load, or refuse with a phrase.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).parent
P = '{"format": "stemroll-project", "version": 1, '
NOTE = '{"id": 0, "pitch": 60, "onset_s": 0.0, "offset_s": 0.5}'
VALID = json.dumps({"format": "stemroll-project", "version": 1, "groups": [{"id": 0, "name": "Bass ♪"}],
                    "notes": [{"id": 0, "pitch": 40, "onset_s": 0.0, "offset_s": 0.5, "group_id": 0}],
                    "params": {"iterations": 10}, "audio": {"relative": "missing.wav", "absolute": None}})


def wav(x: np.ndarray, rate: int, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, subtype=subtype, format=fmt)
    return buf.getvalue()


def midi_chunk(cid: bytes, data: bytes) -> bytes:
    return cid + struct.pack(">I", len(data)) + data


def mthd(fmt: int = 1, ntracks: int = 1, division: int = 480) -> bytes:
    return midi_chunk(b"MThd", struct.pack(">HHh", fmt, ntracks, division))


MNOTE = bytes([0x00, 0x90, 60, 64, 0x60, 0x80, 60, 0])
MEND = bytes([0x00, 0xFF, 0x2F, 0x00])
TONE = (0.1 * np.sin(np.arange(400) * 0.1)).astype(np.float32)
GOOD_WAV = wav(TONE, 8000)
GOOD_MID = mthd() + midi_chunk(b"MTrk", MNOTE + MEND)

# name -> (bytes, reader, expected): "loads" or a phrase the error must contain
CASES = {
    # ---- projects
    "project_empty.stemroll": (b"", "project", "is empty"),
    "project_truncated.stemroll": (VALID[: len(VALID) // 2].encode(), "project", "not valid JSON"),
    "project_not_json.stemroll": (b"hello, I am not a project", "project", "not valid JSON"),
    "project_binary.stemroll": (bytes(range(256)), "project", "not a text file"),
    "project_utf16.stemroll": (VALID.encode("utf-16"), "project", "not a text file"),
    "project_other_format.stemroll": (b'{"format": "ardour-session", "version": 1}', "project", "not a Stemroll project"),
    "project_top_level_list.stemroll": (b"[1, 2, 3]", "project", "not a Stemroll project"),
    "project_newer.stemroll": ((P[:-2].replace('"version": 1', '"version": 7') + "}").encode(), "project", "newer Stemroll"),
    "project_version_text.stemroll": (b'{"format": "stemroll-project", "version": "1"}', "project", "invalid format version"),
    "project_notes_not_list.stemroll": ((P + '"notes": {"0": 1}}').encode(), "project", "'notes' must be a list"),
    "project_note_no_pitch.stemroll": ((P + '"notes": [{"id": 0, "onset_s": 0, "offset_s": 1}]}').encode(),
                                       "project", "missing field 'pitch'"),
    "project_note_nan.stemroll": ((P + '"notes": [{"id": 0, "pitch": 60, "onset_s": NaN, "offset_s": 1}]}').encode(),
                                  "project", "onset_s must be a number"),
    "project_note_backwards.stemroll": ((P + '"notes": [{"id": 0, "pitch": 60, "onset_s": 2, "offset_s": 1}]}').encode(),
                                        "project", "ends (1 s) before it starts (2 s)"),
    "project_pitch_200.stemroll": ((P + '"notes": [' + NOTE.replace("60", "200") + "]}").encode(),
                                   "project", "pitch must be a whole number 0..127"),
    "project_huge_time.stemroll": ((P + '"notes": [{"id": 0, "pitch": 60, "onset_s": 0, "offset_s": 1e400}]}').encode(),
                                   "project", "offset_s must be a number"),
    "project_deep.stemroll": ((P + '"groups": ' + "[" * 3000 + "]" * 3000 + "}").encode(), "project",
                              "not readable JSON"),
    "project_long_number.stemroll": ((P + '"current_group_id": ' + "7" * 5000 + "}").encode(), "project",
                                     "not readable JSON"),
    "project_params_types.stemroll": ((P + '"params": {"iterations": "many"}}').encode(), "project",
                                      "params.iterations must be a whole number"),
    "project_params_absurd.stemroll": ((P + '"params": {"n_fft": 1073741824}}').encode(), "project",
                                       "params.n_fft must be a whole number"),
    "project_duplicate_ids.stemroll": ((P + '"notes": [' + NOTE + ", " + NOTE + "]}").encode(), "project",
                                       "duplicate note id 0"),
    "project_group_not_object.stemroll": ((P + '"groups": ["bass"]}').encode(), "project", "group 0 must be an object"),
    "project_audio_nul.stemroll": ((P + '"audio": {"relative": "a\\u0000b.wav", "absolute": "/x\\u0000"}}').encode(),
                                   "project", "loads"),
    "project_bom.stemroll": (b"\xef\xbb\xbf" + VALID.encode(), "project", "loads"),
    "project_named.wav": (VALID.encode(), "project", "loads"),
    # ---- audio
    "audio_garbage.wav": (b"this is not audio" * 4, "audio", "not a readable audio file"),
    "audio_empty.wav": (b"", "audio", "not a readable audio file"),
    "audio_header_only.wav": (GOOD_WAV[:44], "audio", "no audio"),
    "audio_truncated.wav": (GOOD_WAV[: len(GOOD_WAV) // 2], "audio", "truncated"),
    "audio_zero_channels.wav": (GOOD_WAV[:22] + struct.pack("<H", 0) + GOOD_WAV[24:], "audio",
                                "not a readable audio file"),
    "audio_rate_4e9.wav": (GOOD_WAV[:24] + struct.pack("<I", 4_000_000_000) + GOOD_WAV[28:], "audio",
                           "not a readable audio file"),
    "audio_rate_4000.wav": (wav(TONE, 4000), "audio", "outside the supported"),
    "audio_nan.wav": (wav(np.full(64, np.nan, np.float32), 8000, "FLOAT"), "audio", "not numbers"),
    "audio_midi_inside.wav": (GOOD_MID, "audio", "not a readable audio file"),
    "audio_truncated.flac": (wav(TONE, 8000, "PCM_16", "FLAC")[:60], "audio", "loads-or-refuses"),
    "audio_text.flac": (b"fLaC but not really", "audio", "not a readable audio file"),
    # ---- MIDI
    "midi_empty.mid": (b"", "midi", "empty or cut short"),
    "midi_truncated.mid": (mthd() + b"MTrk\x00\x00\x01\x00" + MNOTE, "midi", "empty or cut short"),
    "midi_wav_inside.mid": (GOOD_WAV, "midi", "not a MIDI file"),
    "midi_running_status.mid": (mthd() + midi_chunk(b"MTrk", bytes([0x00, 60, 64]) + MEND), "midi", "running status"),
    "midi_bad_key.mid": (mthd() + midi_chunk(b"MTrk", bytes([0x00, 0xFF, 0x59, 0x02, 0x20, 0x00]) + MEND), "midi",
                         "key signature"),
    "midi_unknown_chunk.mid": (mthd() + midi_chunk(b"XXXX", b"junk") + midi_chunk(b"MTrk", MNOTE + MEND), "midi",
                               "MTrk"),
    "midi_type2.mid": (mthd(fmt=2) + midi_chunk(b"MTrk", MNOTE + MEND), "midi", "type 2"),
    "midi_65535_tracks.mid": (mthd(ntracks=65535) + midi_chunk(b"MTrk", MNOTE + MEND), "midi", "loads-or-refuses"),
    "midi_project_inside.mid": (VALID.encode(), "midi", "not a MIDI file"),
    "midi_velocity0.mid": (mthd() + midi_chunk(b"MTrk", bytes([0x00, 0x90, 60, 64, 0x60, 0x90, 60, 0]) + MEND),
                           "midi", "loads"),
}


def main() -> None:
    for old in HERE.iterdir():
        if old.name not in ("make_corpus.py", "expected.json") and old.is_file():
            old.unlink()
    expected = {}
    for name, (data, reader, expect) in CASES.items():
        (HERE / name).write_bytes(data)
        expected[name] = {"reader": reader, "expect": expect}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
