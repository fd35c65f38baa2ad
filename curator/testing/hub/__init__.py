"""A loopback stand-in for the Hugging Face Hub, for tests and offline demos.

The REAL huggingface_hub client (2.4) runs against it when pointed at `HubStub.url`:

    with serve_hub(root) as hub, hub.client_env(tmp_path / "hf-home"):
        HfApi().upload_folder(...)           # or curator.commands.push.push(...)
        snapshot_download("owner/name", repo_type="dataset", revision=hub.sha("owner/name"))

`root/<owner>/<name>/` seeds one dataset repo per folder, committed on `main` at a sha that
only depends on the files. Only dataset repos exist. Uploads go through the git-LFS protocol:
the client picks Xet by itself whenever `hf_xet` is installed (no server negotiation), so the
client must run with HF_HUB_DISABLE_XET=1 (`client_env` does it); Xet endpoints answer 400.
Downloads never use Xet because nothing here advertises it (no X-Xet-Hash, no xetHash).

LFS objects live on a second server on another port (a different origin, like the CDN / S3 of
the real Hub), so the client strips the Authorization header there, exactly as in production.
"""

from curator.testing.hub.server import serve_hub
from curator.testing.hub.store import Commit, HubStub

__all__ = ["Commit", "HubStub", "serve_hub"]
