"""The bounds of what callers and agents may send, and of what error messages repeat.

Every number and string that reaches the server is bounded here and checked at
the edge (``validation.py``, ``agent_checks.py``, the servicers), so nothing a
caller or an agent sends can fail a commit or an encoding later. The bounds
are listed in docs/concepts.md ("Limits").

A status message travels in the ``grpc-message`` trailer, percent-encoded, and
gRPC refuses trailers over 16 KiB (warning from 8 KiB): a message that
repeated a 20 KB id would reach the caller as "metadata size exceeds hard
limit" instead of the error. So every message that quotes input quotes it
through :func:`quote` or :func:`clip`, and :func:`bounded` caps the whole
message (``errors.status_for`` applies it to every status it maps).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Ids: step_id, dependencies, workflow_id, request_id, session_id, agent_id,
#: agent_type, capability, attempt ids (characters).
MAX_ID_LENGTH = 200
#: Workflow and step names (characters).
MAX_NAME_LENGTH = 1_000
#: Descriptions, cancel reasons, intent messages (characters).
MAX_TEXT_LENGTH = 10_000
#: The range of a google.protobuf.Timestamp: years 1 to 9999, in epoch seconds.
MIN_EPOCH = -62_135_596_800
MAX_EPOCH = 253_402_300_799
#: Labels of a workflow or an agent: entries, key and value characters.
MAX_LABELS = 64
MAX_LABEL_KEY_LENGTH = 200
MAX_LABEL_VALUE_LENGTH = 1_000
#: Steps of a workflow; also the largest max_parallel_steps.
MAX_STEPS = 100_000
#: retry_count of a step.
MAX_RETRIES = 100
#: backoff_coefficient of a step (0 means 2.0; otherwise from 1 to this).
MAX_BACKOFF_COEFFICIENT = 100.0
#: pipeline_batch_size of a step.
MAX_PIPELINE_BATCH = 10_000
#: data_transformations of a step, and the length of a transformation type.
MAX_TRANSFORMATIONS = 100
#: Nesting of a JSON object the server decodes (contexts, transformation params,
#: registry config). orjson reads 1,024 levels but writes only 254, so a deeper
#: value would be accepted and then fail the commit that stores it.
MAX_JSON_DEPTH = 64
#: Every duration of a spec (timeouts, delays, estimates): 365 days, in seconds.
MAX_DURATION = 365 * 24 * 3600.0
#: max_concurrent_tasks of an agent (Hello and RegisterAgent).
MAX_AGENT_TASKS = 10_000
#: Capabilities of one agent; attempts one Hello may list as held.
MAX_CAPABILITIES = 100
MAX_HELD_ATTEMPTS = 10_000
#: ListWorkflows page_size; page_token characters.
MAX_PAGE = 1_000
MAX_PAGE_TOKEN_LENGTH = 1_000
#: WatchWorkflow after_seq: 2^53 - 1, exact in every client language.
MAX_SEQ = 2**53 - 1
#: WatchEvents filters: workflow ids and event types.
MAX_WATCH_IDS = 1_000
#: Items of one CreateWorkflows or ExecuteWorkflows call.
MAX_BATCH = 1_000
MAX_WATCH_TYPES = 100

#: gRPC's default receive limit, and so the default of --max-message-bytes: every
#: client on default settings can receive whatever the server sends.
DEFAULT_MAX_MESSAGE = 4 * 1024 * 1024
#: Default of --max-payload-bytes: one context, parameter, config, output or
#: progress payload (bytes of data).
DEFAULT_MAX_PAYLOAD = 2 * 1024 * 1024
#: What a message holds besides its payloads (ids, names, timestamps, framing):
#: the payload limit must leave at least this much of the message limit.
ENVELOPE_BYTES = 64 * 1024
#: The bounds of --max-message-bytes (gRPC's lengths are 32-bit signed).
MIN_MESSAGE = 256 * 1024
MAX_MESSAGE = 2**31 - 1
#: Step ids one GetWorkflowStatus may name.
MAX_STATUS_STEPS = 1_000

#: Characters of an input value an error message repeats; the rest is counted.
QUOTE_CHARS = 64
#: Bytes a status message may take in its trailer, percent-encoded (ASCII
#: letters take one byte, anything else three per UTF-8 byte).
MAX_MESSAGE_BYTES = 4096
#: Steps of a dependency cycle named in full at either end of a long cycle.
CYCLE_ENDS = 6


def clip(value: str, limit: int = QUOTE_CHARS) -> str:
    """``value`` itself, or its first ``limit`` characters and how many were left out."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}…(+{len(value) - limit} chars)"


def quote(value: str, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` of at most ``limit`` characters of it: ``'abc'`` or ``'abc'…(+N chars)``."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}…(+{len(value) - limit} chars)"


def cycle_path(cycle: list[str]) -> str:
    """``A -> B -> A`` with each id clipped; a long cycle keeps both ends and counts the rest."""
    names = [clip(step_id) for step_id in cycle]
    if len(names) > 2 * CYCLE_ENDS + 1:
        hidden = len(names) - 2 * CYCLE_ENDS
        names = [*names[:CYCLE_ENDS], f"…({hidden} more steps)…", *names[-CYCLE_ENDS:]]
    return " -> ".join(names)


def _encoded_size(char: str) -> int:
    return 1 if " " <= char <= "~" and char != "%" else 3 * len(char.encode("utf-8", "replace"))


def bounded(message: str, limit: int = MAX_MESSAGE_BYTES) -> str:
    """``message`` cut so that, percent-encoded, it fits in ``limit`` bytes."""
    if len(message) * 12 <= limit:  # no character encodes to more than 12 bytes
        return message
    size = 0
    for i, char in enumerate(message):
        size += _encoded_size(char)
        if size > limit - 64:  # room for the marker
            return f"{message[:i]}…(message cut, {len(message) - i} more chars)"
    return message


@dataclass(frozen=True, slots=True)
class SizeLimits:
    """The message and payload limits of one server (``--max-message-bytes``,
    ``--max-payload-bytes``): what it receives, and the most it ever sends."""

    max_message: int = DEFAULT_MAX_MESSAGE
    max_payload: int = DEFAULT_MAX_PAYLOAD

    def __post_init__(self) -> None:
        if not MIN_MESSAGE <= self.max_message <= MAX_MESSAGE:
            raise ValueError(
                f"max_message_bytes must be from {MIN_MESSAGE} to {MAX_MESSAGE},"
                f" not {self.max_message}"
            )
        if not 1 <= self.max_payload <= self.max_message - ENVELOPE_BYTES:
            raise ValueError(
                f"max_payload_bytes must be from 1 to max_message_bytes - {ENVELOPE_BYTES}"
                f" ({self.max_message - ENVELOPE_BYTES}), not {self.max_payload}"
            )

    @property
    def budget(self) -> int:
        """Bytes a response may fill with repeated entries, leaving room for its frame."""
        return self.max_message - 1024


def size_text(size: int) -> str:
    """``3.5 MiB``, ``12.0 KiB`` or ``512 bytes``: sizes in messages people read."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size} bytes"
