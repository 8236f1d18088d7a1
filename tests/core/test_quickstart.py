import io

from router.cli import main
from router.quickstart import run_quickstart


async def test_quickstart_routes_every_document_despite_faulty_fakes() -> None:
    out = io.StringIO()
    result = await run_quickstart(out, requests=40, seed=3)
    assert result.succeeded == result.requests == 40
    # Each routed request reached a fake at least once; failed attempts were retried elsewhere.
    assert sum(result.fake_requests.values()) >= 40
    assert set(result.fake_requests) == {"mistral", "azure", "vertex"}
    text = out.getvalue()
    assert "Page 0:" in text
    assert "40/40 succeeded" in text


def test_quickstart_command_exits_zero(capsys: object) -> None:
    assert main(["quickstart", "--requests", "10"]) == 0
