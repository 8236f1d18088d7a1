"""Download a remote document so a provider that only takes inline documents can read it.

Azure AI and Vertex AI accept documents only as base64 data URIs, so for them the router fetches
an `https://` document itself. When the caller is untrusted (the proxy), that fetch is a
server-side request forgery: a URL naming `127.0.0.1`, a private address or the cloud metadata
service (`169.254.169.254`, `metadata.google.internal`) would make the router read its own
network. The guard therefore:

- resolves the host and refuses it unless every address is globally routable (unless
  `allow_private_document_urls` says otherwise);
- connects to the very address it checked (DNS-rebinding defence, see `_pinned_request`);
- follows at most `MAX_REDIRECTS` redirects by hand, checking each hop the same way;
- caps the body at `max_document_bytes` and the whole download at `document_fetch_timeout`. The
  cap counts decoded bytes and is enforced while decoding (router/bounded_body.py): httpx would
  inflate each received chunk whole, and 64 KB of gzip inflates to 64 MB (stacked codings
  multiply that).

Error messages show a URL without its query string or user info: signed URLs carry secrets there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx

from router.bounded_body import ACCEPT_ENCODING, BoundedDecoder, UndecodableBodyError
from router.errors import (
    BadRequestError,
    CapabilityError,
    DocumentFetchError,
    DocumentTooLargeError,
    OCRRouterError,
    UnsafeDocumentURLError,
)
from router.mime import Base64Builder, check_built_data_uri, sniff_mime
from router.types import (
    DocumentURLChunk,
    FileChunk,
    ImageURLChunk,
    OCRRequest,
    constructed_document,
    document_url_of,
)

if TYPE_CHECKING:
    from providers.base import Provider, ProviderSettings

Resolver = Callable[[str], Awaitable[list[str]]]

# Browsers stop at 20; a document link needs one or two (http -> https, a CDN). Five is generous
# and bounds how many hosts one request can make us visit.
MAX_REDIRECTS = 5

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# The NAT64 well-known prefix embeds an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CREDENTIAL_HEADERS = ("authorization", "api-key", "x-api-key", "x-goog-api-key")


def is_remote_url(url: str | None) -> bool:
    return url is not None and url[:8].lower().startswith(("http://", "https://"))


def safe_url(url: str | httpx.URL) -> str:
    """The URL as it may appear in a message: no user info, no query string, no fragment."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "<invalid URL>"
    port = f":{parsed.port}" if parsed.port is not None else ""
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{parsed.scheme}://{host}{port}{parsed.path}"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 and Teredo all reach an IPv4
    # host; judge them by that host, or `::ffff:127.0.0.1` would pass as "IPv6, not loopback".
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public_address(text: str) -> bool:
    """True when an IP address is globally routable unicast (not loopback, private, link-local,
    shared, reserved, unspecified or multicast), judging IPv6 forms of IPv4 by the IPv4 address."""
    address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
        text.split("%", 1)[0]  # drop an IPv6 zone id such as fe80::1%eth0
    )
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(str(embedded))
    # `is_global` alone lets multicast through on some Python versions, hence the extra checks;
    # it also calls deprecated IPv6 site-local (fec0::/10) global, which some networks still route.
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified or site_local
    )


