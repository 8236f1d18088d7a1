"""The README's code blocks, read from README.md, and a fake internet to run them against.

`python_blocks()` returns every ```python block with the `<!-- readme-test: KIND ... -->` mark
written above it (None when unmarked). Unmarked blocks run as they are; a marked one needs
something a block cannot carry (a proxy to talk to, a Redis, an app to drive), which its test
provides. `fake_internet()` answers the providers' real hosts (api.mistral.ai, Azure's
*.services.ai.azure.com, Vertex's *-aiplatform.googleapis.com) with fake providers in-process,
so a block that names them runs unchanged, with no network and no key.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import providers
import router.strategies
from providers.fake import FakeProvider

README = Path(__file__).parents[2] / "README.md"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_BLOCK = re.compile(
    r"(?:<!-- readme-test: (?P<kind>[\w-]+)[^>]*-->\n)?```(?P<language>\w*)\n(?P<code>.*?)```",
    re.S,
)


@dataclass(frozen=True)
class Block:
    number: int  # among the README's python blocks, from 1
    line: int  # where it starts in README.md
    kind: str | None
    code: str

    def __str__(self) -> str:
        return f"README.md python block {self.number} (line {self.line})"


def python_blocks(text: str | None = None) -> list[Block]:
    text = README.read_text(encoding="utf-8") if text is None else text
    blocks: list[Block] = []
    for match in _BLOCK.finditer(text):
        if match.group("language") != "python":
            continue
        line = text.count("\n", 0, match.start("code"))
        blocks.append(Block(len(blocks) + 1, line, match.group("kind"), match.group("code")))
    return blocks


def yaml_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    return [m.group("code") for m in _BLOCK.finditer(text) if m.group("language") == "yaml"]


def run_block(block: Block, **replace: str) -> dict[str, object]:
    """Run `block` as a script (`__name__ == "__main__"`), after replacing text in it (a host
    by a test server's); returns its globals."""
    code = block.code
    for old, new in replace.items():
        assert old in code, f"{block} no longer holds {old!r}"
        code = code.replace(old, new)
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(code, str(block), "exec"), namespace)
    return namespace


class FakeInternet(httpx.AsyncBaseTransport):
    """The providers' real hosts, answered in-process by one fake each."""

    def __init__(self) -> None:
        self.fakes = {name: FakeProvider(name) for name in ("mistral", "azure_ai", "vertex_ai")}
        self._transports = {name: fake.mock_transport() for name, fake in self.fakes.items()}

    def provider_of(self, host: str) -> str | None:
        if host == "api.mistral.ai":
            return "mistral"
        if host.endswith(".services.ai.azure.com"):
            return "azure_ai"
        if host.endswith("aiplatform.googleapis.com"):
            return "vertex_ai"
        return None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        provider = self.provider_of(request.url.host)
        if provider is None:  # a block reached for the real network
            raise httpx.ConnectError(f"no fake for {request.url.host}", request=request)
        response = await self._transports[provider].handle_async_request(request)
        await response.aread()
        return response


@contextlib.contextmanager
def fake_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeInternet]:
    """Every httpx connection the library opens goes to `FakeInternet` instead of a socket."""
    internet = FakeInternet()
    real = httpx.AsyncHTTPTransport.handle_async_request

    async def handle(transport: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        if request.url.host in LOOPBACK:  # a block's own fake server on 127.0.0.1: a real socket
            return await real(transport, request)
        return await internet.handle_async_request(request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle)
    # What a block registers (a provider, a strategy) is gone after it: the registries are
    # process-wide, and later tests expect only the built-in ones.
    monkeypatch.setattr(providers, "_REGISTRY", dict(providers._REGISTRY))
    monkeypatch.setattr(
        router.strategies, "_STRATEGY_CLASSES", dict(router.strategies._STRATEGY_CLASSES)
    )
    # The Router's pools use httpx's own transport then (aiohttp's would open sockets).
    monkeypatch.setattr("router.pools.fast_transport", lambda limits: None)
    _isolate_tracing(monkeypatch)
    for name in ("MISTRAL_API_KEY", "MISTRAL_KEY_1", "MISTRAL_KEY_2", "AZURE_AI_API_KEY"):
        monkeypatch.setenv(name, f"readme-{name.lower()}")
    yield internet


def _isolate_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block may set OpenTelemetry's global tracer provider (the README's traces section):
    start each block without one and put back what was there, so later tests see no provider."""
    try:
        from opentelemetry import trace
    except ImportError:
        return
    import router.telemetry.tracing

    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", trace.Once())
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(router.telemetry.tracing, "_tracer_cache", None)
