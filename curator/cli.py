"""The `curator` command: a thin layer over the library, one sub-command per stage.

Defaults come from params.yaml so dvc.yaml commands stay one line each. Exit codes: 0 done,
1 failed with a one-line message (expected errors never print a traceback), 2 usage error.
"""

from __future__ import annotations

import os
import sys

from curator.pipeline import interrupts

if __name__ == "__main__" or os.path.basename(sys.argv[0]) == "curator":
    # the `curator` process itself (not a test importing the app): before the slow imports below, so a
    # Ctrl-C during them is held until main() and ends as "interrupted", not as a KeyboardInterrupt traceback
    interrupts.install()

import contextlib
import errno
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from curator.config import Config, load_config
from curator.errors import CuratorError
from curator.io.paths import check_paths, check_report_out
from curator.pipeline.progress import setup_logging
from curator.pipeline.stages import DATA, folder

# default folders from the table of stages (module level: typer reads argument defaults once)
NORMALIZED, SPLIT, REPORTS = folder("normalize"), folder("split"), folder("report")
ExecSection = TypeVar("ExecSection", bound=Any)  # a params section with workers and executor

app = typer.Typer(
    name="curator",
    help="Curate facial-emotion datasets: download, prepare, normalize, split, augment, publish.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_state: dict[str, Any] = {"params_path": None}

RAW_HELP = folder("download", "<source>")
Src = Annotated[str, typer.Argument(help="Source name (see `curator sources`).")]
Out = Annotated[Path | None, typer.Option("--out", help="Output directory (default: the DVC layout under data/).")]
Metrics = Annotated[Path | None, typer.Option("--metrics", help="Also write the stage's metrics JSON here.")]
Workers = Annotated[int | None, typer.Option("--workers", help="Worker processes (default: params).")]
ExecutorName = Annotated[str | None, typer.Option(
    "--executor", help="local (process pool) or ray (cluster from $RAY_ADDRESS, else local); default: params.",
)]

RayAddress = Annotated[str | None, typer.Option(
    "--ray-address", help="Ray cluster HEAD:PORT for --executor ray (default: $RAY_ADDRESS, else a local instance).",
)]


def _config() -> Config:
    return load_config(_state["params_path"])


def _publish_folder(name: str, data: Path = DATA) -> Path:
    """data/publish/<publish.name>: the config allows only a plain name; this makes sure no name
    can reach outside data/publish/ (nor be data/publish/ itself)."""
    base = folder("publish", data=data)
    target = base / name
    if not name or name in (".", "..") or target.parent != base or Path(name).name != name:
        raise CuratorError(f"publish.name {name!r} must be a plain folder name (no path separators, not . or ..)")
    return target


def _executor_conf(conf: ExecSection, workers: int | None, executor: str | None,
                   ray_address: str | None = None) -> ExecSection:
    """A stage's params section with --workers/--executor applied (prepare and augment share them);
    --ray-address is where the Ray executor connects (it reads $RAY_ADDRESS)."""

    from curator.pipeline.executor import EXECUTORS

    if ray_address:
        os.environ["RAY_ADDRESS"] = ray_address

    if workers is not None and workers < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--workers")
    if executor is not None and executor not in EXECUTORS:
        raise typer.BadParameter(f"choose one of {', '.join(EXECUTORS)}", param_hint="--executor")
    changes = {k: v for k, v in (("workers", workers), ("executor", executor)) if v is not None}
    return conf.model_copy(update=changes)


@app.callback()
def main_options(
    params: Annotated[Path | None, typer.Option("--params", help="params.yaml to read (default ./params.yaml).")] = (
        None
    ),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Curate facial-emotion datasets. Every knob lives in params.yaml; flags override it."""
    _state["params_path"] = params
    setup_logging(-1 if quiet else 1 if verbose else 0)


@app.command()
def sources(
    markdown: Annotated[bool, typer.Option("--markdown", help="The README's table, in Markdown.")] = False,
) -> None:
    """List every source recipe with its licence, size and what it needs from you."""
    from rich.console import Console
    from rich.table import Table

    from curator.sources import all_recipes, markdown_table

    if markdown:
        typer.echo(markdown_table(), nl=False)
        return

    table = Table("source", "title", "licence", "public push", "size", "needs")
    for name, recipe in all_recipes().items():
        i = recipe.INFO
        table.add_row(name, i.title, i.license, i.redistributable, i.size, i.needs)
    Console(width=160).print(table)


@app.command("params")
def params_cmd(
    check: Annotated[bool, typer.Option("--check", help="Validate params.yaml (or --params) instead.")] = False,
) -> None:
    """Print every knob with its default, as a commented params.yaml (or --check yours)."""
    from curator.config import render_defaults

    if check:
        _config()
        typer.echo(f"{_state['params_path'] or 'params.yaml'}: valid")
        return
    typer.echo(render_defaults(), nl=False)


@app.command()
def sync(
    check: Annotated[bool, typer.Option("--check", help="Change nothing; exit 1 naming each stale file.")] = False,
) -> None:
    """Rewrite every derived file (params.yaml, README.md's source table, dvc.yaml's per-source deps)."""
    from curator.commands.sync import sync as sync_files

    stale = sync_files(Path.cwd(), check=check)
    if check and stale:
        raise CuratorError(f"out of date: {', '.join(stale)}; run `curator sync`")
    typer.echo(f"rewrote: {', '.join(stale)}" if stale else "every derived file is in sync")


@app.command("new-source")
def new_source(
    name: Annotated[str, typer.Argument(help="The new source's name: lower-case letters, digits and _.")],
) -> None:
    """Scaffold curator/sources/NAME/: a recipe, its facts, label map, samples and README that already run."""
    from curator.commands.sync import check_checkout
    from curator.scaffold import new_source as scaffold

    check_checkout(Path.cwd())  # the recipe goes where the code that runs will find it
    for path in scaffold(name, Path("curator") / "sources"):
        typer.echo(f"wrote {path}")
    typer.echo(f"next: fill in curator/sources/{name}/ (docs/adding-a-source.md), then run `curator sync`")


@app.command()
def reasons() -> None:
    """List every reject reason code with its meaning; an exclusion (left out on purpose) is marked."""
    from curator.reasons import Reason

    for reason in Reason:
        typer.echo(f"{reason.value:<22} {'[exclusion] ' if reason.excluded else ''}{reason.meaning}")


@app.command()
def samples(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the sample sources into.")],
    dirty: Annotated[bool, typer.Option("--dirty", help="Add bad items (corrupt images, unknown labels...).")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same bytes.")] = 0,
) -> None:
    """Write miniature copies of every source, in their real formats, for tests and the demo."""
    from curator.testing.samples import build_samples

    manifest = build_samples(out, dirty=dirty, seed=seed)
    for source, entry in manifest.items():
        typer.echo(f"{source}: {len(entry['files'])} file(s), {entry['items']} item(s)")
    typer.echo(f"wrote {out}")


@app.command()
def download(
    source: Src,
    from_: Annotated[
        str | None, typer.Option("--from", help="A URL to fetch, or a folder/file you downloaded.")
    ] = None,
    out: Out = None,
    record_checksums: Annotated[
        bool, typer.Option("--record-checksums", help="Record checksums of files the registry does not know yet.")
    ] = False,
) -> None:
    """Fetch one source's raw files into data/raw/<source>/ (checksummed, resumable)."""
    from curator.io.atomic import file_lock, lock_path
    from curator.sources import get_recipe

    recipe = get_recipe(source)
    config = _config()
    fetch = config.download.model_copy(update={"record_checksums": True}) if record_checksums else config.download
    target = out or folder("download", source)
    conf = config.source(source)
    location = from_ or conf.from_  # params may name the location
    if target.exists() and not target.is_dir():
        raise CuratorError(f"--out {target} is an existing file, not a folder; choose another --out")
    if location and "://" not in location:
        check_paths(target, [Path(location)], what="--from")
    with contextlib.ExitStack() as held:
        try:  # no prepare may read the raw folder while it changes (a folder not there yet has no reader)
            if target.exists():
                held.enter_context(file_lock(lock_path(target), wait=False, what=target))
        except OSError as exc:  # a read-only parent folder
            raise CuratorError(f"--out {target}: cannot write there ({exc.strerror}); choose another --out") from None
        path = recipe.download(conf, fetch, target, location)
    typer.echo(f"{source}: raw files in {path}")


@app.command()
def prepare(
    source: Src,
    raw: Annotated[Path | None, typer.Option("--raw", help=f"Raw files (default {RAW_HELP}).")] = None,
    out: Out = None,
    metrics: Metrics = None,
    workers: Workers = None,
    executor: ExecutorName = None,
    ray_address: RayAddress = None,
) -> None:
    """Read one source's raw files into unified records (Parquet shards + rejects.jsonl)."""
    from functools import partial

    from curator.sources import get_recipe
    from curator.stages.prepare.stage import run_prepare

    config = _config()
    conf = _executor_conf(config.prepare, workers, executor, ray_address)
    recipe = get_recipe(source)
    raw = raw or folder("download", source)
    if not raw.exists():
        raise CuratorError(f"--raw {raw} does not exist; run `curator download {source}` first (or pass another --raw)")
    source_conf = config.source(source)
    items = partial(recipe.prepare, conf=source_conf)
    plan = getattr(recipe, "storage_plan", None)  # raw Parquet: Ray Data reads it with --executor ray
    result = run_prepare(source, items, raw, out or folder("prepare", source), conf, metrics_copy=metrics,
                         source_params=source_conf.model_dump(mode="json", by_alias=True),
                         plan=plan and partial(plan, conf=source_conf))
    typer.echo(f"prepare {source}: {result['kept']} kept, {result['rejected']} rejected")


@app.command()
def inspect(
    source: Src,
    path: Annotated[Path, typer.Argument(help="A download of that source (folder or file), as you have it.")],
) -> None:
    """Report what the recipe makes of a real download: layout, labels, groups, problems. Writes nothing."""
    from curator.commands.inspect import hints, inspect_source
    from curator.io.secrets import redact
    from curator.sources import get_recipe

    conf = _config().source(source)
    found = inspect_source(source, get_recipe(source), path, conf)
    for line in [*found.lines(), *(f"hint: {h}" for h in hints(found, source, conf))]:
        typer.echo(redact(line))


@app.command()
def normalize(
    inputs: Annotated[
        list[Path] | None, typer.Option("--in", help="Prepared source dirs (default: every enabled source).")
    ] = None,
    out: Out = None,
    metrics: Metrics = None,
) -> None:
    """Map every source label into the taxonomy (schemas/); unknown labels become rejects."""
    from curator.stages.normalize.stage import run_normalize

    if not inputs:
        inputs = [folder("prepare", s) for s in _config().sources.enabled]
    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        raise CuratorError(f"prepared data missing (--in): {', '.join(missing)}; run `curator prepare SRC` first")
    result = run_normalize(inputs, out or folder("normalize"), metrics_copy=metrics)
    typer.echo(f"normalize: {result['kept']} kept, {result['rejected']} rejected")


@app.command()
def split(
    inputs: Annotated[Path, typer.Option("--in", help="Normalized records.")] = NORMALIZED,
    out: Out = None,
    metrics: Metrics = None,
) -> None:
    """Assign train/validation/test: group-disjoint, stratified per source and class."""
    from curator.stages.split.stage import run_split

    if not inputs.exists():
        raise CuratorError(f"--in {inputs} does not exist; run `curator normalize` first")
    config = _config()
    result = run_split(inputs, out or folder("split"), config.split, config.dedup, metrics_copy=metrics)
    typer.echo(f"split: {result['kept']} records assigned")


@app.command()
def augment(
    inputs: Annotated[Path, typer.Option("--in", help="Split records (only train/ is read).")] = SPLIT,
    out: Out = None,
    metrics: Metrics = None,
    workers: Workers = None,
    executor: ExecutorName = None,
    ray_address: RayAddress = None,
) -> None:
    """Add augmented copies of train records (same geometric transform on visible and IR)."""
    from curator.stages.augment.stage import run_augment

    conf = _executor_conf(_config().augment, workers, executor, ray_address)
    if not inputs.exists():
        raise CuratorError(f"--in {inputs} does not exist; run `curator split` first")
    result = run_augment(inputs, out or folder("augment"), conf, metrics_copy=metrics)
    typer.echo(f"augment: {result['augmented_rows']} rows from {result['kept']} train records")


@app.command()
def publish(
    inputs: Annotated[Path, typer.Option("--in", help="Split records.")] = SPLIT,
    augmented: Annotated[Path | None, typer.Option("--augmented", help="Augmented train records, if any.")] = None,
    out: Out = None,
    metrics: Metrics = None,
) -> None:
    """Write the Hub-ready folder: Parquet shards per config/split, dataset card, taxonomy."""
    from curator.stages.publish.stage import run_publish

    config = _config()
    if not inputs.exists():
        raise CuratorError(f"--in {inputs} does not exist; run `curator split` first")
    if augmented is not None and not augmented.exists():
        raise CuratorError(f"--augmented {augmented} does not exist; run `curator augment` first (or leave it out)")
    target = out or _publish_folder(config.publish.name)
    # this publish's choices (licence opt-ins, revisions, checksums); split and augment settings come
    # from the inputs' lineage.json
    result = run_publish(inputs, target, config.publish, augmented=augmented, metrics_copy=metrics,
                         source_params={name: config.source(name) for name in config.sources.enabled},
                         checksums=config.download.checksums)
    for name, sizes in result["configs"].items():
        typer.echo(f"{name}: " + ", ".join(f"{s}={v['num_examples']}" for s, v in sizes.items()))
    typer.echo(f"published to {target}")


@app.command()
def report(
    data: Annotated[Path, typer.Option("--data", help="The pipeline's data folder.")] = DATA,
    published: Annotated[Path | None, typer.Option("--in", help="Published folder (default from params).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Where index.html and plots/ go.")] = REPORTS,
) -> None:
    """Write reports/index.html: counts, sample grids, augmentation, rejects, leakage, provenance."""
    from curator.stages.report.stage import run_report

    published = published or _publish_folder(_config().publish.name, data)
    if not (published / "README.md").is_file():
        raise CuratorError(f"{published} is not a published folder; run `curator publish` first")
    check_report_out(out, [data, published])
    typer.echo(f"report: {run_report(data, published, out)}")


@app.command()
def validate(folder: Annotated[Path, typer.Argument(help="A published dataset folder.")]) -> None:
    """Check a published folder: shard schemas, split disjointness, card counts, Croissant."""
    from curator.commands.validate import validate_folder

    problems = validate_folder(folder)
    if problems:
        for p in problems:
            typer.echo(f"problem: {p}", err=True)
        raise CuratorError(f"{folder}: {len(problems)} problem(s)")
    typer.echo(f"{folder}: valid")


@app.command()
def push(
    folder: Annotated[Path, typer.Argument(help="A published dataset folder.")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="OWNER/NAME of the Hub dataset repo.")],
    private: Annotated[bool, typer.Option("--private", help="Create/keep the repo private.")] = False,
    revision: Annotated[str | None, typer.Option("--revision", help="Branch to push to.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be uploaded; no network.")] = False,
) -> None:
    """Upload a published folder to the Hugging Face Hub (token from HF_TOKEN or `hf auth login`)."""
    from curator.commands.licensing import restricted_sources
    from curator.commands.push import push as hub_push

    config = _config()
    hub_push(folder, repo_id, private=private, revision=revision, dry_run=dry_run,
             redistributable_check=lambda paths: restricted_sources(folder, paths, config))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Scratch workspace for the demo.")] = Path("demo"),
) -> None:
    """Run the whole pipeline offline on the built-in sample sources and load the result back."""
    from curator.demo import run_demo

    run_demo(out, params_path=_state["params_path"])


