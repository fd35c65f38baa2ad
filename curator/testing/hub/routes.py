"""The Hub stand-in's HTTP API: one handler per route the huggingface_hub client calls."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from curator.testing.hub.store import (
    DATE,
    GITATTRIBUTES,
    USER,
    Commit,
    HttpError,
    HubStub,
    StoredFile,
    commit_sha,
    wants_lfs,
)
from curator.testing.ranges import Unsatisfiable, byte_range

# ------------------------------------------------------------------------- handlers
# Each handler gets (hub, request) and returns (status, body, headers); body is bytes or JSON-able.

Reply = tuple[int, Any, dict[str, str]]


@dataclass
class Request:
    params: dict[str, str]  # route groups, already unquoted
    query: dict[str, str]
    body: bytes
    auth: str
    headers: Any

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            raise HttpError(400, "request body is not JSON") from None

    @property
    def repo_id(self) -> str:
        return f"{self.params['owner']}/{self.params['name']}"


def _whoami(hub: HubStub, req: Request) -> Reply:
    # the real Hub answers 401 for a missing token here; an invalid one is refused earlier
    if req.auth != "valid":
        raise HttpError(401, "You must be authenticated to access this resource")
    user = {"type": "user", "id": "0" * 24, "name": USER, "fullname": "Stub User", "orgs": [],
            "auth": {"type": "access_token", "accessToken": {"displayName": "stub", "role": "write"}}}
    return 200, user, {}


def _agent_harnesses(hub: HubStub, req: Request) -> Reply:
    # fetched by the client's user-agent builder unless telemetry is off: keep it on loopback
    return 200, {"standardEnvVars": [], "harnesses": {}}, {}


def _validate_yaml(hub: HubStub, req: Request) -> Reply:
    content = str(req.json().get("content", ""))
    match = re.match(r"---\r?\n(.*?)\r?\n---", content, re.S)
    try:
        meta = yaml.safe_load(match.group(1)) if match else {}
    except yaml.YAMLError as exc:
        return 400, {"errors": [{"message": f"invalid YAML: {exc}"}], "warnings": []}, {}
    if meta is not None and not isinstance(meta, dict):
        return 400, {"errors": [{"message": "metadata must be a YAML mapping"}], "warnings": []}, {}
    return 200, {"errors": [], "warnings": []}, {}


def _create_repo(hub: HubStub, req: Request) -> Reply:
    if req.auth != "valid":
        raise HttpError(401, "You must be authenticated to create a repo")
    payload = req.json()
    if payload.get("type") != "dataset":
        raise HttpError(400, "this Hub stand-in only hosts dataset repos")
    repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
    url = f"{hub.url}/datasets/{repo_id}"
    if repo_id in hub._repos:
        return 409, {"error": "You already created this dataset repo", "url": url}, {}
    private = bool(payload.get("private")) or payload.get("visibility") == "private"
    hub._add_repo(repo_id, private=private, files={".gitattributes": GITATTRIBUTES}, summary="initial commit")
    return 200, {"url": url, "name": repo_id, "id": hashlib.sha1(repo_id.encode()).hexdigest()[:24]}, {}


def _repo_info(hub: HubStub, req: Request) -> Reply:
    repo = hub._repo(req.repo_id, req.auth)
    sha = hub._rev(repo, req.params.get("rev") or "main")
    files = repo.snapshots[sha]
    blobs = req.query.get("blobs", "").lower() in ("1", "true")
    siblings = [_sibling(path, files[path], blobs) for path in sorted(files)]
    info = {"id": req.repo_id, "author": req.params["owner"], "sha": sha, "private": repo.private, "gated": False,
            "disabled": False, "downloads": 0, "likes": 0, "tags": [], "createdAt": DATE, "lastModified": DATE,
            "siblings": siblings}
    return 200, info, {}


def _sibling(path: str, f: StoredFile, blobs: bool) -> dict[str, Any]:
    if not blobs:
        return {"rfilename": path}
    lfs = {"size": len(f.content), "sha256": f.sha256, "pointerSize": len(f.pointer)} if f.lfs else None
    return {"rfilename": path, "size": len(f.content), "blobId": f.git_oid, "lfs": lfs}


def _tree(hub: HubStub, req: Request) -> Reply:
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


def _tree_file(path: str, f: StoredFile) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "oid": f.git_oid, "size": len(f.content), "path": path}
    if f.lfs:
        entry["lfs"] = {"oid": f.sha256, "size": len(f.content), "pointerSize": len(f.pointer)}
    return entry


def _refs(hub: HubStub, req: Request) -> Reply:
    repo = hub._repo(req.repo_id, req.auth)
    branches = [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": s} for b, s in sorted(repo.branches.items())]
    return 200, {"branches": branches, "tags": [], "converts": [], "pullRequests": []}, {}


def _preupload(hub: HubStub, req: Request) -> Reply:
    repo = hub._repo(req.repo_id, req.auth, write=True)
    sha = hub._rev(repo, req.params["rev"])
    current = repo.snapshots[sha]
    files = []
    for item in req.json().get("files", []):
        path, size = item["path"], int(item["size"])
        sample = base64.b64decode(item.get("sample", ""))
        existing = current.get(path)
        files.append({"path": path, "uploadMode": "lfs" if wants_lfs(path, sample, size) else "regular",
                      "shouldIgnore": False, "oid": existing.remote_oid if existing else None})
    return 200, {"files": files, "commitOid": sha}, {}


def _lfs_batch(hub: HubStub, req: Request) -> Reply:
    hub._repo(req.repo_id, req.auth, write=True)
    payload = req.json()
    if payload.get("operation") != "upload":
        raise HttpError(400, "this Hub stand-in only accepts LFS uploads")
    verify = f"{hub.url}/datasets/{req.repo_id}.git/info/lfs/objects/verify"
    objects = []
    for obj in payload.get("objects", []):
        oid, size = obj["oid"], int(obj["size"])
        out: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
        if len(hub._lfs.get(oid, b"")) != size:  # already stored objects get no action (resumed uploads)
            out["actions"] = {"upload": {"href": f"{hub.cdn_url}/lfs-upload/{oid}"}, "verify": {"href": verify}}
        objects.append(out)
    return 200, {"transfer": "basic", "objects": objects}, {"Content-Type": "application/vnd.git-lfs+json"}


def _lfs_put(hub: HubStub, req: Request) -> Reply:
    oid = req.params["oid"]
    digest = hashlib.sha256(req.body).hexdigest()
    if digest != oid:
        raise HttpError(400, f"content sha256 {digest} does not match {oid}")
    hub._lfs[oid] = req.body
    return 200, b"", {"ETag": f'"{hashlib.md5(req.body).hexdigest()}"'}


def _lfs_verify(hub: HubStub, req: Request) -> Reply:
    hub._repo(req.repo_id, req.auth, write=True)
    payload = req.json()
    if len(hub._lfs.get(payload.get("oid", ""), b"")) != int(payload.get("size", -1)):
        raise HttpError(404, f"LFS object {payload.get('oid')} was not uploaded")
    return 200, {}, {}


def _create_branch(hub: HubStub, req: Request) -> Reply:
    repo = hub._repo(req.repo_id, req.auth, write=True)
    branch = req.params["branch"]
    if branch in repo.branches:
        return 409, {"error": "Reference already exists"}, {}
    repo.branches[branch] = hub._rev(repo, req.json().get("startingPoint") or "main")
    return 200, {}, {}


def _commit(hub: HubStub, req: Request) -> Reply:
    repo = hub._repo(req.repo_id, req.auth, write=True)
    branch = req.params["rev"]
    if req.query.get("create_pr"):
        raise HttpError(400, "this Hub stand-in does not do pull requests")
    if branch not in repo.branches:
        raise HttpError(404, f"Invalid rev id: {branch} is not a branch", "RevisionNotFound")
    parent = repo.branches[branch]
    tree = dict(repo.snapshots[parent])
    lines = [json.loads(line) for line in req.body.decode().splitlines() if line.strip()]
    header = next((item["value"] for item in lines if item["key"] == "header"), {})
    if header.get("parentCommit") not in (None, parent):
        raise HttpError(412, "A commit has happened since. Please refresh and try again.")
    changed = [path for item in lines if item["key"] != "header" for path in _apply(hub, tree, item)]
    sha = commit_sha(parent, str(header.get("summary", "")), tree)
    repo.snapshots[sha] = tree
    repo.branches[branch] = sha
    hub.commits.append(Commit(req.repo_id, branch, sha, changed))
    url = f"{hub.url}/datasets/{req.repo_id}/commit/{sha}"
    return 200, {"success": True, "commitOid": sha, "commitUrl": url, "hookOutput": "", "pullRequestUrl": None}, {}


def _apply(hub: HubStub, tree: dict[str, StoredFile], item: dict[str, Any]) -> list[str]:
    """Apply one NDJSON commit operation to `tree`; returns the paths added or changed."""
    key, value = item["key"], item["value"]
    path = value["path"]
    if key == "file":
        tree[path] = StoredFile(base64.b64decode(value["content"]), lfs=False)
    elif key == "lfsFile":
        content = hub._lfs.get(value["oid"])
        if content is None:
            raise HttpError(422, f"LFS object {value['oid']} for {path} was never uploaded")
        tree[path] = StoredFile(content, lfs=True)
    elif key == "deletedFile":
        if tree.pop(path, None) is None:
            raise HttpError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
        return []
    elif key == "deletedFolder":
        for gone in [p for p in tree if p.startswith(path.rstrip("/") + "/")]:
            del tree[gone]
        return []
    else:
        raise HttpError(400, f"unsupported commit operation {key!r}")
    return [path]


def _resolve(hub: HubStub, req: Request) -> Reply:
    repo = hub._repo(req.repo_id, req.auth)
    sha = hub._rev(repo, req.params["rev"])
    f = repo.snapshots[sha].get(req.params["path"])
    if f is None:
        raise HttpError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": sha})
    headers = {"X-Repo-Commit": sha, "ETag": f'"{f.git_oid}"'}
    if f.lfs:
        # like the Hub: redirect LFS files to the storage origin, metadata in X-Linked-* headers
        headers.update({"Location": f"{hub.cdn_url}/lfs-objects/{f.sha256}", "X-Linked-Etag": f'"{f.sha256}"',
                        "X-Linked-Size": str(len(f.content))})
        return 302, b"", headers
    return _content(f.content, req, headers)


def _lfs_object(hub: HubStub, req: Request) -> Reply:
    content = hub._lfs.get(req.params["oid"])
    if content is None:
        raise HttpError(404, "no such object")
    return _content(content, req, {"ETag": f'"{req.params["oid"]}"'})


def _content(content: bytes, req: Request, headers: dict[str, str]) -> Reply:
    """200 with the bytes, or 206 for a single `Range: bytes=a-b` (HfFileSystem reads ranges)."""
    headers = {**headers, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
    if not content:
        return 200, content, headers
    try:
        wanted = byte_range(req.headers.get("Range"), len(content))
    except Unsatisfiable as exc:
        raise HttpError(416, "range not satisfiable", headers={"Content-Range": str(exc)}) from None
    if wanted is None:
        return 200, content, headers
    start, end = wanted
    return 206, content[start:end], {**headers, "Content-Range": f"bytes {start}-{end - 1}/{len(content)}"}


def _no_xet(hub: HubStub, req: Request) -> Reply:
    raise HttpError(400, "Xet is not implemented by this Hub stand-in: run the client with HF_HUB_DISABLE_XET=1")


_REPO = r"(?P<owner>[^/]+)/(?P<name>[^/]+?)"
_API = rf"/api/datasets/{_REPO}"
Handler = Callable[[HubStub, Request], Reply]
HUB_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
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
CDN_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("PUT", re.compile(r"/lfs-upload/(?P<oid>[0-9a-f]{64})"), _lfs_put),
    ("GET|HEAD", re.compile(r"/lfs-objects/(?P<oid>[0-9a-f]{64})"), _lfs_object),
]


def error_reply(exc: HttpError) -> Reply:
    headers = {"X-Error-Message": exc.message, **exc.headers}
    if exc.code:
        headers["X-Error-Code"] = exc.code
    return exc.status, {"error": exc.message}, headers


