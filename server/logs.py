"""Logging set-up: one line per event that matters, text or JSON."""

from __future__ import annotations

import logging
import sys

import orjson


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": record.created,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def client_gone(record: logging.LogRecord) -> bool:
    """False for grpc's report that a stream's final status could not be sent because
    its caller had already closed it (a client that stops reading after the last
    event it wanted does that): nothing went wrong, so no ERROR with a traceback."""
    text = record.getMessage()
    return not (
        text.startswith("ExecuteBatchError raised in core by servicer method")
        and "SendStatusFromServerOperation" in str(record.exc_info[1] if record.exc_info else "")
    )


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(client_gone)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
