"""The BentoML service: POST /predict, GET /metadata, its page at /, and BentoML's /livez, /readyz and /metrics.

The request and response contract comes from contract/messages.py, so a request it rejects gets a 400 naming
the field before the model sees it. POST /predict is answered by predict_body (through route.py): the body
is parsed and validated in one pass (pydantic's JSON mode) and the answer written in one, skipping the
per-request work of BentoML's own handler (the Lastmile template's docs/benchmarks.md measures both).
The artifact is checked against its lineage record before any worker starts; a mismatch stops the
server with one line.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from functools import cache, partial
from pathlib import Path
from typing import Annotated, Any

import bentoml
import threadpoolctl
from bentoml.validators import ContentType
from pydantic import TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..contract.artifact import ArtifactError, load_verified
from ..contract.fastpath import load_served
from ..contract.messages import MAX_BATCH_ROWS, Prediction, PredictRequest, Records
from ..contract.names import MODEL_NAME, SERVICE_NAME
from ..contract.predict import predictions
from . import docs_page, log_config, openapi
from .batching import Batcher
from .guard import JSON, RequestGuard
from .limits import MAX_BODY_BYTES, REQUEST_TIMEOUT_S
from .middleware import Watch
from .observer import Observer
from .route import Answer
from .store import MODEL_TAG_VARIABLE, SHADOW_MODEL_NAME, SHADOW_TAG_VARIABLE

# A class attribute of the service, so `bentoml build` packs this model into the Bento: the exact
# version the build names (bento.py sets BENTO_MODEL_TAG), or the latest one in development.
BENTO_MODEL = bentoml.models.BentoModel(os.environ.get(MODEL_TAG_VARIABLE) or f"{MODEL_NAME}:latest")
# The shadow challenger, packed only when the build names one (bento.py, from a pin's `shadow`).
SHADOW_TAG = os.environ.get(SHADOW_TAG_VARIABLE)


def packed(name: str) -> Path | None:
    """The folder of the model of that name this service packs: the exact one its Bento records (None: none).

    Several versions share a local BentoML store, so a built Bento must not ask for "latest".
    """
    bento = getattr(PredictionService, "bento", None)  # set by BentoML when it serves a built Bento
    if bento is not None:
        tags = [m.tag for s in bento.info.services for m in s.models]
    else:
        tags = [m.tag for m in PredictionService.models]  # type: ignore[attr-defined]  # a bentoml.Service
    tag = next((t for t in tags if t.name == name), None)
    return Path(bentoml.models.get(tag).path) if tag is not None else None


def packed_model() -> Path:
    folder = packed(MODEL_NAME)
    if folder is None:
        raise ArtifactError(f"the Bento packs no model named {MODEL_NAME}")
    return folder


async def metadata(request: Request) -> JSONResponse:
    return JSONResponse(bentoml.get_current_service().lineage.model_dump(mode="json", exclude_none=True))


@cache
def openapi_body() -> bytes:
    """BentoML's document for this service, corrected: built once per worker, on its first request."""
    document = PredictionService.openapi_spec.asdict()  # type: ignore[attr-defined]  # a bentoml.Service
    lineage = bentoml.get_current_service().lineage
    return bytes(JSONResponse(openapi.corrected(document, lineage)).body)


async def openapi_document(request: Request) -> Response:
    """Replaces BentoML's /docs.json (a mounted route matches first)."""
    return Response(openapi_body(), media_type=JSON)


ANSWERS: TypeAdapter[list[Any]] = TypeAdapter(list[Prediction])
MAX_PROBLEMS = 10  # a refusal names this many problems, then counts the rest


def refusal(error: ValidationError) -> str:
    """One line naming each field that is wrong: `records.0.island: Input should be 'Biscoe', ...`."""
    problems = error.errors(include_url=False, include_input=False)
    named = [f"{'.'.join(map(str, e['loc'])) or '(body)'}: {e['msg']}" for e in problems[:MAX_PROBLEMS]]
    more = f"; and {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
    return "; ".join(named) + more


async def predict_body(body: bytes, request_id: str) -> tuple[int, bytes]:
    """POST /predict: the status and the answer to a body the guard has let through."""
    try:
        records = PredictRequest.model_validate_json(body).records  # type: ignore[attr-defined]
    except ValidationError as error:
        return 400, json.dumps({"error": refusal(error)}).encode()
    answers = await bentoml.get_current_service().answer(records, request_id)
    return 200, ANSWERS.dump_json(answers)


