"""The versioned HTTP API: /api/v1/…, its OpenAPI schema and docs page."""

from __future__ import annotations

from ninja import NinjaAPI

from recommender.api import router as recommendations_router
from telemetry.api import EXTRA_SCHEMAS
from telemetry.api import router as ingest_router
from telemetry.readapi import router as hosts_router


class RightsizerApi(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for model in EXTRA_SCHEMAS:
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(body.pop("$defs", {}))
            schemas[model.__name__] = body
        components.setdefault("securitySchemes", {})["AgentToken"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "An agent token (rsa_…): manage.py create_agent_token NAME.",
        }
        return schema


api = RightsizerApi(
    title="Rightsizer API",
    version="1",
    description="Agent ingest and read access to Rightsizer's telemetry and recommendations.",
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/", ingest_router)
api.add_router("/", hosts_router)
api.add_router("/", recommendations_router)
