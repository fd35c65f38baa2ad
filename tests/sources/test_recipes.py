"""Every source folder keeps the recipe contract (curator/sources/recipe.py): the recipe and its samples
satisfy the Protocols, and the folder holds its facts, label map and README."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.sources import all_recipes, recipe_samples
from curator.sources.recipe import Recipe, Samples

RECIPES = sorted(all_recipes())


def test_every_source_of_the_project_is_found() -> None:
    assert RECIPES == ["emer", "emonet_big", "emonet_binary", "emonet_hq", "kaggle_physio", "nvie", "viri"]


@pytest.mark.parametrize("name", RECIPES)
def test_each_folder_keeps_the_contract(name: str) -> None:
    recipe = all_recipes()[name]
    assert isinstance(recipe, Recipe), f"{name}: INFO, Params, download, layout, prepare"
    assert isinstance(recipe_samples(name), Samples), f"{name}: samples.build, samples.demo_params"
    folder = Path(recipe.__file__).parent
    assert recipe.INFO.name == folder.name == name
    for part in ("source.yaml", "labels.yaml", "README.md"):
        assert (folder / part).is_file(), f"{name}: no {part}"
