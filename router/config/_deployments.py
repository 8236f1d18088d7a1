"""The `model_list`: from config entries (ours or LiteLLM's) to `Deployment`s with stable ids.

Two spellings are accepted so that a LiteLLM user can bring their file unchanged:

    {"model_name": "ocr", "model": "mistral/mistral-ocr-latest", "api_key": "...", "weight": 2}
    {"model_name": "ocr", "litellm_params": {"model": "mistral/mistral-ocr-latest",
                                             "api_key": "os.environ/MISTRAL_API_KEY", "rpm": 60},
     "model_info": {"id": "mistral-eu-1"}}

Both become one `DeploymentSpec`, validated strictly: a key we do not understand is an error,
except a few LiteLLM keys that are harmless here, which are ignored with a warning (the lists
below say why for each). Ids must be stable across restarts, because cooldowns, costs and logs
are kept per id: a given id is kept; otherwise one is derived from the non-secret settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic import model_validator as _model_validator

from providers import create_provider, split_model
from providers.base import ProviderSettings, TokenCallable
from router.config._base import (
    ConfigModel,
    config_error,
    log_ignored,
    logger,
    validation_problems,
)
from router.deployment import Deployment, derive_deployment_id
from router.errors import ConfigError
from router.pricing import resolve_prices

# LiteLLM `litellm_params` keys that change nothing that matters here; anything else we do not
# know is an error: silently ignoring a setting (a credential, a mock) is worse than failing.
LITELLM_PARAMS_IGNORED: Mapping[str, str] = {
    # LiteLLM drops unsupported OpenAI parameters; ocr-router never drops one in silence.
    "drop_params": "unknown OCR parameters are always rejected with an error, never dropped",
    # OCR is metered in pages, not tokens.
    "tpm": "OCR has no tokens; use pages_per_minute (and rpm) to hold a deployment to its quota",
    # LiteLLM's per-client SDK retries; the Router retries, across deployments, under one deadline.
    "max_retries": "the Router retries across deployments (router_settings.num_retries)",
    # OCR responses are one JSON document, never a stream.
    "stream_timeout": "OCR responses are not streamed; use timeout",
}
# Not ignored, on purpose: `litellm_credential_name` (a credential we do not have: its key would
# be missing), `mock_response` (no real call would be made), `custom_llm_provider` (the provider
# is the model's prefix), `configurable_clientside_auth_params` (lets callers pick the endpoint).

# `model_info` in LiteLLM is partly metadata; these entries are safe to ignore.
MODEL_INFO_IGNORED: Mapping[str, str] = {
    "mode": "every deployment here is an OCR deployment",
    "base_model": "a call is priced by the configured model (or price_per_page), never another",
}
# `model_info` keys with a meaning here: the id, and the price (LiteLLM names it
# `ocr_cost_per_page` / `annotation_cost_per_page`, USD per page, as we do).
MODEL_INFO_FIELDS = frozenset(
    {
        "id",
        "price_per_page",
        "price_per_annotated_page",
        "ocr_cost_per_page",
        "annotation_cost_per_page",
    }
)
# The provider settings an entry passes on: all of ProviderSettings' fields but the model.
PROVIDER_FIELDS = tuple(name for name in ProviderSettings.model_fields if name != "model")
_ENTRY_KEYS = frozenset({"model_name", "litellm_params", "model_info"})


class DeploymentSpec(ConfigModel):
    """One `model_list` entry, validated: its group, its provider settings and its routing settings.

    LiteLLM's names are accepted beside ours: `order` for `priority`, `vertex_project`,
    `vertex_location`, `vertex_credentials` (and `vertex_ai_project`, `vertex_ai_location`,
    `vertex_ai_credentials`), `ocr_cost_per_page`, `annotation_cost_per_page`.
    """

    model_name: str = Field(min_length=1, description="the group a caller asks for, e.g. 'ocr'")
    model: str = Field(description="'provider/model', e.g. 'mistral/mistral-ocr-latest'")
    id: str | None = Field(
        default=None, min_length=1, description="stable id; derived from settings when absent"
    )

    # Provider settings, handed to the provider unchanged (`providers.base.ProviderSettings`).
    api_key: SecretStr | None = None
    api_base: str | None = None
    api_version: str | None = None
    project: str | None = Field(
        default=None,
        validation_alias=AliasChoices("project", "vertex_project", "vertex_ai_project"),
    )
    location: str | None = Field(
        default=None,
        validation_alias=AliasChoices("location", "vertex_location", "vertex_ai_location"),
    )
    # Service-account JSON (a path, its text or the parsed dict): kept out of repr().
    credentials: SecretStr | dict[str, Any] | None = Field(
        default=None,
        validation_alias=AliasChoices("credentials", "vertex_credentials", "vertex_ai_credentials"),
        repr=False,
    )
    token: SecretStr | TokenCallable | None = Field(default=None, repr=False)
    # Azure Entra ID (providers/azure_auth.py): instead of api_key.
    azure_ad_token: SecretStr | TokenCallable | None = Field(default=None, repr=False)
    azure_credential: Any = Field(default=None, repr=False)  # an azure-identity credential
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = Field(default=None, repr=False)
    enable_azure_ad_token_refresh: bool = False  # DefaultAzureCredential
    # Seconds for one call to this deployment; None: only the request's deadline bounds it.
    timeout: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    headers: dict[str, str] = Field(default_factory=dict, repr=False)  # may carry credentials
    allow_private_document_urls: bool = False  # the SSRF guard stays on unless asked
    # None: the provider's own defaults (50 MB, 30 s).
    max_document_bytes: int | None = Field(default=None, gt=0)
    document_fetch_timeout: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    # None: the provider's default (100 MiB decoded); a larger answer fails over.
    max_response_bytes: int | None = Field(default=None, gt=0)

    # Routing settings.
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)  # equal shares by default
    priority: int = Field(  # 0 is the first tier; higher tiers are used when lower ones are out
        default=0, ge=0, validation_alias=AliasChoices("priority", "order")
    )
    # None: no limit of our own (the provider's 429s still cool the deployment down).
    max_concurrency: int | None = Field(default=None, gt=0)
    rpm: int | None = Field(default=None, gt=0)
    pages_per_minute: int | None = Field(default=None, gt=0)
    # USD per page; None: the list price of `router.pricing` for this provider and model.
    price_per_page: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        validation_alias=AliasChoices("price_per_page", "ocr_cost_per_page"),
    )
    price_per_annotated_page: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        validation_alias=AliasChoices("price_per_annotated_page", "annotation_cost_per_page"),
    )
    max_pages_per_request: int | None = Field(default=None, gt=0)  # None: the provider's limit
    tags: tuple[str, ...] = ()

    @_model_validator(mode="before")
    @classmethod
    def _one_name_per_setting(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for names in _SPELLINGS.values():
                present = [name for name in names if name in data]
                if len(present) > 1:
                    raise ValueError(f"{' and '.join(present)} are one setting: give it once")
        return data

    @field_validator("model")
    @classmethod
    def _known_provider(cls, model: str) -> str:
        try:
            split_model(model)
        except ConfigError as error:
            raise ValueError(error.message) from None
        return model

    def derived_id(self) -> str:
        """The id derived from group, model, base URL, project and location (never a secret)."""
        return derive_deployment_id(
            self.model_name, self.model, self.api_base, self.project, self.location
        )

    def provider_settings(self) -> dict[str, Any]:
        """Keyword arguments for `providers.create_provider`: every field of `ProviderSettings`
        but `model` (that model is the truth: this entry declares the same names, a test keeps
        them equal), leaving out those unset here that have a provider default."""
        settings: dict[str, Any] = {}
        for name in PROVIDER_FIELDS:
            value = getattr(self, name)
            if value is None and not ProviderSettings.model_fields[name].is_required():
                default = ProviderSettings.model_fields[name].get_default(call_default_factory=True)
                if default is not None:
                    continue  # the provider's own default (50 MB, 30 s)
            settings[name] = dict(value) if isinstance(value, Mapping) else value
        return settings

    def to_deployment(self, *, deployment_id: str | None = None) -> Deployment:
        """Build the provider (which checks its settings, e.g. that a key exists) and the
        Deployment. `deployment_id` overrides the entry's id (`build_deployments` uses it to
        keep derived ids unique)."""
        try:
            provider = create_provider(self.model, **self.provider_settings())
        except ValidationError as error:
            raise config_error(validation_problems(error, "")) from None
        provider_name, model = split_model(self.model)
        price_per_page, price_per_annotated_page = resolve_prices(
            provider_name, model, self.price_per_page, self.price_per_annotated_page
        )
        return Deployment(
            id=deployment_id or self.id or self.derived_id(),
            group=self.model_name,
            model=self.model,
            provider=provider,
            weight=self.weight,
            priority=self.priority,
            max_concurrency=self.max_concurrency,
            rpm=self.rpm,
            pages_per_minute=self.pages_per_minute,
            price_per_page=price_per_page,
            price_per_annotated_page=price_per_annotated_page,
            timeout=self.timeout,
            max_pages_per_request=self.max_pages_per_request,
            tags=self.tags,
            max_document_bytes=self.max_document_bytes,
        )


def _spellings() -> dict[str, tuple[str, ...]]:
    """Each field's accepted names, for the fields that have more than one."""
    spellings: dict[str, tuple[str, ...]] = {}
    for name, field in DeploymentSpec.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            spellings[name] = tuple(str(choice) for choice in alias.choices)
    return spellings


