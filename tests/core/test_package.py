import subprocess
import sys

import pytest

import router


@pytest.mark.parametrize(
    "statement",
    [
        "import router; router.Router; router.ocr",
        "import providers; from router import Router, ocr, aocr",
        "import providers.fake; from router import Router",
        "from router.config import load_config; from router import Router",
    ],
)
def test_public_names_import_in_any_order(statement: str) -> None:
    # A fresh interpreter each time: import order bugs only show on a cold start.
    subprocess.run([sys.executable, "-c", statement], check=True, timeout=60)


def test_every_public_name_resolves() -> None:
    for name in router.__all__:
        assert getattr(router, name) is not None


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        router.does_not_exist  # noqa: B018
