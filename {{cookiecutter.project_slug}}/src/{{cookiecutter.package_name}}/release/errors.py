"""The one error the release commands report as a line, not a traceback: the message says what to do."""

from __future__ import annotations


class ReleaseError(Exception):
    """A promotion, rollback, gate, deploy or pin that cannot go ahead; the message says why."""
