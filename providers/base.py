"""The `Provider` interface: turn an `OCRRequest` into one provider's HTTP request, and its HTTP
response into an `OCRResponse` or a typed error.

A provider knows nothing of routing: it is handed a request and an `httpx.AsyncClient` (owned by
the caller, so one connection pool serves every provider) and makes exactly one call.

Writing a provider means filling in three things::

    class MyProvider(Provider):
        name = "my_provider"

        def url(self) -> str:
            return f"{self.api_base}/v1/ocr"

        async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
            return {"Authorization": f"Bearer {self.api_key}"}

and, where the provider cannot fetch remote documents itself, overriding `prepare`.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError

from router.bounded_body import (
    ACCEPT_ENCODING,
    BodyTooLargeError,
    UndecodableBodyError,
    read_capped,
)
from router.capabilities import ModelInfo, lookup, with_overrides
from router.errors import (
    APIConnectionError,
    ConfigError,
    InvalidResponseError,
    OCRRouterError,
    RequestTimeoutError,
    error_from_response,
    scrub,
)
from router.request_body import encode_body
from router.transport import MAX_RESPONSE_BYTES
from router.types import FileChunk, OCRRequest, OCRResponse, document_url_of

if TYPE_CHECKING:
    from providers.download import Resolver  # the guard's module loads only when it downloads

TokenCallable = Callable[[], "str | Awaitable[str]"]
# Tokens last about an hour, so four cover any request still in flight across a refresh.
RECENT_TOKENS_SCRUBBED = 4
# Visible ASCII, spaces and tabs: what a header value may hold (RFC 9110), obsolete text aside.
_SENDABLE_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token
_TIMEOUT_PHASES = ("connect", "read", "write", "pool")  # httpx's timeout extension, one bound
_RawHeaders = list[tuple[bytes, bytes]]


class ProviderSettings(BaseModel):
    """What a deployment tells its provider. Secrets are `SecretStr`, so `repr()` never shows
    them. LiteLLM's names (`vertex_project`, `vertex_location`, `vertex_credentials`, and its
    `vertex_ai_project`, `vertex_ai_location`, `vertex_ai_credentials`) are accepted
    too, so a LiteLLM config loads unchanged."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, arbitrary_types_allowed=True)

    model: str = Field(description="the provider's model name, without a provider/ prefix")
    api_key: SecretStr | None = None
    api_base: str | None = None
    api_version: str | None = None
    project: str | None = Field(
        default=None,
        validation_alias=AliasChoices("project", "vertex_project", "vertex_ai_project"),
    )
    location: str | None = Field(
        default=None,
        validation_alias=AliasChoices("location", "vertex_location", "vertex_ai_location"),
    )
    # A path to a service-account JSON file, its JSON text, or the parsed dict. Left out of
    # repr(): a dict holds the private key in clear.
    credentials: SecretStr | dict[str, Any] | None = Field(
        default=None,
        validation_alias=AliasChoices("credentials", "vertex_credentials", "vertex_ai_credentials"),
        repr=False,
    )
    # A static OAuth access token, or a callable (sync or async) that returns a fresh one.
    token: SecretStr | TokenCallable | None = None
    # Azure Entra ID (providers/azure_auth.py): a token (static or a callable), an
    # azure-identity credential object, a service principal, or DefaultAzureCredential.
    azure_ad_token: SecretStr | TokenCallable | None = Field(default=None, repr=False)
    azure_credential: Any = Field(default=None, repr=False)
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    enable_azure_ad_token_refresh: bool = False  # LiteLLM's name: use DefaultAzureCredential
    timeout: float | None = Field(default=None, gt=0)
    # Extra headers may carry credentials of their own (a gateway key), so repr() leaves them out.
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    # The remote-document download guard (providers that need documents inline).
    allow_private_document_urls: bool = False
    max_document_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    document_fetch_timeout: float = Field(default=30.0, gt=0)
    # The largest answer read from the provider, decoded (gzip included): 100 MiB holds a 50 MB
    # document's images as base64 and its text; past it the answer is the deployment's failure.
    max_response_bytes: int = Field(default=100 * 1024 * 1024, gt=0)

    def secret_values(self) -> list[str]:
        """Every secret these settings hold, so that messages can be scrubbed of them."""
        values = [
            secret.get_secret_value()
            for secret in (self.api_key, self.client_secret)
            if secret is not None
        ]
        for token in (self.token, self.azure_ad_token):
            if isinstance(token, SecretStr):
                values.append(token.get_secret_value())
        if isinstance(self.credentials, SecretStr):
            values.append(self.credentials.get_secret_value())
        elif isinstance(self.credentials, dict):
            values.extend(str(v) for k, v in self.credentials.items() if "key" in k)
        return values


