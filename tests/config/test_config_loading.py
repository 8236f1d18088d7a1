"""A config loads: the seed's proxy file unchanged, LiteLLM's full layout, and our flat form."""

from __future__ import annotations

import logging
import textwrap
import warnings
from typing import Any

import pytest
from pydantic import SecretStr

from providers.azure_ai import AzureAIProvider
from providers.base import ProviderSettings
from providers.mistral import MistralProvider
from providers.vertex_ai import VertexAIProvider
from router.config import (
    BudgetSpec,
    DeploymentSpec,
    GeneralSettings,
    RouterConfig,
    RouterSettings,
    build_deployments,
    load_config,
)
from router.deployment import Deployment
from router.errors import ConfigError

SEED_PROXY_CONFIG = """\
model_list:
  - model_name: mistral-ocr
    litellm_params:
      model: mistral/mistral-ocr-latest
      api_key: os.environ/MISTRAL_API_KEY
"""

LITELLM_CONFIG = """\
model_list:
  - model_name: ocr
    litellm_params:
      model: mistral/mistral-ocr-latest
      api_key: os.environ/MISTRAL_API_KEY
      rpm: 60
      order: 0
    model_info:
      id: mistral-primary
  - model_name: ocr
    litellm_params:
      model: azure_ai/mistral-document-ai-2512
      api_key: os.environ/AZURE_AI_API_KEY
      api_base: https://contoso.services.ai.azure.com
      weight: 2
      order: 1
  - model_name: ocr-backup
    litellm_params:
      model: vertex_ai/mistral-ocr-2505
      vertex_project: acme-ocr
      vertex_location: europe-west4
      token: os.environ/VERTEX_ACCESS_TOKEN
router_settings:
  routing_strategy: least-busy
  num_retries: 5
  timeout: 60
  fallbacks: [{"ocr": ["ocr-backup"]}]
  allowed_fails: 2
  cooldown_time: 45
general_settings:
  master_key: os.environ/PROXY_MASTER_KEY
"""


@pytest.fixture
def litellm_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "mistral-key-value")
    monkeypatch.setenv("AZURE_AI_API_KEY", "azure-key-value")
    monkeypatch.setenv("VERTEX_ACCESS_TOKEN", "vertex-token-value")
    monkeypatch.setenv("PROXY_MASTER_KEY", "sk-master-value")


def seed_as_dict() -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "mistral-ocr",
                "litellm_params": {
                    "model": "mistral/mistral-ocr-latest",
                    "api_key": "os.environ/MISTRAL_API_KEY",
                },
            }
        ]
    }


def assert_is_seed_deployment(config: RouterConfig) -> None:
    (deployment,) = config.model_list
    assert deployment.group == "mistral-ocr"
    assert deployment.model == "mistral/mistral-ocr-latest"
    assert isinstance(deployment.provider, MistralProvider)
    assert deployment.provider.url() == "https://api.mistral.ai/v1/ocr"
    assert config.router_settings == RouterSettings()


def test_seed_proxy_config_loads_unchanged_from_a_yaml_file(
    write_yaml: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "seed-key-value")

    assert_is_seed_deployment(load_config(write_yaml(SEED_PROXY_CONFIG)))


def test_seed_proxy_config_loads_from_a_path_given_as_str(
    write_yaml: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "seed-key-value")

    assert_is_seed_deployment(load_config(str(write_yaml(SEED_PROXY_CONFIG))))


def test_seed_proxy_config_loads_as_a_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "seed-key-value")

    assert_is_seed_deployment(load_config(seed_as_dict()))


async def test_environment_reference_becomes_the_providers_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "seed-key-value")
    (deployment,) = load_config(seed_as_dict()).model_list

    headers = await deployment.provider.auth_headers(None)  # type: ignore[arg-type]

    assert headers == {"Authorization": "Bearer seed-key-value"}


def test_litellm_config_with_three_providers_builds_each_deployment(
    write_yaml: Any, litellm_environment: None
) -> None:
    config = load_config(write_yaml(LITELLM_CONFIG))

    mistral, azure, vertex = config.model_list
    assert (mistral.id, mistral.group, mistral.rpm, mistral.priority) == (
        "mistral-primary",
        "ocr",
        60,
        0,
    )
    assert isinstance(mistral.provider, MistralProvider)
    assert (azure.group, azure.weight, azure.priority) == ("ocr", 2.0, 1)
    assert isinstance(azure.provider, AzureAIProvider)
    assert azure.provider.url().startswith("https://contoso.services.ai.azure.com/")
    assert vertex.group == "ocr-backup"
    assert isinstance(vertex.provider, VertexAIProvider)
    assert "/projects/acme-ocr/locations/europe-west4/" in vertex.provider.url()