def _internal_error(exc: BaseException) -> str:
    """One line for a bug: what failed and where (the traceback with -v), tokens masked as everywhere."""
    import traceback

    from curator.io.secrets import basic_credentials, scrub

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    text = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    user, key = os.environ.get("KAGGLE_USERNAME") or "", os.environ.get("KAGGLE_KEY") or ""
    text = scrub(text, os.environ.get("HF_TOKEN"), key, basic_credentials(user, key) if key else None)
    return f"internal error (a bug in curator; please report it): {text}{where}; run with -v for the traceback"


# what the machine refused (a path the user gave, a full or read-only disk), not a curator bug
ENVIRONMENT_ERRNOS = frozenset({errno.ENOENT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT,
                                errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EMFILE,
                                errno.ENFILE, errno.EXDEV})


def _environment_error(exc: OSError) -> str | None:
    """One line for an OS refusal naming a path (`cannot write /proc/x: No such file or directory`)."""
    if exc.errno not in ENVIRONMENT_ERRNOS or exc.filename is None:
        return None
    from curator.io.secrets import redact

    path = os.fsdecode(exc.filename)
    return redact(f"{ascii(path)[1:-1] if not path.isprintable() else path}: {exc.strerror}"
                  " (a path, a permission or the disk; run with -v for the traceback)")


