"""Providers of Mistral OCR: `mistral`, `azure_ai` and `vertex_ai`, plus fakes for tests.

`create_provider("azure_ai/mistral-ocr-4-0", api_key=..., api_base=...)` returns the
provider for a `provider/model` string.
"""

from __future__ import annotations

from typing import Any

from providers.base import Provider, ProviderSettings
from router.errors import ConfigError

PROVIDER_NAMES = ("mistral", "azure_ai", "vertex_ai")


def provider_class(name: str) -> type[Provider]:
    """The Provider class for a provider name."""
    if name == "mistral":
        from providers.mistral import MistralProvider

        return MistralProvider
    if name == "azure_ai":
        from providers.azure_ai import AzureAIProvider

        return AzureAIProvider
    if name == "vertex_ai":
        from providers.vertex_ai import VertexAIProvider

        return VertexAIProvider
    raise ConfigError(f"unknown provider {name!r}: expected one of {', '.join(PROVIDER_NAMES)}")


def split_model(model: str) -> tuple[str, str]:
    """`"mistral/mistral-ocr-latest"` -> `("mistral", "mistral-ocr-latest")`."""
    provider, separator, name = model.partition("/")
    if not separator or not name:
        raise ConfigError(
            f"model {model!r} needs a provider prefix: "
            f"{', '.join(p + '/' for p in PROVIDER_NAMES)} (e.g. mistral/mistral-ocr-latest)"
        )
    if provider not in PROVIDER_NAMES:
        raise ConfigError(
            f"unknown provider {provider!r} in model {model!r}: "
            f"expected one of {', '.join(PROVIDER_NAMES)}"
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
    "split_model",
]
