"""Look at the canvas: a demo-like score over the synthetic spectrogram of its own notes.

Not a test. ``QT_QPA_PLATFORM=offscreen python tests/ui/canvas_demo.py OUT.png [--overlay]
[--notes N] [--seconds S]`` saves ``widget.grab()``; without an output path it opens a window.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np


def demo_score(*, n_notes: int = 120, seconds: float = 16.0, seed: int = 3):
    """Two hands (melody over C4, bass below) plus a third group doubling some melody notes."""
    from stemroll.core.score import Note, NoteGroup, Score

    rng = np.random.default_rng(seed)
    notes, nid, t = [], 0, 0.0
    step = seconds * 1.35 / max(1, n_notes)
    scale = [60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79]
    while len(notes) < n_notes and t < seconds:
        p = int(rng.choice(scale))
        notes.append(Note(nid, p, t, t + step * 0.9, 90, 0))
        nid += 1
        if nid % 4 == 1:
            notes.append(Note(nid, int(rng.choice([36, 40, 43, 45, 48])), t, t + step * 1.9, 80, 1))
            nid += 1
        if nid % 7 == 0:  # a doubling in another group: a unison
            notes.append(Note(nid, p, t + step * 0.3, t + step * 0.8, 70, 2))
            nid += 1
        t += step
    groups = [NoteGroup(0, "right hand"), NoteGroup(1, "left hand"), NoteGroup(2, "strings")]
    return Score.from_notes(notes, groups)


def synthetic_display(score, *, sample_rate: int = 22050, n_fft: int = 2048, hop_length: int = 512, seed: int = 0):
    """Harmonic tones for the score's notes, analysed with the project's STFT and display mapping."""
    from stemroll.core.display import log_frequency_spectrogram
    from stemroll.core.spectral import STFTConfig, stft
    from stemroll.core.units import midi_to_hz

    rng = np.random.default_rng(seed)
    y = np.zeros(int((score.end_s + 0.5) * sample_rate), np.float32)
    for n in score.notes:
        i0, i1 = int(n.onset_s * sample_rate), int(n.offset_s * sample_rate)
        t = np.arange(i1 - i0) / sample_rate
        f0 = float(midi_to_hz(n.pitch))
        tone = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 9) if h * f0 < sample_rate / 2)
        env = np.exp(-2.0 * t) * np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)  # 10 ms fades
        y[i0:i1] += (0.1 * env * tone).astype(np.float32)
    y += 1e-3 * rng.standard_normal(len(y)).astype(np.float32)
    V = np.abs(stft(y, STFTConfig(n_fft=n_fft, hop_length=hop_length)))
    return log_frequency_spectrogram(V, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?")
    ap.add_argument("--overlay", action="store_true")
    ap.add_argument("--notes", type=int, default=120)
    ap.add_argument("--seconds", type=float, default=16.0)
    ap.add_argument("--size", default="1200x800")
    ap.add_argument("--pitch", default="", help="lo,hi MIDI pitch range to show")
    ap.add_argument("--zoom", type=float, default=1.0, help="time zoom factor after zoom-to-fit")
    args = ap.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from stemroll.ui.canvas import EditorCanvas
    from stemroll.ui.document import Document

    app = QApplication.instance() or QApplication(sys.argv)
    doc = Document()
    doc.score = demo_score(n_notes=args.notes, seconds=args.seconds)
    doc.score_changed.emit()
    doc.display = synthetic_display(doc.score)
    doc.display_changed.emit()
    canvas = EditorCanvas(doc)
    w, h = (int(v) for v in args.size.split("x"))
    canvas.resize(w, h)
    canvas.set_overlay(args.overlay)
    canvas.show()
    canvas.zoom_to_fit()
    canvas.zoom_time(args.zoom, center=3.0)
    if args.pitch:
        canvas.spec_view.setYRange(*(float(v) for v in args.pitch.split(",")), padding=0.0)
    canvas.set_selection([n.id for n in doc.score.notes[3:6]])
    canvas.set_playhead(2.5, follow=False)
    canvas.commit_loop(4.0, 6.0)
    app.processEvents()
    if args.out:
        canvas.graphics.grab().save(args.out)
        return 0
    return app.exec()


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
