"""The chaos soak's switch: a short run by default (CI), the long run on demand.

`OCR_ROUTER_SOAK=long` selects the long run (20,000 requests through the Router, 5,000 through the
proxy); anything else, or nothing, the short one. An environment variable rather than a pytest
option because a conftest below the root cannot add options when the suite is run from the root
(`pytest tests`). Each run writes its figures to `$OCR_ROUTER_SOAK_REPORT_DIR` (default: the
system temp dir, `ocr-router-soak/`) and prints a summary line (shown with `-s`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from router.retry import is_testing, set_testing

SOAK_ENV = "OCR_ROUTER_SOAK"
REPORT_DIR_ENV = "OCR_ROUTER_SOAK_REPORT_DIR"
# The long run takes minutes; the suite-wide 120 s timeout is for the short one.
LONG_RUN_TIMEOUT_S = 1800


def soak_is_long() -> bool:
    return os.environ.get(SOAK_ENV, "").strip().lower() == "long"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"soak: chaos soak (short by default; {SOAK_ENV}=long for the long run)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not soak_is_long():
        return
    for item in items:
        if item.get_closest_marker("soak") is not None:
            item.add_marker(pytest.mark.timeout(LONG_RUN_TIMEOUT_S))


@pytest.fixture
def soak_long() -> bool:
    """True for the long run (`OCR_ROUTER_SOAK=long`)."""
    return soak_is_long()


@pytest.fixture
def soak_report_dir() -> Path:
    """Where each run writes its figures as JSON."""
    root = os.environ.get(REPORT_DIR_ENV) or os.path.join(tempfile.gettempdir(), "ocr-router-soak")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _real_backoff() -> Iterator[None]:
    """The soak tests real behaviour: backoff sleeps are real (and short, by the settings)."""
    previous = is_testing()
    set_testing(False)
    try:
        yield
    finally:
        set_testing(previous)
