"""Which PDF library cuts sub-PDFs for sharding: pypdf or pypdfium2, measured.

A 600-page PDF of about 40 MB made in code (every page: its own image of 66 KB, text in a
standard font and in an embedded TrueType font shared by all pages) is counted and cut into
shards of 30 pages by each library. Each shard is then checked, independently of the library
that cut it: its page count, every page's text (pdfium's text extraction), every page's image
(the same pixels, by digest) and its fonts (the embedded program, by digest). The faster library
that keeps all of it is the one `router/pdf.py` uses.

    .venv/bin/python benchmarks/bench_pdf_library.py [--quick] [--rounds 3]

Needs both libraries (`pip install pypdf pypdfium2`); writes `results/pdf_library.json`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2 as pdfium
from common import save, table

from providers.samples import make_pdf

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SHARD = 30


def pypdf_count(content: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(content)).pages)


def pypdf_split(content: bytes, ranges: list[range]) -> list[bytes]:
    reader = pypdf.PdfReader(io.BytesIO(content))
    shards = []
    for pages in ranges:
        writer = pypdf.PdfWriter()
        for index in pages:
            writer.add_page(reader.pages[index])
        buffer = io.BytesIO()
        writer.write(buffer)
        shards.append(buffer.getvalue())
    return shards


def pdfium_count(content: bytes) -> int:
    document = pdfium.PdfDocument(content)
    try:
        return len(document)
    finally:
        document.close()


def pdfium_split(content: bytes, ranges: list[range]) -> list[bytes]:
    source = pdfium.PdfDocument(content)
    shards = []
    try:
        for pages in ranges:
            target = pdfium.PdfDocument.new()
            try:
                target.import_pages(source, list(pages))
                buffer = io.BytesIO()
                target.save(buffer)
                shards.append(buffer.getvalue())
            finally:
                target.close()
    finally:
        source.close()
    return shards


def page_facts(content: bytes) -> list[tuple[str, str | None, str | None]]:
    """(text, image digest, embedded font digest) of every page."""
    texts = []
    document = pdfium.PdfDocument(content)
    try:
        for page in document:
            texts.append(page.get_textpage().get_text_range())
    finally:
        document.close()
    facts = []
    for text, page in zip(texts, pypdf.PdfReader(io.BytesIO(content)).pages, strict=True):
        resources = page["/Resources"]
        image = font = None
        for xobject in resources.get("/XObject", {}).values():
            image = hashlib.sha256(xobject.get_object().get_data()).hexdigest()
        for entry in resources.get("/Font", {}).values():
            descriptor = entry.get_object().get("/FontDescriptor")
            if descriptor is not None and "/FontFile2" in descriptor.get_object():
                data = descriptor.get_object()["/FontFile2"].get_object().get_data()
                font = hashlib.sha256(data).hexdigest()
        facts.append((text, image, font))
    return facts


def timed(function: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="120 pages, 1 round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pages = 120 if args.quick else 600
    rounds = 1 if args.quick else args.rounds
    font = FONT.read_bytes() if FONT.exists() else None
    document = make_pdf(pages, "Sharding sample", image_bytes=66_000, font_program=font)
    ranges = [range(start, min(start + SHARD, pages)) for start in range(0, pages, SHARD)]
    expected = page_facts(document)
    rows, report = [], {}
    for name, count, split in (
        ("pypdf " + pypdf.__version__, pypdf_count, pypdf_split),
        ("pypdfium2 " + pdfium.PYPDFIUM_INFO.version, pdfium_count, pdfium_split),
    ):
        count_s, counted = timed(lambda count=count: count(document), rounds)
        split_s, shards = timed(lambda split=split: split(document, ranges), rounds)
        got = [fact for shard in shards for fact in page_facts(shard)]
        kept = {
            "pages": counted == pages and len(got) == pages,
            "text": [f[0] for f in got] == [f[0] for f in expected],
            "images": [f[1] for f in got] == [f[1] for f in expected],
            "fonts": [f[2] for f in got] == [f[2] for f in expected],
        }
        shard_bytes = sum(len(shard) for shard in shards)
        report[name] = {
            "count_s": count_s,
            "split_s": split_s,
            "shard_bytes": shard_bytes,
            "kept": kept,
        }
        rows.append(
            [
                name,
                f"{count_s * 1000:.1f}",
                f"{split_s:.3f}",
                f"{shard_bytes / len(document):.3f}",
                ", ".join(k for k, ok in kept.items() if ok) or "nothing",
            ]
        )
    print(
        f"{pages} pages, {len(document) / 1e6:.1f} MB, {len(ranges)} shards of {SHARD} pages, "
        f"median of {rounds}"
    )
    print(
        table(
            "PDF library: page count and split",
            ["library", "count ms", "split s", "shard bytes / document", "kept"],
            rows,
        )
    )
    save("pdf_library", {"pages": pages, "bytes": len(document), "libraries": report})


if __name__ == "__main__":
    main()
