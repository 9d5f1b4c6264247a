"""``python -m zlog``: the ``zlog`` command line."""

import sys

from zlog.cli import main

sys.exit(main())
