"""The exit statuses of the scoring commands: a cron job or a workflow tells the outcomes apart by these."""

from __future__ import annotations

import sys
from pathlib import Path

SCORED = 0  # every row scored
REJECTED = 3  # the valid rows scored; the others are in the rejected-rows file with their reasons
UNUSABLE = 4  # the input cannot be scored at all (unreadable, a contract column missing): nothing written
REFUSED = 5  # the model artifact failed its check: nothing read, nothing written
NO_SPARK = 6  # Spark cannot start here: no Java runtime, or PySpark not installed


def outcome(command: str, *, total: int, refused: int, version: str, output: Path, rejected: Path) -> int:
    """Say what a finished run scored, and the status that tells a scheduler whether rows were refused."""
    print(f"{command}: {total - refused} of {total} rows scored by model {version} -> {output}")
    if refused:
        print(f"{command}: {refused} rows rejected -> {rejected}", file=sys.stderr)
        return REJECTED
    return SCORED
