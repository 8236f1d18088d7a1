"""The OpenAPI 3.1 document of the proxy's own routes, generated from the pydantic models.

Clients generate code from it and schema-based fuzzers (schemathesis) test the proxy against it,
so it must say exactly what the app does: the request schema is `OCRRequest`'s with `model`
required (it names a model group here), the response is `OCRResponse`'s, every error is the
envelope of router/proxy/errors.py, and the routes that need a key say so.
"""

from __future__ import annotations

import copy
from typing import Any

from router.types import OCRRequest, OCRResponse

_REF_PREFIX = "#/components/schemas/"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Mistral's error envelope; a 422 adds `detail`, one item per problem.",
    "required": ["object", "message", "type", "param", "code"],
    "properties": {
        "object": {"const": "error"},
        "message": {"type": "string"},
        "type": {"type": "string"},
        "param": {"type": ["string", "null"]},
        "code": {"type": ["string", "null"]},
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "loc", "msg"],
                "properties": {
                    "type": {"type": "string"},
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}

_DEPLOYMENT_ROW: dict[str, Any] = {
    "type": "object",
    "required": ["id", "group", "provider", "status", "cooldown_until", "reason", "in_flight"],
    "properties": {
        "id": {"type": "string"},
        "group": {"type": "string"},
        "provider": {"type": "string"},
        "status": {"enum": ["healthy", "cooling", "half-open"]},
        "cooldown_until": {"type": ["string", "null"], "format": "date-time"},
        "reason": {"type": ["string", "null"]},
        "in_flight": {"type": "integer", "minimum": 0},
    },
}

READINESS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "groups", "deployments"],
    "properties": {
        "status": {"enum": ["ready", "unavailable"]},
        "groups": {"type": "object", "additionalProperties": {"type": "boolean"}},
        "deployments": {"type": "array", "items": _DEPLOYMENT_ROW},
    },
}

MODEL_LIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["object", "data"],
    "properties": {
        "object": {"const": "list"},
        "data": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "object", "created", "owned_by"],
                "properties": {
                    "id": {"type": "string"},
                    "object": {"const": "model"},
                    "created": {"type": "integer"},
                    "owned_by": {"type": "string"},
                },
            },
        },
    },
}

_CALL_HEADERS = {
    "x-ocr-router-deployment": "the deployment that served the request",
    "x-ocr-router-group": "the model group of that deployment (a fallback's, if one served)",
    "x-ocr-router-attempts": "attempts made, the successful one included",
    "x-ocr-router-cost-usd": "price of the call in USD (absent when unknown)",
    "x-ocr-router-latency-ms": "time the router spent on the request, in milliseconds",
    "x-ocr-router-shards": "sub-PDFs a long PDF was cut into across deployments (1: sent whole)",
}


def _relocate(schema: Any) -> Any:
    """Point pydantic's `#/$defs/X` references at `#/components/schemas/X`, and drop
    `discriminator` (its property `type` may be omitted here: the document form is inferred)."""
    if isinstance(schema, dict):
        return {
            key: (
                value.replace("#/$defs/", _REF_PREFIX)
                if key == "$ref" and isinstance(value, str)
                else _relocate(value)
            )
            for key, value in schema.items()
            if key != "discriminator"
        }
    if isinstance(schema, list):
        return [_relocate(item) for item in schema]
    return schema