ROUTES = [
    Route("/metadata", metadata, methods=["GET"]),
    Route("/docs.json", openapi_document, methods=["GET"]),
    Route("/", docs_page.page, methods=["GET"]),  # BentoML's own page loads a third-party script
]


@bentoml.asgi_app(Starlette(routes=ROUTES), path="/")
# One worker per core, each with the model loaded once; a worker runs one predict call at a time
# (batching.py), so a core never splits its time between two predictions.
@bentoml.service(name=SERVICE_NAME, workers="cpu_count", traffic={"timeout": REQUEST_TIMEOUT_S})
class PredictionService:
    bento_model = BENTO_MODEL
    if SHADOW_TAG:
        shadow_model = bentoml.models.BentoModel(SHADOW_TAG)

    @bentoml.on_deployment
    def verify_artifact() -> None:
        """Runs once, before any worker: fail closed, with one line, if the artifact is not the recorded one.

        Loading it too, not only checking its digest: an artifact that matches its record but cannot be
        unpickled would otherwise fail in every worker's __init__, which BentoML restarts forever.
        """
        try:
            *_, which = load_served(packed_model())  # the fast path too: checked against the pipeline
        except ArtifactError as error:
            raise SystemExit(f"refusing to start: {error}") from None
        print(which, flush=True)
        shadow = packed(SHADOW_MODEL_NAME)
        try:
            if shadow is not None:
                load_verified(shadow)  # the challenger fails closed like the model it shadows
        except ArtifactError as error:
            raise SystemExit(f"refusing to start: shadow: {error}") from None
        try:
            log_config.from_environment()
        except ValueError as error:
            raise SystemExit(f"refusing to start: request log: {error}") from None

    def __init__(self) -> None:
        # What answers: the fast predictor (checked against the pipeline again here), or the pipeline.
        self.pipeline, self.model, self.lineage, _ = load_served(packed_model())
        # One predict thread per worker, and a worker per core: scikit-learn's OpenMP threads would only
        # contend with the other workers (and spin while they wait: a core's worth of CPU at one client).
        self.batcher = Batcher(
            partial(predictions, self.model), MAX_BATCH_ROWS, initializer=partial(threadpoolctl.threadpool_limits, 1)
        )
        # Metrics, the request log and the shadow challenger, which scores in the log's thread (observer.py).
        self.observe = Observer(self.lineage, shadow=packed(SHADOW_MODEL_NAME))

    @bentoml.on_shutdown
    async def close_request_log(self) -> None:
        """A stopping worker (a rollout, a scale-down) writes what its request log holds and ships its last file."""
        await asyncio.to_thread(self.observe.close)

    async def answer(self, records: list[Any], request_id: str | None = None) -> list[Any]:
        """The model's answers to validated records; concurrent requests share one predict call (batching.py)."""
        started = time.perf_counter()
        rows = [record.model_dump() for record in records]
        answers = await self.batcher(rows)
        self.observe(rows, answers, started, request_id)  # monitoring: count it, enqueue it for the request log
        return answers

    # The declaration of /predict: BentoML derives the OpenAPI document and its clients from it. Requests
    # over HTTP are answered by predict_body, the same records the same way, before they reach this.
    # The media type is declared: left to BentoML 1.4.39, it is derived from the response model's JSON
    # schema on every response.
    @bentoml.api
    async def predict(self, records: Records) -> Annotated[list[Prediction], ContentType(JSON)]:
        return await self.answer(records)


# Before BentoML reads a body: an oversized one gets a 413, a non-JSON one a 415 (see guard.py).
PredictionService.add_asgi_middleware(RequestGuard, max_body_bytes=MAX_BODY_BYTES)  # type: ignore[attr-defined]
# A request id for each /predict, and each 400 counted by field and reason (middleware.py).
PredictionService.add_asgi_middleware(Watch)  # type: ignore[attr-defined]
# Then POST /predict is answered (route.py), after the guard and Watch, before BentoML's handler.
PredictionService.add_asgi_middleware(Answer, path="/predict", handler=predict_body)  # type: ignore[attr-defined]
