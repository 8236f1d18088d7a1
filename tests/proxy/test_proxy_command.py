"""`ocr-router serve` as a real subprocess: config errors before binding, the auth guard,
graceful shutdown with requests in flight, and several workers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from proxy_helpers import BEARER, DOCUMENT, MASTER_KEY, PROVIDER_KEY
from proxy_process import LISTENING, REPOSITORY, serving_proxy

from providers.fake import FakeProvider
from router.proxy.command import is_loopback

CONFIG = """
model_list:
  - model_name: ocr
    model: mistral/mistral-ocr-latest
    api_key: {provider_key}
    api_base: {api_base}
general_settings:
  master_key: {master_key}
"""


def write_config(tmp_path: Path, api_base: str, master_key: str | None = MASTER_KEY) -> Path:
    text = CONFIG.format(provider_key=PROVIDER_KEY, api_base=api_base, master_key=master_key)
    if master_key is None:
        text = text.split("general_settings:")[0]
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)  # a config holding keys must not be readable by others
    return path


def run_serve(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`ocr-router serve ...` expected to stop by itself (refusals)."""
    return subprocess.run(
        [sys.executable, "-m", "router.cli", "serve", *arguments],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_bad_config_exits_1_with_the_message_before_serving_proxy(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list:\n  - model_name: ocr\n    model: mistral/mistral-ocr-latest\n"
        "router_settings:\n  routing_strategy: fastest\n",
        encoding="utf-8",
    )

    result = run_serve("--config", str(path), "--port", "0")

    assert result.returncode == 1
    assert "unknown routing strategy 'fastest'" in result.stderr
    assert LISTENING not in result.stdout


def test_a_missing_config_file_exits_1(tmp_path: Path) -> None:
    result = run_serve("--config", str(tmp_path / "absent.yaml"), "--port", "0")
    assert result.returncode == 1
    assert "absent.yaml" in result.stderr


def test_without_any_key_it_refuses_a_non_loopback_address(tmp_path: Path) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9", master_key=None)

    result = run_serve("--config", str(path), "--host", "0.0.0.0", "--port", "0")

    assert result.returncode == 1
    assert "no master_key" in result.stderr and "--no-auth" in result.stderr
    assert LISTENING not in result.stdout


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [("--port", "70000", "not a port number"), ("--workers", "0", "not a whole number >= 1")],
)
def test_a_bad_port_or_worker_count_is_refused_by_argparse(
    tmp_path: Path, option: str, value: str, says: str
) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9")

    result = run_serve("--config", str(path), option, value)

    assert result.returncode == 2
    assert f"argument {option}: {value!r} is {says}" in result.stderr
    assert LISTENING not in result.stdout


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
    ],
)
def test_loopback_addresses_are_recognised(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


async def test_shutdown_lets_20_requests_in_flight_finish_then_refuses_connections(
    fake_server: Callable[[FakeProvider], Awaitable[str]], tmp_path: Path
) -> None:
    fake = FakeProvider("mistral", api_key=PROVIDER_KEY, latency=1.0)
    path = write_config(tmp_path, await fake_server(fake))

    async with serving_proxy("--config", str(path), "--port", "0") as (process, url):
        async with httpx.AsyncClient(base_url=url, timeout=20) as client:
            body = {"model": "ocr", "document": DOCUMENT}
            requests = [
                asyncio.create_task(client.post("/v1/ocr", json=body, headers=BEARER))
                for _ in range(20)
            ]
            for _ in range(200):  # the fake holds each request for 1 s: wait until it has all 20
                if fake.request_count == 20:
                    break
                await asyncio.sleep(0.025)
            assert fake.request_count == 20
            process.send_signal(signal.SIGTERM)
            answers = await asyncio.gather(*requests)
            returncode = await asyncio.wait_for(process.wait(), 20)

        assert [answer.status_code for answer in answers] == [200] * 20
        assert returncode == 0
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/health/liveness")


async def test_two_workers_serve_requests(
    fake_server: Callable[[FakeProvider], Awaitable[str]], tmp_path: Path
) -> None:
    fake = FakeProvider("mistral", api_key=PROVIDER_KEY)
    path = write_config(tmp_path, await fake_server(fake))

    async with serving_proxy("--config", str(path), "--port", "0", "--workers", "2") as (
        process,
        url,
    ):
        async with httpx.AsyncClient(base_url=url, timeout=20) as client:
            body = {"model": "ocr", "document": DOCUMENT}
            answers = await asyncio.gather(
                *(client.post("/v1/ocr", json=body, headers=BEARER) for _ in range(4))
            )
            refused = await client.post("/v1/ocr", json=body)
        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.wait_for(process.wait(), 20)

    assert [answer.status_code for answer in answers] == [200] * 4
    assert refused.status_code == 401
    assert fake.request_count == 4
    assert returncode == 0
    assert "OCR_ROUTER_CONFIG" not in os.environ  # set for the workers only, not in the tests


async def test_an_idle_connection_outlives_an_http_clients_own_keep_alive(
    fake_server: Callable[[FakeProvider], Awaitable[str]], tmp_path: Path
) -> None:
    # httpx drops an idle connection after 5 s. Had the server closed its side at that same
    # moment (uvicorn's default), a request sent just then would fail unanswered.
    path = write_config(tmp_path, await fake_server(FakeProvider("mistral", api_key=PROVIDER_KEY)))
    async with serving_proxy("--config", str(path), "--port", "0") as (_, url):
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        request = f"GET /health/liveness HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        answers = []
        for pause in (0.0, 6.0):  # the second request comes after httpx's expiry
            await asyncio.sleep(pause)
            writer.write(request)
            await writer.drain()
            answers.append(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10))
            length = next(
                int(line.split(b":")[1])
                for line in answers[-1].split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
        writer.close()
    assert [answer.split(b" ")[1] for answer in answers] == [b"200", b"200"]


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as listing:
        return [int(child) for child in listing.read().split()]


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for whoever adopted it to reap it)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return not any(line.startswith("State:\tZ") for line in status)
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads /proc (Linux)")
async def test_workers_stop_when_their_supervisor_is_killed(
    fake_server: Callable[[FakeProvider], Awaitable[str]], tmp_path: Path
) -> None:
    path = write_config(tmp_path, await fake_server(FakeProvider("mistral", api_key=PROVIDER_KEY)))
    async with serving_proxy("--config", str(path), "--port", "0", "--workers", "2") as (
        process,
        url,
    ):
        async with httpx.AsyncClient(base_url=url, timeout=20) as client:
            assert (await client.get("/health/liveness")).status_code == 200
        workers = _children(process.pid)
        assert len(workers) >= 2
        process.kill()  # SIGKILL: the supervisor gets no chance to stop its workers
        await process.wait()
        for _ in range(200):  # 20 s at most; a worker notices within about a second
            if not any(_running(worker) for worker in workers):
                break
            await asyncio.sleep(0.1)
        assert not [worker for worker in workers if _running(worker)]
        host, port = url.removeprefix("http://").split(":")
        with pytest.raises(OSError):
            await asyncio.open_connection(host, int(port))  # nobody holds the port any more
