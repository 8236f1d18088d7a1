"""`ocr-router ocr`: OCR many documents through a Router, concurrently, with a progress bar.

A person with a folder of scans wants one command that uses every configured deployment, survives
the failures of any one of them (the Router's job), shows how far it got and what it cost, writes
one result per document, and says plainly which documents failed and why.

Design:

- Inputs (`router.batch_inputs`): files, folders expanded to the files whose content is a
  document, and http(s) URLs, in a stable order; output names are unique and never an input's.
- One bound, `--concurrency` (default 4: enough to overlap the latency of a few deployments,
  low enough not to trip a single key's rate limit on the first second): at most N documents are
  in flight at once (read into memory, being OCR'd). A batch of 10,000 files therefore never
  holds more than N of them.
- Pages concurrently: a PDF with more pages than `--shard-pages` (default 30: what every host
  takes in one request, so any deployment can serve any shard, and a 600-page PDF spreads into
  20 requests over the fleet) is sharded by the Router itself (router/sharding.py): cut into
  sub-PDFs holding only their pages, served concurrently across deployments (at most
  `router.sharding.MAX_SHARDS_IN_FLIGHT` per document, within each deployment's own limits) and
  merged in page order. With `--pages`, only the pages asked for are cut out. Without the `pdf`
  extra a PDF goes as one request (or, when no deployment can take it whole, fails saying which
  extra to install). A document fails when any of its shards fails after the Router's own
  retries and fallbacks; its other shards are then cancelled, since their pages would be thrown
  away.
- Results: `<stem>.md` (each page's markdown after a `<!-- page N -->` comment, N being the page
  index, 0-based like `--pages` and the response's `index`) or `<stem>.json` (the merged
  response's `to_wire()`), written atomically. Failures are listed with their typed error's
  message, which the providers scrub of keys.
- Progress: a bar on a terminal; in a pipe or a log, one plain line per document as it ends
  (on stderr, like the bar), so a long run shows its progress where it is read.
- `--skip-existing` leaves out the documents whose result is already in `--out` (output names
  are the same from run to run over the same inputs), so an interrupted run can be resumed.
- Exit status: 0 when every document succeeded, 1 when any failed, 2 for a usage error (nothing
  configured, a bad option, an input that does not exist), 130 when interrupted by Ctrl-C (after
  the summary of the documents that ended).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from router.batch_inputs import (
    BatchInput,
    InputError,
    SkippedFile,
    assign_outputs,
    discover_inputs,
)
from router.cli import Runner
from router.cli.arguments import positive_int
from router.errors import ConfigError, InvalidRequestError, OCRRouterError
from router.mime import PDF, sniff_mime
from router.pdf import count_pages, pdf_available
from router.types import CallInfo, OCRResponse, coerce_document, parse_page_spec

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from router.router import Router

DEFAULT_CONCURRENCY = 4  # see the module docstring
DEFAULT_SHARD_PAGES = 30  # see the module docstring
DEFAULT_OUT_DIR = "ocr-output"
CONFIG_ENV = "OCR_ROUTER_CONFIG"  # a config path, when --config is not given
NOTHING_CONFIGURED = (
    "no providers configured: pass --config config.yaml (or set $OCR_ROUTER_CONFIG), or "
    "--model mistral/mistral-ocr-latest with MISTRAL_API_KEY set (azure_ai/<model> needs "
    "AZURE_AI_API_KEY and AZURE_AI_API_BASE, vertex_ai/<model> needs VERTEXAI_PROJECT and Google "
    "credentials); try `ocr-router demo` to see it work without a key"
)
USAGE_ERROR_EXIT = 2
INTERRUPTED_EXIT = 130  # the shell's convention for a command stopped by Ctrl-C (128 + SIGINT)

OutputFormat = Literal["md", "json"]


class UsageError(Exception):
    """The command cannot start as given (exit status 2); the message says what to change."""


@dataclass(frozen=True)
class BatchOptions:
    pages: list[int] | None = None  # 0-based page indexes for every document; None: all
    out_dir: Path = Path(DEFAULT_OUT_DIR)
    output_format: OutputFormat = "md"
    concurrency: int = DEFAULT_CONCURRENCY
    shard_pages: int | None = DEFAULT_SHARD_PAGES  # None: shard only what fits nowhere whole
    mime_type: str | None = None  # for local files whose content does not show their type


@dataclass
class DocumentResult:
    """What happened to one document."""

    input: BatchInput
    ok: bool = False
    pages: int = 0
    requests: int = 0  # chunks sent for this document
    deployments: tuple[str, ...] = ()  # in the order they first served a chunk
    cost_usd: float | None = 0.0  # None when a deployment's price is unknown
    output: Path | None = None
    error: str | None = None
    cached_pages: int = 0  # pages served from the result cache (`--cache`): not paid again
    saved_usd: float = 0.0  # what those pages cost when first OCR'd
    batch_pages: int = 0  # pages OCR'd through Mistral's Batch API (`--batch`), at its price


@dataclass
class BatchResult:
    documents: list[DocumentResult]
    skipped: list[SkippedFile] = field(default_factory=list)
    existing: list[BatchInput] = field(default_factory=list)  # --skip-existing: left out
    interrupted: int = 0  # documents not finished when Ctrl-C stopped the run

    @property
    def failed(self) -> list[DocumentResult]:
        return [document for document in self.documents if not document.ok]

    @property
    def succeeded(self) -> list[DocumentResult]:
        return [document for document in self.documents if document.ok]

    @property
    def pages(self) -> int:
        return sum(document.pages for document in self.documents)

    @property
    def cost_usd(self) -> float | None:
        costs = [document.cost_usd for document in self.documents]
        return None if any(cost is None for cost in costs) else sum(c or 0.0 for c in costs)

    @property
    def exit_code(self) -> int:
        return INTERRUPTED_EXIT if self.interrupted else (1 if self.failed else 0)


# -- page counts and output ---------------------------------------------------------------


def count_pdf_pages(content: bytes) -> int | None:
    """The PDF's page count, or None without the `pdf` extra or for a file it cannot read."""
    if not pdf_available():
        return None
    try:
        return count_pages(content)
    except InvalidRequestError:  # damaged or encrypted: the provider will judge it
        return None


