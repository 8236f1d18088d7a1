"""`router_settings` and `general_settings`: how the Router behaves, and what the proxy needs.

Every default is stated where it is defined, with its reason. LiteLLM's names are accepted where
they mean the same thing here (`routing_strategy`, `num_retries`, `timeout`, `fallbacks` in its
list form, `allowed_fails`, `cooldown_time`); LiteLLM keys that mean nothing here are either
ignored with a warning (harmless) or refused (ignoring them would change behaviour in silence).

The Router's settings are flat (as in LiteLLM and in config files), and also come in a few typed
groups: `RoutingSettings`, `RetrySettings`, `CooldownSettings`, `LimitSettings`, `StateSettings`,
`CacheSettings`. A group holds some of the flat settings under their own names, with the same
types, defaults and bounds (each group field *is* the flat field, copied: one truth). Groups are
read as `settings.retries` and given as `RouterSettings(retries=RetrySettings(...))` or, in a
file, `retries: {num_retries: 2}`; a group given is spread into its flat settings before the one
validation every setting goes through, so a group, a flat keyword and LiteLLM's spelling all meet
the same checks (and a setting given twice, flat and in a group, is an error).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypedDict
from urllib.parse import quote

from pydantic import Field, SecretStr, field_serializer, field_validator, model_validator

from router.config._base import ConfigModel, log_ignored
from router.errors import ConfigError

# LiteLLM router_settings with no meaning here, and harmless to ignore.
ROUTER_SETTINGS_IGNORED: Mapping[str, str] = {
    "enable_pre_call_checks": "limits are always checked before a deployment is chosen",
    "set_verbose": "configure the 'ocr_router' logger of the logging module instead",
    "debug_level": "configure the 'ocr_router' logger of the logging module instead",
    "context_window_fallbacks": "OCR has no context window to overflow",
    "content_policy_fallbacks": "OCR has no content-policy refusals",
    "retry_after": "waits between retries come from backoff_initial/backoff_max and Retry-After",
    "client_ttl": "the Router keeps one HTTP connection pool for its lifetime",
}
# LiteLLM's way to name the Redis server, mapped onto `redis_url` (ours, and LiteLLM's too).
REDIS_PARTS = ("redis_host", "redis_port", "redis_password", "redis_db")
# Anything else LiteLLM has (model_group_alias, retry_policy, disable_cooldowns, ...) is an error:
# ignoring it would route differently from what the file says.

# LiteLLM general_settings that concern features the proxy does not have, harmless to ignore.
GENERAL_SETTINGS_IGNORED: Mapping[str, str] = {
    "alerting": "no Slack/webhook alerting; use the Router's hooks",
    "alerting_threshold": "no Slack/webhook alerting; use the Router's hooks",
    "store_model_in_db": "deployments are only read from this file",
    "disable_spend_logs": "spend is kept in memory by the cost ledger, never logged per request",
}
# Refused: database_url (its virtual keys would stop working: better said at load than at the
# first request), and anything about auth (custom_auth, allowed_routes, ...) we cannot honour.


def _drop_ignored(data: Any, ignored: Mapping[str, str], section: str) -> Any:
    if not isinstance(data, Mapping):
        return data
    kept = dict(data)
    for key in ignored:
        if key in kept:
            del kept[key]
            log_ignored(section, key, ignored[key])
    return kept


def _redis_parts_to_url(data: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """LiteLLM's `redis_host`/`redis_port`/`redis_password`/`redis_db` as one `redis_url`."""
    parts = [key for key in REDIS_PARTS if key in data]
    if not parts:
        return data
    if "redis_url" in data:
        raise ValueError(f"give redis_url or {', '.join(parts)}, not both")
    if "redis_host" not in data:
        raise ValueError(f"{', '.join(parts)} without redis_host: give redis_host (or redis_url)")
    kept = {key: value for key, value in data.items() if key not in REDIS_PARTS}
    password = data.get("redis_password")
    if isinstance(password, SecretStr):
        password = password.get_secret_value()
    auth = f":{quote(str(password), safe='')}@" if password else ""
    port = data.get("redis_port") or 6379
    database = data.get("redis_db") or 0
    kept["redis_url"] = f"redis://{auth}{data['redis_host']}:{port}/{database}"
    return kept


