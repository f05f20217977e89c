"""The client-facing name of ``dwe.common.intents`` (shared with the server)."""

from dwe.common.intents import *  # noqa: F403
from dwe.common.intents import __all__  # noqa: F401