def test_litellm_router_settings_are_read(write_yaml: Any, litellm_environment: None) -> None:
    settings = load_config(write_yaml(LITELLM_CONFIG)).router_settings

    assert settings.routing_strategy == "least-busy"
    assert settings.num_retries == 5
    assert settings.timeout == 60.0
    assert settings.fallbacks == {"ocr": ["ocr-backup"]}
    assert settings.allowed_fails == 2
    assert settings.cooldown_time == 45.0


def test_master_key_is_read_from_the_environment(
    write_yaml: Any, litellm_environment: None
) -> None:
    general = load_config(write_yaml(LITELLM_CONFIG)).general_settings

    assert general.master_key is not None
    assert general.master_key.get_secret_value() == "sk-master-value"


def test_flat_form_sets_every_routing_field() -> None:
    (deployment,) = build_deployments(
        [
            {
                "model_name": "ocr",
                "model": "mistral/mistral-ocr-2512",
                "api_key": "flat-key-value",
                "id": "flat-1",
                "weight": 2.5,
                "priority": 1,
                "max_concurrency": 4,
                "rpm": 30,
                "pages_per_minute": 600,
                "timeout": 20,
                "max_pages_per_request": 30,
                "tags": ["eu", "cheap"],
            }
        ]
    )

    assert deployment.id == "flat-1"
    assert (deployment.weight, deployment.priority) == (2.5, 1)
    assert (deployment.max_concurrency, deployment.rpm, deployment.pages_per_minute) == (4, 30, 600)
    assert (deployment.timeout, deployment.max_pages_per_request) == (20.0, 30)
    assert deployment.tags == ("eu", "cheap")
    assert deployment.provider.settings.timeout == 20.0


def test_routing_fields_default_to_one_equal_unlimited_tier() -> None:
    (deployment,) = build_deployments(
        [{"model_name": "ocr", "model": "mistral/mistral-ocr-2512", "api_key": "k"}]
    )

    assert (deployment.weight, deployment.priority) == (1.0, 0)
    assert deployment.max_concurrency is deployment.rpm is deployment.pages_per_minute is None
    assert deployment.tags == ()


def test_provider_settings_reach_the_provider() -> None:
    (deployment,) = build_deployments(
        [
            {
                "model_name": "ocr",
                "model": "azure_ai/mistral-document-ai-2512",
                "api_key": "azure-key-value",
                "api_base": "https://contoso.services.ai.azure.com",
                "api_version": "2024-05-01-preview",
                "headers": {"X-Team": "docs"},
                "allow_private_document_urls": True,
                "max_document_bytes": 1000,
                "document_fetch_timeout": 3,
            }
        ]
    )

    settings = deployment.provider.settings
    assert settings.model == "mistral-document-ai-2512"
    assert settings.api_version == "2024-05-01-preview"
    assert settings.headers == {"X-Team": "docs"}
    assert settings.allow_private_document_urls is True
    assert (settings.max_document_bytes, settings.document_fetch_timeout) == (1000, 3.0)


def test_unset_download_limits_keep_the_providers_defaults() -> None:
    (deployment,) = build_deployments(
        [{"model_name": "ocr", "model": "mistral/mistral-ocr-2512", "api_key": "k"}]
    )

    defaults = ProviderSettings(model="mistral-ocr-2512")
    assert deployment.provider.settings.max_document_bytes == defaults.max_document_bytes
    assert deployment.provider.settings.document_fetch_timeout == defaults.document_fetch_timeout


def test_specs_and_deployments_may_be_mixed_with_mappings() -> None:
    spec = DeploymentSpec.model_validate(
        {"model_name": "ocr", "model": "mistral/mistral-ocr-2512", "api_key": "k1"}
    )
    ready = spec.to_deployment(deployment_id="ready-made")

    built = build_deployments(
        [spec, ready, {"model_name": "ocr", "model": "mistral/mistral-ocr-2512", "api_key": "k"}]
    )

    assert built[1] is ready
    assert [d.model for d in built] == [
        "mistral/mistral-ocr-2512",
        "mistral/mistral-ocr-2512",
        "mistral/mistral-ocr-2512",
    ]


