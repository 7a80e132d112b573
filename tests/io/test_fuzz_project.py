"""Structure-aware fuzzing of the project reader (``io.project.load_project``).

Cases start from a valid project and then break it: a value of the wrong type, a missing key,
an absurd number, a huge note list, odd unicode, deep nesting; then the JSON text is damaged
(truncated, bytes flipped, junk inserted, another encoding, binary junk) and the file gets a
right or wrong extension. Every case must either load into a project that can be shown,
separated and saved again, or raise ``InputError`` naming the file in one line. CI runs
``STEMROLL_FUZZ_EXAMPLES`` cases (default 300); ``pytest -m slow`` runs 10,000.
"""

from __future__ import annotations

import json
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stemroll.core.separation import resolve_stft
from stemroll.io import project as project_io
from stemroll.io.errors import InputError
from stemroll.io.project import load_project, save_project

CI_EXAMPLES = int(os.environ.get("STEMROLL_FUZZ_EXAMPLES", "300"))
LONG_EXAMPLES = 10_000

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from([-1, 0, 128, 2**31, 2**63, 10**30, -10**30]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -1e308, 5e-324, -0.0, 0.5, 3.0]),
    st.text(max_size=20), st.sampled_from(["\ud800", "\x00", "ß♪𝄞", "‮rtl", "../../etc/passwd", "a" * 5000]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def valid_project(draw) -> dict:
    n_groups = draw(st.integers(0, 4))
    groups = [{"id": i * draw(st.integers(1, 3)), "name": draw(st.text(max_size=12))} for i in range(n_groups)]
    gids = [g["id"] for g in groups] or [0]
    n_notes = draw(st.sampled_from([0, 1, 3, 20, 200, 3000]))
    pitch0 = draw(st.integers(0, 100))
    notes = [{"id": i, "pitch": pitch0 + i % 28, "onset_s": i * 0.25, "offset_s": i * 0.25 + 0.5,
              "velocity": 1 + i % 127, "group_id": gids[i % len(gids)], "track": i % 3, "channel": i % 16,
              "track_name": "t"} for i in range(n_notes)]
    params = {"iterations": draw(st.integers(0, 500)), "divergence": draw(st.sampled_from(["kl", "euclidean"])),
              "tolerance_cents": draw(st.floats(0, 200)), "onset_templates": draw(st.booleans()),
              "n_fft": draw(st.sampled_from([0, 1024, 2048])), "hop_length": draw(st.sampled_from([0, 256, 512]))}
    ref = draw(st.sampled_from([None, {"relative": "song.wav", "absolute": "/nowhere/song.wav"},
                                {"relative": None, "absolute": None}, {"relative": "x/../y.flac"}]))
    return {"format": "stemroll-project", "version": 1, "audio": ref, "midi": None, "groups": groups,
            "notes": notes, "params": params, "current_group_id": gids[0]}


def _slots(data) -> list[tuple[object, object]]:
    """Every (container, key) in the structure, for mutations."""
    out = []
    stack = [data]
    while stack:
        c = stack.pop()
        keys = list(c) if isinstance(c, dict) else range(len(c)) if isinstance(c, list) else []
        for k in list(keys)[:40]:  # a few entries of long lists are enough
            out.append((c, k))
            if isinstance(c[k], (dict, list)):
                stack.append(c[k])
    return out


@st.composite
def fuzzed_project(draw) -> tuple[bytes, str]:
    data = draw(valid_project())
    for _ in range(draw(st.integers(0, 3))):
        slots = _slots(data)
        op = draw(st.sampled_from(["wrong type", "delete", "absurd", "unicode", "nest", "swap"]))
        if not slots:
            break
        c, k = draw(st.sampled_from(slots))
        if op == "wrong type":
            c[k] = draw(JUNK)
        elif op == "delete":
            c.pop(k) if isinstance(c, dict) else c.pop(k)
        elif op == "absurd":
            c[k] = draw(st.sampled_from([10**400, 1e308, -1e308, float("nan"), float("inf"), 2**64, -1, 0]))
        elif op == "unicode":
            c[k] = draw(st.text(min_size=1, max_size=30))
        elif op == "nest":
            depth = draw(st.sampled_from([2, 50, 5000]))
            c[k] = json.loads("[" * depth + "]" * depth) if depth < 900 else "__DEEP__%d" % depth
        else:
            c[k] = json.loads(json.dumps(data))  # a copy of the whole project inside itself
    try:
        text = json.dumps(data, allow_nan=True, ensure_ascii=draw(st.booleans()))
    except (ValueError, RecursionError):  # circular or too deep to serialise: make it a top-level junk instead
        text = "{}"
    for marker in [w for w in text.split('"') if w.startswith("__DEEP__")]:
        depth = int(marker[8:])
        text = text.replace(f'"{marker}"', "[" * depth + "]" * depth)
    blob = text.encode("utf-8", "surrogatepass")
    op = draw(st.sampled_from(["none", "none", "truncate", "flip", "insert", "bom", "utf16", "binary"]))
    if op == "truncate":
        blob = blob[: draw(st.integers(0, len(blob)))]
    elif op == "flip" and blob:
        b = bytearray(blob)
        for _ in range(draw(st.integers(1, 8))):
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
        blob = bytes(b)
    elif op == "insert":
        i = draw(st.integers(0, len(blob)))
        blob = blob[:i] + draw(st.binary(min_size=1, max_size=16)) + blob[i:]
    elif op == "bom":
        blob = b"\xef\xbb\xbf" + blob
    elif op == "utf16":
        blob = text.encode("utf-16", "surrogatepass")
    elif op == "binary":
        blob = draw(st.binary(max_size=300))
    ext = draw(st.sampled_from([".stemroll", ".stemroll", ".json", ".wav", ".mid", ""]))
    return blob, ext


def check_project_file(folder, blob: bytes, ext: str) -> bool:
    """Load one case; True when it loaded (and passed every check), False for a clean refusal."""
    p = folder / f"fuzz{ext}"
    p.write_bytes(blob)
    try:
        proj = load_project(p)
    except InputError as e:
        msg = str(e)
        assert msg.startswith(p.name + ": ") and "\n" not in msg and len(msg) < 400, msg
        return False
    score = proj.score
    assert len(score.groups) >= 1 and score.has_group(proj.current_group_id)
    for n in score.notes:
        assert 0 <= n.pitch <= 127 and 0 <= n.velocity <= 127 and 0 <= n.channel <= 15
        assert math.isfinite(n.onset_s) and math.isfinite(n.offset_s) and 0 <= n.onset_s < n.offset_s
        assert score.has_group(n.group_id) and isinstance(n.track_name, str)
    resolve_stft(44100, proj.params)  # the parameters make a valid analysis
    again = save_project(folder / "again.stemroll", score, params=proj.params, current_group_id=proj.current_group_id)
    back = load_project(again)
    assert back.score.notes == score.notes and back.score.groups == score.groups and back.params == proj.params
    return True


_SETTINGS = dict(deadline=5000, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large, HealthCheck.large_base_example])
COUNTS = {"loaded": 0, "refused": 0}


