"""Standard library logging both ways: records become zlog events, events reach logging handlers."""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
from collections.abc import Iterator
from typing import Any

import pytest

import zlog
from zlog import Event, Router
from zlog.stdlib import LoggingSink, ZlogHandler, capture_logging


@pytest.fixture()
def logger() -> Iterator[logging.Logger]:
    # outside the logger tree: pytest puts its capture handlers (which fail a test on any logging error) on
    # every logger of the tree that does not propagate, and on the root
    log = logging.Logger("tests.stdlib.app", logging.DEBUG)
    yield log


def wired(logger: logging.Logger, **kwargs: Any) -> list[Event]:
    router = Router()
    got: list[Event] = []
    router.route_all(got.append)
    logger.addHandler(ZlogHandler(router=router, **kwargs))
    return got


def test_a_record_becomes_the_level_signal_with_its_message_and_extra_fields(logger: logging.Logger) -> None:
    got = wired(logger)
    logger.warning("disk %s is %d%% full", "/var", 91, extra={"job_id": "j1", "attempt": 2})
    [event] = got
    assert (event.signal, event.level, event.message) == ("WARN", "warn", "disk /var is 91% full")
    assert dict(event.fields) == {"logger": "tests.stdlib.app", "job_id": "j1", "attempt": 2}


def test_every_stdlib_level_maps_to_a_zlog_level(logger: logging.Logger) -> None:
    got = wired(logger)
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL, 25):
        logger.log(level, "x")
    assert [(e.signal, e.level) for e in got] == [
        ("DEBUG", "debug"),
        ("INFO", "info"),
        ("WARN", "warn"),
        ("ERROR", "error"),
        ("FATAL", "fatal"),
        ("INFO", "info"),  # a custom level between INFO and WARNING counts as INFO
    ]


def test_logger_names_map_to_signals_including_child_loggers(logger: logging.Logger) -> None:
    got = wired(logger, signals={"tests.stdlib": "APP_LOG"})
    logger.error("boom")
    assert (got[0].signal, got[0].level) == ("APP_LOG", "error")


def test_exc_info_becomes_the_error_object_and_stack_info_the_stack(logger: logging.Logger) -> None:
    got = wired(logger)
    try:
        raise ValueError("bad input")
    except ValueError:
        logger.exception("job failed", stack_info=True)
    event = got[0]
    assert isinstance(event.fields["error"], ValueError) and "Stack (most recent call last)" in event.fields["stack"]
    out = io.StringIO()
    zlog.JSONSink(out).handle(event)
    line = json.loads(out.getvalue())
    assert line["error"]["type"] == "ValueError" and line["error"]["message"] == "bad input"


def test_bad_format_arguments_keep_the_record_instead_of_losing_it(logger: logging.Logger) -> None:
    got = wired(logger)
    logger.info("%d jobs", "not a number")
    assert got[0].message == "%d jobs (arguments: ('not a number',))"


def test_capture_logging_sends_third_party_logs_as_zlog_json_and_never_doubles() -> None:
    out = io.StringIO()
    router = Router()
    router.route_all(zlog.JSONSink(out))
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    try:
        capture_logging(logging.INFO, router=router)
        handler = capture_logging(logging.INFO, router=router)  # again: replaces, never doubles
        logging.getLogger("urllib3.connectionpool").info("Starting new HTTPS connection (%d): %s", 1, "example.org")
        logging.getLogger("urllib3.connectionpool").debug("below the level")
        assert sum(isinstance(h, ZlogHandler) for h in root.handlers) == 1 and handler in root.handlers
    finally:
        for h in list(root.handlers):
            if isinstance(h, ZlogHandler):
                root.removeHandler(h)
        root.handlers[:] = before[0]
        root.setLevel(before[1])
    [line] = [json.loads(x) for x in out.getvalue().splitlines()]
    assert line["signal"] == "INFO" and line["logger"] == "urllib3.connectionpool"
    assert line["message"] == "Starting new HTTPS connection (1): example.org"


