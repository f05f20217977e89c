"""The ``dwe`` command line: run the server or an agent, and drive workflows.

The commands that call a server take ``--target`` (default ``$DWE_TARGET`` or
127.0.0.1:50051); ``--json`` prints machine output, one JSON object per line.
Every error is one line on stderr: ``error: <message>``, with the gRPC status
code name first when the server answered with one (``error: NOT_FOUND: ...``);
under ``--json`` it is one object, ``{"error": {"code": ..., "message": ...}}``.
The exit code is 2 for invalid input, 1 for other failures (and for a watched
workflow that did not complete), 0 otherwise. docs/cli.md has the details.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import grpc

from dwe.cli import render
from dwe.cli.parser import UsageError, build_parser
from dwe.clients.errors import DweError, ValidationError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dwe`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
        as_json = bool(getattr(args, "json", as_json))
        return int(args.func(args))
    except UsageError as err:
        return _report("INVALID_ARGUMENT", str(err), as_json, 2)
    except ValidationError as err:
        return _report(err.code.name, str(err), as_json, 2, _from_server(err))
    except DweError as err:
        return _report(err.code.name, str(err), as_json, 1, _from_server(err))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except Exception as err:  # a bug: still one line, never a traceback
        return _report("INTERNAL", f"{type(err).__name__}: {err}", as_json, 1, True)


def _from_server(err: DweError) -> bool:
    """The error carries a gRPC status (not one the CLI raised about its own input)."""
    return isinstance(err.__cause__, grpc.RpcError)


def _report(code: str, message: str, as_json: bool, exit_code: int, coded: bool = False) -> int:
    """Prints the error as one line: a JSON object under --json, else ``error: ...``."""
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    if as_json:
        line = render.to_json_line({"error": {"code": code, "message": message}})
    else:
        line = f"error: {code}: {message}" if coded else f"error: {message}"
    print(line, file=sys.stderr, flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
