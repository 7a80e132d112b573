"""Dependencies point down: the core is headless, only ui imports Qt (machine-checked)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    r = subprocess.run([Path(sys.executable).with_name("lint-imports"), "--config", str(ROOT / "pyproject.toml")],
                       capture_output=True, text=True, cwd=ROOT / "app")
    assert r.returncode == 0, r.stdout + r.stderr


def test_core_runs_without_qt_or_devices():
    """Import and run the core with Qt, sound devices and file-format libraries made unimportable."""
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'PySide6', 'pyqtgraph', 'superqt', 'sounddevice', 'soundfile', 'mido'}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import numpy as np
from stemroll.core import score, edits, grouping, spectral, templates, constraints, nmf, separation, params
from stemroll.core.score import Note, NoteGroup
notes = [Note(0, 60, 0.1, 0.6), Note(1, 43, 0.1, 0.9, group_id=1)]
groups = [NoteGroup(0, 'a'), NoteGroup(1, 'b')]
x = np.random.default_rng(0).standard_normal((1, 22050)).astype(np.float32) * 0.01
r = nmf.run(separation.separate_steps(x, 22050, notes, groups, params.SeparationParams(iterations=3)))
assert len(r.stems) == 3
bad = [m for m in sys.modules if m.split('.')[0] in {'PySide6', 'pyqtgraph', 'sounddevice', 'soundfile', 'mido'}]
assert not bad, bad
print('ok')
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
