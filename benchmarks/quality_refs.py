"""Reference separations for the quality benchmark: the ideal ratio mask and libfmp's score-informed NMF.

Both take the mixture (float32, shape (n,)) and return estimates float32 (n_sources, n) in the
order of the given references / groups. Nothing here is used by the application.
"""

from __future__ import annotations

import numpy as np

from stemroll.core.spectral import STFTConfig, istft, stft

TOL_NOTE = [0.1, 0.5]  # seconds before / after a note (C8S3_NMFAudioDecomp)
TOL_ONSET = [0.2, 0.1]  # seconds before / after an onset


def ideal_ratio_mask(mix: np.ndarray, refs: np.ndarray, *, power: float = 2.0, n_fft: int = 2048,
                     hop_length: int = 512) -> np.ndarray:
    """Oracle soft masks |S_j|^p / sum_k |S_k|^p applied to the mixture STFT (a ceiling)."""
    cfg = STFTConfig(n_fft, hop_length)
    X = stft(mix, cfg)
    P = np.stack([np.abs(stft(r, cfg)) ** power for r in refs])
    M = P / (P.sum(axis=0) + 1e-20)
    return np.stack([istft(X * m, cfg, length=len(mix)) for m in M])


def libfmp_separation(mix: np.ndarray, sample_rate: int, groups: list[list[tuple[float, float, int]]]) -> np.ndarray:
    """libfmp.c8 score-informed NMF with the FMP notebook settings (C8S3_NMFAudioDecomp).

    groups: per source a list of (onset_s, duration_s, pitch). Log-compressed magnitude of a
    2048 / hop 1024 Hann STFT, pitch templates with onset templates (tol_pitch 0.05), activation
    tolerances of the notebook (note [0.1, 0.5] s, onset [0.2, 0.1] s), 100 Euclidean
    NMF iterations with max-normalised templates, masks V_group / V_model on the complex STFT.
    Raises ImportError when libfmp is not installed.
    """
    import librosa
    import libfmp.c8

    n_fft, hop = 2048, 1024
    X = librosa.stft(mix.astype(np.float64), n_fft=n_fft, hop_length=hop, win_length=n_fft, window="hann")
    V = np.log(1 + np.abs(X))
    K, N = V.shape
    freq_res, frame_res = sample_rate / n_fft, hop / sample_rate
    ann = [(on, dur, p, 0, str(g)) for g, notes in enumerate(groups) for on, dur, p in notes]
    pitch_set = libfmp.c8.pitch_from_annotation(ann)
    W0 = libfmp.c8.init_nmf_template_pitch_onset(K, pitch_set, freq_res, tol_pitch=0.05)
    H0, pitch_set, _ = libfmp.c8.init_nmf_activation_score_onset(N, ann, frame_res, tol_note=TOL_NOTE,
                                                                  tol_onset=TOL_ONSET, pitch_set=pitch_set)
    W, H, V_approx, _, _ = libfmp.c8.nmf(V, W0.shape[1], W=W0, H=H0, L=100, norm=True)
    eps = np.finfo(np.float32).eps
    out = []
    for g in range(len(groups)):
        Hg, _, _ = libfmp.c8.init_nmf_activation_score_onset(
            N, [a for a in ann if a[4] == str(g)], frame_res, tol_note=TOL_NOTE, tol_onset=TOL_ONSET,
            pitch_set=pitch_set)
        Vg = W @ (H * (Hg > 0))
        y = librosa.istft(X * (Vg / (V_approx + eps)), hop_length=hop, win_length=n_fft, window="hann",
                          length=len(mix))
        out.append(y.astype(np.float32))
    return np.stack(out)
