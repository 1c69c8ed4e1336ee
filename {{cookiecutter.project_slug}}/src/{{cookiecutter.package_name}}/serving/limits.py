"""How much one request may ask of the service, and how long it may take."""

from __future__ import annotations

from ..contract.messages import MAX_BATCH_ROWS

# A request still unanswered after this gets a 503.
REQUEST_TIMEOUT_S = 30
# The largest request body, refused with a 413 before it is read into memory or parsed. A record of the
# contract is about 150 bytes of JSON; 1 KiB a record leaves room for long floats, indentation and
# fields the service ignores, so a full batch always fits, and a body no batch needs is never read.
MAX_RECORD_BYTES = 1024
MAX_BODY_BYTES = MAX_BATCH_ROWS * MAX_RECORD_BYTES
