"""The proxy server: Mistral's `/v1/ocr` in front of a Router (`pip install 'ocr-router[proxy]'`).

    from router.proxy import create_app
    app = create_app(router, general_settings)      # any ASGI server
    # or: OCR_ROUTER_CONFIG=config.yaml uvicorn --factory router.proxy:app_from_environment
    # or: ocr-router serve --config config.yaml

Names are imported lazily, so that `ocr-router` commands that do not serve never load starlette.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.proxy.app import CONFIG_ENV, app_from_environment, create_app

__all__ = ["CONFIG_ENV", "app_from_environment", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from router.proxy import app

        return getattr(app, name)
    raise AttributeError(f"module 'router.proxy' has no attribute {name!r}")
