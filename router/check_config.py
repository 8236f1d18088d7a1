"""`ocr-router check-config config.yaml`: validate a config and show the pools it defines.

A config is read at three in the morning by a server that refuses to start; this command lets a
person see, before deploying, what the router will make of the file: every group and its
deployments with their limits and prices, the fallbacks, the router settings. Secrets are the
one thing it never shows: a key is described by where it comes from (`os.environ/NAME`, inline,
or the provider's default variable), never by any character of its value.

The origin of a value is not kept by `router.config` (it resolves `os.environ/NAME` at load), so
this module reads the raw YAML (or dict) a second time, after `load_config` accepted it, and
looks up each deployment's raw entry by position (`build_deployments` keeps the order).

    ocr-router check-config config.yaml          # text, exit 0 when valid
    ocr-router check-config config.yaml --json   # the same, as JSON for scripts

Models age: a deployment of a deprecated model (`router.capabilities`) is valid with a warning
naming its retirement date and successor; one of a retired model is refused (exit 1), since a
retired deployment answers 404 to every call.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from router.cli import Runner
from router.config import RouterConfig, load_config
from router.config._base import ENV_PREFIX
from router.config._deployments import entry_name
from router.deployment import Deployment
from router.errors import ConfigError

# Each provider's default source of its credential when the deployment gives none (see the
# providers' constructors): shown so that "not set" does not read as "broken".
DEFAULT_CREDENTIAL_SOURCE = {
    "mistral": "uses $MISTRAL_API_KEY",
    "azure_ai": "uses $AZURE_AI_API_KEY",
    "vertex_ai": "uses Google application default credentials",
}


def _default_credential_source(provider: str) -> str:
    return DEFAULT_CREDENTIAL_SOURCE.get(provider, "the provider's own default")


# Raw config keys that hold a secret, and the spellings LiteLLM uses for them.
SECRET_SPELLINGS: Mapping[str, tuple[str, ...]] = {
    "api_key": ("api_key",),
    "token": ("token",),
    "credentials": ("credentials", "vertex_credentials", "vertex_ai_credentials"),
    "azure_ad_token": ("azure_ad_token",),
    "client_secret": ("client_secret",),
}
# Query parameters of an endpoint URL that are safe to show; any other value is masked, since
# some gateways take a key or a signature in the query string.
SAFE_QUERY_PARAMETERS = frozenset({"api-version"})
PAGES_PRICED = 1000  # prices are shown per 1,000 pages, the unit providers publish


def describe_config(config: RouterConfig, raw: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-ready description of a validated config, with every secret masked.

    `raw` is the config as written (before `os.environ/NAME` was resolved), to tell where each
    secret comes from."""
    raw_entries = raw.get("model_list")
    entries = list(raw_entries) if isinstance(raw_entries, list) else []
    groups: dict[str, list[dict[str, Any]]] = {}
    for index, deployment in enumerate(config.model_list):
        entry = _flatten(entries[index]) if index < len(entries) else {}
        groups.setdefault(deployment.group, []).append(_describe_deployment(deployment, entry))
    settings = config.router_settings
    router_settings = settings.model_dump(
        mode="json", exclude={"fallbacks", "default_fallbacks", "budgets"}
    )
    raw_general = raw.get("general_settings")
    general = raw_general if isinstance(raw_general, Mapping) else {}
    raw_master_keys = general.get("master_keys")
    return {
        "valid": True,
        "deployments": len(config.model_list),
        "groups": groups,
        "fallbacks": {group: list(targets) for group, targets in settings.fallbacks.items()},
        "default_fallbacks": list(settings.default_fallbacks),
        "budgets": [budget.model_dump(mode="json") for budget in settings.budgets],
        "router_settings": router_settings,
        "general_settings": {
            "master_key": _describe_secret(general.get("master_key"), "no key: the proxy is open"),
            "master_keys": [
                _describe_secret(value, "")
                for value in (raw_master_keys if isinstance(raw_master_keys, list) else [])
            ],
        },
    }


def _flatten(entry: Any) -> dict[str, Any]:
    """One raw entry in one mapping, whether written flat or in LiteLLM's sections."""
    if not isinstance(entry, Mapping):
        return {}
    flat = {
        key: value for key, value in entry.items() if key not in ("litellm_params", "model_info")
    }
    for section in ("litellm_params", "model_info"):
        values = entry.get(section)
        if isinstance(values, Mapping):
            flat.update(values)
    return flat


