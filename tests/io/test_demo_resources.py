"""The bundled demo piece and the desktop resources are present, loadable and consistent."""

from __future__ import annotations

import configparser
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from statistics import median

import mido
import numpy as np
import pytest

from stemroll.io.audio import load_audio
from stemroll.io.midi import load_midi

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEMO = RESOURCES / "demo"
ICON_SIZES = (16, 32, 48, 64, 128, 256)


@pytest.fixture(scope="module")
def score():
    return load_midi(DEMO / "demo.mid")


@pytest.fixture(scope="module")
def audio():
    return load_audio(DEMO / "demo.flac")


def test_demo_midi_is_type1_with_a_conductor_and_two_named_hands():
    mid = mido.MidiFile(str(DEMO / "demo.mid"))
    assert mid.type == 1
    names = [next((m.name for m in t if m.type == "track_name"), "") for t in mid.tracks]
    assert names[1:] == ["right hand", "left hand"]
    assert not any(m.type == "note_on" for m in mid.tracks[0])
    programs = {m.program for t in mid.tracks[1:] for m in t if m.type == "program_change"}
    assert programs == {0}  # General MIDI acoustic grand piano


def test_demo_midi_loads_into_right_and_left_hand_groups(score):
    assert [g.name for g in score.groups] == ["right hand", "left hand"]
    right, left = (score.notes_of(g.id) for g in score.groups)
    assert len(right) > 50 and len(left) > 30
    assert median(n.pitch for n in right) > median(n.pitch for n in left) + 12
    assert not score.warnings


def test_demo_audio_loads_with_a_duration_of_20_to_40_seconds(audio):
    assert audio.sample_rate == 44100
    assert audio.channels in (1, 2)
    assert 20.0 <= audio.duration_s <= 40.0
    peak_db = 20 * np.log10(np.abs(audio.samples).max())
    assert -6.0 < peak_db < -0.5


def test_the_score_lies_within_the_audio_and_the_audio_sounds_where_notes_are(score, audio):
    first = min(n.onset_s for n in score.notes)
    last = max(n.offset_s for n in score.notes)
    assert 0.0 <= first and last <= audio.duration_s
    assert audio.duration_s - last < 3.0  # no long silent tail
    mono = audio.mono()
    sr = audio.sample_rate
    # Every second that holds a note onset is clearly audible (no misalignment or dropouts).
    for t in sorted({int(n.onset_s) for n in score.notes}):
        seg = mono[t * sr:(t + 1) * sr]
        assert np.sqrt(np.mean(seg ** 2)) > 10 ** (-40 / 20), f"second {t} is nearly silent"


def test_demo_folder_stays_under_3_mb():
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total < 3_000_000


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_icon_svg_and_pngs_exist_at_every_size():
    svg = ET.parse(RESOURCES / "icons" / "stemroll.svg").getroot()
    assert svg.tag.endswith("svg")
    for size in ICON_SIZES:
        assert _png_size(RESOURCES / "icons" / f"stemroll-{size}.png") == (size, size)


def test_desktop_entry_and_mime_type_agree():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(RESOURCES / "stemroll.desktop", encoding="utf-8")
    d = entry["Desktop Entry"]
    assert d["Name"] == "Stemroll" and d["Icon"] == "stemroll"
    assert d["Exec"].split()[0] == "stemroll-gui"
    assert "application/x-stemroll-project" in d["MimeType"].split(";")
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    root = ET.parse(RESOURCES / "stemroll-mime.xml").getroot()
    mime = root.find("m:mime-type[@type='application/x-stemroll-project']", ns)
    assert mime is not None
    assert [g.get("pattern") for g in mime.findall("m:glob", ns)] == ["*.stemroll"]
