"""`ocr()` and `aocr()`: one OCR call to one provider, without a Router.

This is the shortest path from "I have a document" to markdown, in the shape LiteLLM users know::

    response = ocr(
        model="mistral/mistral-ocr-latest",
        document={"type": "document_url", "document_url": "https://arxiv.org/pdf/2201.04234"},
    )
    for page in response.pages:
        print(page.markdown)

Keyword arguments are of two kinds, told apart by name: OCR request fields (`pages`,
`include_image_base64`, ...; see `router.types.OCRRequest`) go on the wire, and provider settings
(`vertex_project`, `token`, `headers`, ...; see `providers.base.ProviderSettings`) configure the
provider. Anything else is an `InvalidRequestError` naming it, never dropped in silence; a field
outside Mistral's spec is sent only when given in `extra_body=`.

`response.call_info` tells the latency and the cost. The cost is priced by the model that was
asked for (see `router.pricing`), because the provider echoes another name back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Unpack

import httpx
from pydantic import AliasChoices, ValidationError

from providers.base import ProviderOptions
from router.errors import ConfigError, InvalidRequestError, OCRRouterError, RequestTimeoutError
from router.pricing import resolve_prices
from router.telemetry.scope import RequestScope
from router.types import (
    Attempt,
    CallInfo,
    OCRParams,
    OCRRequest,
    OCRResponse,
    checked_timeout,
)

if TYPE_CHECKING:
    from providers.base import Provider

# `router` loads this module lazily (its `__getattr__`), so importing `providers.base` here is
# no circle: `providers` needs only `router.errors` and `router.types`, never `router.api`.


class OCRCallOptions(OCRParams, ProviderOptions, total=False):
    """The keyword arguments of `ocr()`/`aocr()` beyond the explicit ones: Mistral's OCR
    parameters (`OCRParams`) and the provider settings (`ProviderOptions`)."""


logger = logging.getLogger("ocr_router.api")

# Long enough for a large document (Mistral reads about 2,000 pages a minute, and Azure or Vertex
# must also receive the whole document inline), short enough that a hung connection fails the
# call in bounded time instead of blocking the caller forever. httpx's own 5 s would fail
# ordinary multi-page documents.
DEFAULT_TIMEOUT_S = 120.0

# Settings named by the caller explicitly in the signature, or fixed by `model`.
_EXPLICIT_SETTINGS = frozenset({"model", "api_key", "api_base", "api_version", "timeout"})


@functools.cache
def provider_setting_names() -> frozenset[str]:
    """Keyword arguments of `ocr()`/`aocr()` that configure the provider rather than the request:
    the fields of `ProviderSettings` and their LiteLLM aliases (`vertex_project`, ...)."""
    from providers.base import ProviderSettings

    names: set[str] = set()
    for name, field in ProviderSettings.model_fields.items():
        names.add(name)
        if field.alias:
            names.add(field.alias)
        if isinstance(field.validation_alias, AliasChoices):
            names.update(str(choice) for choice in field.validation_alias.choices)
    return frozenset(names - _EXPLICIT_SETTINGS)


# Models already warned about, so a loop of calls logs "no price known" once, not per call.
_unpriced_warned: set[tuple[str, str]] = set()
_unpriced_lock = threading.Lock()


async def aocr(
    model: str,
    document: Any,
    *,
    api_key: str | None = None,
    api_base: str | None = None,
    api_version: str | None = None,
    timeout: float | None = None,
    client: httpx.AsyncClient | None = None,
    price_per_page: float | None = None,
    price_per_annotated_page: float | None = None,
    extra_body: dict[str, Any] | None = None,
    request_id: str | None = None,
    **params: Unpack[OCRCallOptions],
) -> OCRResponse:
    """OCR one document with one provider.

    `model` is `"provider/model"` (`mistral/...`, `azure_ai/...`, `vertex_ai/...`). `timeout`
    (seconds, default `DEFAULT_TIMEOUT_S`) bounds the whole call. `client` is lent, never closed;
    without one, a fresh client is opened and closed around the call. `price_per_page` and
    `price_per_annotated_page` (USD) override the price table for `call_info.cost_usd`.
    `request_id` names the call in its log lines, span and error, as a Router's requests
    (`call_info.request_id`; one is made when not given).

    Raises an `OCRRouterError` subclass for every failure: `InvalidRequestError` for bad or
    unknown arguments, `ConfigError` for a missing setting, the provider's typed error otherwise.
    """
    # No model group here: "" on the request's span and metrics.
    with RequestScope("", request_id) as scope:
        response = await _call(
            model,
            document,
            scope.request_id,
            api_key=api_key,
            api_base=api_base,
            api_version=api_version,
            timeout=timeout,
            client=client,
            price_per_page=price_per_page,
            price_per_annotated_page=price_per_annotated_page,
            extra_body=extra_body,
            **params,
        )
        return scope.served(response)


async def _call(
    model: str,
    document: Any,
    request_id: str,
    *,
    api_key: str | None,
    api_base: str | None,
    api_version: str | None,
    timeout: float | None,
    client: httpx.AsyncClient | None,
    price_per_page: float | None,
    price_per_annotated_page: float | None,
    extra_body: dict[str, Any] | None,
    **params: Any,
) -> OCRResponse:
    """`aocr` inside its request scope."""
    from providers import split_model

    if not isinstance(model, str):
        raise InvalidRequestError(
            f'model must be a "provider/model" string, not {type(model).__name__}', field="model"
        )
    limit = _check_timeout(timeout)
    provider_name, model_name = split_model(model)
    setting_names = provider_setting_names()
    given: dict[str, Any] = dict(params)  # typed for mypy; unknown names still arrive here
    settings = {key: value for key, value in given.items() if key in setting_names}
    request_fields = {key: value for key, value in given.items() if key not in settings}
    # OCRRequest.build names every unknown field and points at extra_body=.
    request = OCRRequest.build(document, extra_body=extra_body, **request_fields)
    per_page, per_annotated_page = _prices(
        provider_name, model_name, price_per_page, price_per_annotated_page
    )
    provider = _create_provider(
        model, api_key=api_key, api_base=api_base, api_version=api_version, **settings
    )

    started = time.perf_counter()
    try:
        response = await _send(provider, request, client, limit)
    except OCRRouterError as error:
        logger.debug(
            "ocr %s/%s request %s: failed with %s (status %s) after %.3f s",
            provider_name,
            model_name,
            request_id,
            type(error).__name__,
            error.status_code,
            time.perf_counter() - started,
            extra={"request_id": request_id, "error_type": type(error).__name__},
        )
        raise
    latency = time.perf_counter() - started

    usage = response.usage_info
    pages = usage.total_pages  # Azure counts annotated pages apart
    plain, annotated = usage.billed_pages(request.is_annotated)
    cost: float | None = None if per_page is None and not annotated else 0.0
    for count, unit_price in ((plain, per_page), (annotated, per_annotated_page)):
        if count and cost is not None:
            cost = None if unit_price is None else cost + count * unit_price
    info = CallInfo(
        deployment_id=model,
        provider=provider_name,
        model=model,
        latency_s=latency,
        cost_usd=cost,
        pages=pages,
        attempts=(Attempt(deployment_id=model, provider=provider_name, latency_s=latency),),
        request_id=request_id,
    )
    logger.debug(
        "ocr %s/%s request %s: ok in %.3f s, %d pages",
        provider_name,
        model_name,
        request_id,
        latency,
        pages,
        extra={"request_id": request_id},
    )
    return response.with_call_info(info)


def ocr(
    model: str,
    document: Any,
    *,
    api_key: str | None = None,
    api_base: str | None = None,
    api_version: str | None = None,
    timeout: float | None = None,
    client: httpx.AsyncClient | None = None,
    price_per_page: float | None = None,
    price_per_annotated_page: float | None = None,
    extra_body: dict[str, Any] | None = None,
    request_id: str | None = None,
    **params: Unpack[OCRCallOptions],
) -> OCRResponse:
    """The blocking form of `aocr` (same arguments, same result, same errors).

    Called where an event loop is already running in this thread (Jupyter, async code), it runs
    the call on its own loop in a worker thread instead of failing; that blocks the calling loop
    until the call ends, so async code should prefer `await aocr(...)`. A `client` passed here is
    used on that other loop: do not share it with another loop.
    """
    call = functools.partial(
        aocr,
        model,
        document,
        api_key=api_key,
        api_base=api_base,
        api_version=api_version,
        timeout=timeout,
        client=client,
        price_per_page=price_per_page,
        price_per_annotated_page=price_per_annotated_page,
        extra_body=extra_body,
        request_id=request_id,
        **params,
    )
    return _run_blocking(call)


def _run_blocking(call: Callable[[], Awaitable[OCRResponse]]) -> OCRResponse:
    async def main() -> OCRResponse:
        return await call()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    # asyncio.run() refuses to nest, and waiting here on a task of the running loop would
    # deadlock it: the call gets a loop of its own in another thread.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ocr-router") as pool:
        return pool.submit(asyncio.run, main()).result()


def _check_timeout(timeout: float | None) -> float:
    checked = checked_timeout(timeout)
    return DEFAULT_TIMEOUT_S if checked is None else checked


def _prices(
    provider: str,
    model: str,
    per_page: float | None,
    per_annotated_page: float | None,
) -> tuple[float | None, float | None]:
    """The prices to charge: each explicit figure wins over the table's for the asked model."""
    for name, value in (
        ("price_per_page", per_page),
        ("price_per_annotated_page", per_annotated_page),
    ):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
        ):
            raise InvalidRequestError(
                f"{name} must be a non-negative number of USD, not {value!r}", field=name
            )
    per_page, per_annotated_page = resolve_prices(provider, model, per_page, per_annotated_page)
    if per_page is None:
        _warn_unpriced(provider, model)
    return per_page, per_annotated_page


