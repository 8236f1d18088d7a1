"""ocr-router: load-balance Mistral OCR across Mistral, Azure AI Foundry and Vertex AI.

from router import ocr
response = ocr(model="mistral/mistral-ocr-latest",
               document={"type": "document_url", "document_url": "https://arxiv.org/pdf/2201.04234"})
for page in response.pages:
    print(page.markdown)
"""

from router.api import aocr, ocr
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
    ServerError,
    TransientError,
    UnprocessableEntityError,
    UnsafeDocumentURLError,
)
from router.pricing import PRICES, Price, price_for
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

__version__ = "0.1.0"

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
    "ServerError",
    "TransientError",
    "UnprocessableEntityError",
    "UnsafeDocumentURLError",
    "aocr",
    "ocr",
    "price_for",
]
