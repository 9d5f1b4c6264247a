"""Every Python block in README.md and docs/*.md runs, so the docs cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zlog.testing import isolated

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


def test_the_docs_have_python_examples() -> None:
    assert sum(len(python_blocks(p)) for p in DOCS) >= 8


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_block_in_the_file_runs(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    with isolated():
        for number, block in enumerate(python_blocks(path), 1):
            try:
                exec(compile(block, f"{path.name} block {number}", "exec"), namespace)
            except Exception as exc:
                pytest.fail(f"{path.name}, python block {number} failed: {exc!r}\n{block}")
