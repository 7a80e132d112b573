"""Score-to-audio alignment on synthetic recordings: the audio is rendered from the true notes by
a small additive synthesiser; the score handed to the aligner is a perturbed copy (tempo stretch,
slow drift, per-note jitter), as a real MIDI file would be against a performance."""

from __future__ import annotations

import numpy as np
import pytest

from stemroll.core.alignment import AlignmentResult, align_notes, align_steps
from stemroll.core.dtw import FeaturePair, banded_dtw, block_cost, multires_dtw
from stemroll.core.score import Note

SR = 16000
SCALE = np.array([0, 2, 4, 5, 7, 9, 11])


def make_piece(rng: np.random.Generator, *, seconds: float = 12.0, lead_s: float = 1.0) -> list[Note]:
    """Melody in quavers (0.25-0.5 s) over a bass line in longer notes, from a C major scale."""
    notes: list[Note] = []
    t = lead_s
    while t < lead_s + seconds:
        d = float(rng.choice([0.25, 0.25, 0.5, 0.375]))
        p = 60 + int(SCALE[rng.integers(0, 7)]) + 12 * int(rng.integers(0, 2))
        notes.append(Note(len(notes), p, t, t + 0.9 * d, 90, 0, 1))
        t += d
    t = lead_s
    while t < lead_s + seconds:
        d = float(rng.choice([1.0, 0.5, 1.5]))
        p = 36 + int(SCALE[rng.integers(0, 7)]) + 12 * int(rng.integers(0, 2))
        notes.append(Note(len(notes), p, t, t + 0.95 * d, 70, 1, 2))
        t += d
    return sorted(notes, key=lambda n: (n.onset_s, n.pitch))


def synthesise(notes: list[Note], *, tail_s: float = 2.0, rng: np.random.Generator, cents: float = 0.0) -> np.ndarray:
    """Harmonic partials with a 5 ms attack (group 0) or 40 ms attack (group 1), exponential decay
    while held, 60 ms release; seeded noise at about -55 dB. The last notes ring into a tail."""
    end = max(n.offset_s for n in notes) + tail_s
    y = np.zeros(int(end * SR) + 1)
    for n in notes:
        f0 = 440.0 * 2 ** ((n.pitch - 69 + cents / 100) / 12)
        a = int(n.onset_s * SR)
        held = n.offset_s - n.onset_s
        is_last = n.offset_s > max(m.offset_s for m in notes) - 0.3
        rel = 1.5 if is_last else 0.06
        t = np.arange(int((held + 4 * rel) * SR)) / SR
        attack = 0.005 if n.group_id == 0 else 0.04
        env = np.minimum(1.0, t / attack) * np.exp(-t / 1.2)
        env *= np.where(t > held, np.exp(-(t - held) / rel), 1.0)
        wave = sum(0.6 ** (h - 1) * np.sin(2 * np.pi * h * f0 * t + h) for h in range(1, 7) if h * f0 < SR / 2)
        seg = (n.velocity / 127) * env * wave
        seg = seg[: len(y) - a]
        y[a: a + len(seg)] += seg
    y += 10 ** (-55 / 20) * rng.standard_normal(len(y))
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def perturb(notes: list[Note], rng: np.random.Generator, *, stretch: float, jitter_s: float = 0.03) -> list[Note]:
    """t' = stretch * t + drift(t) + U(-jitter, jitter), shifted so the score starts at 0."""
    t0 = min(n.onset_s for n in notes)

    def warp(t: float) -> float:
        u = t - t0
        return stretch * u + 0.15 * np.sin(2 * np.pi * u / 7.0)

    out = []
    for n in notes:
        on = warp(n.onset_s) + rng.uniform(-jitter_s, jitter_s)
        off = max(on + 0.05, warp(n.offset_s) + rng.uniform(-jitter_s, jitter_s))
        out.append(n.evolve(onset_s=max(0.0, on), offset_s=off))
    return out


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(7)
    truth = make_piece(rng)
    y = synthesise(truth, rng=rng)
    score = perturb(truth, rng, stretch=1.07)
    return truth, y, score


@pytest.fixture(scope="module")
def aligned(case):
    _, y, score = case
    return align_notes(y, SR, score)


def onset_errors(result: AlignmentResult, truth: list[Note]) -> np.ndarray:
    by_id = {n.id: n.onset_s for n in truth}
    return np.array([n.onset_s - by_id[n.id] for n in result.notes])


def test_perturbed_score_lands_on_the_recording(case, aligned):
    truth, _, score = case
    by_id = {n.id: n.onset_s for n in truth}
    before = np.abs([s.onset_s - by_id[s.id] for s in score])
    assert before.mean() > 0.3  # the score really is out of place (1 s lead-in, 7 % stretch, drift)
    err = np.abs(onset_errors(aligned, truth))
    assert err.mean() <= 0.025, f"mean onset error {err.mean() * 1000:.1f} ms"
    assert np.mean(err <= 0.05) >= 0.90, f"only {np.mean(err <= 0.05):.0%} within 50 ms"


