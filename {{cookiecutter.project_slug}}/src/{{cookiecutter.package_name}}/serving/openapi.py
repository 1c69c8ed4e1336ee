"""What /docs.json says: BentoML's OpenAPI document, corrected to what the service answers.

BentoML 1.4 declares a request body optional, though a request without one is a 400; it declares a
400's `detail` as a string, yet answers with pydantic's list of errors; and it cannot know the guard's
413 and 415, nor the /metadata route. The robustness stage fuzzes the served Bento against this
document (schemathesis), so every correction here is checked there.
"""

from __future__ import annotations

from typing import Any

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
        "description": "The lineage record of the model being served: commit, data, params, metrics, sha256",
        "responses": {
            "200": {
                "description": "Successful Response",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    }
}


def corrected(document: dict[str, Any]) -> dict[str, Any]:
    """Correct, in place, the document BentoML generates for the service (`Service.openapi_spec.asdict()`)."""
    schemas = document["components"]["schemas"]
    schemas["InvalidArgument"]["properties"]["detail"] = VALIDATION_ERRORS
    schemas["RequestRefused"] = REFUSED
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/RequestRefused"}}}
    for item in document["paths"].values():
        for operation in item.values():
            if "requestBody" in operation:  # only a request with a body meets the guard
                operation["requestBody"]["required"] = True
                guarded = {code: {"description": text, "content": content} for code, text in GUARD_RESPONSES.items()}
                operation["responses"].update(guarded)
    document["paths"]["/metadata"] = METADATA
    return document
