"""The first check a request meets, before BentoML reads it: the size and the media type of its body.

Pure ASGI rather than Starlette's BaseHTTPMiddleware, so a streamed (chunked) body is counted chunk by
chunk and reading stops at the limit: an oversized body is never held in memory, let alone parsed.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# BentoML reads a body without a Content-Type as JSON; any other type would reach a parser this service
# does not mean to offer (a multipart body without a boundary is a 500 inside BentoML 1.4).
JSON = "application/json"


class RequestGuard:
    """Answer 413 to a body over `max_body_bytes` and 415 to a body that is not JSON; pass the rest on."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])  # ASGI gives the names in lower case
        declared = headers.get(b"content-length", b"")
        if declared in (b"", b"0") and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body: nothing to check or to hold
            return
        media_type = headers.get(b"content-type", JSON.encode()).split(b";")[0].strip().lower()
        if media_type != JSON.encode():
            await refuse(send, 415, f"send the body as {JSON}, not {media_type.decode('latin-1')!r}")
            return
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self.too_large(send)  # refused on the header: the body is never read
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                # The client left mid-body. Answer all the same (the server drops it): BentoML's timeout
                # middleware waits for a response, and would hold the request for the whole traffic timeout.
                await refuse(send, 400, "the client left before its body was complete")
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self.too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, replay(b"".join(chunks), receive), send)

    async def too_large(self, send: Send) -> None:
        await refuse(send, 413, f"the request body is over the limit of {self.max_body_bytes} bytes")


def replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, as one message; then whatever the client sends next (only a disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive_again() -> Message:
        return pending.pop() if pending else await receive()

    return receive_again


async def refuse(send: Send, status: int, error: str) -> None:
    """The error body BentoML itself uses, so a client reads every refusal the same way."""
    body = json.dumps({"error": error}).encode()
    headers = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
