"""The numbers on screen: each engine's iteration, loss and speed, and the colour legend (HTML for
pyqtgraph's ``LabelItem``)."""

from __future__ import annotations

import math

from .render import Layout, Prepared
from .runner import ENGINE_COLOURS, ENGINES, Frame

STATE_WORDS = {"preparing": "preparing…", "ready": "ready: press Run or Step", "running": "running",
               "paused": "paused: Step or Resume", "finished": "finished", "idle": "stopped", "failed": "failed"}
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def scientific(v: float, digits: int = 4, *, trim: bool = False) -> str:
    """1802.5 -> '1.803 × 10³' (plain below 1000 and above 0.01); ``trim``: 5.00 × 10⁴ -> 5 × 10⁴."""
    if not math.isfinite(v):
        return str(v)
    if v == 0 or 0.01 <= abs(v) < 1000:
        return f"{v:.{digits}g}"
    e = int(math.floor(math.log10(abs(v)) + 1e-9))
    m = f"{v / 10 ** e:.{digits - 1}f}"
    if trim and "." in m:
        m = m.rstrip("0").rstrip(".")
    return f"{m} × 10{str(e).translate(_SUPERSCRIPT)}"


def readout_html(prep: Prepared, frame: Frame | None, state: str) -> str:
    """Per engine: updates made, the loss now and its change in the last step, engine time per update."""
    L = prep.layout
    lines = [f"<b>{STATE_WORDS.get(state, state)}</b>"]
    for e in prep.engines:
        colour = ENGINE_COLOURS.get(e, "#e6e6e6")
        costs = frame.costs.get(e, ()) if frame is not None else ()
        times = frame.times.get(e, ()) if frame is not None else ()
        head = f"<b style='color:{colour}'>{ENGINES.get(e, e)}</b>"
        if not costs:
            lines.append(f"{head}: not started")
            continue
        updates = len(costs) - 1
        text = f"{head} · {updates} update{'s' if updates != 1 else ''}"
        if frame is not None and frame.done.get(e):
            text += " · done"
        elif frame is not None and not frame.live.get(e, True):
            text += "<br>&nbsp;&nbsp;<i>W, H drawn at start and end only</i>"
        text += f"<br>&nbsp;&nbsp;loss {scientific(costs[-1])}"
        if len(costs) > 1 and costs[-2] > 0:
            text += f" ({100.0 * (costs[-1] - costs[-2]) / costs[-2]:+.2f} %)"
        if times and times[-1] > 0:
            text += f"<br>&nbsp;&nbsp;{1000.0 * times[-1] / len(times):.1f} ms per update"
        lines.append(text)
    lines.append(f"<span style='color:#b8bcc4'>V: {L.n_bins} bins × {L.n_frames} frames"
                 f"<br>{L.duration_s:.1f} s, K = {L.K} components</span>")
    return "<br>".join(lines)


def legend_html(L: Layout, group_colour) -> str:
    """Group colours of the components, and how to read the factor images."""
    seen = []
    for g in L.group_ids:
        if g not in seen:
            seen.append(g)
    rows = [f"<span style='color:{group_colour(g)}'>■</span> {L.group_names.get(g, 'residual (free)')}"
            for g in seen]
    rows.append("<span style='color:#b8bcc4'>hatched: onset</span>")
    rows.append("<span style='color:#b8bcc4'>black: 0, set by<br>the score</span>")
    return "<br>".join(rows)
