"""A wrong config fails at load, naming the entry and the field, and never showing a value."""

from __future__ import annotations

from typing import Any

import pytest

from router.config import (
    DeploymentSpec,
    GeneralSettings,
    RouterSettings,
    build_deployments,
    load_config,
)
from router.errors import ConfigError


def litellm_entry(name: str, **params: Any) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {"model": "mistral/mistral-ocr-2512", "api_key": "k", **params},
    }


def config_error_of(model_list: list[Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        build_deployments(model_list)
    return str(caught.value)


def test_bad_weight_names_entry_index_group_and_field_path() -> None:
    message = config_error_of(
        [litellm_entry("ocr"), litellm_entry("ocr"), litellm_entry("ocr-backup", weight=0)]
    )

    assert message == (
        'model_list[2] ("ocr-backup").litellm_params.weight: Input should be greater than 0'
    )


def test_bad_weight_in_flat_form_names_the_field_without_a_section() -> None:
    message = config_error_of(
        [{"model_name": "ocr", "model": "mistral/mistral-ocr-2512", "api_key": "k", "weight": -1}]
    )

    assert message == 'model_list[0] ("ocr").weight: Input should be greater than 0'


def test_unknown_field_is_named_with_its_section() -> None:
    message = config_error_of([litellm_entry("ocr", foo=1)])

    assert message == 'model_list[0] ("ocr").litellm_params.foo: unknown field'


def test_unknown_model_info_key_and_unknown_entry_key_are_errors() -> None:
    entry = {**litellm_entry("ocr"), "model_info": {"team": "x"}, "extra": 1}

    message = config_error_of([entry])

    assert 'model_list[0] ("ocr").extra: unknown field' in message


def test_unknown_model_info_key_is_an_error() -> None:
    message = config_error_of([{**litellm_entry("ocr"), "model_info": {"team": "x"}}])

    assert message == 'model_list[0] ("ocr").model_info.team: unknown field'


def test_credential_reference_we_cannot_resolve_is_refused_not_ignored() -> None:
    message = config_error_of([litellm_entry("ocr", litellm_credential_name="azure-prod")])

    assert message == 'model_list[0] ("ocr").litellm_params.litellm_credential_name: unknown field'


def test_bad_provider_prefix_names_the_model_field() -> None:
    message = config_error_of([{"model_name": "ocr", "litellm_params": {"model": "openai/gpt-4o"}}])

    assert message.startswith('model_list[0] ("ocr").litellm_params.model: unknown provider')
    assert "mistral, azure_ai, vertex_ai" in message


def test_model_without_provider_prefix_is_refused() -> None:
    message = config_error_of([{"model_name": "ocr", "model": "mistral-ocr-latest"}])

    assert message.startswith('model_list[0] ("ocr").model: model ')
    assert "needs a provider prefix" in message


def test_missing_model_is_named_where_litellm_expects_it() -> None:
    message = config_error_of([{"model_name": "ocr", "litellm_params": {"api_key": "k"}}])

    assert message == 'model_list[0] ("ocr").litellm_params.model: Field required'


def test_missing_model_name_is_named_without_a_group() -> None:
    message = config_error_of([{"litellm_params": {"model": "mistral/mistral-ocr-2512"}}])

    assert message == "model_list[0].model_name: Field required"


def test_entry_that_is_not_a_mapping_is_named() -> None:
    message = config_error_of(["mistral/mistral-ocr-2512"])

    assert message.startswith("model_list[0]: expected a mapping")


def test_every_bad_entry_is_reported_not_only_the_first() -> None:
    message = config_error_of(
        [litellm_entry("a", rpm=0), litellm_entry("b"), litellm_entry("c", priority=-1)]
    )

    assert message.splitlines() == [
        'model_list[0] ("a").litellm_params.rpm: Input should be greater than 0',
        'model_list[2] ("c").litellm_params.priority: Input should be greater than or equal to 0',
    ]


def test_order_and_priority_together_are_refused() -> None:
    message = config_error_of([litellm_entry("ocr", order=1, priority=2)])

    assert "priority and order are one setting" in message


def test_negative_price_is_refused() -> None:
    message = config_error_of([{**litellm_entry("ocr"), "model_info": {"ocr_cost_per_page": -1}}])

    assert message == (
        'model_list[0] ("ocr").model_info.ocr_cost_per_page: '
        "Input should be greater than or equal to 0"
    )


def test_duplicate_given_ids_name_both_entries() -> None:
    entries = [
        {**litellm_entry("ocr"), "model_info": {"id": "eu-1"}},
        litellm_entry("ocr"),
        {**litellm_entry("ocr-backup"), "model_info": {"id": "eu-1"}},
    ]

    message = config_error_of(entries)

    assert message == (
        'model_list[0] ("ocr") and model_list[2] ("ocr-backup") both have id \'eu-1\': '
        "ids must be unique"
    )


def test_missing_environment_variable_is_named_and_no_value_is_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_AI_API_KEY", "azure-secret-value")
    monkeypatch.setenv("AZURE_BASE", "https://private-base.example")
    entries = [
        litellm_entry("ocr", api_key="first-plain-secret"),
        {
            "model_name": "ocr",
            "litellm_params": {
                "model": "mistral/mistral-ocr-2512",
                "api_key": "os.environ/MISTRAL_API_KEY",
            },
        },
        {
            "model_name": "ocr",
            "litellm_params": {
                "model": "azure_ai/mistral-document-ai-2512",
                "api_key": "os.environ/AZURE_AI_API_KEY",
                "api_base": "os.environ/AZURE_BASE",
            },
        },
    ]

    message = config_error_of(entries)

    assert message == (
        'model_list[1] ("ocr").litellm_params.api_key: '
        "environment variable MISTRAL_API_KEY is not set"
    )
    for value in ("first-plain-secret", "azure-secret-value", "private-base.example"):
        assert value not in message


def test_empty_environment_variable_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "")

    message = config_error_of([litellm_entry("ocr", api_key="os.environ/MISTRAL_API_KEY")])

    assert "environment variable MISTRAL_API_KEY is not set" in message


def test_provider_refusal_names_the_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    message = config_error_of([{"model_name": "ocr", "model": "mistral/mistral-ocr-2512"}])

    assert message.startswith('model_list[0] ("ocr"): ')
    assert "MISTRAL_API_KEY" in message


def test_secret_next_to_a_type_error_is_not_echoed() -> None:
    message = config_error_of([litellm_entry("ocr", api_key="s3cr3t-value", headers="s3cr3t-h")])

    assert (
        message
        == 'model_list[0] ("ocr").litellm_params.headers: Input should be a valid dictionary'
    )


def test_unknown_fallback_group_is_named_by_validate_against() -> None:
    settings = RouterSettings.model_validate({"fallbacks": [{"ocr": ["ocr-bakup"]}]})

    with pytest.raises(ConfigError) as caught:
        settings.validate_against(["ocr", "ocr-backup"])

    assert "router_settings.fallbacks['ocr']: unknown model group 'ocr-bakup'" in str(caught.value)


def test_unknown_fallback_group_fails_load_config() -> None:
    source = {
        "model_list": [litellm_entry("ocr")],
        "router_settings": {"default_fallbacks": ["nowhere"]},
    }

    with pytest.raises(ConfigError, match=r"default_fallbacks: unknown model group 'nowhere'"):
        load_config(source)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"num_retries": -1}, "router_settings.num_retries: Input should be greater than or equal"),
        ({"timeout": 0}, "router_settings.timeout: Input should be greater than 0"),
        ({"routing_strategy": "usage-based-routing"}, "is not supported"),
        ({"model_group_alias": {"a": "b"}}, "router_settings.model_group_alias: unknown field"),
        ({"backoff_initial": 2, "backoff_max": 1}, "backoff_max must be at least backoff_initial"),
        (
            {"budgets": [{"scope": "team", "name": "x", "max_usd": 1}]},
            "router_settings.budgets[0].scope",
        ),
        ({"budgets": [{"scope": "provider", "name": "x", "max_usd": 0}]}, "budgets[0].max_usd"),
        ({"fallbacks": [{"a": ["b"]}, {"a": ["c"]}]}, "fallbacks for 'a' are given twice"),
        ({"max_cooldown_time": 10}, "max_cooldown_time must be at least cooldown_time"),
    ],
)
def test_bad_router_settings_name_the_field(settings: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RouterSettings.model_validate(settings)

    assert expected in str(caught.value)


def test_general_settings_refuse_unknown_keys_and_empty_master_key() -> None:
    with pytest.raises(ConfigError) as caught:
        GeneralSettings.model_validate({"database_url": "postgres://u:pw@db", "master_key": ""})

    message = str(caught.value)
    assert "general_settings.database_url: unknown field" in message
    assert "general_settings.master_key: a master key must not be empty" in message
    assert "pw@db" not in message


def test_missing_master_key_variable_is_named() -> None:
    with pytest.raises(ConfigError, match=r"master_key: environment variable PROXY_KEY is not set"):
        GeneralSettings.model_validate({"master_key": "os.environ/PROXY_KEY"})


def test_direct_construction_error_hides_the_input() -> None:
    with pytest.raises(ValueError) as caught:
        DeploymentSpec(model_name="ocr", model="mistral/x", api_key=["direct-secret"])  # type: ignore[arg-type]

    assert "direct-secret" not in str(caught.value)


def test_yaml_syntax_error_names_the_file_and_line(write_yaml: Any) -> None:
    path = write_yaml(
        "model_list:\n"
        "  - model_name: ocr\n"
        "    litellm_params:\n"
        "      model: mistral/mistral-ocr-2512\n"
        "      api_key: [unclosed-secret-value\n"
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    message = str(caught.value)
    assert message.startswith(f"{path}: YAML syntax error at line ")
    assert "unclosed-secret-value" not in message


def test_yaml_error_line_points_at_the_broken_line(write_yaml: Any) -> None:
    path = write_yaml("model_list:\n  - model_name: ocr\n   bad: indentation\n")

    with pytest.raises(ConfigError, match=r"at line 3, column"):
        load_config(path)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({}, "model_list: required"),
        ({"model_list": []}, "model_list is empty"),
        ({"model_list": {"ocr": {}}}, "model_list must be a list"),
        (
            {"model_list": [litellm_entry("ocr")], "environment_variables": {}},
            "environment_variables: unknown section",
        ),
        (
            {"model_list": [litellm_entry("ocr")], "router_settings": [1]},
            "router_settings: expected a mapping",
        ),
    ],
)
def test_bad_top_level_layout_is_named(source: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_config(source)


def test_missing_file_is_named(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match=r"config file .*absent\.yaml not found"):
        load_config(tmp_path / "absent.yaml")


def test_file_that_is_not_a_mapping_is_refused(write_yaml: Any) -> None:
    with pytest.raises(ConfigError, match=r"expected a mapping with a model_list, got list"):
        load_config(write_yaml("- just\n- a list\n"))


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"redis_url": "redis://a:6379/0", "redis_host": "b", "redis_password": "pw-x1"},
            "give redis_url or redis_host, redis_password, not both",
        ),
        ({"redis_port": 6380, "redis_password": "pw-x1"}, "without redis_host"),
    ],
)
def test_redis_settings_that_contradict_each_other_are_named_without_the_password(
    settings: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        RouterSettings.model_validate(settings)

    assert expected in str(caught.value)
    assert "pw-x1" not in str(caught.value)


def test_a_shared_state_that_is_not_a_redis_url_is_a_config_error() -> None:
    from router import Router

    with pytest.raises(ConfigError, match="a shared state is a Redis URL"):
        Router(
            [{"model_name": "ocr", "model": "mistral/mistral-ocr-latest", "api_key": "k"}],
            state="postgres://db/0",
        )
