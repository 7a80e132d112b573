"""Score + groups -> initial W and H: one harmonic and one onset component per (group, pitch), the
score's zero pattern in H, residual components, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from stemroll.core.constraints import RESIDUAL_GROUP, build_constraints, component_templates
from stemroll.core.params import SeparationParams
from stemroll.core.score import Note, NoteGroup
from stemroll.core.spectral import STFTConfig
from stemroll.core.units import frames_to_seconds

RATE = 22050
CFG = STFTConfig(2048, 512)
N_FRAMES = 120  # about 2.8 s


def _notes():
    return [Note(0, 60, 0.5, 1.0, 90, 0), Note(1, 60, 1.5, 2.0, 90, 0), Note(2, 48, 0.2, 2.2, 90, 1),
            Note(3, 67, 1.0, 1.2, 90, 1)]


GROUPS = [NoteGroup(0, "upper"), NoteGroup(1, "lower")]


def _build(params=SeparationParams(), seed=0, notes=None):
    return build_constraints(notes if notes is not None else _notes(), GROUPS, n_frames=N_FRAMES, sample_rate=RATE,
                             cfg=CFG, params=params, rng=np.random.default_rng(seed))


def test_one_harmonic_and_one_onset_component_per_group_and_pitch_then_the_residual():
    c = _build()
    kinds = [(x.kind, x.group_id, x.pitch) for x in c.components]
    assert kinds == [("harmonic", 0, 60), ("onset", 0, 60), ("harmonic", 1, 48), ("onset", 1, 48),
                     ("harmonic", 1, 67), ("onset", 1, 67), ("residual", RESIDUAL_GROUP, -1),
                     ("residual", RESIDUAL_GROUP, -1)]
    K = len(kinds)
    assert c.W0.shape == (CFG.n_bins, K) and c.H0.shape == (K, N_FRAMES)
    assert c.W0.dtype == np.float32 and c.H0.dtype == np.float32
    np.testing.assert_allclose(c.W0.sum(axis=0), 1.0, rtol=1e-5)
    assert c.component_groups().tolist() == [0, 0, 1, 1, 1, 1, -1, -1]
    assert c.group_ids == [0, 1]
    no_onsets = _build(SeparationParams(onset_templates=False, residual_components=0))
    assert [x.kind for x in no_onsets.components] == ["harmonic"] * 3


def test_activations_are_zero_outside_each_note_window_widened_by_the_tolerances():
    p = SeparationParams(onset_tolerance_s=0.1, offset_tolerance_s=0.25, onset_window_s=0.1)
    c = _build(p)
    t = frames_to_seconds(np.arange(N_FRAMES), sample_rate=RATE, hop_length=CFG.hop_length)
    half = CFG.n_fft / 2 / RATE
    h, ho = c.H0[0], c.H0[1]  # C4 of the upper group: notes 0.5-1.0 and 1.5-2.0
    inside = ((t >= 0.5 - 0.1 - half) & (t <= 1.0 + 0.25 + half)) | ((t >= 1.5 - 0.1 - half) & (t <= 2.0 + 0.25 + half))
    assert (h[inside] > 0).all() and not h[~inside].any()
    attack = ((t >= 0.4 - half) & (t <= 0.6 + half)) | ((t >= 1.4 - half) & (t <= 1.6 + half))
    assert (ho[attack] > 0).all() and not ho[~attack].any()
    assert (c.H0[-1] > 0).all()  # the residual may sound anywhere


def test_templates_are_combs_at_the_pitch_and_the_attack_is_broadband():
    c = _build()
    f = np.arange(CFG.n_bins) * RATE / CFG.n_fft
    w60 = c.W0[:, 0]
    assert w60[np.argmin(abs(f - 261.6))] > 0 and w60[np.argmin(abs(f - 392.0))] == 0
    assert (c.W0[np.argmin(abs(f - 100.0)):, 1] > 0).all()


def test_start_is_deterministic_and_only_the_residual_is_random():
    a, b, other = _build(seed=3), _build(seed=3), _build(seed=4)
    np.testing.assert_array_equal(a.W0, b.W0)
    np.testing.assert_array_equal(a.H0, b.H0)
    np.testing.assert_array_equal(a.W0[:, :6], other.W0[:, :6])
    np.testing.assert_array_equal(a.H0, other.H0)  # no jitter: equal notes give equal activations
    assert not np.array_equal(a.W0[:, 6:], other.W0[:, 6:])


def test_notes_outside_the_frames_or_above_nyquist_add_no_component():
    notes = _notes() + [Note(9, 60, 10.0, 11.0, 90, 1), Note(10, 127, 0.5, 1.0, 90, 0)]
    c = _build(SeparationParams(residual_components=0), notes=notes)
    keys = {(x.group_id, x.pitch) for x in c.components}
    assert (1, 60) not in keys  # only beyond the last frame
    assert (0, 127) not in keys  # G9 (12.5 kHz) is above Nyquist at 22050 Hz
    assert c.W0.any(axis=0).all() and c.H0.any(axis=1).all()


def test_component_templates_follow_the_resolution():
    c = _build()
    fine = STFTConfig(4096, 512)
    W = component_templates(c.components, n_bins=fine.n_bins, sample_rate=RATE, n_fft=fine.n_fft, n_harmonics=40,
                            tolerance_cents=60, rng=np.random.default_rng(0))
    assert W.shape == (fine.n_bins, len(c.components))
    np.testing.assert_allclose(W.sum(axis=0), 1.0, rtol=1e-5)
    assert component_templates([], n_bins=5, sample_rate=RATE, n_fft=8, n_harmonics=1, tolerance_cents=1,
                               rng=np.random.default_rng(0)).shape == (5, 0)


@pytest.mark.parametrize("bad", [dict(n_harmonics=0), dict(tolerance_cents=-1.0), dict(residual_components=-1)])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        SeparationParams(**bad)
