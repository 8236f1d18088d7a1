"""`ocr-router ocr --batch`: the same documents through Mistral's Batch API, at half price.

The command's inputs, `--out`, `--format` and `--pages` mean what they mean without `--batch`;
only the way the pages are OCR'd changes (router/batch_api.py): one batch request per document
(no page splitting: the job runs them all anyway), spread over the group's Mistral deployments,
results written as the synchronous path writes them once the jobs end. Each job's id is printed
as soon as it is queued: a run stopped while waiting (Ctrl-C, a lost connection) is resumed with
the same command and `--batch-job ID` (each job id, repeatable), and nothing is submitted twice.
A document is named by its output stem (its custom id), so a resumed run matches results to
inputs. Failed documents are listed with their reason; `--batch-retry-sync` sends them again
through the ordinary routed path (any deployment, at the list price). With `--cache DIR`, a
document answered before is not sent, and the batch's answers are stored for the next run.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from router.batch import (
    BatchOptions,
    BatchResult,
    DocumentResult,
    UsageError,
    describe_failure,
    run_batch,
    write_result,
)
from router.batch_api import DEFAULT_POLL_SECONDS, BatchOutcome, BatchProgress, OCRBatch
from router.batch_inputs import BatchInput, SkippedFile
from router.errors import InvalidRequestError
from router.mime import sniff_mime
from router.types import coerce_document

if TYPE_CHECKING:
    from rich.console import Console

    from router.router import Router


@dataclass(frozen=True)
class BatchAPIOptions:
    job_ids: tuple[str, ...] = ()  # resume these jobs instead of submitting
    retry_sync: bool = False  # re-send failed documents through the routed path
    poll_interval: float = DEFAULT_POLL_SECONDS


def batch_api_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Mistral's Batch API (half price, results within hours)")
    group.add_argument(
        "--batch",
        action="store_true",
        help="OCR through Mistral's Batch API on the group's Mistral deployments",
    )
    group.add_argument(
        "--batch-job",
        action="append",
        default=[],
        metavar="JOB_ID",
        help="resume a batch job submitted earlier (repeatable; implies --batch)",
    )
    group.add_argument(
        "--batch-retry-sync",
        action="store_true",
        help="send documents that failed in the batch again, synchronously, at the list price",
    )
    group.add_argument(
        "--batch-poll",
        type=_seconds,
        default=DEFAULT_POLL_SECONDS,
        metavar="SECONDS",
        help="seconds between looks at a running job (default: %(default)s)",
    )


def batch_api_options(args: argparse.Namespace) -> BatchAPIOptions | None:
    """The Batch API options given, None without `--batch`/`--batch-job`; `UsageError` for
    options that only make sense with them."""
    if not (args.batch or args.batch_job):
        if args.batch_retry_sync:
            raise UsageError("--batch-retry-sync goes with --batch or --batch-job")
        return None
    return BatchAPIOptions(
        job_ids=tuple(dict.fromkeys(args.batch_job)),
        retry_sync=args.batch_retry_sync,
        poll_interval=args.batch_poll,
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to 3600")
    return value


class _Documents(Mapping[str, Any]):
    """The inputs by custom id (their output stem), each read only when its line is written."""

    def __init__(self, inputs: Sequence[BatchInput], options: BatchOptions) -> None:
        self._inputs = {item.stem: item for item in inputs}
        self._options = options

    def __getitem__(self, custom_id: str) -> Any:
        item = self._inputs[custom_id]
        if item.url is not None:
            return item.url
        assert item.path is not None
        try:
            content = item.path.read_bytes()
            mime_type = self._options.mime_type if sniff_mime(content) is None else None
            return coerce_document({"file": content, "mime_type": mime_type})
        except OSError as error:
            raise InvalidRequestError(describe_failure(error), field="document") from None
        except ValueError as error:
            message = str(error).replace("pass mime_type=", "pass --mime-type")
            raise InvalidRequestError(message, field="document") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._inputs)

    def __len__(self) -> int:
        return len(self._inputs)


async def run_batch_api(
    inputs: Sequence[BatchInput],
    router: Router,
    model: str,
    options: BatchOptions,
    console: Console,
    api: BatchAPIOptions,
    *,
    skipped: Sequence[SkippedFile] = (),
    finished: list[DocumentResult] | None = None,
) -> BatchResult:
    """Submit (or resume) the batch jobs of `inputs`, wait, write each result; `finished`
    receives each document's result as it is written (kept when the run is interrupted)."""
    from rich.text import Text

    done = finished if finished is not None else []
    by_id = {item.stem: item for item in inputs}
    options.out_dir.mkdir(parents=True, exist_ok=True)

    def say(line: str) -> None:
        console.print(Text(line), soft_wrap=True)

    async with OCRBatch(router, model, poll_interval=api.poll_interval) as batch:
        if api.job_ids:
            refs = [await batch.find(job_id) for job_id in api.job_ids]
        else:
            params: dict[str, Any] = {} if options.pages is None else {"pages": options.pages}
            refs = await batch.submit(_Documents(inputs, options), skip_invalid=True, **params)
            for custom_id, why in batch.invalid.items():
                done.append(_failed(by_id[custom_id], f"InvalidRequestError (400): {why}"))
        for ref in refs:
            say(f"batch job {ref.job_id} on {ref.deployment_id} (resume: --batch-job {ref.job_id})")
        seen: dict[str, tuple[str, int]] = {}

        def progress(look: BatchProgress) -> None:
            if seen.get(look.job_id) != (look.status, look.completed):
                seen[look.job_id] = (look.status, look.completed)
                say(
                    f"batch job {look.job_id}: {look.status}, {look.completed}/{look.total} "
                    f"done, {look.failed} failed"
                )

        await batch.wait(refs, on_progress=progress)
        expected = list(by_id) if api.job_ids else []
        retry: list[BatchInput] = []
        async for outcome in batch.results(refs, expected=expected):
            item = by_id.get(outcome.custom_id)
            if item is None:
                say(f"batch result {outcome.custom_id!r} matches no input given: left out")
                continue
            if outcome.response is None and api.retry_sync:
                say(f"{item.label}: failed in the batch ({outcome.error}); sending it again")
                retry.append(item)
                continue
            done.append(await _written(item, outcome, options))
        if retry:
            await run_batch(retry, router, model, options, console, finished=done)
    return BatchResult(documents=list(done), skipped=list(skipped))


async def _written(
    item: BatchInput, outcome: BatchOutcome, options: BatchOptions
) -> DocumentResult:
    response = outcome.response
    if response is None:
        return _failed(item, f"batch: {outcome.error}")
    info = response.call_info
    result = DocumentResult(input=item, requests=1)
    try:
        result.output = await asyncio.to_thread(write_result, item, response, options)
    except OSError as error:
        result.error = describe_failure(error)
        return result
    result.ok = True
    result.pages = len(response.pages)
    if info.cached:  # the result cache (--cache) answered: not sent, not paid
        result.cached_pages, result.saved_usd = info.pages, info.saved_usd or 0.0
        result.deployments, result.cost_usd = (f"{info.deployment_id} (cached)",), 0.0
    else:
        result.batch_pages = response.usage_info.total_pages
        result.deployments, result.cost_usd = (f"{info.deployment_id} (batch)",), info.cost_usd
    return result


def _failed(item: BatchInput, error: str) -> DocumentResult:
    return DocumentResult(input=item, error=error)


__all__ = ["BatchAPIOptions", "batch_api_arguments", "batch_api_options", "run_batch_api"]
