"""The typed configuration: params.yaml parsed once, and the only place defaults live.

Each stage receives only its own section (`config.split`, `config.augment`...); each recipe
its own `Params` model, defined in its package (curator/sources/<name>/). An unknown key, a
wrong type or an out-of-range value is a one-line error naming the key and its line in the
file. The project's params.yaml is this module's defaults rendered (`curator sync` writes it), so
the two cannot drift: `curator sync --check` and a test compare them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from curator.errors import CuratorError
from curator.io.limits import DEFAULT_MAX_PIXELS, DEFAULT_SHARD_BYTES
from curator.io.patterns import compile_pattern
from curator.io.secrets import redact
from curator.io.yamlfile import load_user_yaml

PARAMS_FILE = Path("params.yaml")


class Section(BaseModel):
    """A params section: unknown keys and loose types are errors, values never change after loading."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class SourceParams(Section):
    """What every recipe's Params has; a recipe subclasses it with its own keys."""

    from_: str | None = Field(None, alias="from", description="a folder/file you downloaded by hand, or a URL")


Executor = Literal["local", "ray"]


def _one_group_regex(pattern: str) -> str:
    groups = compile_pattern(pattern).groups  # RE2: linear time on any file name (curator/io/patterns.py)
    if groups != 1:
        raise ValueError(f"needs exactly one capturing group (the id it extracts), has {groups}")
    return pattern


# a params regex whose one group extracts an id (a subject, a participant) from a file or sample name
OneGroupPattern = Annotated[str, AfterValidator(_one_group_regex)]


class Download(Section):
    checksums: str | None = Field(None, description="the project's checksum registry (TSV); null = ./checksums.tsv")
    record_checksums: bool = Field(False, description="true: trust and record files the registry does not know yet")
    timeout: float = Field(30, gt=0, description="seconds per network operation")
    retries: int = Field(4, ge=0, le=10, description="attempts after the first, with exponential backoff")


class Prepare(Section):
    max_image_pixels: int = Field(DEFAULT_MAX_PIXELS, gt=0, description="decode cap: larger images are too_many_pixels")
    workers: int = Field(2, ge=1, description="processes that decode and hash images (same output for any count)")
    executor: Executor = Field("local", description="local (process pool) or ray (cluster from $RAY_ADDRESS)")


class Ratios(Section):
    train: float = Field(0.70, ge=0, le=1)
    validation: float = Field(0.15, ge=0, le=1)
    test: float = Field(0.15, ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> Ratios:
        total = self.train + self.validation + self.test
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"train + validation + test must be 1, is {total:g}")
        return self


class Split(Section):
    seed: int = Field(20250523, description="same seed, same split")
    ratios: Ratios = Field(default_factory=Ratios)


class Dedup(Section):
    max_distance: int = Field(3, ge=0, le=64, description="dHash bits (of 64) within which images are near duplicates")
    drop_within_split: bool = Field(False,
                                    description="true: keep one image of each duplicate cluster, reject the rest")


class Augment(Section):
    policy: str = Field("pipelines/augment/default.yaml", description="two serialized albumentations 2.0.8 pipelines")
    copies: int = Field(2, ge=0, le=100, description="augmented children per train record with an image")
    seed: int = Field(0, description="same seed -> byte-identical output, whatever the worker count")
    workers: int = Field(2, ge=1, description="process pool size (with executor ray: CPUs of a local Ray instance)")
    executor: Executor = Field("local", description="local (process pool) or ray (cluster from $RAY_ADDRESS)")
    jpeg_quality: int = Field(90, ge=1, le=100, description="quality of augmented images (originals never re-encoded)")


