"""The Router's settings by group (`RetrySettings`, `CooldownSettings`, ...): each group is some
of the flat settings under their own names, spread into them before the one validation, read back
from what they hold; flat keywords and LiteLLM's names keep working beside them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from providers.fake import FakeFleet, FakeProvider
from providers.samples import make_pdf
from router import Router
from router.config import (
    SETTING_GROUPS,
    CooldownSettings,
    LimitSettings,
    RetrySettings,
    RouterSettings,
    StateSettings,
    load_config,
)
from router.errors import ConfigError, ServerError

ENTRY = {"model_name": "ocr", "model": "mistral/mistral-ocr-latest", "api_key": "k-123456"}


def flat_fields() -> set[str]:
    return set(RouterSettings.model_fields) - set(SETTING_GROUPS)


def test_each_flat_setting_is_in_one_group_with_its_own_type_default_and_bounds() -> None:
    seen: list[str] = []
    for group, model in SETTING_GROUPS.items():
        assert group in RouterSettings.model_fields
        for name, field in model.model_fields.items():
            flat = RouterSettings.model_fields[name]
            assert (field.annotation, field.metadata, field.repr) == (
                flat.annotation,
                flat.metadata,
                flat.repr,
            ), name
            assert field.get_default(call_default_factory=True) == flat.get_default(
                call_default_factory=True
            ), name
            seen.append(name)
    assert sorted(seen) == sorted(flat_fields())  # every one, and none twice


def test_a_group_is_the_same_settings_as_its_flat_keywords_and_reads_back() -> None:
    grouped = RouterSettings(
        retries=RetrySettings(num_retries=1, backoff_max=2.0),
        cooldowns={"cooldown_time": 5},  # type: ignore[arg-type]  # a mapping, as in a file
        routing={"fallbacks": [{"ocr": ["backup"]}]},  # type: ignore[arg-type]  # LiteLLM's list
    )
    flat = RouterSettings(
        num_retries=1, backoff_max=2.0, cooldown_time=5, fallbacks={"ocr": ["backup"]}
    )
    assert grouped == flat
    assert grouped.retries == RetrySettings(num_retries=1, backoff_max=2.0)
    assert grouped.cooldowns.cooldown_time == 5.0 and grouped.cooldowns.allowed_fails == 3
    assert grouped.routing.fallbacks == {"ocr": ["backup"]}
    assert flat.limits == LimitSettings()  # groups read what the flat settings hold
    assert "retries" not in grouped.model_dump() and grouped.model_dump() == flat.model_dump()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"retries": {"num_retries": -1}}, "num_retries: Input should be greater than or equal"),
        ({"cooldowns": {"cooldown_tim": 5}}, "cooldowns has no setting cooldown_tim"),
        ({"retries": {"num_retries": 1}, "num_retries": 2}, "num_retries given both in retries"),
        ({"limits": 60}, "limits is a LimitSettings or a mapping"),
        ({"retries": {"backoff_initial": 5, "backoff_max": 1}}, "backoff_max must be at least"),
        ({"cooldowns": {"cooldown_time": 900, "max_cooldown_time": 60}}, "max_cooldown_time"),
        ({"routing": {"routing_strategy": "usage-based-routing"}}, "is not supported"),
    ],
)
def test_groups_meet_the_same_validation(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RouterSettings.model_validate(settings)


def test_a_group_object_checks_its_bounds_and_never_echoes_a_value() -> None:
    with pytest.raises(ValidationError, match="num_retries"):
        RetrySettings(num_retries=-1)
    state = StateSettings(redis_url="redis://:s3cret-pass@cache:6379/0")  # type: ignore[arg-type]
    assert "s3cret" not in repr(state)
    assert "s3cret" not in repr(RouterSettings(shared_state=state))


def test_the_longest_cooldown_raises_the_cap_given_in_a_group_as_flat() -> None:
    assert RouterSettings(cooldowns=CooldownSettings(cooldown_time=900)).max_cooldown_time == 900


def test_flat_keywords_and_groups_go_on_top_of_settings_given_to_the_router() -> None:
    with Router(
        [ENTRY], settings=RouterSettings(retries=RetrySettings(num_retries=1)), num_retries=4
    ) as router:
        assert router.settings.retries.num_retries == 4
    with Router(
        [ENTRY], settings=RouterSettings(num_retries=1, timeout=9), retries={"num_retries": 4}
    ) as router:
        assert (router.settings.num_retries, router.settings.timeout) == (4, 9.0)
    # LiteLLM's names beside a group: an ignored one is still ignored, a wrong one still refused.
    with Router([ENTRY], cooldowns={"allowed_fails": 2}, set_verbose=True) as router:
        assert router.settings.cooldowns.allowed_fails == 2
    with pytest.raises(ConfigError, match=r"router_settings\.allowed_fails"):
        Router([ENTRY], cooldowns={"allowed_fails": 0})


def test_a_config_file_takes_groups_and_from_config_a_group_on_top() -> None:
    source = {
        "model_list": [ENTRY],
        "router_settings": {"retries": {"num_retries": 2}, "cooldowns": {"cooldown_time": 7}},
    }
    config = load_config(source)
    assert (config.router_settings.num_retries, config.router_settings.cooldown_time) == (2, 7.0)
    with Router.from_config(source, retries={"num_retries": 6}) as router:
        assert (router.settings.num_retries, router.settings.cooldown_time) == (6, 7.0)


async def test_the_router_follows_a_group_it_was_given() -> None:
    """`retries` with no retry and `cooldowns` cooling after one failure: one attempt, then the
    deployment is out (the same as the flat keywords)."""
    fleet = FakeFleet({"down": FakeProvider("mistral", script=["503", "503"])})
    settings = RouterSettings(
        retries=RetrySettings(num_retries=0),
        cooldowns=CooldownSettings(allowed_fails=1, cooldown_time=60),
    )
    async with fleet.router(settings=settings) as router:
        with pytest.raises(ServerError):
            await router.aocr("ocr", make_pdf(1))
        assert fleet["down"].request_count == 1
        assert router.health()["down"].status == "cooling"
