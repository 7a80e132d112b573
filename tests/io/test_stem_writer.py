"""Stems written block by block (``io.export.open_stems``) hold exactly the samples libsndfile
writes from float32 itself, and the statistics taken on the way equal NumPy's."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from stemroll.io.export import StemInfo, open_stems


def _stems(seed: int = 0) -> np.ndarray:
    """Two stems, stereo, 30,000 samples: noise with overs past full scale, tiny values and exact edges."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.3, 1.3, (2, 2, 30_000)).astype(np.float32)
    x[:, :, :5000] *= np.float32(1e-5)
    x[0, 0, :8] = [1.0, -1.0, 0.5, 2 ** -24, 1.5 * 2 ** -23, -2.5 * 2 ** -23, 1 - 2 ** -24, 0.0]
    return x


@pytest.mark.parametrize("fmt, bits, subtype", [("wav", "24", "PCM_24"), ("wav", "32f", "FLOAT"),
                                                ("wav", "16", "PCM_16"), ("flac", "24", "PCM_24")])
def test_block_writer_writes_what_libsndfile_makes_of_the_floats(tmp_path, fmt, bits, subtype):
    x = _stems()
    infos = [StemInfo("a", 0, 1), StemInfo("b", 1, 1)]
    with open_stems(tmp_path / "out", infos, sample_rate=44100, channels=2, song="s", fmt=fmt, bits=bits) as w:
        for a in range(0, x.shape[2], 7000):
            w.write([x[0, :, a: a + 7000], x[1, :, a: a + 7000]])  # strided slices, as export_stems hands them
    dtype = "float32" if subtype == "FLOAT" else "int32"
    for i, name in enumerate("ab"):
        ref = tmp_path / f"ref{i}.{fmt}"
        sf.write(ref, x[i].T, 44100, subtype=subtype)
        got = sf.read(tmp_path / "out" / f"s - {name}.{fmt}", dtype=dtype)[0]
        np.testing.assert_array_equal(got, sf.read(ref, dtype=dtype)[0])
        assert w.rms(i) == pytest.approx(float(np.sqrt(np.mean(np.square(x[i], dtype=np.float64)))), rel=1e-12)
        assert w.peak(i) == float(np.abs(x[i]).max())
    assert len(w.report.warnings) == (0 if subtype == "FLOAT" else 2)  # overs past full scale clip in PCM