@settings(max_examples=CI_EXAMPLES, **_SETTINGS)
@given(fuzzed_project())
def test_fuzz_project_reader(tmp_path, case):
    COUNTS["loaded" if check_project_file(tmp_path, *case) else "refused"] += 1


@pytest.mark.slow
@settings(max_examples=LONG_EXAMPLES, **_SETTINGS)
@given(fuzzed_project())
def test_fuzz_project_reader_long(tmp_path, case):
    COUNTS["loaded" if check_project_file(tmp_path, *case) else "refused"] += 1


def test_fuzzing_exercises_both_outcomes():
    """Runs after the fuzz test in the same session: both loads and refusals happened."""
    if COUNTS["loaded"] + COUNTS["refused"] < 50:
        pytest.skip("run together with test_fuzz_project_reader")
    assert COUNTS["loaded"] > 0 and COUNTS["refused"] > 0, COUNTS


def test_huge_note_count_is_refused_in_plain_words(tmp_path, monkeypatch):
    monkeypatch.setattr(project_io, "MAX_NOTES", 1000)
    notes = [{"id": i, "pitch": 60, "onset_s": i, "offset_s": i + 0.5} for i in range(1001)]
    p = tmp_path / "many.stemroll"
    p.write_text(json.dumps({"format": "stemroll-project", "version": 1, "notes": notes}))
    with pytest.raises(InputError, match=r"^many\.stemroll: is damaged \(1001 notes: more than this version "
                                         r"handles \(1000\)\)$"):
        load_project(p)
    monkeypatch.setattr(project_io, "MAX_FILE_BYTES", 100)
    with pytest.raises(InputError, match=r"^many\.stemroll: is too large for a Stemroll project"):
        load_project(p)


