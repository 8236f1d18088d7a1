"""`Deployment`: one place a logical model can be served, with its limits and its price.

A deployment belongs to a group (`model_name`, e.g. "ocr"); a Router picks one deployment of a
group per attempt. Its `id` is stable across restarts: given in the config, or derived from the
settings that identify it (provider, model, base URL, project, location), never from secrets.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from providers.base import Provider


@dataclass(eq=False)
class Deployment:
    id: str
    group: str
    model: str  # "provider/model" as configured, e.g. "azure_ai/mistral-document-ai-2505"
    provider: Provider
    weight: float = 1.0
    priority: int = 0  # lower tiers are used first
    max_concurrency: int | None = None
    rpm: int | None = None
    pages_per_minute: int | None = None
    price_per_page: float | None = None  # USD; None when neither the config nor the table knows
    price_per_annotated_page: float | None = None
    timeout: float | None = None
    max_pages_per_request: int | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def provider_name(self) -> str:
        return self.provider.name

    def price(self, pages: int, *, annotated: bool = False) -> float | None:
        """USD for `pages` pages on this deployment, None when its price is unknown."""
        per_page = self.price_per_annotated_page if annotated else self.price_per_page
        if per_page is None:
            per_page = self.price_per_page
        return None if per_page is None else pages * per_page

    def __repr__(self) -> str:
        return f"Deployment(id={self.id!r}, group={self.group!r}, model={self.model!r})"


def derive_deployment_id(group: str, model: str, *identity: str | None) -> str:
    """A stable id from the non-secret settings that identify a deployment.

    Example: `derive_deployment_id("ocr", "mistral/mistral-ocr-latest", None)` ->
    "ocr/mistral/mistral-ocr-latest#1a2b3c4d". Two deployments differing only in their key get
    the same id; give them explicit ids (or `api_base`s) to tell them apart.
    """
    digest = hashlib.sha256("|".join(part or "" for part in (group, model, *identity)).encode())
    return f"{group}/{model}#{digest.hexdigest()[:8]}"
