"""Drop from the PyInstaller bundle what Stemroll never uses (imported by ``stemroll.spec``).

PyInstaller's Qt hooks collect every plugin of each plugin type a Qt module may use, every Qt
translation, and then the system libraries those plugins link against.  :func:`prune` removes the
entries matching :data:`DROP` and afterwards every top-level system library that only the dropped
files needed (found from the ELF ``NEEDED`` entries with ``readelf``, which PyInstaller's own
Linux dependency analysis also requires).  Libraries nothing links against are kept: they are
loaded at run time by name (PortAudio through ``ctypes``, the Python library by the bootloader).
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
from pathlib import PurePosixPath

QT = "PySide6/Qt"

# (pattern on the destination path in the bundle, why it can go)
DROP: list[tuple[str, str]] = [
    (f"{QT}/translations/*", "Qt's own UI translations: the editor does not install a QTranslator"),
    (f"{QT}/plugins/platformthemes/libqgtk3.so",
     "GTK 3 theme plugin: drags GTK, cairo and pango from the build machine (about 20 MB) that can "
     "clash with the user's GTK themes; Qt's Fusion style and the XDG portal theme remain"),
    (f"{QT}/plugins/platforms/libqeglfs.so", "EGL full-screen platform for embedded devices"),
    (f"{QT}/plugins/platforms/libqlinuxfb.so", "Linux frame-buffer platform for embedded devices"),
    (f"{QT}/plugins/platforms/libqminimalegl.so", "minimal EGL platform (tests of Qt itself)"),
    (f"{QT}/plugins/platforms/libqvkkhrdisplay.so", "Vulkan display platform for embedded devices"),
    (f"{QT}/plugins/platforms/libqvnc.so", "VNC server platform"),
    (f"{QT}/plugins/egldeviceintegrations/*", "EGL device integrations for eglfs"),
    (f"{QT}/lib/libQt6EglFSDeviceIntegration.so*", "eglfs support library"),
    (f"{QT}/lib/libQt6EglFsKmsSupport.so*", "eglfs support library"),
    (f"{QT}/plugins/generic/*", "evdev/TUIO input plugins for devices without a window system"),
    (f"{QT}/plugins/imageformats/libq[!s]*.so",
     "image formats other than SVG: the editor only loads PNG (built into QtGui) and SVG icons"),
]


def _dropped(dest: str) -> str | None:
    for pattern, reason in DROP:
        if fnmatch.fnmatchcase(dest, pattern):
            return reason
    return None


def _needed(path: str) -> list[str]:
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"\x7fELF":
                return []
    except OSError:
        return []
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\).*\[(.+?)\]", out)


def _is_top_level_lib(dest: str) -> bool:
    return "/" not in dest and dest.startswith("lib") and ".so" in dest


def prune(binaries: list, datas: list) -> tuple[list, list, list[tuple[str, str]]]:
    """Filter PyInstaller TOCs of ``(dest, src, typecode)``.

    Returns the kept binaries and datas and a list of ``(dest, reason)`` for what was dropped.
    """
    report: list[tuple[str, str]] = []
    kept_datas = []
    for entry in datas:
        reason = _dropped(entry[0])
        (report.append((entry[0], reason)) if reason else kept_datas.append(entry))

    first = []
    for entry in binaries:
        reason = _dropped(entry[0])
        (report.append((entry[0], reason)) if reason else first.append(entry))
    dropped_names = {PurePosixPath(d).name for d, _ in report}

    needs = {e[0]: _needed(e[1]) for e in binaries if e[2] != "SYMLINK"}
    referenced = {so for sonames in needs.values() for so in sonames}
    tops = {e[0] for e in first if _is_top_level_lib(e[0])}
    # Roots: everything that is not a top-level system library, and the libraries loaded by name.
    todo = [e[0] for e in first if e[0] not in tops or e[0] not in referenced]
    reachable = set(todo)
    while todo:
        for so in needs.get(todo.pop(), ()):
            if so in tops and so not in reachable:
                reachable.add(so)
                todo.append(so)
    kept = []
    for entry in first:
        dest, src, typecode = entry
        if dest in tops and dest not in reachable:
            report.append((dest, "system library needed only by dropped files"))
        elif typecode == "SYMLINK" and PurePosixPath(src).name in dropped_names:
            report.append((dest, "link to a dropped file"))
        else:
            kept.append(entry)
    return kept, kept_datas, report


def strip_python_library(binaries: list, workdir: str) -> list:
    """Replace the interpreter's own binaries (the Python library and ``lib-dynload`` modules) by
    copies without debug symbols: 25 MB of the bundle on a pyenv-built Python, nothing on a distro's.

    Only these: stripping the wheels' libraries (auditwheel/patchelf-edited, e.g. NumPy's OpenBLAS)
    breaks them ("ELF load command address/offset not page-aligned").
    """
    import shutil
    from pathlib import Path

    if not shutil.which("strip"):
        return binaries
    out = []
    for dest, src, typecode in binaries:
        if typecode != "SYMLINK" and re.fullmatch(r"libpython3\.\d+\.so[.\d]*|python3\.\d+/lib-dynload/[^/]+\.so", dest):
            copy = Path(workdir) / "stripped" / dest
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy)
            subprocess.run(["strip", "--strip-unneeded", str(copy)], check=True)
            src = str(copy)
        out.append((dest, src, typecode))
    return out
