"""The client-facing name of ``dwe.common.enums`` (shared with the server)."""

from dwe.common.enums import *  # noqa: F403
from dwe.common.enums import __all__  # noqa: F401
