"""The command line, run as a user runs it: a real process, real files."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from tests.io.badfiles import write_bad_audio, write_bad_midi
from tests.material import synth, two_hand_score, write_midi


def stemroll(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "stemroll", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def piece(tmp_path_factory):
    d = tmp_path_factory.mktemp("piece")
    score = two_hand_score(bars=3)
    y = synth(score.notes, sample_rate=22050)
    stereo = np.stack([y, 0.5 * y], axis=1)
    sf.write(str(d / "my song.wav"), stereo, 22050, subtype="PCM_24")
    write_midi(score, d / "score.mid")
    return d


def test_separate_writes_stems_that_add_up(piece, tmp_path):
    out = tmp_path / "stems"
    r = stemroll("separate", piece / "my song.wav", piece / "score.mid", "--out", out, "--bits", "32f",
                 "--iterations", "20")
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["my song - groups.mid", "my song - left hand.wav", "my song - residual.wav",
                     "my song - right hand.wav", "stems.json"]
    mix, sr = sf.read(str(piece / "my song.wav"), dtype="float32")
    total = 0
    for stem in ("left hand", "right hand", "residual"):
        y, r2 = sf.read(str(out / f"my song - {stem}.wav"), dtype="float32")
        assert r2 == sr and y.shape == mix.shape
        total = total + y
    assert 20 * np.log10(np.abs(total - mix).max()) < -60
    manifest = json.loads((out / "stems.json").read_text())
    assert [s["name"] for s in manifest["stems"]] == ["right hand", "left hand", "residual"]
    assert manifest["stems"][0]["notes"] == 12 and manifest["stems"][0]["rms"] > 0
    # never overwrite without --force
    again = stemroll("separate", piece / "my song.wav", piece / "score.mid", "--out", out, "--iterations", "2")
    assert again.returncode == 1 and "already exists" in again.stderr and "--force" in again.stderr


def test_split_grouping_flac_16(piece, tmp_path):
    r = stemroll("separate", piece / "my song.wav", piece / "score.mid", "--out", tmp_path, "--groups", "split=C4",
                 "--format", "flac", "--bits", "16", "--iterations", "5", "--quiet", "--divergence", "euclidean")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert (tmp_path / "my song - left hand.flac").exists() and (tmp_path / "my song - right hand.flac").exists()


def test_flac_float_is_refused_in_one_line(piece, tmp_path):
    r = stemroll("separate", piece / "my song.wav", piece / "score.mid", "--out", tmp_path, "--format", "flac",
                 "--bits", "32f")
    assert r.returncode == 1 and "FLAC cannot store 32-bit float" in r.stderr and len(r.stderr.splitlines()) == 1


def test_bad_inputs_one_line_no_traceback(piece, tmp_path):
    cases = [(p, piece / "score.mid", expect) for p, expect in write_bad_audio(tmp_path).values()]
    cases += [(piece / "my song.wav", p, expect) for p, expect in write_bad_midi(tmp_path).values()]
    for audio, midi, expect in cases:
        r = stemroll("separate", audio, midi, "--out", tmp_path / "o")
        bad = audio if audio.parent == tmp_path else midi
        assert r.returncode == 1, (bad, r.stdout)
        assert "Traceback" not in r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"stemroll: error: {bad.name}:"), lines
        assert expect.lower() in lines[0].lower()


def test_info_help_and_version(piece):
    assert "stemroll" in stemroll("--version").stdout
    assert "separate" in stemroll("--help").stdout
    r = stemroll("info", piece / "my song.wav", piece / "score.mid")
    assert r.returncode == 0 and "22050 Hz" in r.stdout and "18 notes" in r.stdout


def test_cli_reference_is_up_to_date():
    """docs/cli.md lists every option; regenerate it with packaging/make_cli_doc.py."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("make_cli_doc", root / "packaging" / "make_cli_doc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (root / "docs" / "cli.md").read_text() == mod.render(), "run packaging/make_cli_doc.py"


def test_align_writes_the_same_notes_with_new_times(piece, tmp_path):
    from stemroll.io.midi import load_midi

    out = tmp_path / "aligned.mid"
    r = stemroll("align", piece / "my song.wav", piece / "score.mid", "--out", out, "--anchor", "0=0.0")
    assert r.returncode == 0, r.stderr
    before, after = load_midi(piece / "score.mid"), load_midi(out)
    key = lambda s: sorted((n.id, n.pitch, n.track) for n in s.notes)  # noqa: E731
    assert key(before) == key(after)
    assert abs(after.note(0).onset_s - 0.0) < 0.02  # the anchor holds
    bad = stemroll("align", piece / "my song.wav", piece / "score.mid", "--out", out, "--force", "--anchor", "x")
    assert bad.returncode == 2 and "NOTE_ID=SECONDS" in bad.stderr


def test_separate_refuses_in_plain_words_when_memory_is_short(piece, tmp_path, monkeypatch, capsys):
    from stemroll import cli
    from stemroll.core import memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 64 * 2**20)  # what the machine says is free
    rc = cli.main(["separate", str(piece / "my song.wav"), str(piece / "score.mid"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1, err
    assert err.startswith("stemroll: error: my song.wav: separating it needs about ") and "64 MB is free" in err
    assert not (tmp_path / "o").exists()
