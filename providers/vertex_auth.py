"""OAuth access tokens for Vertex AI, cached and refreshed shortly before they expire.

Vertex authenticates each call with a Google OAuth2 access token that lives about an hour.
Minting one costs a signed JWT exchange (or a metadata-server call) of tens to hundreds of
milliseconds, and Google rate-limits it, so a token is minted once, shared by every request, and
refreshed `REFRESH_MARGIN_S` before it expires: a token that expires mid-flight would fail a call
that did nothing wrong. One `asyncio.Lock` makes a hundred concurrent first requests mint once.
A refresh that fails inside that margin is not fatal: the old token serves until it expires.

Where a token comes from (`token_source_from_settings`), first match wins:

1. `settings.token` as a string: a static token, used as is (the caller renews it);
2. `settings.token` as a callable, sync or async, returning `str` or `(str, expires_at_epoch)`;
3. `settings.credentials`: a service-account JSON as a file path, JSON text or dict (google-auth);
4. `settings.api_key`: a static token, for callers who put it where other providers take a key;
5. `$VERTEXAI_CREDENTIALS` (LiteLLM's variable): a service-account JSON as a path or JSON text;
6. otherwise Google application default credentials (`google.auth.default`).

google-auth is an optional extra (`pip install 'ocr-router[vertex]'`), imported only when needed.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from router.errors import APIConnectionError, AuthenticationError, ConfigError, OCRRouterError

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
CREDENTIALS_ENV = "VERTEXAI_CREDENTIALS"  # LiteLLM's: a service-account JSON, path or text
# Refresh this long before expiry: covers clock skew and a slow request started just before it.
REFRESH_MARGIN_S = 5 * 60.0
# Google access tokens live 60 minutes; when a source does not say when its token expires we
# assume it was minted just now and keep it for 55 minutes, so with the margin above it is
# renewed after 50. A callable whose tokens live shorter must return `(token, expires_at)`; a
# 401 from Vertex also drops the cached token (`invalidate`), so a wrong guess costs one call.
DEFAULT_LIFETIME_S = 55 * 60.0
# After a refresh fails while the old token still works, wait this long before trying again, so
# an outage of the token endpoint costs one attempt per 15 s, not one per request.
RETRY_FAILED_REFRESH_S = 15.0

_INSTALL_HINT = "google-auth is not installed: pip install 'ocr-router[vertex]'"


class TokenSource(ABC):
    """Gives the access token to send; `invalidate` forgets a token the server refused."""

    @abstractmethod
    async def token(self) -> str:
        """A valid access token."""

    def invalidate(self, token: str | None = None) -> None:  # noqa: B027  (no cache: no-op)
        """Forget the cached token so the next call mints a fresh one. With `token` (the one
        the server refused), only if it is still the cached one: a refresh already replaced it."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class StaticTokenSource(TokenSource):
    """A token the caller manages; never refreshed. `label` names the provider in errors."""

    def __init__(self, token: str | SecretStr, *, label: str = "vertex_ai") -> None:
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        if not self._token.get_secret_value():
            raise ConfigError(f"{label}: the static access token is empty")

    async def token(self) -> str:
        return self._token.get_secret_value()