def render_markdown(response: OCRResponse) -> str:
    """Each page's markdown after a `<!-- page N -->` comment (N: the 0-based page index)."""
    parts = [f"<!-- page {page.index} -->\n\n{page.markdown.rstrip()}\n" for page in response.pages]
    return "\n".join(parts)


def describe_failure(error: BaseException) -> str:
    """The reason shown for a failed document: the error's type and message (never a key:
    providers scrub their messages, and the router's never hold one)."""
    if isinstance(error, OCRRouterError):
        if error.message.startswith(str(error.status_code)):  # "400 Bad Request": said once
            return f"{type(error).__name__}: {error}"
        return f"{type(error).__name__} ({error.status_code}): {error}"
    if isinstance(error, OSError):
        return f"cannot read or write the file: {error.strerror or type(error).__name__}"
    return f"{type(error).__name__}: {error}"


def _check_pages(pages: list[int] | None, page_count: int | None) -> None:
    """Refuse `--pages` past the end of a PDF whose page count is known, before sending."""
    if pages is None or page_count is None or max(pages) < page_count:
        return
    raise InvalidRequestError(
        f"--pages asks for page {max(pages)}, but the PDF has {_count(page_count, 'page')} "
        f"(0 to {page_count - 1})",
        field="pages",
    )


