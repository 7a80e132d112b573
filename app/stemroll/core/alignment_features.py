"""Features for score-to-audio alignment: pitch spectrograms, chroma and decaying onset chroma.

Audio features come from two chunked STFT passes (bounded memory on long recordings): a long
window for chroma (good pitch resolution) at the DTW frame rate, and a shorter window at four times
that rate for onset features and local onset refinement. Score features are synthesised from the
notes themselves (harmonic partials folded into pitch classes, impulses at note starts), then go
through the same compression and normalisation so the two sides are comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal
import scipy.sparse
from scipy.ndimage import maximum_filter1d

from .alignment_tuning import choose_reference, estimate_tuning, spectral_peaks
from .spectral import STFTConfig, stft_frames
from .units import hz_to_midi, midi_to_hz

ANALYSIS_RATE = 22050
PITCH_LO, PITCH_HI = 21, 108  # piano range: rows of every pitch spectrogram
N_PITCH = PITCH_HI - PITCH_LO + 1
HARMONIC_DECAY = 0.6  # amplitude of partial h is HARMONIC_DECAY ** (h - 1)
N_HARMONICS = 8
SILENCE_DB = -50.0  # frames this far below the loud frames count as silence
DECAY_LEN = 10  # frames of the decaying tail after each onset (DLNCO)
CHROMA_WINDOW_S = 0.186  # analysis window of the chroma (resolves semitones from about 100 Hz)
FINE_WINDOW_S = 0.093  # analysis window of the onset features (time resolution vs pitch resolution)
FINE_GAMMA = 100.0  # log compression of the fine pitch energies
RELEASE_S = 0.1  # time constant of the modelled release after a note's offset (power)


@dataclass(frozen=True)
class FrameGrid:
    """Frame timing shared by audio and score features.

    ``hop_fine`` samples at ``sample_rate`` between fine (onset) frames; DTW frames are
    ``ratio`` fine frames apart. Frame k is centred at ``k * hop / sample_rate`` seconds.
    """

    sample_rate: int
    hop_fine: int
    ratio: int = 4

    @classmethod
    def for_rate(cls, sample_rate: int, *, fine_rate_hz: float = 200.0) -> "FrameGrid":
        return cls(sample_rate, max(1, int(round(sample_rate / fine_rate_hz))))

    @property
    def hop_dtw(self) -> int:
        return self.hop_fine * self.ratio

    @property
    def dtw_rate(self) -> float:
        return self.sample_rate / self.hop_dtw

    @property
    def fine_rate(self) -> float:
        return self.sample_rate / self.hop_fine


@dataclass(frozen=True)
class AudioFeatures:
    """Audio side of the alignment.

    chroma: float32 (13, n_dtw) unit columns: 12 pitch classes scaled by loudness, plus silence.
    onset: float32 (12, n_dtw) decaying onset chroma (DLNCO-like).
    pitch_fine: float32 (N_PITCH, n_fine) log1p(FINE_GAMMA * power / ref) per pitch band at the
    fine rate (so expm1 of it is power in units of ref / FINE_GAMMA).
    energy_db: float32 (n_dtw,) frame level relative to a loud frame (its 95th percentile).
    fine_n_fft: window length of ``pitch_fine`` in samples at ``grid.sample_rate``.
    tuning: semitones by which the pitch bands were shifted to follow the recording's tuning.
    """

    grid: FrameGrid
    chroma: np.ndarray
    onset: np.ndarray
    pitch_fine: np.ndarray
    energy_db: np.ndarray
    fine_n_fft: int = 2048
    tuning: float = 0.0


def to_analysis_rate(y: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    """Mono float32 signal resampled down to ANALYSIS_RATE (left alone at or below it)."""
    y = np.asarray(y, dtype=np.float32)
    if sample_rate <= ANALYSIS_RATE:
        return y, int(sample_rate)
    g = np.gcd(int(sample_rate), ANALYSIS_RATE)
    out = scipy.signal.resample_poly(y, ANALYSIS_RATE // g, int(sample_rate) // g).astype(np.float32)
    return out, ANALYSIS_RATE


def pitch_filterbank(*, sample_rate: int, n_fft: int, tuning: float = 0.0) -> np.ndarray:
    """Triangular bands on MIDI pitches PITCH_LO..PITCH_HI (shifted by ``tuning`` semitones) over
    STFT bins (power domain).

    Each band spans one semitone either side of the pitch, widened to at least 1.5 bins where the
    bins are coarser than semitones. Returns float32 (N_PITCH, n_fft // 2 + 1).
    """
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    bin_hz = sample_rate / n_fft
    fb = np.zeros((N_PITCH, len(freqs)), dtype=np.float32)
    for r, p in enumerate(range(PITCH_LO, PITCH_HI + 1)):
        f0 = float(midi_to_hz(p + tuning))
        width = max(f0 * (2 ** (1 / 12) - 1), 1.5 * bin_hz)
        fb[r] = np.maximum(0.0, 1.0 - np.abs(freqs - f0) / width)
    return fb


def pitch_spectrogram(y: np.ndarray, cfg: STFTConfig, fb: np.ndarray, *, chunk_frames: int = 2048) -> np.ndarray:
    """Pitch-band power of a mono signal, computed chunk by chunk so memory stays bounded.

    y: float32 (n,); fb: (N_PITCH, n_bins) band weights. Returns float32 (N_PITCH,
    cfg.n_frames(n)); frames centred at k * hop as in ``stft``.
    """
    n_frames = cfg.n_frames(len(y))
    used = np.flatnonzero(fb.any(axis=0))
    top = int(used[-1]) + 1 if len(used) else 1
    bank = scipy.sparse.csr_matrix(fb[:, :top])
    out = np.empty((fb.shape[0], n_frames), dtype=np.float32)
    for f0 in range(0, n_frames, chunk_frames):
        f1 = min(n_frames, f0 + chunk_frames)
        X = stft_frames(y, cfg, start=f0, stop=f1)[:top]
        out[:, f0:f1] = bank @ (X.real ** 2 + X.imag ** 2)
    return out


def fold_chroma(pitch_power: np.ndarray) -> np.ndarray:
    """(N_PITCH, n) -> (12, n) by summing pitch classes (row 0 = C)."""
    out = np.zeros((12, pitch_power.shape[1]), dtype=np.float32)
    for r in range(pitch_power.shape[0]):
        out[(PITCH_LO + r) % 12] += pitch_power[r]
    return out


def normalise_columns(x: np.ndarray, *, silent: np.ndarray | None = None) -> np.ndarray:
    """Unit L2 columns; columns flagged ``silent`` (or all-zero) become the uniform unit vector."""
    norm = np.linalg.norm(x, axis=0)
    empty = norm < 1e-9 if silent is None else (norm < 1e-9) | silent
    out = x / np.where(empty, 1.0, norm)[None, :]
    out[:, empty] = 1.0 / np.sqrt(x.shape[0])
    return out.astype(np.float32, copy=False)


def shape_chroma(power: np.ndarray, *, ref: float, silent: np.ndarray) -> np.ndarray:
    """Chroma power (12, n) -> unit columns of log-compressed chroma (same on both sides).

    ref: power of a loud frame (its 95th percentile); ``silent`` (n,) columns become uniform."""
    return normalise_columns(compress(power, ref=ref / 12), silent=silent)


def with_loudness(chroma: np.ndarray, level_db: np.ndarray) -> np.ndarray:
    """Append a silence dimension: (12, n) unit chroma + (n,) level in dB -> (13, n) unit columns.

    Loudness rises from 0 at SILENCE_DB to 1 at SILENCE_DB + 20 dB; the chroma part is scaled by
    it and the 13th row holds (1 - loudness), so silence matches silence and never a chord."""
    loud = np.clip((np.asarray(level_db) - SILENCE_DB) / 20.0, 0.0, 1.0).astype(np.float32)
    x = np.vstack([chroma * loud[None, :], (1.0 - loud)[None, :]])
    return normalise_columns(x)


def compress(x: np.ndarray, *, ref: float, gamma: float = 100.0) -> np.ndarray:
    """log(1 + gamma * x / ref), float32: level-independent logarithmic compression."""
    return np.log1p(gamma * x / max(float(ref), 1e-20)).astype(np.float32)


def decaying_onsets(impulses: np.ndarray, *, decay_len: int = DECAY_LEN, norm_win: int = 151) -> np.ndarray:
    """DLNCO-style features: locally normalised onset chroma with a decaying tail per onset.

    impulses: (12, n) non-negative onset strengths. Each column is divided by the local maximum
    of column norms over ``norm_win`` frames (quiet passages keep their onsets), then convolved
    forward in time with sqrt-linear decay over ``decay_len`` frames. Returns float32 (12, n).
    """
    n = impulses.shape[1]
    if n == 0:
        return impulses.astype(np.float32)
    norms = np.linalg.norm(impulses, axis=0)
    local = maximum_filter1d(norms, size=max(1, norm_win), mode="nearest")
    x = impulses / np.maximum(local, 1e-9 + 0.02 * float(norms.max(initial=0.0)))[None, :]
    kernel = np.sqrt(np.linspace(1.0, 0.0, decay_len + 1)[:-1]).astype(np.float32)
    out = scipy.signal.lfilter(kernel, [1.0], x, axis=1)
    return np.minimum(out, 1.0).astype(np.float32)


def audio_features(y: np.ndarray, sample_rate: int, *, profile: np.ndarray | None = None) -> AudioFeatures:
    """Features of a mono recording y (float32 (n,)) at ``sample_rate`` Hz (see ``AudioFeatures``).

    The pitch bands follow the recording's tuning; profile: the score's pitch-class weights (12,)
    (``alignment_tuning.score_profile``), which settle a tuning a semitone or a quarter tone away
    from A4 = 440 Hz.
    """
    y, sr = to_analysis_rate(y, sample_rate)
    grid = FrameGrid.for_rate(sr)
    cfg_c = STFTConfig(n_fft=_pow2(sr * CHROMA_WINDOW_S), hop_length=grid.hop_dtw)
    cfg_o = STFTConfig(n_fft=_pow2(sr * FINE_WINDOW_S), hop_length=grid.hop_fine)
    midi, weight = spectral_peaks(y, sr)
    tuning = choose_reference(midi, weight, estimate_tuning(midi, weight), profile)
    p_c = pitch_spectrogram(y, cfg_c, pitch_filterbank(sample_rate=sr, n_fft=cfg_c.n_fft, tuning=tuning))
    p_o = pitch_spectrogram(y, cfg_o, pitch_filterbank(sample_rate=sr, n_fft=cfg_o.n_fft, tuning=tuning))
    n_dtw = p_c.shape[1]
    frame_power = p_c.sum(axis=0)
    ref = float(np.percentile(frame_power, 95)) if n_dtw else 1.0
    energy_db = (10 * np.log10(np.maximum(frame_power, 1e-20) / max(ref, 1e-20))).astype(np.float32)
    chroma = with_loudness(shape_chroma(fold_chroma(p_c), ref=ref, silent=energy_db < SILENCE_DB), energy_db)
    fine_ref = float(np.percentile(p_o.sum(axis=0), 95)) / 12 if p_o.size else 1.0
    pitch_fine = compress(p_o, ref=fine_ref, gamma=FINE_GAMMA)
    onset = decaying_onsets(_pool_max(fold_chroma(onset_peaks(rise(pitch_fine))), grid.ratio, n_dtw))
    return AudioFeatures(grid, chroma, onset, pitch_fine, energy_db, cfg_o.n_fft, tuning)


def rise(log_pitch: np.ndarray, *, lag: int = 2) -> np.ndarray:
    """Half-wave rectified rise of log energy over ``lag`` frames, centred on the frame (frame k
    holds L[k + lag/2] - L[k - lag/2], rounded down); float32, same shape (rows, n)."""
    d = np.zeros_like(log_pitch)
    a = lag // 2
    d[:, a: d.shape[1] - (lag - a)] = np.maximum(0.0, log_pitch[:, lag:] - log_pitch[:, :-lag])
    return d


def onset_peaks(flux: np.ndarray, *, min_rise: float = 0.5, half_width: int = 5) -> np.ndarray:
    """Keep only local maxima in time (within +-half_width frames) of at least ``min_rise``;
    everything else becomes zero. flux: (rows, n) -> float32 (rows, n), sparse."""
    local = maximum_filter1d(flux, size=2 * half_width + 1, axis=1, mode="constant")
    return np.where((flux >= local) & (flux >= min_rise), flux, 0.0).astype(np.float32)


def _pool_max(x: np.ndarray, ratio: int, n_out: int) -> np.ndarray:
    """Max over the ``ratio`` fine frames nearest each coarse frame centre -> (rows, n_out)."""
    half = ratio // 2
    xp = np.zeros((x.shape[0], ratio * n_out), dtype=x.dtype)
    m = min(x.shape[1], ratio * n_out - half)
    xp[:, half: half + m] = x[:, :m]
    return xp.reshape(x.shape[0], n_out, ratio).max(axis=2)


def _pow2(n: float) -> int:
    return int(2 ** round(np.log2(max(16.0, n))))


def harmonic_classes() -> list[tuple[int, float]]:
    """[(semitone offset mod 12, power weight)] for the modelled partials of a note."""
    return [(int(round(12 * np.log2(h))) % 12, HARMONIC_DECAY ** (2 * (h - 1))) for h in range(1, N_HARMONICS + 1)]


def score_features(pitch: np.ndarray, onset_s: np.ndarray, offset_s: np.ndarray, velocity: np.ndarray,
                   *, t0_s: float, n_frames: int, frame_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic chroma and onset chroma of notes on a grid starting at ``t0_s``.

    pitch/onset_s/offset_s/velocity: (n_notes,) arrays. Returns chroma float32 (13, n_frames)
    and onset float32 (12, n_frames), processed like the audio side (compression, unit columns
    with a silence row, DLNCO decay). Notes sound until their offset, then decay (RELEASE_S).
    """
    power = np.zeros((12, n_frames + 1), dtype=np.float64)
    release = np.zeros((12, n_frames + 1), dtype=np.float64)
    imp = np.zeros((12, n_frames), dtype=np.float64)
    on = np.clip(np.rint((onset_s - t0_s) * frame_rate).astype(int), 0, n_frames - 1)
    off = np.clip(np.rint((offset_s - t0_s) * frame_rate).astype(int), 0, n_frames)
    off = np.maximum(off, on + 1)
    amp = (np.asarray(velocity, dtype=float) / 127.0) ** 2
    for shift, w in harmonic_classes():
        cls = (np.asarray(pitch) + shift) % 12
        np.add.at(power, (cls, on), w * amp)
        np.add.at(power, (cls, off), -w * amp)
        np.add.at(release, (cls, off), w * amp)
        np.add.at(imp, (cls, on), np.sqrt(w) * amp)
    r = np.exp(-1.0 / (RELEASE_S * frame_rate))
    tail = scipy.signal.lfilter([1.0], [1.0, -r], release, axis=1)
    power = (np.maximum(np.cumsum(power, axis=1), 0.0) + tail)[:, :n_frames]
    frame_power = power.sum(axis=0)
    ref = float(np.percentile(frame_power[frame_power > 0], 95)) if np.any(frame_power > 0) else 1.0
    level_db = 10 * np.log10(np.maximum(frame_power, 1e-20) / max(ref, 1e-20))
    chroma = with_loudness(shape_chroma(power, ref=ref, silent=frame_power <= 1e-12), level_db)
    return chroma, decaying_onsets(imp)


def note_pitch_profile(pitch: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the pitch spectrogram that carry a note's partials, and their weights (sum 1)."""
    rows, w = [], []
    for h in range(1, N_HARMONICS + 1):
        r = int(round(float(hz_to_midi(h * midi_to_hz(pitch))))) - PITCH_LO
        if 0 <= r < N_PITCH:
            rows.append(r)
            w.append(HARMONIC_DECAY ** (h - 1))
    w = np.asarray(w, dtype=np.float32)
    return np.asarray(rows, dtype=int), w / max(float(w.sum()), 1e-9)
