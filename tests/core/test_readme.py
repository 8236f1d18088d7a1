"""The README's config example must load: it is what a newcomer copies first."""

import re
from pathlib import Path

import pytest

from router.config import load_config

README = Path(__file__).parents[2] / "README.md"


def test_readme_config_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "sk-readme")
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README has a YAML config example"
    import yaml

    config = load_config(yaml.safe_load(blocks[0]))
    assert {d.group for d in config.model_list} == {"mistral-ocr", "mistral-ocr-backup"}
    assert config.router_settings.fallbacks == {"mistral-ocr": ["mistral-ocr-backup"]}


def test_readme_proxy_settings_complete_the_config_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "sk-readme")
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    import yaml

    config = load_config(yaml.safe_load(blocks[0] + blocks[1]))
    assert [key.get_secret_value() for key in config.general_settings.accepted_keys()] == [
        "sk-1234"
    ]


def test_readme_front_door_commands_exist() -> None:
    text = README.read_text()
    assert "pip install -e '.[all]' && ocr-router demo" in text
    assert "scripts/test" in text
