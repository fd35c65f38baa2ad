"""push: upload a published folder (Hugging Face layout) to a dataset repo on the Hub.

Typer-free core of `curator push DIR --repo-id OWNER/NAME [--private] [--revision BRANCH] [--dry-run]`.
The token never leaves huggingface_hub's own headers: it is scrubbed from every message we
raise, and library exceptions are re-raised as one-line CuratorErrors `from None`.

Everything is checked before the first network call, and a dry run checks the same: the folder is
a publish output, every entry push would upload is a regular file inside it (never a link that
leads out, never a FIFO that blocks), and the licence gate reads the sources of exactly those files.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curator.errors import CuratorError
from curator.io.paths import decodable, entry_kind, lstat_tree
from curator.io.secrets import redact_url, scrub
from curator.pipeline.lineage import MAKES, manifest_path
from curator.pipeline.stages import BY_NAME, META_FOLDER, REPO_PLACEHOLDER

if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger("curator.commands.push")

# fnmatch patterns, as huggingface_hub applies them (`*` also crosses `/`): bookkeeping, hidden, temp files
IGNORE_PATTERNS = (f"{META_FOLDER}/**", ".*", "*/.*", "*.tmp", "*.temp", "*.part", "*.partial", "*.incomplete", "*~")
NO_TOKEN = "no Hugging Face token: set HF_TOKEN or run `hf auth login`"
REJECTED_TOKEN = "the Hugging Face token was rejected (401)"
CARD_FILES = ("README.md", "croissant.json")  # the files that name the repo
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
MAX_MANIFEST_BYTES = 2**20
PUBLISHED = BY_NAME["publish"].makes  # the kind of output push uploads (lineage.json's "kind")


@dataclass(frozen=True)
class PushResult:
    commit: str  # "" for a dry run
    url: str
    files: list[str]


def push(
    folder: Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    dry_run: bool = False,
    redistributable_check: Callable[[list[str]], list[str]] | None = None,
) -> PushResult:
    """Upload `folder` to the dataset repo `repo_id` (created if missing) and print the commit and URL.

    `redistributable_check` gets the repo paths push would upload and returns the sources among them
    that a public repo may not hold (it may raise a CuratorError when it cannot tell)."""
    folder = Path(folder)
    _check_arguments(folder, repo_id)
    files = files_to_upload(folder)
    paths = [path for path, _ in files]
    url = f"{redact_url(hub_endpoint())}/datasets/{repo_id}"  # printed: an endpoint's credentials never are
    if dry_run:  # no token, no network: the plan, then the same licence verdict a real push would get
        _print_plan(files, url, revision, private)
        _licence_gate(paths, private, redistributable_check)
        return PushResult("", url, paths)
    _licence_gate(paths, private, redistributable_check)
    token = _token()
    with _xet_switch(), _with_repo_id(folder, repo_id, paths) as staged:
        commit = _upload(staged, repo_id, token, private=private, revision=revision, count=len(files))
    print(f"pushed {len(files)} file(s) to {url} ({revision or 'main'}): commit {commit}")
    return PushResult(commit, url, paths)


def files_to_upload(folder: Path) -> list[tuple[str, int]]:
    """(repo path, size) of every file push uploads, filtered exactly as upload_folder filters them.

    Each entry that filter keeps must be a regular file or a folder: a symbolic link (upload_folder
    follows it and would upload what it points at, inside the folder or not), a FIFO (reading it
    blocks), a socket or a device is refused by name. Entries the filter leaves out are never read."""
    from huggingface_hub.utils import filter_repo_objects

    entries = {}
    for path, info in lstat_tree(folder):
        if isinstance(info, OSError):
            raise CuratorError(f"cannot read {folder / path}: {info.strerror or info}")
        entries[path] = info
    files = []
    for path in filter_repo_objects(sorted(entries), ignore_patterns=list(IGNORE_PATTERNS)):
        mode = entries[path].st_mode
        if stat.S_ISDIR(mode):
            continue
        if not stat.S_ISREG(mode):
            raise CuratorError(f"refusing to push {folder}: {shown(path)} is {entry_kind(mode)}; push uploads "
                               "only regular files inside the folder (replace it by a copy of the file, or remove it)")
        if not path.isprintable() or not decodable(path):  # the Hub's paths are UTF-8; a message must stay one line
            raise CuratorError(f"refusing to push {folder}: the file name {shown(path)} is not printable UTF-8"
                               " text; rename it")
        files.append((path, entries[path].st_size))
    return files


def shown(text: str, limit: int = 80) -> str:
    """`text` as a message quotes what a user or a file gave: on one line, control characters escaped,
    at most `limit` characters."""
    quoted = repr(text)
    return quoted if len(quoted) <= limit else f"{quoted[:limit - 4]}...{quoted[0]}"


def hub_endpoint() -> str:
    """HF_ENDPOINT as set now (huggingface_hub only reads it at import), else the library's default."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


