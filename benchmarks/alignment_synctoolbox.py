"""Reference aligner for benchmarks/alignment.py: synctoolbox's MrMsDTW with chroma + DLNCO.

Runs inside a separate virtualenv that has ``synctoolbox`` (never the project's), following the
toolbox's own audio-to-score tutorial (feature rate 50 Hz, tuning estimate, optimal chroma shift,
step weights 1.5/1.5/2, strictly monotonic path, linear interpolation of note starts).

    python alignment_synctoolbox.py MIX.wav NOTES.csv OUT.json

NOTES.csv: columns start, duration, pitch, velocity, instrument (seconds, MIDI). OUT.json gets
{"onsets_s": [...], "seconds": alignment time}, onsets in the order of the CSV rows.
"""

import json
import sys
import time

import numpy as np
import pandas as pd
import soundfile as sf
from scipy.interpolate import interp1d
from scipy.signal import resample_poly
from synctoolbox.dtw.mrmsdtw import sync_via_mrmsdtw
from synctoolbox.dtw.utils import compute_optimal_chroma_shift, make_path_strictly_monotonic, shift_chroma_vectors
from synctoolbox.feature.chroma import pitch_to_chroma, quantize_chroma, quantized_chroma_to_CENS
from synctoolbox.feature.csv_tools import df_to_pitch_features, df_to_pitch_onset_features
from synctoolbox.feature.dlnco import pitch_onset_features_to_DLNCO
from synctoolbox.feature.pitch import audio_to_pitch_features
from synctoolbox.feature.pitch_onset import audio_to_pitch_onset_features
from synctoolbox.feature.utils import estimate_tuning

FS = 22050
RATE = 50


def main(wav: str, csv: str, out: str) -> None:
    y, sr = sf.read(wav, dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    if sr != FS:
        g = np.gcd(int(sr), FS)
        y = resample_poly(y, FS // g, int(sr) // g).astype(np.float32)
    df = pd.read_csv(csv)
    t = time.perf_counter()
    tuning = estimate_tuning(y, FS)
    f_pitch = audio_to_pitch_features(f_audio=y, Fs=FS, tuning_offset=tuning, feature_rate=RATE)
    chroma_a = quantize_chroma(pitch_to_chroma(f_pitch=f_pitch))
    onsets_a = audio_to_pitch_onset_features(f_audio=y, Fs=FS, tuning_offset=tuning)
    dlnco_a = pitch_onset_features_to_DLNCO(f_peaks=onsets_a, feature_rate=RATE,
                                            feature_sequence_length=chroma_a.shape[1])
    chroma_s = quantize_chroma(pitch_to_chroma(f_pitch=df_to_pitch_features(df, feature_rate=RATE)))
    dlnco_s = pitch_onset_features_to_DLNCO(f_peaks=df_to_pitch_onset_features(df), feature_rate=RATE,
                                            feature_sequence_length=chroma_s.shape[1])
    cens_a = quantized_chroma_to_CENS(chroma_a, 201, 50, RATE)[0]
    cens_s = quantized_chroma_to_CENS(chroma_s, 201, 50, RATE)[0]
    shift = compute_optimal_chroma_shift(cens_a, cens_s)
    chroma_s = shift_chroma_vectors(chroma_s, shift)
    dlnco_s = shift_chroma_vectors(dlnco_s, shift)
    wp = sync_via_mrmsdtw(f_chroma1=chroma_a, f_onset1=dlnco_a, f_chroma2=chroma_s, f_onset2=dlnco_s,
                          input_feature_rate=RATE, step_weights=np.array([1.5, 1.5, 2.0]),
                          threshold_rec=10 ** 6, verbose=False)
    wp = make_path_strictly_monotonic(wp)
    warp = interp1d(wp[1] / RATE, wp[0] / RATE, kind="linear", fill_value="extrapolate")
    onsets = warp(df["start"].to_numpy())
    seconds = time.perf_counter() - t
    with open(out, "w") as fh:
        json.dump({"onsets_s": [float(v) for v in onsets], "seconds": seconds}, fh)


if __name__ == "__main__":
    main(*sys.argv[1:4])
