"""The client-facing name of ``dwe.common.errors`` (shared with the server)."""

from dwe.common.errors import *  # noqa: F403
from dwe.common.errors import __all__  # noqa: F401