class BudgetSpec(ConfigModel):
    """A spending cap: once a deployment (or every deployment of a provider) has cost `max_usd`
    in the current `period`, it leaves selection until the period ends."""

    config_section = "budget"

    scope: Literal["deployment", "provider"]
    name: str = Field(min_length=1, description="deployment id, or provider name ('mistral')")
    max_usd: float = Field(gt=0, allow_inf_nan=False)
    period: Literal["minute", "hour", "day", "month", "total"] = "day"  # providers bill daily


class RouterSettings(ConfigModel):
    """How the Router retries, falls back, cools deployments down and spends."""

    config_section = "router_settings"

    # Weighted random: needs no measurements, spreads load well from the first request.
    routing_strategy: str = "simple-shuffle"
    # Retries after the first attempt; 3 rides out a short outage of one deployment.
    num_retries: int = Field(default=3, ge=0)
    # Seconds for one request, all attempts and waits included: a multi-page OCR call can take a
    # minute, so 120 leaves room for one slow retry.
    timeout: float = Field(default=120.0, gt=0, allow_inf_nan=False)
    # Groups to try, in order, when a group has no candidate left.
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    # Tried after a group's own fallbacks, for every group.
    default_fallbacks: list[str] = Field(default_factory=list)
    # Consecutive transient failures before a deployment is cooled down (LiteLLM's default).
    allowed_fails: int = Field(default=3, ge=1)
    # Seconds out after `allowed_fails` transient failures; 0 disables that cooldown.
    cooldown_time: float = Field(default=30.0, ge=0, allow_inf_nan=False)
    # Seconds out after 401/403/404: wrong credentials or endpoint do not fix themselves soon.
    auth_cooldown_time: float = Field(default=300.0, ge=0, allow_inf_nan=False)
    # Cap of a cooldown that doubles after each failed half-open probe; when not given it is
    # 600 s, raised to the longest cooldown configured so that the cap never shortens one.
    max_cooldown_time: float = Field(default=600.0, gt=0, allow_inf_nan=False)
    # Requests let through to a deployment whose cooldown ended, to decide if it is healthy.
    half_open_probes: int = Field(default=1, ge=1)
    # Retries may add at most 20% to recent traffic, so an outage cannot multiply the load...
    retry_budget_ratio: float = Field(default=0.2, ge=0, allow_inf_nan=False)
    # ...plus this many retries per second, so a quiet router can still retry.
    retry_budget_min_per_second: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    # Seconds of history the retry budget counts.
    retry_budget_window: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    # Exponential backoff with full jitter between attempts: first ceiling, and the largest.
    backoff_initial: float = Field(default=0.1, ge=0, allow_inf_nan=False)
    backoff_max: float = Field(default=5.0, ge=0, allow_inf_nan=False)
    # A PDF with more pages than this is cut into shards served across deployments at once
    # (router/sharding.py; extra `pdf`). None: a PDF is sharded only when no deployment can take
    # it whole. Off by default: sharding needs the extra, and changes nothing a caller did not ask.
    shard_pages: int | None = Field(default=None, ge=1)
    # Spending caps; none by default.
    budgets: list[BudgetSpec] = Field(default_factory=list)
    # Seed of the strategies' randomness; None: unpredictable (set it for reproducible tests).
    seed: int | None = None
    # Shared state (router/state/redis/): routers with the same `name` on the same Redis share
    # cooldowns, quotas, in-flight counts and costs. None: each router keeps its own, in memory.
    redis_url: SecretStr | None = None  # may hold a password: never printed
    # The router's name (the prefix of its Redis keys); None: derived from its deployment ids,
    # so that processes serving the same config share without being told to.
    name: str | None = Field(default=None, min_length=1, pattern=r"^[^\s{}]+$")
    # The result cache (router/cache/): "memory", "redis" (on `redis_url`), a redis:// URL or a
    # directory path. None: every request goes to a provider. Left out of repr: a URL may hold a
    # password.
    cache: str | None = Field(default=None, min_length=1, repr=False)
    # Seconds a cached answer is served; None: until evicted. A week: models behind an alias
    # ("mistral-ocr-latest") change, and an old answer should not outlive that by long.
    cache_ttl: float | None = Field(default=7 * 86400.0, gt=0, allow_inf_nan=False)
    # Answers larger than this (every image inlined) are not cached.
    cache_max_entry_bytes: int = Field(default=16 * 1024 * 1024, gt=0)

    # The same settings by group (read: `settings.retries.num_retries`). Given, a group is spread
    # into the flat fields above before they are validated; read, it is what they hold. Left out
    # of dumps: a dump stays flat, as config files are.
    routing: RoutingSettings = Field(
        default_factory=lambda: RoutingSettings(), exclude=True, repr=False
    )
    retries: RetrySettings = Field(
        default_factory=lambda: RetrySettings(), exclude=True, repr=False
    )
    cooldowns: CooldownSettings = Field(
        default_factory=lambda: CooldownSettings(), exclude=True, repr=False
    )
    limits: LimitSettings = Field(default_factory=lambda: LimitSettings(), exclude=True, repr=False)
    shared_state: StateSettings = Field(
        default_factory=lambda: StateSettings(), exclude=True, repr=False
    )
    caching: CacheSettings = Field(
        default_factory=lambda: CacheSettings(), exclude=True, repr=False
    )

    @field_serializer("cache", when_used="json")
    def _cache_without_password(self, value: str | None) -> str | None:
        """A Redis URL's password masked in JSON dumps (check-config); Python dumps keep it:
        `Router.from_config` builds routers from them."""
        if value is None or "@" not in value or "://" not in value:
            return value
        scheme, _, rest = value.partition("://")
        return f"{scheme}://**********@{rest.rpartition('@')[2]}"

    @model_validator(mode="before")
    @classmethod
    def _litellm_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = _spread_groups(data)
            data = _redis_parts_to_url(data)
            data = _drop_ignored(data, ROUTER_SETTINGS_IGNORED, cls.config_section)
        return data

    @field_validator("routing_strategy")
    @classmethod
    def _known_strategy(cls, name: str) -> str:
        # The strategies' own rule (case, `_` or `-`, LiteLLM's aliases, registered names).
        from router.strategies import canonical_strategy_name

        try:
            return canonical_strategy_name(name)
        except ConfigError as error:
            raise ValueError(error.message) from None

    @field_validator("fallbacks", mode="before")
    @classmethod
    def _fallbacks_as_mapping(cls, value: Any) -> Any:
        """LiteLLM writes `[{"ocr": ["ocr-backup"]}, ...]`; merge it into one mapping."""
        if value is None:
            return {}
        if not isinstance(value, list):
            return value
        merged: dict[Any, Any] = {}
        for item in value:
            if not isinstance(item, Mapping):
                raise ValueError("a list of fallbacks holds mappings like {'ocr': ['ocr-backup']}")
            for group, targets in item.items():
                if group in merged:
                    raise ValueError(f"fallbacks for {group!r} are given twice")
                merged[group] = targets
        return merged

    @model_validator(mode="after")
    def _consistent(self) -> RouterSettings:
        if self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_max must be at least backoff_initial")
        longest = max(self.cooldown_time, self.auth_cooldown_time)
        if "max_cooldown_time" not in self.model_fields_set:
            object.__setattr__(self, "max_cooldown_time", max(self.max_cooldown_time, longest))
        elif self.max_cooldown_time < longest:
            raise ValueError(
                "max_cooldown_time must be at least cooldown_time and auth_cooldown_time"
            )
        for group, model in SETTING_GROUPS.items():  # validated above: no need to again
            values = {name: getattr(self, name) for name in model.model_fields}
            object.__setattr__(self, group, model.model_construct(**values))
        return self

    @classmethod
    def combine(
        cls, settings: RouterSettings | Mapping[str, Any] | None, flat: Mapping[str, Any]
    ) -> RouterSettings:
        """`Router(settings=..., **flat)`: an object or a mapping, with flat keywords on top,
        through one validation (LiteLLM's names included); `ConfigError` names a wrong one."""
        if isinstance(settings, RouterSettings):
            if not flat:
                return settings
            base: dict[str, Any] = settings.model_dump(exclude_unset=True)
        elif isinstance(settings, Mapping):
            base = dict(settings)
        elif settings is None:
            base = {}
        else:
            raise ConfigError(
                f"settings must be a RouterSettings or a mapping, not {type(settings).__name__}"
            )
        # A group among the flat keywords goes on top too: what it sets leaves the base.
        for key in _keys_set_by_groups(flat):
            base.pop(key, None)
        return cls.model_validate({**base, **flat})

    def validate_against(self, groups: Iterable[str]) -> None:
        """Raise `ConfigError` if a fallback names a group that has no deployment."""
        known = set(groups)
        problems: list[str] = []
        for group, targets in self.fallbacks.items():
            if group not in known:
                problems.append(f"router_settings.fallbacks: unknown model group {group!r}")
            problems.extend(
                f"router_settings.fallbacks[{group!r}]: unknown model group {target!r}"
                for target in targets
                if target not in known
            )
        problems.extend(
            f"router_settings.default_fallbacks: unknown model group {target!r}"
            for target in self.default_fallbacks
            if target not in known
        )
        if problems:
            problems.append(f"(model groups: {', '.join(sorted(known)) or 'none'})")
            raise ConfigError("\n".join(problems))


