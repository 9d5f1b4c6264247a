"""CallerInfo: the file, line and function that emitted, past zlog's and logging's own frames; nothing when off."""

from __future__ import annotations

import sys

from zlog import Router
from zlog.processors import CallerInfo
from zlog.testing import CapturedEvents


def _emit_here(router: Router) -> int:
    router.emit("JOB_DONE", "done")
    return sys._getframe().f_lineno - 1


def test_caller_info_names_the_file_line_and_function_that_emitted() -> None:
    router = Router()
    got = CapturedEvents()
    router.add_processor(CallerInfo())
    router.route_all(got)
    line = _emit_here(router)
    assert got[0].fields["file"] == __file__
    assert got[0].fields["line"] == line and got[0].fields["function"] == "_emit_here"


def test_caller_info_passes_over_zlog_and_logging_to_the_callers_frame() -> None:
    import logging

    from zlog.stdlib import ZlogHandler

    router = Router()
    got = CapturedEvents()
    router.add_processor(CallerInfo())
    router.route_all(got)
    logger = logging.getLogger("zlog.tests.caller")
    logger.propagate = False
    logger.addHandler(ZlogHandler(router=router))
    logger.warning("through logging")
    line = sys._getframe().f_lineno - 1
    assert got[0].fields["function"] == "test_caller_info_passes_over_zlog_and_logging_to_the_callers_frame"
    assert got[0].fields["line"] == line


def test_caller_info_keeps_fields_the_event_already_has() -> None:
    router = Router()
    got = CapturedEvents()
    router.add_processor(CallerInfo())
    router.route_all(got)
    router.emit("UPLOAD", "uploaded", file="report.pdf")
    assert got[0].fields["file"] == "report.pdf" and "line" in got[0].fields


def test_without_caller_info_events_carry_no_caller_fields() -> None:
    router = Router()
    got = CapturedEvents()
    router.route_all(got)
    router.emit("JOB_DONE", "done")
    assert not {"file", "line", "function"} & set(got[0].fields)