class CachedTokenSource(TokenSource):
    """Base of the sources that mint: caches the token until `REFRESH_MARGIN_S` before expiry.

    `clock` returns the time as epoch seconds (tests inject one to move time forward); `label`
    names the provider in errors (Azure's Entra tokens are cached the same way).
    """

    def __init__(
        self,
        *,
        label: str = "vertex_ai",
        clock: Callable[[], float] = time.time,
        refresh_margin_s: float = REFRESH_MARGIN_S,
        default_lifetime_s: float = DEFAULT_LIFETIME_S,
    ) -> None:
        self.label = label
        self._clock = clock
        self._refresh_margin_s = refresh_margin_s
        self._default_lifetime_s = default_lifetime_s
        self._token: SecretStr | None = None
        self._refresh_at = 0.0  # epoch seconds after which the cached token is replaced
        self._expires_at = 0.0  # epoch seconds after which it is no use at all
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.mint_count = 0  # how many tokens were minted (for tests and metrics)
        self._mints_finished = 0  # tells a waiter whether a mint ended while it waited
        self._last_failure: OCRRouterError | None = None

    @abstractmethod
    async def _mint(self) -> tuple[str, float | None]:
        """A fresh token and its expiry as epoch seconds (None when unknown)."""

    def _fresh_token(self) -> str | None:
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token.get_secret_value()
        return None

    def _unexpired_token(self) -> str | None:
        # When a refresh inside the margin fails, the old token still works until it expires.
        if self._token is not None and self._clock() < self._expires_at:
            return self._token.get_secret_value()
        return None

    def _loop_lock(self) -> asyncio.Lock:
        # A lock belongs to one event loop; sync callers run a new loop per call (asyncio.run).
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def token(self) -> str:
        cached = self._fresh_token()
        if cached is not None:
            return cached
        mints_finished_before_waiting = self._mints_finished
        async with self._loop_lock():
            cached = self._fresh_token()  # another task may have minted while we waited
            if cached is not None:
                return cached
            failure = self._last_failure
            if failure is not None and self._mints_finished != mints_finished_before_waiting:
                # The mint we queued behind just failed: share its error instead of retrying
                # once per waiting request (100 requests would hit a failing endpoint 100 times).
                unexpired = self._unexpired_token()
                if unexpired is not None:
                    return unexpired
                raise type(failure)(failure.message, provider=failure.provider) from None
            try:
                value, expires_at = await self._mint()
            except OCRRouterError as error:
                self._last_failure = error
                unexpired = self._unexpired_token()
                if unexpired is not None:
                    self._refresh_at = min(self._expires_at, self._clock() + RETRY_FAILED_REFRESH_S)
                    return unexpired
                raise
            finally:
                self._mints_finished += 1
            self._last_failure = None
            if not value:
                raise AuthenticationError(f"{self.label}: the token source returned an empty token")
            self.mint_count += 1
            self._token = SecretStr(value)
            minted_at = self._clock()
            if expires_at is None:
                expires_at = minted_at + self._default_lifetime_s
            # A token that lives less than twice the margin is kept for half its life, so a
            # short-lived token is still shared rather than minted again for every request.
            margin = min(self._refresh_margin_s, max(expires_at - minted_at, 0.0) / 2)
            self._refresh_at = expires_at - margin
            self._expires_at = expires_at
            return value

    def invalidate(self, token: str | None = None) -> None:
        # A 401 for a token minted before the current one says nothing about the current one:
        # dropping it would make every late 401 of a burst mint again.
        if token is not None and (self._token is None or self._token.get_secret_value() != token):
            return
        self._token = None
        self._refresh_at = 0.0
        self._expires_at = 0.0


class CallableTokenSource(CachedTokenSource):
    """Tokens from a caller's function (sync or async) returning `str` or `(str, expires_at)`.

    A sync function runs in a worker thread, since fetching a token usually blocks.
    """

    def __init__(self, function: Callable[[], Any], **cache_options: Any) -> None:
        super().__init__(**cache_options)
        self._function = function

    async def _mint(self) -> tuple[str, float | None]:
        try:
            if inspect.iscoroutinefunction(self._function):
                result = await self._function()
            else:
                result = await asyncio.to_thread(self._function)
                if inspect.isawaitable(result):
                    result = await result
        except OCRRouterError:
            raise
        except Exception as error:
            raise AuthenticationError(
                f"{self.label}: the token callable failed ({type(error).__name__}: {error})"
            ) from None
        return _token_and_expiry(result, self.label)


def _token_and_expiry(result: Any, label: str = "vertex_ai") -> tuple[str, float | None]:
    if isinstance(result, SecretStr):
        return result.get_secret_value(), None
    if isinstance(result, str):
        return result, None
    if (
        isinstance(result, tuple)
        and len(result) == 2
        and isinstance(result[0], (str, SecretStr))
        and isinstance(result[1], (int, float, type(None)))
    ):
        value = result[0].get_secret_value() if isinstance(result[0], SecretStr) else result[0]
        return value, None if result[1] is None else float(result[1])
    raise AuthenticationError(
        f"{label}: the token callable must return a str or (str, expires_at_epoch), "
        f"not {type(result).__name__}"
    )


def _import_google_auth() -> Any:
    try:
        import google.auth
        import google.auth.transport.requests
        import google.oauth2.service_account
    except ImportError:
        raise ConfigError(f"vertex_ai: {_INSTALL_HINT}") from None
    return google


