"""``python -m ocpagg``."""

import sys

from .cli import main

sys.exit(main())
