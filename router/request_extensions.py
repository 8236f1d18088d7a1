"""Request extensions (httpx's `request.extensions`) the router's senders set and the fast
transport reads: in a module of their own, which imports nothing of the router's, so that
neither `router.transport` nor `router._aiohttp_transport` has to import the other for them."""

# The caller reads the whole body at once (`RouterClient`), so the fast transport may read it in
# one piece instead of streaming it.
READ_WHOLE_BODY = "ocr_router.read_whole_body"
# The most raw bytes of the answer worth reading (`Provider.send` caps the decoded body at it);
# the fast transport stops reading there (`BodyTooLargeError`).
MAX_RESPONSE_BYTES = "ocr_router.max_response_bytes"

__all__ = ["MAX_RESPONSE_BYTES", "READ_WHOLE_BODY"]