def _describe_deployment(deployment: Deployment, entry: Mapping[str, Any]) -> dict[str, Any]:
    provider = deployment.provider_name
    secrets: dict[str, str] = {}
    for name, spellings in SECRET_SPELLINGS.items():
        raw_value = next((entry[key] for key in spellings if key in entry), None)
        if raw_value is not None or (name == "api_key" and provider != "vertex_ai"):
            secrets[name] = _describe_secret(
                raw_value,
                _default_credential_source(provider),
                credential=name == "credentials",
            )
    if provider == "vertex_ai" and not secrets:
        secrets["credentials"] = f"not set ({_default_credential_source(provider)})"
    headers = entry.get("headers")
    configured_price = any(key in entry for key in ("price_per_page", "ocr_cost_per_page"))
    return {
        "id": deployment.id,
        "provider": provider,
        "model": deployment.model,
        "api_base": _describe_plain(entry.get("api_base"), deployment),
        "endpoint": mask_url(deployment.provider.url()),
        **secrets,
        # Header values may be gateway keys: their names only.
        "headers": sorted(str(name) for name in headers) if isinstance(headers, Mapping) else [],
        "weight": deployment.weight,
        "priority": deployment.priority,
        "limits": {
            "max_concurrency": deployment.max_concurrency,
            "rpm": deployment.rpm,
            "pages_per_minute": deployment.pages_per_minute,
            "max_pages_per_request": deployment.max_pages_per_request,
        },
        "per_request": _per_request(deployment),
        "price_per_1000_pages": _per_thousand(deployment.price_per_page),
        "price_per_1000_annotated_pages": _per_thousand(deployment.price_per_annotated_page),
        "price_source": "configured" if configured_price else "list price",
        "timeout": deployment.timeout,
        "tags": list(deployment.tags),
    }


def _per_request(deployment: Deployment) -> dict[str, Any]:
    """What one request to the deployment may carry (router.capabilities, its settings first)."""
    info = deployment.info
    return {
        "max_pages": info.max_pages_per_request,
        "max_bytes": info.max_request_bytes,
        "bytes_of": info.request_bytes_measure,
        "file_id": info.accepts_file_id,
        "fetches_urls": info.fetches_urls,
        "model_listed": info.listed,
    }


def _describe_secret(raw_value: Any, default_source: str, *, credential: bool = False) -> str:
    """Where a secret comes from, in words; never a character of the secret itself."""
    if raw_value is None or raw_value == "":
        return f"not set ({default_source})" if default_source else "not set"
    if isinstance(raw_value, str) and raw_value.startswith(ENV_PREFIX):
        return f"set (os.environ/{raw_value[len(ENV_PREFIX) :].strip()})"
    if credential and isinstance(raw_value, str) and not raw_value.lstrip().startswith("{"):
        # A path to a service-account file is not a secret; the file is.
        return f"set (file {raw_value})"
    return "set (inline — consider os.environ/NAME)"


def _describe_plain(raw_value: Any, deployment: Deployment) -> str | None:
    """A non-secret setting's value, with its variable when it was `os.environ/NAME`."""
    resolved = deployment.provider.settings.api_base
    if resolved is None:
        return None
    shown = mask_url(resolved)
    if isinstance(raw_value, str) and raw_value.startswith(ENV_PREFIX):
        return f"{shown} (os.environ/{raw_value[len(ENV_PREFIX) :].strip()})"
    return shown