def _same_as(name: str) -> Any:
    """The flat setting `name`'s own field (type bounds, default, repr), for a group: one truth."""
    return copy.copy(RouterSettings.model_fields[name])


class RoutingSettings(ConfigModel):
    """Which deployment a request goes to: the strategy, fallbacks, sharding, the seed."""

    config_section = "router_settings.routing"

    routing_strategy: str = _same_as("routing_strategy")
    fallbacks: dict[str, list[str]] = _same_as("fallbacks")
    default_fallbacks: list[str] = _same_as("default_fallbacks")
    shard_pages: int | None = _same_as("shard_pages")
    seed: int | None = _same_as("seed")


class RetrySettings(ConfigModel):
    """How often a failed request is tried again, how long between tries, and the retry budget."""

    config_section = "router_settings.retries"

    num_retries: int = _same_as("num_retries")
    backoff_initial: float = _same_as("backoff_initial")
    backoff_max: float = _same_as("backoff_max")
    retry_budget_ratio: float = _same_as("retry_budget_ratio")
    retry_budget_min_per_second: float = _same_as("retry_budget_min_per_second")
    retry_budget_window: float = _same_as("retry_budget_window")


class CooldownSettings(ConfigModel):
    """When a failing deployment is taken out, for how long, and how it is let back in."""

    config_section = "router_settings.cooldowns"

    allowed_fails: int = _same_as("allowed_fails")
    cooldown_time: float = _same_as("cooldown_time")
    auth_cooldown_time: float = _same_as("auth_cooldown_time")
    max_cooldown_time: float = _same_as("max_cooldown_time")
    half_open_probes: int = _same_as("half_open_probes")


