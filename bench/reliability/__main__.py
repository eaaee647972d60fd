"""``python -m bench.reliability``: run the suites and print the table."""

import sys

from .cli import main

sys.exit(main())