def _count(number: int, noun: str) -> str:
    """`1 page`, `2 pages`."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _write_atomically(path: Path, text: str) -> None:
    # A temporary file then a rename: an interrupted run never leaves half a result behind.
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _result_path(item: BatchInput, options: BatchOptions) -> Path:
    return options.out_dir / f"{item.stem}.{options.output_format}"


# -- the batch ----------------------------------------------------------------------------


class _Batch:
    """One run: the bounds, the progress display and the per-document work."""

    def __init__(
        self,
        router: Router,
        model: str,
        options: BatchOptions,
        progress: Progress | None,
        task: TaskID | None,
        log: Console | None = None,
        total: int = 0,
    ) -> None:
        self.router = router
        self.model = model
        self.options = options
        self.documents_in_flight = asyncio.Semaphore(options.concurrency)
        # Opt-in sharding needs the `pdf` extra; without it a PDF goes whole, as it always did.
        self.shard_pages = options.shard_pages if pdf_available() else None
        self.progress = progress
        self.task = task
        self.pages_done = 0
        self.failed = 0
        self.cost_usd = 0.0
        self.log = log  # a console that is not a terminal: one line per finished document
        self.total = total
        self.finished: list[DocumentResult] = []  # in the order they ended (kept on Ctrl-C)

    def _show(self, *, advance: int = 0) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(
                self.task,
                advance=advance,
                pages=self.pages_done,
                failed=self.failed,
                cost=self.cost_usd,
            )

    async def run(self, item: BatchInput) -> DocumentResult:
        result = DocumentResult(input=item)
        async with self.documents_in_flight:
            try:
                response = await self._ocr(item, result)
                result.output = await asyncio.to_thread(self._write, item, response)
            except Exception as error:  # every failure is reported per document, never a crash
                result.error = describe_failure(error)
                self.failed += 1
            else:
                result.ok = True
                result.pages = len(response.pages)
        self.finished.append(result)
        self._show(advance=1)
        self._log(result)
        return result

    def _log(self, result: DocumentResult) -> None:
        if self.log is None:
            return
        from rich.text import Text

        if result.ok:
            outcome = f"ok, {_count(result.pages, 'page')}, {_cost(result.cost_usd)}"
        else:
            outcome = f"FAILED: {result.error}"
        line = f"[{len(self.finished)}/{self.total}] {result.input.label}: {outcome}"
        self.log.print(Text(line), soft_wrap=True)

    async def _ocr(self, item: BatchInput, result: DocumentResult) -> OCRResponse:
        document: Any
        if item.url is not None:
            document = item.url
        else:
            assert item.path is not None
            content = await asyncio.to_thread(item.path.read_bytes)
            sniffed = sniff_mime(content)
            # The content's own type wins: a claim that contradicts it is refused anyway.
            mime_type = self.options.mime_type if sniffed is None else None
            try:
                document = coerce_document({"file": content, "mime_type": mime_type})
            except ValueError as error:
                message = str(error).replace("pass mime_type=", "pass --mime-type")
                raise InvalidRequestError(message, field="document") from None
            if sniffed == PDF and self.options.pages is not None:
                page_count = await asyncio.to_thread(count_pdf_pages, content)
                _check_pages(self.options.pages, page_count)
            del content
        params: dict[str, Any] = {} if self.options.pages is None else {"pages": self.options.pages}
        response = await self.router.aocr(
            self.model, document, shard_pages=self.shard_pages, **params
        )
        self._account(response.call_info, result)
        self.pages_done += len(response.pages)
        self._show()
        return response

    def _account(self, info: CallInfo, result: DocumentResult) -> None:
        """Who served the document (each shard's deployment), what it cost, what was cached."""
        served = info.shards or (info,)
        deployments: list[str] = []
        for part in served:
            deployment = part.deployment_id or "-"
            served_by = f"{deployment} (cached)" if part.cached else deployment
            if served_by not in deployments:
                deployments.append(served_by)
            if part.cached:
                result.cached_pages += part.pages if isinstance(part, CallInfo) else len(part.pages)
                result.saved_usd += part.saved_usd or 0.0
        result.deployments = tuple(deployments)
        result.requests = len(info.shards) or 1
        result.cost_usd = info.cost_usd
        if info.cost_usd is not None:
            self.cost_usd += info.cost_usd

    def _write(self, item: BatchInput, response: OCRResponse) -> Path:
        return write_result(item, response, self.options)


def write_result(item: BatchInput, response: OCRResponse, options: BatchOptions) -> Path:
    """`<out>/<stem>.md` or `.json` for one document, written atomically; its path."""
    if options.output_format == "json":
        import json

        text = json.dumps(response.to_wire(), indent=2, ensure_ascii=False) + "\n"
    else:
        text = render_markdown(response)
    path = _result_path(item, options)
    _write_atomically(path, text)
    return path


async def run_batch(
    inputs: Sequence[BatchInput],
    router: Router,
    model: str,
    options: BatchOptions,
    console: Console | None = None,
    *,
    skipped: Sequence[SkippedFile] = (),
    finished: list[DocumentResult] | None = None,
) -> BatchResult:
    """OCR every input through `router` (group `model`) and write the results to
    `options.out_dir`; `console` shows a progress bar when it is a terminal, one line per
    document otherwise. `finished`, when given, receives each document's result as it ends
    (what a caller still has when the run is cancelled)."""
    options.out_dir.mkdir(parents=True, exist_ok=True)
    progress: Progress | None = None
    task: TaskID | None = None
    log: Console | None = None
    if console is not None and console.is_terminal:
        progress = _progress_bar(console)
        task = progress.add_task("OCR", total=len(inputs), pages=0, failed=0, cost=0.0)
    elif console is not None:
        log = console
    batch = _Batch(router, model, options, progress, task, log, len(inputs))
    if finished is not None:
        batch.finished = finished
    if progress is None:
        documents = await asyncio.gather(*(batch.run(item) for item in inputs))
    else:
        with progress:
            documents = await asyncio.gather(*(batch.run(item) for item in inputs))
    return BatchResult(documents=list(documents), skipped=list(skipped))


def _progress_bar(console: Console) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("documents"),
        TextColumn("[red]{task.fields[failed]} failed"),
        TextColumn("{task.fields[pages]} pages"),
        TextColumn("${task.fields[cost]:.4f}"),
        TimeElapsedColumn(),
        console=console,
    )


