"""The one slow run of the suite, `curator demo` with fake credentials set, starts as soon as the
session reaches tests/robustness (if test_secrets.py is selected) and runs beside the other
modules; test_secrets collects it at the end."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.robustness.helpers import Proc, start_cli

# Fake, but shaped like the real thing; long and distinctive, so any copy of them is found.
SECRETS = {
    "HF_TOKEN": "hf_RobustnessFakeTokenDoNotLeak0123456789",
    "KAGGLE_USERNAME": "robustness-fake-user",
    "KAGGLE_KEY": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",  # 32 hex, like a Kaggle API key
}


class DemoRun:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.out = root / "demo"
        self.proc: Proc | None = None

    def start(self) -> None:
        if self.proc is None:
            self.proc = start_cli("demo", "--out", str(self.out), cwd=self.root, log=self.root / "logs" / "demo",
                                  env=dict(SECRETS))

    def result(self, timeout: float = 900) -> subprocess.CompletedProcess:
        self.start()
        assert self.proc is not None
        return self.proc.finish(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    run = DemoRun(tmp_path_factory.mktemp("secrets"))
    yield run
    run.stop()  # only if still running (a failed or interrupted session)


@pytest.fixture(scope="session", autouse=True)
def _start_demo_early(request: pytest.FixtureRequest) -> None:
    if any(item.path.name == "test_secrets.py" for item in request.session.items):
        request.getfixturevalue("demo_run").start()


@pytest.fixture(scope="session")
def pipeline_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Kaggle physio + VIRI samples through every stage (tests/robustness/workspace.py); copy it
    before changing anything."""
    from tests.robustness import workspace

    return workspace.build(tmp_path_factory.mktemp("pipeline") / "ws")
