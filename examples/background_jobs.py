"""The flagship example: a background-job system with workers, retries, metrics, alerts, audit and health.

The code lives in the package as ``src/zlog/demo.py`` so that ``zlog demo`` runs it right after install;
read it there. This script runs the same program:

    python examples/background_jobs.py --jobs 50 --workers 4 --seed 1 --failure-rate 0.2
"""

import sys

from zlog.demo import main

if __name__ == "__main__":
    sys.exit(main())
