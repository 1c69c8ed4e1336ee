"""What /docs.json says: BentoML's OpenAPI document, corrected to what the service answers.

BentoML 1.4 declares a request body optional, though a request without one is a 400; it declares a
400's `detail` as a string, yet answers with pydantic's list of errors; and it cannot know the guard's
413 and 415, nor the /metadata route. It says OpenAPI 3.0 but writes pydantic's 3.1-style `examples`
lists, which Swagger UI ignores, pre-filling each field with its maximum: here each field carries a
3.0 `example` and the request body the contract's example record. The page (docs_page.py) shows it with
the served model's version and sha256. The robustness stage fuzzes the served Bento against this
document (schemathesis), so every correction here is checked there.
"""

from __future__ import annotations

from typing import Any

from ..contract.dataset import DATASET
from ..contract.identity import Lineage
from ..contract.schema import EXAMPLE_FEATURES, FEATURE_NAMES, TARGET

VALIDATION_ERRORS = {
    "title": "Error Detail",
    "description": "One entry for each problem with the request; `loc` is the path to the field",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["type", "loc", "msg"],
        "properties": {
            "type": {"type": "string"},
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
        },
    },
}
REFUSED = {
    "title": "RequestRefused",
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "title": "Message"}},
}
GUARD_RESPONSES = {
    "413": "The request body is over the size limit (serving/limits.py)",
    "415": "The request body is not JSON",
}
METADATA = {
    "get": {
        "tags": ["Service APIs"],
        "description": "The identity record of the model being served: version, sha256, commit, data, metrics",
        "responses": {
            "200": {
                "description": "Successful Response",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Lineage"}}},
            }
        },
    }
}


def _examples_as_3_0(node: Any) -> None:
    """In schema objects, a 3.1 `examples: [v]` becomes the 3.0 `example: v` that Swagger UI shows."""
    if isinstance(node, dict):
        if isinstance(node.get("examples"), list) and node["examples"]:
            node["example"] = node.pop("examples")[0]
        for value in node.values():
            _examples_as_3_0(value)
    elif isinstance(node, list):
        for value in node:
            _examples_as_3_0(value)


def description(lineage: Lineage) -> str:
    """The page's text for callers: the model served, what to send, what comes back."""
    lines = [
        f"Predicts **{TARGET}** ({DATASET.columns[TARGET].description}) for each record of a batch.",
        "",
        f"Served model: `{lineage.model_name}` version `{lineage.version}`, artifact sha256",
        f"`{lineage.artifact.sha256}`, trained at commit `{lineage.git_commit}`.",
        "",
        '`POST /predict` takes `{"records": [...]}`; every field below is required (send `null` for',
        '"unknown" where a field allows it). A value outside the contract gets a 400 naming the field.',
        "`GET /metadata` names the served model: its artifact digest, commit, data version and metrics.",
        "",
        "| field | accepts |",
        "|---|---|",
    ]
    for name in FEATURE_NAMES:
        spec = DATASET.columns[name]
        if spec.type == "category":
            accepts = "one of " + ", ".join(f"`{v}`" for v in spec.values or ())
        else:
            accepts = f"a number from {spec.range[0]:g} to {spec.range[1]:g}" if spec.range else "a number"
        lines.append(f"| `{name}` | {accepts}{', or null' if spec.nullable else ''}: {spec.description} |")
    return "\n".join(lines)


def corrected(document: dict[str, Any], lineage: Lineage) -> dict[str, Any]:
    """Correct, in place, the document BentoML generates for the service (`Service.openapi_spec.asdict()`).

    `lineage` is the served model's record: the page names the model a caller gets answers from.
    """
    schemas = document["components"]["schemas"]
    _examples_as_3_0(schemas)
    document["info"]["version"] = lineage.version  # Swagger UI shows it beside the title
    document["info"]["description"] = description(lineage)
    schemas["InvalidArgument"]["properties"]["detail"] = VALIDATION_ERRORS
    schemas["RequestRefused"] = REFUSED
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/RequestRefused"}}}
    for item in document["paths"].values():
        for operation in item.values():
            if "requestBody" in operation:  # only a request with a body meets the guard
                operation["requestBody"]["required"] = True
                operation["requestBody"]["content"]["application/json"]["example"] = {"records": [EXAMPLE_FEATURES]}
                guarded = {code: {"description": text, "content": content} for code, text in GUARD_RESPONSES.items()}
                operation["responses"].update(guarded)
    identity = Lineage.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(identity.pop("$defs", {}))
    schemas["Lineage"] = identity
    document["paths"]["/metadata"] = METADATA
    return document
