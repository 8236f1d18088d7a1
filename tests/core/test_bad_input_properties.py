"""Property-based tests (hypothesis) of what users may pass: every input is either a valid
request or an `InvalidRequestError` that names the problem, never another exception and never a
request that breaks Mistral's spec; and `ocr()` refuses bad credentials before sending."""

from __future__ import annotations

import base64
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from providers.fake import FakeProvider
from providers.samples import make_pdf, make_png
from router import ocr
from router.errors import ConfigError, InvalidRequestError, OCRRouterError
from router.mime import sniff_mime
from router.types import MAX_PAGE_INDEX, MAX_PAGES_PER_REQUEST, OCRRequest

FIELDS = sorted(name for name in OCRRequest.model_fields if name not in ("model", "document"))
PNG, PDF = make_png(), make_pdf(2)
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
documents = st.one_of(
    json_values,
    st.binary(max_size=64),
    st.sampled_from([PNG, PDF]),
    st.builds(
        lambda kind, url: {"type": kind, kind: url},
        st.sampled_from(["document_url", "image_url"]),
        st.text(max_size=40) | st.just("https://example.com/a.pdf"),
    ),
)
parameters = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(min_size=1, max_size=12), json_values, max_size=4
)


def _build(document: Any, params: dict[str, Any]) -> OCRRequest | InvalidRequestError:
    try:
        # A generated parameter may itself be named "model": it then replaces the default, as
        # a caller's keyword would (repeating model= would be a TypeError of the test's own call).
        return OCRRequest.build(document, **{"model": "mistral-ocr-latest", **params})
    except InvalidRequestError as error:
        return error


@PROPERTY_SETTINGS
@given(document=documents, params=parameters)
def test_any_input_is_a_valid_request_or_an_error_that_names_the_problem(
    document: Any, params: dict[str, Any], validate_spec: Any
) -> None:
    result = _build(document, params)

    if isinstance(result, InvalidRequestError):
        assert str(result).startswith("invalid OCR request: ")
        assert result.status_code == 422
        assert result.errors and all(problem["msg"] for problem in result.errors)
    else:
        validate_spec(result.to_wire(), "OCRRequest")


@PROPERTY_SETTINGS
@given(unknown=st.text(min_size=1, max_size=20))
def test_an_unknown_parameter_is_named_never_dropped(unknown: str) -> None:
    assume(unknown not in OCRRequest.model_fields)

    result = _build(PNG, {unknown: 1})

    assert isinstance(result, InvalidRequestError)
    assert any(problem["loc"] == [unknown] for problem in result.errors)


@PROPERTY_SETTINGS
@given(content=st.binary(max_size=200))
def test_raw_bytes_become_a_data_uri_of_their_sniffed_type_or_a_refusal(content: bytes) -> None:
    result = _build(content, {})

    mime = sniff_mime(content)
    if mime is None or not content:
        assert isinstance(result, InvalidRequestError)
    else:
        assert not isinstance(result, InvalidRequestError)
        assert result.to_wire()["document"][result.document.type].startswith(f"data:{mime};")


@PROPERTY_SETTINGS
@given(
    content=st.sampled_from([PNG, PDF]),
    claimed=st.sampled_from(["application/pdf", "image/png", "image/jpeg", "image/tiff"]),
)
def test_a_data_uri_whose_content_is_not_the_type_it_claims_is_refused(
    content: bytes, claimed: str
) -> None:
    uri = f"data:{claimed};base64,{base64.b64encode(content).decode()}"

    result = _build({"type": "document_url", "document_url": uri}, {})

    assert isinstance(result, InvalidRequestError) is (sniff_mime(content) != claimed)


@PROPERTY_SETTINGS
@given(payload=st.text(alphabet=string.printable, min_size=1, max_size=60))
def test_a_payload_that_is_not_base64_is_refused(payload: str) -> None:
    try:
        valid = bool(base64.b64decode(payload, validate=True))
    except ValueError:
        valid = False
    assume(not valid)

    result = _build({"document_url": f"data:application/pdf;base64,{payload}"}, {})

    assert isinstance(result, InvalidRequestError)
    assert result.errors[0]["loc"][0] == "document"


@PROPERTY_SETTINGS
@given(scheme=st.from_regex(r"[a-z][a-z0-9+.-]{0,9}", fullmatch=True))
def test_a_url_with_another_scheme_than_http_https_or_data_is_refused(scheme: str) -> None:
    assume(scheme not in ("http", "https", "data"))

    result = _build({"document_url": f"{scheme}://example.com/a.pdf"}, {})

    assert isinstance(result, InvalidRequestError)


@PROPERTY_SETTINGS
@given(pages=st.lists(st.integers(min_value=-(2**40), max_value=2**40), max_size=40))
def test_pages_are_refused_when_negative_or_past_the_limit(pages: list[int]) -> None:
    result = _build(PDF, {"pages": pages})

    bad = any(page < 0 or page > MAX_PAGE_INDEX for page in pages)
    assert isinstance(result, InvalidRequestError) is bad


def test_a_huge_pages_list_is_refused_without_building_it() -> None:
    too_many = _build(PDF, {"pages": list(range(MAX_PAGES_PER_REQUEST + 1))})
    huge_range = _build(PDF, {"pages": f"0-{10**18}"})

    assert isinstance(too_many, InvalidRequestError)
    assert isinstance(huge_range, InvalidRequestError)


def test_an_empty_document_is_refused() -> None:
    for empty in (b"", {"document_url": "data:application/pdf;base64,"}, {}):
        assert isinstance(_build(empty, {}), InvalidRequestError)


# ---------------------------------------------------------------- header injection


@pytest.fixture(scope="module")
def fake_url() -> Any:
    fake = FakeProvider("mistral", api_key="k")
    with fake.serve_in_thread() as url:
        yield url, fake


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    key=st.text(min_size=1, max_size=20).filter(
        lambda key: any(not (32 <= ord(char) < 127) and char != "\t" for char in key)
    )
)
def test_a_key_that_would_inject_or_break_a_header_is_a_config_error_before_sending(
    key: str, fake_url: Any
) -> None:
    url, fake = fake_url
    sent = fake.request_count

    with pytest.raises(ConfigError) as caught:
        ocr(model="mistral/mistral-ocr-latest", document=PNG, api_key=key, api_base=url)

    assert fake.request_count == sent  # nothing went out
    assert key not in str(caught.value)
    assert "Authorization header" in str(caught.value)


@pytest.mark.parametrize(
    "headers",
    [{"X-Gateway": "a\r\nX-Evil: 1"}, {"X Bad Name": "v"}, {"X-Gateway": "caf\u00e9"}],
)
def test_a_deployment_header_that_cannot_be_sent_is_a_config_error(
    headers: dict[str, str], fake_url: Any
) -> None:
    url, _ = fake_url

    with pytest.raises(OCRRouterError) as caught:
        ocr(
            model="mistral/mistral-ocr-latest",
            document=PNG,
            api_key="k",
            api_base=url,
            headers=headers,
        )

    assert isinstance(caught.value, ConfigError)
    assert "a\r\n" not in str(caught.value)