class Publish(Section):
    # at most 96 characters: the Hub's limit for a repo name
    name: str = Field("emotion-curator", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=96,
                      description="folder under data/publish/: a plain name, no path separators")
    shard_max_bytes: int = Field(DEFAULT_SHARD_BYTES, gt=0,
                                 description="the Hub's advice: Parquet shards of at most ~500 MB")
    include: list[str] | None = Field(None, description="sources to publish; null = every enabled source")

    @field_validator("include")
    @classmethod
    def _known_sources(cls, names: list[str] | None) -> list[str] | None:
        if names is None:
            return None
        if not names:
            raise ValueError("lists no source; give at least one, or null for every enabled source")
        return _check_enabled(names)


def _recipes() -> dict[str, Any]:
    from curator.sources import all_recipes

    return all_recipes()


def _check_enabled(names: list[str]) -> list[str]:
    known = _recipes()
    seen: set[str] = set()
    for name in names:
        if name not in known:
            raise ValueError(f"unknown source {name!r}; known: {', '.join(known)}")
        if name in seen:
            raise ValueError(f"{name!r} is listed twice")
        seen.add(name)
    return names


def families(names: list[str]) -> dict[str, str]:
    """`sources.enabled` as params.yaml spells it: each name with its family (dvc.yaml's foreach reads both)."""
    from curator.sources.family import family_of

    return {name: family_of(name) for name in _check_enabled(list(names))}


def _enabled_mapping(value: Any) -> Any:
    """A hand-written list of names is accepted as the mapping of those names to their families."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return families(value)
    return value


def _check_families(enabled: dict[str, str]) -> dict[str, str]:
    right = families(list(enabled))
    for name, family in enabled.items():
        if family != right[name]:
            raise ValueError(f"{name}: family {family!r} is not the package its recipe imports; write "
                             f"`{name}: {right[name]}` (or run `curator sync`)")
    return enabled


@cache
def sources_model() -> type[Section]:
    """The `sources` section: `enabled` (name: family) plus one Params model per recipe, from the registry."""
    recipes = _recipes()
    default_enabled = families([name for name, recipe in recipes.items() if recipe.INFO.enabled_by_default])
    fields: dict[str, Any] = {
        "enabled": (dict[str, str], Field(default_enabled, description=(
            "which recipes run, each with the family package its recipe imports (`curator sync` writes it)"))),
    }
    for name, recipe in recipes.items():
        fields[name] = (recipe.Params, Field(default_factory=recipe.Params, description=recipe.INFO.title))
    validators = {
        "_enabled_list": field_validator("enabled", mode="before")(classmethod(lambda cls, v: _enabled_mapping(v))),
        "_enabled": field_validator("enabled")(classmethod(lambda cls, v: _check_families(v))),
    }
    return create_model("Sources", __base__=Section, __validators__=validators, **fields)


class Config:
    """params.yaml, typed: one attribute per section."""

    SECTIONS: ClassVar[dict[str, type[Section]]] = {
        "download": Download, "prepare": Prepare, "split": Split, "dedup": Dedup, "augment": Augment,
        "publish": Publish,
    }

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = dict(data or {})
        unknown = sorted(set(data) - set(self.SECTIONS) - {"sources"})
        if unknown:
            raise _Invalid([((unknown[0],), f"unknown section (known: sources, {', '.join(self.SECTIONS)})", None)])
        errors: list[tuple[tuple[Any, ...], str, Any]] = []
        self.sections: dict[str, Section] = {}
        for name, model in {"sources": sources_model(), **self.SECTIONS}.items():
            value = data.get(name, {})
            try:
                if value is None or not isinstance(value, dict):
                    raise _Invalid([((), "expected a mapping", value)])
                self.sections[name] = model.model_validate(value)
            except ValidationError as exc:
                errors += [((name, *e["loc"]), _message(e, model), e.get("input")) for e in exc.errors()]
            except _Invalid as exc:
                errors += [((name, *loc), msg, got) for loc, msg, got in exc.problems]
        if errors:
            raise _Invalid(errors)

    @property
    def sources(self) -> Any:
        return self.sections["sources"]

    @property
    def download(self) -> Download:
        return self.sections["download"]  # type: ignore[return-value]

    @property
    def prepare(self) -> Prepare:
        return self.sections["prepare"]  # type: ignore[return-value]

    @property
    def split(self) -> Split:
        return self.sections["split"]  # type: ignore[return-value]

    @property
    def dedup(self) -> Dedup:
        return self.sections["dedup"]  # type: ignore[return-value]

    @property
    def augment(self) -> Augment:
        return self.sections["augment"]  # type: ignore[return-value]

    @property
    def publish(self) -> Publish:
        return self.sections["publish"]  # type: ignore[return-value]

    def source(self, name: str) -> SourceParams:
        """One recipe's Params."""
        return getattr(self.sources, name)

    def as_dict(self) -> dict[str, Any]:
        """Plain values, as params.yaml spells them (`from`, not `from_`)."""
        return {name: section.model_dump(by_alias=True, mode="json") for name, section in self.sections.items()}


