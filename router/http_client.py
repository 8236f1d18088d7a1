"""`RouterClient`: the router's own connection pool, sending straight to its transport.

`httpx.AsyncClient.send` runs auth flows, redirects, cookie extraction (which rebuilds every
response's headers as an `email.message.Message`) and event hooks: about 40 microseconds a call,
more than the whole routing decision. The router's own client uses none of them (it has no auth
flow, no hooks, never follows redirects and never reads cookies), so its `send` hands the request
to the transport and reads the body, or with `stream=True` leaves the reading to the caller
(providers read under a cap). Anything else (an auth or redirect override, a closed client)
takes httpx's own path. Clients lent by a caller are never of this class.
"""

from __future__ import annotations

from typing import Any

import httpx

from router.request_extensions import READ_WHOLE_BODY


class RouterClient(httpx.AsyncClient):
    def __init__(self, transport: httpx.AsyncBaseTransport, limits: httpx.Limits) -> None:
        super().__init__(transport=transport, limits=limits)
        # Given a transport, httpx mounts no environment proxies: every URL goes to this one.
        self._direct = transport

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        plain = auth is httpx.USE_CLIENT_DEFAULT and follow_redirects is httpx.USE_CLIENT_DEFAULT
        if not plain or self.is_closed:
            return await super().send(
                request, stream=stream, auth=auth, follow_redirects=follow_redirects
            )
        request.extensions[READ_WHOLE_BODY] = True
        response = await self._direct.handle_async_request(request)
        response.request = request
        if stream:  # the caller reads it (`Provider.send`, under its cap) and closes it
            return response
        try:
            await response.aread()  # reading to the end also closes it (the connection is free)
        except BaseException:
            await response.aclose()
            raise
        return response


__all__ = ["READ_WHOLE_BODY", "RouterClient"]
