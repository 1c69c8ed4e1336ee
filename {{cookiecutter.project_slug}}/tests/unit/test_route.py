"""serving/route.py: what it answers, and what it passes on to BentoML (acceptance tests its answers over HTTP)."""

from __future__ import annotations

import asyncio
from typing import Any

from {{ cookiecutter.package_name }}.serving.route import Answer

Message = dict[str, Any]


def call(method: str, path: str, messages: list[Message]) -> tuple[list[Message], list[tuple[bytes, str]]]:
    """Run one request through Answer, in front of an app that records that it was reached."""
    sent: list[Message] = []
    handled: list[tuple[bytes, str]] = []

    async def handler(body: bytes, request_id: str) -> tuple[int, bytes]:
        handled.append((body, request_id))
        return 200, b"[]"

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 404, "headers": []})

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": [(b"x-request-id", b"r-1")]}
    asyncio.run(Answer(app, path="/predict", handler=handler)(scope, receive, send))
    return sent, handled


def test_a_post_to_the_path_is_answered_by_the_handler_with_the_whole_body_and_the_request_id() -> None:
    body = [{"type": "http.request", "body": b'{"re', "more_body": True}, {"type": "http.request", "body": b'cords"}'}]
    sent, handled = call("POST", "/predict", body)
    assert handled == [(b'{"records"}', "r-1")]
    assert sent[0]["status"] == 200 and (b"content-type", b"application/json") in sent[0]["headers"]
    assert sent[1]["body"] == b"[]"


def test_other_methods_and_paths_go_on_to_bentoml() -> None:
    for method, path in (("GET", "/predict"), ("POST", "/metadata")):
        sent, handled = call(method, path, [{"type": "http.request", "body": b""}])
        assert handled == [] and sent[0]["status"] == 404


def test_a_client_that_leaves_mid_body_gets_nothing_and_the_model_is_not_called() -> None:
    sent, handled = call("POST", "/predict", [{"type": "http.disconnect"}])
    assert sent == [] and handled == []
