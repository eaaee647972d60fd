"""The OpenAPI document, with every error response documented as a problem document.

FastAPI documents request validation errors as ``application/json`` of its own
shape; this service answers every error with an RFC 9457 problem document
(:mod:`api.errors`). :func:`install_openapi` rewrites the generated document so
that every error response of every operation, and a ``default`` response for
statuses not listed, is ``application/problem+json`` with the ``Problem`` schema.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .errors import PROBLEM_MEDIA_TYPE
from .models import Problem

__all__ = ["install_openapi"]

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}


def _problem_document(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status != "default" and int(status) >= 400:
                    response["content"] = dict(_PROBLEM_CONTENT)
                    if status == "422":
                        response["description"] = "Refused: a rule or the request's form"
            responses["default"] = {
                "description": "Any other error, as a problem document",
                "content": dict(_PROBLEM_CONTENT),
            }
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`_problem_document` (built once, on first request) as ``/openapi.json``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _problem_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
