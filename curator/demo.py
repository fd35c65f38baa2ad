"""`curator demo`: the whole pipeline, offline, on the built-in sample sources."""

from __future__ import annotations

from pathlib import Path

from curator.normalize import run_normalize
from curator.params import load_params
from curator.progress import log
from curator.publish import run_publish
from curator.samples import build_samples
from curator.sources import all_recipes
from curator.sources.base import run_prepare
from curator.split import run_split


def run_demo(out: Path, *, params_path: Path | None = None) -> Path:
    """Build samples, prepare every source that has a recipe, normalize, split, publish."""
    out = Path(out)
    params = load_params(params_path)
    log.info("building sample sources in %s", out / "samples")
    manifest = build_samples(out / "samples")
    sources = [s for s in all_recipes() if s in manifest]
    params["sources"]["enabled"] = sources
    data = out / "data"
    for source in sources:
        run_prepare(source, all_recipes()[source].prepare, out / "samples" / source, data / "prepared" / source,
                    params)
    run_normalize([data / "prepared" / s for s in sources], data / "normalized")
    split_conf = params["split"]
    run_split(data / "normalized", data / "split", ratios=split_conf["ratios"], seed=int(split_conf["seed"]),
              dedup=params.get("dedup"))
    target = data / "publish" / params["publish"]["name"]
    result = run_publish(data / "split", target, params=params)
    print(f"\nPublished dataset: {target}")
    for name, sizes in result["configs"].items():
        print(f"  {name}: " + ", ".join(f"{s}={v['num_examples']}" for s, v in sizes.items()))
    print(f'\nLoad it with:  datasets.load_dataset("{target}", "{next(iter(result["configs"]))}")')
    return target
