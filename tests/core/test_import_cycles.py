"""Modules that once imported each other (at module level or inside a function) no longer do:
each pair shares a third module instead, so either can be read, and loaded, on its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).parents[2]


def imported_by(module: str) -> set[str]:
    """Every module `module` imports, wherever in the file the import is."""
    path = REPOSITORY / (module.replace(".", "/") + ".py")
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("router.transport", "router._aiohttp_transport"),
        ("router.demo.command", "router.demo.serve"),
        ("router.proxy.app", "router.proxy.server"),
        ("providers.fake.provider", "providers.fake.transport"),
        ("providers.fake.provider", "providers.fake.server"),
        # The Router's rooms (issue 14): each is read, and loaded, without the Router.
        ("router.router", "router.selection"),
        ("router.router", "router.waiting"),
        ("router.router", "router.job"),
        ("router.router", "router.sync_bridge"),
        ("router.router", "router.pools"),
        ("router.router", "router.state.opening"),
        ("router.selection", "router.waiting"),
    ],
)
def test_no_circle(first: str, second: str) -> None:
    assert not (second in imported_by(first) and first in imported_by(second))
