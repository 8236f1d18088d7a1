"""Values shared by the ocr()/aocr() tests."""

from __future__ import annotations

# Distinctive enough that finding it in any captured output can only mean a leak.
SECRET_KEY = "sk-ocr-router-test-5b1e9c7d2f4a8e6b"
# Pages of the sample PDF the tests send (the fakes count a PDF's pages for real).
SAMPLE_PAGES = 3
