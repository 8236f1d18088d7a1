"""Count a PDF's pages and cut sub-PDFs that hold only chosen pages (for sharding).

A document too long for one request is cut into sub-PDFs, each carrying only its own pages and
what they draw with (content streams, images, fonts), not the whole file with a `pages` filter:
sending the whole file per range multiplies the upload by the number of ranges.

The library is pypdf (the optional extra `pdf`), chosen by measurement
(`benchmarks/bench_pdf_library.py`: on a 600-page, 40 MB PDF cut into 30-page shards, pypdf
split in 0.19 s, pypdfium2 in 0.55 s, both keeping each page's text, image and fonts); it is
pure Python, so it installs everywhere.

Memory: a `PdfPages` reads the document's bytes in place (no copy) and parses objects lazily;
each `cut` builds one sub-PDF and returns its bytes, so a caller that cuts a shard just before
sending it holds the document plus the shards in flight, never every shard at once.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import Any

from router.errors import InvalidRequestError, MissingExtraError

PDF_EXTRA_HINT = "pip install 'ocr-router[pdf]'"


def _pypdf() -> Any:
    try:
        import pypdf
    except ImportError:
        raise MissingExtraError(
            f"this PDF must be cut into shards, which needs pypdf: {PDF_EXTRA_HINT}",
            extra="pdf",
        ) from None
    # pypdf reports every repaired oddity of a damaged file as a warning line; the caller
    # learns what matters from the outcome (pages counted and cut, or a clear error).
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    return pypdf


def pdf_available() -> bool:
    """Whether the `pdf` extra is installed (sharding is possible)."""
    try:
        _pypdf()
    except MissingExtraError:
        return False
    return True


class PdfPages:
    """One PDF, opened for counting and cutting. Raises `InvalidRequestError` when the bytes
    are not a PDF that can be read (damaged, or encrypted with a password)."""

    def __init__(self, content: bytes) -> None:
        pypdf = _pypdf()
        try:
            reader = pypdf.PdfReader(io.BytesIO(content))  # BytesIO shares the bytes
            if reader.is_encrypted and not reader.decrypt(""):
                raise InvalidRequestError(
                    "the PDF is encrypted with a password: it cannot be cut into shards",
                    field="document",
                )
            self.page_count: int = len(reader.pages)
        except InvalidRequestError:
            raise
        except Exception as error:  # pypdf raises many kinds for a damaged file
            raise InvalidRequestError(
                f"the PDF cannot be read to cut it into shards ({type(error).__name__})",
                field="document",
            ) from None
        self._reader = reader
        self._pypdf = pypdf

    def cut(self, pages: Sequence[int]) -> bytes:
        """A PDF of `pages` (0-based indexes, in the order given) and nothing else."""
        if not pages:
            raise ValueError("a sub-PDF needs at least one page")
        writer = self._pypdf.PdfWriter()
        try:
            for index in pages:
                source = self._reader.pages[index]
                # Annotations are copied apart: link destinations point at other pages, which
                # the writer would copy in with everything they draw with.
                page = writer.add_page(source, excluded_keys=("/Annots",))
                _copy_annotations(source, page, writer)
            buffer = io.BytesIO()
            writer.write(buffer)
        except IndexError:
            raise InvalidRequestError(
                f"page {max(pages)} is past the document's last page ({self.page_count - 1})",
                field="pages",
            ) from None
        except Exception as error:
            raise InvalidRequestError(
                f"pages {pages[0]}-{pages[-1]} of the PDF cannot be cut out "
                f"({type(error).__name__})",
                field="document",
            ) from None
        return buffer.getvalue()


_POINTERS = ("/Dest", "/A", "/Parent", "/P", "/Popup")


def _copy_annotations(source: Any, page: Any, writer: Any) -> None:
    """Copy the annotations that draw something (form fields, stamps, notes), not links:
    a link draws nothing and OCR reads what is drawn."""
    annotations = source.get("/Annots")
    if annotations is None:
        return
    from pypdf.generic import ArrayObject, NameObject

    kept = ArrayObject()
    for annotation in annotations.get_object():
        if annotation.get_object().get("/Subtype") == "/Link":
            continue
        # What points elsewhere (destinations, actions, the form field tree, other pages)
        # stays behind; the appearance, what OCR sees, comes along.
        copy = annotation.get_object().clone(writer, False, _POINTERS)
        kept.append(copy.indirect_reference or copy)
    if kept:
        page[NameObject("/Annots")] = kept


def count_pages(content: bytes) -> int:
    """The page count of a PDF (see `PdfPages` for the errors)."""
    return PdfPages(content).page_count


__all__ = ["PDF_EXTRA_HINT", "PdfPages", "count_pages", "pdf_available"]