# `TokenCallable` names `Awaitable` in a string; resolve it now that the class exists.
DeploymentSpec.model_rebuild(_types_namespace={"Awaitable": Awaitable})
_SPELLINGS = _spellings()
_FIELD_OF_NAME = {name: field for field, names in _SPELLINGS.items() for name in names}

ModelListEntry = Mapping[str, Any] | DeploymentSpec | Deployment


def build_deployments(model_list: Sequence[ModelListEntry]) -> list[Deployment]:
    """Validate every entry and build its Deployment, or raise one `ConfigError` listing each
    problem with its entry and field (`model_list[2] ("ocr-backup").litellm_params.weight: ...`).

    Ids: a given id is kept (two equal ones are an error); a derived id that repeats (e.g. three
    keys for the same Mistral model) gets `#2`, `#3` in order of appearance, so ids are stable
    as long as the order of the config is.
    """
    if isinstance(model_list, (str, bytes, Mapping)) or not isinstance(model_list, Sequence):
        raise ConfigError("model_list must be a list of deployments")
    if not model_list:
        raise ConfigError("model_list is empty: give at least one deployment")
    problems: list[str] = []
    ignored: dict[str, tuple[str, list[str]]] = {}  # "litellm_params.tpm" -> (reason, entries)
    parsed: list[tuple[str, DeploymentSpec | Deployment]] = []
    for index, entry in enumerate(model_list):
        where = entry_name(index, entry)
        try:
            parsed.append((where, _parse_entry(entry, where, ignored)))
        except ConfigError as error:
            problems.append(str(error))
    for key, (reason, entries) in ignored.items():
        log_ignored(", ".join(entries), key, reason)
    if problems:
        raise config_error(problems)

    deployments: list[Deployment] = []
    for (where, item), deployment_id in zip(parsed, _assign_ids(parsed), strict=True):
        if isinstance(item, Deployment):
            deployments.append(item)
            continue
        try:
            deployments.append(item.to_deployment(deployment_id=deployment_id))
        except ConfigError as error:
            problems.append(f"{where}: {error}")
    if problems:
        raise config_error(problems)
    _warn_aged_models(deployments)
    return deployments


