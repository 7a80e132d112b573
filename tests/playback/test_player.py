"""The Player against a real, clocked PortAudio device: JACK's dummy driver (Debian package jackd2).

The session fixture starts a private JACK server (unique name through JACK_DEFAULT_SERVER), re-scans
PortAudio until it lists the JACK output, and stops the server after the tests. The material is a
ramp whose sample ``i`` holds ``i / n``, so the tap (a copy of every block sent to the device) tells
exactly which frames were played, in which order.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import numpy as np
import pytest

from stemroll.playback import Player, device, playback_status

RATE = 44_100


def ramp(seconds: float) -> np.ndarray:
    n = int(seconds * RATE)
    return (np.arange(n, dtype=np.float64) / n).astype(np.float32)[np.newaxis, :]


def played_frames(player: Player, n: int) -> np.ndarray:
    """Frame indices of the ramp (length ``n``) that reached the device, in order."""
    return np.rint(player.tapped()[:, 0].astype(np.float64) * n).astype(np.int64)


def wait_until(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture(scope="session")
def jack():
    """(jackd process, PortAudio index of its output) for a private dummy-driver JACK server."""
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (Debian package jackd2): the device tests need its clocked dummy driver")
    sd = device.load_sounddevice()
    if sd is None:
        pytest.skip("the PortAudio library is missing (Debian package libportaudio2)")
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ["JACK_DEFAULT_SERVER"] = f"stemroll-test-{os.getpid()}"
    os.environ["JACK_NO_START_SERVER"] = "1"
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        ["jackd", "--no-realtime", "-d", "dummy", "-r", str(RATE), "-p", "512"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own scheduling group, and no terminal signals
    )
    try:
        index = None
        deadline = time.monotonic() + 10.0
        while index is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
            device.refresh_devices()  # PortAudio lists devices only when it initialises
            for d in sd.query_devices():
                api = sd.query_hostapis(d["hostapi"])["name"]
                if "JACK" in api and d["max_output_channels"] > 0:
                    index = d["index"]
        if index is None:
            log.seek(0)
            pytest.skip(f"the JACK dummy server did not come up: {log.read().decode(errors='replace')[-500:]}")
        yield proc, index
    finally:
        wait_until(lambda: device._open_streams == 0, 5.0)
        if proc.poll() is None:
            sd._terminate()  # PortAudio must let go of JACK before the server stops (it asserts otherwise)
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            sd._initialize()
        log.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def player(jack):
    stops: list[str] = []
    p = Player(device=jack[1], on_stopped=stops.append)
    p.enable_tap()
    p.stops = stops
    yield p
    p.close()


# ---------------------------------------------------------------------------- no device needed
def test_without_an_output_device_playback_is_off_and_play_refuses():
    st = playback_status(999)
    assert not st.available and st.state == "unavailable"
    if device.load_sounddevice() is None:
        assert st.message == device.NO_PORTAUDIO
    else:
        assert st.message == "No audio output device was found, so playback is off. Everything else works."
    p = Player(device=999)
    p.set_mixture(ramp(0.5), RATE)
    assert p.play() is False
    assert p.last_error == st.message and not p.is_playing
    assert p.wait_rendered()
    assert p.mix_buffer.shape == (RATE // 2, 1)  # the mix is still rendered, e.g. for tests or export
    p.close()


def test_missing_portaudio_is_reported_in_plain_words(monkeypatch):
    monkeypatch.setattr(device, "_sd", None)
    monkeypatch.setattr(device, "_import_error", "PortAudio library not found")
    st = playback_status()
    assert not st.available
    assert st.message == "The PortAudio library is missing: install the Debian package libportaudio2."
    p = Player()
    p.set_mixture(ramp(0.1), RATE)
    assert p.play() is False and p.last_error == st.message
    p.close()


def test_play_with_nothing_loaded_refuses():
    p = Player(device=999)
    assert p.play() is False and p.last_error == device.NOTHING_LOADED


# ---------------------------------------------------------------------------- real device
@pytest.mark.device
def test_playhead_keeps_real_time_pace_and_pause_holds_it(player):
    n = 4 * RATE
    player.set_mixture(ramp(4.0), RATE)
    assert player.play(), player.last_error
    t0 = time.monotonic()
    time.sleep(1.0)
    pos, wall = player.position_s, time.monotonic() - t0
    assert 0.8 <= pos <= 1.3, f"after {wall:.2f} s of wall time the playhead is at {pos:.3f} s"
    player.pause()
    held = player.position_s
    time.sleep(0.3)
    assert player.position_s == held and not player.is_playing
    assert player.play()
    time.sleep(0.3)
    player.pause()
    assert player.position_s > held + 0.15
    idx = played_frames(player, n)
    assert idx[0] == 0 and (np.diff(idx) == 1).all(), "frames were skipped or repeated"
    assert idx[-1] + 1 == round(player.position_s * RATE)


@pytest.mark.device
def test_seek_while_stopped_and_while_playing(player):
    n = 4 * RATE
    player.set_mixture(ramp(4.0), RATE)
    player.seek(2.0)
    assert player.position_s == pytest.approx(2.0)
    assert player.play()
    time.sleep(0.2)
    player.seek(0.5)
    assert player.position_s == pytest.approx(0.5, abs=0.02)
    time.sleep(0.2)
    player.pause()
    assert 0.55 <= player.position_s <= 0.9
    idx = played_frames(player, n)
    jumps = np.flatnonzero(np.diff(idx) != 1)
    assert idx[0] == 2 * RATE and len(jumps) == 1 and idx[jumps[0] + 1] == RATE // 2


@pytest.mark.device
def test_loop_wraps_seamlessly_and_stop_returns_to_loop_start(player):
    n = 3 * RATE
    lo, hi = RATE, RATE + RATE // 4
    player.set_mixture(ramp(3.0), RATE)
    player.set_loop(1.0, 1.25)
    player.seek(0.9)
    assert player.play()
    time.sleep(0.8)
    assert 1.0 <= player.position_s < 1.25
    player.pause()
    idx = played_frames(player, n)
    steps = np.diff(idx)
    wraps = np.flatnonzero(steps != 1)
    assert idx[0] == int(0.9 * RATE) and len(wraps) >= 2
    assert (idx[wraps] == hi - 1).all() and (idx[wraps + 1] == lo).all()
    assert idx.min() == int(0.9 * RATE) and idx.max() == hi - 1
    player.stop()
    assert player.position_s == pytest.approx(1.0)
    player.clear_loop()
    assert player.loop is None


@pytest.mark.device
def test_solo_and_mute_while_playing_switch_the_mix_without_clicks(player):
    a = np.full((2, 4 * RATE), 0.25, np.float32)
    b = np.full((2, 4 * RATE), -0.5, np.float32)
    player.set_stems([a, b], RATE)
    assert player.wait_rendered()
    np.testing.assert_allclose(player.mix_buffer, -0.25)
    assert player.play()
    time.sleep(0.2)
    heard = []
    for change, expected in ((lambda: player.set_solo(0), 0.25),  # only a
                             (lambda: player.set_mute(0), 0.0),  # mute wins over solo
                             (lambda: player.set_solo(0, False), -0.5)):  # b alone
        change()
        assert player.wait_rendered()
        time.sleep(0.25)  # the swap lands ~0.1 s ahead of the play position, then fades for 30 ms
        pos = round(player.position_s * RATE)
        np.testing.assert_allclose(player.mix_buffer[pos:], expected)
        heard.append(player.last_block())
    player.pause()
    for block, expected in zip(heard, (0.25, 0.0, -0.5)):
        np.testing.assert_allclose(block, expected)
    out = player.tapped()
    assert out[0, 0] == pytest.approx(-0.25) and out[-1, 0] == pytest.approx(-0.5)
    assert np.abs(np.diff(out, axis=0)).max() < 0.002, "a mix change stepped (would click)"


@pytest.mark.device
def test_end_of_buffer_stops_playback(player):
    n = int(0.4 * RATE)
    player.set_mixture(ramp(0.4), RATE)
    assert player.play()
    assert wait_until(lambda: not player.is_playing, 2.0)
    assert player.stops == ["end"] and player.last_error is None
    assert player.position_s == pytest.approx(player.duration_s)
    idx = played_frames(player, n)[:n]
    np.testing.assert_array_equal(idx, np.arange(n))
    assert player.play()  # the next play starts again from the beginning
    assert player.position_s < 0.2
    player.pause()


def _run_beside(player: Player, work, seconds: float) -> int:
    """Play ``seconds`` from the start while ``work(done_event)`` runs on a thread; underflow count."""
    done = threading.Event()
    worker = threading.Thread(target=work, args=(done,))
    player.seek(0.0)
    assert player.play(), player.last_error
    worker.start()
    try:
        time.sleep(seconds)
        player.pause()
    finally:
        done.set()
        worker.join()
    return player.underflow_count


@pytest.mark.device
def test_no_underruns_while_another_thread_multiplies_matrices(player):
    """NumPy releases the GIL, so a busy worker does not starve the callback. The worker gets one BLAS
    thread (a second would take the audio's core on a two-core machine). Without real-time rights the
    JACK dummy has an 11.6 ms deadline on ordinary scheduling, so on a loaded shared machine any busy
    thread (or process: measured the same) causes occasional xruns: one clean half second in eight
    tries passes, while starving the callback fails every try (see the control test below)."""
    from threadpoolctl import threadpool_limits

    player.set_mixture(ramp(4.0), RATE)
    products = [0]

    def multiply(done: threading.Event) -> None:
        m = np.random.default_rng(0).standard_normal((400, 400)).astype(np.float32)
        with threadpool_limits(1):
            while not done.is_set():
                m = m @ m
                m /= np.abs(m).max()
                products[0] += 1

    counts = []
    for _ in range(8):
        counts.append(_run_beside(player, multiply, 0.5))
        if counts[-1] == 0:
            break
    assert products[0] > 10
    assert counts[-1] == 0, f"output underflows in every try: {counts}"
    assert player.position_s >= 0.4


@pytest.mark.device
def test_no_underruns_while_the_engine_separates(player):
    """The editor's case: the whole default separation (analysis, focused factorisation with the
    decay prior, refinement, resynthesis) on a worker thread with its default thread budget,
    while the player plays. Same tolerance for an unprivileged shared machine as above."""
    from stemroll.core.nmf import run
    from stemroll.core.separation import separate_steps
    from stemroll.core.threads import engine_threads

    from tests.material import synth, two_hand_score

    score = two_hand_score(bars=8)
    audio = synth(score.notes, sample_rate=22050)[None, :]
    run(separate_steps(audio, 22050, score.notes, score.groups))  # compile / load the kernels first
    player.set_mixture(ramp(4.0), RATE)
    runs = [0]

    def separate(done: threading.Event) -> None:
        with engine_threads(1):
            while not done.is_set():
                gen = separate_steps(audio, 22050, score.notes, score.groups)
                for _ in gen:
                    if done.is_set():
                        gen.close()  # cooperative cancel, as the editor's worker does
                        return
                runs[0] += 1

    counts = []
    for _ in range(8):
        counts.append(_run_beside(player, separate, 1.0))
        if counts[-1] == 0:
            break
    assert runs[0] >= 1, "the separation did not finish once in the time"
    assert counts[-1] == 0, f"output underflows in every try: {counts}"


@pytest.mark.device
def test_control_a_thread_holding_the_gil_does_cause_underruns(player):
    """The underflow count is not blind: a long C call that keeps the GIL starves the callback."""
    player.set_mixture(ramp(4.0), RATE)

    def hog(done: threading.Event) -> None:
        while not done.is_set():
            sum(range(3_000_000))  # one C loop: the GIL is held throughout (tens of ms)

    assert _run_beside(player, hog, 0.5) > 0
    assert player.last_error is None  # a hiccup is not a lost device


@pytest.mark.device
def test_a_device_that_stops_responding_stops_playback_with_a_message(jack):
    proc, index = jack
    stops: list[str] = []
    p = Player(device=index, on_stopped=stops.append, stall_timeout_s=0.5)
    p.set_mixture(ramp(4.0), RATE)
    assert p.play()
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGSTOP)  # the clock stops: no more callbacks, like a vanished card
    try:
        assert wait_until(lambda: not p.is_playing, 3.0)
        assert p.last_error == device.DEVICE_STALLED and stops == ["error"]
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    assert wait_until(lambda: device._open_streams == 0, 3.0), "the abandoned stream was not closed"
    held = p.position_s
    assert p.play(), p.last_error  # the device is back: playing works again
    time.sleep(0.2)
    assert p.position_s > held
    p.close()