def test_refinement_beats_the_global_warp(case, aligned):
    truth, y, score = case
    warp_only = align_notes(y, SR, score, refine_onsets=False)
    assert np.abs(onset_errors(aligned, truth)).mean() < np.abs(onset_errors(warp_only, truth)).mean()


def test_identity_order_and_fields_are_kept(case, aligned):
    _, _, score = case
    assert [n.id for n in aligned.notes] == [n.id for n in score]
    for a, s in zip(aligned.notes, score):
        assert (a.pitch, a.group_id, a.track, a.channel, a.velocity, a.track_name) == \
               (s.pitch, s.group_id, s.track, s.channel, s.velocity, s.track_name)
        assert a.offset_s > a.onset_s >= 0.0
    assert aligned.confidence.dtype == np.float32 and aligned.confidence.shape == (len(score),)
    assert np.all((aligned.confidence >= 0) & (aligned.confidence <= 1))
    p = aligned.path_s
    assert p.ndim == 2 and p.shape[1] == 2
    assert np.all(np.diff(p[:, 0]) > 0) and np.all(np.diff(p[:, 1]) > 0)


def test_lead_in_and_tail_are_left_out_of_the_warp(case, aligned):
    truth, y, _ = case
    first = min(n.onset_s for n in aligned.notes)
    assert abs(first - 1.0) < 0.05  # the 1 s of silence is skipped
    last_on = max(n.onset_s for n in aligned.notes)
    assert abs(last_on - max(n.onset_s for n in truth)) < 0.05  # not dragged into the 2 s tail


def test_score_of_one_passage_finds_it_in_the_whole_recording(case):
    truth, y, score = case
    by_id = {n.id: n.onset_s for n in truth}
    part = [n for n in score if 5.0 <= by_id[n.id] <= 9.0]
    t0 = min(n.onset_s for n in part)
    part = [n.evolve(onset_s=n.onset_s - t0, offset_s=n.offset_s - t0) for n in part]
    err = np.abs(onset_errors(align_notes(y, SR, part), truth))
    assert err.mean() <= 0.025 and np.mean(err <= 0.05) >= 0.9


