import numpy as np
import pytest
import soundfile as sf

from stemroll.io.audio import load_audio
from stemroll.io.errors import InputError
from stemroll.io.midi import load_midi, save_midi, save_retimed_midi
from tests.io.badfiles import BAD_MIDI, ODD_BUT_VALID_MIDI, write_bad_audio, write_bad_midi
from tests.material import two_hand_score, write_midi


@pytest.mark.parametrize("name", sorted(BAD_MIDI))
def test_bad_midi_gives_one_clear_error(tmp_path, name):
    path, expect = write_bad_midi(tmp_path)[name]
    with pytest.raises(InputError) as err:
        load_midi(path)
    msg = str(err.value)
    assert msg.startswith(name + ":") and expect.lower() in msg.lower() and "\n" not in msg


@pytest.mark.parametrize("name", sorted(ODD_BUT_VALID_MIDI))
def test_odd_midi_loads_and_reports(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(ODD_BUT_VALID_MIDI[name])
    score = load_midi(p)
    if name == "drums_only.mid":
        assert len(score) == 0 and score.dropped_drums == 1
        assert any("drum" in w for w in score.warnings)
    elif name == "no_notes.mid":
        assert len(score) == 0 and any("no pitched notes" in w for w in score.warnings)
    else:
        assert len(score) == 1 and score.notes[0].pitch == 60


def test_bad_audio_gives_one_clear_error(tmp_path):
    for label, (path, expect) in write_bad_audio(tmp_path).items():
        with pytest.raises(InputError) as err:
            load_audio(path)
        msg = str(err.value)
        assert msg.startswith(path.name + ":"), label
        assert expect in msg, (label, msg)


@pytest.mark.parametrize("fmt,subtype", [("wav", "PCM_16"), ("flac", "PCM_24"), ("ogg", "VORBIS"), ("mp3", "MPEG_LAYER_III")])
@pytest.mark.parametrize("rate", [8000, 44100, 192000])
def test_audio_formats_rates_and_channels(tmp_path, fmt, subtype, rate):
    channels = 2 if rate == 44100 else 1
    x = 0.3 * np.sin(2 * np.pi * 440 * np.arange(rate // 2) / rate).astype(np.float32)
    data = np.stack([x] * channels, axis=1)
    p = tmp_path / f"tone.{fmt}"
    try:
        sf.write(str(p), data, rate, subtype=subtype)
    except (sf.LibsndfileError, ValueError, RuntimeError) as e:
        pytest.skip(f"this libsndfile cannot write {fmt} at {rate} Hz: {e}")
    a = load_audio(p)
    assert a.sample_rate == rate and a.channels == channels and a.samples.dtype == np.float32
    assert abs(a.n_samples - rate // 2) <= rate // 10  # lossy codecs pad a little


def test_midi_tempo_map_fifo_and_track_names(tmp_path):
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=100)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000),
                                      mido.MetaMessage("set_tempo", tempo=1000000, time=200)]))
    tr = mido.MidiTrack([mido.MetaMessage("track_name", name="violin")])
    # Two overlapping notes of one pitch: on at 0, on at 100, off at 150, off at 300 -> FIFO pairing.
    tr += [mido.Message("note_on", note=60, velocity=90, time=0), mido.Message("note_on", note=60, velocity=70, time=100),
           mido.Message("note_off", note=60, time=50), mido.Message("note_on", note=60, velocity=0, time=150)]
    mid.tracks.append(tr)
    p = tmp_path / "fifo.mid"
    mid.save(str(p))
    s = load_midi(p)
    a, b = sorted(s.notes, key=lambda n: n.onset_s)
    assert a.velocity == 90 and a.onset_s == 0.0 and a.offset_s == pytest.approx(0.75)
    # tick 300 lies after the tempo change at tick 200 (1.0 s): 1.0 + 100/100 * 1.0 s = 2.0 s
    assert b.velocity == 70 and b.onset_s == pytest.approx(0.5) and b.offset_s == pytest.approx(2.0)
    assert s.groups[0].name == "violin" and a.track_name == "violin"


def test_midi_round_trips_and_retimes(tmp_path):
    score = two_hand_score()
    p = write_midi(score, tmp_path / "in.mid")
    loaded = load_midi(p)
    assert [g.name for g in loaded.groups] == ["right hand", "left hand"]
    assert len(loaded) == len(score)
    shifted = [n.evolve(onset_s=n.onset_s * 1.1 + 0.2, offset_s=n.offset_s * 1.1 + 0.2) for n in loaded.notes]
    save_retimed_midi(p, shifted, tmp_path / "out.mid")
    again = {n.id: n for n in load_midi(tmp_path / "out.mid").notes}
    for n in shifted:
        m = again[n.id]
        assert m.pitch == n.pitch and m.track == n.track and abs(m.onset_s - n.onset_s) < 2e-3
    save_midi(loaded, tmp_path / "groups.mid")
    assert [g.name for g in load_midi(tmp_path / "groups.mid").groups] == ["right hand", "left hand"]
