"""`python -m lakehouse` runs the command-line interface."""

import sys

from lakehouse.cli import main

sys.exit(main())
