"""`load_config`: a whole config (a YAML file or a dict) to a validated `RouterConfig`.

The file layout is LiteLLM's (`model_list`, `router_settings`, `general_settings`,
`litellm_settings`), so that a LiteLLM user can bring their file. Everything is checked at load,
fallbacks against the groups included, so a wrong config fails before any request is sent.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field

from router.config._base import ENV_PREFIX, config_error, logger
from router.config._deployments import build_deployments
from router.config._settings import GeneralSettings, RouterSettings
from router.deployment import Deployment
from router.errors import ConfigError

# litellm_settings configure LiteLLM itself (callbacks, caching, its own retries): nothing here
# reads them, and refusing them would stop a LiteLLM user's file from loading.
TOP_LEVEL_KEYS = ("model_list", "router_settings", "general_settings", "litellm_settings")

ConfigSource = Union[str, "os.PathLike[str]", Mapping[str, Any]]


class RouterConfig(BaseModel):
    """A validated config: the deployments (providers built), and the Router's and the proxy's
    settings."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    model_list: list[Deployment]
    router_settings: RouterSettings = Field(default_factory=RouterSettings)
    general_settings: GeneralSettings = Field(default_factory=GeneralSettings)


def load_config(source: ConfigSource) -> RouterConfig:
    """Read a YAML file (a path) or take a dict, and validate all of it.

    Raises `ConfigError` naming the section, entry and field of each problem (all of them, not
    only the first), or the file and line of a YAML syntax error.
    """
    if isinstance(source, Mapping):
        data: Any = source
        origin = "config"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(os.fspath(source))
        data = _read_yaml(path)
        origin = str(path)
        if isinstance(data, Mapping):
            _warn_if_secrets_readable_by_others(path, data)
    else:
        raise ConfigError(f"a config is a YAML file path or a dict, not {type(source).__name__}")
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}: expected a mapping with a model_list, got {_kind(data)}")

    problems = [f"{key}: unknown section" for key in data if key not in TOP_LEVEL_KEYS]
    litellm_settings = data.get("litellm_settings")
    if isinstance(litellm_settings, Mapping) and litellm_settings:
        logger.warning(
            "litellm_settings is ignored (it configures LiteLLM itself): %s",
            ", ".join(str(key) for key in litellm_settings),
        )
    deployments: list[Deployment] = []
    if data.get("model_list") is None:
        problems.append("model_list: required: a list of deployments")
    else:
        try:
            deployments = build_deployments(data["model_list"])
        except ConfigError as error:
            problems.append(str(error))
    router_settings = _section(RouterSettings, data, problems)
    general_settings = _section(GeneralSettings, data, problems)
    if router_settings is not None and deployments:
        try:
            router_settings.validate_against({deployment.group for deployment in deployments})
        except ConfigError as error:
            problems.append(str(error))
    if problems or router_settings is None or general_settings is None:
        raise config_error(problems)
    return RouterConfig(
        model_list=deployments, router_settings=router_settings, general_settings=general_settings
    )


def _section(
    model: type[RouterSettings] | type[GeneralSettings],
    data: Mapping[str, Any],
    problems: list[str],
) -> Any:
    value = data.get(model.config_section)
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        problems.append(f"{model.config_section}: expected a mapping, got {_kind(value)}")
        return None
    try:
        return model.model_validate(value)
    except ConfigError as error:
        problems.append(str(error))
        return None


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _read_yaml(path: Path) -> Any:
    try:
        import yaml
    except ImportError:  # PyYAML is the optional `yaml` extra
        raise ConfigError(f"reading {path} needs PyYAML: pip install 'ocr-router[yaml]'") from None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        # Only the position and the kind of problem: the snippet PyYAML quotes may hold a key.
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"{path}: YAML syntax error{where}: {error.problem or error.context or 'invalid YAML'}"
        ) from None
    except yaml.YAMLError:
        raise ConfigError(f"{path}: not valid YAML") from None


def _warn_if_secrets_readable_by_others(path: Path, data: Mapping[str, Any]) -> None:
    """Warn when a file other users may read holds a key written in clear (issue 7)."""
    if os.name != "posix":  # POSIX permission bits only
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if not mode & (stat.S_IRGRP | stat.S_IROTH):
        return
    places = _plain_secrets(data)
    if places:
        # Through logging, not `warnings`: a warning's text would carry this module's path and
        # line into a CLI's output, and an operator configures one logger tree, not two channels.
        logger.warning(
            "%s is readable by other users and holds secrets in clear text (%s): write them as "
            "os.environ/NAME, or chmod 600 the file",
            path,
            ", ".join(places),
        )


_SECRET_KEYS = ("api_key", "token", "credentials", "vertex_credentials")


def _plain_secrets(data: Mapping[str, Any]) -> list[str]:
    """Where a secret is written in clear (paths only, never values)."""
    places: list[str] = []
    model_list = data.get("model_list")
    for index, entry in enumerate(model_list if isinstance(model_list, list) else []):
        if not isinstance(entry, Mapping):
            continue
        params = entry.get("litellm_params")
        sections = [("", entry)] + (
            [("litellm_params.", params)] if isinstance(params, Mapping) else []
        )
        for prefix, section in sections:
            places.extend(
                f"model_list[{index}].{prefix}{key}"
                for key in _SECRET_KEYS
                if _is_plain_secret(key, section.get(key))
            )
    general = data.get("general_settings")
    if isinstance(general, Mapping):
        keys = [general.get("master_key"), *(general.get("master_keys") or [])]
        if any(_is_plain_secret("master_key", key) for key in keys):
            places.append("general_settings.master_key(s)")
    return places


def _is_plain_secret(key: str, value: Any) -> bool:
    if isinstance(value, Mapping):  # inline service-account JSON
        return True
    if not isinstance(value, str) or not value or value.startswith(ENV_PREFIX):
        return False
    # Credentials given as a file path are not a secret themselves; JSON text is.
    return "credentials" not in key or value.lstrip().startswith("{")
