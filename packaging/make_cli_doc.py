"""Regenerate docs/cli.md from the command line's own help (tests check it is up to date).

    python packaging/make_cli_doc.py            write docs/cli.md
    python packaging/make_cli_doc.py --check    exit 1 if docs/cli.md is out of date
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def render() -> str:
    os.environ["COLUMNS"] = "100"
    from stemroll.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    parts = ["# The `stemroll` command line", "",
             "Generated from the program's own help by `packaging/make_cli_doc.py`; every engine setting is here.",
             "Without a sub-command, `stemroll` opens the editor (`stemroll --demo` opens it on the demo piece).", "",
             "```text", parser.format_help().rstrip(), "```", ""]
    for name, p in sub.choices.items():
        parts += [f"## stemroll {name}", "", "```text", p.format_help().rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        ok = DOC.exists() and DOC.read_text() == text
        print("docs/cli.md is up to date" if ok else "docs/cli.md is out of date: run packaging/make_cli_doc.py")
        sys.exit(0 if ok else 1)
    DOC.write_text(text)
    print(f"wrote {DOC}")
