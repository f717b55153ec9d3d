"""`python -m tradd.rehearsal`."""

import sys

from tradd.rehearsal.cli import main

sys.exit(main())