@dataclass(frozen=True)
class BuildFacts:
    """How a build's data was really made: the split, dedup and augment settings and the augment policy
    its stages ran with, read from their outputs' lineage.json, never from the current params.yaml
    (edited since, it would describe another build). None: not recorded (a hand-stamped folder), or,
    for augment, no augmented input."""

    split: Split | None = None
    dedup: Dedup | None = None
    augment: Augment | None = None
    policy_sha256: str | None = None  # of the policy file augment read

    @classmethod
    def from_lineage(cls, split: dict[str, Any], augmented: dict[str, Any] | None = None) -> BuildFacts:
        """From the checked manifests (curator.pipeline.lineage.read) of a split folder and its augmented one."""
        given = _params(split, "split")
        made = _params(augmented, "augmented") if augmented is not None else {}
        # augment records only the keys that shape its output (not workers or executor)
        shaping = {k: v for k, v in made.items() if k in Augment.model_fields and k not in ("workers", "executor")}
        policy_sha256 = made.get("policy_sha256")
        if policy_sha256 is not None and not isinstance(policy_sha256, str):
            raise CuratorError("the augmented folder's lineage.json records a policy_sha256 that is not a string; "
                               "re-run `curator augment`")
        return cls(split=_recorded(Split, given.get("split"), "split"),
                   dedup=_recorded(Dedup, given.get("dedup"), "split"),
                   augment=_recorded(Augment, shaping or None, "augmented"),
                   policy_sha256=policy_sha256)

    def ratios_text(self) -> str:
        """How the split cut the records, as the card and Croissant say it: "split 80/10/10" (train /
        validation / test percentages, in Ratios' field order)."""
        if self.split is None:
            return "split (ratios not recorded in the split folder's lineage.json)"
        return "split " + "/".join(f"{round(100 * r, 2):g}" for r in self.split.ratios.model_dump().values())

    def augment_params(self) -> dict[str, Any] | None:
        """What augment recorded, as a card and a report state it (None: nothing was augmented)."""
        if self.augment is None:
            return None
        shaping = self.augment.model_dump(mode="json", exclude={"workers", "executor"})
        return {**shaping, "policy_sha256": self.policy_sha256}


def _params(manifest: dict[str, Any], kind: str) -> dict[str, Any]:
    params = manifest.get("params", {})
    if not isinstance(params, dict):
        raise CuratorError(f"the {kind} folder's lineage.json holds params that are not a mapping; "
                           f"re-run `curator {'augment' if kind == 'augmented' else kind}`")
    return params


def _recorded(model: type[Section], value: Any, kind: str) -> Any:
    """A section as a lineage.json holds it, or None when it holds none; a hand-edited wrong value is one line."""
    if value is None:
        return None
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise CuratorError(f"the {kind} folder's lineage.json records invalid {model.__name__.lower()} params: "
                           f"{where}: {_message(first, model)}") from None


