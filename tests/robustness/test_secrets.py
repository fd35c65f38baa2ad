"""Secrets: with a fake HF_TOKEN and Kaggle credentials in the environment, run the demo, push to
the loopback Hub stand-in, fail pushes (a wrong token; a server that quotes the request's
Authorization header back in its error) and fail a Kaggle download. No form of a secret may
appear in any stdout, stderr, log, metrics file, card or published file.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from curator.commands.push import REJECTED_TOKEN
from curator.testing.files import serve_directory
from curator.testing.hub import serve_hub
from tests.conftest import run_cli
from tests.robustness.conftest import SECRETS, DemoRun
from tests.robustness.helpers import assert_one_line_error

TOKEN, USER, KEY = SECRETS["HF_TOKEN"], SECRETS["KAGGLE_USERNAME"], SECRETS["KAGGLE_KEY"]
# every form a secret could leak in: whole, its distinctive tail (a truncated copy), HTTP Basic credentials
FORMS = {
    "HF_TOKEN": TOKEN, "HF_TOKEN tail": TOKEN[-16:], "KAGGLE_KEY": KEY, "KAGGLE_KEY tail": KEY[-12:],
    "Kaggle Basic auth": base64.b64encode(f"{USER}:{KEY}".encode()).decode(),
}
REPO = "robust/emotions"


def leaks(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [name for name, form in FORMS.items() if form.encode() in data]


def file_leaks(root: Path) -> dict[str, list[str]]:
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            names = leaks(path.read_bytes())
            if names:
                found[str(path.relative_to(root))] = names
    return found


@contextmanager
def quoting_server() -> Iterator[str]:
    """A loopback 'Hub' that refuses every request with an error quoting the request's headers
    (Authorization included), as a misconfigured proxy or a verbose server might. 60 requests at most."""

    class Handler(BaseHTTPRequestHandler):
        def _refuse(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            quoted = "; ".join(f"{k}: {v}" for k, v in self.headers.items())
            body = json.dumps({"error": f"bad request, you sent {quoted}"}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Error-Message", f"bad request, you sent {quoted}"[:2000])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_HEAD = _refuse

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=lambda: [server.handle_request() for _ in range(60)], daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.server_close()


def hub_env(url: str, home: Path) -> dict[str, str]:
    return {"HF_ENDPOINT": url, "HF_HOME": str(home), "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_UPDATE_CHECK": "1", "HF_HUB_OFFLINE": "0"}


@pytest.fixture(scope="module")
def runs(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("secrets-push")
    procs: dict[str, subprocess.CompletedProcess] = {}
    procs["demo"] = demo_run.result()
    assert procs["demo"].returncode == 0, procs["demo"].stderr[-3000:]
    published = demo_run.out / "workspace" / "data" / "publish" / "emotion-curator"
    push = ("push", str(published), "--repo-id", REPO, "--private")  # VIRI/NVIE licences: private only

    with serve_hub(token=TOKEN) as hub, hub.client_env(root / "hf-home") as env:
        procs["push"] = run_cli(*push, cwd=root, env={**SECRETS, **env}, check=False)
        pushed = dict(hub.repo_files(REPO)) if procs["push"].returncode == 0 else {}
        requests = list(hub.requests)
    with serve_hub(token="hf_TheServerExpectsAnotherToken000") as other, other.client_env(root / "hf-home2") as env:
        procs["push_wrong_token"] = run_cli(*push, cwd=root, env={**SECRETS, **env}, check=False)
    with quoting_server() as url:
        procs["push_quoting_server"] = run_cli(*push, cwd=root, env={**SECRETS, **hub_env(url, root / "hf-home3")},
                                               check=False)

    # Kaggle: credentials set, the download fails at the network (a loopback proxy refusing to connect)
    kaggle = root / "kaggle"
    kaggle.mkdir()
    (kaggle / "params.yaml").write_text("sources:\n  kaggle_physio:\n    handle: someone/face-emotion\n")
    with serve_directory(kaggle) as proxy:
        env = {**SECRETS, "HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "https_proxy": proxy, "http_proxy": proxy,
               "NO_PROXY": "", "no_proxy": "", "KAGGLEHUB_CACHE": str(kaggle / "cache")}
        procs["kaggle"] = run_cli("download", "kaggle_physio", cwd=kaggle, env=env, check=False)
    return {"procs": procs, "pushed": pushed, "requests": requests, "published": published,
            "roots": [demo_run.root, root]}


def test_the_demo_and_a_push_with_the_token_succeed(runs: dict) -> None:
    procs = runs["procs"]
    assert procs["push"].returncode == 0, procs["push"].stderr
    assert "README.md" in runs["pushed"] and any(p.endswith(".parquet") for p in runs["pushed"])
    # the pushed card names its repo where the published one has the REPO_ID placeholder
    local = (runs["published"] / "README.md").read_text(encoding="utf-8")
    assert runs["pushed"]["README.md"].decode() == local.replace("REPO_ID", REPO)


def test_failing_pushes_and_download_are_one_line(runs: dict) -> None:
    procs = runs["procs"]
    assert_one_line_error(procs["push_wrong_token"], REJECTED_TOKEN)
    assert_one_line_error(procs["push_quoting_server"], "HTTP 400", "Bearer ***")  # the server quoted it: masked
    assert_one_line_error(procs["kaggle"], "kaggle_physio: kagglehub could not fetch someone/face-emotion")


@pytest.mark.parametrize("run", ["demo", "push", "push_wrong_token", "push_quoting_server", "kaggle"])
def test_no_secret_in_any_output(runs: dict, run: str) -> None:
    proc = runs["procs"][run]
    assert leaks(proc.stdout) == [] and leaks(proc.stderr) == [], (proc.stdout[-2000:], proc.stderr[-2000:])


def test_no_secret_in_any_file_written(runs: dict) -> None:
    """Logs, DVC files, params, metrics, reports, the card, the published and pushed files, caches."""
    for root in runs["roots"]:
        assert file_leaks(root) == {}, root
    assert [name for path, data in runs["pushed"].items() for name in leaks(data)] == []
    assert leaks(repr(runs["requests"])) == []  # not even in a URL the stand-in Hub saw
