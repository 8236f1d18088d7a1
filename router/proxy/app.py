"""The proxy's ASGI app: Mistral's `/v1/ocr` in front of a Router, with auth, health and metrics.

Teams run the router as a small service so that any Mistral client (the official SDK, curl) gets
failover across providers by changing one URL. The app is Starlette with plain route functions
(no FastAPI, no middleware stack): every OCR request pays only for what it uses, which matters
when the proxy fronts thousands of requests a second.

Routes (all but the health checks need `Authorization: Bearer <key>` when keys are configured;
a path is matched as written: `/v1/ocr/` is a 404, never a redirect built from the Host header):

- `POST /v1/ocr`, `POST /ocr`: Mistral's OCR request, `model` naming a model group; the answer
  is Mistral's OCR response with headers `x-ocr-router-deployment`, `x-ocr-router-group`,
  `x-ocr-router-attempts`, `x-ocr-router-cost-usd` (absent when the price is unknown),
  `x-ocr-router-latency-ms`, `x-ocr-router-shards` (how many shards a long PDF was cut into,
  router/sharding.py; 1 when it went whole), and with a result cache `x-ocr-router-cache:
  hit|miss` (`Cache-Control: no-cache` skips the lookup and stores the fresh answer; `no-store`
  bypasses the cache both ways). Errors use Mistral's envelope (router/proxy/errors.py). Every
  answer, errors included, carries `x-request-id`: the client's (its safe characters, at most
  128) or a new one; it names the request in the router's events, log lines and spans. With
  tracing on (router/telemetry/tracing.py), a client's `traceparent` is continued.
- `GET /health/liveness`, `GET /health/readiness`, `GET /v1/models`, `GET /metrics`,
  `GET /openapi.json`.

`create_app(router, general_settings)` serves a Router you built (you close it, unless
`close_router=True`); `app_from_environment()` is the factory uvicorn calls in each worker
process: it builds that process's Router from the config file named by `OCR_ROUTER_CONFIG` and
closes it on shutdown (each worker has its own Router state).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from router.config import GeneralSettings, load_config
from router.errors import MAX_LISTED_PROBLEMS, OCRRouterError, echoed
from router.proxy.access_log import scrub_access_log
from router.proxy.auth import KeyChecker
from router.proxy.errors import (
    ProxyError,
    from_router_error,
    http_error,
    internal_error,
    invalid_request,
)
from router.proxy.metrics import CONTENT_TYPE, ProxyMetrics
from router.proxy.openapi import build_openapi
from router.proxy.worker import prepare_worker, watch_parent
from router.router import Router
from router.telemetry.request_ids import HEADER as REQUEST_ID_HEADER
from router.telemetry.request_ids import request_id_from_header
from router.telemetry.tracing import continued_trace
from router.types import CallInfo, OCRRequest

logger = logging.getLogger("ocr_router.proxy")

# The environment variable naming the config file the worker factory loads.
CONFIG_ENV = "OCR_ROUTER_CONFIG"

# The body limit when the settings give none (72 MiB: a 50 MB document as base64, and more).
DEFAULT_MAX_REQUEST_BODY_BYTES: int = GeneralSettings.model_fields["max_request_body_bytes"].default

# Fields of Mistral's OCR request the proxy passes to the Router; anything else is a 422, as
# Mistral answers it (and `timeout`/`extra_body` must never reach `aocr` from a client).
REQUEST_FIELDS = frozenset(OCRRequest.model_fields)

JSON = "application/json"

UPFRONT_BODY_BYTES = 1024 * 1024  # what a declared body is given before its bytes arrive
CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client gone before its answer

Handler = Callable[[Request], Awaitable[Response]]


def create_app(
    router: Router,
    general_settings: GeneralSettings | None = None,
    *,
    max_request_body_bytes: int | None = None,
    close_router: bool = False,
) -> Starlette:
    """The proxy app over `router`.

    Args:
        router: the Router that serves every request (its state lives in this process).
        general_settings: the accepted keys (`master_key`, `master_keys`; none: no auth) and
            `max_request_body_bytes`.
        max_request_body_bytes: overrides the settings' body limit (default 72 MiB).
        close_router: close the router when the app shuts down (the worker factory does).
    """
    settings = general_settings or GeneralSettings()
    limit = max_request_body_bytes or settings.max_request_body_bytes
    keys = KeyChecker(settings.accepted_keys())
    secrets = keys.secrets()
    scrub_access_log(secrets)
    metrics = ProxyMetrics(router.health, router.costs)
    router.add_hook(metrics.observe_event)
    groups = frozenset(router.groups())
    created = int(time.time())
    openapi_body = json.dumps(build_openapi(auth=keys.enabled)).encode("utf-8")

    async def ocr(request: Request) -> Response:
        started = time.perf_counter()
        group = ""
        request_id = request_id_from_header(request.headers.get(REQUEST_ID_HEADER))
        try:
            keys.check(request.headers.get("authorization"))
            body = await _read_json(request, limit)
            model, document, params = _split_request(body)
            group = model if model in groups else ""  # unknown names must not grow label sets
            cache = _cache_mode(request.headers.get("cache-control"))
            with continued_trace(request.headers):
                response = await router.aocr(
                    model, document, cache=cache, request_id=request_id, **params
                )
            headers = _call_headers(response.call_info, model)
            if router.cache is not None:
                headers["x-ocr-router-cache"] = "hit" if response.call_info.cached else "miss"
            answer = Response(response.to_wire_json(), media_type=JSON, headers=headers)
        except ProxyError as error:
            answer = error.response(secrets)
        except OCRRouterError as error:
            answer = from_router_error(error).response(secrets)
        except ClientDisconnect:
            # The client left before sending its whole body: nothing failed here, no answer
            # can reach it. Counted as nginx's 499 ("client closed request"), not as a 500.
            logger.info("client disconnected before its request body was read")
            answer = Response(status_code=CLIENT_CLOSED_REQUEST)
        except Exception as error:
            where = f"{request.method} {request.url.path}"
            answer = internal_error(error, where, request_id).response()
        answer.headers[REQUEST_ID_HEADER] = request_id
        metrics.observe_request(group, answer.status_code, time.perf_counter() - started)
        return answer

    def authenticated(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            try:
                keys.check(request.headers.get("authorization"))
                return await handler(request)
            except ProxyError as error:
                return error.response(secrets)
            except Exception as error:
                return internal_error(error, f"{request.method} {request.url.path}").response()

        return guarded

    async def liveness(request: Request) -> Response:
        return _json({"status": "alive"})

    async def readiness(request: Request) -> Response:
        rows = router.health()
        ready_groups = {
            group: any(
                row.status in ("healthy", "half-open")
                for row in rows.values()
                if row.group == group
            )
            for group in groups
        }
        ready = all(ready_groups.values())
        body = {
            "status": "ready" if ready else "unavailable",
            "groups": ready_groups,
            "deployments": [
                {
                    "id": row.deployment_id,
                    "group": row.group,
                    "provider": row.provider,
                    "status": row.status,
                    "cooldown_until": _iso(row.cooldown_until),
                    "reason": row.reason,
                    "in_flight": row.in_flight,
                }
                for row in rows.values()
            ],
        }
        return _json(body, 200 if ready else 503)

    async def models(request: Request) -> Response:
        data = [
            {"id": group, "object": "model", "created": created, "owned_by": "ocr-router"}
            for group in router.groups()
        ]
        return _json({"object": "list", "data": data})

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    async def openapi(request: Request) -> Response:
        return Response(openapi_body, media_type=JSON)

    async def http_exception(request: Request, error: Exception) -> Response:
        status = error.status_code if isinstance(error, HTTPException) else 500
        headers = error.headers if isinstance(error, HTTPException) else None
        return http_error(status, headers).response()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if close_router:
                await router.aclose()

    app = Starlette(
        routes=[
            Route("/v1/ocr", ocr, methods=["POST"]),
            Route("/ocr", ocr, methods=["POST"]),
            Route("/health/liveness", liveness, methods=["GET"]),
            Route("/health/readiness", readiness, methods=["GET"]),
            Route("/v1/models", authenticated(models), methods=["GET"]),
            Route("/metrics", authenticated(prometheus), methods=["GET"]),
            Route("/openapi.json", authenticated(openapi), methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_exception},
        lifespan=lifespan,
    )
    # Starlette would answer `/v1/ocr/` with a 307 to a Location built from the Host header,
    # before any auth: an open redirect for whoever controls that header.
    app.router.redirect_slashes = False
    app.state.router = router
    app.state.metrics = metrics
    return app


def app_from_environment() -> Starlette:
    """uvicorn's factory (`--factory`): this worker's app over a Router of its own, built from
    the config file named by `OCR_ROUTER_CONFIG`, closed when the worker stops."""
    path = os.environ.get(CONFIG_ENV)
    if not path:
        raise RuntimeError(f"set {CONFIG_ENV} to the path of the router's config file")
    config = load_config(path)
    from router.telemetry.export import OTLP_ENV, export_to_otlp

    if os.environ.get(OTLP_ENV):
        export_to_otlp()

    router = Router(config.model_list, **config.router_settings.model_dump(exclude_unset=True))
    app = create_app(router, config.general_settings, close_router=True)
    prepare_worker()
    watch_parent()  # this process is a worker under uvicorn's supervisor
    return app


# ---------------------------------------------------------------- the request, step by step


def _too_large(limit: int) -> ProxyError:
    return ProxyError(
        413,
        f"request body over the limit of {limit} bytes",
        "invalid_request_error",
        code="request_too_large",
        # The rest of the body is never read: the connection cannot carry another request.
        headers={"Connection": "close"},
    )


async def _read_json(request: Request, limit: int) -> dict[str, Any]:
    """The body, read and parsed once, holding two copies of a large document at most.

    Refused with 413 as soon as it is known to exceed `limit`: at once from Content-Length,
    else (chunked) when the bytes received pass it; never read whole. A declared body is read
    into one buffer (allocated when its first bytes arrive, at most `UPFRONT_BODY_BYTES` ahead
    of them), never joined; the buffer is decoded to text and dropped before the text is
    parsed.
    """
    declared = request.headers.get("content-length")
    if declared is None:
        received = bytearray()
        async for chunk in request.stream():
            received += chunk
            if len(received) > limit:
                raise _too_large(limit)
        return _parse_json(_decoded(received))
    try:
        size = int(declared)
    except ValueError:
        raise ProxyError(
            400, "invalid Content-Length header", "invalid_request_error", code="bad_request"
        ) from None
    if size > limit:
        raise _too_large(limit)
    buffer: bytearray | None = None
    at = 0
    async for chunk in request.stream():
        if not chunk:
            continue
        if buffer is None:
            # Sized for what may come, up to a first part: a client that declares 72 MB and
            # sends one byte must not make us hold 72 MB (the buffer grows as bytes arrive;
            # writing past its end extends it, and large buffers grow in place).
            buffer = bytearray(min(size, UPFRONT_BODY_BYTES))
        if at + len(chunk) > size:  # the server frames by Content-Length: cannot happen
            raise _too_large(limit)
        buffer[at : at + len(chunk)] = chunk
        at += len(chunk)
    if buffer is None:
        return _parse_json("")
    if at < size:
        del buffer[at:]  # cut short: the parse says what is wrong
    text = _decoded(buffer)
    del buffer  # the text is all that is parsed
    return _parse_json(text)


def _decoded(body: bytearray) -> str:
    """The body as text, as `json.loads` would decode bytes (UTF-8, or UTF-16/32 by its BOM)."""
    try:
        return body.decode(json.detect_encoding(body), "surrogatepass")
    except UnicodeDecodeError:
        raise ProxyError(
            400, "malformed JSON body: not UTF-8", "invalid_request_error", code="bad_request"
        ) from None


def _parse_json(body: str) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as error:
        # json's message names a position, never the content.
        raise ProxyError(
            400,
            f"malformed JSON body: {_unreadable(error)}",
            "invalid_request_error",
            code="bad_request",
        ) from None
    if not isinstance(parsed, dict):
        raise ProxyError(
            400,
            "the body must be a JSON object (Mistral's OCR request)",
            "invalid_request_error",
            code="bad_request",
        )
    return parsed


def _unreadable(error: ValueError | RecursionError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return error.msg
    if isinstance(error, RecursionError):
        return "nested too deeply"
    # int() refuses more than 4,300 digits (CVE-2020-10735): the one other ValueError of json.
    return "a number has too many digits"


def _split_request(body: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """`model`, `document` and the other parameters, after the checks only the proxy needs
    (the Router validates the rest and names each wrong field)."""
    unknown = [name for name in body if name not in REQUEST_FIELDS]
    if unknown:
        named = unknown[:MAX_LISTED_PROBLEMS]  # the first few, each cut short; the rest counted
        problems = [
            {
                "type": "extra_forbidden",
                "loc": ["body", echoed(name)],
                "msg": "Extra inputs are not permitted",
            }
            for name in named
        ]
        listed = ", ".join(repr(echoed(name)) for name in named)
        if len(unknown) > len(named):
            listed += f" and {len(unknown) - len(named)} more"
        raise ProxyError(
            422,
            f"invalid OCR request: unknown parameter {listed}, not in Mistral's OCR API",
            "invalid_request_error",
            param=echoed(unknown[0]),
            code="invalid_request",
            detail=problems,
        )
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_request(
            "model is required: the name of a model group (GET /v1/models lists them)",
            field_path=["model"],
            kind="missing" if model is None else "string_type",
        )
    document = body.get("document")
    if not isinstance(document, dict):
        raise invalid_request(
            "document is required: an object such as "
            '{"type": "document_url", "document_url": "https://..."}',
            field_path=["document"],
            kind="missing" if document is None else "model_type",
        )
    if "file" in document:
        # The library reads {"file": path} from local disk; a remote client must never.
        raise invalid_request(
            "document.file is not accepted over HTTP: send a data URI in document_url, or a "
            "file_id",
            field_path=["document", "file"],
            kind="extra_forbidden",
        )
    params = {name: value for name, value in body.items() if name not in ("model", "document")}
    return model, document, params


def _cache_mode(cache_control: str | None) -> bool | Literal["refresh"]:
    """What a client's `Cache-Control` asks of the result cache (RFC 9111's request
    directives): no-store, neither read nor write; no-cache, a fresh answer (stored)."""
    if not cache_control:
        return True
    directives = {part.strip().split("=", 1)[0].lower() for part in cache_control.split(",")}
    if "no-store" in directives:
        return False
    return "refresh" if "no-cache" in directives else True


def _call_headers(info: CallInfo, model: str) -> dict[str, str]:
    headers = {
        "x-ocr-router-deployment": info.deployment_id,
        "x-ocr-router-group": info.group or model,
        "x-ocr-router-attempts": str(len(info.attempts)),
        "x-ocr-router-latency-ms": f"{info.latency_s * 1000:.1f}",
        "x-ocr-router-shards": str(len(info.shards) or 1),
    }
    if info.cost_usd is not None:
        headers["x-ocr-router-cost-usd"] = format(info.cost_usd, ".10g")
    return headers


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC).isoformat()
    except (OverflowError, OSError, ValueError):  # a far or non-finite time: readiness never 500s
        return None


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status_code=status, media_type=JSON)


__all__ = [
    "CONFIG_ENV",
    "DEFAULT_MAX_REQUEST_BODY_BYTES",
    "app_from_environment",
    "create_app",
]
