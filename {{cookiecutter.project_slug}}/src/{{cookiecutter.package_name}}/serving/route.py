"""Answer one path inside BentoML's middleware stack, without BentoML's request handler.

A mounted ASGI app cannot take /predict from BentoML 1.4: mounts are matched after the service's own
API routes. A middleware added last runs after BentoML's timeout, metrics, tracing and access log and
after the service's own (the guard, monitoring's Watch), so the body reaching `handler` is checked and
the request carries its id; the handler turns the body into the status and the answer, in one pass each
way. Every other request goes on to BentoML unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from .guard import JSON
from .middleware import REQUEST_ID  # the header Watch sets on every /predict

Handler = Callable[[bytes, str], Awaitable[tuple[int, bytes]]]


class Answer:
    def __init__(self, app: ASGIApp, path: str, handler: Handler) -> None:
        self.app = app
        self.path = path
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nobody to answer
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        request_id = next((v for k, v in scope["headers"] if k == REQUEST_ID), b"").decode("latin-1")
        status, body = await self.handler(b"".join(chunks), request_id)
        headers = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
