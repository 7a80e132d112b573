"""Exports for slides and papers: loss curves as CSV, any teaching view as PNG."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from PySide6.QtWidgets import QWidget

from .runner import ENGINES, LOSS_NAMES

CSV_COLUMNS = ("engine", "iteration", "loss", "engine_time_s", "divergence")


def write_costs_csv(path, rows, *, divergence: str) -> Path:
    """Write ``rows`` of (engine key, iteration, loss, engine seconds) as CSV with a header.

    The loss is the divergence named in the ``divergence`` column (``LOSS_NAMES``) of the model
    before that iteration's update; the last row of an engine is the final model. Engine time
    counts computing only (pauses, slow motion and drawing left out). Raises ``OSError`` naming
    the file when it cannot be written.
    """
    path = Path(path)
    try:
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            for engine, it, loss, t in rows:
                w.writerow((ENGINES.get(engine, engine), int(it), repr(float(loss)),
                            "" if math.isnan(t) else f"{t:.6f}", divergence))
    except OSError as e:
        raise OSError(f"{path}: cannot write the loss curves ({e.strerror or e})") from None
    return path


def loss_name(divergence: str) -> str:
    return LOSS_NAMES.get(divergence, divergence)


def save_png(target, path, *, width: int | None = None) -> Path:
    """Save a view as PNG: a QWidget (as on screen) or a pyqtgraph item such as a PlotItem
    (rendered alone, ``width`` pixels wide: default twice its size on screen, for slides)."""
    path = Path(path)
    if isinstance(target, QWidget):
        ok = target.grab().save(str(path), "PNG")
    else:
        from pyqtgraph.exporters import ImageExporter

        exporter = ImageExporter(target)
        w = width or int(round(2 * target.boundingRect().width()))
        exporter.parameters()["width"] = max(16, w)
        exporter.export(str(path))
        ok = path.exists() and path.stat().st_size > 0
    if not ok:
        raise OSError(f"{path}: the image could not be written")
    return path
