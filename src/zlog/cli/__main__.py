"""``python -m zlog.cli``: the same as the ``zlog`` console script."""

import sys

from zlog.cli import main

sys.exit(main())