def test_router_settings_defaults_are_documented_values() -> None:
    settings = RouterSettings()

    assert settings.routing_strategy == "simple-shuffle"
    assert (settings.num_retries, settings.timeout, settings.allowed_fails) == (3, 120.0, 3)
    assert (settings.cooldown_time, settings.auth_cooldown_time) == (30.0, 300.0)
    assert settings.max_cooldown_time == 600.0
    assert settings.half_open_probes == 1
    assert (settings.retry_budget_ratio, settings.retry_budget_min_per_second) == (0.2, 1.0)
    assert settings.retry_budget_window == 10.0
    assert (settings.backoff_initial, settings.backoff_max) == (0.1, 5.0)
    assert settings.fallbacks == {} and settings.default_fallbacks == [] and settings.budgets == []
    assert settings.seed is None


@pytest.mark.parametrize(
    "strategy",
    [
        "simple-shuffle",
        "round-robin",
        "least-busy",
        "lowest-latency",
        "lowest-cost",
        "shuffle",
        "latency-based-routing",
        "cost-based-routing",
    ],
)
def test_every_strategy_name_and_litellm_alias_is_accepted(strategy: str) -> None:
    # Kept as the name it means, the one create_strategy builds (an alias is ours underneath).
    aliases = {
        "shuffle": "simple-shuffle",
        "latency-based-routing": "lowest-latency",
        "cost-based-routing": "lowest-cost",
    }
    settings = RouterSettings.model_validate({"routing_strategy": strategy})
    assert settings.routing_strategy == aliases.get(strategy, strategy)


@pytest.mark.parametrize("spelling", ["Least_Busy", " least_busy ", "LEAST-BUSY"])
def test_strategy_names_are_read_by_the_strategies_own_rule(spelling: str) -> None:
    # create_strategy always took these; the settings validator refused them.
    assert RouterSettings.model_validate({"routing_strategy": spelling}).routing_strategy == (
        "least-busy"
    )


def test_fallbacks_are_accepted_as_a_mapping_too() -> None:
    settings = RouterSettings.model_validate(
        {"fallbacks": {"ocr": ["ocr-cheap", "ocr-backup"]}, "default_fallbacks": ["ocr-backup"]}
    )

    assert settings.fallbacks == {"ocr": ["ocr-cheap", "ocr-backup"]}
    assert settings.default_fallbacks == ["ocr-backup"]


def test_validate_against_accepts_known_groups() -> None:
    settings = RouterSettings.model_validate({"fallbacks": [{"ocr": ["ocr-backup"]}]})

    settings.validate_against(["ocr", "ocr-backup"])  # no error


def test_budgets_are_parsed_with_a_daily_default_period() -> None:
    settings = RouterSettings.model_validate(
        {
            "budgets": [
                {"scope": "provider", "name": "mistral", "max_usd": 10},
                {"scope": "deployment", "name": "ocr-1", "max_usd": 0.5, "period": "hour"},
            ]
        }
    )

    assert settings.budgets == [
        BudgetSpec(scope="provider", name="mistral", max_usd=10.0, period="day"),
        BudgetSpec(scope="deployment", name="ocr-1", max_usd=0.5, period="hour"),
    ]


def test_max_cooldown_time_rises_to_the_longest_cooldown_when_not_given() -> None:
    settings = RouterSettings.model_validate({"cooldown_time": 900})

    assert settings.max_cooldown_time == 900.0


def test_general_settings_accept_several_master_keys() -> None:
    general = GeneralSettings.model_validate({"master_key": "sk-a", "master_keys": ["sk-b"]})

    assert [key.get_secret_value() for key in general.accepted_keys()] == ["sk-a", "sk-b"]
    assert all(isinstance(key, SecretStr) for key in general.accepted_keys())


