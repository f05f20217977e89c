"""Backwards-compatible alias of the ``dwe`` command, which lives in :mod:`dwe.cli`."""

from dwe.cli.main import main

__all__ = ["main"]

if __name__ == "__main__":
    import sys

    sys.exit(main())
