"""`python -m router.cli`: the `ocr-router` command."""

import sys

from router.cli import main

sys.exit(main())