def test_harmless_litellm_keys_are_ignored_with_one_warning_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = {
        "model_name": "ocr",
        "litellm_params": {"model": "mistral/mistral-ocr-2512", "api_key": "k", "tpm": 1000},
        "model_info": {"mode": "ocr"},
    }
    with caplog.at_level(logging.WARNING, logger="ocr_router.config"):
        deployments = build_deployments([entry, entry, entry])

    assert len(deployments) == 3
    messages = [record.getMessage() for record in caplog.records]
    assert sum("litellm_params.tpm is ignored" in message for message in messages) == 1
    assert sum("model_info.mode is ignored" in message for message in messages) == 1


def test_ignored_router_and_general_settings_are_named_in_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="ocr_router.config"):
        settings = RouterSettings.model_validate({"enable_pre_call_checks": True})
        GeneralSettings.model_validate({"alerting": ["slack"]})

    assert settings == RouterSettings()
    text = caplog.text
    assert "router_settings.enable_pre_call_checks is ignored" in text
    assert "general_settings.alerting is ignored" in text


@pytest.mark.parametrize("key", ["set_verbose", "debug_level"])
def test_litellm_verbosity_settings_point_at_the_ocr_router_logger(
    caplog: pytest.LogCaptureFixture, key: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="ocr_router.config"):
        RouterSettings.model_validate({key: True})

    [record] = [r for r in caplog.records if f"router_settings.{key} is ignored" in r.getMessage()]
    # The logger named is one that exists and parents every logger of the package.
    assert "'ocr_router' logger" in record.getMessage()
    package = logging.getLogger("ocr_router")
    assert logging.getLogger("ocr_router.config").parent is package


def test_litellm_settings_are_ignored_with_a_warning_listing_their_keys(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "seed-key-value")
    source = {**seed_as_dict(), "litellm_settings": {"drop_params": True, "num_retries": 2}}

    with caplog.at_level(logging.WARNING, logger="ocr_router.config"):
        config = load_config(source)

    assert len(config.model_list) == 1
    assert "litellm_settings is ignored" in caplog.text
    assert "drop_params, num_retries" in caplog.text


def test_readable_config_file_with_a_plain_key_warns(
    write_yaml: Any, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_yaml(
        textwrap.dedent(
            """\
            model_list:
              - model_name: ocr
                litellm_params: {model: mistral/mistral-ocr-2512, api_key: plain-key-value}
            """
        ),
        mode=0o644,
    )

    # A log record of the ocr_router tree, not a `warnings` warning (which printed this
    # module's source path and line in CLI output).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level(logging.WARNING, logger="ocr_router"):
            load_config(path)

    [record] = [r for r in caplog.records if "readable by other users" in r.getMessage()]
    assert record.name == "ocr_router.config"
    assert record.levelno == logging.WARNING
    text = record.getMessage()
    assert "model_list[0].litellm_params.api_key" in text
    assert "plain-key-value" not in text


@pytest.mark.parametrize("mode", [0o600, 0o644])
def test_config_with_only_environment_references_never_warns(
    write_yaml: Any, monkeypatch: pytest.MonkeyPatch, mode: int, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "seed-key-value")
    path = write_yaml(SEED_PROXY_CONFIG, mode=mode)

    with caplog.at_level(logging.WARNING, logger="ocr_router"):
        load_config(path)

    assert not [r for r in caplog.records if "readable by other users" in r.getMessage()]


def test_private_config_file_with_a_plain_key_does_not_warn(
    write_yaml: Any, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_yaml(
        "model_list: [{model_name: ocr, model: mistral/mistral-ocr-2512, api_key: plain-key}]",
        mode=0o600,
    )

    with caplog.at_level(logging.WARNING, logger="ocr_router"):
        load_config(path)

    assert not [r for r in caplog.records if "readable by other users" in r.getMessage()]


def test_missing_pyyaml_says_which_extra_to_install(
    write_yaml: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    path = write_yaml(SEED_PROXY_CONFIG)
    monkeypatch.setitem(sys.modules, "yaml", None)  # makes `import yaml` raise ImportError

    with pytest.raises(ConfigError, match=r"pip install 'ocr-router\[yaml\]'"):
        load_config(path)


def test_deployment_objects_are_returned_in_config_order(litellm_environment: None) -> None:
    import yaml

    config = load_config(yaml.safe_load(LITELLM_CONFIG))

    assert all(isinstance(d, Deployment) for d in config.model_list)
    assert [d.group for d in config.model_list] == ["ocr", "ocr", "ocr-backup"]
