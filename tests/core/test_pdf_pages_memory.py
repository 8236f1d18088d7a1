"""Counting a PDF's pages for routing must not keep the document alive after it returns.

pypdf's reader is a reference cycle, freed only by a later garbage collection: a proxy worker
whose collector had not run yet held every recent request's data URI through it (2 copies of
the document per request at 10 MB, 4 clients, became 5.7)."""

from __future__ import annotations

import base64
import gc
import sys

import pytest

from providers.samples import make_pdf
from router.pdf_pages import data_uri_pdf_page_count

pytest.importorskip("pypdf")


def test_the_count_leaves_no_reference_to_the_document() -> None:
    uri = "data:application/pdf;base64," + base64.b64encode(make_pdf(3)).decode()
    gc.collect()
    gc.disable()  # cycles stay uncollected, as between two collections in a busy worker
    try:
        before = sys.getrefcount(uri)
        assert data_uri_pdf_page_count(uri) == 3
        assert sys.getrefcount(uri) == before
    finally:
        gc.enable()
