"""`python -m backend`: the command line."""

import sys

from backend.cli import main

sys.exit(main())
