"""The versioned HTTP API: /api/v1/…, its OpenAPI schema and docs page."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from ninja import NinjaAPI

from recommender.api import router as recommendations_router
from telemetry.api import EXTRA_SCHEMAS
from telemetry.api import router as ingest_router
from telemetry.readapi import router as hosts_router

log = logging.getLogger(__name__)


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
        schemas.update(READ_ERROR_SCHEMAS)
        for path, operations in schema.get("paths", {}).items():
            if path.rstrip("/").endswith(READ_PATHS):
                operations.get("get", {}).setdefault("responses", {}).update(READ_ERRORS)
        return schema


# What the read API answers besides 200, in ninja's shape: {"detail": sentence} or {"detail": [errors]}.
READ_PATHS = ("/hosts", "/recommendations", "/recommendations/{rec_id}")
READ_ERROR_SCHEMAS = {
    "ReadError": {
        "type": "object",
        "properties": {"detail": {"type": "string", "description": "what was wrong and what to do"}},
        "required": ["detail"],
    },
    "QueryErrors": {
        "type": "object",
        "properties": {"detail": {"type": "array", "items": {"type": "object"}}},
        "required": ["detail"],
    },
}


def _ref(name: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


READ_ERRORS = {
    "401": _ref("ReadError", "no token or session, or an unknown or revoked personal API token"),
    "403": _ref("ReadError", "an agent token: it can only push samples"),
    "422": _ref("QueryErrors", "a query parameter of the wrong type or value (each error names it)"),
    "500": _ref("ErrorBody", "an unexpected error, logged by the server"),
    "503": _ref("ErrorBody", "the database is unavailable: retry in a few seconds"),
}


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


def internal_error(request: HttpRequest, exc: Exception) -> JsonResponse:
    """Anything no handler expected: logged with its traceback, answered in the API's JSON, never HTML."""
    log.exception("event=api_error method=%s path=%s error=%s", request.method, request.path, type(exc).__name__)
    return JsonResponse(
        {
            "error": "internal",
            "message": "The server failed to handle this request and logged why: retry later "
            "(a retried ingest batch stores nothing twice), and report it if it persists.",
        },
        status=500,
    )


def database_unavailable(request: HttpRequest, exc: Exception) -> JsonResponse:
    """The database went away mid-request (restart, failover, a dropped connection): retry soon.

    An ingest batch is stored in one statement, so it was stored whole or not at all."""
    log.warning("event=api_database_unavailable method=%s path=%s error=%s", request.method, request.path,
                type(exc).__name__)  # fmt: skip
    response = JsonResponse(
        {
            "error": "unavailable",
            "message": "The database is unavailable: retry in a few seconds "
            "(an ingest batch is stored whole or not at all, and a retried one stores nothing twice).",
        },
        status=503,
    )
    response["Retry-After"] = "5"
    return response


api.add_exception_handler(Exception, internal_error)
api.add_exception_handler(OperationalError, database_unavailable)
api.add_exception_handler(InterfaceError, database_unavailable)
