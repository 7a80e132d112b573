"""The decay prior (core.priors): note spans, sustain ratios, which parts decay, the projection."""

from __future__ import annotations

import numpy as np
from stemroll.core.constraints import Component
from stemroll.core.informed_nmf import informed_nmf_steps
from stemroll.core.nmf import run
from stemroll.core.params import SeparationParams
from stemroll.core.priors import decay_prior_steps, decay_projection, decay_rates, decaying_groups, note_spans
from stemroll.core.score import Note, NoteGroup
from stemroll.core.separation import separate_steps
from stemroll.core.units import midi_to_hz
from tests.material import synth

RATE, HOP = 22050, 512
FPS = RATE / HOP


def test_spans_run_from_the_attack_to_the_offset_or_the_next_onset():
    comps = [Component("harmonic", 0, 60), Component("onset", 0, 60), Component("harmonic", 1, 48)]
    notes = [Note(0, 60, 1.0, 2.0, 90, 0), Note(1, 60, 2.1, 3.0, 90, 0), Note(2, 48, 0.5, 1.0, 90, 1)]
    spans = note_spans(notes, comps, n_frames=200, sample_rate=RATE, hop_length=HOP, onset_tolerance_s=0.1,
                       offset_tolerance_s=0.25)
    assert [s.k for s in spans] == [0, 0, 2]  # harmonic components only
    first = spans[0]
    assert first.start == int(np.ceil(0.9 * FPS)) and first.attack_end == int(np.ceil(1.15 * FPS))
    assert first.offset == int(np.ceil(2.0 * FPS))
    assert first.end == int(np.ceil(2.0 * FPS))  # next onset 2.1 minus the onset tolerance
    assert spans[1].end == int(np.ceil(3.25 * FPS))


def _envelopes():
    """H for two components: one decays after each onset, one holds its level."""
    comps = [Component("harmonic", 0, 60), Component("harmonic", 1, 67)]
    notes = [Note(i, 60, 1.0 + 2 * i, 2.5 + 2 * i, 90, 0) for i in range(3)]
    notes += [Note(10 + i, 67, 1.0 + 2 * i, 2.5 + 2 * i, 90, 1) for i in range(3)]
    n = 400
    t = np.arange(n) / FPS
    H = np.zeros((2, n), np.float32)
    rng = np.random.default_rng(0)
    for nt in notes:
        on = (t >= nt.onset_s) & (t < nt.offset_s)
        if nt.group_id == 0:
            H[0, on] = np.exp(-2.5 * (t[on] - nt.onset_s)) * (1 + 0.1 * rng.random(on.sum()))
        else:
            H[1, on] = 1 + 0.2 * np.sin(30 * t[on])
    spans = note_spans(notes, comps, n_frames=n, sample_rate=RATE, hop_length=HOP, onset_tolerance_s=0.1,
                       offset_tolerance_s=0.25)
    return comps, H, spans


def test_decay_rates_tell_decaying_from_sustained_parts():
    comps, H, spans = _envelopes()
    r = decay_rates(H, spans, comps, min_frames=int(0.4 * FPS), frame_rate=FPS)
    # exp(-2.5 t) falls 21.7 dB per second; the held part stays level
    assert -25 < r[0] < -18 and abs(r[1]) < 2
    assert decaying_groups(r) == {0}
    assert decaying_groups({0: -30.0, 1: -12.0}) == set()  # nothing sustained to protect: no prior
    assert decaying_groups({0: 3.0}) == set()
    assert decay_rates(H, spans, comps, min_frames=10_000, frame_rate=FPS) == {}  # no note long enough


def test_the_projection_makes_envelopes_non_increasing_after_the_peak_only():
    comps, H, spans = _envelopes()
    H[0] += 0.3 * (np.arange(H.shape[1]) % 7 == 0)  # bumps after the peaks
    H[0, :20] = 0.0
    before = H.copy()
    decay_projection([s for s in spans if s.k == 0])(H)
    for s in (s for s in spans if s.k == 0):
        p = s.start + int(np.argmax(before[0, s.start: s.attack_end]))
        assert (np.diff(H[0, p: s.end]) <= 0).all()
        np.testing.assert_array_equal(H[0, s.start: p + 1], before[0, s.start: p + 1])
    assert (H <= before).all() and not H[0, :20].any()
    np.testing.assert_array_equal(H[1], before[1])


def test_the_prior_stage_numbers_its_steps_and_equals_plain_updates_without_decaying_parts():
    rng = np.random.default_rng(1)
    V = rng.random((30, 80)).astype(np.float32)
    W0 = rng.random((30, 2)).astype(np.float32)
    H0 = rng.random((2, 80)).astype(np.float32)
    comps = [Component("harmonic", 0, 60), Component("harmonic", 1, 62)]
    groups = np.array([0, 1])
    gen = decay_prior_steps(V, W0, H0, groups, [], comps, iterations=9, tol=0.0, focus=2.0, frame_rate=FPS)
    steps = []
    try:
        while True:
            steps.append(next(gen))
    except StopIteration as stop:
        res, ratios, decaying = stop.value
    assert [s.iteration for s in steps] == list(range(9)) and ratios == {} and decaying == set()
    ref = run(informed_nmf_steps(V, W0, H0, groups, iterations=9, tol=0.0, focus=2.0))
    np.testing.assert_allclose(res.W, ref.W, rtol=1e-5)
    np.testing.assert_allclose(res.H, ref.H, rtol=1e-5)
    assert len(res.costs) == len(ref.costs)


def _sustained(notes, *, duration_s):
    y = np.zeros(int(duration_s * RATE), np.float32)
    for n in notes:
        i0, i1 = int(n.onset_s * RATE), int(n.offset_s * RATE)
        t = np.arange(i1 - i0) / RATE
        f0 = float(midi_to_hz(n.pitch))
        ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.03)
        y[i0:i1] += 0.05 * ramp * sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 7))
    return y


def test_a_piano_like_part_under_a_sustained_one_is_found_to_decay():
    piano = [Note(i, p, 0.2 + 1.2 * i, 1.3 + 1.2 * i, 90, 0) for i, p in enumerate([48, 52, 55, 48])]
    held = [Note(10 + i, p, 0.2 + 1.2 * i, 1.3 + 1.2 * i, 90, 1) for i, p in enumerate([67, 64, 67, 72])]
    audio = synth(piano, sample_rate=RATE, duration_s=5.3) + _sustained(held, duration_s=5.3)
    groups = [NoteGroup(0, "piano"), NoteGroup(1, "strings")]
    res = run(separate_steps(audio[None], RATE, piano + held, groups, SeparationParams(fine_iterations=3)))
    assert res.decay_db_per_s[0] < -5.0 <= res.decay_db_per_s[1]
    off = run(separate_steps(audio[None], RATE, piano + held, groups,
                             SeparationParams(decay_prior=False, fine_iterations=3)))
    assert off.decay_db_per_s == {}
    np.testing.assert_allclose(np.sum([s.audio for s in res.stems], axis=0)[0], audio, atol=1e-5)


def test_projection_keeps_the_zeros_of_the_score():
    comps, H, spans = _envelopes()
    zeros = H == 0
    decay_projection(spans)(H)
    assert not H[zeros].any() and (H >= 0).all()