def _warn_unpriced(provider: str, model: str) -> None:
    with _unpriced_lock:
        if (provider, model) in _unpriced_warned:
            return
        _unpriced_warned.add((provider, model))
    logger.warning(
        "no price known for %s/%s: call_info.cost_usd will be None "
        "(pass price_per_page= to set one)",
        provider,
        model,
    )


def _create_provider(model: str, **settings: Any) -> Provider:
    from providers import create_provider

    try:
        return create_provider(model, **settings)
    except ValidationError as error:
        # Never echo the values: a wrong setting may be a key or a token.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors(include_url=False, include_input=False)
        )
        raise ConfigError(f"invalid provider settings: {problems}") from None


async def _send(
    provider: Provider, request: OCRRequest, client: httpx.AsyncClient | None, limit: float
) -> OCRResponse:
    if client is not None:
        return await _send_within(provider, request, client, limit)
    async with httpx.AsyncClient() as own_client:
        return await _send_within(provider, request, own_client, limit)


async def _send_within(
    provider: Provider, request: OCRRequest, client: httpx.AsyncClient, limit: float
) -> OCRResponse:
    # httpx's timeout bounds each read and write; wait_for bounds the whole call (document
    # download and token refresh included), so `timeout` is a deadline, not a per-step limit.
    try:
        async with asyncio.timeout(limit):
            return await provider.send(request, client, timeout=limit)
    except TimeoutError:
        raise RequestTimeoutError(f"no answer within {limit:g} s", provider=provider.name) from None


__all__ = ["DEFAULT_TIMEOUT_S", "OCRCallOptions", "aocr", "ocr", "provider_setting_names"]
