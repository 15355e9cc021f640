"""A small progress reporter for the project's long stages (downloads, exports, publishing).

Everything goes to stderr (or the stream given), so stdout stays free for results::

    progress = Progress()
    with progress.stage("export inception_v1"):
        ...                              # "export inception_v1 ..." then "... done in 2.1s"
    with progress.bar(total_bytes, "download x.tar.gz") as bar:
        bar.update(len(chunk))           # redrawn in place on a TTY, a few log lines otherwise
    progress.note("sha256 unknown, not verified")

`Progress(quiet=True)` prints nothing; tests use it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from hubzoo.units import format_bytes

TTY_REDRAW_INTERVAL_S = 0.1
LOG_INTERVAL_UNKNOWN_TOTAL_S = 10.0
LOG_FRACTIONS = (0.25, 0.5, 0.75)
BAR_WIDTH = 30
CLEAR_TO_END = "\x1b[K"


class ProgressBar:
    """Byte progress of one transfer; call `update(n)` per chunk and `close()` at the end."""

    def __init__(self, stream: TextIO | None, total: int | None, label: str) -> None:
        self._stream = stream
        self._tty = bool(stream is not None and stream.isatty())
        self._total = total if total and total > 0 else None
        self._label = label
        self._done = 0
        self._started = time.monotonic()
        self._last_draw = float("-inf")
        self._next_fraction = 0
        self._closed = False
        if stream is not None and not self._tty:
            size = f" ({format_bytes(self._total)})" if self._total else ""
            self._write(f"{label}: started{size}\n")

    @property
    def done(self) -> int:
        """Bytes counted so far."""
        return self._done

    def update(self, count: int) -> None:
        """Count `count` more bytes."""
        self._done += count
        if self._stream is None:
            return
        now = time.monotonic()
        if self._tty:
            if now - self._last_draw >= TTY_REDRAW_INTERVAL_S:
                self._last_draw = now
                self._write(f"\r{self._tty_line(now)}{CLEAR_TO_END}")
        elif self._total:
            while (
                self._next_fraction < len(LOG_FRACTIONS)
                and self._done >= LOG_FRACTIONS[self._next_fraction] * self._total
            ):
                self._write(f"{self._label}: {self._counts()}\n")
                self._next_fraction += 1
        elif now - self._last_draw >= LOG_INTERVAL_UNKNOWN_TOTAL_S:
            if self._last_draw != float("-inf"):
                self._write(f"{self._label}: {self._counts()}\n")
            self._last_draw = now

    def close(self) -> None:
        """Finish the bar: the final count, elapsed time and rate on one line."""
        if self._closed:
            return
        self._closed = True
        if self._stream is None:
            return
        elapsed = time.monotonic() - self._started
        rate = format_bytes(self._done / elapsed) if elapsed > 0 else "-"
        summary = f"{self._label}: {format_bytes(self._done)} in {elapsed:.1f}s ({rate}/s)"
        self._write(f"\r{summary}{CLEAR_TO_END}\n" if self._tty else f"{summary}\n")

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _counts(self) -> str:
        if self._total:
            percent = 100 * self._done / self._total
            return f"{percent:3.0f}% {format_bytes(self._done)} of {format_bytes(self._total)}"
        return format_bytes(self._done)

    def _tty_line(self, now: float) -> str:
        if self._total:
            filled = min(BAR_WIDTH, BAR_WIDTH * self._done // self._total)
            bar = "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "] "
        else:
            bar = ""
        elapsed = now - self._started
        rate = f" {format_bytes(self._done / elapsed)}/s" if elapsed > 0 else ""
        return f"{self._label} {bar}{self._counts()}{rate}"

    def _write(self, text: str) -> None:
        assert self._stream is not None
        self._stream.write(text)
        self._stream.flush()


class Progress:
    """Reports stages, byte transfers and warnings on stderr (or `stream`); silent when `quiet`."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self._quiet = quiet
        self._stream = stream

    def _out(self) -> TextIO | None:
        if self._quiet:
            return None
        return self._stream if self._stream is not None else sys.stderr

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Announce stage `name`; when it ends, say whether it finished or failed, and how long."""
        out = self._out()
        if out is not None:
            out.write(f"{name} ...\n")
            out.flush()
        started = time.monotonic()
        outcome = "failed after"
        try:
            yield
            outcome = "done in"
        finally:
            if out is not None:
                out.write(f"{name}: {outcome} {time.monotonic() - started:.1f}s\n")
                out.flush()

    def bar(self, total_bytes: int | None, label: str) -> ProgressBar:
        """A byte progress bar; `total_bytes` None or 0 when the size is unknown."""
        return ProgressBar(self._out(), total_bytes, label)

    def note(self, message: str) -> None:
        """A warning or remark the user should see, on a line of its own."""
        out = self._out()
        if out is not None:
            out.write(f"note: {message}\n")
            out.flush()
