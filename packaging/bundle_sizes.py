"""What each dependency costs in a PyInstaller --onedir bundle.

    python packaging/bundle_sizes.py packaging/dist/stemroll [--files N]

Every file under the bundle is charged to one group: a package folder (``scipy`` and ``scipy.libs``
are both "scipy"), the Python runtime (interpreter library, ``lib-dynload``, the executable that
carries the PYZ of pure-Python modules), or, for a system library copied to the top of
``_internal``, the package whose extension modules or Qt plugins need it (from the ELF ``NEEDED``
entries, followed transitively; a library several packages need is charged to "shared").
Sizes are apparent file sizes in MB (10^6 bytes).  Standard library only, plus ``readelf``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

_ALIASES = {
    "pyside6": "Qt (PySide6, shiboken6)", "shiboken6": "Qt (PySide6, shiboken6)",
    "python3.11": "Python runtime", "python3.12": "Python runtime", "python3.13": "Python runtime",
    "base_library.zip": "Python runtime", "lib-dynload": "Python runtime",
    "soundfile": "soundfile (libsndfile)", "sounddevice": "sounddevice (PortAudio)",
    "cffi": "cffi", "cffi_backend": "cffi",
    # loaded by name at run time (ctypes), so no ELF NEEDED entry points at it
    "libportaudio.so.2": "sounddevice (PortAudio)",
}


def group_of(top: str) -> str:
    """The group for a top-level entry of ``_internal`` (a folder or file name)."""
    if re.match(r"libpython3\.\d+", top):
        return "Python runtime"
    if top in _ALIASES:
        return _ALIASES[top]
    name = top.lower()
    name = re.sub(r"-[\d.]+[^-]*\.dist-info$", "", name)
    name = re.sub(r"\.libs$", "", name)
    name = re.sub(r"_data$", "", name)
    name = re.sub(r"\.cpython-.*$|\.abi3\.so$", "", name).lstrip("_")
    return _ALIASES.get(name, name)


def needed(path: Path) -> list[str]:
    """The DT_NEEDED sonames of an ELF file ([] for anything else)."""
    with path.open("rb") as f:
        if f.read(4) != b"\x7fELF":
            return []
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\).*\[(.+?)\]", out)


def breakdown(bundle: Path) -> tuple[dict[str, int], list[tuple[int, Path]]]:
    """Bytes per group, and every file with its size (largest first)."""
    internal = bundle / "_internal"
    files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]
    sizes = {p: p.stat().st_size for p in files}
    top_libs = {p.name: p for p in internal.iterdir() if p.is_file() and ".so" in p.name
                and group_of(p.name).startswith("lib")}
    roots = {name: p for name, p in top_libs.items() if name in _ALIASES}
    deps = {p: needed(p) for p in files if ".so" in p.name or p.parent == bundle}

    owners: dict[str, set[str]] = defaultdict(set)
    for p, sonames in deps.items():
        if p.name in roots and p.parent == internal:
            g = _ALIASES[p.name]
        elif p.parent == bundle:
            g = "executable (bootloader + pure-Python modules)"
        elif p.parent == internal and p.name in top_libs:
            continue
        else:
            g = group_of(p.relative_to(internal).parts[0])
        todo = list(sonames)
        while todo:
            so = todo.pop()
            if so in top_libs and g not in owners[so]:
                owners[so].add(g)
                todo.extend(deps.get(top_libs[so], []))

    totals: dict[str, int] = defaultdict(int)
    for p, size in sizes.items():
        if p.parent == bundle:
            totals["executable (bootloader + pure-Python modules)" if needed(p) else "scripts"] += size
            continue
        top = p.relative_to(internal).parts[0]
        if top in roots:
            g = _ALIASES[top]
        elif top in top_libs:
            who = sorted(owners.get(top, ()))
            g = (f"system libs for {who[0]}" if len(who) == 1 else
                 "system libs, shared" if who else "system libs, unreferenced")
        else:
            g = group_of(top)
        totals[g] += size
    return dict(totals), sorted(((s, p) for p, s in sizes.items()), reverse=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path, help="the --onedir folder (holds the executable and _internal)")
    ap.add_argument("--files", type=int, default=12, help="also list the N largest files (default 12)")
    args = ap.parse_args(argv)
    if not (args.bundle / "_internal").is_dir():
        print(f"bundle_sizes: {args.bundle}: not a PyInstaller --onedir bundle (no _internal folder)", file=sys.stderr)
        return 1
    totals, files = breakdown(args.bundle)
    total = sum(totals.values())
    print(f"| group | MB | share |\n|---|---:|---:|")
    for g, b in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {g} | {b / 1e6:.1f} | {100 * b / total:.0f} % |")
    print(f"| **total** | **{total / 1e6:.1f}** | {len(files)} files |")
    if args.files:
        print(f"\nlargest files:")
        for s, p in files[:args.files]:
            print(f"  {s / 1e6:7.1f} MB  {p.relative_to(args.bundle)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
