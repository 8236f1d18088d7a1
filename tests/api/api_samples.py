"""Values shared by the ocr()/aocr() tests."""

from __future__ import annotations

# Distinctive enough that finding it in any captured output can only mean a leak.
SECRET_KEY = "sk-ocr-router-test-5b1e9c7d2f4a8e6b"
# Pages of the shared `pdf_bytes` sample (tests/conftest.py); the fakes count them for real.
SAMPLE_PAGES = 3
