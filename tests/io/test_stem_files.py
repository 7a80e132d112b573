"""Separating straight to files: the recording read block by block from its file, the stems written
block by block; the same files as separating in memory and exporting; all files or none."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pytest
import soundfile as sf

from stemroll.core.nmf import run
from stemroll.core.params import SeparationParams
from stemroll.core.separation import separate_steps
from stemroll.io.audio import FileSamples, load_audio
from stemroll.io.errors import InputError
from stemroll.io.export import StemInfo, export_stems, open_stems
from stemroll.io.stem_files import separate_to_files_steps
from tests.io.badfiles import write_bad_audio
from tests.material import synth, two_hand_score

RATE = 22050
PARAMS = SeparationParams(iterations=3)
NAMES = ["song - left hand.wav", "song - residual.wav", "song - right hand.wav", "stems.json"]


@pytest.fixture(scope="module")
def piece(tmp_path_factory):
    """A 14 s stereo recording (several resynthesis blocks) as a float WAV, and its score."""
    d = tmp_path_factory.mktemp("piece")
    score = two_hand_score(6)
    y = synth(score.notes, sample_rate=RATE, duration_s=14.0)
    stereo = np.stack([y, 0.7 * y], axis=1).astype(np.float32)
    sf.write(str(d / "song.wav"), stereo, RATE, subtype="FLOAT")
    return d / "song.wav", score


def _steps(path, score, out, **kw):
    src = FileSamples(path)
    return src, separate_to_files_steps(src, RATE, score.notes, score.groups, PARAMS, out, song="song", bits="32f",
                                        **kw)


def _listing(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_streamed_files_equal_the_in_memory_export(piece, tmp_path):
    path, score = piece
    src, gen = _steps(path, score, tmp_path / "streamed")
    with src:
        done = run(gen)
    audio = load_audio(path)
    whole = run(separate_steps(audio.samples, RATE, score.notes, score.groups, PARAMS))
    export_stems(whole, tmp_path / "memory", song="song", bits="32f")
    assert _listing(tmp_path / "streamed") == _listing(tmp_path / "memory") == NAMES
    for name in NAMES[:3]:
        a, _ = sf.read(str(tmp_path / "streamed" / name), dtype="float32")
        b, _ = sf.read(str(tmp_path / "memory" / name), dtype="float32")
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)
    ma = json.loads((tmp_path / "streamed" / "stems.json").read_text())
    mb = json.loads((tmp_path / "memory" / "stems.json").read_text())
    for ea, eb in zip(ma.pop("stems"), mb.pop("stems")):
        assert ea.pop("rms") == pytest.approx(eb.pop("rms"), rel=1e-5)
        assert ea.pop("rms_dbfs") == pytest.approx(eb.pop("rms_dbfs"), abs=0.01)
        assert ea == eb
    assert ma == mb
    assert [s[0] for s in done.stems] == ["right hand", "left hand", "residual"]
    assert [s[3] for s in done.stems] == pytest.approx([s.rms for s in whole.stems], rel=1e-5)
    assert done.null_db < -100 and done.model.costs == whole.costs
    assert done.export.files[0].parent == tmp_path / "streamed"


def test_cancel_while_writing_leaves_nothing_and_keeps_existing_files(piece, tmp_path):
    path, score = piece
    out = tmp_path / "stems"
    out.mkdir()
    (out / "song - right hand.wav").write_bytes(b"an earlier export")
    src, gen = _steps(path, score, out, force=True)
    with src:
        blocks = 0
        for p in gen:
            blocks += p.stage == "resynthesise"
            if blocks == 2:
                assert any(f.name.startswith(".") for f in out.iterdir())  # temporaries are being written
                gen.close()  # what the editor's worker does on Cancel
                break
    assert blocks == 2
    assert _listing(out) == ["song - right hand.wav"]
    assert (out / "song - right hand.wav").read_bytes() == b"an earlier export"


def test_disk_full_while_writing_leaves_nothing(piece, tmp_path, monkeypatch):
    path, score = piece
    real_write = sf.SoundFile.write
    calls = []

    def write(self, data):
        calls.append(1)
        if len(calls) == 7:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", write)
    out = tmp_path / "stems"
    src, gen = _steps(path, score, out)
    with src, pytest.raises(InputError, match="No space left on device"):
        run(gen)
    assert _listing(out) == []


def test_an_existing_target_is_refused_before_the_separation_starts(piece, tmp_path):
    path, score = piece
    (tmp_path / "stems.json").write_text("{}")
    src, gen = _steps(path, score, tmp_path)
    with src, pytest.raises(InputError, match="already exists"):
        next(gen)  # the first step: nothing has been analysed yet
    assert _listing(tmp_path) == ["stems.json"]


@pytest.mark.parametrize("fmt, subtype", [("WAV", "PCM_24"), ("FLAC", "PCM_16"), ("OGG", "VORBIS"),
                                          ("MP3", "MPEG_LAYER_III")])
def test_file_samples_read_what_the_whole_file_reader_reads(tmp_path, fmt, subtype):
    rng = np.random.default_rng(0)
    data = (0.3 * rng.standard_normal((50_000, 2))).astype(np.float32)
    path = tmp_path / f"x.{fmt.lower()}"
    try:
        sf.write(str(path), data, 44100, format=fmt, subtype=subtype)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        pytest.skip(f"this libsndfile cannot write {fmt}: {e}")
    whole = load_audio(path).samples
    with FileSamples(path) as src:
        assert (src.channels, src.n_samples, src.sample_rate) == (*whole.shape, 44100)
        for a, b in [(0, 10), (-100, 5000), (12_345, 23_456), (whole.shape[1] - 7, whole.shape[1] + 9)]:
            got = src.read(a, b)
            assert got.dtype == np.float32 and got.shape == (2, b - a)
            lo, hi = max(a, 0), min(b, whole.shape[1])
            np.testing.assert_array_equal(got[:, lo - a: hi - a], whole[:, lo:hi])
            assert not got[:, : lo - a].any() and not got[:, hi - a:].any()
        np.testing.assert_allclose(src.mono(), whole.mean(axis=0), atol=1e-7)


def test_file_samples_refuse_bad_files_as_the_whole_file_reader_does(tmp_path):
    for path, expect in write_bad_audio(tmp_path).values():
        with pytest.raises(InputError) as info:
            FileSamples(path).close()
        assert expect.lower() in str(info.value).lower() and str(info.value).startswith(path.name)
    nan = tmp_path / "nan.wav"
    y = np.zeros(30_000, np.float32)
    y[25_000] = np.nan
    sf.write(str(nan), y, 22050, subtype="FLOAT")
    with FileSamples(nan) as src:
        src.read(0, 20_000)
        with pytest.raises(InputError, match="nan.wav: holds samples that are not numbers"):
            src.read(20_000, 30_000)


def test_a_failure_of_the_caller_passes_through_and_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="the engine broke"):
        with open_stems(tmp_path, [StemInfo("a", 0, 1), StemInfo("b", 1, 0)], sample_rate=8000, channels=1,
                        song="s") as writer:
            writer.write([np.zeros((1, 10), np.float32)] * 2)
            raise RuntimeError("the engine broke")  # not a write error: it must not be reported as one
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="a block of 1 stems for 2 files"):
        with open_stems(tmp_path, [StemInfo("a", 0, 1), StemInfo("b", 1, 0)], sample_rate=8000, channels=1,
                        song="s") as writer:
            writer.write([np.zeros((1, 10), np.float32)])
    assert list(tmp_path.iterdir()) == []
