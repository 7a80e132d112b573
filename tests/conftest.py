"""Shared test set-up: headless Qt, deterministic material made by the tests themselves."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
