"""Credentials in configured URLs. (1) A source URL `http://user:PASSWORD@127.0.0.1:<port>/…` (a
loopback server that answers 401 without them) and a `?token=` in another, run through download →
prepare → normalize → split → augment → publish → report and `inspect` with -v: the downloads work
(the credentials reach the server). (2) The shared sample workspace with the sources' URLs on a remote
host, with a password and a `?sig=`: prepare (from the local copy), publish, report and inspect (none
of them touches the network). In neither is any form of a credential in a file the pipeline wrote,
nor in any stdout or stderr: URLs are recorded as `http://***@host:port/path?token=***`. A params.yaml
value of the wrong type holding a credential is a one-line error that does not echo it.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from curator.io.checksums import record, sha256_file
from curator.testing.files import serve_directory
from curator.testing.samples import builders
from tests.conftest import ROOT, run_cli
from tests.robustness import workspace
from tests.robustness.helpers import assert_one_line_error

USER, PASSWORD, TOKEN, SIG = "curator-user", "s3cr3tPASS", "tok3nVALUE0123", "s1gVALUE0123"
FORMS = {"password": PASSWORD, "query token": TOKEN, "signature": SIG,
         "Basic credentials": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
REMOTE = f"https://{USER}:{PASSWORD}@files.example.org/viri?sig={SIG}"
PUBLISHED = "data/publish/emotion-curator"


def leaks(data: str | bytes) -> list[str]:
    data = data.encode() if isinstance(data, str) else data
    return [name for name, form in FORMS.items() if form.encode() in data]


def params(viri_url: str, physio_url: str) -> str:
    return yaml.safe_dump({
        "sources": {"enabled": ["kaggle_physio", "viri"], "viri": {"base_url": viri_url},
                    "kaggle_physio": {"from": physio_url}},
        "prepare": {"workers": 1}, "augment": {"workers": 1, "copies": 1},
    }, sort_keys=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("url-secrets")
    samples, ws = root / "samples", root / "ws"
    shutil.copytree(ROOT / "pipelines", ws / "pipelines")
    for source in ("kaggle_physio", "viri"):  # the served files, known to the project's registry
        for path in builders()[source](samples, 0, False).files:
            record(ws / "checksums.tsv", source, path.relative_to(samples / source).as_posix(),
                   path.stat().st_size, sha256_file(path))
    procs: dict[str, subprocess.CompletedProcess] = {}

    def step(name: str, *args: str) -> None:
        procs[name] = run_cli("-v", *args, cwd=ws, check=False)

    with serve_directory(samples, basic_auth=(USER, PASSWORD)) as url:
        base = url.replace("http://", f"http://{USER}:{PASSWORD}@")
        (ws / "params.yaml").write_text(params(f"{base}/viri", f"{base}/kaggle_physio/face_emotion_physio.csv"
                                                                 f"?token={TOKEN}"))
        step("download viri", "download", "viri")
        step("download kaggle_physio", "download", "kaggle_physio")
        wrong = url.replace("http://", f"http://{USER}:wrong{PASSWORD}@") + \
            f"/kaggle_physio/face_emotion_physio.csv?token={TOKEN}"
        step("download, wrong password", "download", "kaggle_physio", "--from", wrong, "--out", "wrong")
        for source in ("kaggle_physio", "viri"):
            step(f"prepare {source}", "prepare", source, "--metrics", f"metrics/prepare/{source}.json")
        step("normalize", "normalize", "--metrics", "metrics/normalize.json")
        step("split", "split", "--metrics", "metrics/split.json")
        step("augment", "augment", "--metrics", "metrics/augment.json")
        step("publish", "publish", "--augmented", "data/augmented", "--metrics", "metrics/publish.json")
        step("report", "report")
        step("inspect", "inspect", "viri", "data/raw/viri")
    return {"ws": ws, "procs": procs}


@pytest.fixture(scope="module")
def remote(pipeline_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The shared workspace (tests/robustness/workspace.py) as if its sources were fetched from a remote
    host with credentials: what prepare records, and what the card and the report show of them."""
    ws = workspace.copy(pipeline_ws, tmp_path_factory.mktemp("url-secrets-remote") / "ws")
    (ws / "params.yaml").write_text(params(REMOTE, f"{REMOTE}&token={TOKEN}"))
    procs = {name: run_cli("-v", *args, cwd=ws, check=False) for name, args in {
        "prepare viri": ("prepare", "viri", "--raw", "samples/viri", "--out", "prepared-again"),
        "publish": ("publish", "--augmented", "data/augmented", "--metrics", "metrics/publish.json"),
        "report": ("report",),
        "inspect": ("inspect", "viri", "samples/viri"),
    }.items()}
    return {"ws": ws, "procs": procs}


