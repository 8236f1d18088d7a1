"""The LiteLLM virtual environment the benchmarks compare against (standard library only).

`ensure_litellm_python(root)` builds `root/.litellm-venv` with `litellm==1.110.2` and the few
packages its proxy needs to start and serve `/v1/ocr`, and returns that venv's python. It never
holds our packages: LiteLLM's side (litellm_side.py) imports only `measure.py`, by path.

`litellm[proxy]` cannot be installed (its `litellm-proxy==1.110.2` is not on PyPI, though the
proxy's code ships inside the litellm wheel), so PROXY_PACKAGES lists what that extra brings
which the proxy actually imports to start and serve OCR, found by starting it until it imported
no missing module, pinned to the versions verified. CONSTRAINTS pins every other package of that
verified venv, so a new release of a dependency cannot move LiteLLM's figures between runs.

    python benchmarks/litellm_env.py   # builds (or checks) the venv, prints its python
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

LITELLM = "litellm==1.110.2"

# From litellm's `proxy` extra: each is imported by `litellm --config ...` before it serves /v1/ocr
# (uvloop because the proxy runs uvicorn with loop="uvloop"; redis is rq's, imported directly).
PROXY_PACKAGES = (
    "APScheduler==3.11.3",
    "Expression==5.8.0",
    "PyJWT==2.15.1",
    "backoff==2.2.1",
    "cryptography==50.0.2",
    "fastapi==0.165.0",
    "fastapi-sso==0.23.0",
    "mcp==2.3.0",
    "orjson==3.13.0",
    "python-multipart==0.0.34",
    "redis==8.1.0",
    "semver==3.1.2",
    "soundfile==0.14.0",
    "uvicorn==0.54.0",
    "uvloop==0.23.0",
    "websockets==15.0.1",
)

# Everything else the verified venv held (`pip freeze`), as pip constraints: pinned if installed.
CONSTRAINTS = (
    "aiohappyeyeballs==2.7.1",
    "aiohttp==3.14.5",
    "aiosignal==1.4.0",
    "annotated-doc==0.0.7",
    "annotated-types==0.8.0",
    "anyio==4.16.0",
    "attrs==26.1.0",
    "boto3==1.44.8",
    "botocore==1.44.8",
    "certifi==2026.10.19.post1",
    "cffi==2.1.1",
    "charset-normalizer==3.5.3",
    "click==8.5.1",
    "dnspython==2.9.2",
    "email-validator==2.4.0",
    "fastuuid==0.14.0",
    "filelock==4.3.1",
    "frozenlist==1.8.0",
    "fsspec==2026.9.0",
    "h11==0.16.0",
    "h2==4.4.1",
    "hf-xet==1.8.0",
    "hpack==4.2.0",
    "httpcore==1.0.9",
    "httpcore2==2.16.2",
    "httpx==0.28.1",
    "httpx2==2.16.2",
    "huggingface_hub==2.4.0",
    "hyperframe==6.1.0",
    "idna==3.20",
    "importlib_metadata==8.9.0",
    "Jinja2==3.1.6",
    "jiter==0.19.0",
    "jmespath==1.1.0",
    "jsonschema==4.26.0",
    "jsonschema-specifications==2025.9.1",
    "MarkupSafe==3.0.4",
    "mcp-types==2.3.0",
    "multidict==7.2.1",
    "numpy==2.4.6",
    "oauthlib==4.0.1",
    "openai==3.57.0",
    "opentelemetry-api==1.45.2",
    "packaging==26.4",
    "propcache==0.5.4",
    "pycparser==3.12",
    "pydantic==2.14.4",
    "pydantic-settings==2.16.3",
    "pydantic_core==2.50.5",
    "python-dateutil==2.9.0.post0",
    "python-dotenv==1.2.4",
    "PyYAML==6.0.4",
    "referencing==0.37.0",
    "regex==2026.11.19",
    "requests==2.34.2",
    "rpds-py==2026.9.1",
    "s3transfer==0.19.3",
    "six==1.17.0",
    "sniffio==1.3.1",
    "sse-starlette==3.7.0",
    "starlette==1.10.0",
    "tiktoken==0.14.0",
    "tokenizers==0.23.3",
    "tqdm==4.70.1",
    "truststore==0.10.5",
    "typing-inspection==0.4.5",
    "typing_extensions==4.16.0",
    "tzlocal==5.4.5",
    "urllib3==2.8.0",
    "yarl==1.25.1",
    "zipp==4.1.2",
)

VENV_NAME = ".litellm-venv"
MARKER_NAME = "ocr-router-litellm-requirements.txt"


def log(message: str) -> None:
    print(f"[litellm_env] {message}", file=sys.stderr, flush=True)


def _wanted() -> str:
    """The marker's text: a venv whose marker differs is rebuilt."""
    lines = [LITELLM, *PROXY_PACKAGES, "# constraints", *CONSTRAINTS]
    return "\n".join(lines) + "\n"


def ensure_litellm_python(root: Path) -> Path:
    """Path to the python of `root/.litellm-venv`, built first if missing or differently pinned."""
    venv = root / VENV_NAME
    python = venv / "bin" / "python"
    marker = venv / MARKER_NAME
    wanted = _wanted()
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    if venv.exists():
        if not (venv / "pyvenv.cfg").exists():
            raise RuntimeError(f"{venv} exists but is no virtual environment: remove it yourself")
        log(f"{venv} is pinned differently or incomplete: rebuilding it")
        shutil.rmtree(venv)
    started = time.perf_counter()
    log(f"creating {venv} with {sys.executable}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    constraints = venv / "constraints.txt"
    constraints.write_text("\n".join(CONSTRAINTS) + "\n")
    log(f"installing {LITELLM} and {len(PROXY_PACKAGES)} proxy packages (a minute or two)")
    # pip's own output goes to stderr too: stdout stays free for a caller's JSON.
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            "--constraint",
            str(constraints),
            LITELLM,
            *PROXY_PACKAGES,
        ],
        check=True,
        stdout=sys.stderr,
    )
    _check(python)
    marker.write_text(wanted)  # written last: an interrupted install is rebuilt next time
    log(f"ready in {time.perf_counter() - started:.0f} s: {python}")
    return python


def _check(python: Path) -> None:
    """The installed litellm is the pinned one and its proxy's CLI loads."""
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if f"litellm=={version}" != LITELLM:
        raise RuntimeError(f"{python} has litellm {version}, expected {LITELLM}")
    if not (python.parent / "litellm").exists():
        raise RuntimeError(f"{python.parent / 'litellm'} (the proxy's CLI) was not installed")


if __name__ == "__main__":
    print(ensure_litellm_python(Path(__file__).resolve().parent))
