"""Every script in examples/ runs as a user would run it, and says what it promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"

# What each script must print (a regular expression per line that matters).
EXPECTED = {
    "one_call.py": [r"^page 0: ", r"^page 2: ", r"^2 pages in [\d.]+ s for \$0\.\d{4}$"],
    "failover.py": [
        r"^60 of 60 requests succeeded, \d+ after a failover$",
        r"^flaky answered [1-9]\d* requests with 503$",
    ],
    "extending.py": [r"^served: \{'eu-gw': 2, 'us-gw': 3\}$"],
}


def test_every_example_is_run_here() -> None:
    assert {path.name for path in EXAMPLES.glob("*.py")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_and_prints_what_it_promises(name: str) -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MISTRAL", "AZURE_AI", "VERTEXAI", "OCR_ROUTER"))
    }
    environment["PYTHONPATH"] = str(EXAMPLES.parent)
    finished = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        cwd=EXAMPLES.parent,
    )

    assert finished.returncode == 0, finished.stderr
    for pattern in EXPECTED[name]:
        assert re.search(pattern, finished.stdout, re.M), (pattern, finished.stdout)
    assert "Traceback" not in finished.stderr and "Unclosed" not in finished.stderr
