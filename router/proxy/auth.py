"""Who may call the proxy: a Bearer key compared in constant time against every accepted key.

The proxy spends its operator's provider credits, so every route but the health checks needs a
key. Comparison uses `hmac.compare_digest` against *every* configured key with no early exit, so
the time an answer takes says nothing about how much of a guess was right, nor which key matched.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from pydantic import SecretStr

from router.proxy.errors import ProxyError


class KeyChecker:
    """`check(authorization_header)` raises a 401 `ProxyError` unless it carries an accepted key.

    With no key configured every request is let in (the `serve` command refuses that on a
    non-loopback address unless told `--no-auth`)."""

    def __init__(self, keys: Iterable[SecretStr | str]) -> None:
        self._keys = tuple(
            (key.get_secret_value() if isinstance(key, SecretStr) else key).encode("utf-8")
            for key in keys
        )

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def secrets(self) -> tuple[str, ...]:
        """The keys as text, to scrub from anything the proxy sends back."""
        return tuple(key.decode("utf-8") for key in self._keys)

    def check(self, authorization: str | None) -> None:
        if not self._keys:
            return
        if authorization is None:
            raise _unauthorized("missing Authorization header: send 'Authorization: Bearer <key>'")
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise _unauthorized("the Authorization header must be 'Bearer <key>'")
        # Starlette decodes header bytes as Latin-1: encoding back gives the bytes sent, so a
        # key with non-ASCII characters matches when the client sends it as UTF-8.
        try:
            candidate = presented.strip().encode("latin-1")
        except UnicodeEncodeError:  # pragma: no cover - a header string is always Latin-1
            raise _unauthorized("invalid API key") from None
        matched = False
        for key in self._keys:  # every key, no early exit: timing reveals nothing
            matched |= hmac.compare_digest(candidate, key)
        if not matched:
            raise _unauthorized("invalid API key")


def _unauthorized(message: str) -> ProxyError:
    return ProxyError(
        401,
        message,
        "authentication_error",
        code="invalid_api_key",
        headers={"WWW-Authenticate": "Bearer"},
    )


__all__ = ["KeyChecker"]
