"""Vertex access tokens: minted once and shared, refreshed before expiry, never minted per
request, never shown; from a static value, a callable, a service account or default credentials.

The service-account test signs a real JWT with a freshly generated RSA key and exchanges it at a
token endpoint served by aiohttp on 127.0.0.1, as google-auth would with Google's."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from loopback_site import serving
from provider_helpers import OCR_OK, Recorder, mock_client

from providers import create_provider
from providers.base import ProviderSettings
from providers.vertex_ai import VertexAIProvider
from providers.vertex_auth import (
    CallableTokenSource,
    GoogleCredentialsTokenSource,
    StaticTokenSource,
    token_source_from_settings,
)
from router.errors import AuthenticationError, ConfigError, OCRRouterError
from router.types import OCRRequest

PDF_URI = "data:application/pdf;base64,JVBERi0xLjQKJSVFT0YK"
MINTED_TOKEN = "ya29.minted-by-loopback-endpoint"


def vertex(**settings: Any) -> VertexAIProvider:
    provider = create_provider("vertex_ai/mistral-ocr-2505", project="proj-1", **settings)
    assert isinstance(provider, VertexAIProvider)
    return provider


async def concurrent_sends(provider: VertexAIProvider, count: int) -> Recorder:
    recorder = Recorder()
    async with mock_client(recorder) as client:
        await asyncio.gather(
            *(provider.send(OCRRequest.build(PDF_URI), client) for _ in range(count))
        )
    return recorder


def authorizations(recorder: Recorder) -> set[str]:
    return {request.headers["authorization"] for request in recorder.posts}


# --- static tokens ------------------------------------------------------------------------------


async def test_a_static_token_is_sent_as_bearer() -> None:
    recorder = await concurrent_sends(vertex(token="ya29.static"), 3)
    assert authorizations(recorder) == {"Bearer ya29.static"}


async def test_api_key_is_taken_as_a_static_token_for_convenience() -> None:
    recorder = await concurrent_sends(vertex(api_key="ya29.from-api-key"), 1)
    assert authorizations(recorder) == {"Bearer ya29.from-api-key"}


def test_token_wins_over_credentials_and_api_key() -> None:
    settings = ProviderSettings(
        model="m", token="ya29.t", api_key="k", credentials={"type": "service_account"}
    )
    assert isinstance(token_source_from_settings(settings), StaticTokenSource)


# --- callables ----------------------------------------------------------------------------------


async def test_a_sync_callable_is_called_once_for_many_concurrent_sends() -> None:
    calls: list[int] = []

    def mint() -> str:
        calls.append(1)
        return "ya29.from-callable"

    recorder = await concurrent_sends(vertex(token=mint), 50)
    assert len(calls) == 1
    assert authorizations(recorder) == {"Bearer ya29.from-callable"}


async def test_an_async_callable_is_called_once_for_many_concurrent_sends() -> None:
    calls: list[int] = []

    async def mint() -> tuple[str, float]:
        calls.append(1)
        await asyncio.sleep(0.01)  # let every other send queue up behind the lock
        return "ya29.async", 4_000_000_000.0

    recorder = await concurrent_sends(vertex(token=mint), 50)
    assert len(calls) == 1
    assert authorizations(recorder) == {"Bearer ya29.async"}


async def test_a_token_that_expired_is_minted_again() -> None:
    calls: list[int] = []

    def mint() -> tuple[str, float]:
        calls.append(1)
        return f"ya29.token-{len(calls)}", 1.0  # 1970: already expired

    provider = vertex(token=mint)
    first = await concurrent_sends(provider, 1)
    second = await concurrent_sends(provider, 1)
    assert len(calls) == 2
    assert authorizations(first) == {"Bearer ya29.token-1"}
    assert authorizations(second) == {"Bearer ya29.token-2"}


@dataclass
class Clock:
    now: float = 1_000_000.0
    calls: list[int] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now


async def test_the_token_is_refreshed_five_minutes_before_expiry_not_per_request() -> None:
    clock = Clock()
    minted: list[float] = []

    def mint() -> tuple[str, float]:
        minted.append(clock.now)
        return f"ya29.n{len(minted)}", clock.now + 3600

    source = CallableTokenSource(mint, clock=clock)
    provider = VertexAIProvider(ProviderSettings(model="m", project="p"), token_source=source)
    await concurrent_sends(provider, 5)
    clock.now += 3600 - 301  # just before the refresh margin
    await concurrent_sends(provider, 5)
    assert len(minted) == 1
    clock.now += 2  # inside the last five minutes
    recorder = await concurrent_sends(provider, 5)
    assert len(minted) == 2
    assert authorizations(recorder) == {"Bearer ya29.n2"}


async def test_a_callable_without_expiry_is_kept_for_55_minutes() -> None:
    clock = Clock()
    calls: list[int] = []

    def mint() -> str:
        calls.append(1)
        return "ya29.no-expiry"

    source = CallableTokenSource(mint, clock=clock)
    await source.token()
    clock.now += 49 * 60
    await source.token()
    assert len(calls) == 1
    clock.now += 2 * 60  # 51 minutes: inside the refresh margin of the assumed 55
    await source.token()
    assert len(calls) == 2


async def test_a_401_from_vertex_drops_the_cached_token() -> None:
    calls: list[int] = []

    def mint() -> str:
        calls.append(1)
        return f"ya29.attempt-{len(calls)}"

    provider = vertex(token=mint)
    refused = Recorder(lambda request: httpx.Response(401, json={"error": {"code": 401}}))
    async with mock_client(refused) as client:
        with pytest.raises(AuthenticationError):
            await provider.send(OCRRequest.build(PDF_URI), client)
    recorder = await concurrent_sends(provider, 1)
    assert len(calls) == 2
    assert authorizations(recorder) == {"Bearer ya29.attempt-2"}


async def test_a_late_401_for_an_old_token_does_not_drop_the_token_that_replaced_it() -> None:
    calls: list[int] = []

    def mint() -> str:
        calls.append(1)
        return f"ya29.attempt-{len(calls)}"

    release_slow_refusal = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer ya29.attempt-1":  # revoked
            if request.headers.get("x-slow") == "1":
                await release_slow_refusal.wait()
            return httpx.Response(401, json={"error": {"code": 401}})
        return httpx.Response(200, json=OCR_OK)

    provider = vertex(token=mint)
    slow_sender = vertex(token=mint, headers={"x-slow": "1"})
    slow_sender.token_source = provider.token_source  # both send with the one shared token
    async with mock_client(Recorder(answer)) as client:
        slow = asyncio.ensure_future(slow_sender.send(OCRRequest.build(PDF_URI), client))
        await asyncio.sleep(0)  # the slow request leaves with attempt-1 and waits for its 401
        with pytest.raises(AuthenticationError):
            await provider.send(OCRRequest.build(PDF_URI), client)  # attempt-1 refused
        await provider.send(OCRRequest.build(PDF_URI), client)  # attempt-2 minted, accepted
        release_slow_refusal.set()
        with pytest.raises(AuthenticationError):
            await slow  # the 401 that attempt-1 earned arrives after attempt-2 was minted
        await provider.send(OCRRequest.build(PDF_URI), client)
    # attempt-2 was never refused: it is kept, not minted again for every stale 401.
    assert len(calls) == 2


async def test_a_failing_callable_is_an_authentication_error_without_its_secret() -> None:
    def mint() -> str:
        raise RuntimeError("vault said no")

    provider = vertex(token=mint)
    with pytest.raises(AuthenticationError, match="vault said no"):
        await concurrent_sends(provider, 1)


async def test_a_callable_returning_something_else_is_a_clear_error() -> None:
    provider = vertex(token=lambda: 42)
    with pytest.raises(AuthenticationError, match="must return a str"):
        await concurrent_sends(provider, 1)


# --- service accounts over a real loopback token endpoint ---------------------------------------


@dataclass
class TokenEndpoint:
    url: str
    hits: list[dict[str, str]]
    status: int = 200


@pytest.fixture
async def token_endpoint() -> AsyncIterator[TokenEndpoint]:
    endpoint = TokenEndpoint(url="", hits=[])

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        endpoint.hits.append({key: str(value) for key, value in form.items()})
        await asyncio.sleep(0.05)  # a slow mint lets concurrent sends pile up on the lock
        if endpoint.status != 200:
            return web.json_response(
                {"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
                status=endpoint.status,
            )
        return web.json_response(
            {"access_token": MINTED_TOKEN, "expires_in": 3600, "token_type": "Bearer"}
        )

    app = web.Application()
    app.router.add_post("/token", token)
    async with serving(app) as base:
        endpoint.url = f"{base}/token"
        yield endpoint


@pytest.fixture(scope="module")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def service_account(private_key_pem: str, token_uri: str) -> dict[str, str]:
    return {
        "type": "service_account",
        "project_id": "proj-1",
        "private_key_id": "0123456789abcdef",
        "private_key": private_key_pem,
        "client_email": "ocr@proj-1.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    }


@pytest.mark.parametrize("form", ["path", "json-text", "dict"])
async def test_a_service_account_mints_once_for_twenty_concurrent_sends(
    form: str, tmp_path: Path, private_key_pem: str, token_endpoint: TokenEndpoint
) -> None:
    info = service_account(private_key_pem, token_endpoint.url)
    credentials: Any = info
    if form == "path":
        path = tmp_path / "sa.json"
        path.write_text(json.dumps(info))
        credentials = str(path)
    elif form == "json-text":
        credentials = json.dumps(info)
    provider = vertex(vertex_credentials=credentials)
    recorder = await concurrent_sends(provider, 20)
    assert len(token_endpoint.hits) == 1
    assert token_endpoint.hits[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert authorizations(recorder) == {f"Bearer {MINTED_TOKEN}"}
    await concurrent_sends(provider, 5)
    assert len(token_endpoint.hits) == 1  # an hour-long token is reused, not re-minted


async def test_nothing_shows_the_private_key_or_the_token(
    private_key_pem: str, token_endpoint: TokenEndpoint
) -> None:
    info = service_account(private_key_pem, token_endpoint.url)
    provider = vertex(vertex_credentials=info)
    await concurrent_sends(provider, 1)
    echo = Recorder(
        lambda request: httpx.Response(
            403, json={"error": {"code": 403, "message": f"token {MINTED_TOKEN} denied"}}
        )
    )
    async with mock_client(echo) as client:
        with pytest.raises(OCRRouterError) as caught:
            await provider.send(OCRRequest.build(PDF_URI), client)
    key_line = private_key_pem.splitlines()[1]
    shown = [
        repr(provider),
        str(provider),
        repr(provider.settings),
        str(provider.settings),
        repr(provider.token_source),
        str(caught.value),
        repr(caught.value),
    ]
    for text in shown:
        assert key_line not in text
        assert MINTED_TOKEN not in text
    assert "[redacted]" in str(caught.value)


async def test_a_refused_service_account_is_an_authentication_error(
    private_key_pem: str, token_endpoint: TokenEndpoint
) -> None:
    token_endpoint.status = 400
    provider = vertex(vertex_credentials=service_account(private_key_pem, token_endpoint.url))
    with pytest.raises(AuthenticationError) as caught:
        await concurrent_sends(provider, 1)
    assert "invalid_grant" in str(caught.value)
    assert private_key_pem.splitlines()[1] not in str(caught.value)


@pytest.mark.parametrize(
    ("credentials", "complaint"),
    [
        ("{not json", "not valid JSON"),
        ("/nonexistent/sa.json", "neither JSON nor a readable file"),
        ('["a list"]', "must be a JSON object"),
        ({"type": "service_account"}, "not a usable service-account key"),
    ],
)
def test_unusable_credentials_fail_at_construction_without_echoing_them(
    credentials: Any, complaint: str
) -> None:
    with pytest.raises(ConfigError, match=complaint) as caught:
        vertex(vertex_credentials=credentials)
    if isinstance(credentials, str):
        assert credentials not in str(caught.value)


def test_a_missing_google_auth_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (
        "google.auth",
        "google.auth.transport.requests",
        "google.oauth2.service_account",
    ):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigError, match=r"pip install 'ocr-router\[vertex\]'"):
        vertex(vertex_credentials={"type": "service_account"})


# --- application default credentials ------------------------------------------------------------


class FakeDefaultCredentials:
    def __init__(self) -> None:
        self.token: str | None = None
        self.expiry: datetime | None = None
        self.refreshes = 0

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = "ya29.adc"
        # google-auth's expiry is a naive UTC datetime
        self.expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)


async def test_default_credentials_are_looked_up_at_first_use_then_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import google.auth

    credentials = FakeDefaultCredentials()
    lookups: list[Any] = []

    def fake_default(scopes: Any = None, **kwargs: Any) -> tuple[Any, str]:
        lookups.append(scopes)
        return credentials, "proj-1"

    monkeypatch.setattr(google.auth, "default", fake_default)
    provider = vertex()
    assert isinstance(provider.token_source, GoogleCredentialsTokenSource)
    assert lookups == []  # building the provider does not probe the metadata server
    recorder = await concurrent_sends(provider, 10)
    assert lookups == [["https://www.googleapis.com/auth/cloud-platform"]]
    assert credentials.refreshes == 1
    assert authorizations(recorder) == {"Bearer ya29.adc"}


async def test_missing_default_credentials_are_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import google.auth
    import google.auth.exceptions

    def no_default(scopes: Any = None, **kwargs: Any) -> Any:
        raise google.auth.exceptions.DefaultCredentialsError("Could not find credentials")

    monkeypatch.setattr(google.auth, "default", no_default)
    with pytest.raises(ConfigError, match="no Google credentials"):
        await concurrent_sends(vertex(), 1)


async def test_one_provider_works_across_event_loops() -> None:
    # Sync callers run a new event loop per call; the token lock must not be tied to the first.
    calls: list[int] = []

    def mint() -> str:
        calls.append(1)
        return "ya29.loops"

    provider = vertex(token=mint)

    def run_in_new_loop() -> Recorder:
        return asyncio.run(concurrent_sends(provider, 3))

    first = await asyncio.to_thread(run_in_new_loop)
    second = await asyncio.to_thread(run_in_new_loop)
    assert authorizations(first) == authorizations(second) == {"Bearer ya29.loops"}
    assert len(calls) == 1


async def test_requests_queued_behind_a_failing_mint_share_its_error() -> None:
    calls: list[int] = []

    async def mint() -> str:
        calls.append(1)
        await asyncio.sleep(0.01)
        raise RuntimeError("token service down")

    provider = vertex(token=mint)
    recorder = Recorder()
    async with mock_client(recorder) as client:
        results = await asyncio.gather(
            *(provider.send(OCRRequest.build(PDF_URI), client) for _ in range(20)),
            return_exceptions=True,
        )
    assert all(isinstance(result, AuthenticationError) for result in results)
    assert len(calls) == 1
    assert recorder.requests == []
    with pytest.raises(AuthenticationError):  # a later request tries again
        await concurrent_sends(provider, 1)
    assert len(calls) == 2


async def test_a_short_lived_token_is_kept_for_half_its_life() -> None:
    clock = Clock()
    calls: list[int] = []

    def mint() -> tuple[str, float]:
        calls.append(1)
        return "ya29.short", clock.now + 240  # four minutes: less than the refresh margin

    source = CallableTokenSource(mint, clock=clock)
    await source.token()
    clock.now += 119
    await source.token()
    assert len(calls) == 1
    clock.now += 2
    await source.token()
    assert len(calls) == 2


async def test_a_failed_early_refresh_keeps_using_the_token_until_it_really_expires() -> None:
    clock = Clock()
    calls: list[int] = []

    def mint() -> tuple[str, float]:
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("token service down")
        return "ya29.still-valid", clock.now + 3600

    source = CallableTokenSource(mint, clock=clock)
    await source.token()
    clock.now += 3600 - 60  # inside the refresh margin, a minute before the real expiry
    # The refresh fails, but the cached token is still good for a minute: use it.
    results = await asyncio.gather(*(source.token() for _ in range(5)))
    assert results == ["ya29.still-valid"] * 5
    assert len(calls) == 2  # the requests queued behind the failed refresh share its outcome
    await source.token()
    assert len(calls) == 2  # and the next ones do not retry the refresh at once
    clock.now += 16
    assert await source.token() == "ya29.still-valid"
    assert len(calls) == 3  # but 15 s later they do
    clock.now += 61  # now it has expired: the failure shows
    with pytest.raises(AuthenticationError, match="token service down"):
        await source.token()


async def test_a_token_the_server_refused_is_not_reused_when_the_refresh_fails() -> None:
    clock = Clock()
    calls: list[int] = []

    def mint() -> tuple[str, float]:
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("token service down")
        return "ya29.revoked", clock.now + 3600

    source = CallableTokenSource(mint, clock=clock)
    await source.token()
    source.invalidate("ya29.revoked")
    with pytest.raises(AuthenticationError, match="token service down"):
        await source.token()
