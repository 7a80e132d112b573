"""Stemroll: score-informed source separation with an editable piano-roll."""

from importlib import resources as _resources
from pathlib import Path

__version__ = "0.1.0"


def resources_dir() -> Path:
    """Folder of the bundled resources (icons, the demo piece)."""
    return Path(str(_resources.files("stemroll") / "resources"))
