"""A non-editable install carries everything: the wheel holds the resources behind the symlink.

``app/stemroll/resources`` is a symlink to the top-level ``resources/`` folder; these tests build a
wheel from a copy of the checkout (symlink kept) and check that the demo piece, the icons, the
desktop entry and the MIME type end up in it as real files, byte for byte. The slow test installs
that wheel into a fresh virtual environment and runs the installed ``stemroll``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
EXPECTED = ["demo/demo.flac", "demo/demo.mid", "icons/stemroll.svg", "stemroll.desktop", "stemroll-mime.xml"] + [
    f"icons/stemroll-{n}.png" for n in (16, 32, 48, 64, 128, 256)]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built (pip, isolated build environment) from a copy of the checkout's sources."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("app", "resources"):
        shutil.copytree(ROOT / name, src / name, symlinks=True, ignore=ignore)
    assert (src / "app/stemroll/resources").is_symlink(), "the copy must keep the resources symlink"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    (built,) = (tmp / "dist").glob("stemroll-*.whl")
    return built


def test_wheel_holds_resources_byte_for_byte(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        for rel in EXPECTED:
            name = f"stemroll/resources/{rel}"
            assert name in names, f"{wheel.name} lacks {name}"
            info = z.getinfo(name)
            assert not stat.S_ISLNK(info.external_attr >> 16), f"{name} is stored as a symlink"
            assert _sha(z.read(name)) == _sha((RESOURCES / rel).read_bytes()), f"{name} differs from resources/{rel}"


def test_wheel_has_the_package_and_the_commands(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
        assert tops == {"stemroll"}, f"unexpected top-level entries in the wheel: {sorted(tops)}"
        for module in ("__main__.py", "cli.py", "core/nmf.py", "ui/app.py"):
            assert f"stemroll/{module}" in names
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/entry_points.txt"))
        entry_points = z.read(f"{dist_info}/entry_points.txt").decode()
    assert "stemroll = stemroll.__main__:main" in entry_points
    assert "stemroll-gui = stemroll.ui.app:main" in entry_points


@pytest.mark.slow
def test_fresh_environment_runs_the_installed_demo(wheel, tmp_path):
    """pip install the wheel (dependencies from the package index) and run the installed command."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    r = subprocess.run([bin_dir / "python", "-m", "pip", "install", "-q", str(wheel)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run = dict(capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)

    version = subprocess.run([bin_dir / "stemroll", "--version"], **run)
    assert version.returncode == 0 and version.stdout.startswith("stemroll "), version.stderr
    helptext = subprocess.run([bin_dir / "stemroll", "--help"], **run)
    assert helptext.returncode == 0 and "separate" in helptext.stdout and "demo" in helptext.stdout

    out = tmp_path / "demo-out"
    demo = subprocess.run([bin_dir / "stemroll", "demo", "--out", str(out), "--quiet"], **run)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    stems = sorted(p.name for p in out.glob("*.wav"))
    assert stems == ["demo - left hand.wav", "demo - residual.wav", "demo - right hand.wav"], stems
    assert (out / "stems.json").is_file()
    # The installed copy reads its resources from site-packages, not from this checkout.
    where = subprocess.run([bin_dir / "python", "-c", "import stemroll; print(stemroll.resources_dir())"], **run)
    assert Path(where.stdout.strip()).resolve().is_relative_to(env_dir.resolve()), where.stdout


def test_desktop_entry_installer_registers_menu_entry_icons_and_file_type(tmp_path):
    """packaging/install_desktop_entry.sh into a temporary XDG home, then --uninstall."""
    script = ROOT / "packaging" / "install_desktop_entry.sh"
    data, config = tmp_path / "share", tmp_path / "config"
    config.mkdir()
    (config / "mimeapps.list").write_text("[Default Applications]\ntext/plain=editor.desktop\n"
                                          "application/x-stemroll-project=old.desktop\n")
    program = tmp_path / "my apps" / "stemroll-gui"
    env = {**os.environ, "XDG_DATA_HOME": str(data), "XDG_CONFIG_HOME": str(config), "HOME": str(tmp_path)}
    r = subprocess.run([script, "--exec", str(program)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr

    entry = (data / "applications" / "stemroll.desktop").read_text()
    assert f'Exec="{program}" %F' in entry.splitlines()
    assert "Icon=stemroll" in entry and "application/x-stemroll-project" in entry
    for n in (16, 32, 48, 64, 128, 256):
        icon = data / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "stemroll.png"
        assert icon.read_bytes() == (RESOURCES / "icons" / f"stemroll-{n}.png").read_bytes()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "stemroll.svg").is_file()
    assert (data / "mime" / "packages" / "stemroll-mime.xml").read_bytes() == (RESOURCES / "stemroll-mime.xml").read_bytes()
    mimeapps = (config / "mimeapps.list").read_text().splitlines()
    assert mimeapps == ["[Default Applications]", "text/plain=editor.desktop",
                        "application/x-stemroll-project=stemroll.desktop"]
    if shutil.which("update-mime-database"):
        assert "application/x-stemroll-project:*.stemroll" in (data / "mime" / "globs2").read_text()
    if shutil.which("desktop-file-validate"):
        v = subprocess.run(["desktop-file-validate", "--no-hints", data / "applications" / "stemroll.desktop"],
                           capture_output=True, text=True)
        assert v.returncode == 0, v.stdout + v.stderr

    r = subprocess.run([script, "--uninstall"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert not (data / "applications" / "stemroll.desktop").exists()
    assert not list((data / "icons").rglob("stemroll.*"))
    assert (config / "mimeapps.list").read_text().splitlines() == ["[Default Applications]", "text/plain=editor.desktop"]