class LimitSettings(ConfigModel):
    """What one request may take (its deadline) and what the router may spend (budgets)."""

    config_section = "router_settings.limits"

    timeout: float = _same_as("timeout")
    budgets: list[BudgetSpec] = _same_as("budgets")


class StateSettings(ConfigModel):
    """Where the router's counters live: shared through Redis, under a name, or in memory."""

    config_section = "router_settings.shared_state"

    redis_url: SecretStr | None = _same_as("redis_url")
    name: str | None = _same_as("name")


class CacheSettings(ConfigModel):
    """The result cache: where answers are kept, for how long, and the largest one kept."""

    config_section = "router_settings.caching"

    cache: str | None = _same_as("cache")
    cache_ttl: float | None = _same_as("cache_ttl")
    cache_max_entry_bytes: int = _same_as("cache_max_entry_bytes")


# Each group's name in `RouterSettings` (and in a config file's router_settings) and its model.
SETTING_GROUPS: Mapping[str, type[ConfigModel]] = {
    "routing": RoutingSettings,
    "retries": RetrySettings,
    "cooldowns": CooldownSettings,
    "limits": LimitSettings,
    "shared_state": StateSettings,
    "caching": CacheSettings,
}
RouterSettings.model_rebuild()


def _group_values(group: str, given: Any) -> dict[str, Any]:
    """The flat settings a group holds: those set in a group object, or a mapping's."""
    model = SETTING_GROUPS[group]
    if isinstance(given, model):
        return {name: getattr(given, name) for name in given.model_fields_set}
    if not isinstance(given, Mapping):
        raise ValueError(f"{group} is a {model.__name__} or a mapping of its settings")
    unknown = sorted(str(key) for key in given if key not in model.model_fields)
    if unknown:
        raise ValueError(
            f"{group} has no setting {', '.join(unknown)} (its settings: "
            f"{', '.join(model.model_fields)})"
        )
    return dict(given)


