"""core.display: the pitch-axis spectrogram lines up with MIDI pitch, note geometry, unisons, time labels."""

import numpy as np
import pytest

from stemroll.core.display import DisplaySpectrogram, NoteTable, format_time, log_frequency_spectrogram, unison_regions
from stemroll.core.score import Note
from stemroll.core.spectral import STFTConfig, stft
from stemroll.core.units import hz_to_midi, midi_to_hz


def _sine_display(freq_hz, *, sr=22050, n_fft=2048, hop=512, seconds=1.0, **kw):
    t = np.arange(int(sr * seconds)) / sr
    x = (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    V = np.abs(stft(x, STFTConfig(n_fft=n_fft, hop_length=hop)))
    return log_frequency_spectrogram(V, sample_rate=sr, n_fft=n_fft, hop_length=hop, **kw)


def _peak_pitch(disp: DisplaySpectrogram) -> float:
    mid = disp.db[:, disp.n_frames // 2]
    return disp.pitch_lo + int(np.argmax(mid)) / disp.rows_per_semitone


def test_shape_dtype_and_axis_metadata():
    disp = _sine_display(440.0)
    assert disp.db.dtype == np.float32
    assert disp.n_rows == (108 - 21) * 4 + 1
    assert disp.pitch_lo == 21.0 and disp.rows_per_semitone == 4
    assert disp.pitch_hi == pytest.approx(108.0)
    assert disp.hop_s == pytest.approx(512 / 22050)
    assert disp.db.max() == pytest.approx(0.0, abs=1e-4)
    assert disp.db.min() >= -80.0


def test_a440_peaks_at_midi_69():
    assert _peak_pitch(_sine_display(440.0)) == pytest.approx(69.0, abs=0.25)


def test_sinusoids_peak_at_their_pitch_even_where_bins_are_wider_than_a_semitone():
    # At 55 Hz a bin (10.8 Hz) spans three semitones: the interpolation still puts the peak within a
    # fifth of a bin (or a quarter semitone, whichever is wider) of the true pitch, from 41 Hz to 4 kHz.
    for pitch in np.arange(28.0, 108.0, 0.37):
        freq = float(midi_to_hz(pitch))
        bins_per_semitone = freq * (2 ** (1 / 12) - 1) * 2048 / 22050
        tol = max(0.26, 0.2 / bins_per_semitone)
        assert _peak_pitch(_sine_display(freq, seconds=0.3)) == pytest.approx(pitch, abs=tol), freq


def test_off_grid_frequency_lands_on_nearest_row():
    f = float(midi_to_hz(64.3))
    assert _peak_pitch(_sine_display(f)) == pytest.approx(64.25, abs=0.26)


def test_frames_are_centred_on_hop_multiples():
    sr, hop = 22050, 256
    x = np.zeros(sr, dtype=np.float32)
    x[sr // 2] = 1.0  # a click at 0.5 s
    V = np.abs(stft(x, STFTConfig(n_fft=1024, hop_length=hop)))
    disp = log_frequency_spectrogram(V, sample_rate=sr, n_fft=1024, hop_length=hop)
    k = int(np.argmax(disp.db.mean(axis=0)))
    assert k * disp.hop_s == pytest.approx(0.5, abs=disp.hop_s)
    assert disp.frame_of(0.5) == pytest.approx(k, abs=1)


def test_silence_and_above_nyquist_are_at_the_floor():
    disp = log_frequency_spectrogram(np.zeros((513, 10), np.float32), sample_rate=8000, n_fft=1024,
                                     hop_length=256, floor_db=-60.0)
    assert np.all(disp.db == -60.0)
    loud = log_frequency_spectrogram(np.ones((513, 10), np.float32), sample_rate=8000, n_fft=1024, hop_length=256)
    above = np.arange(loud.n_rows) / 4 + 21 > hz_to_midi(4000.0)
    assert np.all(loud.db[above] == loud.floor_db) and np.all(loud.db[~above] == 0.0)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="n_fft // 2 \\+ 1"):
        log_frequency_spectrogram(np.zeros((100, 4)), sample_rate=8000, n_fft=1024, hop_length=256)


def test_extent_and_uint8_mapping():
    db = np.array([[-80.0, -40.0, 0.0]], dtype=np.float32)
    disp = DisplaySpectrogram(db, 60.0, 2, 0.1, -80.0)
    assert disp.to_uint8().tolist() == [[0, 128, 255]]
    x0, y0, w, h = disp.extent()
    assert (x0, y0, w, h) == pytest.approx((-0.05, 59.75, 0.3, 0.5))
    assert disp.row_of(60.4) == 0 and disp.frame_of(0.19) == 2 and disp.frame_of(99) == 2


def test_auto_floor_puts_the_median_a_quarter_up_the_colour_scale():
    rng = np.random.default_rng(1)
    db = np.clip(rng.normal(-40.0, 10.0, (50, 4000)), -80, 0).astype(np.float32)
    disp = DisplaySpectrogram(db, 40.0, 4, 0.01, -80.0)
    floor = disp.auto_floor_db()
    assert floor == pytest.approx(-40.0 / 0.75, abs=0.5)
    u = disp.to_uint8(floor_db=floor)
    assert np.median(u) == pytest.approx(0.25 * 255, abs=3)
    assert DisplaySpectrogram(np.full((2, 3), -79.0, np.float32), 40.0, 4, 0.01).auto_floor_db() == -80.0
    assert DisplaySpectrogram(np.zeros((2, 3), np.float32), 40.0, 4, 0.01).auto_floor_db() == -30.0
    with pytest.raises(ValueError, match="below 0 dB"):
        disp.to_uint8(floor_db=0.0)


def test_long_piece_is_chunked_without_changing_the_result():
    rng = np.random.default_rng(0)
    V = rng.random((257, 9000)).astype(np.float32)
    disp = log_frequency_spectrogram(V, sample_rate=8000, n_fft=512, hop_length=128, pitch_lo=40, pitch_hi=90)
    part = log_frequency_spectrogram(V[:, 4000:4200] * 1.0, sample_rate=8000, n_fft=512, hop_length=128,
                                     pitch_lo=40, pitch_hi=90)
    ref = 20 * np.log10(V.max()) - 20 * np.log10(V[:, 4000:4200].max())
    np.testing.assert_allclose(disp.db[:, 4000:4200], np.maximum(part.db - ref, -80), atol=1e-3)


def _notes():
    return [Note(0, 60, 0.0, 1.0, group_id=0), Note(1, 60, 0.5, 1.5, group_id=1), Note(2, 64, 0.0, 2.0, group_id=0),
            Note(3, 64, 1.0, 1.2, group_id=0), Note(4, 67, 3.0, 4.0, group_id=2), Note(5, 67, 3.5, 3.7, group_id=1)]


def test_unison_regions_pairs_of_groups_only():
    assert unison_regions(_notes()) == [(60, 0.5, 1.0, 0, 1), (67, 3.5, 3.7, 1, 2)]
    assert unison_regions([Note(0, 60, 0.0, 1.0), Note(1, 60, 1.0, 2.0, group_id=1)]) == []  # touching is not overlapping


def test_note_table_hit_box_and_stroke():
    table = NoteTable.from_notes(_notes())
    assert len(table) == 6
    assert table.ids[table.hit(0.7, 60.2)] == 1  # the later-starting of two overlapping notes
    assert table.hit(0.7, 61.0) is None
    assert table.hit(2.03, 64, slop_s=0.05) is not None and table.hit(2.03, 64) is None
    assert sorted(table.ids[table.in_box(0.9, 0.2, 59.0, 64.4)]) == [0, 1, 2]
    assert sorted(table.ids[table.on_segment((0.2, 59.8), (1.1, 64.3), step_s=0.01)]) == [0, 2, 3]
    assert sorted(table.ids[table.index_of([5, 1, 99])]) == [1, 5]
    assert len(NoteTable.from_notes([])) == 0 and NoteTable.from_notes([]).hit(0, 60) is None


@pytest.mark.parametrize("t, text", [(0, "0:00.0"), (83.25, "1:23.2"), (59.96, "1:00.0"), (-1.5, "-0:01.5"),
                                     (3600.0, "60:00.0")])
def test_format_time(t, text):
    assert format_time(t) == text
    assert format_time(12.0, decimals=0) == "0:12"
