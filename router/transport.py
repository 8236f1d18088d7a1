"""A faster HTTP transport for the router's pools: httpx over aiohttp, with httpx's errors.

httpx's own connection pool tops out near 500 calls/s at 64 concurrent calls; the same calls over
aiohttp (httpx-aiohttp's `AiohttpTransport`) reach about 4,000. That transport, as published,
reports failures wrongly: every `aiohttp.ClientConnectionError` becomes `httpx.ConnectTimeout`, so
a refused, reset or dropped connection would read as a timeout (`RequestTimeoutError` instead of
`APIConnectionError`), and an unparsable answer escapes as a raw aiohttp error.
`router._aiohttp_transport.FastTransport` raises what httpx's own transport raises for the same
event, for the request and for the body read after it:

=================================  ========================  ===================================
aiohttp                            raised as                 httpx's own transport
=================================  ========================  ===================================
ClientConnectorError (refused,     ConnectError              ConnectError
DNS, TLS)
ConnectionTimeoutError             ConnectTimeout            ConnectTimeout
(our semaphore, pool full)         PoolTimeout               PoolTimeout
SocketTimeoutError (sock_read)     ReadTimeout               ReadTimeout
ServerDisconnectedError            RemoteProtocolError       RemoteProtocolError
ClientPayloadError (body cut)      RemoteProtocolError       RemoteProtocolError (ReadError when
                                                             the cut is a reset)
ClientResponseError (bad status    RemoteProtocolError       RemoteProtocolError
line, headers, framing)
ClientOSError (reset), other       ReadError                 ReadError
ClientConnectionError
(upload stalled past the bound)    WriteTimeout              WriteTimeout
=================================  ========================  ===================================

It also keeps httpx's request semantics where aiohttp's differ: the pool limit and its timeout,
no second cookie jar, no extra default headers, and a bound on an upload the peer stops reading
(aiohttp has no write timeout). It closes its aiohttp session when its event loop ends, so a pool
left behind by `asyncio.run` is not logged as an unclosed session. Given a transport,
`httpx.AsyncClient` ignores HTTP(S)_PROXY and ALL_PROXY, so when one is set `fast_transport`
gives None and httpx's own transport goes through the proxy. aiohttp is imported only when a
transport is made (`import router` stays light); without the optional extra `fast`, the caller
keeps httpx's default transport too.
"""

from __future__ import annotations

from urllib.request import getproxies

import httpx

# Request extensions the router's senders set and the fast transport reads (a leaf module of
# their own, so that the transport never imports this one back).
from router.request_extensions import MAX_RESPONSE_BYTES, READ_WHOLE_BODY


def fast_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    """An aiohttp-based transport honouring `limits`, or None (keep httpx's default transport)
    when the extra `fast` (httpx-aiohttp, aiohttp) is not installed or an env proxy is set."""
    proxies = getproxies()
    if any(proxies.get(scheme) for scheme in ("http", "https", "all")):
        return None  # the env proxies httpx's client reads, as it reads them
    try:
        from router._aiohttp_transport import FastTransport
    except ImportError:
        return None
    return FastTransport(limits)


__all__ = ["MAX_RESPONSE_BYTES", "READ_WHOLE_BODY", "fast_transport"]
