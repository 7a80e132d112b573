"""Entry script of the bundle: ``stemroll`` opens the editor, ``stemroll COMMAND`` runs the CLI."""

import sys

from stemroll.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
