"""Azure Entra ID: a static or callable azure_ad_token, or a credential object, minted once,
cached and refreshed like Vertex's tokens, for the Cognitive Services scope. No real network:
a fake credential stands in for azure-identity, the Azure fake checks the bearer token."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from providers import create_provider
from providers.azure_auth import COGNITIVE_SERVICES_SCOPE, AzureCredentialTokenSource
from providers.fake import FakeProvider
from router.errors import AuthenticationError, ConfigError
from router.types import OCRRequest

TOKEN = "entra-token-Zq81xLw"
IMAGE = "data:image/png;base64,iVBORw0KGgo="
BASE = "https://r.services.ai.azure.com"


class FakeCredential:
    """azure-identity's TokenCredential as far as the provider uses it."""

    def __init__(
        self, tokens: list[str], clock: Callable[[], float] = time.time, lifetime_s: float = 3600
    ) -> None:
        self.tokens = tokens
        self.clock = clock
        self.lifetime_s = lifetime_s
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str) -> Any:
        self.scopes.append(scopes)
        time.sleep(0.01)  # a real credential blocks on HTTP: many callers overlap
        token = self.tokens[min(len(self.scopes), len(self.tokens)) - 1]
        return SimpleNamespace(token=token, expires_on=int(self.clock() + self.lifetime_s))


async def send_many(provider: Any, fake: FakeProvider, count: int) -> list[Any]:
    async with httpx.AsyncClient(transport=fake.mock_transport()) as client:
        request = OCRRequest.build(IMAGE)
        return await asyncio.gather(*(provider.send(request, client) for _ in range(count)))


def azure(**settings: Any) -> Any:
    return create_provider("azure_ai/mistral-ocr-4-0", api_base=BASE, **settings)


async def test_a_static_token_replaces_the_key() -> None:
    fake = FakeProvider("azure_ai", api_key=TOKEN)
    (response,) = await send_many(azure(azure_ad_token=TOKEN), fake, 1)
    assert response.pages
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_callable_is_called_once_for_twenty_concurrent_calls(kind: str) -> None:
    calls: list[int] = []

    def sync_token() -> tuple[str, float]:
        calls.append(1)
        time.sleep(0.01)
        return TOKEN, time.time() + 3600

    async def async_token() -> tuple[str, float]:
        calls.append(1)
        await asyncio.sleep(0.01)
        return TOKEN, time.time() + 3600

    function: Callable[[], Any] = sync_token if kind == "sync" else async_token
    fake = FakeProvider("azure_ai", api_key=TOKEN)
    responses = await send_many(azure(azure_ad_token=function), fake, 20)
    assert len(responses) == 20 and fake.outcomes == {"ok": 20}
    assert len(calls) == 1


async def test_a_credential_is_asked_for_the_cognitive_services_scope_once() -> None:
    credential = FakeCredential([TOKEN])
    fake = FakeProvider("azure_ai", api_key=TOKEN)
    await send_many(azure(azure_credential=credential), fake, 20)
    assert credential.scopes == [(COGNITIVE_SERVICES_SCOPE,)]
    assert COGNITIVE_SERVICES_SCOPE == "https://cognitiveservices.azure.com/.default"


async def test_a_token_near_expiry_is_refreshed_and_a_refused_one_dropped() -> None:
    now = [1_000_000.0]
    credential = FakeCredential(["entra-old-1", "entra-new-2", "entra-new-3"], lambda: now[0])
    source = AzureCredentialTokenSource(credential, clock=lambda: now[0])
    provider = create_provider(
        "azure_ai/mistral-ocr-4-0", api_base=BASE, azure_credential=credential
    )
    provider.token_source = source
    assert await source.token() == "entra-old-1"
    now[0] += 3600  # past the refresh margin: a new token
    assert await source.token() == "entra-new-2"
    fake = FakeProvider("azure_ai", api_key="entra-new-3")  # the host refuses entra-new-2
    with pytest.raises(AuthenticationError) as refused:
        await send_many(provider, fake, 1)
    assert "entra-new-2" not in str(refused.value)
    (response,) = await send_many(provider, fake, 1)  # minted again after the 401
    assert response.pages and len(credential.scopes) == 3


async def test_a_failing_credential_is_an_authentication_error_without_secrets() -> None:
    class Refusing:
        def get_token(self, *scopes: str) -> Any:
            raise RuntimeError("AADSTS7000215: Invalid client secret provided: s3cr3t-value")

    with pytest.raises(AuthenticationError, match="Entra ID refused") as refused:
        await send_many(azure(azure_credential=Refusing()), FakeProvider("azure_ai"), 1)
    assert "s3cr3t-value" not in str(refused.value)


def test_entra_settings_that_cannot_work_fail_when_the_provider_is_built() -> None:
    with pytest.raises(ConfigError, match="tenant_id, client_id and client_secret"):
        azure(tenant_id="t", client_id="c")
    with pytest.raises(ConfigError, match="get_token"):
        azure(azure_credential=object())
    if importlib.util.find_spec("azure") is None:  # without the extra: its name in the error
        with pytest.raises(ConfigError, match=r"ocr-router\[azure\]"):
            azure(enable_azure_ad_token_refresh=True)
        with pytest.raises(ConfigError, match=r"ocr-router\[azure\]"):
            azure(tenant_id="t", client_id="c", client_secret="s")


def test_a_key_is_still_required_without_entra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_AI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="no API key"):
        azure()
