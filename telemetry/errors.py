"""API errors: every one answers JSON with a stable code and a sentence for a person."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import JsonResponse


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: str
    errors: list[dict] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> JsonResponse:
        body: dict = {"error": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        resp = JsonResponse(body, status=self.status)
        for name, value in self.headers.items():
            resp[name] = value
        if self.status == 401:
            resp["WWW-Authenticate"] = 'Bearer realm="rightsizer"'
        return resp
