"""The editor canvas: spectrogram above an editable piano-roll (see ``editor.EditorCanvas``)."""

from .editor import EditorCanvas

__all__ = ["EditorCanvas"]