# ---------------------------------------------------------------------------- local checks


def _check_arguments(folder: Path, repo_id: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not _REPO_ID.fullmatch(repo_id):
        raise CuratorError(f"--repo-id must look like OWNER/NAME, got {shown(repo_id)}")
    try:  # the Hub's own rules (no `--` or `..`, at most 96 characters...): a dry run must not pass what it refuses
        validate_repo_id(repo_id)
    except HFValidationError as exc:  # its rule, without the whole value it quotes again
        rule = str(exc).splitlines()[0].replace(f": '{repo_id}'", "").replace(f"'{repo_id}'", "it")
        raise CuratorError(f"--repo-id {shown(repo_id)} is refused by the Hub: {rule}") from None
    if not folder.is_dir():
        raise CuratorError(f"{folder} is not a folder; run `curator publish` first")
    if not (folder / "README.md").is_file():
        raise CuratorError(f"{folder} has no README.md (dataset card); run `curator publish` first")
    _check_published(folder)


def _check_published(folder: Path) -> None:
    """Only what `curator publish` wrote goes up: a project checkout or a stage's data folder has a
    README.md too, and push would upload all of it."""
    path = manifest_path(folder, PUBLISHED)
    shown_path = path.relative_to(folder).as_posix()
    kind = None
    if path.is_file():  # never open a FIFO; read a bounded prefix (a lineage.json is a few kB)
        with contextlib.suppress(ValueError, AttributeError, OSError, RecursionError), path.open("rb") as stream:
            kind = json.loads(stream.read(MAX_MANIFEST_BYTES)).get("kind")  # not JSON, not a mapping: None
    if kind == PUBLISHED:
        return
    if isinstance(kind, str) and kind in MAKES:
        what = f"holds {kind} data (made by `{MAKES[kind]}`), not a publish output"
    elif os.path.lexists(path):
        what = f"is not a publish output (its {shown_path} is not a manifest of kind {PUBLISHED!r})"
    else:
        what = f"is not a publish output (no {shown_path})"
    raise CuratorError(f"{folder} {what}; push uploads only what `curator publish` wrote: run it first")


def _licence_gate(paths: list[str], private: bool,
                  redistributable_check: Callable[[list[str]], list[str]] | None) -> None:
    if private or redistributable_check is None:
        return
    restricted = sorted(redistributable_check(paths))
    if restricted:
        raise CuratorError(
            f"refusing a public push: the licence of {', '.join(restricted)} does not allow redistribution;"
            " --private allows it (or leave those sources out of publish.include)"
        )


def _print_plan(files: list[tuple[str, int]], url: str, revision: str | None, private: bool) -> None:
    total = sum(size for _, size in files)
    visibility = "private" if private else "public"
    print(f"dry run: would push {len(files)} file(s), {total:,} bytes, to {url} ({revision or 'main'}, {visibility})")
    for path, size in files:
        print(f"  {size:>14,}  {path}")


def _token() -> str:
    from huggingface_hub import get_token

    try:
        token = get_token()  # HF_TOKEN, then the `hf auth login` file (and OIDC / Colab, as the library does)
    except Exception as exc:
        raise CuratorError(f"could not read the Hugging Face token: {_one_line(exc)}") from None
    if not token:
        raise CuratorError(NO_TOKEN)
    return token


@contextmanager
def _xet_switch() -> Iterator[None]:
    """Honour HF_HUB_DISABLE_XET set after huggingface_hub was imported (it reads it once, at import).

    The Xet/LFS choice for uploads is the client's alone (no server negotiation): with hf_xet
    installed and this switch off, files go to Xet storage. The loopback Hub stub speaks LFS only.
    """
    from huggingface_hub import constants

    previous = constants.HF_HUB_DISABLE_XET
    now = os.environ.get("HF_HUB_DISABLE_XET", "").upper() in constants.ENV_VARS_TRUE_VALUES
    constants.HF_HUB_DISABLE_XET = previous or now
    try:
        yield
    finally:
        constants.HF_HUB_DISABLE_XET = previous


@contextmanager
def _with_repo_id(folder: Path, repo_id: str, paths: list[str]) -> Iterator[Path]:
    """The folder as uploaded: the card and Croissant name `repo_id`; every other file of `paths` (the
    checked list, nothing else) is a symlink to the published one (the published folder itself stays
    as publish wrote it: a DVC output)."""
    source = folder.resolve()
    with tempfile.TemporaryDirectory(prefix="curator-push-") as tmp:
        staged = Path(tmp)
        for path in paths:
            target = staged / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if path in CARD_FILES:
                try:
                    text = (source / path).read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    raise CuratorError(f"{folder / path} is not UTF-8 text; re-run `curator publish`") from None
                target.write_text(text.replace(REPO_PLACEHOLDER, repo_id), encoding="utf-8")
            else:
                target.symlink_to(source / path)
        yield staged


# ---------------------------------------------------------------------------- remote steps


def _upload(folder: Path, repo_id: str, token: str, *, private: bool, revision: str | None, count: int) -> str:
    from huggingface_hub import HfApi

    endpoint = hub_endpoint()
    api = HfApi(endpoint=endpoint, token=token)
    with _hub_errors(f"checking the token at {endpoint}", token):
        user = _whoami(api)
    log.info("pushing %d file(s) to %s as %s", count, repo_id, user)
    with _hub_errors(f"creating the dataset repo {repo_id}", token):
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if private:
            _refuse_public_repo(api, repo_id)
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, repo_type="dataset", exist_ok=True)
    with _hub_errors(f"uploading {folder} to {repo_id}", token):
        # huggingface_hub 2.4 has no upload_large_folder any more: upload_folder is its large-folder
        # method. With hf_xet it streams, commits in batches and resumes when re-run; with Xet off
        # (HF_HUB_DISABLE_XET=1, e.g. the loopback stub) it is one LFS commit, and a re-run still
        # skips what the Hub already holds (preupload oids, LFS batch with no upload action).
        info = api.upload_folder(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=folder,
            revision=revision,
            ignore_patterns=list(IGNORE_PATTERNS),
            commit_message=f"Upload {count} file(s) with emotion-curator",
        )
    return str(info.oid)


