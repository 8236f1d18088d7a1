"""ocr-router: load-balance Mistral OCR across Mistral, Azure AI Foundry and Vertex AI."""

from router.errors import *  # noqa: F403
from router.errors import __all__ as _errors_all
from router.types import *  # noqa: F403
from router.types import __all__ as _types_all

__all__ = [*_errors_all, *_types_all]