def test_a_hundred_thousand_notes_load(tmp_path):
    notes = [{"id": i, "pitch": 21 + i % 88, "onset_s": i * 0.01, "offset_s": i * 0.01 + 0.2} for i in range(100_000)]
    p = tmp_path / "big.stemroll"
    p.write_text(json.dumps({"format": "stemroll-project", "version": 1, "notes": notes}))
    assert len(load_project(p).score) == 100_000


@pytest.mark.parametrize("text, problem", [
    ('{"format": "stemroll-project", "version": true}', "invalid format version"),
    ('{"format": "stemroll-project", "version": 1, "params": []}', "'params' must be an object"),
    ('{"format": "stemroll-project", "version": 1, "params": {"seed": 1e20}}', "params.seed must be a whole number"),
    ('{"format": "stemroll-project", "version": 1, "params": {"engine": "gpu"}}', "params.engine must be one of"),
    ('{"format": "stemroll-project", "version": 1, "params": {"n_fft": 1000, "hop_length": 900}}', "params.n_fft"),
    ('{"format": "stemroll-project", "version": 1, "notes": [{"id": 0, "pitch": 60, "onset_s": -Infinity, '
     '"offset_s": Infinity}]}', "onset_s must be a number"),
    ('{"format": "stemroll-project", "version": 1, "notes": [{"id": 0, "pitch": 60, "onset_s": 0, '
     '"offset_s": NaN}]}', "offset_s must be a number"),
    ('{"format": "stemroll-project", "version": 1, "groups": [{"id": -1, "name": "residual"}]}', "group 0: id"),
    ('{"format": "stemroll-project", "version": 1, "notes": [{"id": 0, "pitch": 60, "onset_s": 0, "offset_s": 1, '
     '"velocity": 1000}]}', "velocity must be a whole number 0..127"),
    ('{"format": "stemroll-project", "version": 1, "notes": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "not readable JSON"),
    ('{"format": "stemroll-project", "version": 1, "current_group_id": ' + "9" * 5000 + "}", "not readable JSON"),
    ("   ", "is empty"),
])
def test_absurd_values_are_named(tmp_path, text, problem):
    p = tmp_path / "odd.stemroll"
    p.write_text(text)
    with pytest.raises(InputError, match=problem) as info:
        load_project(p)
    assert str(info.value).startswith("odd.stemroll: ") and "\n" not in str(info.value)


def test_odd_but_valid_files_load(tmp_path):
    p = tmp_path / "bom.stemroll"
    doc = {"format": "stemroll-project", "version": 1, "groups": [{"id": 2, "name": "b\ud800ss ♪"}],
           "notes": [{"id": 0, "pitch": 60.0, "onset_s": 0, "offset_s": 1, "group_id": 2, "extra": "ignored"}],
           "current_group_id": 99, "future_key": {"x": 1}}
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    proj = load_project(p)
    assert proj.score.group(2).name == "b?ss ♪" and proj.current_group_id == 2 and proj.score.notes[0].pitch == 60
    save_project(tmp_path / "again", proj.score, params=proj.params)  # the lone surrogate does not break saving
