"""ocr-router: load-balance Mistral OCR across Mistral, Azure AI Foundry and Vertex AI.

from router import ocr
response = ocr(model="mistral/mistral-ocr-latest",
               document={"type": "document_url", "document_url": "https://arxiv.org/pdf/2201.04234"})
for page in response.pages:
    print(page.markdown)
"""

from typing import TYPE_CHECKING, Any

from router.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    Cooldown,
    DocumentFetchError,
    DocumentTooLargeError,
    FileIdNotFoundError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    OCRRouterError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    RouterClosedError,
    ServerError,
    TransientError,
    UnprocessableEntityError,
    UnsafeDocumentURLError,
)
from router.types import (
    Attempt,
    CallInfo,
    DocumentURLChunk,
    FileChunk,
    ImageURL,
    ImageURLChunk,
    OCRPageObject,
    OCRParams,
    OCRRequest,
    OCRResponse,
    OCRUsageInfo,
)

if TYPE_CHECKING:
    from providers import register_provider
    from router.api import OCRCallOptions, aocr, ocr
    from router.capabilities import ModelInfo, model_info
    from router.config import BudgetSpec, RouterOptions, RouterSettings, load_config
    from router.cost import CostReport
    from router.deployment import Deployment
    from router.events import Hook, RouterEvent
    from router.pricing import PRICES, Price, price_for
    from router.retry import instant_backoff, set_testing
    from router.router import (
        DeploymentHealth,
        NoDeploymentAvailableError,
        Router,
        UnknownModelError,
    )
    from router.state import MemoryState, RouterState
    from router.state.redis import RedisState
    from router.strategies import register_strategy

__version__ = "0.1.0"

# Loaded on first use: `providers` imports `router.errors`, and the Router imports `providers`, so
# importing them here would be circular; it also keeps `import router` light, and `RedisState`
# (the `redis` extra) costs nothing to those who never touch it.
_LAZY = {
    "aocr": "router.api",
    "ocr": "router.api",
    "OCRCallOptions": "router.api",
    "BudgetSpec": "router.config",
    "RouterOptions": "router.config",
    "RouterSettings": "router.config",
    "load_config": "router.config",
    "CostReport": "router.cost",
    "Deployment": "router.deployment",
    "Hook": "router.events",
    "RouterEvent": "router.events",
    "ModelInfo": "router.capabilities",
    "model_info": "router.capabilities",
    "PRICES": "router.pricing",
    "Price": "router.pricing",
    "price_for": "router.pricing",
    "instant_backoff": "router.retry",
    "set_testing": "router.retry",
    "DeploymentHealth": "router.router",
    "NoDeploymentAvailableError": "router.router",
    "Router": "router.router",
    "UnknownModelError": "router.router",
    "MemoryState": "router.state",
    "RouterState": "router.state",
    "RedisState": "router.state.redis",
    "register_strategy": "router.strategies",
    "register_provider": "providers",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'router' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


__all__ = [
    "PRICES",
    "APIConnectionError",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "BudgetSpec",
    "CallInfo",
    "ConfigError",
    "Cooldown",
    "CostReport",
    "Deployment",
    "DeploymentHealth",
    "DocumentFetchError",
    "DocumentTooLargeError",
    "DocumentURLChunk",
    "FileChunk",
    "FileIdNotFoundError",
    "Hook",
    "ImageURL",
    "ImageURLChunk",
    "InvalidRequestError",
    "InvalidResponseError",
    "MemoryState",
    "ModelInfo",
    "NoDeploymentAvailableError",
    "NotFoundError",
    "OCRCallOptions",
    "OCRPageObject",
    "OCRParams",
    "OCRRequest",
    "OCRResponse",
    "OCRRouterError",
    "OCRUsageInfo",
    "PermissionDeniedError",
    "Price",
    "RateLimitError",
    "RedisState",
    "RequestTimeoutError",
    "Router",
    "RouterClosedError",
    "RouterEvent",
    "RouterOptions",
    "RouterSettings",
    "RouterState",
    "ServerError",
    "TransientError",
    "UnknownModelError",
    "UnprocessableEntityError",
    "UnsafeDocumentURLError",
    "aocr",
    "instant_backoff",
    "load_config",
    "model_info",
    "ocr",
    "price_for",
    "register_provider",
    "register_strategy",
    "set_testing",
]