def mask_url(url: str) -> str:
    """The URL without user:password and without query values that may be credentials."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = urlencode(
        [
            (name, value if name in SAFE_QUERY_PARAMETERS else "***")
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _per_thousand(per_page: float | None) -> float | None:
    return None if per_page is None else round(per_page * PAGES_PRICED, 6)


def read_raw_config(source: str) -> Mapping[str, Any]:
    """The config as written, for the origin of each value (read after `load_config` passed)."""
    import yaml

    data = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
    return data if isinstance(data, Mapping) else {}


# -- text rendering ------------------------------------------------------------------------


def _or_dash(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "-"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _price(value: float | None) -> str:
    if value is None:
        return "unknown"
    # Cents for list prices ($1.00); more digits only for a fraction of a cent.
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4g}"


def render_text(source: str, description: Mapping[str, Any], out: TextIO) -> None:
    """The description as an indented report a person reads top to bottom."""
    groups: Mapping[str, list[dict[str, Any]]] = description["groups"]
    write = out.write
    write(
        f"{source}: valid: {description['deployments']} deployment(s) in {len(groups)} group(s)\n"
    )
    for group, deployments in groups.items():
        write(f"\ngroup {group} ({len(deployments)} deployment(s))\n")
        for item in deployments:
            limits = item["limits"]
            write(f"  - id: {item['id']}\n")
            write(f"    provider: {item['provider']}    model: {item['model']}\n")
            write(f"    api_base: {_or_dash(item['api_base'])}\n")
            write(f"    endpoint: {item['endpoint']}\n")
            for secret in SECRET_SPELLINGS:
                if secret in item:
                    write(f"    {secret}: {item[secret]}\n")
            if item["headers"]:
                write(f"    headers: {', '.join(item['headers'])} (values hidden)\n")
            write(f"    weight: {_or_dash(item['weight'])}    priority: {item['priority']}\n")
            write(
                "    limits: "
                + "  ".join(f"{name}={_or_dash(value)}" for name, value in limits.items())
                + "\n"
            )
            takes = item["per_request"]
            write(
                f"    per request: {takes['max_pages']} pages, "
                f"{takes['max_bytes'] / 2**20:.1f} MB of {takes['bytes_of']}; "
                f"file_id {'yes' if takes['file_id'] else 'no'}; remote URLs "
                f"{'fetched by the host' if takes['fetches_urls'] else 'downloaded and inlined'}"
                f"{'' if takes['model_listed'] else ' (model not in the table: host limits)'}\n"
            )
            write(
                f"    price per 1,000 pages: {_price(item['price_per_1000_pages'])} "
                f"(annotated {_price(item['price_per_1000_annotated_pages'])}; "
                f"{item['price_source']})\n"
            )
            if item["timeout"] is not None:
                write(f"    timeout: {_or_dash(item['timeout'])} s\n")
            write(f"    tags: {', '.join(item['tags']) or '-'}\n")
    write("\nfallbacks:\n")
    fallbacks: Mapping[str, list[str]] = description["fallbacks"]
    if not fallbacks and not description["default_fallbacks"]:
        write("  none\n")
    for group, targets in fallbacks.items():
        write(f"  {group} -> {', '.join(targets)}\n")
    if description["default_fallbacks"]:
        write(f"  (every group) -> {', '.join(description['default_fallbacks'])}\n")
    write("\nrouter settings:\n")
    for name, value in description["router_settings"].items():
        write(f"  {name}: {_or_dash(value)}\n")
    for budget in description["budgets"]:
        write(
            f"  budget: {budget['scope']} {budget['name']}: "
            f"${budget['max_usd']:,.2f} per {budget['period']}\n"
        )
    general = description["general_settings"]
    write("\ngeneral settings:\n")
    write(f"  master_key: {general['master_key']}\n")
    for index, key in enumerate(general["master_keys"]):
        write(f"  master_keys[{index}]: {key}\n")


# -- the command ---------------------------------------------------------------------------


def model_lifecycle_problems(
    config: RouterConfig, today: datetime.date | None = None
) -> tuple[list[str], list[str]]:
    """(errors, warnings) about the models of `config` on `today`: a retired model is an error,
    a deprecated one a warning; each names its entry, the date and the successor."""
    errors: list[str] = []
    warnings: list[str] = []
    for index, deployment in enumerate(config.model_list):
        info = deployment.info
        state = info.lifecycle(today)
        if state == "current":
            continue
        where = entry_name(index, deployment)
        successor = f": use {info.successor}" if info.successor else ""
        if state == "retired":
            errors.append(
                f"{where}: {deployment.model} was retired on {info.retires_on} "
                f"(a retired deployment answers 404){successor}"
            )
        else:
            until = f", retires on {info.retires_on}" if info.retires_on else ""
            warnings.append(
                f"{where}: {deployment.model} is deprecated since {info.deprecated_on}"
                f"{until}{successor}"
            )
    return errors, warnings


def check_config(
    source: str,
    *,
    as_json: bool,
    out: TextIO,
    err: TextIO,
    today: datetime.date | None = None,
) -> int:
    """Validate `source` and print its description; 0 when valid (deprecated models warn on
    `err`), 1 with the problems otherwise (a retired model is one)."""
    try:
        config = load_config(source)
        problems, warnings = model_lifecycle_problems(config, today)
        if problems:
            raise ConfigError("\n".join(problems))
    except ConfigError as error:
        err.write(f"{source}: invalid config:\n{error.message}\n")
        if as_json:
            out.write(json.dumps({"valid": False, "errors": error.message.splitlines()}) + "\n")
        return 1
    for warning in warnings:
        err.write(f"{source}: warning: {warning}\n")
    description = {**describe_config(config, read_raw_config(source)), "warnings": warnings}
    if as_json:
        out.write(json.dumps({"source": source, **description}, indent=2, ensure_ascii=False))
        out.write("\n")
    else:
        render_text(source, description, out)
    return 0


def install(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> Runner:
    parser = subparsers.add_parser(
        "check-config",
        help="validate a config file and show its pools (secrets masked)",
        description=(
            "Validate a config and print its groups, deployments, limits, prices, fallbacks and "
            "router settings. Secrets are described by origin, never shown. Exit 0 when valid, "
            "1 when not (the problems on stderr)."
        ),
    )
    parser.add_argument("config", help="the YAML config file")
    parser.add_argument("--json", action="store_true", help="print the description as JSON")
    return _run_check_config


def _run_check_config(args: argparse.Namespace) -> int:
    return check_config(args.config, as_json=args.json, out=sys.stdout, err=sys.stderr)
