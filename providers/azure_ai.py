"""Mistral Document AI on Azure AI Foundry (`azure_ai/<model>`).

Authentication is the key (`Authorization: Bearer <key>`), or an Entra ID token when the
settings ask for one (`azure_ad_token`, `azure_credential`, a service principal, or
`enable_azure_ad_token_refresh`: see `providers.azure_auth`).

Azure takes the Mistral body but only inline documents, so `prepare` downloads a remote document
through the SSRF guard in `providers.download` and sends it as a base64 data URI; an uploaded
`file_id` exists only on Mistral's own platform and is refused. Settings are resolved when the
provider is built, so a missing base or key fails when the configuration loads.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from pydantic import SecretStr

from providers.azure_auth import azure_token_source
from providers.base import Provider, ProviderSettings
from providers.download import Resolver, inline_for
from providers.vertex_auth import TokenSource
from router.errors import AuthenticationError, OCRRouterError, scrub
from router.types import OCRRequest, OCRResponse

# The token the current task's request was sent with, so a 401 drops that token only.
_sent_token: ContextVar[str | None] = ContextVar("azure_sent_token", default=None)

API_BASE_ENV = "AZURE_AI_API_BASE"
SERVERLESS_HOST_SUFFIX = ".models.ai.azure.com"  # legacy serverless endpoints: /v1/ocr
_FOUNDRY_PATH = "/providers/mistral/azure"
API_KEY_ENV = "AZURE_AI_API_KEY"


def azure_ocr_url(api_base: str, api_version: str | None = None) -> str:
    """The OCR endpoint for an Azure base URL.

    A base that already ends in `/ocr` is used as is; one ending in `/providers/mistral/azure`
    (the `server_url` Mistral's SDK takes) gets `/ocr` once; a legacy serverless endpoint
    (`*.models.ai.azure.com`, or a base ending in `/v1`) gets `/v1/ocr` (or `/ocr`); a Foundry
    resource gets `/providers/mistral/azure/ocr`. A query string on the base (the portal's
    "Target URI" carries `?api-version=...`) is kept after the path; `api_version` replaces its
    `api-version`.
    """
    base, _, query = api_base.split("#", 1)[0].partition("?")
    base = base.rstrip("/")
    host = base.partition("://")[2].partition("/")[0].rpartition("@")[2].partition(":")[0]
    if base.endswith("/ocr"):
        url = base
    elif base.endswith("/v1") or base.endswith(_FOUNDRY_PATH):
        url = f"{base}/ocr"
    elif host.lower().endswith(SERVERLESS_HOST_SUFFIX):
        url = f"{base}/v1/ocr"
    else:
        url = f"{base}{_FOUNDRY_PATH}/ocr"
    params = parse_qsl(query, keep_blank_values=True)
    if api_version:
        params = [(name, value) for name, value in params if name != "api-version"]
        params.append(("api-version", api_version))
    return f"{url}?{urlencode(params)}" if params else url


def strict_annotations(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with `json_schema.strict: true` on each annotation format that leaves it unset:
    Azure skips the annotation (200, nulls) without it (field report). A caller's own
    `strict: false` is kept."""
    for name in ("bbox_annotation_format", "document_annotation_format"):
        response_format = body.get(name)
        if isinstance(response_format, dict):
            schema = response_format.get("json_schema")
            if isinstance(schema, dict) and "strict" not in schema:
                body[name] = {**response_format, "json_schema": {**schema, "strict": True}}
    return body


class AzureAIProvider(Provider):
    """`azure_ai/<model>`: base from the deployment, else `$AZURE_AI_API_BASE`; key from the
    deployment, else `$AZURE_AI_API_KEY` (both required). Sends `Authorization: Bearer <key>`."""

    name = "azure_ai"

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        resolver: Resolver | None = None,
        token_source: TokenSource | None = None,
    ) -> None:
        super().__init__(settings)
        base = self.require(settings.api_base or self.env(API_BASE_ENV), "api_base", API_BASE_ENV)
        # Entra ID when the settings ask for it (providers.azure_auth), else the key.
        self.token_source = token_source or azure_token_source(settings)
        self._api_key: SecretStr | None = None
        if self.token_source is None:
            key = settings.api_key.get_secret_value() if settings.api_key else self.env(API_KEY_ENV)
            self._api_key = SecretStr(self.require(key, "API key", API_KEY_ENV))
            self._extra_secrets.append(self._api_key.get_secret_value())
        self._url = self.checked_url(azure_ocr_url(base, settings.api_version))
        # Replaces DNS in the download guard (tests); None uses the system resolver.
        self.download_resolver = resolver

    def url(self) -> str:
        return self._url

    async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        if self._api_key is not None:
            return {"Authorization": f"Bearer {self._api_key.get_secret_value()}"}
        assert self.token_source is not None
        try:
            token = await self.token_source.token()
        except OCRRouterError as error:
            raise type(error)(scrub(error.message, self.secrets()), provider=self.name) from None
        self.remember_token(token)
        _sent_token.set(token)
        return {"Authorization": f"Bearer {token}"}

    async def send(
        self, request: OCRRequest, client: httpx.AsyncClient, *, timeout: float | None = None
    ) -> OCRResponse:
        _sent_token.set(None)
        try:
            return await super().send(request, client, timeout=timeout)
        except AuthenticationError:
            if self.token_source is not None:
                # Revoked or expired early: the next call mints a fresh Entra token.
                self.token_source.invalidate(_sent_token.get())
            raise

    async def prepare(self, request: OCRRequest, client: httpx.AsyncClient) -> OCRRequest:
        return await inline_for(self, request, client, self.download_resolver)

    def body(self, request: OCRRequest) -> dict[str, Any]:
        return strict_annotations(super().body(request))


__all__ = [
    "API_BASE_ENV",
    "API_KEY_ENV",
    "SERVERLESS_HOST_SUFFIX",
    "AzureAIProvider",
    "azure_ocr_url",
    "strict_annotations",
]
