"""Small sample documents shipped with the package, for `ocr-router demo` and for trying the
router without files of your own.

They were generated once with `providers.samples.make_pdf` / `make_png` (so they are real PDFs
with 1 to 5 pages and real PNGs) and are committed, so the demo needs neither pypdf nor a network
to have documents to send. Read them with `importlib.resources`:

    from importlib.resources import files
    for entry in files("providers.sample_documents").iterdir():
        if entry.name.endswith((".pdf", ".png")):
            data = entry.read_bytes()
"""
