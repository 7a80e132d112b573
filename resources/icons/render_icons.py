"""Render stemroll.svg to stemroll-SIZE.png at the sizes desktops ask for, with Qt's SVG renderer.

    QT_QPA_PLATFORM=offscreen python resources/icons/render_icons.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SIZES = (16, 32, 48, 64, 128, 256)


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv)  # noqa: F841 (fonts, image plugins)
    renderer = QSvgRenderer(str(HERE / "stemroll.svg"))
    if not renderer.isValid():
        sys.exit(f"render_icons: {HERE / 'stemroll.svg'} is not a valid SVG")
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        out = HERE / f"stemroll-{size}.png"
        if not image.save(str(out), "PNG"):
            sys.exit(f"render_icons: could not write {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
