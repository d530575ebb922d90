"""`python -m partner_sandbox` is the `partner-sandbox` command."""

import sys

from .cli import main

sys.exit(main())
