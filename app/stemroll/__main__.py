"""``python -m stemroll``: the editor, or the command line when given a sub-command."""

import sys


def main(argv: list[str] | None = None) -> int:
    from .cli import SUBCOMMANDS, main as cli_main

    args = sys.argv[1:] if argv is None else list(argv)
    if args and (args[0] in SUBCOMMANDS or args[0] in ("-h", "--help", "--version")):
        return cli_main(args)
    from .ui.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
