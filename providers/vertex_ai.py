"""Mistral OCR as a partner model on Google Vertex AI (`vertex_ai/<model>`).

Vertex serves the Mistral body at a `:rawPredict` URL built from project, location and model,
authenticated with a Google OAuth access token (`providers.vertex_auth`). Like Azure it only
takes inline documents, so `prepare` downloads remote ones through the SSRF guard. Project,
location and the token source are resolved when the provider is built, so a missing project or
an unreadable service-account key fails when the configuration loads; only application default
credentials are looked up at the first call (see `vertex_auth`).
"""

from __future__ import annotations

import re
from contextvars import ContextVar

import httpx

from providers.base import Provider, ProviderSettings
from providers.download import Resolver, inline_for
from providers.vertex_auth import TokenSource, token_source_from_settings
from router.errors import AuthenticationError, ConfigError, OCRRouterError, scrub
from router.types import OCRRequest, OCRResponse

PROJECT_ENV = "VERTEXAI_PROJECT"
LOCATION_ENV = "VERTEXAI_LOCATION"
LOCATION_ENV_SPELLINGS = (LOCATION_ENV, "VERTEX_LOCATION")  # LiteLLM reads both
# Google's multi-regions, served from their own regional endpoint host (rev.).
MULTI_REGIONS = frozenset({"us", "eu"})
_LOCATION = re.compile(r"[a-z][a-z0-9-]*")
# Mistral OCR is offered in us-central1 and europe-west4; us-central1 is Google's own default.
DEFAULT_LOCATION = "us-central1"
# The token the current task's request was sent with, so a 401 drops that token and not one a
# concurrent refresh minted since (a context variable: one provider serves many tasks at once).
_sent_token: ContextVar[str | None] = ContextVar("vertex_sent_token", default=None)


def vertex_ocr_url(project: str, location: str, model: str, api_base: str | None = None) -> str:
    """The `:rawPredict` URL; `global` has no regional host, the multi-regions `us` and `eu` use
    `aiplatform.{geo}.rep.googleapis.com`; `api_base` replaces `https://<host>`."""
    if api_base:
        origin = api_base.rstrip("/")
    elif location == "global":
        origin = "https://aiplatform.googleapis.com"
    elif location in MULTI_REGIONS:
        origin = f"https://aiplatform.{location}.rep.googleapis.com"
    else:
        origin = f"https://{location}-aiplatform.googleapis.com"
    return (
        f"{origin}/v1/projects/{project}/locations/{location}"
        f"/publishers/mistralai/models/{model}:rawPredict"
    )


def checked_location(location: str) -> str:
    """`location` when it is a Google location name; it goes into the host name and the path,
    so anything else (a dot, a slash) is a `ConfigError` naming the rule."""
    if not _LOCATION.fullmatch(location):
        raise ConfigError(
            f"vertex_ai: location {location!r} is not a Google location "
            "(lower-case letters, digits and '-', starting with a letter: us-central1, eu)"
        )
    return location


class VertexAIProvider(Provider):
    """`vertex_ai/<model>`: project from the deployment, else `$VERTEXAI_PROJECT` (required);
    location from the deployment, else `$VERTEXAI_LOCATION` (or LiteLLM's `$VERTEX_LOCATION`),
    else `us-central1`; credentials as `vertex_auth` says, `$VERTEXAI_CREDENTIALS` included.

    `token_source` and `resolver` replace the token source built from the settings and the DNS
    resolver of the download guard (tests, or callers with their own token management).
    """

    name = "vertex_ai"

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        token_source: TokenSource | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        super().__init__(settings)
        self.project = self.require(
            settings.project or self.env(PROJECT_ENV), "project", PROJECT_ENV
        )
        self.location = checked_location(
            settings.location
            or next(filter(None, map(self.env, LOCATION_ENV_SPELLINGS)), None)
            or DEFAULT_LOCATION
        )
        self._url = self.checked_url(
            vertex_ocr_url(self.project, self.location, settings.model, settings.api_base)
        )
        self.token_source = token_source or token_source_from_settings(settings)
        self.download_resolver = resolver

    def url(self) -> str:
        return self._url

    async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        try:
            token = await self.token_source.token()
        except OCRRouterError as error:
            raise self._scrubbed(error) from None
        self.remember_token(token)  # a token echoed in an error body gets scrubbed
        _sent_token.set(token)
        return {"Authorization": f"Bearer {token}"}

    async def prepare(self, request: OCRRequest, client: httpx.AsyncClient) -> OCRRequest:
        return await inline_for(self, request, client, self.download_resolver)

    async def send(
        self, request: OCRRequest, client: httpx.AsyncClient, *, timeout: float | None = None
    ) -> OCRResponse:
        _sent_token.set(None)
        try:
            return await super().send(request, client, timeout=timeout)
        except AuthenticationError:
            # The token was revoked or expired early: mint a new one for the next call.
            self.token_source.invalidate(_sent_token.get())
            raise

    def _scrubbed(self, error: OCRRouterError) -> OCRRouterError:
        message = scrub(error.message, self.secrets())
        return type(error)(message, provider=self.name, retry_after=error.retry_after)


__all__ = [
    "DEFAULT_LOCATION",
    "LOCATION_ENV",
    "MULTI_REGIONS",
    "PROJECT_ENV",
    "VertexAIProvider",
    "checked_location",
    "vertex_ocr_url",
]