_warned_models: set[str] = set()


def _warn_aged_models(deployments: Sequence[Deployment]) -> None:
    """Log (once per model and process) a deployment of a deprecated or retired model: a retired
    one answers 404 to every call (`ocr-router check-config` refuses it)."""
    for deployment in deployments:
        info = deployment.info
        state = info.lifecycle()
        if state == "current" or deployment.model in _warned_models:
            continue
        _warned_models.add(deployment.model)
        when = info.retires_on if state == "retired" else info.deprecated_on
        successor = f"; use {info.successor}" if info.successor else ""
        logger.warning("%s is %s (since %s)%s", deployment.model, state, when, successor)


def entry_name(index: int, entry: Any) -> str:
    """How errors name an entry: `model_list[2] ("ocr")`."""
    if isinstance(entry, Deployment):
        name: Any = entry.group
    elif isinstance(entry, DeploymentSpec):
        name = entry.model_name
    else:
        name = entry.get("model_name") if isinstance(entry, Mapping) else None
    return f'model_list[{index}] ("{name}")' if isinstance(name, str) else f"model_list[{index}]"


def _parse_entry(
    entry: Any, where: str, ignored: dict[str, tuple[str, list[str]]]
) -> DeploymentSpec | Deployment:
    if isinstance(entry, (DeploymentSpec, Deployment)):
        return entry
    if not isinstance(entry, Mapping):
        raise ConfigError(
            f"{where}: expected a mapping with model_name and model (or litellm_params), "
            f"got {type(entry).__name__}"
        )
    if "litellm_params" not in entry:
        return DeploymentSpec.validate_at(entry, where)
    data, section_of = _from_litellm_form(entry, where, ignored)
    return DeploymentSpec.validate_at(
        data, where, section_of=section_of, default_section="litellm_params"
    )


