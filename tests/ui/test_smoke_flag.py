"""``stemroll --smoke-test DIR`` drives the real window through open, separate and export."""

import json
import os
import subprocess
import sys


def test_smoke_test_flag_exports_stems(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, "-m", "stemroll", "--smoke-test", str(tmp_path), "--smoke-iterations", "3"],
                       capture_output=True, text=True, env=env, timeout=180)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("smoke:")]
    assert lines[0] == "smoke: loaded" and lines[1] == "smoke: separated" and lines[-1] == "smoke: exported 5 files"
    assert (tmp_path / "demo - residual.wav").exists()
    manifest = json.loads((tmp_path / "stems.json").read_text())
    assert [s["name"] for s in manifest["stems"]] == ["right hand", "left hand", "residual"]