# -- summary ------------------------------------------------------------------------------


def _cost(value: float | None) -> str:
    return "?" if value is None else f"${value:.4f}"


def print_summary(result: BatchResult, console: Console) -> None:
    """A table per document, the totals, then each failure with its reason."""
    from rich.table import Table
    from rich.text import Text

    table = Table(show_footer=True, title_justify="left")
    ok_count, failed_count = len(result.succeeded), len(result.failed)
    # Long paths lose their start, not their end: the file names are what tell rows apart.
    widest = max(console.width // 3, 24)
    table.add_column(
        "document", footer=Text(_count(len(result.documents), "document")), no_wrap=True
    )
    table.add_column("pages", justify="right", footer=str(result.pages))
    table.add_column("deployment(s)")
    table.add_column("cost", justify="right", footer=_cost(result.cost_usd))
    table.add_column("status", footer=f"{ok_count} ok, {failed_count} failed")
    table.add_column("output")
    for document in result.documents:
        table.add_row(
            Text(_shorten_left(document.input.label, widest)),
            str(document.pages) if document.ok else "-",
            Text(", ".join(document.deployments) or "-"),
            _cost(document.cost_usd) if document.ok else "-",
            Text("ok", style="green") if document.ok else Text("failed", style="red"),
            Text(str(document.output) if document.output else "-"),
        )
    console.print(table)
    batched = [document for document in result.documents if document.batch_pages]
    if batched:
        pages = sum(document.batch_pages for document in batched)
        cost = _cost(BatchResult(batched).cost_usd)
        console.print(
            Text(f"{_count(pages, 'page')} through Mistral's Batch API at its price ({cost})")
        )
    cached = sum(document.cached_pages for document in result.documents)
    if cached:
        saved = sum(document.saved_usd for document in result.documents)
        console.print(
            Text(f"{cached} page(s) served from the cache, not paid again (saved {_cost(saved)})")
        )
    if result.skipped:
        console.print(Text(f"skipped {_count(len(result.skipped), 'file')} that are not documents"))
    if result.existing:
        kept = _count(len(result.existing), "document")
        console.print(Text(f"skipped {kept} whose result was already in the output folder"))
    if result.interrupted:
        unfinished = _count(result.interrupted, "document")
        console.print(Text(f"interrupted by Ctrl-C: {unfinished} not finished (nothing written)"))
    for document in result.failed:
        # soft_wrap: a reason is one line a script or a person can grep, never folded.
        console.print(Text(f"FAILED {document.input.label}: {document.error}"), soft_wrap=True)


def _shorten_left(text: str, width: int) -> str:
    """`…/nested/deeper/letter.pdf`: the end of a label kept whole when it is too wide."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


# -- routing set-up -----------------------------------------------------------------------


def build_router(
    config: str | None, model: str | None, cache: str | None = None
) -> tuple[Router, str]:
    """The Router and group for the command line, or `UsageError` saying what to set;
    `cache` (a directory) overrides the config's result cache."""
    from providers import split_model
    from router.router import Router

    options: dict[str, Any] = {} if cache is None else {"cache": cache}
    config = config or os.environ.get(CONFIG_ENV) or None
    if config is not None:
        try:
            router = Router.from_config(config, **options)
        except ConfigError as error:
            raise UsageError(f"{config}: invalid config:\n{error.message}") from None
        groups = router.groups()
        listed = ", ".join(groups)
        if model is None:
            entry = _entry_groups(router)
            if len(entry) == 1:
                return router, entry[0]
        elif model in groups:
            return router, model
        router.close()
        if model is None:
            raise UsageError(
                f"{config} defines several model groups: pass --model with one of {listed}"
            )
        raise UsageError(
            f"{config} has no model group {model!r}: pass --model with one of {listed}"
        )
    if model is None:
        raise UsageError(NOTHING_CONFIGURED)
    try:
        split_model(model)
    except ConfigError as error:
        raise UsageError(
            f"{error.message} (without --config, --model names provider/model)"
        ) from None
    try:
        # One deployment whose provider reads its key and endpoint from the environment.
        return Router([{"model_name": model, "model": model}], **options), model
    except ConfigError as error:
        problem = error.message.partition(": ")[2] or error.message
        raise UsageError(f"cannot use {model}: {problem}\n{NOTHING_CONFIGURED}") from None


def _entry_groups(router: Router) -> list[str]:
    """The groups a request may start from: all but those that are only another's fallback
    (the README's `mistral-ocr` with its `mistral-ocr-backup`)."""
    settings = router.settings
    targets = {group for targets in settings.fallbacks.values() for group in targets}
    targets.update(settings.default_fallbacks)
    return [group for group in router.groups() if group not in targets]


def _mime_type(text: str) -> str:
    if re.fullmatch(r"[\w.+-]+/[\w.+-]+", text) is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a MIME type (e.g. application/pdf)")
    return text.lower()


# -- the command --------------------------------------------------------------------------


def _shard_pages(text: str) -> int | None:
    return None if text.strip().lower() == "none" else positive_int(text)


def _page_spec(text: str) -> list[int]:
    try:
        return parse_page_spec(text)
    except ValueError as error:
        message = str(error) if "range" in str(error) or "past" in str(error) else "bad page list"
        raise argparse.ArgumentTypeError(f"{text!r}: {message} (e.g. 0,2-4)") from None


def install(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> Runner:
    parser = subparsers.add_parser(
        "ocr",
        help="OCR files, folders and URLs through the router; one result per document",
        description=(
            "OCR documents concurrently through a Router built from --config (or "
            "$OCR_ROUTER_CONFIG), or from --model provider/model and the provider's environment "
            "variables. Writes <stem>.md or <stem>.json per document to --out. Exit 0 when all "
            "succeed, 1 when any fails, 2 for a usage error."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="PATH_OR_URL", help="files, folders, URLs")
    parser.add_argument("--config", help="a router config (default: $OCR_ROUTER_CONFIG)")
    parser.add_argument(
        "--model",
        help=(
            "with --config: the model group (default: the only group that is not a fallback); "
            "without: provider/model"
        ),
    )
    parser.add_argument(
        "--pages",
        type=_page_spec,
        help="0-based pages of every document, e.g. 0,2-4 (default: all)",
    )
    parser.add_argument(
        "--out", default=DEFAULT_OUT_DIR, help="folder for the results (default: %(default)s)"
    )
    parser.add_argument(
        "--format", choices=("md", "json"), default="md", help="result format (default: md)"
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        help="documents in flight at once (default: %(default)s)",
    )
    parser.add_argument(
        "--shard-pages",
        "--pages-per-request",  # its name before the Router sharded PDFs itself
        dest="shard_pages",
        type=_shard_pages,
        default=DEFAULT_SHARD_PAGES,
        help=(
            "cut longer PDFs into sub-PDFs of this many pages, served across deployments at "
            "once; 'none': only PDFs no deployment can take whole (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--skip-existing",
        action="store_true",
        help="leave out documents whose result is already in --out (resume a stopped run)",
    )
    parser.add_argument(
        "--mime-type",
        type=_mime_type,
        help="the type of local files whose content does not show it, e.g. image/png",
    )
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help="keep results in DIR (needs ocr-router[cache]): a document OCR'd before with the "
        "same model and options is not paid again",
    )
    from router.batch_api_command import batch_api_arguments

    batch_api_arguments(parser)
    return _run_ocr


def _run_ocr(args: argparse.Namespace) -> int:
    try:
        from rich.console import Console
    except ImportError:  # the `cli` extra
        print("ocr-router ocr needs rich: pip install 'ocr-router[cli]'", file=sys.stderr)
        return USAGE_ERROR_EXIT
    errors = Console(stderr=True, highlight=False)
    options = BatchOptions(
        pages=args.pages,
        out_dir=Path(args.out),
        output_format=args.format,
        concurrency=args.concurrency,
        shard_pages=args.shard_pages,
        mime_type=args.mime_type,
    )
    from router.batch_api_command import batch_api_options, run_batch_api

    try:
        batch_api = batch_api_options(args)
        router, model = build_router(args.config, args.model, args.cache)
    except UsageError as error:
        print(f"ocr-router ocr: {error}", file=sys.stderr)
        return USAGE_ERROR_EXIT
    try:
        found, skipped = discover_inputs(list(args.inputs), exclude=options.out_dir)
        if not found:
            raise UsageError("no documents found in " + ", ".join(args.inputs))
        options.out_dir.mkdir(parents=True, exist_ok=True)
    except (UsageError, InputError) as error:
        router.close()
        print(f"ocr-router ocr: {error}", file=sys.stderr)
        return USAGE_ERROR_EXIT
    except OSError as error:
        router.close()
        print(f"ocr-router ocr: cannot create {options.out_dir}: {error.strerror}", file=sys.stderr)
        return USAGE_ERROR_EXIT
    for item in skipped:
        print(f"skipped {item.path}: {item.reason}", file=sys.stderr)
    inputs = assign_outputs(found, options.out_dir, f".{options.output_format}")
    existing: list[BatchInput] = []
    if args.skip_existing:
        existing = [item for item in inputs if _result_path(item, options).exists()]
        inputs = [item for item in inputs if item not in existing]
    finished: list[DocumentResult] = []

    async def batch_then_close() -> BatchResult:
        async with router:  # its connection pool belongs to this loop: closed on it
            if batch_api is not None:  # --batch: Mistral's Batch API (router/batch_api_command.py)
                return await run_batch_api(
                    inputs,
                    router,
                    model,
                    options,
                    errors,
                    batch_api,
                    skipped=skipped,
                    finished=finished,
                )
            return await run_batch(
                inputs, router, model, options, errors, skipped=skipped, finished=finished
            )

    try:
        result = asyncio.run(batch_then_close())
    except KeyboardInterrupt:
        # Results already written are complete (written atomically); the rest were not sent.
        result = BatchResult(
            documents=list(finished), skipped=skipped, interrupted=len(inputs) - len(finished)
        )
    result.existing = existing
    output = Console(highlight=False)
    if not output.is_terminal:  # a log or a pipe: wide enough that rows do not fold
        output = Console(highlight=False, width=160)
    print_summary(result, output)
    return result.exit_code