def main() -> None:
    """Console entry point: expected errors become one line on stderr and exit code 1; usage errors
    exit 2; Ctrl-C and SIGTERM print one "interrupted" line and exit 130 / 143, whenever they come."""
    import logging

    from curator.io.secrets import redact
    from curator.pipeline.lifetime import maybe_end_with_parent

    program = interrupts.installed()  # at import: this is the `curator` process, not a caller's
    interrupts.install()  # if the import did not (main() called from Python)
    message, code = None, 0
    try:
        try:
            interrupts.arm()  # a signal held since start-up is raised here
            maybe_end_with_parent()  # under `curator demo`: a stage ends with the dvc that started it
            app()  # standalone mode: ends in SystemExit; usage errors exit 2 with click's message
        finally:
            interrupts.end_at_once()  # every `with` has unwound: a signal from here on ends the process
    except SystemExit as exc:  # click's, with its message already printed; or a message of its own
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        message = exc.code if isinstance(exc.code, str) else None
    except CuratorError as exc:
        message, code = f"error: {redact(str(exc))}", 1  # a message may quote a configured URL
    except interrupts.Interrupted as exc:
        message, code = interrupts.ending(exc.signum)
    except Exception as exc:
        if logging.getLogger("curator").isEnabledFor(logging.DEBUG) and interrupts.received() is None:
            raise
        refused = _environment_error(exc) if isinstance(exc, OSError) else None
        message, code = f"error: {refused or _internal_error(exc)}", 1
    signum = interrupts.received()
    if signum is not None:  # even if its exception was turned into another error, or dropped on the way
        message, code = interrupts.ending(signum)
    if message:
        typer.echo(message, err=True)
    if program:
        interrupts.exit_now(code)  # no window at the very end where a signal goes unreported
    sys.exit(code)


if __name__ == "__main__":
    main()
