"""Progress of a scoring run on stderr: one redrawn bar on a terminal, plain lines in a log (cron, CI)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int | None, stream: TextIO = sys.stderr) -> None:
        self.total, self.stream, self.start = total, stream, time.monotonic()
        self.tty = stream.isatty()

    def update(self, read: int, rejected: int) -> None:
        rate = read / max(time.monotonic() - self.start, 1e-9)
        if self.total:
            done = read / self.total
            bar = "#" * int(done * 30)
            line = f"score: [{bar:<30}] {read}/{self.total} rows {done:4.0%}, {rejected} rejected, {rate:,.0f} rows/s"
        else:
            line = f"score: {read} rows, {rejected} rejected, {rate:,.0f} rows/s"
        if self.tty:
            self.stream.write("\r" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