def _spread_groups(data: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """`data` with each group given spread into its flat settings; a setting also given flat is
    an error (which would win is not obvious)."""
    if not any(group in data for group in SETTING_GROUPS):
        return data
    flat = {key: value for key, value in data.items() if key not in SETTING_GROUPS}
    for group in SETTING_GROUPS:
        if data.get(group) is None:
            continue
        values = _group_values(group, data[group])
        twice = sorted(set(values) & set(flat))
        if twice:
            raise ValueError(f"{', '.join(twice)} given both in {group} and on its own")
        flat.update(values)
    return flat


def _keys_set_by_groups(data: Mapping[str, Any]) -> set[str]:
    """The flat settings the groups among `data` set (a wrong group: none; validation says)."""
    keys: set[str] = set()
    for group, model in SETTING_GROUPS.items():
        given = data.get(group)
        if isinstance(given, model):
            keys.update(given.model_fields_set)
        elif isinstance(given, Mapping):
            keys.update(str(key) for key in given)
    return keys


class RouterOptions(TypedDict, total=False):
    """`Router(...)`'s flat settings, for mypy: every field of `RouterSettings` and LiteLLM's
    spellings it accepts (a test keeps this equal to the model; the model validates)."""

    routing_strategy: str
    num_retries: int
    timeout: float
    fallbacks: Mapping[str, list[str]] | list[Mapping[str, list[str]]]
    default_fallbacks: list[str]
    allowed_fails: int
    cooldown_time: float
    auth_cooldown_time: float
    max_cooldown_time: float
    half_open_probes: int
    retry_budget_ratio: float
    retry_budget_min_per_second: float
    retry_budget_window: float
    backoff_initial: float
    backoff_max: float
    budgets: list[BudgetSpec | Mapping[str, Any]]
    seed: int | None
    redis_url: str | SecretStr | None
    name: str | None
    cache: str | None
    cache_ttl: float | None
    cache_max_entry_bytes: int
    shard_pages: int | None
    # The same, by group
    routing: RoutingSettings | Mapping[str, Any]
    retries: RetrySettings | Mapping[str, Any]
    cooldowns: CooldownSettings | Mapping[str, Any]
    limits: LimitSettings | Mapping[str, Any]
    shared_state: StateSettings | Mapping[str, Any]
    caching: CacheSettings | Mapping[str, Any]
    # LiteLLM's
    redis_host: str
    redis_port: int
    redis_password: str | SecretStr
    redis_db: int
    enable_pre_call_checks: bool
    set_verbose: bool
    debug_level: str
    context_window_fallbacks: Any
    content_policy_fallbacks: Any
    retry_after: float
    client_ttl: float


class GeneralSettings(ConfigModel):
    """What the proxy needs: the keys a client may present (`master_key` may be
    `os.environ/NAME`)."""

    config_section = "general_settings"

    master_key: SecretStr | None = None
    master_keys: list[SecretStr] = Field(
        default_factory=list
    )  # several, to rotate without downtime

    # The proxy refuses a larger request body with 413 before reading it: a 50 MB document
    # (Mistral's limit) is about 67 MB as base64 in JSON, so 72 MiB lets it through.
    max_request_body_bytes: int = Field(default=72 * 1024 * 1024, gt=0)
    # The request line and headers together; larger is answered 431 before the app sees it (a
    # Bearer key and a browser's headers fit in a few KiB; nginx's own default is 8 KiB per line).
    max_request_header_bytes: int = Field(default=64 * 1024, gt=0)
    # Seconds from the first byte of a request (or from connecting) to its last header; a client
    # slower than that is cut off with 408, so idle and half-sent heads cannot pin connections.
    header_read_timeout: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    # Seconds the body may pause between two reads (not its total time: a large document on a
    # slow link stays welcome); a half-sent body is dropped after it.
    body_read_timeout: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    # Open connections per worker process; more are answered 503 and closed at once, so file
    # descriptors never run out (the usual limit is 1,024 per process).
    max_connections: int = Field(default=900, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _litellm_keys(cls, data: Any) -> Any:
        return _drop_ignored(data, GENERAL_SETTINGS_IGNORED, cls.config_section)

    @field_validator("master_key", "master_keys")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        keys = value if isinstance(value, list) else [value]
        if any(key is not None and not key.get_secret_value() for key in keys):
            raise ValueError("a master key must not be empty")
        return value

    def accepted_keys(self) -> list[SecretStr]:
        """Every key a client may present: `master_key` and `master_keys`."""
        return ([self.master_key] if self.master_key is not None else []) + list(self.master_keys)
