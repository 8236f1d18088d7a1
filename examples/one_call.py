"""One OCR call, no Router: `ocr()` against a fake Mistral on 127.0.0.1 (no key, no network).

    python examples/one_call.py

With a real key, drop the fake: `ocr(model="mistral/mistral-ocr-latest", document=...)` reads
MISTRAL_API_KEY and calls https://api.mistral.ai.
"""

from __future__ import annotations

from providers.fake import FakeProvider
from providers.samples import make_pdf
from router import ocr


def main() -> None:
    fake = FakeProvider("mistral", api_key="example-key")
    with fake.serve_in_thread() as base_url:
        response = ocr(
            model="mistral/mistral-ocr-latest",
            document=make_pdf(3),  # bytes, a Path, an open file, a URL or a data URI
            pages=[0, 2],
            api_key="example-key",
            api_base=base_url,
        )
    for page in response.pages:
        print(f"page {page.index}: {page.markdown.splitlines()[0]}")
    info = response.call_info
    print(f"{info.pages} pages in {info.latency_s:.3f} s for ${info.cost_usd:.4f}")


if __name__ == "__main__":
    main()
