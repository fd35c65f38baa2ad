"""The Hub stand-in's state: repos, commits, files, LFS objects and tokens."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

USER = "stub-user"
DATE = "2024-01-01T00:00:00.000Z"
MAX_BODY = 1 << 30
# what the real Hub routes to LFS: binary samples, big files, and the default .gitattributes patterns
LFS_MIN_SIZE = 10 * 1024 * 1024
LFS_SUFFIXES = (".parquet", ".arrow", ".bin", ".zip", ".gz", ".tar", ".7z", ".npy", ".npz", ".png", ".jpg", ".jpeg",
                ".webp", ".mp4", ".wav", ".safetensors", ".pt", ".onnx")
GITATTRIBUTES = "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in LFS_SUFFIXES).encode()
INVALID_TOKEN = "Invalid credentials in Authorization header"


class Commit(NamedTuple):
    repo_id: str
    branch: str
    sha: str
    paths: list[str]  # files added or changed by this commit


@dataclass
class StoredFile:
    content: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def pointer(self) -> bytes:
        spec = "version https://git-lfs.github.com/spec/v1"
        return f"{spec}\noid sha256:{self.sha256}\nsize {len(self.content)}\n".encode()

    @property
    def git_oid(self) -> str:
        blob = self.pointer if self.lfs else self.content
        return hashlib.sha1(b"blob %d\0" % len(blob) + blob).hexdigest()

    @property
    def remote_oid(self) -> str:
        """What preupload reports: the client compares it with sha256 (LFS) or the git sha1 (regular)."""
        return self.sha256 if self.lfs else self.git_oid


@dataclass
class _Repo:
    private: bool
    branches: dict[str, str] = field(default_factory=dict)  # name -> sha
    snapshots: dict[str, dict[str, StoredFile]] = field(default_factory=dict)  # sha -> path -> file

    def resolve(self, rev: str) -> str | None:
        sha = self.branches.get(rev, rev)
        return sha if sha in self.snapshots else None


def wants_lfs(path: str, sample: bytes, size: int) -> bool:
    return size >= LFS_MIN_SIZE or path.lower().endswith(LFS_SUFFIXES) or b"\0" in sample


def commit_sha(parent: str, summary: str, files: dict[str, StoredFile]) -> str:
    """Deterministic fake sha: same parent, message and tree -> same sha, run after run."""
    h = hashlib.sha1(f"{parent}\n{summary}\n".encode())
    for path in sorted(files):
        h.update(f"{path}\0{files[path].git_oid}\n".encode())
    return h.hexdigest()


class HttpError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}


class HubStub:
    """State of the stand-in Hub. Only read it from tests: `requests`, `commits`, `repo_files`, `sha`."""

    def __init__(self, token: str | None, max_requests: int) -> None:
        self.token = token
        self.max_requests = max_requests
        self.url = ""  # set once the servers are bound
        self.cdn_url = ""
        self.requests: list[tuple[str, str]] = []  # (method, path): never headers, so never a token
        self.commits: list[Commit] = []
        self._repos: dict[str, _Repo] = {}
        self._lfs: dict[str, bytes] = {}  # sha256 -> content
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- test helpers

    def repo_files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        with self._lock:
            repo = self._repos[repo_id]
            sha = repo.resolve(revision)
            if sha is None:
                raise KeyError(f"{repo_id} has no revision {revision!r}")
            return {path: f.content for path, f in repo.snapshots[sha].items()}

    def sha(self, repo_id: str, revision: str = "main") -> str:
        with self._lock:
            sha = self._repos[repo_id].resolve(revision)
        if sha is None:
            raise KeyError(f"{repo_id} has no revision {revision!r}")
        return sha

    def is_private(self, repo_id: str) -> bool:
        with self._lock:
            return self._repos[repo_id].private

    @contextmanager
    def client_env(self, hf_home: Path) -> Iterator[dict[str, str]]:
        """Point this process's huggingface_hub at the stub, with an isolated HF_HOME and no Xet.

        Sets the env vars (also yielded, for subprocesses) AND the module constants that
        huggingface_hub computed from them at import time; both are restored on exit.
        """
        with _client_env(self.url, Path(hf_home)) as env:
            yield env

    # ---------------------------------------------------------------- seeding

    def seed(self, root: Path) -> None:
        for repo_dir in sorted(p for p in Path(root).glob("*/*") if p.is_dir()):
            repo_id = f"{repo_dir.parent.name}/{repo_dir.name}"
            files = {
                p.relative_to(repo_dir).as_posix(): p.read_bytes()
                for p in sorted(repo_dir.rglob("*"))
                if p.is_file() and ".git" not in p.relative_to(repo_dir).parts
            }
            self._add_repo(repo_id, private=False, files=files, summary=f"seed {repo_id}")

    def _add_repo(self, repo_id: str, *, private: bool, files: dict[str, bytes], summary: str) -> None:
        tree = {p: StoredFile(c, wants_lfs(p, c[:512], len(c))) for p, c in files.items()}
        for f in tree.values():
            if f.lfs:
                self._lfs[f.sha256] = f.content
        sha = commit_sha("", summary, tree)
        self._repos[repo_id] = _Repo(private=private, branches={"main": sha}, snapshots={sha: tree})

    # ---------------------------------------------------------------- auth

    def _auth(self, header: str | None) -> str:
        """'valid', 'invalid' or 'missing'. An open stub (token=None) accepts anyone."""
        if self.token is None:
            return "valid"
        if not header:
            return "missing"
        given = header.removeprefix("Bearer ").strip()
        return "valid" if hmac.compare_digest(given.encode(), self.token.encode()) else "invalid"

    def _repo(self, repo_id: str, auth: str, *, write: bool = False) -> _Repo:
        if write and auth != "valid":
            raise HttpError(401, "You must be authenticated to write to this repo")
        repo = self._repos.get(repo_id)
        if repo is None or (repo.private and auth != "valid"):
            raise HttpError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    @staticmethod
    def _rev(repo: _Repo, rev: str) -> str:
        sha = repo.resolve(rev)
        if sha is None:
            raise HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return sha



# ------------------------------------------------------------------------- client side

_HOME_CONSTANTS = {  # huggingface_hub.constants attribute -> path under HF_HOME
    "HF_HOME": "", "HF_HUB_CACHE": "hub", "HUGGINGFACE_HUB_CACHE": "hub", "HF_ASSETS_CACHE": "assets",
    "HUGGINGFACE_ASSETS_CACHE": "assets", "HF_TOKEN_PATH": "token", "HF_STORED_TOKENS_PATH": "stored_tokens",
    "HF_XET_CACHE": "xet", "AGENT_HARNESSES_PATH": ".agent_harnesses.json",
    "CHECK_FOR_UPDATE_DONE_PATH": ".check_for_update_done",
    "CHECK_FOR_SKILL_UPDATE_DONE_PATH": ".check_for_skill_update_done",
}
_UNSET_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN_PATH", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE",
               "HF_XET_CACHE", "HUGGINGFACE_CO_STAGING", "HF_OIDC_RESOURCE")


@contextmanager
def _client_env(url: str, hf_home: Path) -> Iterator[dict[str, str]]:
    # huggingface_hub turns these env vars into module constants at import time, so setting the
    # env alone does nothing for an already-imported client: patch both, restore both.
    from huggingface_hub import constants, hf_api

    env = {"HF_ENDPOINT": url, "HF_HOME": str(hf_home), "HF_HUB_DISABLE_XET": "1",
           "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_UPDATE_CHECK": "1"}
    patches: dict[str, Any] = {name: str(hf_home / rel) for name, rel in _HOME_CONSTANTS.items()}
    patches.update(ENDPOINT=url, HUGGINGFACE_CO_URL_TEMPLATE=url + "/{repo_id}/resolve/{revision}/{filename}",
                   HF_HUB_OFFLINE=False, HF_HUB_DISABLE_XET=True, HF_HUB_DISABLE_TELEMETRY=True)
    saved_env = {k: os.environ.get(k) for k in (*env, *_UNSET_VARS)}
    saved_constants = {k: getattr(constants, k) for k in patches if hasattr(constants, k)}
    saved_api_endpoint = hf_api.api.endpoint  # the module-level HfApi behind huggingface_hub.whoami & co
    try:
        for k in _UNSET_VARS:
            os.environ.pop(k, None)
        os.environ.update(env)
        for k in saved_constants:
            setattr(constants, k, patches[k])
        hf_api.api.endpoint = url
        yield env
    finally:
        hf_api.api.endpoint = saved_api_endpoint
        for k, v in saved_constants.items():
            setattr(constants, k, v)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

