"""A loopback stand-in for the Hugging Face Hub, for tests and offline demos.

The REAL huggingface_hub client (2.4) runs against it when pointed at `HubStub.url`:

    with serve_hub(root) as hub, hub.client_env(tmp_path / "hf-home"):
        HfApi().upload_folder(...)           # or curator.stages.push.push(...)
        snapshot_download("owner/name", repo_type="dataset", revision=hub.sha("owner/name"))

`root/<owner>/<name>/` seeds one dataset repo per folder, committed on `main` at a sha that
only depends on the files. Only dataset repos exist. Uploads go through the git-LFS protocol:
the client picks Xet by itself whenever `hf_xet` is installed (no server negotiation), so the
client must run with HF_HUB_DISABLE_XET=1 (`client_env` does it); Xet endpoints answer 400.
Downloads never use Xet because nothing here advertises it (no X-Xet-Hash, no xetHash).

LFS objects live on a second server on another port (a different origin, like the CDN / S3 of
the real Hub), so the client strips the Authorization header there, exactly as in production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from curator.testing.ranges import Unsatisfiable, byte_range

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
class _File:
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
    snapshots: dict[str, dict[str, _File]] = field(default_factory=dict)  # sha -> path -> file

    def resolve(self, rev: str) -> str | None:
        sha = self.branches.get(rev, rev)
        return sha if sha in self.snapshots else None


def _wants_lfs(path: str, sample: bytes, size: int) -> bool:
    return size >= LFS_MIN_SIZE or path.lower().endswith(LFS_SUFFIXES) or b"\0" in sample


def _commit_sha(parent: str, summary: str, files: dict[str, _File]) -> str:
    """Deterministic fake sha: same parent, message and tree -> same sha, run after run."""
    h = hashlib.sha1(f"{parent}\n{summary}\n".encode())
    for path in sorted(files):
        h.update(f"{path}\0{files[path].git_oid}\n".encode())
    return h.hexdigest()


class _HttpError(Exception):
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
        tree = {p: _File(c, _wants_lfs(p, c[:512], len(c))) for p, c in files.items()}
        for f in tree.values():
            if f.lfs:
                self._lfs[f.sha256] = f.content
        sha = _commit_sha("", summary, tree)
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
            raise _HttpError(401, "You must be authenticated to write to this repo")
        repo = self._repos.get(repo_id)
        if repo is None or (repo.private and auth != "valid"):
            raise _HttpError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    @staticmethod
    def _rev(repo: _Repo, rev: str) -> str:
        sha = repo.resolve(rev)
        if sha is None:
            raise _HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return sha


# ------------------------------------------------------------------------- handlers
# Each handler gets (hub, request) and returns (status, body, headers); body is bytes or JSON-able.

Reply = tuple[int, Any, dict[str, str]]


@dataclass
class _Request:
    params: dict[str, str]  # route groups, already unquoted
    query: dict[str, str]
    body: bytes
    auth: str
    headers: Any

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            raise _HttpError(400, "request body is not JSON") from None

    @property
    def repo_id(self) -> str:
        return f"{self.params['owner']}/{self.params['name']}"


def _whoami(hub: HubStub, req: _Request) -> Reply:
    # the real Hub answers 401 for a missing token here; an invalid one is refused earlier
    if req.auth != "valid":
        raise _HttpError(401, "You must be authenticated to access this resource")
    user = {"type": "user", "id": "0" * 24, "name": USER, "fullname": "Stub User", "orgs": [],
            "auth": {"type": "access_token", "accessToken": {"displayName": "stub", "role": "write"}}}
    return 200, user, {}


def _agent_harnesses(hub: HubStub, req: _Request) -> Reply:
    # fetched by the client's user-agent builder unless telemetry is off: keep it on loopback
    return 200, {"standardEnvVars": [], "harnesses": {}}, {}


def _validate_yaml(hub: HubStub, req: _Request) -> Reply:
    content = str(req.json().get("content", ""))
    match = re.match(r"---\r?\n(.*?)\r?\n---", content, re.S)
    try:
        meta = yaml.safe_load(match.group(1)) if match else {}
    except yaml.YAMLError as exc:
        return 400, {"errors": [{"message": f"invalid YAML: {exc}"}], "warnings": []}, {}
    if meta is not None and not isinstance(meta, dict):
        return 400, {"errors": [{"message": "metadata must be a YAML mapping"}], "warnings": []}, {}
    return 200, {"errors": [], "warnings": []}, {}


def _create_repo(hub: HubStub, req: _Request) -> Reply:
    if req.auth != "valid":
        raise _HttpError(401, "You must be authenticated to create a repo")
    payload = req.json()
    if payload.get("type") != "dataset":
        raise _HttpError(400, "this Hub stand-in only hosts dataset repos")
    repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
    url = f"{hub.url}/datasets/{repo_id}"
    if repo_id in hub._repos:
        return 409, {"error": "You already created this dataset repo", "url": url}, {}
    private = bool(payload.get("private")) or payload.get("visibility") == "private"
    hub._add_repo(repo_id, private=private, files={".gitattributes": GITATTRIBUTES}, summary="initial commit")
    return 200, {"url": url, "name": repo_id, "id": hashlib.sha1(repo_id.encode()).hexdigest()[:24]}, {}


def _repo_info(hub: HubStub, req: _Request) -> Reply:
    repo = hub._repo(req.repo_id, req.auth)
    sha = hub._rev(repo, req.params.get("rev") or "main")
    files = repo.snapshots[sha]
    blobs = req.query.get("blobs", "").lower() in ("1", "true")
    siblings = [_sibling(path, files[path], blobs) for path in sorted(files)]
    info = {"id": req.repo_id, "author": req.params["owner"], "sha": sha, "private": repo.private, "gated": False,
            "disabled": False, "downloads": 0, "likes": 0, "tags": [], "createdAt": DATE, "lastModified": DATE,
            "siblings": siblings}
    return 200, info, {}


def _sibling(path: str, f: _File, blobs: bool) -> dict[str, Any]:
    if not blobs:
        return {"rfilename": path}
    lfs = {"size": len(f.content), "sha256": f.sha256, "pointerSize": len(f.pointer)} if f.lfs else None
    return {"rfilename": path, "size": len(f.content), "blobId": f.git_oid, "lfs": lfs}


def _tree(hub: HubStub, req: _Request) -> Reply:
    repo = hub._repo(req.repo_id, req.auth)
    sha = hub._rev(repo, req.params["rev"])
    base = (req.params.get("path") or "").strip("/")
    recursive = req.query.get("recursive", "").lower() in ("1", "true")
    entries: dict[str, dict[str, Any]] = {}
    for path, f in sorted(repo.snapshots[sha].items()):
        if base and not path.startswith(base + "/"):
            continue
        parts = path[len(base) + 1 if base else 0:].split("/")
        prefix = f"{base}/" if base else ""
        # every folder on the way is listed (recursive) or only the first one (non-recursive)
        for depth in range(1, len(parts) if recursive else min(len(parts), 2)):
            folder = prefix + "/".join(parts[:depth])
            entries.setdefault(folder, {"type": "directory", "oid": hashlib.sha1(folder.encode()).hexdigest(),
                                        "size": 0, "path": folder})
        if recursive or len(parts) == 1:
            entries[path] = _tree_file(path, f)
    return 200, list(entries.values()), {}


def _tree_file(path: str, f: _File) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "oid": f.git_oid, "size": len(f.content), "path": path}
    if f.lfs:
        entry["lfs"] = {"oid": f.sha256, "size": len(f.content), "pointerSize": len(f.pointer)}
    return entry


def _refs(hub: HubStub, req: _Request) -> Reply:
    repo = hub._repo(req.repo_id, req.auth)
    branches = [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": s} for b, s in sorted(repo.branches.items())]
    return 200, {"branches": branches, "tags": [], "converts": [], "pullRequests": []}, {}


def _preupload(hub: HubStub, req: _Request) -> Reply:
    repo = hub._repo(req.repo_id, req.auth, write=True)
    sha = hub._rev(repo, req.params["rev"])
    current = repo.snapshots[sha]
    files = []
    for item in req.json().get("files", []):
        path, size = item["path"], int(item["size"])
        sample = base64.b64decode(item.get("sample", ""))
        existing = current.get(path)
        files.append({"path": path, "uploadMode": "lfs" if _wants_lfs(path, sample, size) else "regular",
                      "shouldIgnore": False, "oid": existing.remote_oid if existing else None})
    return 200, {"files": files, "commitOid": sha}, {}


def _lfs_batch(hub: HubStub, req: _Request) -> Reply:
    hub._repo(req.repo_id, req.auth, write=True)
    payload = req.json()
    if payload.get("operation") != "upload":
        raise _HttpError(400, "this Hub stand-in only accepts LFS uploads")
    verify = f"{hub.url}/datasets/{req.repo_id}.git/info/lfs/objects/verify"
    objects = []
    for obj in payload.get("objects", []):
        oid, size = obj["oid"], int(obj["size"])
        out: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
        if len(hub._lfs.get(oid, b"")) != size:  # already stored objects get no action (resumed uploads)
            out["actions"] = {"upload": {"href": f"{hub.cdn_url}/lfs-upload/{oid}"}, "verify": {"href": verify}}
        objects.append(out)
    return 200, {"transfer": "basic", "objects": objects}, {"Content-Type": "application/vnd.git-lfs+json"}


def _lfs_put(hub: HubStub, req: _Request) -> Reply:
    oid = req.params["oid"]
    digest = hashlib.sha256(req.body).hexdigest()
    if digest != oid:
        raise _HttpError(400, f"content sha256 {digest} does not match {oid}")
    hub._lfs[oid] = req.body
    return 200, b"", {"ETag": f'"{hashlib.md5(req.body).hexdigest()}"'}


def _lfs_verify(hub: HubStub, req: _Request) -> Reply:
    hub._repo(req.repo_id, req.auth, write=True)
    payload = req.json()
    if len(hub._lfs.get(payload.get("oid", ""), b"")) != int(payload.get("size", -1)):
        raise _HttpError(404, f"LFS object {payload.get('oid')} was not uploaded")
    return 200, {}, {}


def _create_branch(hub: HubStub, req: _Request) -> Reply:
    repo = hub._repo(req.repo_id, req.auth, write=True)
    branch = req.params["branch"]
    if branch in repo.branches:
        return 409, {"error": "Reference already exists"}, {}
    repo.branches[branch] = hub._rev(repo, req.json().get("startingPoint") or "main")
    return 200, {}, {}


def _commit(hub: HubStub, req: _Request) -> Reply:
    repo = hub._repo(req.repo_id, req.auth, write=True)
    branch = req.params["rev"]
    if req.query.get("create_pr"):
        raise _HttpError(400, "this Hub stand-in does not do pull requests")
    if branch not in repo.branches:
        raise _HttpError(404, f"Invalid rev id: {branch} is not a branch", "RevisionNotFound")
    parent = repo.branches[branch]
    tree = dict(repo.snapshots[parent])
    lines = [json.loads(line) for line in req.body.decode().splitlines() if line.strip()]
    header = next((item["value"] for item in lines if item["key"] == "header"), {})
    if header.get("parentCommit") not in (None, parent):
        raise _HttpError(412, "A commit has happened since. Please refresh and try again.")
    changed = [path for item in lines if item["key"] != "header" for path in _apply(hub, tree, item)]
    sha = _commit_sha(parent, str(header.get("summary", "")), tree)
    repo.snapshots[sha] = tree
    repo.branches[branch] = sha
    hub.commits.append(Commit(req.repo_id, branch, sha, changed))
    url = f"{hub.url}/datasets/{req.repo_id}/commit/{sha}"
    return 200, {"success": True, "commitOid": sha, "commitUrl": url, "hookOutput": "", "pullRequestUrl": None}, {}


def _apply(hub: HubStub, tree: dict[str, _File], item: dict[str, Any]) -> list[str]:
    """Apply one NDJSON commit operation to `tree`; returns the paths added or changed."""
    key, value = item["key"], item["value"]
    path = value["path"]
    if key == "file":
        tree[path] = _File(base64.b64decode(value["content"]), lfs=False)
    elif key == "lfsFile":
        content = hub._lfs.get(value["oid"])
        if content is None:
            raise _HttpError(422, f"LFS object {value['oid']} for {path} was never uploaded")
        tree[path] = _File(content, lfs=True)
    elif key == "deletedFile":
        if tree.pop(path, None) is None:
            raise _HttpError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
        return []
    elif key == "deletedFolder":
        for gone in [p for p in tree if p.startswith(path.rstrip("/") + "/")]:
            del tree[gone]
        return []
    else:
        raise _HttpError(400, f"unsupported commit operation {key!r}")
    return [path]


def _resolve(hub: HubStub, req: _Request) -> Reply:
    repo = hub._repo(req.repo_id, req.auth)
    sha = hub._rev(repo, req.params["rev"])
    f = repo.snapshots[sha].get(req.params["path"])
    if f is None:
        raise _HttpError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": sha})
    headers = {"X-Repo-Commit": sha, "ETag": f'"{f.git_oid}"'}
    if f.lfs:
        # like the Hub: redirect LFS files to the storage origin, metadata in X-Linked-* headers
        headers.update({"Location": f"{hub.cdn_url}/lfs-objects/{f.sha256}", "X-Linked-Etag": f'"{f.sha256}"',
                        "X-Linked-Size": str(len(f.content))})
        return 302, b"", headers
    return _content(f.content, req, headers)


def _lfs_object(hub: HubStub, req: _Request) -> Reply:
    content = hub._lfs.get(req.params["oid"])
    if content is None:
        raise _HttpError(404, "no such object")
    return _content(content, req, {"ETag": f'"{req.params["oid"]}"'})


def _content(content: bytes, req: _Request, headers: dict[str, str]) -> Reply:
    """200 with the bytes, or 206 for a single `Range: bytes=a-b` (HfFileSystem reads ranges)."""
    headers = {**headers, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
    if not content:
        return 200, content, headers
    try:
        wanted = byte_range(req.headers.get("Range"), len(content))
    except Unsatisfiable as exc:
        raise _HttpError(416, "range not satisfiable", headers={"Content-Range": str(exc)}) from None
    if wanted is None:
        return 200, content, headers
    start, end = wanted
    return 206, content[start:end], {**headers, "Content-Range": f"bytes {start}-{end - 1}/{len(content)}"}


def _no_xet(hub: HubStub, req: _Request) -> Reply:
    raise _HttpError(400, "Xet is not implemented by this Hub stand-in: run the client with HF_HUB_DISABLE_XET=1")


_REPO = r"(?P<owner>[^/]+)/(?P<name>[^/]+?)"
_API = rf"/api/datasets/{_REPO}"
Handler = Callable[[HubStub, _Request], Reply]
_HUB_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (m, re.compile(p), h) for m, p, h in [
        ("GET", r"/api/whoami-v2", _whoami),
        ("GET", r"/api/agent-harnesses", _agent_harnesses),
        ("POST", r"/api/validate-yaml", _validate_yaml),
        ("POST", r"/api/repos/create", _create_repo),
        ("GET", rf"{_API}", _repo_info),
        ("GET", rf"{_API}/revision/(?P<rev>[^/]+)", _repo_info),
        ("GET", rf"{_API}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", _tree),
        ("GET", rf"{_API}/refs", _refs),
        ("POST", rf"{_API}/preupload/(?P<rev>[^/]+)", _preupload),
        ("POST", rf"{_API}/commit/(?P<rev>[^/]+)", _commit),
        ("POST", rf"{_API}/branch/(?P<branch>[^/]+)", _create_branch),
        ("*", rf"{_API}/xet-[a-z-]+(?:/.*)?", _no_xet),
        ("POST", rf"/datasets/{_REPO}\.git/info/lfs/objects/batch", _lfs_batch),
        ("POST", rf"/datasets/{_REPO}\.git/info/lfs/objects/verify", _lfs_verify),
        ("GET|HEAD", rf"/datasets/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", _resolve),
    ]
]
_CDN_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("PUT", re.compile(r"/lfs-upload/(?P<oid>[0-9a-f]{64})"), _lfs_put),
    ("GET|HEAD", re.compile(r"/lfs-objects/(?P<oid>[0-9a-f]{64})"), _lfs_object),
]


def _error_reply(exc: _HttpError) -> Reply:
    headers = {"X-Error-Message": exc.message, **exc.headers}
    if exc.code:
        headers["X-Error-Code"] = exc.code
    return exc.status, {"error": exc.message}, headers


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the client expects; every reply sets Content-Length
    timeout = 30  # idle keep-alive connections end on their own
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # silent: the stub keeps its own (method, path) log, with no header values

    def _handle(self) -> None:
        hub = self.server.hub
        split = urlsplit(self.path)
        try:
            body = self._body()
            with hub._lock:
                hub.requests.append((self.command, split.path))
                if len(hub.requests) > hub.max_requests:
                    raise _HttpError(400, f"Hub stand-in request budget exhausted ({hub.max_requests})")
                status, payload, headers = self._dispatch(hub, split.path, split.query, body)
        except _HttpError as exc:
            status, payload, headers = _error_reply(exc)
        except (KeyError, TypeError, ValueError) as exc:  # malformed request: a 400 fails fast, a 5xx is retried
            status, payload, headers = _error_reply(_HttpError(400, f"the Hub stand-in cannot parse this: {exc!r}"))
        self._reply(status, payload, headers)

    def _dispatch(self, hub: HubStub, path: str, query: str, body: bytes) -> Reply:
        auth = "valid" if self.server.is_cdn else hub._auth(self.headers.get("Authorization"))
        if auth == "invalid":  # the Hub refuses a wrong token everywhere, even on public reads
            raise _HttpError(401, INVALID_TOKEN)
        routes = _CDN_ROUTES if self.server.is_cdn else _HUB_ROUTES
        for method, pattern, handler in routes:
            match = pattern.fullmatch(path)
            if match and (method == "*" or self.command in method.split("|")):
                params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
                flat_query = {k: v[-1] for k, v in parse_qs(query).items()}
                return handler(hub, _Request(params, flat_query, body, auth, self.headers))
        raise _HttpError(404, f"no such endpoint: {self.command} {path}")

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._chunked_body()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise _HttpError(413, "request body too large for the Hub stand-in")
        return self.rfile.read(length) if length else b""

    def _chunked_body(self) -> bytes:
        chunks, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise _HttpError(413, "request body too large for the Hub stand-in")
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _reply(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        if not isinstance(payload, bytes):
            headers = {"Content-Type": "application/json", **headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, hub: HubStub, *, is_cdn: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hub, self.is_cdn = hub, is_cdn


@contextmanager
def serve_hub(root: Path | None = None, *, token: str | None = "hf_test_token",
              max_requests: int = 2000) -> Iterator[HubStub]:
    """Serve a stand-in Hub on 127.0.0.1 (random ports) for the duration of the block.

    `root/<owner>/<name>/` folders become public dataset repos. `token=None` accepts any caller.
    Past `max_requests` every request gets a 400, so a runaway client cannot loop forever.
    """
    hub = HubStub(token, max_requests)
    if root is not None:
        hub.seed(Path(root))
    servers = [_Server(hub, is_cdn=False), _Server(hub, is_cdn=True)]
    hub.url, hub.cdn_url = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, name="hubstub", daemon=True)
               for s in servers]
    for t in threads:
        t.start()
    try:
        yield hub
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


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
