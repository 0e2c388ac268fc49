"""README's first command: the demo node sets itself up, answers, and is reusable."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.cli import main


def test_demo_once_sets_up_checks_and_reuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "demo"
    assert main(["demo", "--data-dir", str(data_dir), "--once"]) == 0
    first = capsys.readouterr().out
    assert "3 sample events added" in first
    assert "demo node ok: 33rd Ward Working Families" in first
    assert "calendar feed 200 with 2 events" in first  # the private-to-allies meeting is not public
    assert main(["demo", "--data-dir", str(data_dir), "--once"]) == 0
    second = capsys.readouterr().out
    assert "sample events already there" in second
    assert (data_dir / "demo-login.txt").read_text().startswith("admin@ward33.example\n")