async def _system_resolver(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def ascii_host(url: httpx.URL) -> str:
    """The host as it goes on the wire and to DNS: IDNA-encoded, no IPv6 brackets."""
    return url.raw_host.decode("ascii")


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


async def checked_address(
    url: httpx.URL, settings: ProviderSettings, resolver: Resolver | None
) -> str:
    """The address to connect to for `url`, after refusing any host that reaches a non-public
    address. Every resolved address is checked, not only the first: the connection may use any."""
    host = ascii_host(url)
    if not host:
        raise BadRequestError(f"the document URL {safe_url(url)} has no host")
    literal = _ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = await (resolver or _system_resolver)(host)
        except socket.gaierror as error:
            if error.errno == socket.EAI_NONAME:
                raise BadRequestError(
                    f"the document host in {safe_url(url)} does not exist"
                ) from None
            raise DocumentFetchError(
                f"cannot resolve the document host in {safe_url(url)}"
            ) from None
        except OSError:
            raise DocumentFetchError(
                f"cannot resolve the document host in {safe_url(url)}"
            ) from None
        if not addresses:
            raise DocumentFetchError(f"the document host in {safe_url(url)} has no address")
    if not settings.allow_private_document_urls:
        for address in addresses:
            try:
                public = is_public_address(address)
            except ValueError:
                public = False
            if not public:
                raise UnsafeDocumentURLError(
                    f"refusing to download {safe_url(url)}: its host resolves to a loopback, "
                    "private, link-local or reserved address (set allow_private_document_urls "
                    "on the deployment to allow it)"
                )
    return addresses[0]


def _pinned_request(
    client: httpx.AsyncClient, url: httpx.URL, address: str, timeout: float
) -> httpx.Request:
    # DNS rebinding: a name can resolve to a public address when checked and to 127.0.0.1 a
    # moment later when httpx resolves it again. So we connect to the IP literal we checked and
    # tell the server which site we want through the Host header; for https the `sni_hostname`
    # extension makes httpcore send the real name in TLS SNI and verify the certificate against
    # it, so pinning never weakens certificate checks.
    host = ascii_host(url)
    bracketed = f"[{host}]" if ":" in host else host
    host_header = bracketed if url.port is None else f"{bracketed}:{url.port}"
    extensions: dict[str, Any] = {"sni_hostname": host} if url.scheme == "https" else {}
    # The client's own timeouts (httpx defaults to 5 s) must not cut a download the settings
    # allow; the whole download is bounded by `document_fetch_timeout` in `fetch_document`.
    extensions["timeout"] = httpx.Timeout(timeout).as_dict()
    request = client.build_request(
        "GET",
        url.copy_with(host=address),
        headers={"Host": host_header, "Accept": "*/*", "Accept-Encoding": ACCEPT_ENCODING},
        extensions=extensions,
    )
    # The shared client may carry default headers meant for a provider: never hand a provider
    # credential to whatever host a document URL names.
    for name in _CREDENTIAL_HEADERS:
        request.headers.pop(name, None)
    return request


def _status_error(status: int, url: httpx.URL) -> OCRRouterError:
    where = safe_url(url)
    # 408 and 429 say "try again later"; other 4xx would fail on every deployment alike.
    if status >= 500 or status in (408, 429):
        return DocumentFetchError(f"downloading the document {where} answered {status}")
    return BadRequestError(f"downloading the document {where} answered {status}")


async def _read_capped(response: httpx.Response, limit: int, url: httpx.URL) -> Base64Builder:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise DocumentTooLargeError(
            f"the document {safe_url(url)} is {declared} bytes, over the {limit}-byte limit"
        )
    content = Base64Builder()
    if response.is_stream_consumed:
        # Only an in-memory response (httpx.MockTransport) arrives already read and decoded.
        if len(response.content) > limit:
            raise DocumentTooLargeError(
                f"the document {safe_url(url)} is over the {limit}-byte limit"
            )
        content.feed(response.content)
        return content
    # Raw bytes, decoded here: asking for one byte past what the cap leaves is enough to tell an
    # oversized document, however much its compressed chunk would inflate to. Encoded as they
    # come: the raw document is never held whole beside its data URI.
    try:
        decoder = BoundedDecoder(response.headers.get("content-encoding", "").strip().lower())
        async for raw in response.aiter_raw():
            chunk = decoder.decode(raw, limit - content.size + 1)
            if content.size + len(chunk) > limit:
                raise DocumentTooLargeError(
                    f"the document {safe_url(url)} is over the {limit}-byte limit"
                )
            content.feed(chunk)
    except UndecodableBodyError as error:
        raise BadRequestError(f"the document {safe_url(url)}: {error}") from None
    return content


async def fetch_document(
    url: str,
    client: httpx.AsyncClient,
    settings: ProviderSettings,
    *,
    resolver: Resolver | None = None,
) -> tuple[Base64Builder, str | None]:
    """Download `url` through the guard; returns the body (encoded as it arrived: see
    `Base64Builder`) and the response's Content-Type."""
    try:
        return await asyncio.wait_for(
            _fetch(httpx.URL(url), client, settings, resolver), settings.document_fetch_timeout
        )
    except TimeoutError:
        raise DocumentFetchError(
            f"downloading the document {safe_url(url)} took longer than "
            f"{settings.document_fetch_timeout:g}s"
        ) from None
    except httpx.InvalidURL:
        raise BadRequestError("the document URL is not a valid URL") from None


async def _fetch(
    url: httpx.URL,
    client: httpx.AsyncClient,
    settings: ProviderSettings,
    resolver: Resolver | None,
) -> tuple[Base64Builder, str | None]:
    for _hop in range(MAX_REDIRECTS + 1):
        if url.scheme not in ("http", "https"):
            raise UnsafeDocumentURLError(
                f"refusing to download {safe_url(url)}: only http and https are allowed"
            )
        address = await checked_address(url, settings, resolver)
        request = _pinned_request(client, url, address, settings.document_fetch_timeout)
        try:
            # auth=None: the client's default auth belongs to providers, not document hosts.
            response = await client.send(request, stream=True, follow_redirects=False, auth=None)
        except httpx.TransportError as error:
            raise DocumentFetchError(
                f"downloading the document {safe_url(url)} failed ({type(error).__name__})"
            ) from None
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECT_STATUSES and location:
                # Resolve relative to the URL as the user named it, not the pinned IP.
                url = url.join(location)
                continue
            if response.status_code >= 300:
                raise _status_error(response.status_code, url)
            try:
                content = await _read_capped(response, settings.max_document_bytes, url)
            except httpx.TransportError as error:
                raise DocumentFetchError(
                    f"downloading the document {safe_url(url)} failed ({type(error).__name__})"
                ) from None
            return content, response.headers.get("content-type")
        finally:
            await response.aclose()
    raise BadRequestError(
        f"the document URL redirected more than {MAX_REDIRECTS} times (last: {safe_url(url)})"
    )


def _mime_of(content: Base64Builder, content_type: str | None) -> str | None:
    sniffed = sniff_mime(content.sniffable())
    if sniffed is not None:
        return sniffed
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    # A server that does not know the type says octet-stream: that tells the provider nothing.
    if declared and "/" in declared and declared != "application/octet-stream":
        return declared
    return None


async def inline_remote_document(
    request: OCRRequest,
    client: httpx.AsyncClient,
    settings: ProviderSettings,
    *,
    resolver: Resolver | None = None,
) -> OCRRequest:
    """`request` with an http(s) document replaced by a base64 data URI of its content.

    Data URIs and uploaded files pass unchanged. The document is downloaded once per request,
    however many attempts inline it (`OCRRequest.memo`, keyed by what the guard allows), and
    its data URI is built holding two copies at most. `resolver` (an async host -> [IP strings])
    replaces DNS, for tests. Raises `UnsafeDocumentURLError`, `DocumentTooLargeError`,
    `BadRequestError` (the document cannot be had anywhere) or `DocumentFetchError` (retryable).
    """
    document = request.document
    url = document_url_of(document)
    if not is_remote_url(url):
        return request
    assert url is not None  # is_remote_url checked it
    assert isinstance(document, (DocumentURLChunk, ImageURLChunk))  # it has a URL
    # Keyed by the URL too: a copy of the request (model_copy) shares its memo.
    key = ("inlined", url, settings.allow_private_document_urls, resolver)
    memo = request.memo()
    if key in memo:
        inlined, size = memo[key]
        if size > settings.max_document_bytes:  # another deployment's cap allowed it
            raise DocumentTooLargeError(
                f"the document {safe_url(url)} is over the {settings.max_document_bytes}-byte limit"
            )
        return request.with_document(inlined)
    content, content_type = await fetch_document(url, client, settings, resolver=resolver)
    if not content.size:
        raise BadRequestError(f"the document {safe_url(url)} is empty")
    mime = _mime_of(content, content_type)
    if mime is None:
        raise BadRequestError(
            f"cannot tell the type of the document {safe_url(url)} from its content or Content-Type"
        )
    try:
        check_built_data_uri(content.sniffable(), mime)
    except ValueError:
        raise BadRequestError(
            f"the document {safe_url(url)} is not a valid {mime} document"
        ) from None
    inlined = constructed_document(content.data_uri(mime), like=document)
    memo[key] = (inlined, content.size)
    return request.with_document(inlined)


async def inline_for(
    provider: Provider,
    request: OCRRequest,
    client: httpx.AsyncClient,
    resolver: Resolver | None = None,
) -> OCRRequest:
    """`request` as a host that takes only inline documents needs it: a `file_id` refused, a
    remote document downloaded and inlined, then held to the host's limits (its pages and size
    were unknown before the download). Every refusal here is this deployment's: another, one
    that fetches URLs itself, may take the request (`router.fit`)."""
    from router.fit import cannot_take, request_facts  # router.fit imports the providers

    if isinstance(request.document, FileChunk):
        raise CapabilityError(
            "file_id documents are Mistral-only (files uploaded to Mistral's Files API); "
            "send a document_url or image_url instead",
            provider=provider.name,
        )
    try:
        prepared = await inline_remote_document(
            request, client, provider.settings, resolver=resolver
        )
    except OCRRouterError as error:
        error.provider = error.provider or provider.name
        error.refused_by_deployment = True  # a host that fetches URLs itself may still read it
        raise
    if prepared is not request:
        # Its pages and size only: the fields are the host's to refuse, as for any document.
        facts = dataclasses.replace(request_facts(prepared), fields=frozenset())
        reason = cannot_take(provider.model_info, facts)
        if reason is not None:
            raise CapabilityError(f"the downloaded document: {provider.name} {reason}")
    return prepared


__all__ = [
    "MAX_REDIRECTS",
    "Resolver",
    "ascii_host",
    "checked_address",
    "fetch_document",
    "inline_for",
    "inline_remote_document",
    "is_public_address",
    "is_remote_url",
    "safe_url",
]
