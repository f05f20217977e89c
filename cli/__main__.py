"""``python -m dwe.cli ...``: the ``dwe`` command."""

import sys

from dwe.cli.main import main

sys.exit(main())
