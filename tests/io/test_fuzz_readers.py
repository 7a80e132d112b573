"""Structure-aware fuzzing of the audio and MIDI readers.

Every generated file must either load into a valid object or raise ``InputError`` naming the
file; nothing else may escape (no crash, no hang, no traceback for a user). CI runs a few hundred
cases per reader; ``pytest -m slow`` runs 10,000 per reader.
"""

from __future__ import annotations

import io
import os
import struct

import mido
import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stemroll.io.audio import FileSamples, load_audio
from stemroll.io.errors import InputError
from stemroll.io.midi import load_midi

CI_EXAMPLES = int(os.environ.get("STEMROLL_FUZZ_EXAMPLES", "300"))
LONG_EXAMPLES = 10_000


def _wav_bytes(fmt: str, subtype: str, rate: int, channels: int, n: int) -> bytes:
    buf = io.BytesIO()
    x = (0.1 * np.sin(np.arange(n * channels) * 0.05)).reshape(n, channels).astype(np.float32)
    sf.write(buf, x, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


SEEDS = {
    "wav16": ("WAV", "PCM_16", ".wav"),
    "wavfloat": ("WAV", "FLOAT", ".wav"),
    "flac": ("FLAC", "PCM_24", ".flac"),
    "ogg": ("OGG", "VORBIS", ".ogg"),
}


@st.composite
def mutated_audio(draw):
    kind = draw(st.sampled_from(sorted(SEEDS)))
    fmt, subtype, ext = SEEDS[kind]
    rate = draw(st.sampled_from([8000, 22050, 44100]))
    data = bytearray(_wav_bytes(fmt, subtype, rate, draw(st.integers(1, 3)), draw(st.integers(1, 3000))))
    op = draw(st.sampled_from(["truncate", "flip", "header", "extension", "none"]))
    if op == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif op == "flip":
        for _ in range(draw(st.integers(1, 20))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    elif op == "header" and fmt == "WAV" and len(data) > 44:
        # Absurd sizes, rates and channel counts in the RIFF/fmt/data headers.
        field = draw(st.sampled_from([(4, "<I"), (22, "<H"), (24, "<I"), (28, "<I"), (32, "<H"), (34, "<H"),
                                      (40, "<I")]))
        off, code = field
        big = 0xFFFF if code == "<H" else 0xFFFFFFFF
        struct.pack_into(code, data, off, draw(st.sampled_from([0, 1, 3, 7, 1000, big, big // 2])))
    if op == "extension":
        ext = draw(st.sampled_from([".mid", ".mp3", ".txt", ""]))
    return bytes(data), ext


@st.composite
def mutated_midi(draw):
    mtype = draw(st.sampled_from([0, 1]))
    mid = mido.MidiFile(type=mtype, ticks_per_beat=draw(st.sampled_from([96, 480, 960])))
    for t in range(1 if mtype == 0 else draw(st.integers(1, 3))):
        tr = mido.MidiTrack([mido.MetaMessage("track_name", name=f"t{t}")])
        if t == 0:
            tr.append(mido.MetaMessage("set_tempo", tempo=draw(st.integers(1, 16_000_000))))
        for _ in range(draw(st.integers(0, 12))):
            kind = draw(st.sampled_from(["note_on", "note_off", "control_change", "program_change"]))
            ch = draw(st.integers(0, 15))
            dt = draw(st.integers(0, 2000))
            if kind in ("note_on", "note_off"):
                tr.append(mido.Message(kind, note=draw(st.integers(0, 127)), velocity=draw(st.integers(0, 127)),
                                       channel=ch, time=dt))
            elif kind == "control_change":
                tr.append(mido.Message(kind, control=draw(st.integers(0, 127)), value=draw(st.integers(0, 127)),
                                       channel=ch, time=dt))
            else:
                tr.append(mido.Message(kind, program=draw(st.integers(0, 127)), channel=ch, time=dt))
        mid.tracks.append(tr)
    buf = io.BytesIO()
    mid.save(file=buf)
    data = bytearray(buf.getvalue())
    op = draw(st.sampled_from(["truncate", "flip", "header", "insert", "none"]))
    if op == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif op == "flip":
        for _ in range(draw(st.integers(1, 10))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    elif op == "header":
        off, code = draw(st.sampled_from([(4, ">I"), (8, ">H"), (10, ">H"), (12, ">h"), (18, ">I")]))
        lo, hi = (-32768, 32767) if code == ">h" else (0, 0xFFFF if code == ">H" else 0xFFFFFFFF)
        struct.pack_into(code, data, off, draw(st.integers(lo, hi)))
    elif op == "insert":
        i = draw(st.integers(0, len(data)))
        data[i:i] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


def _check_audio(tmp_path, blob_ext):
    """Both readers, the whole-file one (the editor) and the block one (the command line and
    'Separate to files'): a clear error naming the file, or samples; the same samples when both read."""
    blob, ext = blob_ext
    p = tmp_path / f"fuzz{ext}"
    p.write_bytes(blob)
    blocks = _read_in_blocks(p)
    try:
        a = load_audio(p)
    except InputError as e:
        assert str(e).startswith(p.name + ":") and "\n" not in str(e)
        return
    assert a.samples.ndim == 2 and a.samples.dtype == np.float32 and a.n_samples > 0
    assert np.isfinite(a.samples).all() and 8000 <= a.sample_rate <= 192000
    if blocks is not None:
        np.testing.assert_array_equal(blocks, a.samples)


def _read_in_blocks(p, block: int = 40_000):
    """Every sample of ``p`` through ``io.audio.FileSamples``, or None after an InputError naming it."""
    try:
        with FileSamples(p) as fs:
            parts = [fs.read(s0, min(fs.n_samples, s0 + block)) for s0 in range(0, fs.n_samples, block)]
            assert 8000 <= fs.sample_rate <= 192000 and fs.n_samples > 0
            return np.concatenate(parts, axis=1)
    except InputError as e:
        assert str(e).startswith(p.name + ":") and "\n" not in str(e)
        return None


def _check_midi(tmp_path, blob):
    p = tmp_path / "fuzz.mid"
    p.write_bytes(blob)
    try:
        s = load_midi(p)
    except InputError as e:
        assert str(e).startswith(p.name + ":") and "\n" not in str(e)
        return
    for n in s.notes:
        assert 0 <= n.pitch <= 127 and n.offset_s > n.onset_s >= 0 and np.isfinite(n.offset_s)
        assert s.has_group(n.group_id)


_SETTINGS = dict(deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                 derandomize=True)


@settings(max_examples=CI_EXAMPLES, **_SETTINGS)
@given(mutated_audio())
def test_fuzz_audio_reader(tmp_path, blob_ext):
    _check_audio(tmp_path, blob_ext)


@settings(max_examples=CI_EXAMPLES, **_SETTINGS)
@given(mutated_midi())
def test_fuzz_midi_reader(tmp_path, blob):
    _check_midi(tmp_path, blob)


@pytest.mark.slow
@settings(max_examples=LONG_EXAMPLES, **_SETTINGS)
@given(mutated_audio())
def test_fuzz_audio_reader_long(tmp_path, blob_ext):
    _check_audio(tmp_path, blob_ext)


@pytest.mark.slow
@settings(max_examples=LONG_EXAMPLES, **_SETTINGS)
@given(mutated_midi())
def test_fuzz_midi_reader_long(tmp_path, blob):
    _check_midi(tmp_path, blob)
