"""Each /predict request gets an id, echoed in its answer; each 400 is counted by the field and the reason it names.

The id is the client's X-Request-Id when it sends one (labels arriving later join the request log on
it), else a new one, set on the request before BentoML reads it. The body is kept as it streams by
(references, no copy); only when the answer is a 400 is it validated again, with the service's own
request model, for the structured reasons BentoML's message flattens.
"""

from __future__ import annotations

import json
import logging
import uuid

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..contract.messages import PredictRequest
from .metrics import worker_metrics

logger = logging.getLogger("bentoml.monitoring")
REQUEST_ID = b"x-request-id"
MAX_ID_BYTES = 128  # a longer one is replaced: the log is no place for a client's megabyte


def problems(body: bytes) -> list[tuple[str, str]]:
    """(field, reason) for each thing wrong with a predict body: a feature's name, or `records` or `(body)`."""
    try:
        document = json.loads(body)
    except ValueError:  # not JSON, or bytes in no encoding JSON allows (a UnicodeDecodeError)
        return [("(body)", "json_invalid")]
    try:
        PredictRequest.model_validate(document)
    except ValidationError as error:
        # ("records", 3, "island", "literal['Biscoe']") -> the feature; ("records",) -> the list itself
        return [(str(e["loc"][2]) if len(e["loc"]) > 2 else str(e["loc"][-1] if e["loc"] else "(body)"), e["type"])
                for e in error.errors()]  # fmt: skip
    return []


def count(body: bytes) -> None:
    """Count a refused body; whatever goes wrong here, the answer must still go out."""
    try:
        worker_metrics().refused(problems(body))
    except Exception:
        logger.exception("counting a refused request failed; the request was answered")


class Watch:
    def __init__(self, app: ASGIApp, path: str = "/predict") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        sent = next((v for k, v in scope["headers"] if k == REQUEST_ID), b"")
        request_id = sent if 0 < len(sent) <= MAX_ID_BYTES else uuid.uuid4().hex.encode()
        if request_id != sent:
            scope = {
                **scope,
                "headers": [*(h for h in scope["headers"] if h[0] != REQUEST_ID), (REQUEST_ID, request_id)],
            }
        chunks: list[bytes] = []

        async def kept() -> Message:
            message = await receive()
            chunks.append(message.get("body", b""))
            return message

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (REQUEST_ID, request_id)]}
                if message["status"] == 400:
                    count(b"".join(chunks))
            await send(message)

        await self.app(scope, kept, watched)