@pytest.mark.parametrize("reconfigure", ["basicConfig(force=True)", "dictConfig"])
def test_capture_logging_called_again_after_logging_is_reconfigured_captures_again_once(reconfigure: str) -> None:
    import logging.config

    got: list[Event] = []
    router = Router()
    router.route_all(got.append)
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    try:
        capture_logging(logging.INFO, router=router)
        if reconfigure == "dictConfig":  # as a framework's start-up does: the root logger's handlers replaced
            config = {"version": 1, "disable_existing_loggers": False, "root": {"handlers": [], "level": "WARNING"}}
            logging.config.dictConfig(config)
        else:
            logging.basicConfig(force=True, stream=io.StringIO())
        logging.getLogger("lost").warning("no capture any more")
        capture_logging(logging.INFO, router=router)  # the one line docs/workers.md shows
        logging.getLogger("billing").info("captured again")
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])
    assert [e.message for e in got] == ["captured again"]


def test_logging_sink_hands_events_to_an_existing_handler_with_fields_as_attributes() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    router = Router()
    router.route_all(LoggingSink(Keep(logging.INFO)))
    router.emit(zlog.Signal("JOB_FAILED", level="error"), "job failed", job_id="j1", name="shadowed")
    router.emit(zlog.DEBUG, "below the handler's level")
    [record] = records
    added = vars(record)  # the attributes the sink set on the record
    assert (record.levelno, record.getMessage(), added["signal"]) == (logging.ERROR, "job failed", "JOB_FAILED")
    assert added["job_id"] == "j1" and added["zlog_name"] == "shadowed" and record.name == "zlog"
    assert added["zlog_event"].fields["job_id"] == "j1"


def test_logging_sink_works_with_a_stdlib_formatter_and_rotating_file_handler(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "app.log"
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=10_000, backupCount=1)
    handler.setFormatter(logging.Formatter("%(levelname)s %(signal)s %(message)s job=%(job_id)s"))
    router = Router()
    router.route_all(LoggingSink(handler))
    error = RuntimeError("smtp down")
    router.emit(zlog.Signal("JOB_FAILED", level="error"), "job failed", job_id="j9", error=error)
    handler.close()
    text = path.read_text()
    assert text.startswith("ERROR JOB_FAILED job failed job=j9\n") and "RuntimeError: smtp down" in text


def test_events_sent_to_logging_are_not_captured_back_into_zlog(logger: logging.Logger) -> None:
    router = Router()
    got: list[Event] = []
    router.route("JOB_*", got.append, LoggingSink(logger))
    logger.addHandler(ZlogHandler(router=router))  # a loop: zlog -> logging -> zlog
    router.emit("JOB_DONE", "once")
    assert [e.message for e in got] == ["once"]


def test_logging_sink_rejects_what_is_not_a_logger_or_handler() -> None:
    with pytest.raises(TypeError, match=r"logging\.Logger or logging\.Handler"):
        LoggingSink("app")  # type: ignore[arg-type]


# -- ZlogHandler never raises into the code that logs --------------------------------------------------------


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class NoStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        return "NoStr()"


def test_an_argument_whose_str_and_repr_raise_is_rendered_not_raised(logger: logging.Logger) -> None:
    got = wired(logger)
    logger.info("user %s logged in", Unprintable())
    logger.info("user %(user)s logged in", {"user": Unprintable()})
    assert [e.message for e in got] == [
        "user %s logged in (arguments: (<unrepresentable Unprintable>,))",
        "user %(user)s logged in (arguments: {'user': <unrepresentable Unprintable>})",
    ]


def test_a_message_object_whose_str_raises_is_written_as_its_repr(logger: logging.Logger) -> None:
    got = wired(logger)
    logger.warning(NoStr())
    logger.warning(Unprintable(), 1)
    assert [(e.signal, e.message) for e in got] == [
        ("WARN", "NoStr()"),
        ("WARN", "<unrepresentable Unprintable> (arguments: (1,))"),
    ]


