"""The served Bento keeps the contract: same answers as offline, its lineage, 4xx for bad requests."""

from __future__ import annotations

import json
import re
from typing import Any

import joblib
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract.messages import MAX_BATCH_ROWS
from {{ cookiecutter.package_name }}.contract.schema import CLASSIFICATION, EXAMPLE_FEATURES, FEATURE_NAMES, FEATURES, to_records
from tests.conftest import ROOT, call, need


def post(url: str, payload: Any) -> tuple[int, Any]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return call("POST", f"{url}/predict", body)


def test_predict_returns_the_offline_predictions_for_the_golden_set(url: str) -> None:
    golden = pd.read_csv(need(ROOT / "data/prepared/test.csv", "make repro"))[list(FEATURE_NAMES)]
    model = joblib.load(ROOT / "models/model.joblib")
    status, served = post(url, {"records": to_records(golden)})
    assert status == 200, served
    expected = model.predict(FEATURES.validate(golden))
    assert [p["prediction"] for p in served] == expected.tolist()
    if CLASSIFICATION:
        probabilities = model.predict_proba(FEATURES.validate(golden))
        assert [list(p["probabilities"].values()) for p in served] == probabilities.tolist()
        assert all(list(p["probabilities"]) == [str(c) for c in model.classes_] for p in served)


def test_metadata_is_the_lineage_of_the_served_model(url: str) -> None:
    status, served = call("GET", f"{url}/metadata")
    assert status == 200
    assert served == json.loads((ROOT / "models/lineage.json").read_text())
    # What decides a label is in it: a binary model's threshold, as the fitted model carries it.
    threshold = getattr(joblib.load(ROOT / "models/model.joblib"), "threshold", None)
    assert served.get("decision_threshold") == threshold, served


def test_the_health_endpoints_answer(url: str) -> None:
    for path in ("/livez", "/readyz"):
        status, _ = call("GET", f"{url}{path}")
        assert status == 200, path


# The bad requests any contract allows: a wrong number where there is a numeric feature, an unknown
# category where there is a categorical one.
first_numeric = next((n for n in FEATURE_NAMES if isinstance(EXAMPLE_FEATURES[n], float)), None)
first_categorical = next((n for n in FEATURE_NAMES if isinstance(EXAMPLE_FEATURES[n], str)), None)
first_field = FEATURE_NAMES[0]
BAD_REQUESTS: dict[str, tuple[Any, str]] = {
    "malformed JSON": (b'{"records": [', ""),
    "no records field": ({"rows": [EXAMPLE_FEATURES]}, "records"),
    "missing field": ({"records": [{k: v for k, v in EXAMPLE_FEATURES.items() if k != first_field}]}, first_field),
    "records not a list": ({"records": EXAMPLE_FEATURES}, "records"),
    "empty batch": ({"records": []}, "records"),
    "oversized batch": ({"records": [EXAMPLE_FEATURES] * (MAX_BATCH_ROWS + 1)}, "records"),
}
if first_numeric is not None:
    BAD_REQUESTS |= {
        "wrong type": ({"records": [EXAMPLE_FEATURES | {first_numeric: "heavy"}]}, first_numeric),
        "number as text": ({"records": [EXAMPLE_FEATURES | {first_numeric: "40.0"}]}, first_numeric),
        "out of range": ({"records": [EXAMPLE_FEATURES | {first_numeric: 1e300}]}, first_numeric),
    }
if first_categorical is not None:
    BAD_REQUESTS["unknown category"] = (
        {"records": [EXAMPLE_FEATURES | {first_categorical: "not one of the values"}]},
        first_categorical,
    )


@pytest.mark.parametrize(("payload", "field"), list(BAD_REQUESTS.values()), ids=list(BAD_REQUESTS))
def test_a_bad_request_gets_a_4xx_naming_the_field(url: str, payload: Any, field: str) -> None:
    status, answer = post(url, payload)
    assert 400 <= status < 500, (status, answer)
    assert field in json.dumps(answer)


def test_a_refusal_names_each_wrong_field_by_its_path_in_one_line(url: str) -> None:
    """The service's own /predict path answers (serving/route.py), not BentoML's handler, whose message
    is pydantic's multi-line text."""
    second = {k: v for k, v in EXAMPLE_FEATURES.items() if k != first_field}
    status, answer = post(url, {"records": [EXAMPLE_FEATURES, second]})
    assert (status, answer) == (400, {"error": f"records.1.{first_field}: Field required"})


def test_the_service_still_answers_after_bad_requests(url: str) -> None:
    status, served = post(url, {"records": [EXAMPLE_FEATURES]})
    assert status == 200 and len(served) == 1


def test_the_openapi_page_is_prefilled_with_the_example_record(url: str) -> None:
    """Swagger UI's "Try it out" shows the contract's example row, not each field's maximum (OpenAPI 3.0)."""
    status, document = call("GET", f"{url}/docs.json")
    assert status == 200 and document["openapi"].startswith("3.0")
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["example"] == {"records": [EXAMPLE_FEATURES]}
    assert '"examples": [' not in json.dumps(document["components"]["schemas"])  # 3.1 style, ignored by 3.0 tools
    assert all(f"`{name}`" in document["info"]["description"] for name in FEATURE_NAMES)


def test_the_page_names_the_served_model_and_loads_only_from_this_server(url: str) -> None:
    """The page at / (serving/docs_page.py) and its document name the model that answers; no script or
    style comes from another host (BentoML's own page loads a tag manager). The template's tests open it
    in chromium and use "Try it out"."""
    status, page = call("GET", f"{url}/")
    assert status == 200 and "swagger-ui-bundle.js" in page
    links = re.findall(r"""(?:src|href)=["']([^"']+)""", page)
    assert links and all(link.startswith("./static_content/") for link in links), links
    assert "googletagmanager" not in page
    _, lineage = call("GET", f"{url}/metadata")
    _, document = call("GET", f"{url}/docs.json")
    assert document["info"]["version"] == lineage["artifact"]["sha256"][:12] == lineage["bento_tag"].rpartition(":")[2]
    assert lineage["artifact"]["sha256"] in document["info"]["description"]
    # /metadata's answer is described by the identity record's own schema, every field of it.
    ok = document["paths"]["/metadata"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Lineage"}
    assert set(lineage) <= set(document["components"]["schemas"]["Lineage"]["properties"]), lineage
