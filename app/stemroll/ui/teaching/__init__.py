"""Teaching views: watch V ≈ W H happen (NMF or the nonnegative autoencoder), step by step.

The editor opens the window with ``open_teaching_window(main_window)`` (View > Teaching views:
``make_teaching_action``) and can use ``set_presentation_mode(widget, on)`` for its own widgets.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from .presentation import is_presentation_mode, set_presentation_mode
from .window import TeachingWindow

__all__ = ["TeachingWindow", "open_teaching_window", "make_teaching_action", "set_presentation_mode",
           "is_presentation_mode", "close_teaching_window"]

_ATTR = "_stemroll_teaching_window"


class _CloseWithOwner(QObject):
    """Closes the teaching window (stopping its run) when the editor window closes."""

    def __init__(self, window: TeachingWindow):
        super().__init__(window)
        self._window = window

    def eventFilter(self, obj, event):  # noqa: N802
        if event.type() == QEvent.Type.Hide and not event.spontaneous() and shiboken6.isValid(self._window):
            self._window.close()
        return False


def _existing(owner) -> TeachingWindow | None:
    win = getattr(owner, _ATTR, None)
    return win if win is not None and shiboken6.isValid(win) else None


def open_teaching_window(main_window_or_doc) -> TeachingWindow:
    """Show the teaching window for the editor's main window (its ``doc`` and ``canvas``) or for a
    bare ``Document``; an open one is brought to the front."""
    owner = main_window_or_doc
    win = _existing(owner)
    if win is None:
        doc = getattr(owner, "doc", owner)
        canvas = getattr(owner, "canvas", None)
        parent = owner if hasattr(owner, "doc") else None
        win = TeachingWindow(doc, canvas=canvas, parent=parent)
        win.setWindowFlag(Qt.WindowType.Window, True)
        win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        if parent is not None:
            parent.installEventFilter(_CloseWithOwner(win))
        setattr(owner, _ATTR, win)
    win.show()
    win.raise_()
    win.activateWindow()
    return win


def close_teaching_window(main_window_or_doc) -> None:
    """Close the teaching window of this owner, if one is open (its run stops and its thread ends)."""
    win = _existing(main_window_or_doc)
    if win is not None:
        win.close()


def make_teaching_action(parent, doc) -> QAction:
    """View > 'Teaching views…': opens the window for ``parent`` when it is the main window (it has
    ``doc`` and ``canvas``), else for ``doc``."""
    a = QAction("&Teaching views…", parent)
    tip = "Watch the decomposition V ≈ W H happen, step by step, NMF beside NAE (for a class)"
    a.setStatusTip(tip)
    a.setShortcut(QKeySequence("Ctrl+Shift+T"))
    a.setToolTip(f"{tip} (Ctrl+Shift+T)")
    owner = parent if hasattr(parent, "doc") else doc
    a.triggered.connect(lambda _=False: open_teaching_window(owner))
    return a
