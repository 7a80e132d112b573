"""Pure mixing: gains/solo/mute, channel maps, rendering, and the click-free splice used on mix swaps."""

import numpy as np
import pytest

from stemroll.playback.mixdown import (
    channel_matrix,
    check_stems,
    effective_gains,
    mix_stems,
    splice_crossfade,
    to_frames,
    upcoming_frames,
)
from stemroll.playback.render import RenderJob, render


def _stems(k=3, channels=2, n=200_000, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-0.3, 0.3, (channels, n)).astype(np.float32) for _ in range(k)]


def test_effective_gains_solo_and_mute():
    assert effective_gains(3).tolist() == [1, 1, 1]
    assert effective_gains(3, gains=[0.5, 2, 1]).tolist() == [0.5, 2, 1]
    assert effective_gains(3, solo=[False, True, False]).tolist() == [0, 1, 0]
    assert effective_gains(3, mute=[True, False, False]).tolist() == [0, 1, 1]
    # mute wins over solo
    assert effective_gains(3, solo=[True, True, False], mute=[True, False, False]).tolist() == [0, 1, 0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(gains=[1, 1]), r"gains has shape \(2,\), expected \(3,\)"),
        (dict(gains=[1, -1, 1]), "not negative"),
        (dict(gains=[1, np.nan, 1]), "finite"),
        (dict(mute=[True]), "mute has shape"),
    ],
)
def test_effective_gains_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        effective_gains(3, **kwargs)


def test_mix_matches_weighted_sum():
    stems = _stems()
    got = mix_stems(stems, gains=[0.5, 1.0, 2.0], mute=[False, False, True])
    want = 0.5 * stems[0] + stems[1]
    assert got.dtype == np.float32 and got.shape == (2, 200_000)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_mix_all_silent_is_zero_and_out_may_be_a_transposed_view():
    stems = _stems()
    buf = np.full((200_000, 2), 7.0, np.float32)
    mix_stems(stems, mute=[True, True, True], out=buf.T)
    assert not buf.any()
    mix_stems(stems, solo=[False, True, False], out=buf.T)
    np.testing.assert_array_equal(buf, stems[1].T)


def test_check_stems_messages():
    with pytest.raises(ValueError, match="no stems"):
        check_stems([])
    with pytest.raises(ValueError, match=r"stem 1 has shape \(2, 9\), but stem 0 has \(2, 10\)"):
        check_stems([np.zeros((2, 10)), np.zeros((2, 9))])
    with pytest.raises(ValueError, match="stem 0 holds samples that are not numbers"):
        check_stems([np.array([[0.0, np.inf]])])
    (mono,) = check_stems([np.zeros(5, np.float64)])
    assert mono.shape == (1, 5) and mono.dtype == np.float32


def test_channel_matrix():
    np.testing.assert_array_equal(channel_matrix(2, 2), np.eye(2))
    np.testing.assert_array_equal(channel_matrix(1, 2), [[1], [1]])
    np.testing.assert_array_equal(channel_matrix(2, 1), [[0.5, 0.5]])
    np.testing.assert_array_equal(channel_matrix(4, 2), [[0.5, 0, 0.5, 0], [0, 0.5, 0, 0.5]])
    np.testing.assert_array_equal(channel_matrix(2, 3), [[1, 0], [0, 1], [0, 0]])


def test_to_frames_is_frame_major_and_mixes_channels():
    rng = np.random.default_rng(1)
    mix = rng.standard_normal((2, 100_000)).astype(np.float32)
    frames = to_frames(mix, channel_matrix(2, 1))
    assert frames.shape == (100_000, 1) and frames.flags.c_contiguous
    np.testing.assert_allclose(frames[:, 0], mix.mean(axis=0), atol=1e-6)


def test_render_maps_channels_resamples_and_clips():
    stems = [np.full((1, 22_050), 0.8, np.float32), np.full((1, 22_050), 0.6, np.float32)]
    ones, no = np.ones(2), np.zeros(2, bool)
    buf = render(RenderJob(tuple(stems), 22_050, ones, no, no, 2, 44_100, 1))
    assert buf.shape == (44_100, 2) and buf.dtype == np.float32 and buf.flags.c_contiguous
    assert buf.max() == 1.0  # 0.8 + 0.6 is clipped
    solo = render(RenderJob(tuple(stems), 22_050, ones, np.array([False, True]), no, 2, 22_050, 2))
    np.testing.assert_allclose(solo, 0.6, atol=1e-6)


def test_upcoming_frames_wraps_inside_the_loop_only():
    np.testing.assert_array_equal(upcoming_frames(8, 4, n_frames=20, loop=(5, 10)), [8, 9, 5, 6])
    np.testing.assert_array_equal(upcoming_frames(2, 4, n_frames=20, loop=(5, 7)), [2, 3, 4, 5])
    np.testing.assert_array_equal(upcoming_frames(2, 6, n_frames=20, loop=(5, 7)), [2, 3, 4, 5, 6, 5])
    np.testing.assert_array_equal(upcoming_frames(12, 4, n_frames=20, loop=(5, 10)), [12, 13, 14, 15])
    np.testing.assert_array_equal(upcoming_frames(18, 4, n_frames=20, loop=None), [18, 19])


def test_splice_crossfade_holds_then_fades_without_steps():
    n = 1000
    old = np.full((n, 2), 0.5, np.float32)
    new = np.full((n, 2), -0.5, np.float32)
    idx = upcoming_frames(100, 300, n_frames=n, loop=None)
    splice_crossfade(new, old, idx, hold=100)
    assert (new[:100] == -0.5).all()  # already played: untouched
    assert (new[100:200] == 0.5).all()  # the hold repeats the old mix
    assert (new[400:] == -0.5).all()
    ramp = new[200:400, 0]
    assert (np.diff(ramp) < 0).all() and np.abs(np.diff(ramp)).max() < 0.01
