"""Which refusals belong to one deployment (router.fit.refusal_reason)."""

from __future__ import annotations

import pytest

from router.errors import (
    BadRequestError,
    CapabilityError,
    DocumentFetchError,
    NotFoundError,
    ServerError,
    error_from_response,
)
from router.fit import refusal_reason


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (413, b'{"error": {"code": "413", "message": "Request Entity Too Large"}}'),
        (422, b'{"detail": [{"type": "extra_forbidden", "loc": ["body", "table_format"],'
              b' "msg": "Extra inputs are not permitted"}]}'),
        (400, b'{"error": {"code": 400, "message": "Request payload size exceeds the limit:'
              b' 10485760 bytes.", "status": "INVALID_ARGUMENT"}}'),
        (400, b'{"detail": "Document has 45 pages, which exceeds the maximum of 30 pages"}'),
        (400, b'{"error": {"code": "400", "message": "file_id documents are not supported"}}'),
    ],
)  # fmt: skip
def test_a_hosts_limit_or_missing_field_is_its_own_refusal(status: int, body: bytes) -> None:
    assert refusal_reason(error_from_response(status, {}, body)) is not None


@pytest.mark.parametrize(
    ("status", "body"),
    [
        # A field outside the schema fails on every host, Mistral's own included.
        (422, b'{"detail": [{"type": "extra_forbidden", "loc": ["body", "foo"],'
              b' "msg": "Extra inputs are not permitted"}]}'),
        (422, b'{"detail": [{"type": "missing", "loc": ["body", "document"],'
              b' "msg": "Field required"}]}'),
        (400, b'{"message": "the document is empty"}'),
        (404, b'{"error": {"code": "404", "message": "Resource not found"}}'),
        (500, b'{"message": "too large a failure"}'),
    ],
)  # fmt: skip
def test_other_errors_are_not_refusals(status: int, body: bytes) -> None:
    assert refusal_reason(error_from_response(status, {}, body)) is None


def test_errors_raised_before_sending_say_so_themselves() -> None:
    assert refusal_reason(CapabilityError("takes no file_id")) == "takes no file_id"
    assert refusal_reason(DocumentFetchError("cannot download")) == "cannot download"
    assert refusal_reason(BadRequestError("bad")) is None
    assert refusal_reason(NotFoundError("gone")) is None
    assert refusal_reason(ServerError("boom")) is None
