"""The typed configuration: the only place defaults live, and one-line errors for bad params."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.config import Config, load_config, render_defaults
from curator.errors import CuratorError
from curator.sources import all_recipes
from tests.conftest import ROOT, run_cli


def test_the_project_params_yaml_is_the_rendered_defaults() -> None:
    # params.yaml is what users edit; the models are the truth. `curator params > params.yaml` re-renders it.
    assert (ROOT / "params.yaml").read_text(encoding="utf-8") == render_defaults()
    assert Config().as_dict() == load_config(ROOT / "params.yaml").as_dict()


def test_every_recipe_has_its_own_params_section() -> None:
    config = Config()
    assert set(config.as_dict()["sources"]) == {"enabled", *all_recipes()}
    assert config.source("viri").allow_public_push is False


@pytest.mark.parametrize(("yaml_text", "line", "fragment"), [
    ("augment:\n  copies: 2\n  copeis: 3\n", 3, "augment.copeis: unknown key (known: policy, copies"),
    ("augment:\n  copies: 2.7\n", 2, "augment.copies: Input should be a valid integer (got 2.7)"),
    ("split:\n  seed: '7'\n", 2, "split.seed: Input should be a valid integer"),
    ("sources:\n  viri:\n    bse_url: x\n", 3, "sources.viri.bse_url: unknown key"),
    ("sources:\n  enabled: [viri, viri]\n", 2, "'viri' is listed twice"),
    ("sources:\n  enabled: [virri]\n", 2, "unknown source 'virri'"),
    ("split:\n  ratios: {train: 0.5, validation: 0.15, test: 0.15}\n", 2, "must be 1"),
    ("publish:\n  name: ../split\n", 2, "publish.name: String should match pattern"),
    ("download:\n  retries: -1\n", 2, "download.retries: Input should be greater than or equal to 0"),
    ("nonsense: 1\n", 1, "nonsense: unknown section"),
])
def test_bad_params_are_one_line_errors_naming_key_and_line(tmp_path: Path, yaml_text: str, line: int,
                                                             fragment: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(CuratorError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: ")
    assert fragment in message


def test_unknown_key_and_wrong_type_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("augment:\n  copies: two\n  extra_knob: 1\n", encoding="utf-8")
    proc = run_cli("params", "--check", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: params.yaml:2: augment.copies")
    assert "(and 1 more problem(s))" in lines[0]


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("split:\n  seed: [1\n", encoding="utf-8")
    with pytest.raises(CuratorError, match=r"params\.yaml:3:1: not valid YAML"):
        load_config(path)


def test_a_missing_params_file_named_on_the_command_line_is_an_error(tmp_path: Path) -> None:
    proc = run_cli("--params", str(tmp_path / "nope.yaml"), "normalize", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "no such params file" in proc.stderr and "Traceback" not in proc.stderr


def test_every_reason_code_has_one_meaning_and_the_cli_lists_them(tmp_path: Path) -> None:
    from curator.reasons import Reason

    assert all(len(r.meaning) > 10 for r in Reason)
    assert len({r.value for r in Reason}) == len(Reason)
    listed = run_cli("reasons", cwd=tmp_path).stdout.splitlines()
    assert [line.split()[0] for line in listed] == [r.value for r in Reason]


def test_the_readme_source_table_is_generated_from_the_recipes() -> None:
    from curator.commands.sync import readme_text

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_text(readme) == readme  # after changing a source's facts: curator sync
    for name, recipe in all_recipes().items():
        assert recipe.INFO.label_meaning and recipe.INFO.grouping and recipe.INFO.unverified, name


def _billion_laughs() -> str:
    text, previous = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n', "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n"
        previous = name
    return text


@pytest.mark.parametrize(("content", "message"), [
    ("sources:\n  enabled: [kaggle_physio]\nsplit:\n  seed: 1\nsources:\n  enabled: [viri]\n",
     "params.yaml:5: key 'sources' is given twice (lines 1 and 5); keep one"),
    ("split:\n  seed: 1\n  seed: 2\n", "params.yaml:3: key 'seed' is given twice (lines 2 and 3)"),
    (_billion_laughs(), "params.yaml: its aliases expand to more than 100,000 values"),
    ("split:\n  1: 2\n", "params.yaml:2: key '1' is not a name"),
    ("publish:\n  name: " + "x" * 300 + "\n", "publish.name: String should have at most 96 characters"),
    ("publish:\n  name: [hf_abcdefghijklmnopqrstuvwxyzABCDEFGH]\n", "publish.name: Input should be a valid string"),
    ("sources:\n  nvie:\n    subject_pattern: '(S\\d+)_\\1'\n",
     "sources.nvie.subject_pattern: not a regular expression RE2 can run in linear time"),
])
def test_hand_edited_params_are_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "params.yaml").write_text(content, encoding="utf-8")
    proc = run_cli("params", "--check", cwd=tmp_path, check=False, timeout=60)
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and len(proc.stderr) < 400
    assert "abcdefghijklmnopqrstuvwxyz" not in proc.stderr  # a token-shaped value is never echoed


def test_params_that_are_not_utf8_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_bytes("split:\n  seed: 1  # \xfc\n".encode("latin-1"))
    proc = run_cli("params", "--check", cwd=tmp_path, check=False, timeout=60)
    assert proc.returncode == 1 and "params.yaml: not UTF-8 text (byte 20 is 0xfc)" in proc.stderr, proc.stderr


def test_a_catastrophic_pattern_runs_in_linear_time() -> None:
    from curator.io.patterns import compile_pattern

    # Python's re needs ~2**5000 steps for this; RE2 answers at once
    assert compile_pattern(r"(a+)+$").search("a" * 5000 + "b") is None
    assert compile_pattern(r"S(\d+)_").search("x_S012_happy").group(1) == "012"