def _from_litellm_form(
    entry: Mapping[str, Any], where: str, ignored: dict[str, tuple[str, list[str]]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Flatten LiteLLM's `{model_name, litellm_params, model_info}` into our fields, remembering
    which section each key came from so that errors point at what the user wrote."""
    problems = [f"{where}.{key}: unknown field" for key in entry if key not in _ENTRY_KEYS]
    params = entry["litellm_params"]
    info = entry.get("model_info") or {}
    for section, value in (("litellm_params", params), ("model_info", info)):
        if not isinstance(value, Mapping):
            problems.append(f"{where}.{section}: expected a mapping, got {type(value).__name__}")
    if problems:
        raise config_error(problems)

    data: dict[str, Any] = {}
    section_of: dict[str, str] = {"model_name": ""}
    if "model_name" in entry:
        data["model_name"] = entry["model_name"]
    for key, value in params.items():
        if key in LITELLM_PARAMS_IGNORED:
            ignored.setdefault(f"litellm_params.{key}", (LITELLM_PARAMS_IGNORED[key], []))[
                1
            ].append(where)
        elif key == "model_name":  # it names the group, beside litellm_params, not inside
            problems.append(f"{where}.litellm_params.model_name: unknown field")
        else:
            data[key] = value
            section_of[key] = "litellm_params"
    for key, value in info.items():
        field = _FIELD_OF_NAME.get(key, key)
        clash = [name for name in data if _FIELD_OF_NAME.get(name, name) == field]
        if key in MODEL_INFO_IGNORED:
            ignored.setdefault(f"model_info.{key}", (MODEL_INFO_IGNORED[key], []))[1].append(where)
        elif key not in MODEL_INFO_FIELDS:
            problems.append(f"{where}.model_info.{key}: unknown field")
        elif clash:
            problems.append(
                f"{where}.model_info.{key}: also given as litellm_params.{clash[0]}: give it once"
            )
        else:
            data[key] = value
            section_of[key] = "model_info"
    if problems:
        raise config_error(problems)
    return data, section_of


def _assign_ids(parsed: list[tuple[str, DeploymentSpec | Deployment]]) -> list[str]:
    given: dict[str, str] = {}  # id -> the entry that gave it
    problems: list[str] = []
    for where, item in parsed:
        if item.id is None:
            continue
        if item.id in given:
            problems.append(
                f"{given[item.id]} and {where} both have id {item.id!r}: ids must be unique"
            )
        else:
            given[item.id] = where
    if problems:
        raise config_error(problems)

    taken = set(given)
    ids: list[str] = []
    for _, item in parsed:
        if isinstance(item, Deployment):
            ids.append(item.id)
            continue
        if item.id is not None:
            ids.append(item.id)
            continue
        base = candidate = item.derived_id()
        repeat = 1
        while candidate in taken:
            repeat += 1
            candidate = f"{base}#{repeat}"
        taken.add(candidate)
        ids.append(candidate)
    return ids