def test_a_record_without_a_name_or_level_number_still_becomes_an_event(logger: logging.Logger) -> None:
    got = wired(logger)
    logger.handle(logging.makeLogRecord({"msg": "from a socket", "levelno": logging.ERROR, "job_id": "j1"}))
    logger.handlers[0].handle(logging.makeLogRecord({"msg": "no level"}))  # a Logger itself needs a levelno
    assert [(e.signal, e.message, e.fields["logger"]) for e in got] == [
        ("ERROR", "from a socket", "None"),  # makeLogRecord leaves the name None
        ("INFO", "no level", "None"),
    ]
    assert got[0].fields["job_id"] == "j1"


def test_extra_fields_named_error_or_logger_never_hide_the_records_own(logger: logging.Logger) -> None:
    got = wired(logger)
    try:
        raise ValueError("bad input")
    except ValueError:
        logger.exception("job failed", extra={"error": "E42", "logger": "billing"})
    fields = got[0].fields
    assert (fields["error"], fields["logger"], fields["zlog_logger"]) == ("E42", "billing", "tests.stdlib.app")
    assert isinstance(fields["zlog_error"], ValueError)


def test_a_sink_that_logs_every_event_does_not_loop(logger: logging.Logger) -> None:
    router = Router()
    got: list[Event] = []

    def chatty(event: Event) -> None:
        got.append(event)
        logger.info("sink saw %s", event.message)  # captured again by the same handler

    router.route_all(chatty)
    handler = ZlogHandler(router=router)
    logger.addHandler(handler)
    logger.info("job done")
    assert [e.message for e in got] == ["job done", "sink saw job done"]  # one level deep, then stopped
    assert handler.dropped_nested == 1


def test_a_mapped_signal_name_that_is_not_a_signal_name_is_refused_when_the_handler_is_made() -> None:
    with pytest.raises(ValueError, match="glob"):
        ZlogHandler(router=Router(), signals={"app": "APP_*"})


def test_a_failure_inside_the_handler_goes_to_handle_error_not_to_the_caller(
    logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    router = Router()

    def broken_emit(*args: object, **fields: object) -> None:
        raise RuntimeError("router broke")

    router.emit = broken_emit  # nothing real fails there any more: stand in for a bug
    logger.addHandler(ZlogHandler(router=router))
    logger.info("still fine for the caller")
    assert "--- Logging error ---" in capsys.readouterr().err  # what logging's own handlers do


def test_recursion_error_passes_through_like_in_loggings_own_handlers(logger: logging.Logger) -> None:
    router = Router()

    def exhausted(*args: object, **fields: object) -> None:
        raise RecursionError("out of stack")

    router.emit = exhausted
    logger.addHandler(ZlogHandler(router=router))
    with pytest.raises(RecursionError):
        logger.info("deep")


def test_logging_sink_fields_named_like_logrecord_methods_or_prefixed_names_are_kept() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(zlog_getMessage)s %(zlog_name)s %(zlog_zlog_name)s"))
    router = Router()
    router.route_all(LoggingSink(handler))
    router.emit("JOB_DONE", "done", getMessage="g", name="n", zlog_name="z")
    assert stream.getvalue() == "done g n z\n"


def test_logging_sink_flushes_every_handler_its_records_reach_within_the_timeout() -> None:
    flushed: list[str] = []

    class Counting(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            pass

        def flush(self) -> None:
            flushed.append(self.get_name())

    parent = logging.Logger("tests.stdlib.parent")
    child = logging.Logger("tests.stdlib.parent.child")
    child.parent = parent
    for log, name in ((parent, "parent's"), (child, "own")):
        handler = Counting()
        handler.set_name(name)
        log.addHandler(handler)
    sink = LoggingSink(child)
    assert sink.flush() is True and flushed == ["own", "parent's"]  # records propagate, so does the flush
    assert sink.flush(timeout=0) is False and flushed == ["own", "parent's"]  # no time left: nothing flushed
