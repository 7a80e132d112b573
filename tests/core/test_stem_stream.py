"""The streamed separation (model, then stems block by block) equals the in-memory one; reading
the recording through a block reader equals reading the array."""

from __future__ import annotations

import numpy as np
import pytest

from stemroll.core.nmf import run
from stemroll.core.params import SeparationParams
from stemroll.core.samples import ArraySamples, as_samples, block_stft, read_frames
from stemroll.core.segments import group_masks, magnitude, resynthesise
from stemroll.core.separation import model_steps, separate_steps
from stemroll.core.spectral import STFTConfig, stft_frames
from stemroll.core.stem_stream import stem_blocks
from tests.material import synth, two_hand_score

RATE = 22050


class CountingReader:
    """A ``Samples`` source that is not an array: it only answers ``read`` and counts what it gives."""

    def __init__(self, audio: np.ndarray):
        self._audio = audio
        self.channels, self.n_samples = audio.shape
        self.largest = 0

    def read(self, start: int, stop: int) -> np.ndarray:
        self.largest = max(self.largest, stop - start)
        return ArraySamples(self._audio).read(start, stop)


@pytest.fixture(scope="module")
def stereo_piece():
    score = two_hand_score(3)
    mix = synth(score.notes, sample_rate=RATE, duration_s=6.5)
    return score, np.stack([mix, 0.6 * mix + 0.01 * np.sin(np.arange(mix.size, dtype=np.float32))])


def test_streamed_stems_equal_the_in_memory_stems(stereo_piece):
    score, audio = stereo_piece
    params = SeparationParams(iterations=8)
    whole = run(separate_steps(audio, RATE, score.notes, score.groups, params))
    reader = CountingReader(audio)
    model = run(model_steps(reader, RATE, score.notes, score.groups, params))
    assert model.cfg == whole.cfg and model.costs == whole.costs and model.n_stems == len(whole.stems)
    assert [n for n, _, _ in model.stem_names()] == [s.name for s in whole.stems]
    assert [c for _, _, c in model.stem_names()] == [s.note_count for s in whole.stems]
    got = np.zeros((model.n_stems, *audio.shape), np.float32)
    starts = []
    for s0, block in stem_blocks(model, reader):
        starts.append(s0)
        got[:, :, s0: s0 + block.shape[2]] = block
        np.testing.assert_allclose(block.sum(axis=0), audio[:, s0: s0 + block.shape[2]], atol=1e-5)
    assert len(starts) > 1 and starts == sorted(starts)
    for i, s in enumerate(whole.stems):
        np.testing.assert_allclose(got[i], s.audio, atol=1e-6, rtol=0)


def test_stem_blocks_refuse_another_recording(stereo_piece):
    score, audio = stereo_piece
    model = run(model_steps(audio, RATE, score.notes, score.groups, SeparationParams(iterations=1)))
    with pytest.raises(ValueError, match="fitted on 2 x"):
        next(stem_blocks(model, audio[:, :-10]))


@pytest.mark.parametrize("cfg", [STFTConfig(256, 64), STFTConfig(512, 96), STFTConfig(64, 32)])
def test_read_frames_gives_the_frames_of_the_whole_signal(cfg):
    x = np.random.default_rng(3).standard_normal((2, 5000)).astype(np.float32)
    n_frames = cfg.n_frames(x.shape[1])
    for k0, k1 in [(0, 1), (0, 9), (3, 40), (n_frames - 5, n_frames), (17, 17)]:
        block, origin = read_frames(ArraySamples(x), cfg, k0, k1)
        assert origin % cfg.hop_length == 0 and origin <= k0 * cfg.hop_length - cfg.n_fft // 2
        for c in range(2):
            np.testing.assert_array_equal(block_stft(block, cfg, c, k1 - k0), stft_frames(x[c], cfg, start=k0, stop=k1))


def test_analysis_and_resynthesis_through_a_reader_equal_the_array_ones():
    cfg = STFTConfig(256, 64)
    x = np.random.default_rng(4).standard_normal((2, 7000)).astype(np.float32)
    reader = CountingReader(x)
    np.testing.assert_array_equal(magnitude(reader, cfg, segment_frames=13), magnitude(x, cfg, segment_frames=13))
    np.testing.assert_array_equal(magnitude(reader, cfg, segment_frames=8, dtype=np.float16),
                                  magnitude(x, cfg, dtype=np.float16))
    N = cfg.n_frames(x.shape[1])
    rng = np.random.default_rng(5)
    W, H = rng.random((cfg.n_bins, 4), np.float32), rng.random((4, N), np.float32)
    masks = group_masks(W, H, np.array([0, 1, -1, -1]), [0, 1], power=2.0)
    np.testing.assert_array_equal(resynthesise(reader, cfg, masks, n_groups=2, segment_frames=21),
                                  resynthesise(x, cfg, masks, n_groups=2, segment_frames=21))
    assert reader.largest < 30 * cfg.hop_length


def test_array_samples_pad_with_zeros_and_wrap_mono():
    src = as_samples(np.arange(5, dtype=np.float32))
    assert (src.channels, src.n_samples) == (1, 5)
    np.testing.assert_array_equal(src.read(-2, 3), [[0, 0, 0, 1, 2]])
    np.testing.assert_array_equal(src.read(4, 8), [[4, 0, 0, 0]])
    assert src.read(7, 9).tolist() == [[0, 0]] and src.read(3, 3).shape == (1, 0)
    reader = CountingReader(np.zeros((2, 3), np.float32))
    assert as_samples(reader) is reader
    with pytest.raises(ValueError, match="channels, n_samples"):
        as_samples(np.zeros((2, 2, 2), np.float32))