def _component(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = _relocate(definition)
    return _relocate(schema)  # type: ignore[no-any-return]


def _proxy_request_schema(components: dict[str, Any]) -> dict[str, Any]:
    schema = _component(OCRRequest.model_json_schema(), components)
    schema["description"] = "Mistral's OCR request; `model` names a model group of the proxy."
    schema["properties"]["model"] = {
        "type": "string",
        "minLength": 1,
        "description": "a model group (GET /v1/models lists them)",
    }
    schema["required"] = sorted({"model", "document", *schema.get("required", [])})
    return schema


def _error_responses(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "malformed JSON, or a request every provider refuses",
        401: "missing or wrong API key",
        404: "unknown model group",
        413: "request body over the limit",
        422: "a field is unknown or wrong (named in `param` and `detail`)",
        429: "rate limited on every deployment; retry after `Retry-After` seconds",
        500: "internal error",
        502: "the upstream providers failed after every retry",
        503: "no deployment can serve within the deadline; retry after `Retry-After` seconds",
        504: "the upstream providers did not answer in time",
    }
    retry_after = {
        "Retry-After": {
            "description": "seconds to wait before retrying",
            "schema": {"type": "integer", "minimum": 1},
        }
    }
    return {
        str(status): {
            "description": reasons[status],
            **({"headers": retry_after} if status in (429, 503) else {}),
            "content": {"application/json": {"schema": {"$ref": _REF_PREFIX + "Error"}}},
        }
        for status in statuses
    }


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def build_openapi(*, auth: bool = True, title: str = "ocr-router proxy") -> dict[str, Any]:
    """The OpenAPI 3.1 document; `auth=False` when the proxy runs without keys."""
    components: dict[str, Any] = {}
    request_schema = _proxy_request_schema(components)
    response_schema = _component(OCRResponse.model_json_schema(), components)
    components.update(
        ProxyOCRRequest=request_schema,
        OCRResponse=response_schema,
        Error=ERROR_SCHEMA,
        Readiness=READINESS_SCHEMA,
        ModelList=MODEL_LIST_SCHEMA,
    )
    secured: dict[str, Any] = {"security": [{"bearerAuth": []}]} if auth else {"security": []}
    public: dict[str, Any] = {"security": []}
    unauthorized = _error_responses(401) if auth else {}
    ocr_operation = {
        "summary": "OCR a document on a deployment of the model group (Mistral-compatible)",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF_PREFIX + "ProxyOCRRequest"}}},
        },
        "responses": {
            "200": {
                "description": "Mistral's OCR response",
                "headers": {
                    name: {
                        "description": text,
                        "required": name != "x-ocr-router-cost-usd",
                        "schema": {"type": "string"},
                    }
                    for name, text in _CALL_HEADERS.items()
                },
                "content": {"application/json": {"schema": {"$ref": _REF_PREFIX + "OCRResponse"}}},
            },
            **_error_responses(400, 404, 413, 422, 429, 500, 502, 503, 504),
            **unauthorized,
        },
        **secured,
    }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": "1",
            "description": "Mistral's OCR API in front of a router over Mistral, Azure AI "
            "Foundry and Vertex AI deployments.",
        },
        "paths": {
            "/v1/ocr": {"post": {**ocr_operation, "operationId": "ocr_v1"}},
            "/ocr": {"post": {**ocr_operation, "operationId": "ocr"}},
            "/health/liveness": {
                "get": {
                    "operationId": "liveness",
                    "summary": "the process answers",
                    "responses": {
                        "200": _json_response(
                            "alive",
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {"status": {"const": "alive"}},
                            },
                        )
                    },
                    **public,
                }
            },
            "/health/readiness": {
                "get": {
                    "operationId": "readiness",
                    "summary": "every model group has a deployment that may take requests",
                    "responses": {
                        "200": _json_response("ready", {"$ref": _REF_PREFIX + "Readiness"}),
                        "503": _json_response(
                            "a group has every deployment cooling",
                            {"$ref": _REF_PREFIX + "Readiness"},
                        ),
                    },
                    **public,
                }
            },
            "/v1/models": {
                "get": {
                    "operationId": "list_models",
                    "summary": "the model groups",
                    "responses": {
                        "200": _json_response("the groups", {"$ref": _REF_PREFIX + "ModelList"}),
                        **unauthorized,
                    },
                    **secured,
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        **unauthorized,
                    },
                    **secured,
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "this document",
                    "responses": {
                        "200": _json_response("OpenAPI 3.1", {"type": "object"}),
                        **unauthorized,
                    },
                    **secured,
                }
            },
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
    return document


__all__ = ["ERROR_SCHEMA", "build_openapi"]
