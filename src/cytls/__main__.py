"""``python -m cytls`` runs the ``cytls`` command."""

import sys

from cytls.cli import main

sys.exit(main())
