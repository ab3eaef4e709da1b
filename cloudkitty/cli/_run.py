"""What every console script shares: turn start-up errors into one line."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable

from cloudkitty import exceptions


def run(main: Callable[[], int | None]) -> None:
    """Run ``main`` and exit with its status.

    A :class:`ConfigError` prints one line naming the file, section, option
    and reason, and exits 1; no traceback.
    """
    prog = os.path.basename(sys.argv[0]) if sys.argv else "cloudkitty"
    try:
        status = main()
    except exceptions.ConfigError as exc:
        for line in exc.lines():
            print(f"{prog}: configuration error: {line}", file=sys.stderr)
        sys.exit(1)
    except exceptions.DatabaseError as exc:
        print(f"{prog}: database error: {exc}", file=sys.stderr)
        sys.exit(1)
    except exceptions.StorageError as exc:
        print(f"{prog}: storage error: {exc}", file=sys.stderr)
        sys.exit(1)
    sys.exit(status or 0)
