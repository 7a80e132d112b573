"""Adapters to the outside world (files): audio, MIDI, projects, stem export. Qt-free."""

from .errors import InputError

__all__ = ["InputError"]
