"""A Router over three fake deployments, one of them failing: every request still succeeds.

    python examples/failover.py

`FakeFleet` routes each request to the fake its deployment names, in-process. Deployment "flaky"
answers 503 to a third of its requests; the Router retries those at once on another deployment,
cools "flaky" down after 3 failures in a row, and prices each page by the deployment that served
it.
"""

from __future__ import annotations

import asyncio

from providers.fake import FakeFleet, FakeProvider
from providers.samples import make_pdf


async def main() -> None:
    fleet = FakeFleet(
        {
            "steady": FakeProvider("mistral", seed=1),
            "flaky": FakeProvider("azure_ai", faults={"503": 0.33}, seed=2),
            "backup": FakeProvider("vertex_ai", seed=3),
        }
    )
    async with fleet.router(routing_strategy="least-busy", seed=4) as router:
        responses = await asyncio.gather(*(router.aocr("ocr", make_pdf(2)) for _ in range(60)))
        retried = sum(len(response.call_info.attempts) > 1 for response in responses)
        print(f"{len(responses)} of 60 requests succeeded, {retried} after a failover")
        for deployment_id, totals in router.costs().deployments.items():
            print(f"  {deployment_id:7} {totals.requests:3} requests  ${totals.usd:.4f}")
    print(f"flaky answered {fleet['flaky'].outcomes['503']} requests with 503")


if __name__ == "__main__":
    asyncio.run(main())