class _Invalid(CuratorError):
    def __init__(self, problems: list[tuple[tuple[Any, ...], str, Any]]) -> None:
        self.problems = problems
        super().__init__(_describe(problems[0]))


def _message(error: Any, model: type[BaseModel]) -> str:
    """pydantic's message, in the words of a params file."""
    if error["type"] == "extra_forbidden":
        owner: Any = model
        for part in error["loc"][:-1]:
            field = owner.model_fields.get(str(part)) if isinstance(owner, type) else None
            owner = field.annotation if field is not None else None
        known = [f.alias or n for n, f in owner.model_fields.items()] if isinstance(owner, type) else []
        return "unknown key" + (f" (known: {', '.join(known)})" if known else "")
    return str(error["msg"]).removeprefix("Value error, ")


def _describe(problem: tuple[tuple[Any, ...], str, Any], line: int | None = None) -> str:
    loc, msg, got = problem
    key = ".".join(str(p) for p in loc if p not in ("function-after",)) or "(top level)"
    shown = "" if got is None or isinstance(got, dict) or "unknown key" in msg else f" (got {_shown(got)})"
    return redact(f"{key}: {msg}{shown}")  # a validator's message or a key may quote a credential too


def _shown(value: Any) -> str:
    """A value as an error message may echo it: short, and never anything shaped like a credential."""
    text = redact(repr(value))
    return text if len(text) <= 80 else f"{text[:77]}..."


def load_config(path: Path | None = None) -> Config:
    """Read params.yaml: `path` when given (it must exist), else ./params.yaml if present, else the defaults."""
    explicit = path is not None
    path = Path(path) if explicit else PARAMS_FILE
    if not path.is_file():
        if explicit:
            raise CuratorError(f"{path}: no such params file")
        return Config()
    data = load_user_yaml(path.read_bytes(), str(path))
    text = path.read_text(encoding="utf-8")  # decodes: load_user_yaml refused anything else
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CuratorError(f"{path}: expected a mapping of sections at the top level")
    try:
        return Config(data)
    except _Invalid as exc:
        first = exc.problems[0]
        line = _line_of(text, first[0])
        more = f" (and {len(exc.problems) - 1} more problem(s))" if len(exc.problems) > 1 else ""
        raise CuratorError(f"{path}{f':{line}' if line else ''}: {_describe(first)}{more}") from None


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest key of `loc` that the YAML has."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def render_defaults() -> str:
    """The defaults as a commented params.yaml: what `curator params` prints and the repo's file holds."""
    return render_params(Config())


def render_params(config: Config) -> str:
    """`config` as a commented params.yaml, in the defaults' layout (`curator sync` keeps a project's values)."""
    lines = ["# Every knob of the pipeline, with its default (written by `curator sync` from curator/config.py and",
             "# the recipes' Params; `curator params` prints it). DVC tracks the keys each stage reads, so editing",
             "# one re-runs exactly the stages that depend on it. CLI flags override these values."]
    models = {"sources": sources_model(), **Config.SECTIONS}
    for name, model in models.items():
        lines.append(f"{name}:")
        lines += _render_model(model, config.sections[name], indent=1)
    return "\n".join(lines) + "\n"


def _render_model(model: type[BaseModel], value: BaseModel, indent: int) -> list[str]:
    pad = "  " * indent
    out = []
    for field_name, info in model.model_fields.items():
        key = info.alias or field_name
        current = getattr(value, field_name)
        comment = f"  # {info.description}" if info.description else ""
        if isinstance(current, BaseModel):
            out.append(f"{pad}{key}:{comment}")
            out += _render_model(type(current), current, indent + 1)
            continue
        if current == info.default:  # as the code spells it (a float field's default `30`, not `30.0`)
            current = info.default
        dumped = yaml.safe_dump(current, default_flow_style=True, width=1000).strip()
        dumped = dumped.removesuffix("\n...").removesuffix("...").strip()
        out.append(f"{pad}{key}: {dumped}{comment}")
    return out
