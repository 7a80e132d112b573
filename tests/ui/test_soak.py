"""Soak: a long working day in one run of the editor. Each round edits the score, separates, starts
playback (stand-in player: the test machines have no sound card), exports the stems and autosaves;
the resident memory (VmRSS) must stop growing once the first rounds have warmed the caches.

``pytest -m slow tests/ui/test_soak.py -s`` runs 50 rounds and prints the RSS figures; CI runs 5.
"""

from __future__ import annotations

import gc
from dataclasses import replace
from pathlib import Path

import pytest
import soundfile as sf

from stemroll.core import edits
from stemroll.ui.panels.export_dialog import ExportOptions
from tests.material import synth, two_hand_score, write_midi
from tests.ui.conftest import make_window, open_and_wait
from tests.ui.test_faults import _player_box

RATE = 22050
GROWTH_LIMIT_MB = 100.0


def rss_mb() -> float:
    """Resident set size of this process in MB (VmRSS from /proc/self/status)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _material(folder: Path) -> tuple[Path, Path]:
    score = two_hand_score(2)  # 4 s, two groups
    audio = folder / "soak.wav"
    sf.write(str(audio), synth(score.notes, sample_rate=RATE), RATE, subtype="FLOAT")
    return audio, write_midi(score, folder / "soak.mid")


def soak(qtbot, settings, tmp_path, rounds: int) -> list[float]:
    """Run ``rounds`` rounds; returns the RSS (MB) measured after each."""
    box, make = _player_box()
    win = make_window(qtbot, settings, make_player=make, autosave_dir=tmp_path / "data", autosave_interval_s=3600)
    doc, session = win.doc, win.session
    open_and_wait(qtbot, win, _material(tmp_path))
    doc.set_params(replace(doc.params, iterations=3))
    out = tmp_path / "stems"
    rss = []
    for i in range(rounds):
        # Edit: move a note up and down in turn; every few rounds delete one and undo it.
        nid = doc.score.notes[i % len(doc.score)].id
        doc.push_edit(edits.move_notes(doc.score, [nid], dpitch=1 if i % 2 == 0 else -1))
        if i % 3 == 2:
            doc.push_edit(edits.DeleteNotes((nid,)))
            doc.undo_stack.undo()
        with qtbot.waitSignal(session.separation.finished, timeout=60000):
            assert session.separate()
        assert win.autosaver.path.exists()  # the completed run was autosaved
        win.transport.toggle_play()
        assert win.transport.playing
        qtbot.wait(30)
        win.transport.stop()
        names = tuple(s.name for s in doc.result.stems)
        with qtbot.waitSignal(session.exported, timeout=30000):
            assert session.export(ExportOptions(folder=out, song="soak", stems=names, overwrite=True))
        assert len(list(out.iterdir())) == len(names) + 2
        gc.collect()
        qtbot.wait(10)
        rss.append(rss_mb())
    assert len(box) == 1 and box[0].calls.count(("play",)) == rounds
    win.close()
    return rss


def _report(rss: list[float], first: int) -> float:
    growth = rss[-1] - rss[first - 1]
    print(f"\nRSS after round 1: {rss[0]:.1f} MB, round {first}: {rss[first - 1]:.1f} MB, round {len(rss)}: "
          f"{rss[-1]:.1f} MB, max {max(rss):.1f} MB; growth from round {first}: {growth:+.1f} MB")
    return growth


def test_soak_five_rounds(qtbot, settings, tmp_path):
    rss = soak(qtbot, settings, tmp_path, 5)
    assert _report(rss, 2) < GROWTH_LIMIT_MB


@pytest.mark.slow
def test_soak_fifty_rounds(qtbot, settings, tmp_path):
    rss = soak(qtbot, settings, tmp_path, 50)
    assert _report(rss, 5) < GROWTH_LIMIT_MB
