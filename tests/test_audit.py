"""zlog.audit.verify and ``zlog audit verify``: tampering is found, with the first bad record."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from zlog import AuditSink, Router
from zlog.audit import verify
from zlog.cli import main


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "audit.log"
    sink = AuditSink(path)
    router = Router()
    router.route_all(sink)
    for i in range(6):
        router.emit("PAYMENT_PROCESSED", "Payment processed", payment_id=f"p{i}", amount_cents=1000 + i)
    sink.close()
    return path


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_an_untouched_log_is_intact(log: Path) -> None:
    result = verify(log)
    assert result.ok and result.records == 6 and result.torn_tail_bytes == 0


def test_editing_a_field_is_caught_at_that_record(log: Path) -> None:
    data = log.read_bytes().replace(b'"amount_cents":1003', b'"amount_cents":9003')
    log.write_bytes(data)
    result = verify(log)
    assert not result.ok and result.bad_seq == 3 and "hash" in result.reason


def test_editing_the_last_record_is_caught(log: Path) -> None:
    log.write_bytes(log.read_bytes().replace(b'"amount_cents":1005', b'"amount_cents":1'))
    assert verify(log).bad_seq == 5


def test_deleting_a_line_is_caught(log: Path) -> None:
    kept = lines(log)
    del kept[2]
    log.write_bytes(b"".join(kept))
    result = verify(log)
    assert not result.ok and result.bad_seq == 2 and "deleted" in result.reason


def test_swapping_two_lines_is_caught(log: Path) -> None:
    kept = lines(log)
    kept[1], kept[2] = kept[2], kept[1]
    log.write_bytes(b"".join(kept))
    result = verify(log)
    assert not result.ok and result.bad_seq == 1


def test_inserting_a_forged_record_is_caught(log: Path) -> None:
    kept = lines(log)
    forged = json.loads(kept[2])
    forged["fields"]["amount_cents"] = 1
    kept.insert(3, json.dumps(forged, separators=(",", ":")).encode() + b"\n")
    log.write_bytes(b"".join(kept))
    assert verify(log).bad_seq == 3


def test_deleting_the_first_lines_is_caught(log: Path) -> None:
    log.write_bytes(b"".join(lines(log)[2:]))
    result = verify(log)
    assert not result.ok and result.bad_seq == 0


def test_cli_exit_codes_and_messages(log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", str(log)]) == 0
    assert "intact, 6 records" in capsys.readouterr().out
    kept = lines(log)
    del kept[4]
    log.write_bytes(b"".join(kept))
    assert main(["audit", "verify", str(log)]) == 1
    out = capsys.readouterr().out
    assert "TAMPERED at seq 4" in out
    assert main(["audit", "verify", str(tmp_path / "missing.log")]) == 2
    assert "no audit log" in capsys.readouterr().err
    assert main(["audit", "verify", str(log), "--key-env", "ZLOG_TEST_UNSET_VAR"]) == 2


def test_cli_verifies_an_hmac_chain_with_a_key_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    sink = AuditSink(path, key=b"k3y")
    router = Router()
    router.route_all(sink)
    router.emit("A", "x")
    sink.close()
    key = tmp_path / "key"
    key.write_bytes(b"k3y\n")
    assert main(["audit", "verify", "--key-file", str(key), str(path)]) == 0
    assert main(["audit", "verify", str(path)]) == 1


def test_console_script_usage_errors_exit_2_without_traceback() -> None:
    done = subprocess.run([sys.executable, "-m", "zlog.cli", "audit", "verify"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "usage:" in done.stderr