def test_anchors_are_honoured(case):
    truth, y, score = case
    by_id = {n.id: n for n in truth}
    k = score[len(score) // 2].id
    target = by_id[k].onset_s + 0.12  # deliberately off: the user's word wins
    res = align_notes(y, SR, score, anchors=[(k, target)])
    got = {n.id: n.onset_s for n in res.notes}
    assert got[k] == pytest.approx(target, abs=1e-9)
    # the warp passes through the anchor
    s_on = next(n.onset_s for n in score if n.id == k)
    assert np.interp(s_on, res.path_s[:, 0], res.path_s[:, 1]) == pytest.approx(target, abs=1e-9)


def test_many_anchors_pin_the_warp(case):
    truth, y, score = case
    by_id = {n.id: n for n in truth}
    picks = score[3::9]
    anchors = [(n.id, by_id[n.id].onset_s) for n in picks]
    res = align_notes(y, SR, score, anchors=anchors)
    got = {n.id: n.onset_s for n in res.notes}
    s_on = {n.id: n.onset_s for n in score}
    for nid, t in anchors:
        assert got[nid] == pytest.approx(t, abs=1e-9)
        assert np.interp(s_on[nid], res.path_s[:, 0], res.path_s[:, 1]) == pytest.approx(t, abs=1e-9)
    assert np.all(np.diff(res.path_s, axis=0) > 0)
    err = np.abs(onset_errors(res, truth))
    assert err.mean() <= 0.025


def test_anchor_errors_name_the_problem(case):
    _, y, score = case
    with pytest.raises(ValueError, match="note 99999"):
        align_notes(y, SR, score, anchors=[(99999, 1.0)])
    with pytest.raises(ValueError, match="outside the recording"):
        align_notes(y, SR, score, anchors=[(score[0].id, 1e4)])
    a, b = score[0], score[-1]
    with pytest.raises(ValueError, match="cross"):
        align_notes(y, SR, score, anchors=[(a.id, 10.0), (b.id, 5.0)])
    with pytest.raises(ValueError, match="mono"):
        align_notes(np.stack([y, y]), SR, score)


def test_confidence_drops_for_notes_missing_from_the_recording(case):
    truth, y, score = case
    rng = np.random.default_rng(3)
    ghosts = []
    for i in range(12):
        t = float(rng.uniform(1.0, 11.0))
        ghosts.append(Note(10_000 + i, int(rng.choice([49, 54, 66, 68, 70])), t, t + 0.4, 90, 2, 3))
    res = align_notes(y, SR, sorted(score + ghosts, key=lambda n: n.onset_s))
    conf = {n.id: c for n, c in zip(res.notes, res.confidence)}
    real = np.array([conf[n.id] for n in score])
    fake = np.array([conf[g.id] for g in ghosts])
    assert fake.mean() < real.mean() - 0.3, (fake.mean(), real.mean())
    assert np.median(fake) < 0.4 < np.median(real)


def test_steps_report_progress_and_return_the_result(case):
    _, y, score = case
    gen = align_steps(y[: 6 * SR], SR, [n for n in score if n.offset_s < 4.0])
    seen = []
    while True:
        try:
            seen.append(next(gen))
        except StopIteration as stop:
            result = stop.value
            break
    stages = [s for s, _ in seen]
    assert stages[0] == "features" and "warp" in stages and "refine" in stages and stages[-1] == "confidence"
    order = ["features", "warp", "refine", "confidence"]
    assert [order.index(s) for s in stages] == sorted(order.index(s) for s in stages)
    assert all(0.0 <= f <= 1.0 for _, f in seen)
    assert isinstance(result, AlignmentResult) and len(result.notes) == len([n for n in score if n.offset_s < 4.0])


def test_much_slower_performance_is_followed():
    rng = np.random.default_rng(11)
    truth = make_piece(rng, seconds=8.0, lead_s=0.5)
    y = synthesise(truth, tail_s=1.0, rng=rng)
    score = perturb(truth, rng, stretch=0.6, jitter_s=0.0)  # score runs 1.7x faster than the audio
    err = np.abs(onset_errors(align_notes(y, SR, score), truth))
    assert np.median(err) < 0.03 and np.mean(err <= 0.05) >= 0.85


@pytest.mark.parametrize("cents", [-100])
def test_recording_off_concert_pitch_still_aligns(cents):
    """Baroque pitch (A4 = 415 Hz, a semitone low) or a quarter tone off: the pitch bands follow."""
    rng = np.random.default_rng(5)
    truth = make_piece(rng, seconds=8.0, lead_s=0.5)
    y = synthesise(truth, tail_s=1.0, rng=rng, cents=cents)
    err = np.abs(onset_errors(align_notes(y, SR, perturb(truth, rng, stretch=0.95)), truth))
    assert err.mean() <= 0.025 and np.mean(err <= 0.05) >= 0.9


def _naive_dtw(C: np.ndarray, skip: float, row_skip: float | None = None) -> float:
    n, m = C.shape
    D = np.full((n, m), np.inf)
    for j in range(m):
        D[0, j] = min(C[0, j] + skip * j, D[0, j - 1] + C[0, j] if j else np.inf)
    for i in range(1, n):
        for j in range(m):
            best = D[i - 1, j]
            if j:
                best = min(best, D[i - 1, j - 1], D[i, j - 1])
            elif row_skip is not None:
                best = min(best, row_skip * i)
            D[i, j] = best + C[i, j]
    end = (D[-1] + skip * (m - 1 - np.arange(m))).min()
    if row_skip is not None:
        end = min(end, (D[:, -1] + row_skip * (n - 1 - np.arange(n))).min())
    return float(end)


def _run(gen):
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def test_banded_dtw_matches_brute_force_on_a_full_band():
    rng = np.random.default_rng(0)
    for _ in range(4):
        f = [FeaturePair(rng.random((3, 25)).astype(np.float32), rng.random((3, 33)).astype(np.float32), "euclidean")]
        C = block_cost(f, 0, 25, 0, 33).astype(np.float64)
        path, _ = _run(banded_dtw(f, np.zeros(25, int), np.full(25, 32), skip_cost=0.2))
        cost = C[path[:, 0], path[:, 1]].sum() + 0.2 * path[0, 1] + 0.2 * (32 - path[-1, 1])
        assert cost == pytest.approx(_naive_dtw(C, 0.2), rel=1e-5)
        steps = np.diff(path, axis=0)
        assert np.all((steps >= 0) & (steps <= 1)) and np.all(steps.sum(axis=1) >= 1)
        assert path[0, 0] == 0 and path[-1, 0] == 24
        # score rows may be left out at either end too (the recording covers part of the score)
        path, _ = _run(banded_dtw(f, np.zeros(25, int), np.full(25, 32), skip_cost=0.2, row_skip_cost=0.3))
        cost = C[path[:, 0], path[:, 1]].sum() + 0.2 * path[0, 1] + 0.2 * (32 - path[-1, 1]) \
            + 0.3 * path[0, 0] + 0.3 * (24 - path[-1, 0])
        assert cost == pytest.approx(_naive_dtw(C, 0.2, 0.3), rel=1e-5)
        assert path[0, 0] == 0 or path[0, 1] == 0
        assert path[-1, 0] == 24 or path[-1, 1] == 32


def test_multires_follows_a_long_diagonal_in_a_narrow_band():
    rng = np.random.default_rng(1)
    n = 3000
    audio = np.zeros((13, n + 400), dtype=np.float32)
    audio[12] = 1.0  # "silence" before and after
    audio[:12, 200: 200 + n] = rng.random((12, n))
    audio[12, 200: 200 + n] = 0.0
    audio /= np.linalg.norm(audio, axis=0)
    score = audio[:, 200: 200 + n]  # the score is audio frames 200..200+n
    path, _ = _run(multires_dtw([FeaturePair(score, audio)], max_cells=200_000))
    assert path[0, 1] == 200 and path[-1, 1] == 200 + n - 1
    assert np.all(path[:, 1] - path[:, 0] == 200)
