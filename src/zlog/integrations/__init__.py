"""Job-system integrations: each turns a job system's own hooks into the ``zlog.jobs`` signals.

Each lives in its own module and needs its extra (``zlog.integrations.rq``: ``pip install 'zlog[rq]'``).
"""
