"""``python -m bench`` (``make bench``): the import benchmark of issue 3 (see bench/README.md)."""

import sys

from bench.imports import main

sys.exit(main())
