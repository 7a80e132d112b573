"""Presentation mode: large fonts and thick lines for a projector, for any widget tree.

``set_presentation_mode(widget, on)`` scales the fonts of ``widget`` and of every descendant
that sets its own font, and, in every pyqtgraph view inside it, axis fonts and pens, plot titles,
labels, text items and curve pens. Turning it off restores exactly what was there (the
originals are remembered on each object), so toggling never drifts. Calling it again with
``on=True`` scales the graphics items added since (new curves, legend entries).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPen
from PySide6.QtWidgets import QWidget

SCALE = 1.8  # fonts and line widths in presentation mode
_FLAG = "stemroll_presentation"
_FONT = "stemroll_font_before_presentation"
_ITEM_ATTR = "_stemroll_before_presentation"
_SIZE_RESOLVED = 0x2  # QFont::SizeResolved (not exported by PySide6)


def is_presentation_mode(widget: QWidget) -> bool:
    return bool(widget.property(_FLAG))


def set_presentation_mode(widget: QWidget, on: bool, *, scale: float = SCALE) -> None:
    """Scale fonts and pens of ``widget``'s tree by ``scale`` (on) or restore them (off)."""
    on = bool(on)
    if is_presentation_mode(widget) == on:
        if on:  # refresh: scale the graphics items added since (new curves, legend entries)
            for view in _views(widget):
                for item in view.scene().items():
                    if getattr(item, _ITEM_ATTR, None) is None:
                        _item(item, True, scale)
        return
    # Descendants that set their own size, or carry a style sheet (which stops a widget from
    # following its parent's font), first: their fonts are read before the root changes. The
    # others inherit the root's font.
    own = [w for w in widget.findChildren(QWidget) if _sets_size(w) or w.styleSheet()]
    for w in own + [widget]:
        _font_widget(w, on, scale)
    for view in _views(widget):
        for item in view.scene().items():
            _item(item, on, scale)
        view.update()
    widget.setProperty(_FLAG, on)


def _views(widget: QWidget) -> list:
    return [v for v in [widget, *widget.findChildren(pg.GraphicsView)] if isinstance(v, pg.GraphicsView)]


def _sets_size(w: QWidget) -> bool:
    return w.testAttribute(Qt.WidgetAttribute.WA_SetFont) and bool(
        w.font().resolveMask() & _SIZE_RESOLVED)


def _scaled(font: QFont, scale: float) -> QFont:
    f = QFont(font)
    if f.pointSizeF() > 0:
        f.setPointSizeF(f.pointSizeF() * scale)
    elif f.pixelSize() > 0:
        f.setPixelSize(max(1, round(f.pixelSize() * scale)))
    return f


def _font_widget(w: QWidget, on: bool, scale: float) -> None:
    if on:
        w.setProperty(_FONT, QFont(w.font()))
        w.setProperty(_FONT + "_set", w.testAttribute(Qt.WidgetAttribute.WA_SetFont))
        w.setFont(_scaled(w.font(), scale))
        return
    before = w.property(_FONT)
    if isinstance(before, QFont):
        # The exact font back (resetting with QFont() would drop what children set themselves,
        # such as bold); then the "inherits" flag as it was.
        w.setFont(before)
        if not w.property(_FONT + "_set"):
            w.setAttribute(Qt.WidgetAttribute.WA_SetFont, False)


def _item(item, on: bool, scale: float) -> None:
    """Scale (or restore) one graphics item; items of other kinds are left alone."""
    if on:
        saved = _save(item)
        if saved is None:
            return
        setattr(item, _ITEM_ATTR, saved)
        _apply(item, saved, scale)
    else:
        saved = getattr(item, _ITEM_ATTR, None)
        if saved is not None:
            _apply(item, saved, 1.0)
            delattr(item, _ITEM_ATTR)


def _save(item):
    if isinstance(item, pg.AxisItem):
        font = item.style.get("tickFont") or _default_font(item)
        return {"tick": QFont(font), "pen": QPen(item.pen()), "label": QFont(item.label.font()),
                "width": item.fixedWidth, "height": item.fixedHeight}
    if isinstance(item, pg.PlotDataItem):
        pen = item.opts.get("pen")
        return {"pen": pg.mkPen(pen) if pen is not None else None, "symbol": item.opts.get("symbolSize")}
    if isinstance(item, pg.InfiniteLine):
        return {"pen": QPen(item.pen)}
    if isinstance(item, pg.LabelItem):
        return {"size": item.opts.get("size")}
    if isinstance(item, pg.TextItem):
        return {"font": QFont(item.textItem.font())}
    return None


def _default_font(item) -> QFont:
    return QFont(item.font())


def _apply(item, saved: dict, scale: float) -> None:
    if isinstance(item, pg.AxisItem):
        item.setTickFont(_scaled(saved["tick"], scale))
        pen = QPen(saved["pen"])
        pen.setWidthF(max(saved["pen"].widthF(), 1.0) * scale if scale != 1.0 else saved["pen"].widthF())
        item.setPen(pen)
        item.label.setFont(_scaled(saved["label"], scale))
        if saved["width"] is not None and not hasattr(item, "set_components"):
            item.setWidth(int(round(saved["width"] * scale)))
        if saved["height"] is not None and not hasattr(item, "set_components"):
            item.setHeight(int(round(saved["height"] * scale)))
        item._updateLabel() if hasattr(item, "_updateLabel") else None
        item.update()
    elif isinstance(item, pg.PlotDataItem):
        if saved["pen"] is not None:
            pen = QPen(saved["pen"])
            pen.setWidthF(max(saved["pen"].widthF(), 1.0) * scale if scale != 1.0 else saved["pen"].widthF())
            item.setPen(pen)
        if saved["symbol"]:
            item.setSymbolSize(saved["symbol"] * scale)
    elif isinstance(item, pg.InfiniteLine):
        pen = QPen(saved["pen"])
        pen.setWidthF(max(saved["pen"].widthF(), 1.0) * scale if scale != 1.0 else saved["pen"].widthF())
        item.setPen(pen)
    elif isinstance(item, pg.LabelItem):
        size = saved["size"]
        base = float(size[:-2]) if isinstance(size, str) and size.endswith("pt") else 9.0
        if scale == 1.0 and size is None:
            item.opts.pop("size", None)
            item.setText(item.text)
        else:
            item.setText(item.text, size=f"{base * scale:g}pt")
    elif isinstance(item, pg.TextItem):
        item.setFont(_scaled(saved["font"], scale))
