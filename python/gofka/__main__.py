"""``python -m gofka``: the gofka command line (see gofka.cli)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
