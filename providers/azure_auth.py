"""Azure Entra ID tokens for Azure AI Foundry, cached and refreshed as Vertex's are.

Besides a key, Foundry takes a bearer token for the scope
`https://cognitiveservices.azure.com/.default` (the scope LiteLLM's Azure AI client asks for
since 1.100; checked 2026-12-01). Minting one
is a network round trip that Entra rate-limits, so tokens are minted once, shared by every
request and refreshed before they expire, by the same `CachedTokenSource` that serves Vertex
(`providers.vertex_auth`): one mint for a hundred concurrent first requests, the old token kept
while a refresh inside the margin fails, a 401 dropping the refused token.

Where a token comes from (`azure_token_source`), first match wins:

1. `azure_ad_token` as a string: a static token (the caller renews it);
2. `azure_ad_token` as a callable, sync or async, returning `str` or `(str, expires_at_epoch)`;
3. `azure_credential`: any azure-identity credential (sync or `azure.identity.aio`), or an object
   with the same `get_token(*scopes)` returning `.token` and `.expires_on`;
4. `tenant_id` + `client_id` + `client_secret`: a service principal (`ClientSecretCredential`);
5. `enable_azure_ad_token_refresh: true` (LiteLLM's name): `DefaultAzureCredential`.

None of these: the deployment authenticates with its key. azure-identity is the optional extra
`azure` (`pip install 'ocr-router[azure]'`), imported only for 4 and 5.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from providers.vertex_auth import (
    CachedTokenSource,
    CallableTokenSource,
    StaticTokenSource,
    TokenSource,
)
from router.errors import APIConnectionError, AuthenticationError, ConfigError, OCRRouterError

if TYPE_CHECKING:
    from providers.base import ProviderSettings

COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"
LABEL = "azure_ai"
_INSTALL_HINT = "azure-identity is not installed: pip install 'ocr-router[azure]'"


class AzureCredentialTokenSource(CachedTokenSource):
    """Tokens from an azure-identity credential (or any object with its `get_token`)."""

    def __init__(self, credential: Any, **cache_options: Any) -> None:
        super().__init__(label=LABEL, **cache_options)
        if not callable(getattr(credential, "get_token", None)):
            raise ConfigError(f"{LABEL}: azure_credential has no get_token(scope) method")
        self._credential = credential

    async def _mint(self) -> tuple[str, float | None]:
        get_token = self._credential.get_token
        try:
            if inspect.iscoroutinefunction(get_token):
                access = await get_token(COGNITIVE_SERVICES_SCOPE)
            else:
                # azure-identity's sync credentials block on HTTP: keep it off the event loop.
                access = await asyncio.to_thread(get_token, COGNITIVE_SERVICES_SCOPE)
                if inspect.isawaitable(access):
                    access = await access
        except OCRRouterError:
            raise
        except OSError as error:
            raise APIConnectionError(
                f"{LABEL}: cannot reach Entra ID for a token ({type(error).__name__})"
            ) from None
        except Exception as error:  # azure-identity raises ClientAuthenticationError and kin
            raise AuthenticationError(
                f"{LABEL}: Entra ID refused to mint a token ({type(error).__name__})"
            ) from None
        token = getattr(access, "token", None)
        expires_on = getattr(access, "expires_on", None)
        if not isinstance(token, str):
            raise AuthenticationError(f"{LABEL}: the credential's get_token returned no token")
        return token, float(expires_on) if isinstance(expires_on, (int, float)) else None


def _identity() -> Any:
    try:
        import azure.identity
    except ImportError:
        raise ConfigError(f"{LABEL}: {_INSTALL_HINT}") from None
    return azure.identity


def azure_token_source(settings: ProviderSettings) -> TokenSource | None:
    """The Entra token source a deployment's settings ask for, or None for key auth."""
    token = settings.azure_ad_token
    if isinstance(token, SecretStr):
        return StaticTokenSource(token, label=LABEL)
    if token is not None and callable(token):
        return CallableTokenSource(token, label=LABEL)
    if settings.azure_credential is not None:
        return AzureCredentialTokenSource(settings.azure_credential)
    principal = (settings.tenant_id, settings.client_id, settings.client_secret)
    if any(part is not None for part in principal):
        tenant, client, secret = principal
        if tenant is None or client is None or secret is None:
            raise ConfigError(
                f"{LABEL}: a service principal needs tenant_id, client_id and client_secret"
            )
        credential = _identity().ClientSecretCredential(tenant, client, secret.get_secret_value())
        return AzureCredentialTokenSource(credential)
    if settings.enable_azure_ad_token_refresh:
        return AzureCredentialTokenSource(_identity().DefaultAzureCredential())
    return None


__all__ = [
    "COGNITIVE_SERVICES_SCOPE",
    "AzureCredentialTokenSource",
    "azure_token_source",
]