class ProviderOptions(TypedDict, total=False):
    """The provider settings `ocr()`/`aocr()` take as keyword arguments, beside the explicit
    `api_key`, `api_base`, `api_version` and `timeout`: the other fields of `ProviderSettings`,
    under both spellings (a test keeps the two equal, so this is checked against the model
    rather than a second truth)."""

    project: str | None
    vertex_project: str | None
    vertex_ai_project: str | None
    location: str | None
    vertex_location: str | None
    vertex_ai_location: str | None
    credentials: str | SecretStr | Mapping[str, Any] | None
    vertex_credentials: str | SecretStr | Mapping[str, Any] | None
    vertex_ai_credentials: str | SecretStr | Mapping[str, Any] | None
    token: str | SecretStr | TokenCallable | None
    azure_ad_token: str | SecretStr | TokenCallable | None
    azure_credential: Any
    tenant_id: str | None
    client_id: str | None
    client_secret: str | SecretStr | None
    enable_azure_ad_token_refresh: bool
    headers: Mapping[str, str]
    allow_private_document_urls: bool
    max_document_bytes: int
    document_fetch_timeout: float
    max_response_bytes: int


class Provider(ABC):
    """One provider's HTTP dialect for Mistral OCR."""

    name: ClassVar[str]
    # The DNS resolver of the download guard for a host that takes documents inline (None: the
    # system's). Tests and callers give their own; sharding downloads through it too.
    download_resolver: Resolver | None = None

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._extra_secrets: list[str] = []
        self._recent_tokens: list[str] = []
        self._parsed_url: tuple[str, httpx.URL] | None = None
        self._decoded_defaults: tuple[_RawHeaders, list[tuple[str, str]]] | None = None
        self._model_info: ModelInfo | None = None

    @property
    def model_info(self) -> ModelInfo:
        """What this host and model take (`router.capabilities`); a Deployment sets its own
        merged row here, so a provider holds a downloaded document to the deployment's limits."""
        if self._model_info is None:
            explicit = "max_document_bytes" in self.settings.model_fields_set
            self._model_info = with_overrides(
                lookup(self.name, self.settings.model),
                max_document_bytes=self.settings.max_document_bytes if explicit else None,
            )
        return self._model_info

    @model_info.setter
    def model_info(self, info: ModelInfo) -> None:
        self._model_info = info

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.settings.model!r}, url={self.url()!r})"

    @abstractmethod
    def url(self) -> str:
        """The full URL of the OCR endpoint."""

    @abstractmethod
    async def auth_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        """The headers that authenticate a call (may fetch or refresh a token)."""

    async def prepare(self, request: OCRRequest, client: httpx.AsyncClient) -> OCRRequest:
        """Adapt a request to what the provider accepts (e.g. inline remote documents)."""
        return request

    def body(self, request: OCRRequest) -> dict[str, Any]:
        return request.to_wire(model=self.settings.model)

    def secrets(self) -> list[str]:
        return self.settings.secret_values() + self._extra_secrets

    def remember_token(self, token: str) -> None:
        """Scrub a minted token from messages: the last `RECENT_TOKENS_SCRUBBED` are kept, since
        a request sent just before a refresh may fail after it."""
        if token in self._extra_secrets:
            return
        self._extra_secrets.append(token)
        self._recent_tokens.append(token)
        if len(self._recent_tokens) > RECENT_TOKENS_SCRUBBED:
            self._extra_secrets.remove(self._recent_tokens.pop(0))

    def env(self, name: str) -> str | None:
        """An environment variable, treating an empty value as unset."""
        return os.environ.get(name) or None

    def require(self, value: str | None, what: str, env_name: str) -> str:
        if not value:
            raise ConfigError(f"{self.name}: no {what}: set it on the deployment or in ${env_name}")
        return value

    def checked_url(self, url: str) -> str:
        """`url` when it is an http(s) URL with a host, else a `ConfigError`: a wrong `api_base`
        fails when the provider is built, not as a retryable connection error on each call."""
        try:
            parsed: httpx.URL | None = httpx.URL(url)
        except httpx.InvalidURL:
            parsed = None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigError(
                f"{self.name}: api_base must be an http:// or https:// URL with a host"
            )
        return url

    async def build_request(self, request: OCRRequest, client: httpx.AsyncClient) -> httpx.Request:
        """The HTTP request of one call. Built directly rather than by `client.build_request`,
        which costs more than all of the routing; the client's default headers and timeout
        still apply, its cookie jar does not (OCR APIs authenticate by header)."""
        prepared = await self.prepare(request, client)
        # Merged case-insensitively: a deployment's `authorization` header must replace, not
        # join, ours; ours replace the client's defaults (httpx's `Accept: */*`).
        headers = {"content-type": ("Content-Type", "application/json")}
        headers["accept"] = ("Accept", "application/json")
        # Only the codings `read_capped` inflates under its cap (httpx would add br and zstd).
        headers["accept-encoding"] = ("Accept-Encoding", ACCEPT_ENCODING)
        for name, value in self._sendable(self.settings.headers).items():
            headers[name.lower()] = (name, value)
        for name, value in self._sendable(await self.auth_headers(client)).items():
            headers[name.lower()] = (name, value)
        merged = [pair for pair in self._client_defaults(client) if pair[0].lower() not in headers]
        merged.extend(headers.values())
        body = encode_body(self.body(prepared), document_url_of(prepared.document))
        if isinstance(body, bytes):
            return httpx.Request(
                "POST",
                self._endpoint(),
                headers=merged,
                content=body,
                extensions={"timeout": client.timeout.as_dict()},
            )
        # Given a stream, httpx adds no header of its own: Host and Content-Length as it would.
        endpoint = self._endpoint()
        merged.insert(0, ("Host", endpoint.netloc.decode("ascii")))
        merged.append(("Content-Length", str(body.length)))
        return httpx.Request(
            "POST",
            endpoint,
            headers=merged,
            stream=body,
            extensions={"timeout": client.timeout.as_dict()},
        )

    def _client_defaults(self, client: httpx.AsyncClient) -> list[tuple[str, str]]:
        """The client's default headers, decoded once per distinct set (they rarely change)."""
        raw = client.headers.raw
        if self._decoded_defaults is None or self._decoded_defaults[0] != raw:
            self._decoded_defaults = (raw, list(client.headers.items()))
        return self._decoded_defaults[1]

    def _endpoint(self) -> httpx.URL:
        """`url()` parsed once (parsing costs about as much as the rest of building a call)."""
        url = self.url()
        if self._parsed_url is None or self._parsed_url[0] != url:
            self._parsed_url = (url, httpx.URL(url))
        return self._parsed_url[1]

    def _sendable(self, headers: dict[str, str]) -> dict[str, str]:
        """`headers`, unless a value could not go out as it is: a CR or LF would inject another
        header, and httpx would refuse the rest with an error quoting the value (a key). Named
        by header, never by value, as a `ConfigError`: no retry can fix a deployment's key."""
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ConfigError(f"{self.name}: {name!r} is not a valid header name")
            if not _SENDABLE_HEADER_VALUE.fullmatch(value):
                raise ConfigError(
                    f"{self.name}: the {name} header holds a control or non-ASCII character "
                    "(check the deployment's key, token or headers)"
                )
        return headers

    def parse_response(self, response: httpx.Response, content: bytes | None = None) -> OCRResponse:
        """The OCR response in `content` (the body as `send` read it; default: the response's)."""
        content = response.content if content is None else content
        if not content.strip() or content.strip() == b"null":
            raise InvalidResponseError(
                f"{response.status_code} with an empty or null body", provider=self.name
            )
        try:
            return OCRResponse.model_validate_json(content)
        except ValidationError as error:
            first = error.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise InvalidResponseError(
                f"{response.status_code} body is not an OCR response ({where}: {first['msg']})",
                provider=self.name,
            ) from None

    def map_error(
        self,
        response: httpx.Response,
        content: bytes | None = None,
        *,
        request: OCRRequest | None = None,
    ) -> OCRRouterError:
        """The typed error of a non-2xx answer to `request` (its document decides what a 404
        means: about a `file_id`, the request's; else the deployment's model or endpoint)."""
        document = request.document if request is not None else None
        return error_from_response(
            response.status_code,
            response.headers,
            response.content if content is None else content,
            provider=self.name,
            secrets=self.secrets(),
            file_id=document.file_id if isinstance(document, FileChunk) else None,
        )

    async def send(
        self, request: OCRRequest, client: httpx.AsyncClient, *, timeout: float | None = None
    ) -> OCRResponse:
        """Make one call. Raises an `OCRRouterError` subclass for every failure."""
        limit = timeout if timeout is not None else self.settings.timeout
        http_request = await self.build_request(request, client)
        if limit is not None:
            http_request.extensions["timeout"] = dict.fromkeys(_TIMEOUT_PHASES, limit)
        cap = self.settings.max_response_bytes
        http_request.extensions[MAX_RESPONSE_BYTES] = cap  # the fast transport reads no further
        try:
            response = await client.send(http_request, stream=True)
            try:
                content = await read_capped(response, cap)
            finally:
                await response.aclose()
        except httpx.TimeoutException as error:
            raise RequestTimeoutError(
                f"no answer in time ({type(error).__name__})", provider=self.name
            ) from None
        except httpx.TransportError as error:
            message = scrub(f"{type(error).__name__}: {error}", self.secrets())
            raise APIConnectionError(message, provider=self.name) from None
        except BodyTooLargeError as error:
            size = "" if error.declared is None else f" ({error.declared} bytes declared)"
            raise InvalidResponseError(
                f"the answer is over max_response_bytes ({cap} bytes decoded){size}",
                provider=self.name,
            ) from None
        except (httpx.DecodingError, UndecodableBodyError) as error:
            # Not a TransportError: a body that fails to decompress is as unreadable as garbage.
            reason = error if isinstance(error, UndecodableBodyError) else "its encoding is corrupt"
            raise InvalidResponseError(
                f"the answer's body could not be decoded ({reason})", provider=self.name
            ) from None
        if response.status_code >= 300:
            raise self.map_error(response, content, request=request)
        return self.parse_response(response, content)
