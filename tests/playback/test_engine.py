"""The audio callback driven directly, block by block, as PortAudio would: no device needed."""

import numpy as np
import pytest

from stemroll.playback.engine import Engine, Program


class _Stop(Exception):
    pass


class _Abort(Exception):
    pass


def _engine(n=1000, loop=(0, 0)):
    e = Engine()
    buf = np.arange(n, dtype=np.float32)[:, np.newaxis].repeat(2, axis=1)
    buf.flags.writeable = False
    e.program = Program(buf, *loop)
    e.prepare(gen=1, stop=_Stop, abort=_Abort)
    return e


def _pull(e, frames, blocks):
    """Run ``blocks`` callbacks; the frame numbers played, and whether the stream stopped."""
    out = np.empty((frames, 2), np.float32)
    got = []
    for _ in range(blocks):
        try:
            e.callback(1, out, frames, None, None)
        except _Stop:
            got.append(out[:, 0].copy())
            return np.concatenate(got), True
        got.append(out[:, 0].copy())
    return np.concatenate(got), False


def test_blocks_follow_each_other_without_gaps():
    e = _engine()
    played, stopped = _pull(e, 64, 5)
    np.testing.assert_array_equal(played, np.arange(320))
    assert not stopped and e.pos == 320


def test_loop_wraps_inside_a_block():
    e = _engine(loop=(100, 150))
    e.pos = 90
    played, _ = _pull(e, 64, 3)
    expected = [90 + i for i in range(60)]
    while len(expected) < 192:
        expected += list(range(100, 150))
    np.testing.assert_array_equal(played, expected[:192])


def test_end_of_buffer_pads_with_silence_and_stops():
    e = _engine(n=100)
    played, stopped = _pull(e, 64, 5)
    assert stopped and e.ended and e.pos == 100
    np.testing.assert_array_equal(played[:100], np.arange(100))
    assert not played[100:].any()


def test_seek_request_is_applied_once_by_the_next_block():
    e = _engine()
    _pull(e, 64, 1)
    e.request_seek(500)
    assert e.current_frame() == 500
    played, _ = _pull(e, 64, 2)
    np.testing.assert_array_equal(played, np.arange(500, 628))


def test_a_new_program_is_picked_up_at_the_next_block():
    e = _engine()
    _pull(e, 64, 1)
    e.program = Program(np.full((1000, 2), -1.0, np.float32))
    played, _ = _pull(e, 64, 1)
    assert (played == -1.0).all() and e.pos == 128


def test_a_callback_for_an_abandoned_stream_outputs_silence_and_aborts():
    e = _engine()
    out = np.ones((64, 2), np.float32)
    with pytest.raises(_Abort):
        e.callback(0, out, 64, None, None)
    assert not out.any() and e.pos == 0


def test_tap_keeps_the_latest_output_in_order():
    e = _engine()
    e.enable_tap(100, 2)
    _pull(e, 64, 3)
    np.testing.assert_array_equal(e.tapped()[:, 0], np.arange(92, 192))
