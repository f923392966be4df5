"""The ingest endpoint as seen by the API router and its OpenAPI schema."""

from __future__ import annotations

from ninja import Router

from telemetry.ingest import handle_ingest
from telemetry.schema import ErrorBody, IngestAccepted, IngestBatch

router = Router(tags=["ingest"])

_ERRORS = {
    400: "Malformed body: not JSON, bad gzip, or empty.",
    401: "Missing, unknown or revoked agent token.",
    413: "Body (or its decompressed size) over the limit.",
    415: "Content-Encoding other than gzip.",
    422: "Fields failed validation (a type, a physical range, a NUL character, a non-zero number under 1e-30, "
    "a reference or the time window); 'errors' lists the path of each.",
    429: "Over the push rate limit; see Retry-After.",
    500: "An error the server did not expect, logged; the body is JSON like the others.",
}


@router.post(
    "/ingest",
    auth=None,  # agent tokens are checked inside, so each failure gets its own sentence
    response={202: IngestAccepted, **{code: ErrorBody for code in _ERRORS}},
    summary="Push a batch of samples from one host",
    description=(
        "One host's inventory and a batch of its samples. Idempotent: samples are keyed by "
        "(host, ts) and (gpu, ts), so a retried batch stores nothing twice. "
        "`Content-Encoding: gzip` is accepted. Errors: "
        + "; ".join(f"{code}: {text}" for code, text in _ERRORS.items())
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestBatch"}}},
        },
        "security": [{"AgentToken": []}],
    },
)
def ingest(request):
    return handle_ingest(request)


# Models the schema names by $ref without ninja seeing them as parameters.
EXTRA_SCHEMAS = [IngestBatch]
