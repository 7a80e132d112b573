"""The one exception a user sees from a reader or writer: names the file and the problem."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A file could not be read or written. ``str(err)`` is one line: '<file>: <problem>'."""

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem.strip().rstrip(".")
        super().__init__(f"{self.path.name}: {self.problem}")
