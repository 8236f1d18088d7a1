"""What `ocr-router ocr` reads and where it writes: inputs expanded, output names made unique.

People point a batch at a folder that holds more than documents (a README, a `.DS_Store`, the
output of the last run), so a folder is expanded to the files whose *content* is a format Mistral
OCR reads (`router.mime.sniff_mime`; a name's extension is never trusted), and everything else is
skipped with a note. A file named explicitly is always attempted: if it is not a document, that
is a failure the person should see, not a silent skip.

Order is stable (the arguments in the order given, each folder's files in natural order of their
relative path: `doc2` before `doc10`, as a file manager shows them), so two runs over the same
inputs name their outputs the same way. Output names are each input's stem (`report.pdf` ->
`report.md`); when two inputs share a stem (two `a.pdf` in different folders, URLs ending the same
way) the later ones get `-2`, `-3`... in that order, compared without case because some file
systems ignore it; a name that would land on an input file is skipped the same way, so a run never
overwrites a document.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from router.mime import sniff_mime

# Bytes read to sniff a file's type: every signature sits in the first 16; a zip (DOCX, PPTX)
# is read whole, since its folder names tell the two apart.
SNIFF_BYTES = 16
ZIP_SIGNATURE = b"PK\x03\x04"
FALLBACK_STEM = "document"  # for a URL with no usable last segment
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^\w.-]+")
_DIGITS = re.compile(r"(\d+)")


class InputError(ValueError):
    """An argument names nothing that exists (a usage error: exit status 2)."""


@dataclass(frozen=True)
class BatchInput:
    """One document of the batch: a local file or a URL, and the stem of its output file."""

    label: str  # what the summary shows: the path as given (or under its folder), or the URL
    path: Path | None = None
    url: str | None = None
    stem: str = FALLBACK_STEM


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


def is_url(argument: str) -> bool:
    return argument.startswith(("http://", "https://"))


def sniff_file(path: Path) -> str | None:
    """The MIME type the file's content shows, or None (unreadable or not a known format)."""
    try:
        with path.open("rb") as file:
            head = file.read(SNIFF_BYTES)
            if head.startswith(ZIP_SIGNATURE):
                head += file.read()
    except OSError:
        return None
    return sniff_mime(head)


def discover_inputs(
    arguments: list[str], *, exclude: Path | None = None
) -> tuple[list[tuple[str, Path | str]], list[SkippedFile]]:
    """Expand the arguments into (label, path or URL) in a stable order, and the skipped files.

    Files under `exclude` (the output folder) are left out of folders, so that running the same
    command twice does not list the last run's results as skipped inputs.
    Raises `InputError` for an argument that is neither a URL nor an existing file or folder."""
    excluded = exclude.resolve() if exclude is not None else None
    found: list[tuple[str, Path | str]] = []
    skipped: list[SkippedFile] = []
    seen: set[str] = set()  # resolved paths and URLs, so an input given twice is read once

    def add(label: str, item: Path | str) -> None:
        key = str(item.resolve()) if isinstance(item, Path) else item
        if key not in seen:
            seen.add(key)
            found.append((label, item))

    for argument in arguments:
        if is_url(argument):
            add(argument, argument)
            continue
        path = Path(argument)
        if path.is_file():
            add(argument, path)
        elif path.is_dir():
            for file in sorted(_files_under(path), key=natural_key):
                label = (path / file).as_posix()
                if excluded is not None and excluded in (path / file).resolve().parents:
                    continue
                if sniff_file(path / file) is None:
                    skipped.append(SkippedFile(label, "not a document or image OCR reads"))
                else:
                    add(label, path / file)
        else:
            raise InputError(f"{argument}: no such file or folder (and not an http(s) URL)")
    return found, skipped


def natural_key(path: Path) -> tuple[tuple[int, int | str], ...]:
    """Sort key of a path: runs of digits compare as numbers (`doc2` < `doc10`), the rest as
    text without case, then as given (so the order never depends on the file system's)."""
    parts = _DIGITS.split(path.as_posix())
    key: list[tuple[int, int | str]] = [
        (0, int(part)) if part.isdigit() else (1, part.casefold()) for part in parts if part
    ]
    key.append((2, path.as_posix()))
    return tuple(key)


def _files_under(folder: Path) -> list[Path]:
    """Every regular file under `folder`, relative to it, hidden files and folders included."""
    files: list[Path] = []
    for root, folders, names in os.walk(folder):
        folders.sort()
        files.extend(Path(root, name).relative_to(folder) for name in names)
    return [file for file in files if (folder / file).is_file()]


def stem_of(item: Path | str) -> str:
    """The output stem of a path (its file name without extension) or a URL (its last segment)."""
    if isinstance(item, Path):
        name = item.stem
    else:
        segment = unquote(urlsplit(item).path.rstrip("/").rpartition("/")[2])
        name = segment.rsplit(".", 1)[0] if "." in segment else segment
    cleaned = _UNSAFE_NAME_CHARACTERS.sub("_", name).strip("._")
    return cleaned or FALLBACK_STEM


def assign_outputs(
    found: list[tuple[str, Path | str]], out_dir: Path, extension: str
) -> list[BatchInput]:
    """Give each input a unique output stem in `out_dir` (see the module docstring)."""
    inputs_in_out_dir = {
        item.resolve().name.lower()
        for _, item in found
        if isinstance(item, Path) and item.resolve().parent == out_dir.resolve()
    }
    taken: set[str] = set()
    batch: list[BatchInput] = []
    for label, item in found:
        base = stem_of(item)
        stem, repeat = base, 1
        while stem.lower() in taken or f"{stem}{extension}".lower() in inputs_in_out_dir:
            repeat += 1
            stem = f"{base}-{repeat}"
        taken.add(stem.lower())
        if isinstance(item, Path):
            batch.append(BatchInput(label=label, path=item, stem=stem))
        else:
            batch.append(BatchInput(label=label, url=item, stem=stem))
    return batch
