"""The desktop bundle: build it with PyInstaller (or reuse a fresh build) and run its smoke test.

Marked ``bundle``. Part of the whole suite (and so of CI): a build takes one to three minutes of
both cores (``packaging/build_bundle.sh`` installs PyInstaller into its own environment,
``packaging/build/venv``). Set ``STEMROLL_SKIP_BUNDLE=1`` to leave it out while iterating. A bundle
counts as fresh, and is reused, when it is newer than every source, resource and packaging file
that goes into it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
BUNDLE = PACKAGING / "dist" / "stemroll"
INPUTS = [ROOT / "pyproject.toml", ROOT / "app", ROOT / "resources"] + [
    PACKAGING / name for name in ("stemroll.spec", "bundle_filter.py", "launcher.py", "build_bundle.sh", "hooks")]

pytestmark = pytest.mark.bundle


def _newest_input_mtime() -> float:
    newest = 0.0
    for path in INPUTS:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        newest = max([newest] + [f.stat().st_mtime for f in files])
    return newest


def _fresh_bundle() -> bool:
    exe = BUNDLE / "stemroll"
    return exe.is_file() and exe.stat().st_mtime > _newest_input_mtime()


@pytest.fixture(scope="module")
def bundle(request) -> Path:
    if os.environ.get("STEMROLL_SKIP_BUNDLE"):
        pytest.skip("STEMROLL_SKIP_BUNDLE is set: the bundle is not built in this run")
    if not _fresh_bundle():
        r = subprocess.run([PACKAGING / "build_bundle.sh"], capture_output=True, text=True, timeout=1800)
        assert r.returncode == 0, f"build_bundle.sh failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return BUNDLE


def test_smoke_test_passes_on_the_bundle(bundle):
    r = subprocess.run([PACKAGING / "smoke_test.sh", bundle], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"smoke test failed:\n{r.stdout}\n{r.stderr}"
    assert "smoke: passed" in r.stdout
    assert "smoke: cli: 3 stems" in r.stdout


def test_bundle_stays_within_the_size_budget(bundle):
    """At most 350 MB unpacked (apparent sizes), and nothing the program does not use crept back in."""
    files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]
    total_mb = sum(p.stat().st_size for p in files) / 1e6
    assert total_mb <= 350, f"the bundle is {total_mb:.0f} MB; see packaging/bundle_sizes.py {bundle}"
    internal = bundle / "_internal"
    for unwanted in ("librosa", "numba", "llvmlite", "sklearn", "matplotlib", "tkinter", "PyQt5", "PyQt6",
                     "PySide6/Qt/translations", "PySide6/Qt/plugins/platformthemes/libqgtk3.so", "libgtk-3.so.0",
                     "PySide6/QtWebEngineCore.abi3.so", "PySide6/QtNetwork.abi3.so", "PySide6/QtQml.abi3.so"):
        assert not (internal / unwanted).exists(), f"{unwanted} is in the bundle"
