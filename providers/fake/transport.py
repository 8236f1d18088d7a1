"""The fake in-process: an `httpx.MockTransport` that hands each request to a `FakeProvider`.

No sockets, no threads: a test plugs `fake.mock_transport()` into an `httpx.AsyncClient` and gets
the same answers a real server would give. Connection faults become the exceptions httpx raises for
them over a network: `timeout` -> `httpx.ReadTimeout`, `reset` -> `httpx.ReadError`, `truncated` ->
`httpx.RemoteProtocolError`.
"""

from __future__ import annotations

import time

import httpx

from providers.fake.answer import Answer, Answering


def _response(request: httpx.Request, answer: Answer) -> httpx.Response:
    fault = answer.connection_fault
    if fault == "timeout":
        raise httpx.ReadTimeout("fake provider: no answer (timeout fault)", request=request)
    if fault == "reset":
        raise httpx.ReadError("[Errno 104] Connection reset by peer (reset fault)", request=request)
    if fault == "truncated":
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body (truncated fault)",
            request=request,
        )
    assert answer.reply is not None
    return httpx.Response(
        answer.reply.status, headers=dict(answer.reply.headers), content=answer.reply.body
    )


def _call(
    request: httpx.Request, body: bytes
) -> tuple[str, str, dict[str, str], dict[str, str], bytes]:
    query = dict(request.url.params.items())
    headers = {key.lower(): value for key, value in request.headers.items()}
    return request.method, request.url.path, query, headers, body


class FakeTransport(httpx.MockTransport):
    """`httpx.MockTransport` serving a `FakeProvider`, for async and sync clients alike."""

    def __init__(self, fake: Answering) -> None:
        super().__init__(self._unused)
        self.fake = fake

    @staticmethod
    def _unused(request: httpx.Request) -> httpx.Response:  # pragma: no cover - never called
        raise NotImplementedError

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        answer = await self.fake.handle(*_call(request, body))
        return _response(request, answer)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        answer = self.fake.decide(*_call(request, body))
        if answer.delay_s > 0:
            time.sleep(answer.delay_s)  # a sync client blocks its thread anyway
        return _response(request, answer)


__all__ = ["FakeTransport"]
