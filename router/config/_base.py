"""What every configuration model shares: `os.environ/NAME` references and precise errors.

A configuration mistake must fail at load with a message a person can act on: which entry, which
field, what is wrong. It must also never echo a value, because the values next to a mistake are
often API keys. So pydantic's `ValidationError` (whose text includes the offending input) never
leaves this package: it is turned into a `ConfigError` built from locations and messages only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from router.errors import ConfigError

if TYPE_CHECKING:
    from typing import Self

logger = logging.getLogger("ocr_router.config")

ENV_PREFIX = "os.environ/"  # LiteLLM's spelling of "read this value from the environment"

# Labels pydantic puts into an error location to say which branch of a union failed; they mean
# nothing to the person who wrote the config.
_UNION_LABELS = frozenset(
    {"str", "int", "float", "bool", "dict", "list", "callable", "function-after", "function-before"}
)


def resolve_env_references(value: Any) -> Any:
    """Replace every `os.environ/NAME` string (at any depth) by the variable's value.

    A variable that is unset or empty raises a pydantic error that names it; its value, and any
    other value, is never part of the message.
    """
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        name = value[len(ENV_PREFIX) :].strip()
        resolved = os.environ.get(name)
        if not resolved:  # an empty variable is as good as unset for a key or a URL
            raise PydanticCustomError(
                "environment_variable_missing",
                "environment variable {name} is not set",
                {"name": name},
            )
        return resolved
    if isinstance(value, Mapping):
        return {key: resolve_env_references(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve_env_references(item) for item in value]
    return value


def _render_location(location: Iterable[Any]) -> str:
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part not in _UNION_LABELS and "[" not in str(part):
            text += f".{part}"
    return text


def validation_problems(
    error: ValidationError,
    where: str,
    *,
    section_of: Mapping[str, str] | None = None,
    default_section: str = "",
) -> list[str]:
    """One line per problem: `{where}.{section}.{field path}: {message}`, with no input value.

    `section_of` maps a top-level key to the part of the user's entry it came from (LiteLLM's
    `litellm_params` or `model_info`), so the path points at what the user actually wrote.
    """
    messages: dict[str, list[str]] = {}
    for item in error.errors(include_url=False, include_input=False, include_context=True):
        location = tuple(item["loc"])
        section = default_section
        if location and section_of is not None:
            section = section_of.get(str(location[0]), default_section)
        path = (f".{section}" if section else "") + _render_location(location)
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
        bucket = messages.setdefault(f"{where}{path}".lstrip(".") or "config", [])
        if message not in bucket:  # a failed union reports each branch: keep each text once
            bucket.append(message)
    return [f"{path}: {' or '.join(texts)}" for path, texts in messages.items()]


def config_error(problems: list[str]) -> ConfigError:
    """One ConfigError for one or several problems, one problem per line."""
    return ConfigError("\n".join(problems))


def log_ignored(where: str, key: str, reason: str) -> None:
    """Say once that a key (never its value) is read and ignored, and why."""
    logger.warning("%s.%s is ignored: %s", where, key, reason)


class ConfigModel(BaseModel):
    """Base of the configuration models: unknown keys are errors, `os.environ/NAME` is resolved,
    and `model_validate` raises `ConfigError` whose message has paths and reasons, no values."""

    # Direct construction (`RouterSettings(timeout=0)`) still raises pydantic's ValidationError
    # (a custom __init__ would run inside validation); hiding the input keeps secrets out of it.
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        arbitrary_types_allowed=True,
        frozen=True,
        hide_input_in_errors=True,
    )

    # Where the model sits in a config file, to prefix error paths ("router_settings.timeout").
    config_section: ClassVar[str] = ""

    @field_validator("*", mode="before")
    @classmethod
    def _resolve_environment(cls, value: Any) -> Any:
        return resolve_env_references(value)

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> Self:
        try:
            return super().model_validate(obj, **options)
        except ValidationError as error:
            raise config_error(validation_problems(error, cls.config_section)) from None

    @classmethod
    def validate_at(cls, obj: Any, where: str, **problem_options: Any) -> Self:
        """Validate `obj`, naming `where` (e.g. `model_list[2] ("ocr")`) in any error."""
        try:
            return super().model_validate(obj)
        except ValidationError as error:
            raise config_error(validation_problems(error, where, **problem_options)) from None
