"""The client-facing name of ``dwe.common.spec`` (shared with the server)."""

from dwe.common.spec import *  # noqa: F403
from dwe.common.spec import __all__  # noqa: F401
