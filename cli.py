"""archive 命令行 — run from a source checkout: ``python cli.py --help``.

The command itself is assembled in ``commands/main.py``; the wheel ships ``commands/``,
``templates/`` and ``schemas/`` inside the ``archive`` package (``archive.commands`` …), so
nothing lands in site-packages under a generic name. The installed command is ``archive``.
"""

import sys

from archive.commands.main import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
