"""The public surface: what `import router` offers is deliberate, typed, and pinned here.

A name added or dropped must change this file too, so the surface never moves by accident. The
typed keyword arguments (`OCRParams`, `ProviderOptions`, `RouterOptions`) are checked against the
models that validate them, so each stays a view of one truth, never a second one.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import typing
from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic.fields import FieldInfo

import providers.fake
import router
from providers.base import ProviderOptions, ProviderSettings
from router.api import OCRCallOptions, provider_setting_names
from router.config import RouterOptions, RouterSettings
from router.config._settings import REDIS_PARTS, ROUTER_SETTINGS_IGNORED
from router.types import OCRParams, OCRRequest

REPOSITORY = Path(__file__).parents[2]


def spellings(name: str, field: FieldInfo) -> set[str]:
    """Every name a model field is read under: its own, its alias, its alias choices."""
    names = {name} | ({field.alias} if field.alias else set())
    if isinstance(field.validation_alias, AliasChoices):
        names.update(str(choice) for choice in field.validation_alias.choices)
    elif isinstance(field.validation_alias, str):
        names.add(field.validation_alias)
    return names


ROUTER_SURFACE = {
    # errors
    "APIConnectionError", "AuthenticationError", "BadRequestError", "ConfigError", "Cooldown",
    "DocumentFetchError", "DocumentTooLargeError", "FileIdNotFoundError", "InvalidRequestError",
    "InvalidResponseError",
    "NotFoundError", "NoDeploymentAvailableError", "OCRRouterError", "PermissionDeniedError",
    "RateLimitError", "RequestTimeoutError", "RouterClosedError", "ServerError", "TransientError",
    "UnknownModelError", "UnprocessableEntityError", "UnsafeDocumentURLError",
    # the wire and what a call returns
    "Attempt", "CallInfo", "DocumentURLChunk", "FileChunk", "ImageURL", "ImageURLChunk",
    "OCRCallOptions", "OCRPageObject", "OCRParams", "OCRRequest", "OCRResponse", "OCRUsageInfo",
    # calls, routers, settings
    "aocr", "ocr", "Router", "RouterSettings", "RouterOptions", "BudgetSpec", "load_config",
    "Deployment", "DeploymentHealth", "CostReport", "Hook", "RouterEvent",
    "PRICES", "Price", "price_for", "ModelInfo", "model_info",
    "MemoryState", "RouterState", "RedisState",
    # extending and testing
    "register_provider", "register_strategy", "instant_backoff", "set_testing",
}  # fmt: skip


def test_router_exports_exactly_its_surface() -> None:
    assert set(router.__all__) == ROUTER_SURFACE
    assert len(router.__all__) == len(ROUTER_SURFACE)


def test_every_exported_name_resolves_in_a_fresh_interpreter() -> None:
    # RedisState is lazy: `import router` never imports the redis package.
    script = textwrap.dedent(
        """
        import sys, router
        assert "redis" not in sys.modules, "import router pulled in redis"
        for name in router.__all__:
            getattr(router, name)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, cwd=REPOSITORY)


def test_the_fakes_export_the_fleet() -> None:
    assert {"FakeProvider", "FakeFleet", "HostTransport"} <= set(providers.fake.__all__)
    for name in providers.fake.__all__:
        assert getattr(providers.fake, name) is not None


def test_ocr_params_are_the_requests_optional_fields() -> None:
    fields = set(OCRRequest.model_fields) - {"model", "document"}
    assert set(OCRParams.__annotations__) == fields


def test_provider_options_are_the_provider_settings_beyond_the_explicit_ones() -> None:
    assert set(ProviderOptions.__annotations__) == provider_setting_names()
    spelled = {
        spelling
        for name, field in ProviderSettings.model_fields.items()
        for spelling in spellings(name, field)
    }
    explicit = {"model", "api_key", "api_base", "api_version", "timeout"}
    assert set(ProviderOptions.__annotations__) == spelled - explicit
    assert set(typing.get_type_hints(OCRCallOptions)) == set(OCRParams.__annotations__) | set(
        ProviderOptions.__annotations__
    )


def test_router_options_are_every_setting_and_litellm_spelling() -> None:
    expected = set(RouterSettings.model_fields) | set(REDIS_PARTS) | set(ROUTER_SETTINGS_IGNORED)
    assert set(RouterOptions.__annotations__) == expected


def test_the_call_info_of_a_parsed_response_says_why_it_is_missing() -> None:
    parsed = router.OCRResponse.model_validate(
        {"pages": [], "model": "m", "usage_info": {"pages_processed": 0}}
    )
    with pytest.raises(AttributeError, match="did not come from ocr-router"):
        parsed.call_info  # noqa: B018
    assert getattr(parsed, "call_info", None) is None


TYPED_USE = """
from router import CallInfo, Router, RouterSettings, ocr

def use(router: Router) -> None:
    response = ocr(model="mistral/mistral-ocr-latest", document=b"", pages=[0], vertex_project="p")
    info: CallInfo = response.call_info
    print(info.cost_usd)
    routed = router.ocr("ocr", b"", pages="0-2", include_image_base64=True, tags=["eu"])
    print(routed.call_info.deployment_id)
    settings = RouterSettings(num_retries=2)
    Router([], settings=settings, routing_strategy="least-busy", redis_host="h")
"""

TYPOS = {
    "ocr_param": 'from router import ocr\nocr(model="m", document=b"", pagez=[0])\n',
    "router_param": (
        "from router import Router\n"
        'def use(r: Router) -> None:\n    r.ocr("ocr", b"", include_image_base65=True)\n'
    ),
    "router_setting": "from router import Router\nRouter([], num_retrys=2)\n",
}


def test_mypy_strict_accepts_typed_use_and_rejects_each_typo(tmp_path: Path) -> None:
    (tmp_path / "typed_use.py").write_text(TYPED_USE, encoding="utf-8")
    for name, code in TYPOS.items():
        (tmp_path / f"typo_{name}.py").write_text(code, encoding="utf-8")
    finished = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
         "--cache-dir", str(REPOSITORY / ".mypy_cache"), "--python-version", "3.11",
         *sorted(str(path) for path in tmp_path.glob("*.py"))],
        capture_output=True, text=True, timeout=300, cwd=REPOSITORY,
    )  # fmt: skip

    errors = [line for line in finished.stdout.splitlines() if ": error:" in line]
    assert not [line for line in errors if "typed_use.py" in line], finished.stdout
    for name, wrong in (
        ("ocr_param", "pagez"),
        ("router_param", "include_image_base65"),
        ("router_setting", "num_retrys"),
    ):
        assert any(f"typo_{name}.py" in line and wrong in line for line in errors), finished.stdout


def test_a_config_entry_takes_every_provider_setting_under_the_same_names() -> None:
    from router.config import DeploymentSpec
    from router.config._deployments import PROVIDER_FIELDS

    assert set(PROVIDER_FIELDS) == set(ProviderSettings.model_fields) - {"model"}
    for name in PROVIDER_FIELDS:
        assert name in DeploymentSpec.model_fields, name
        # LiteLLM's spellings (vertex_project, vertex_ai_project, ...) work in both.
        expected = spellings(name, ProviderSettings.model_fields[name])
        assert spellings(name, DeploymentSpec.model_fields[name]) >= expected, name
