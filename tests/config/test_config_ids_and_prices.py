"""Deployment ids are stable and secret-free; prices default to the list price table."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from router.config import DeploymentSpec, build_deployments, load_config
from router.deployment import derive_deployment_id
from router.pricing import price_for

SECRETS = ("mistral-key-one", "mistral-key-two", "mistral-key-three", "sk-master-secret")


def three_mistral_keys() -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "ocr",
                "litellm_params": {"model": "mistral/mistral-ocr-latest", "api_key": key},
            }
            for key in SECRETS[:3]
        ],
        "general_settings": {"master_key": SECRETS[3]},
    }


def test_ids_are_the_same_across_two_loads() -> None:
    first = [d.id for d in load_config(three_mistral_keys()).model_list]
    second = [d.id for d in load_config(three_mistral_keys()).model_list]

    assert first == second


def test_same_model_with_three_keys_gets_three_ids_suffixed_in_order() -> None:
    ids = [d.id for d in load_config(three_mistral_keys()).model_list]

    base = derive_deployment_id("ocr", "mistral/mistral-ocr-latest", None, None, None)
    assert ids == [base, f"{base}#2", f"{base}#3"]


def test_appending_a_deployment_keeps_the_earlier_ids() -> None:
    config = three_mistral_keys()
    before = [d.id for d in load_config(config).model_list]
    config["model_list"].append(
        {"model_name": "ocr", "model": "mistral/mistral-ocr-latest", "api_key": "fourth"}
    )

    after = [d.id for d in load_config(config).model_list]

    assert after[:3] == before
    assert len(set(after)) == 4


def test_ids_differ_by_base_project_and_location() -> None:
    deployments = build_deployments(
        [
            {"model_name": "ocr", "model": "mistral/mistral-ocr-2512", "api_key": "k"},
            {
                "model_name": "ocr",
                "model": "mistral/mistral-ocr-2512",
                "api_key": "k",
                "api_base": "https://eu.example/v1",
            },
            {
                "model_name": "ocr",
                "model": "vertex_ai/mistral-ocr-2505",
                "project": "p",
                "location": "europe-west4",
                "token": "t",
            },
            {
                "model_name": "ocr",
                "model": "vertex_ai/mistral-ocr-2505",
                "project": "p",
                "location": "us-central1",
                "token": "t",
            },
        ]
    )

    ids = [d.id for d in deployments]
    assert len(set(ids)) == 4
    # No collision suffix ("#2" after the id's own "#<hash>", which may itself start with 2).
    assert not any(deployment_id.endswith("#2") for deployment_id in ids)


def test_derived_id_does_not_collide_with_a_given_one() -> None:
    base = derive_deployment_id("ocr", "mistral/mistral-ocr-2512", None, None, None)
    deployments = build_deployments(
        [
            {"model_name": "ocr", "model": "mistral/mistral-ocr-2512", "api_key": "a"},
            {"model_name": "ocr", "model": "mistral/mistral-ocr-2512", "api_key": "b", "id": base},
        ]
    )

    assert [d.id for d in deployments] == [f"{base}#2", base]


def test_no_secret_in_any_id_or_repr() -> None:
    config = load_config(three_mistral_keys())

    shown = [repr(config), str(config), *(repr(d) for d in config.model_list)]
    shown += [d.id for d in config.model_list]
    shown += [repr(d.provider) for d in config.model_list]
    for text in shown:
        for secret in SECRETS:
            assert secret not in text


def test_spec_repr_hides_keys_tokens_credentials_and_headers() -> None:
    spec = DeploymentSpec.model_validate(
        {
            "model_name": "ocr",
            "model": "vertex_ai/mistral-ocr-2505",
            "api_key": "spec-api-key",
            "token": "spec-token",
            "vertex_credentials": {"private_key": "spec-private-key"},
            "headers": {"X-Api-Key": "spec-header-key"},
        }
    )

    text = repr(spec) + str(spec)
    for secret in ("spec-api-key", "spec-token", "spec-private-key", "spec-header-key"):
        assert secret not in text


def test_price_defaults_to_the_list_price_of_provider_and_model() -> None:
    (deployment,) = build_deployments(
        [{"model_name": "ocr", "model": "vertex_ai/mistral-ocr-2505", "project": "p", "token": "t"}]
    )

    listed = price_for("vertex_ai", "mistral-ocr-2505")
    assert listed is not None
    assert deployment.price_per_page == listed.per_page
    assert deployment.price_per_annotated_page == listed.per_annotated_page


def test_explicit_price_overrides_the_table() -> None:
    (deployment,) = build_deployments(
        [
            {
                "model_name": "ocr",
                "model": "mistral/mistral-ocr-2512",
                "api_key": "k",
                "price_per_page": 0.0005,
                "price_per_annotated_page": 0.0,
            }
        ]
    )

    assert deployment.price_per_page == 0.0005
    assert deployment.price_per_annotated_page == 0.0


def test_each_price_falls_back_to_the_table_on_its_own() -> None:
    (deployment,) = build_deployments(
        [
            {
                "model_name": "ocr",
                "model": "mistral/mistral-ocr-2512",
                "api_key": "k",
                "price_per_page": 0.0005,
            }
        ]
    )

    listed = price_for("mistral", "mistral-ocr-2512")
    assert listed is not None
    assert deployment.price_per_page == 0.0005
    assert deployment.price_per_annotated_page == listed.per_annotated_page


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("model_info", "ocr_cost_per_page"),
        ("model_info", "price_per_page"),
        ("litellm_params", "ocr_cost_per_page"),
    ],
)
def test_litellm_price_keys_override_the_table(section: str, key: str) -> None:
    entry: dict[str, Any] = {
        "model_name": "ocr",
        "litellm_params": {"model": "mistral/mistral-ocr-2512", "api_key": "k"},
        "model_info": {},
    }
    entry[section][key] = 0.0007
    entry["model_info"]["annotation_cost_per_page"] = 0.0021

    (deployment,) = build_deployments([entry])

    assert (deployment.price_per_page, deployment.price_per_annotated_page) == (0.0007, 0.0021)


def test_price_given_twice_is_refused() -> None:
    entry = {
        "model_name": "ocr",
        "litellm_params": {
            "model": "mistral/mistral-ocr-2512",
            "api_key": "k",
            "price_per_page": 1,
        },
        "model_info": {"ocr_cost_per_page": 0.001},
    }

    with pytest.raises(ValueError, match=r"model_info\.ocr_cost_per_page: also given as"):
        build_deployments([entry])


def test_model_missing_from_the_table_has_no_price() -> None:
    (deployment,) = build_deployments(
        [{"model_name": "ocr", "model": "mistral/mistral-ocr-2099", "api_key": "k"}]
    )

    assert deployment.price_per_page is None
    assert deployment.price_per_annotated_page is None
    assert deployment.price(10) is None


def test_a_retired_model_is_logged_once_with_its_successor(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from router.config import _deployments

    _deployments._warned_models.discard("azure_ai/mistral-document-ai-2505")
    entry = {
        "model_name": "ocr",
        "model": "azure_ai/mistral-document-ai-2505",
        "api_key": "k",
        "api_base": "https://r.services.ai.azure.com",
    }
    with caplog.at_level(logging.WARNING, logger="ocr_router.config"):
        build_deployments([entry])
        build_deployments([entry])
    warnings = [
        r.getMessage() for r in caplog.records if "mistral-document-ai-2505" in r.getMessage()
    ]
    assert warnings == [
        "azure_ai/mistral-document-ai-2505 is retired (since 2026-07-15); "
        "use azure_ai/mistral-document-ai-2512"
    ]
