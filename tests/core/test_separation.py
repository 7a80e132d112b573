"""The whole separation on synthetic material: null test, shapes, determinism, refinement, quality."""

from __future__ import annotations

import numpy as np
import pytest

from stemroll.core.nmf import run
from stemroll.core.params import SeparationParams
from stemroll.core.refine import fine_stft_config
from stemroll.core.score import Note, NoteGroup
from stemroll.core.separation import resolve_stft, separate_steps
from stemroll.core.spectral import STFTConfig
from tests.material import synth, two_hand_score

RATE = 22050


@pytest.fixture(scope="module")
def material():
    score = two_hand_score(3)
    parts = [synth(score.notes_of(g.id), sample_rate=RATE, duration_s=6.5, seed=g.id) for g in score.groups]
    return score, np.stack(parts), np.sum(parts, axis=0)


def _separate(audio, score, params=SeparationParams()):
    return run(separate_steps(np.atleast_2d(audio), RATE, score.notes, score.groups, params))


def _snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2)))


def test_stems_add_up_to_the_mix_and_have_its_shape(material):
    score, _, mix = material
    stereo = np.stack([mix, 0.5 * mix])
    res = _separate(stereo, score)
    assert [s.name for s in res.stems] == [g.name for g in score.groups] + ["residual"]
    for s in res.stems:
        assert s.audio.shape == stereo.shape and s.audio.dtype == np.float32
    total = np.sum([s.audio for s in res.stems], axis=0)
    np.testing.assert_allclose(total, stereo, atol=1e-5)
    assert [s.note_count for s in res.stems[:2]] == [len(score.notes_of(g.id)) for g in score.groups]


def test_each_stem_is_mostly_its_own_part(material):
    score, parts, mix = material
    res = _separate(mix, score)
    for g, ref in zip(score.groups, parts):
        est = res.stem(g.name).audio[0]
        assert _snr_db(ref, est) > 10.0, g.name


def test_the_same_input_gives_the_same_stems(material):
    score, _, mix = material
    a, b = _separate(mix, score), _separate(mix, score)
    for sa, sb in zip(a.stems, b.stems):
        np.testing.assert_array_equal(sa.audio, sb.audio)


def test_refinement_runs_on_the_long_window_and_reports_its_stage(material):
    score, parts, mix = material
    params = SeparationParams(iterations=10, fine_iterations=4)
    stages = [p.stage for p in separate_steps(mix[None], RATE, score.notes, score.groups, params)]
    assert stages.index("factorise") < stages.index("refine") < stages.index("resynthesise") < stages.index("done")
    res = _separate(mix, score, params)
    coarse = resolve_stft(RATE, params)
    assert res.cfg == STFTConfig(4096, coarse.hop_length)
    assert res.W.shape == (res.cfg.n_bins, len(res.components))
    assert res.H.shape[1] == coarse.n_frames(len(mix))
    off = _separate(mix, score, SeparationParams(iterations=10, fine_window_s=0.0))
    assert off.cfg == coarse and "refine" not in [p.stage for p in separate_steps(
        mix[None], RATE, score.notes, score.groups, SeparationParams(iterations=2, fine_iterations=0))]
    assert not np.allclose(res.stems[0].audio, off.stems[0].audio)


def test_fine_window_follows_the_rate_and_is_skipped_when_not_longer():
    p = SeparationParams()
    assert fine_stft_config(STFTConfig(2048, 512), 22050, p) == STFTConfig(4096, 512)
    assert fine_stft_config(STFTConfig(4096, 1024), 44100, p) == STFTConfig(8192, 1024)
    assert fine_stft_config(STFTConfig(8192, 2048), 22050, p) is None
    assert fine_stft_config(STFTConfig(2048, 512), 22050, SeparationParams(fine_window_s=0)) is None
    assert fine_stft_config(STFTConfig(2048, 512), 22050, SeparationParams(fine_iterations=0)) is None


def test_plain_updates_and_the_nae_engine_still_separate(material):
    score, parts, mix = material
    for params in (SeparationParams(template_focus=0.0, iterations=15, fine_iterations=4),
                   SeparationParams(divergence="euclidean", iterations=15, fine_window_s=0)):
        res = _separate(mix, score, params)
        np.testing.assert_allclose(np.sum([s.audio for s in res.stems], axis=0)[0], mix, atol=1e-5)
        assert _snr_db(parts[0], res.stems[0].audio[0]) > 5.0


def test_a_group_without_notes_gives_a_silent_stem(material):
    score, _, mix = material
    groups = list(score.groups) + [NoteGroup(7, "empty")]
    res = run(separate_steps(mix[None], RATE, score.notes, groups, SeparationParams(iterations=5, fine_iterations=2)))
    assert not res.stem("empty").audio.any()


def test_parameters_are_checked_with_their_names():
    for bad, name in [(dict(template_focus=-1.0), "template_focus"), (dict(fine_iterations=-1), "fine_iterations"),
                      (dict(fine_window_s=-0.1), "fine_window_s"), (dict(fine_tolerance_cents=-5.0),
                                                                    "fine_tolerance_cents")]:
        with pytest.raises(ValueError, match=name):
            SeparationParams(**bad)


def test_unknown_component_kinds_are_refused():
    from stemroll.core.constraints import Component, component_templates

    with pytest.raises(ValueError, match="kind"):
        component_templates([Component("drum", 0, 60)], n_bins=9, sample_rate=RATE, n_fft=16, n_harmonics=2,
                            tolerance_cents=40, rng=np.random.default_rng(0))


def test_short_notes_near_the_edges_do_not_break_the_separation():
    notes = [Note(0, 60, 0.0, 0.05, 90, 0), Note(1, 48, 0.95, 1.0, 90, 1)]
    groups = [NoteGroup(0, "a"), NoteGroup(1, "b")]
    audio = synth(notes, sample_rate=RATE, duration_s=1.0)
    res = run(separate_steps(audio[None], RATE, notes, groups, SeparationParams(iterations=5, fine_iterations=3)))
    np.testing.assert_allclose(np.sum([s.audio for s in res.stems], axis=0)[0], audio, atol=1e-5)