def test_downloads_use_the_credentials_and_every_step_succeeds(runs: dict[str, Any], remote: dict[str, Any]) -> None:
    for name, proc in [*runs["procs"].items(), *remote["procs"].items()]:
        if name != "download, wrong password":
            assert proc.returncode == 0, (name, proc.stderr[-3000:])
    # the server answers 401 without the right credentials: one line, the URL shown without them
    assert_one_line_error(runs["procs"]["download, wrong password"], "HTTP 401 for http://***@127.0.0.1:",
                          "/kaggle_physio/face_emotion_physio.csv?token=***")


@pytest.mark.parametrize("scenario", ["runs", "remote"])
def test_no_credential_in_stdout_or_stderr(request: pytest.FixtureRequest, scenario: str) -> None:
    for name, proc in request.getfixturevalue(scenario)["procs"].items():
        assert leaks(proc.stdout) == [] and leaks(proc.stderr) == [], (name, proc.stdout[-2000:], proc.stderr[-2000:])


@pytest.mark.parametrize("scenario", ["runs", "remote"])
def test_no_credential_in_any_file_written(request: pytest.FixtureRequest, scenario: str) -> None:
    """data/ (raw markers, every lineage.json and metrics.json, rejects, the card, croissant.json, the
    published shards), metrics/, reports/: everything but params.yaml, where the user wrote them."""
    ws: Path = request.getfixturevalue(scenario)["ws"]
    found = {str(p.relative_to(ws)): leaks(p.read_bytes()) for p in ws.rglob("*")
             if p.is_file() and p.name != "params.yaml"}
    assert {path: names for path, names in found.items() if names} == {}
    assert (ws / "reports" / "index.html").is_file() and (ws / PUBLISHED / "croissant.json").is_file()


def test_urls_are_recorded_with_host_and_path(runs: dict[str, Any], remote: dict[str, Any]) -> None:
    """What a reader still learns: which server and which file; that there were credentials, not them."""
    ws: Path = runs["ws"]
    manifest = json.loads((ws / "data/prepared/viri/lineage.json").read_text())
    assert manifest["params"]["source"]["base_url"].startswith("http://***@127.0.0.1:")
    physio = json.loads((ws / "data/prepared/kaggle_physio/lineage.json").read_text())
    assert physio["params"]["source"]["from"].endswith("/kaggle_physio/face_emotion_physio.csv?token=***")
    assert "<loopback address>" in (ws / PUBLISHED / "README.md").read_text()  # a test build's servers: not named
    again = json.loads((remote["ws"] / "prepared-again/lineage.json").read_text())
    assert again["params"]["source"]["base_url"] == "https://***@files.example.org/viri?sig=***"
    card = (remote["ws"] / PUBLISHED / "README.md").read_text(encoding="utf-8")
    assert '"base_url": "https://***@files.example.org/viri?sig=***"' in card


@pytest.mark.parametrize(("section", "value", "shown"), [
    ("download: {timeout: %s}", f"https://{USER}:{PASSWORD}@host.example/file.zip", "***@host.example"),
    ("download: {retries: %s}", f"{USER}:{PASSWORD}@host.example", "***@host.example"),
    ("sources: {viri: {base_url: [%s]}}", f"https://host.example/viri?access_token={TOKEN}", "access_token=***"),
    ("sources: {enabled: [%s]}", f"{USER}:{PASSWORD}@host", "unknown source '***@host'"),
    ("download: {%s: 1}", f"{USER}:{PASSWORD}@host", "***@host: unknown key"),
])
def test_a_config_error_never_echoes_a_credential(tmp_path: Path, section: str, value: str, shown: str) -> None:
    (tmp_path / "params.yaml").write_text(section % json.dumps(value) + "\n")
    proc = run_cli("download", "viri", cwd=tmp_path, check=False)
    assert_one_line_error(proc, "params.yaml:1: ", shown)
    assert leaks(proc.stderr + proc.stdout) == []
