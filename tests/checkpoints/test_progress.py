"""The progress reporter: stages, byte bars on a TTY and in logs, notes, and quiet mode."""

from __future__ import annotations

import io

import pytest

from hubzoo.progress import Progress
from hubzoo.units import format_bytes


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_in_a_log_prints_start_quarters_and_summary() -> None:
    log = io.StringIO()

    with Progress(stream=log).bar(4096, "download x") as bar:
        for _ in range(64):
            bar.update(64)

    lines = log.getvalue().splitlines()
    assert lines[:4] == [
        "download x: started (4.0 KB)",
        "download x:  25% 1.0 KB of 4.0 KB",
        "download x:  50% 2.0 KB of 4.0 KB",
        "download x:  75% 3.0 KB of 4.0 KB",
    ]
    assert lines[4].startswith("download x: 4.0 KB in ")
    assert len(lines) == 5
    assert "\r" not in log.getvalue()


def test_a_bar_of_unknown_size_in_a_log_prints_start_and_summary() -> None:
    log = io.StringIO()

    bar = Progress(stream=log).bar(None, "download y")
    bar.update(5000)
    bar.close()
    bar.close()

    lines = log.getvalue().splitlines()
    assert lines[0] == "download y: started"
    assert lines[1].startswith("download y: 4.9 KB in ")
    assert len(lines) == 2


def test_a_bar_on_a_terminal_redraws_in_place_and_is_throttled() -> None:
    terminal = FakeTerminal()

    with Progress(stream=terminal).bar(1000, "download z") as bar:
        for _ in range(1000):
            bar.update(1)

    output = terminal.getvalue()
    redraws = output.split("\r")[1:]
    assert redraws[0].startswith("download z [.......")
    assert 1 <= len(redraws) < 50
    assert redraws[-1].startswith("download z: 1000 B in ")
    assert output.endswith("\n") and output.count("\n") == 1


def test_a_stage_reports_its_time_and_its_failure() -> None:
    log = io.StringIO()
    progress = Progress(stream=log)

    with progress.stage("export"):
        pass
    with pytest.raises(ValueError, match="boom"), progress.stage("package"):
        raise ValueError("boom")
    progress.note("sha256 unknown")

    lines = log.getvalue().splitlines()
    assert lines[0] == "export ..."
    assert lines[1].startswith("export: done in ") and lines[1].endswith("s")
    assert lines[2] == "package ..."
    assert lines[3].startswith("package: failed after ")
    assert lines[4] == "note: sha256 unknown"


def test_output_goes_to_stderr_unless_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    Progress().note("shown")
    quiet = Progress(quiet=True)
    with quiet.stage("hidden"), quiet.bar(10, "hidden") as bar:
        bar.update(10)
    quiet.note("hidden")

    captured = capsys.readouterr()
    assert captured.err == "note: shown\n"
    assert captured.out == ""


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KB"),
        (27 * 1024**2, "27.0 MB"),
        (3 * 1024**4, "3072.0 GB"),
    ],
)
def test_format_bytes(count: int, text: str) -> None:
    assert format_bytes(count) == text