def load_service_account_info(credentials: SecretStr | Mapping[str, Any]) -> dict[str, Any]:
    """The service-account dict from a dict, JSON text, or the path of a JSON file.

    Messages never repeat the value: it may be the key itself.
    """
    if isinstance(credentials, Mapping):
        return dict(credentials)
    text = credentials.get_secret_value().strip()
    if not text.startswith(("{", "[")):  # anything else is a file path
        try:
            text = Path(text).expanduser().read_text(encoding="utf-8")
        except (OSError, ValueError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise ConfigError(
                f"vertex_ai: vertex_credentials is neither JSON nor a readable file ({reason})"
            ) from None
    try:
        info = json.loads(text)
    except ValueError:
        raise ConfigError("vertex_ai: vertex_credentials is not valid JSON") from None
    if not isinstance(info, dict):
        raise ConfigError("vertex_ai: vertex_credentials must be a JSON object")
    return info


class GoogleCredentialsTokenSource(CachedTokenSource):
    """Tokens from google-auth: a service account (`info`), or application default credentials
    when `info` is None.

    A service account is checked when the source is built, so a bad key fails at config load.
    Application default credentials are looked up at the first token instead: the lookup may
    probe the GCE metadata server over the network, which loading a config must not do.
    """

    def __init__(self, info: Mapping[str, Any] | None = None, **cache_options: Any) -> None:
        super().__init__(**cache_options)
        google = _import_google_auth()
        self._google = google
        self._credentials: Any = None
        if info is not None:
            try:
                self._credentials = (
                    google.oauth2.service_account.Credentials.from_service_account_info(
                        dict(info), scopes=[CLOUD_PLATFORM_SCOPE]
                    )
                )
            except (ValueError, KeyError) as error:
                missing = f" (missing {error})" if isinstance(error, KeyError) else ""
                raise ConfigError(
                    f"vertex_ai: vertex_credentials is not a usable service-account key{missing}"
                ) from None

    def _refresh_blocking(self) -> tuple[str, float | None]:
        google = self._google
        if self._credentials is None:
            self._credentials, _project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
        self._credentials.refresh(google.auth.transport.requests.Request())
        expiry: datetime | None = self._credentials.expiry
        # google-auth reports expiry as a naive UTC datetime.
        expires_at = None if expiry is None else expiry.replace(tzinfo=UTC).timestamp()
        return str(self._credentials.token), expires_at

    async def _mint(self) -> tuple[str, float | None]:
        exceptions = self._google.auth.exceptions
        try:
            # google-auth refreshes with blocking HTTP; keep it off the event loop.
            return await asyncio.to_thread(self._refresh_blocking)
        except exceptions.DefaultCredentialsError as error:
            raise ConfigError(
                f"vertex_ai: no Google credentials: set vertex_credentials or a token, or "
                f"configure application default credentials ({error})"
            ) from None
        except exceptions.TransportError as error:
            raise APIConnectionError(
                f"vertex_ai: cannot reach the Google token endpoint ({type(error).__name__})"
            ) from None
        except exceptions.RefreshError as error:
            raise AuthenticationError(
                f"vertex_ai: Google refused to mint an access token ({error})"
            ) from None
        except (OSError, ValueError, KeyError) as error:
            # e.g. an unreadable ADC file or a malformed token answer; the text may quote it.
            raise AuthenticationError(
                f"vertex_ai: could not mint an access token ({type(error).__name__})"
            ) from None


def token_source_from_settings(settings: Any) -> TokenSource:
    """The token source a deployment's settings ask for (order in the module docstring)."""
    token = settings.token
    if isinstance(token, SecretStr):
        return StaticTokenSource(token)
    if token is not None and callable(token):
        return CallableTokenSource(token)
    if settings.credentials is not None:
        return GoogleCredentialsTokenSource(load_service_account_info(settings.credentials))
    if settings.api_key is not None:
        return StaticTokenSource(settings.api_key)
    from_environment = os.environ.get(CREDENTIALS_ENV)
    if from_environment:
        return GoogleCredentialsTokenSource(load_service_account_info(SecretStr(from_environment)))
    return GoogleCredentialsTokenSource(None)


__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "DEFAULT_LIFETIME_S",
    "REFRESH_MARGIN_S",
    "RETRY_FAILED_REFRESH_S",
    "CachedTokenSource",
    "CallableTokenSource",
    "GoogleCredentialsTokenSource",
    "StaticTokenSource",
    "TokenSource",
    "load_service_account_info",
    "token_source_from_settings",
]
