"""The OpenAPI schema and the interactive docs page."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_openapi_schema_describes_the_ingest_contract(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    schema = resp.json()
    op = schema["paths"]["/api/v1/ingest"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/IngestBatch")
    assert {"202", "400", "401", "413", "422", "429"} <= set(op["responses"])
    schemas = schema["components"]["schemas"]
    batch = schemas["IngestBatch"]
    assert set(batch["required"]) == {"agent", "host", "samples"}
    sample = schemas["Sample"]["properties"]
    assert {"ts", "cpu_pct", "mem_used", "net_rx_bps", "gpus", "servers"} <= set(sample)
    assert schema["components"]["securitySchemes"]["AgentToken"]["scheme"] == "bearer"
    # Every $ref points at a schema that exists.
    text = resp.content.decode()
    import re

    for name in set(re.findall(r'#/components/schemas/([A-Za-z0-9_]+)"', text)):
        assert name in schemas, name


def test_docs_page_loads_its_assets_from_this_server(client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    asset = client.get("/static/ninja/swagger-ui-bundle.js")
    assert asset.status_code == 200


@pytest.mark.django_db
def test_the_read_api_lists_its_error_answers(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/hosts", "/api/v1/recommendations"):
        responses = schema["paths"][path]["get"]["responses"]
        assert {"200", "401", "403", "422"} <= set(responses), (path, sorted(responses))
    unknown = client.get("/api/v1/hosts", HTTP_AUTHORIZATION="Bearer rsp_nope")
    assert unknown.status_code == 401 and "create_api_token" in unknown.json()["detail"]
