"""A Ray address is checked before Ray is asked to join it: a malformed one or a head that does not
answer is one line within seconds (Ray alone retried an unreachable head for minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.pipeline.executor import RAY_CONNECT_TIMEOUT_S, check_ray_address
from curator.sources import recipe_samples
from tests.conftest import run_cli

pytest.importorskip("ray")


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kaggle")
    recipe_samples("kaggle_physio").build(out, seed=0, dirty=False)
    return out


@pytest.mark.parametrize(("address", "message"), [
    ("not an address", "Ray address 'not an address' is not HOST:PORT"),
    ("127.0.0.1:99999", "is not HOST:PORT"),
    ("ray://127.0.0.1", "is not HOST:PORT"),
    ("127.0.0.1:1", f"no Ray cluster answers at 127.0.0.1:1 (Connection refused, waited at most "
                    f"{RAY_CONNECT_TIMEOUT_S:g} s)"),
])
def test_a_bad_ray_address_is_one_line(raw: Path, tmp_path: Path, address: str, message: str) -> None:
    proc = run_cli("prepare", "kaggle_physio", "--raw", str(raw), "--out", str(tmp_path / "out"),
                   "--executor", "ray", "--ray-address", address, check=False, timeout=120)
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_local_and_auto_pass_through_unprobed() -> None:
    assert check_ray_address("local") == "local" and check_ray_address("auto") == "auto"


def test_a_ray_tmpdir_too_deep_for_its_sockets_is_one_line(raw: Path, tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)  # Ray's socket paths under it exceed a Unix socket's 107 bytes
    deep.mkdir(parents=True)
    proc = run_cli("prepare", "kaggle_physio", "--raw", str(raw), "--out", str(tmp_path / "out"),
                   "--executor", "ray", check=False, timeout=300, env={"RAY_TMPDIR": str(deep), "RAY_ADDRESS": ""})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    last = proc.stderr.strip().splitlines()[-1]  # Ray's own start-up warning may come before it
    assert last.startswith("error: Ray cannot start") and last.endswith("set RAY_TMPDIR to a short folder"), last
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()
