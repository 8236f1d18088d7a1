"""Providers of Mistral OCR: `mistral`, `azure_ai` and `vertex_ai`, plus fakes for tests.

`create_provider("azure_ai/mistral-ocr-4-0", api_key=..., api_base=...)` returns the
provider for a `provider/model` string.

A provider of one's own (another host of Mistral's OCR, a gateway): a `Provider` subclass with a
`name`, `url()` and `auth_headers()` (and `prepare`/`body`/`parse` when its dialect differs),
registered once; then `"<name>/<model>"` works wherever a model string does (`Router`, config
files, `ocr()`), with the same settings (`api_key`, `api_base`, `headers`, ...):

    class Gateway(MistralProvider):    # Mistral's dialect and Bearer key, at another host
        name = "gateway"

    register_provider(Gateway)
    Router([{"model_name": "ocr", "model": "gateway/mistral-ocr-latest", "api_base": ...,
             "price_per_page": 0.001}])
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from providers.base import Provider, ProviderSettings
from router.errors import ConfigError

PROVIDER_NAMES = ("mistral", "azure_ai", "vertex_ai")  # the built-in ones
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _mistral() -> type[Provider]:
    from providers.mistral import MistralProvider

    return MistralProvider


def _azure_ai() -> type[Provider]:
    from providers.azure_ai import AzureAIProvider

    return AzureAIProvider


def _vertex_ai() -> type[Provider]:
    from providers.vertex_ai import VertexAIProvider

    return VertexAIProvider


# Name -> how to get its class: the built-in ones are imported on first use (Vertex's pulls in
# its token machinery), registered ones are given as classes.
_REGISTRY: dict[str, Callable[[], type[Provider]]] = {
    "mistral": _mistral,
    "azure_ai": _azure_ai,
    "vertex_ai": _vertex_ai,
}


def provider_names() -> tuple[str, ...]:
    """Every provider a model string may name: the built-in ones, then those registered."""
    return tuple(_REGISTRY)


def register_provider(provider: type[Provider]) -> None:
    """Make `"<provider.name>/<model>"` build `provider(ProviderSettings(...))`.

    Raises `ConfigError` for a name that is taken (a built-in cannot be replaced in silence) or
    not lower-case letters, digits and `_`."""
    name = getattr(provider, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"a provider's name must be lower-case letters, digits, _: {name!r}")
    if name in _REGISTRY:
        raise ConfigError(f"provider {name!r} is already registered")
    _REGISTRY[name] = lambda: provider


def provider_class(name: str) -> type[Provider]:
    """The Provider class for a provider name."""
    factory = _REGISTRY.get(name)
    if factory is None:
        raise ConfigError(
            f"unknown provider {name!r}: expected one of {', '.join(provider_names())}"
        )
    return factory()


def split_model(model: str) -> tuple[str, str]:
    """`"mistral/mistral-ocr-latest"` -> `("mistral", "mistral-ocr-latest")`."""
    provider, separator, name = model.partition("/")
    if not separator or not name:
        raise ConfigError(
            f"model {model!r} needs a provider prefix: "
            f"{', '.join(p + '/' for p in provider_names())} (e.g. mistral/mistral-ocr-latest)"
        )
    if provider not in _REGISTRY:
        raise ConfigError(
            f"unknown provider {provider!r} in model {model!r}: "
            f"expected one of {', '.join(provider_names())}"
        )
    return provider, name


def create_provider(model: str, **settings: Any) -> Provider:
    """Build the provider for a `provider/model` string and its settings."""
    provider, name = split_model(model)
    return provider_class(provider)(ProviderSettings(model=name, **settings))


__all__ = [
    "PROVIDER_NAMES",
    "Provider",
    "ProviderSettings",
    "create_provider",
    "provider_class",
    "provider_names",
    "register_provider",
    "split_model",
]
