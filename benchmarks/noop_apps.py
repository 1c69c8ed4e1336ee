"""The ceilings: servers that do no work, measured in the same run as the real ones.

- `noop-starlette`: a Starlette route answering a constant, run by gunicorn with a uvicorn worker per
  core: what Python's HTTP stack costs alone.
- `noop-bento` (noop_bento.py): a BentoML service with the project's request model, answering a
  constant: what BentoML's own request path costs before any model runs.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ANSWER = b'[{"prediction":"none"}]'


async def predict(request: Request) -> Response:
    await request.body()
    return Response(ANSWER, media_type="application/json")


async def ready(request: Request) -> Response:
    return Response(b"ok")


app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/readyz", ready)])