def _whoami(api: HfApi) -> str:
    from huggingface_hub.errors import HfHubHTTPError

    try:
        return str(api.whoami().get("name", "?"))
    except HfHubHTTPError as exc:
        if exc.response is not None and exc.response.status_code == 401:
            raise CuratorError(REJECTED_TOKEN) from None
        raise


def _refuse_public_repo(api: HfApi, repo_id: str) -> None:
    """create_repo(exist_ok=True) keeps an existing repo's visibility: never push 'private' data into a public repo."""
    if api.repo_info(repo_id, repo_type="dataset").private is False:
        raise CuratorError(
            f"{repo_id} already exists and is public; --private cannot change that:"
            " make it private on the Hub first, or choose another --repo-id"
        )


@contextmanager
def _hub_errors(action: str, token: str) -> Iterator[None]:
    """Library / network failures -> one-line CuratorError, token scrubbed, no chained traceback."""
    try:
        yield
    except CuratorError as exc:
        raise CuratorError(scrub(str(exc), token)) from None
    except Exception as exc:
        raise CuratorError(f"{action} failed: {scrub(_one_line(exc), token)}") from None


def _one_line(exc: BaseException) -> str:
    status = _status(exc)
    text = " ".join(str(getattr(exc, "server_message", None) or exc).split())
    prefix = f"HTTP {status}: " if status else f"{type(exc).__name__}: "
    return prefix + text[:500]


def _status(exc: BaseException) -> int | None:
    response: Any = getattr(exc, "response", None)
    return getattr(response, "status_code", None)

