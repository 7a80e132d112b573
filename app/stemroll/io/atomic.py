"""Atomic file writes: a temporary file in the same folder, fsync, the previous version kept, one rename.

``atomic_write(path)`` is for one file (a project, a manifest); ``atomic_write_all(paths)`` for a
set of files that must appear together or not at all (the stems of an export). Either way:

1. the new content goes to a temporary file beside its target (``.<name>.<random>.tmp<suffix>``),
   created with the permissions the target has (or would get from a plain ``open``);
2. the temporary file is flushed to the disk (``fsync``);
3. with ``backup=True`` the previous version is kept as ``<name>.bak`` (itself replaced atomically,
   so a failure here leaves the old ``.bak`` as it was);
4. ``os.replace`` puts the new file in place in one step, and the folder entry is synced.

A failure at any step removes every temporary file and leaves the targets (and their ``.bak``)
as they were; ``OSError`` reaches the caller as ``InputError`` naming the file and the problem in
plain words (disk full, read-only folder...).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

from .errors import InputError

_PLAIN = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission denied (the folder is read-only or belongs to someone else)",
    errno.EPERM: "permission denied (the folder is read-only or belongs to someone else)",
    errno.ENOENT: "the folder does not exist",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EIO: "the disk reported an input/output error",
}


def plain_os_error(e: BaseException) -> str:
    """What went wrong, in plain words, for an ``OSError`` (or anything else: its message)."""
    if isinstance(e, OSError) and e.errno in _PLAIN:
        return _PLAIN[e.errno]
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text


_UMASK: int | None = None


def _umask() -> int:
    """The process umask (read once; from /proc where possible, since os.umask is not thread-safe)."""
    global _UMASK
    if _UMASK is None:
        try:
            with open("/proc/self/status", encoding="ascii") as f:
                _UMASK = next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
        except (OSError, StopIteration, ValueError, IndexError):
            old = os.umask(0o022)
            os.umask(old)
            _UMASK = old
    return _UMASK


def _new_temp(target: Path, tag: str = "tmp") -> Path:
    """An empty temporary file beside ``target`` with the permissions ``target`` has or would get."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".{tag}{target.suffix}", dir=target.parent)
    try:
        try:
            mode = target.stat().st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~_umask()
        with contextlib.suppress(OSError):  # e.g. file systems without permissions
            os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return Path(name)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make the renames durable; not possible everywhere (Windows), so failures are ignored."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _keep_copy(path: Path) -> Path:
    """A temporary copy of ``path``'s current content beside it (a hard link where possible)."""
    link = path.with_name(f".{path.name}.{secrets.token_hex(6)}.old{path.suffix}")
    try:
        os.link(path, link)
        return link
    except OSError:
        pass
    copy = _new_temp(path, "old")
    try:
        shutil.copyfile(path, copy)
        _fsync_file(copy)
    except BaseException:
        with contextlib.suppress(OSError):
            copy.unlink()
        raise
    return copy


def _remove(paths) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


@contextlib.contextmanager
def atomic_write(path: str | Path, *, backup: bool = False) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; when the block ends it replaces ``path`` in one rename.

    On any failure the temporary file is removed and ``path`` (and its ``.bak``) are left as they
    were. With ``backup`` the previous version is kept as ``<name>.bak``. Raises ``InputError``
    naming the file for ``OSError`` (disk full, permission denied...); other exceptions pass through.
    """
    path = Path(path)
    with atomic_write_all([path], backup=backup) as temps:
        yield temps[path]


@contextlib.contextmanager
def atomic_write_all(paths: Sequence[str | Path], *, backup: bool = False) -> Iterator[dict[Path, Path]]:
    """Yield ``{target: temporary path}``; when the block ends every target is replaced, or none is.

    Targets that existed are restored if a later rename fails (their previous content is kept
    in a temporary copy until all renames succeeded; with ``backup`` it then becomes ``<name>.bak``).
    Raises ``InputError`` naming the file that failed for ``OSError``; nothing temporary is left.
    """
    targets = [Path(p) for p in paths]
    if len(set(targets)) != len(targets):
        raise ValueError("the same file is named twice")
    temps: dict[Path, Path] = {}
    current: Path | None = targets[0] if targets else None
    try:
        for t in targets:
            current = t
            temps[t] = _new_temp(t)
    except OSError as e:
        _remove(temps.values())
        raise InputError(current, f"cannot write in the folder {_folder(current).absolute()} "
                                  f"({plain_os_error(e)})") from None
    olds: dict[Path, Path] = {}
    done: list[Path] = []
    try:
        yield dict(temps)
        for t in targets:
            current = t
            _fsync_file(temps[t])
        for t in targets:
            current = t
            if t.exists():
                olds[t] = _keep_copy(t)
        for t in targets:
            current = t
            os.replace(temps[t], t)
            done.append(t)
    except BaseException as e:
        for t in reversed(done):  # undo the renames that happened: previous content back, or no file
            with contextlib.suppress(OSError):
                if t in olds:
                    os.replace(olds.pop(t), t)
                else:
                    t.unlink()
        _remove(list(temps.values()) + list(olds.values()))
        if isinstance(e, OSError):
            raise InputError(current, f"could not be written ({plain_os_error(e)})") from None
        raise
    for t, old in olds.items():
        if backup:
            with contextlib.suppress(OSError):
                os.replace(old, t.with_name(t.name + ".bak"))
        with contextlib.suppress(OSError):
            old.unlink()
    for folder in {_folder(t) for t in targets}:
        _fsync_folder(folder)
