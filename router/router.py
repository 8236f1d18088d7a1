"""`Router`: keep each OCR request alive across deployments, providers and their failures.

A Router holds deployments grouped under logical model names ("ocr"). For each request it plans
the groups to try (`[model, *fallbacks]`), and for each attempt picks one *candidate*: a
deployment that is healthy (router/health.py), within its limits (router/limits.py), not over a
budget (router/cost.py), big enough for the request's pages, and in the lowest priority tier that
has one. A deployment that already failed this request is a candidate again only when no other
is left. The strategy (router/strategies/) chooses among candidates; the provider makes the call.

One deadline (`timeout`) bounds the whole request: attempts, backoff and waiting for capacity.
When no deployment of the plan is usable, the router waits for the first one to come back if that
happens within the deadline (a cooldown ends, a rate window frees, a slot frees), else fails.

What a caller gets when a request cannot be served:

- 400/422 and other errors of the request itself: raised at once, after one attempt.
- Retries spent (attempt limit, deadline, retry budget, or every deployment out after failing
  this request): the *last upstream error*, its class unchanged (so `except RateLimitError`
  works; it says what went wrong: a wrong key, a quota) and its message listing every attempt's
  deployment and error, and why nothing was left to try.
- Every deployment already out when the request came, none back within the deadline:
  `NoDeploymentAvailableError` (503), naming each deployment, why it is out and when it returns;
  `retry_after` is the earliest return.
- An unknown model group: `UnknownModelError` (404) listing the known groups.

The number of attempts is at most `num_retries + 1`, plus one per fallback group (so a fallback
is always reached when the primary group is exhausted).

    async with Router(model_list=[...], routing_strategy="least-busy") as router:
        response = await router.aocr(model="ocr", document="https://example.com/a.pdf")
        response.call_info.deployment_id, response.call_info.cost_usd

`Router.ocr(...)` is the same for synchronous code: it runs on an event loop thread owned by the
router, so its connection pool is reused from call to call. The router keeps one pool per event
loop it is used from (connections belong to the loop that opened them); a `client=` given by the
caller is used on the caller's loop and never closed by the router.

This module reads in the order a request flows: `aocr` (and `ocr`), the plan, sharding and the
cache, the first attempt, its deployment booked by `_acquire`, the send and its outcome, the
retries, the error a caller is told; then introspection and closing. The rooms it calls on:
which deployment takes an attempt (router/selection.py), waiting for one to come back
(router/waiting.py), what a request carries between attempts (router/job.py), the synchronous
bridge (router/sync_bridge.py), the per-loop pools (router/pools.py) and the state's opening
(router/state/opening.py).
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from os import PathLike
from threading import Thread
from types import EllipsisType, TracebackType
from typing import Any, Literal, Unpack

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from router.cache import (
    CachedResult,
    ResultCache,
    adocument_digest,
    open_cache,
    request_parameters,
    result_key,
)
from router.config import RouterOptions, RouterSettings, build_deployments, load_config
from router.cost import CostLedger, CostReport, exact_cost
from router.deployment import Deployment
from router.errors import (
    InvalidRequestError,
    OCRRouterError,
    RequestTimeoutError,
    RouterClosedError,
)
from router.events import Hook, RouterEvent, describe_error, emit, finish_hooks, listened
from router.fit import Envelope, RequestFacts, describe_unfit, refusal_reason, request_facts
from router.health import CircuitBreaker, HealthPolicy
from router.job import REQUEST_TAGS, Job, checked_tags
from router.limits import Limits, estimated_pages
from router.pools import LoopClients
from router.retry import RetryBudget, backoff, backoff_sleep, worth_retrying
from router.selection import Out, Selection
from router.sharding import ShardCaching, serve_or_pass
from router.state.base import RouterState
from router.state.opening import open_state, shared_name
from router.strategies import create_strategy
from router.sync_bridge import SyncBridge, stop
from router.telemetry.scope import RequestScope
from router.types import (
    MAX_PAGES_PER_REQUEST,
    Attempt,
    CallInfo,
    OCRParams,
    OCRRequest,
    OCRResponse,
    checked_timeout,
)
from router.waiting import Waiter, WaitQueue, earliest_return, wake_time

# Refusals one request may meet (each moves it to another deployment at no retry's cost): enough
# for a mixed group, bounded for a request every deployment refuses (an unknown extra field).
MAX_REFUSALS = 16
_NO_FACTS = RequestFacts(None, None, None, "remote", frozenset())


class UnknownModelError(OCRRouterError):
    """404: no deployment serves this model group."""

    status_code = 404


class NoDeploymentAvailableError(OCRRouterError):
    """503: every deployment of the plan is out (cooling, at a limit, over budget) and none comes
    back within the request's deadline. `retry_after` is when the first one returns (if known);
    `unavailable` maps each deployment id to why it is out."""

    status_code = 503

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        unavailable: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.unavailable = dict(unavailable or {})


class _DeadlinePassedError(RequestTimeoutError):
    """The deadline passed between choosing a deployment and sending to it."""


@dataclass(frozen=True)
class DeploymentHealth:
    """One row of `Router.health()`."""

    deployment_id: str
    group: str
    provider: str
    status: str  # "healthy", "cooling" or "half-open"
    cooldown_until: float | None
    reason: str | None
    in_flight: int
    consecutive_failures: int


class Router:
    """Routes OCR requests over deployments. See the module docstring for the behaviour.

    Args:
        model_list: deployments: flat dicts, LiteLLM entries (`litellm_params`), `DeploymentSpec`
            or `Deployment` objects (see `router.config.build_deployments`).
        settings: a `RouterSettings` (or a mapping of its fields); flat keywords
            (`routing_strategy`, `num_retries`, `timeout`, `fallbacks`, `allowed_fails`,
            `cooldown_time`, ..., LiteLLM's spellings too: `RouterOptions`) go on top of it.
            Both pass one validation; a wrong one raises `ConfigError` naming it.
        client: an `httpx.AsyncClient` to lend to providers on the caller's loop (not closed by
            the router); by default the router owns its pools.
        transport: the transport of the router's own pools (tests plug a fake's here).
        hooks: callables given each `RouterEvent`.
        state: where counters live: `MemoryState` by default (share one object to share what is
            learnt in one process), or a Redis URL ("redis://host:6379/0", also the setting
            `redis_url`) to share it with every router of the same `name` setting (default: a
            digest of the deployment ids) in any process (router/state/redis/).
        clock: seconds, for cooldowns, windows and deadlines (`time.time`; tests pass a fake).
    """

    def __init__(
        self,
        model_list: Sequence[Any] = (),
        *,
        settings: RouterSettings | Mapping[str, Any] | None = None,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        hooks: Sequence[Hook] = (),
        state: RouterState | str | None = None,
        clock: Callable[[], float] = time.time,
        **flat_settings: Unpack[RouterOptions],
    ) -> None:
        self.settings = settings_ = RouterSettings.combine(settings, flat_settings)
        self._deployments = build_deployments(model_list)
        self._groups: dict[str, list[Deployment]] = {}
        for deployment in self._deployments:
            self._groups.setdefault(deployment.group, []).append(deployment)
        settings_.validate_against(self._groups)
        # The most every deployment takes: a request within it is checked against none of them.
        self._envelope = Envelope.of([deployment.info for deployment in self._deployments])
        self._clock = clock
        name = shared_name(settings_.name, self._deployments)
        redis_url = None if settings_.redis_url is None else _secret(settings_.redis_url)
        # `_close_state` is set when the router made the state (Redis), None when it was given.
        self._state, self._close_state = open_state(
            state,
            redis_url=redis_url,
            name=name,
            deployments=self._deployments,
            clock=clock,
            max_cooldown_time=settings_.max_cooldown_time,
        )
        rng = random.Random(settings_.seed) if settings_.seed is not None else None
        self._strategy = create_strategy(settings_.routing_strategy, self._state, rng=rng)
        self._health = CircuitBreaker(
            self._state,
            HealthPolicy(
                allowed_fails=settings_.allowed_fails,
                cooldown_time=settings_.cooldown_time,
                auth_cooldown_time=settings_.auth_cooldown_time,
                max_cooldown_time=settings_.max_cooldown_time,
                half_open_probes=settings_.half_open_probes,
            ),
        )
        self._limits = Limits(self._state)
        self._ledger = CostLedger(self._state, settings_.budgets)
        self._selection = Selection(
            self._groups, self._strategy, self._health, self._ledger, self._limits
        )
        self._retry_budget = RetryBudget(
            self._state,
            ratio=settings_.retry_budget_ratio,
            min_per_second=settings_.retry_budget_min_per_second,
            window=settings_.retry_budget_window,
        )
        self._backoff = backoff(settings_.backoff_initial, settings_.backoff_max)
        # The result cache (router/cache/): same document, group and parameters, one payment.
        self.cache: ResultCache | None = None
        if settings_.cache is not None:
            self.cache = open_cache(
                settings_.cache,
                ttl=settings_.cache_ttl,
                name=name,
                redis_url=redis_url,
                max_entry_bytes=settings_.cache_max_entry_bytes,
            )
        self._hooks = tuple(hooks)
        self._clients = LoopClients(transport, client)  # the pools, one per event loop
        self._sync = SyncBridge(functools.partial(_close_at_exit, weakref.ref(self)))
        self._waiters = WaitQueue()  # requests waiting for a deployment
        self._closed = False  # by close()/aclose(): later calls raise RouterClosedError

    @classmethod
    def from_config(cls, source: str | PathLike[str] | Mapping[str, Any], **options: Any) -> Router:
        """A Router from a YAML file or a dict (`model_list` and `router_settings`).

        `options` are the keyword-only arguments of `Router` (client, transport, hooks, state,
        clock) and may override settings of the file."""
        config = load_config(source)
        settings = config.router_settings.model_dump(exclude_unset=True)
        return cls(config.model_list, settings=settings, **options)

    # ---------------------------------------------------------------- the request

    async def aocr(
        self,
        model: str,
        document: Any,
        *,
        timeout: float | None = None,
        extra_body: dict[str, Any] | None = None,
        cache: bool | Literal["refresh"] = True,
        document_digest: str | None = None,
        request_id: str | None = None,
        shard_pages: int | EllipsisType | None = ...,
        partial: bool = False,
        tags: Sequence[str] | None = None,
        **params: Unpack[OCRParams],
    ) -> OCRResponse:
        """OCR `document` on a deployment of group `model` (or of its fallbacks).

        `params` are Mistral's OCR parameters (`pages`, `include_image_base64`, ...), validated
        before anything is sent; `timeout` (seconds) bounds the whole request, retries included.
        With a result cache (the `cache` setting), `cache=True` serves a stored answer when there
        is one and stores a fresh one; "refresh" skips the lookup but stores; False does neither.
        `document_digest` (`router.cache.document_digest` of the document) spares re-hashing a
        large document sent many times.
        `request_id` names the request on its events, log lines, span and error (1 to 128 of
        `[A-Za-z0-9._:-]`); one is made when not given (`call_info.request_id`).
        A PDF longer than `shard_pages` (default: the router's setting; None: only when no
        deployment can take it whole) is cut into shards served across deployments
        (router/sharding.py; each shard cached on its own, as the page range it is);
        `partial=True` then returns the pages that succeeded, the missing ones named in
        `call_info.missing`, instead of raising.
        `tags` keeps the request to deployments carrying at least one of them (LiteLLM's rule).
        """
        self._check_open()
        # The request's tags reach every job made for it, its shards' included (their tasks
        # copy this context), without the sharding knowing of them.
        tags_token = REQUEST_TAGS.set(checked_tags(tags))
        try:
            # A name no group has is "" on spans and metrics: clients' typos must not grow
            # label sets.
            with RequestScope(model if model in self._groups else "", request_id) as scope:
                response = await self._serve(
                    model,
                    document,
                    scope.request_id,
                    timeout=timeout,
                    extra_body=extra_body,
                    cache=cache,
                    document_digest=document_digest,
                    shard_pages=shard_pages,
                    partial=partial,
                    **params,
                )
                return scope.served(response)
        finally:
            REQUEST_TAGS.reset(tags_token)

    def ocr(
        self,
        model: str,
        document: Any,
        *,
        timeout: float | None = None,
        extra_body: dict[str, Any] | None = None,
        cache: bool | Literal["refresh"] = True,
        document_digest: str | None = None,
        request_id: str | None = None,
        shard_pages: int | EllipsisType | None = ...,
        partial: bool = False,
        tags: Sequence[str] | None = None,
        **params: Unpack[OCRParams],
    ) -> OCRResponse:
        """`aocr` for synchronous code: the same retries, fallbacks, cooldowns, cache and
        sharding, on the router's own loop thread (router/sync_bridge.py)."""
        self._check_open()
        coroutine = self.aocr(
            model,
            document,
            timeout=timeout,
            extra_body=extra_body,
            cache=cache,
            document_digest=document_digest,
            request_id=request_id,
            shard_pages=shard_pages,
            partial=partial,
            tags=tags,
            **params,
        )
        return self._sync.run(coroutine)

    async def _serve(
        self,
        model: str,
        document: Any,
        request_id: str,
        *,
        timeout: float | None,
        extra_body: dict[str, Any] | None,
        cache: bool | Literal["refresh"],
        document_digest: str | None,
        shard_pages: int | EllipsisType | None,
        partial: bool,
        **params: Any,
    ) -> OCRResponse:
        """`aocr` inside its request scope: sharded (router/sharding.py), or through the cache,
        else routed."""
        request = OCRRequest.build(document, extra_body=extra_body, **params)
        plan = self._plan(model)
        timeout = checked_timeout(timeout)
        now = self._clock()
        deadline = now + (timeout if timeout is not None else self.settings.timeout)
        digest = None
        if self.cache is not None and cache is not False:
            digest = document_digest or await adocument_digest(request.document)
        outcome = await serve_or_pass(
            self,
            request,
            plan,
            started=now,
            deadline=deadline,
            shard_pages=self._shard_pages(shard_pages),
            partial=partial,
            request_id=request_id,
            caching=None if digest is None else ShardCaching(model, cache, digest),
        )
        if isinstance(outcome, OCRResponse):
            return outcome
        key = self._cache_key(request, model, cache, digest)
        job = self._new_job(outcome, plan, deadline, request_id)
        return await self._through_cache(job, key, cache)

    def _plan(self, model: str) -> list[str]:
        """The groups to try, in order: `model`, then its fallbacks that exist."""
        if model not in self._groups:
            known = ", ".join(sorted(self._groups)) or "none"
            raise UnknownModelError(f"no deployment serves model {model!r} (model groups: {known})")
        fallbacks = self.settings.fallbacks.get(model, self.settings.default_fallbacks)
        plan = [model]
        plan.extend(group for group in fallbacks if group not in plan and group in self._groups)
        return plan

    def _shard_pages(self, given: int | EllipsisType | None) -> int | None:
        if given is ...:
            return self.settings.shard_pages
        if given is not None and (
            isinstance(given, bool) or not isinstance(given, int) or given < 1
        ):
            raise InvalidRequestError(
                "shard_pages must be a whole number >= 1, or None", field="shard_pages"
            )
        return given

    def _cache_key(
        self, request: OCRRequest, model: str, cache: bool | Literal["refresh"], digest: str | None
    ) -> str | None:
        """The result cache's key of `request` (its document's `digest`) in group `model`, None
        when not cached."""
        if self.cache is None or cache is False or digest is None:
            return None
        return result_key(digest, model, request_parameters(request))

    def _new_job(
        self,
        request: OCRRequest,
        plan: list[str],
        deadline: float,
        request_id: str,
        pages: int | None = None,
    ) -> Job:
        """One request's state; `pages` is how many it carries when known (a shard), else the
        pages asked for."""
        if pages is None:
            page_indexes = request.page_indexes
            pages = len(page_indexes) if page_indexes else None
        return Job(
            request=request,
            plan=plan,
            deadline=deadline,
            started=self._clock(),
            pages=pages,
            reserved_pages=pages or estimated_pages(None),
            request_id=request_id,
            tags=REQUEST_TAGS.get(),
        )

    # ---------------------------------------------------------------- through the result cache

    async def _through_cache(
        self,
        job: Job,
        key: str | None = None,
        cache: bool | Literal["refresh"] = True,
        adapt: Callable[[OCRResponse], OCRResponse] | None = None,
    ) -> OCRResponse:
        """The request through the result cache (under `key`, when given), else routed; a fresh
        answer goes through `adapt` before it is stored (a shard's, to its document's pages)."""
        if key is None or self.cache is None:
            response = await self._route(job)
            return response if adapt is None else adapt(response)
        leading = False
        if cache is True:
            hit, leading = await self._cached_or_lead(key, job)
            if hit is not None:
                return self._served_from_cache(hit, job)
        stored = False
        try:
            response = await self._route(job)
            if adapt is not None:
                response = adapt(response)
            stored = await self._store(key, response, job)
        finally:
            if leading:
                self.cache.in_flight.done(key, stored)
        return response

    async def _cached_or_lead(self, key: str, job: Job) -> tuple[CachedResult | None, bool]:
        """(the stored answer, or None and whether this request leads the identical ones in
        flight): an identical request already being sent is waited for, within the deadline."""
        assert self.cache is not None
        while True:
            hit = await self.cache.get(key)
            if hit is not None:
                return hit, False
            leader = self.cache.in_flight.follow(key)
            if leader is None:
                return None, True
            remaining = job.deadline - self._clock()
            if remaining <= 0:
                raise RequestTimeoutError("no answer within the deadline (an identical request)")
            # Waited for, never cancelled: the leader's future is shared by every follower.
            await asyncio.wait({leader}, timeout=remaining)
            if leader.done() and not leader.result():
                return None, False  # not stored: go out at once, beside the other followers

    def _served_from_cache(self, hit: CachedResult, job: Job) -> OCRResponse:
        """A stored answer, booked at no cost (the ledger counts what it saved)."""
        self._ledger.record_cached(job.plan[0], hit.pages, hit.usd)
        return hit.response.with_call_info(
            CallInfo(
                deployment_id=hit.deployment_id,
                provider=hit.provider,
                model=hit.model,
                latency_s=self._clock() - job.started,
                cost_usd=0.0,
                pages=hit.pages,
                group=hit.group,
                cached=True,
                saved_usd=None if hit.usd is None else float(hit.usd),
                request_id=job.request_id,
            )
        )

    async def _store(self, key: str, response: OCRResponse, job: Job) -> bool:
        """Put the answer in the cache; whether it was stored."""
        info, deployment = response.call_info, job.last_deployment
        if self.cache is None or info is None or deployment is None:
            return False
        usd = exact_cost(
            deployment, response.usage_info, annotated_request=job.request.is_annotated
        )
        return await self.cache.put(
            key,
            response,
            deployment_id=info.deployment_id,
            provider=info.provider,
            model=info.model,
            group=info.group or job.plan[0],
            usd=usd,
        )

    # ---------------------------------------------------------------- routing: the attempts

    async def _route(self, job: Job) -> OCRResponse:
        """The request's attempts over the deployments of its plan."""
        facts = request_facts(
            job.request, count_pages=self._envelope.max_pages < MAX_PAGES_PER_REQUEST
        )
        if not self._envelope.admits(facts):
            # Some deployment of the router cannot take this request: check each one it meets.
            job.facts = facts
            self._selection.refuse_if_nobody_can_take(job)
        self._retry_budget.deposit(job.started)
        # Most requests succeed at once: the first attempt runs before tenacity (whose set-up
        # costs more than the rest of the routing), and a failure is handed to it as attempt 1.
        try:
            return await self._attempt(job)
        except OCRRouterError as error:
            if not worth_retrying(error):
                raise self._final_error(error, job) from None
            first_failure = error
        return await self._retry(job, first_failure)

    async def _attempt(self, job: Job) -> OCRResponse:
        """One attempt: a deployment booked, the call, its outcome recorded. A deployment that
        refuses the request (router/fit.py) is replaced at once within the same attempt."""
        while True:
            deployment, probe = await self._acquire(job)
            job.last_deployment = deployment
            number = len(job.attempts) + 1
            reserved = job.reserved_pages
            started = time.perf_counter()
            try:
                response = await self._send(deployment, job)
                break
            except _DeadlinePassedError:
                # Nothing was sent: not the deployment's fault.
                self._unbook(deployment, probe, reserved)
                raise
            except OCRRouterError as error:
                latency = time.perf_counter() - started
                if not self._refused(job, deployment, error, latency, probe):
                    self._record_failure(job, deployment, error, latency, number, probe)
                    raise
                # This deployment cannot take the request: another may, at once, and neither
                # its health nor the caller's retries pay for it.
            except BaseException:
                self._unbook(deployment, probe, reserved)  # cancelled, or a bug: no verdict
                raise
        return self._record_success(job, deployment, response, started, reserved, number, probe)

    async def _acquire(self, job: Job) -> tuple[Deployment, bool]:
        """Choose a deployment (router/selection.py) and book it (in flight, rate window,
        probe), waiting in the queue for one to become usable if needed and possible within the
        deadline (router/waiting.py). (the deployment, whether this attempt is its probe)"""
        waiter: Waiter | None = None
        served = False
        try:
            while True:
                now = self._clock()
                if waiter is not None:
                    waiter.looking()
                deployment, out = self._selection.select(job, now)
                if deployment is not None:
                    # Booked with no await in between, so no other request takes the same slot.
                    self._limits.acquire(deployment, job.reserved_pages, now)
                    if self._limits.needs_reservation(deployment) and not await self._reserve(
                        deployment, job.reserved_pages, now
                    ):
                        continue
                    served = True
                    return deployment, self._health.begin(deployment.id, now)
                first_return = earliest_return(out)
                wake_at = wake_time(out, first_return, now, job.deadline)
                if wake_at is None:
                    raise self._nothing_available(job, out, now, first_return)
                if waiter is None:
                    waiter = self._waiters.join()
                await waiter.wait(max(wake_at - now, 0.0))
        finally:
            if waiter is not None:
                self._waiters.leave(waiter, served=served)

    async def _reserve(self, deployment: Deployment, pages: int, now: float) -> bool:
        """Book `pages` of a shared state's quota across processes (one atomic round trip);
        refused, the local booking is given back and the local copy now shows it full."""
        try:
            reserved = await self._limits.reserve(deployment, pages, now)
        except BaseException:
            self._limits.release(deployment, pages, 0, now)
            raise
        if not reserved:
            self._limits.release(deployment, pages, 0, now)
        return reserved

    def _nothing_available(
        self, job: Job, out: Mapping[str, Out], now: float, first_return: float | None
    ) -> OCRRouterError:
        """What a request finding no deployment usable, and none back in time, is told."""
        if job.refused and all(why.fit for why in out.values()):
            # Every deployment refused the request or cannot take it: the last refusal (its
            # class and status as the host gave them), with every deployment's reason.
            error = list(job.refused.values())[-1]
            if not error.every_deployment_refused:
                error.every_deployment_refused = True
                reasons = {deployment_id: why.reason for deployment_id, why in out.items()}
                error.message = (
                    f"{error.message}; no other deployment of {', '.join(job.plan)} can take "
                    "it: " + describe_unfit(reasons, job.facts or _NO_FACTS)
                )
                error.args = (error.message,)
            return error
        lines = []
        for deployment_id, why in out.items():
            when = "" if why.until is None else f", returns in {max(why.until - now, 0.0):.2f} s"
            lines.append(f"{deployment_id}: {why.reason}{when}")
        left = max(job.deadline - now, 0.0)
        return NoDeploymentAvailableError(
            f"no deployment of {', '.join(job.plan)} can take the request within its deadline "
            f"({left:.2f} s left): " + "; ".join(lines),
            retry_after=None if first_return is None else max(first_return - now, 0.0),
            unavailable={deployment_id: why.reason for deployment_id, why in out.items()},
        )

    async def _send(self, deployment: Deployment, job: Job) -> OCRResponse:
        remaining = job.deadline - self._clock()
        limit = remaining if deployment.timeout is None else min(remaining, deployment.timeout)
        if limit <= 0:
            raise _DeadlinePassedError("the request's deadline passed before it could be sent")
        client = self._client_for_running_loop()
        try:
            # The provider bounds each phase of the call; this bounds the call as a whole.
            async with asyncio.timeout(limit):
                return await deployment.provider.send(job.request, client, timeout=limit)
        except TimeoutError:
            raise RequestTimeoutError(f"no answer within {limit:.3g} s") from None
        except OCRRouterError as error:
            error.provider = deployment.provider_name
            raise

    def _client_for_running_loop(self) -> httpx.AsyncClient:
        """The client to send with on the running loop (router/pools.py)."""
        return self._clients.for_running_loop(self._sync.loop)

    def _record_success(
        self,
        job: Job,
        deployment: Deployment,
        response: OCRResponse,
        started: float,
        reserved: int,
        number: int,
        probe: bool,
    ) -> OCRResponse:
        """Book a served attempt (limits, health, latency, cost), tell the hooks, and return the
        response with its `call_info`."""
        latency = time.perf_counter() - started
        processed = response.usage_info.total_pages  # Azure counts annotated pages apart
        now = self._clock()
        self._limits.release(deployment, reserved, processed, now)
        self._health.record_success(deployment.id, now, probe=probe)
        self._state.observe_latency(deployment.id, latency / max(processed, 1), now)
        usd = exact_cost(
            deployment, response.usage_info, annotated_request=job.request.is_annotated
        )
        self._ledger.record(deployment, processed, usd, now)
        self._waiters.changed()
        cost = None if usd is None else float(usd)
        job.attempts.append(Attempt(deployment.id, deployment.provider_name, latency))
        if listened(self._hooks, "success"):  # most calls: nobody listens
            emit(
                self._hooks,
                RouterEvent(
                    kind="success",
                    deployment_id=deployment.id,
                    provider=deployment.provider_name,
                    group=deployment.group,
                    attempt=number,
                    latency_s=latency,
                    pages=processed,
                    cost_usd=cost,
                    request_id=job.request_id,
                    model=deployment.model,
                ),
            )
        return response.with_call_info(
            CallInfo(
                deployment_id=deployment.id,
                provider=deployment.provider_name,
                model=deployment.model,
                latency_s=now - job.started,
                cost_usd=cost,
                pages=processed,
                attempts=tuple(job.attempts),
                group=deployment.group,
                request_id=job.request_id,
            )
        )

    def _refused(
        self,
        job: Job,
        deployment: Deployment,
        error: OCRRouterError,
        latency: float,
        probe: bool,
    ) -> bool:
        """Book `error` as `deployment`'s refusal of this request when it is one (router/fit.py)
        and some other deployment is left to try; False when it is an ordinary failure."""
        if refusal_reason(error) is None or len(job.refused) >= MAX_REFUSALS:
            return False
        error.deployment_id = deployment.id
        error.provider = deployment.provider_name
        self._unbook(deployment, probe, job.reserved_pages)
        job.refused[deployment.id] = error
        job.attempts.append(
            Attempt(deployment.id, deployment.provider_name, latency, describe_error(error))
        )
        return True

    def _unbook(self, deployment: Deployment, probe: bool, reserved: int) -> None:
        """Give back what `_acquire` booked for an attempt that ended without a verdict."""
        if probe:
            self._health.release_probe(deployment.id)
        self._limits.release(deployment, reserved, 0, self._clock())
        self._waiters.changed()

    def _record_failure(
        self,
        job: Job,
        deployment: Deployment,
        error: OCRRouterError,
        latency: float,
        number: int,
        probe: bool,
    ) -> None:
        error.deployment_id = deployment.id
        error.provider = deployment.provider_name
        # What the caller (and the proxy's Retry-After) is told is what the cooldown honours.
        error.retry_after = self._health.retry_after_of(error)
        job.last_error = error
        now = self._clock()
        label = describe_error(error)
        self._limits.release(deployment, job.reserved_pages, 0, now)
        until = self._health.record_failure(deployment.id, error, now, probe=probe)
        if worth_retrying(error):
            self._state.observe_failure(deployment.id, now)  # a failure is a slow sample
        job.failed.add(deployment.id)
        job.attempts.append(Attempt(deployment.id, deployment.provider_name, latency, label))
        self._waiters.changed()
        failure = RouterEvent(
            kind="failure",
            deployment_id=deployment.id,
            provider=deployment.provider_name,
            group=deployment.group,
            attempt=number,
            latency_s=latency,
            error=label,
            request_id=job.request_id,
            model=deployment.model,
        )
        emit(self._hooks, failure)
        if until is not None:
            reason = self._health.availability(deployment.id, now).reason
            emit(
                self._hooks,
                replace(
                    failure, kind="cooldown", latency_s=None, cooldown_until=until, reason=reason
                ),
            )

    # ---------------------------------------------------------------- routing: the retries

    async def _retry(self, job: Job, first_failure: OCRRouterError) -> OCRResponse:
        """The attempts after a first one failed with `first_failure`, under tenacity (which
        counts that failure as its attempt 1): backoff, stop conditions and retry events."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(worth_retrying),
            wait=lambda state: self._wait_before_retry(job, state),
            stop=lambda state: self._stop_retrying(job, state),
            before_sleep=lambda state: self._announce_retry(job, state),
            sleep=backoff_sleep,
            reraise=True,
        )
        pending: OCRRouterError | None = first_failure
        try:
            async for attempt in retrying:
                with attempt:
                    if pending is not None:
                        failure, pending = pending, None
                        raise failure
                    return await self._attempt(job)
        except OCRRouterError as error:
            raise self._final_error(error, job) from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _wait_before_retry(self, job: Job, state: RetryCallState) -> float:
        """No wait when an untried deployment (or a fallback) is usable; backoff otherwise."""
        now = self._clock()
        if self._selection.untried_in_large_tier(job, now):
            return 0.0
        untried, retried, _ = self._selection.candidates(job, now)
        if untried or not retried:
            # Nothing usable at all: `_acquire` waits for the first to return, no need to add.
            return 0.0
        return max(0.0, min(self._backoff(state), job.deadline - now))

    def _stop_retrying(self, job: Job, state: RetryCallState) -> bool:
        now = self._clock()
        if state.attempt_number >= self.settings.num_retries + len(job.plan):
            return True
        if now + state.upcoming_sleep >= job.deadline:
            return True
        return not self._retry_budget.withdraw(now)

    def _announce_retry(self, job: Job, state: RetryCallState) -> None:
        deployment = job.last_deployment
        outcome = state.outcome
        if deployment is None or outcome is None:
            return
        error = outcome.exception()
        emit(
            self._hooks,
            RouterEvent(
                kind="retry",
                deployment_id=deployment.id,
                provider=deployment.provider_name,
                group=deployment.group,
                attempt=state.attempt_number,
                error=None if error is None else describe_error(error),
                request_id=job.request_id,
                model=deployment.model,
            ),
        )

    def _final_error(self, error: OCRRouterError, job: Job) -> OCRRouterError:
        """The error to raise, with every attempt listed in its message.

        When deployments failed this request and then none was left to try, the last upstream
        error is raised (it says what went wrong: a wrong key, a rate limit), with the reason
        nothing was left appended; `NoDeploymentAvailableError` is raised as itself only when
        this request found every deployment already out."""
        upstream = job.last_error
        if isinstance(error, NoDeploymentAvailableError) and upstream is not None:
            upstream.message = f"{upstream.message}; then {error.message}"
            error = upstream
        if len(job.attempts) > 1 or error is upstream:
            tried = "; ".join(f"{a.deployment_id}: {a.error or 'ok'}" for a in job.attempts)
            error.message = f"{error.message} (attempts: {tried})"
        error.args = (error.message,)
        return error

    # ---------------------------------------------------------------- introspection

    def groups(self) -> list[str]:
        return list(self._groups)

    def deployments(self, group: str | None = None) -> list[Deployment]:
        if group is None:
            return list(self._deployments)
        return list(self._groups.get(group, ()))

    def add_hook(self, hook: Hook) -> None:
        """Give `hook` every later `RouterEvent` too (the proxy attaches its metrics this way)."""
        self._hooks = (*self._hooks, hook)

    @property
    def ledger(self) -> CostLedger:
        """The cost ledger: work done outside `aocr` (Batch API results) is booked here."""
        return self._ledger

    def costs(self) -> CostReport:
        """Totals (requests, pages, USD) per deployment, group and provider, and overall."""
        return self._ledger.report()

    def health(self) -> dict[str, DeploymentHealth]:
        """Each deployment's circuit state, in-flight count and failure streak."""
        now = self._clock()
        report: dict[str, DeploymentHealth] = {}
        for deployment in self._deployments:
            availability = self._health.availability(deployment.id, now)
            report[deployment.id] = DeploymentHealth(
                deployment_id=deployment.id,
                group=deployment.group,
                provider=deployment.provider_name,
                status=availability.status,
                cooldown_until=availability.until,
                reason=availability.reason,
                in_flight=self._state.in_flight(deployment.id),
                consecutive_failures=availability.consecutive_failures,
            )
        return report

    # ---------------------------------------------------------------- lifetime

    def _check_open(self) -> None:
        if self._closed:
            raise RouterClosedError(f"{self!r} is closed: make a new Router to send more requests")

    @property
    def _sync_thread(self) -> Thread | None:
        """The synchronous API's loop thread, while it runs."""
        return self._sync.thread

    async def drop_connections(self) -> None:
        """Close this loop's connection pool; the next request opens a new one. Unlike
        `aclose`, the Router stays usable (for a long-lived process that wants its idle
        connections gone, or a memory measurement that must not count them)."""
        await self._clients.close_running()

    async def aclose(self) -> None:
        """Close the connection pools the router owns and stop its sync thread. Closing twice
        is harmless; any other use after closing raises `RouterClosedError`."""
        self._closed = True
        await finish_hooks()  # async hooks still running get their last events out
        await self._clients.close_running()
        self._close_other_pools()
        if self.cache is not None:
            self.cache.close()
        if self._close_state is not None:
            # Pushes what is pending to Redis (bounded wait): off this loop, it blocks.
            await asyncio.get_running_loop().run_in_executor(None, self._close_state)

    def close(self) -> None:
        """`aclose` for synchronous code."""
        self._closed = True
        loop = self._sync.loop
        if loop is not None and not self._sync.on_own_thread():
            asyncio.run_coroutine_threadsafe(finish_hooks(), loop).result()
        self._close_other_pools()
        if self.cache is not None:
            self.cache.close()
        if self._close_state is not None:
            self._close_state()

    def _close_other_pools(self) -> None:
        """Close each pool on its own loop where it can be, then stop the sync thread."""
        loop, thread = self._sync.release()
        self._clients.close_all(sync_loop=loop)
        if loop is not None:
            stop(loop, thread)

    async def __aenter__(self) -> Router:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __enter__(self) -> Router:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        groups = getattr(self, "_groups", {})  # complete even if __init__ failed half-way
        listed = ", ".join(f"{name}: {len(members)}" for name, members in groups.items())
        return f"Router({listed})"


def _secret(value: Any) -> str:
    return str(value.get_secret_value())


def _close_at_exit(reference: weakref.ref[Router]) -> None:
    """The sync bridge's exit hook: close the Router if it is still there and open."""
    router = reference()
    if router is not None and not router._closed:
        router.close()


__all__ = [
    "DeploymentHealth",
    "NoDeploymentAvailableError",
    "Router",
    "UnknownModelError",
]
