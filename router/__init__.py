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
    OCRRequest,
    OCRResponse,
    OCRUsageInfo,
)

if TYPE_CHECKING:
    from router.api import aocr, ocr
    from router.capabilities import ModelInfo, model_info
    from router.events import RouterEvent
    from router.pricing import PRICES, Price, price_for
    from router.router import NoDeploymentAvailableError, Router, UnknownModelError
    from router.state import MemoryState, RouterState

__version__ = "0.1.0"

# Loaded on first use: `providers` imports `router.errors`, and the Router imports `providers`, so
# importing them here would be circular; it also keeps `import router` light.
_LAZY = {
    "aocr": "router.api",
    "ocr": "router.api",
    "RouterEvent": "router.events",
    "ModelInfo": "router.capabilities",
    "model_info": "router.capabilities",
    "PRICES": "router.pricing",
    "Price": "router.pricing",
    "price_for": "router.pricing",
    "NoDeploymentAvailableError": "router.router",
    "Router": "router.router",
    "UnknownModelError": "router.router",
    "MemoryState": "router.state",
    "RouterState": "router.state",
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
    "CallInfo",
    "ConfigError",
    "Cooldown",
    "DocumentFetchError",
    "DocumentTooLargeError",
    "DocumentURLChunk",
    "FileChunk",
    "ImageURL",
    "ImageURLChunk",
    "InvalidRequestError",
    "InvalidResponseError",
    "MemoryState",
    "ModelInfo",
    "NoDeploymentAvailableError",
    "NotFoundError",
    "OCRPageObject",
    "OCRRequest",
    "OCRResponse",
    "OCRRouterError",
    "OCRUsageInfo",
    "PermissionDeniedError",
    "Price",
    "RateLimitError",
    "RequestTimeoutError",
    "Router",
    "RouterClosedError",
    "RouterEvent",
    "RouterState",
    "ServerError",
    "TransientError",
    "UnknownModelError",
    "UnprocessableEntityError",
    "UnsafeDocumentURLError",
    "aocr",
    "model_info",
    "ocr",
    "price_for",
]
