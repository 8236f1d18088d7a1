"""Configuration: build a Router's deployments and settings from a dict or a YAML file.

Users describe their deployments once, in a file they may already have for LiteLLM, and every
mistake in it should surface at load, with the entry and the field named, rather than on the first
request at three in the morning. `os.environ/NAME` keeps keys out of the file; no error message
ever shows a value.

    config = load_config("router.yaml")          # or load_config({...})
    deployments = build_deployments(model_list)  # what Router(model_list=...) does
    settings = RouterSettings.model_validate({"routing_strategy": "least-busy"})
    settings = RouterSettings(retries=RetrySettings(num_retries=5))  # the same, by group
"""

from router.config._deployments import DeploymentSpec, build_deployments
from router.config._loader import RouterConfig, load_config
from router.config._settings import (
    SETTING_GROUPS,
    BudgetSpec,
    CacheSettings,
    CooldownSettings,
    GeneralSettings,
    LimitSettings,
    RetrySettings,
    RouterOptions,
    RouterSettings,
    RoutingSettings,
    StateSettings,
)

__all__ = [
    "SETTING_GROUPS",
    "BudgetSpec",
    "CacheSettings",
    "CooldownSettings",
    "DeploymentSpec",
    "GeneralSettings",
    "LimitSettings",
    "RetrySettings",
    "RouterConfig",
    "RouterOptions",
    "RouterSettings",
    "RoutingSettings",
    "StateSettings",
    "build_deployments",
    "load_config",
]
