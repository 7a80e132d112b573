"""Memory estimates against what a real separation allocates (tracemalloc's peak), in memory and streamed.

The peak resident memory of ``stemroll separate`` on an hour of audio is measured by benchmarks/memory.py.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from stemroll.core import memory
from stemroll.core.display import log_frequency_spectrogram
from stemroll.core.params import SeparationParams
from stemroll.core.nmf import run
from stemroll.core.separation import model_steps, separate_steps
from stemroll.core.spectral import STFTConfig, magnitude_mono, stft
from stemroll.core.stem_stream import stem_blocks
from tests.material import synth, two_hand_score


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _separate(audio, rate, score, params):
    for _ in separate_steps(audio, rate, score.notes, score.groups, params):
        pass


@pytest.mark.parametrize("bars, channels, rate, streamed", [(6, 2, 22050, False), (8, 1, 44100, False),
                                                           (6, 2, 22050, True), (24, 2, 44100, True)])
def test_separation_estimate_covers_the_measured_peak(bars, channels, rate, streamed):
    score = two_hand_score(bars)
    audio = np.stack([synth(score.notes, sample_rate=rate)] * channels)
    params = SeparationParams(iterations=2)
    _separate(audio[:, : rate * 2], rate, score, params)  # warm up: imports and compiled kernels
    est = memory.separation_estimate(n_samples=audio.shape[1], channels=channels, sample_rate=rate,
                                     notes=score.notes, groups=score.groups, params=params, streamed=streamed,
                                     runtime=False)  # tracemalloc does not see the compiled kernels' memory
    if streamed:  # as io.stem_files does, without the files
        def separate():
            model = run(model_steps(audio, rate, score.notes, score.groups, params))
            for _ in stem_blocks(model, audio):
                pass
    else:
        def separate():
            _separate(audio, rate, score, params)
    measured = _peak(separate)
    assert measured <= est.total_bytes <= 1.5 * measured, (measured, est)


def test_the_estimate_follows_the_stages_of_an_hour_of_stereo():
    # An hour at 44.1 kHz (n_fft 4096, hop 1024, refinement at 8192): V is 1.27 GB in float32, the
    # long-window magnitude as much in float16, the stems of two groups and the residual 3.8 GB.
    score = two_hand_score(4)
    common = dict(n_samples=3600 * 44100, channels=2, sample_rate=44100, notes=score.notes, groups=score.groups,
                  params=SeparationParams())
    held = memory.separation_estimate(**common)
    streamed = memory.separation_estimate(**common, streamed=True)
    assert dict(held.parts)["stems"] == 3 * 2 * 3600 * 44100 * 4 and held.total_bytes > 3.8e9
    assert "stems" not in dict(streamed.parts) and 1.3e9 < streamed.total_bytes < 2.5e9
    # float16 at twice the bins is as large as float32 V: the analysis and the refinement peak alike
    parts = dict(streamed.parts)
    assert 1.25e9 < parts.get("long-window magnitude", parts.get("magnitude", 0)) < 1.35e9
    assert dict(streamed.parts)["engine"] == memory.ENGINE_RUNTIME
    long_window = memory.separation_estimate(**{**common, "params": SeparationParams(window_s=0.046)},
                                             streamed=True)  # 2048 then 8192: the refinement's magnitude is larger
    assert 2.5e9 < dict(long_window.parts)["long-window magnitude"] < 2.7e9
    no_refinement = memory.separation_estimate(**{**common, "params": SeparationParams(fine_iterations=0)},
                                               streamed=True)
    assert "long-window magnitude" not in dict(no_refinement.parts)


def test_opening_estimate_covers_the_measured_peak():
    rate, n = 22050, 22050 * 20
    frame_major = (0.1 * np.random.default_rng(0).standard_normal((n, 2))).astype(np.float32)

    def open_like_the_editor():  # as io.audio.load_audio + ui.jobs.display_spectrogram
        samples = np.ascontiguousarray(frame_major.copy().T)
        cfg = STFTConfig.for_rate(rate, window_s=memory.DISPLAY_WINDOW_S, overlap=memory.DISPLAY_OVERLAP)
        V = magnitude_mono(stft(samples.mean(axis=0), cfg)[None])
        return log_frequency_spectrogram(V, sample_rate=rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length)

    open_like_the_editor()
    est = memory.opening_bytes(n_samples=n, channels=2, sample_rate=rate)
    measured = _peak(open_like_the_editor)
    assert measured <= est.total_bytes <= 2.0 * measured, (measured, est)


def test_ten_minutes_of_stereo_at_cd_rate():
    # PLATFORM.md: 10 min at 44.1 kHz, n_fft 2048, hop 512 is ~200 MB per float32 magnitude.
    sizes = dict(n_samples=600 * 44100, channels=2, n_fft=2048, hop_length=512, n_components=200, n_groups=4)
    est = memory.separation_bytes(**sizes)
    assert dict(est.parts)["stems"] == 5 * 2 * 600 * 44100 * 4  # the resynthesis, holding the stems, peaks
    assert 1e9 < est.total_bytes < 3e9
    assert est.describe().startswith("about ") and "GB" in est.describe()
    streamed = memory.separation_bytes(**sizes, streamed=True)
    assert 190e6 < dict(streamed.parts)["magnitude"] < 230e6 and streamed.total_bytes < 0.5 * est.total_bytes


def test_available_memory_and_shortfall():
    avail = memory.available_bytes()
    assert avail is None or avail > 0
    assert memory.shortfall(10, None) == 0
    assert memory.shortfall(2**30, 2**31, reserve_bytes=0) == 0
    assert memory.shortfall(2**31, 2**30, reserve_bytes=0) == 2**30
    assert memory.format_bytes(850 * 2**20) == "850 MB" and memory.format_bytes(3.2 * 2**30) == "3.2 GB"
    with pytest.raises(ValueError, match="invalid recording size"):
        memory.opening_bytes(n_samples=10, channels=0, sample_rate=44100)


def test_more_threads_need_more_memory_for_the_segments_in_flight():
    """Every thread holds a segment of spectra and its own template sums, so the estimate grows
    with the thread budget the separation will run with (the command line uses every core)."""
    from stemroll.core.memory import separation_bytes

    kw = dict(n_samples=44100 * 600, channels=2, n_fft=4096, hop_length=1024, n_components=150, n_groups=2,
              fine_n_fft=8192, streamed=True)
    one, eight = separation_bytes(**kw, threads=1), separation_bytes(**kw, threads=8)
    assert eight.total_bytes > one.total_bytes + 7 * 20 * 2**20
