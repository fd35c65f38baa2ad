"""EmoNet-style portraits: a seeded cartoon face for a fine label, its demographics and prompt.

The real images came from a text-to-image model prompted with a demographic and a synonym of
the label (guide.json); each portrait here records the same facts, with a face that shows it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import NamedTuple

from PIL import Image

from curator.testing.samples.faces import draw_face
from curator.testing.samples.reference import emonet_labels, emonet_synonyms
from curator.testing.samples.seeds import seed_int
from curator.testing.samples.writers import jpeg

_SIZE = 160  # the real repos' images are larger; small keeps the samples fast

# EmoNet fine label -> cartoon expression. For drawing only; the taxonomy lives in schemas/.
_FINE_TO_DRAWN = {
    "Amusement": "happiness", "Elation": "happiness", "Pleasure/Ecstasy": "happiness",
    "Contentment": "happiness", "Thankfulness/Gratitude": "happiness", "Affection": "happiness",
    "Infatuation": "happiness", "Hope/Enthusiasm/Optimism": "happiness", "Triumph": "happiness",
    "Pride": "contempt", "Awe": "surprise", "Astonishment/Surprise": "surprise", "Relief": "happiness",
    "Longing": "sadness", "Teasing": "contempt", "Impatience and Irritability": "anger",
    "Sexual Lust": "happiness", "Doubt": "contempt", "Fear": "fear", "Distress": "fear",
    "Confusion": "surprise", "Embarrassment": "sadness", "Shame": "sadness", "Disappointment": "sadness",
    "Sadness": "sadness", "Bitterness": "anger", "Contempt": "contempt", "Disgust": "disgust",
    "Anger": "anger", "Malevolence/Malice": "anger", "Sourness": "disgust", "Pain": "disgust",
    "Helplessness": "sadness", "Hopelessness": "sadness", "Jealousy & Envy": "contempt",
}

_ETHNICITIES = ("Asian", "Black", "Caucasian", "Hispanic", "Middle Eastern", "South Asian")
_GENDERS = ("female", "male")
_AGES = ("20s", "30s", "40s", "50s", "60s")


def face(label: str, seed: int, key: str) -> Image.Image:
    """The cartoon for a fine label, captioned with it; `key` names its seed stream."""
    return draw_face(_FINE_TO_DRAWN.get(label, "neutral"), _SIZE, seed=seed_int(seed, key), caption=label)


class Portrait(NamedTuple):
    top: str  # the label the face shows and the ratings favour
    demographics: dict[str, str]
    image: bytes
    prompt: str


@dataclass(frozen=True)
class Portraits:
    """Draws portraits as the text-to-image pipeline made them: label, demographics, image, prompt."""

    seed: int
    labels: list[str] = field(default_factory=emonet_labels)
    synonyms: dict[str, list[str]] = field(default_factory=emonet_synonyms)

    def draw(self, key: str, rnd: random.Random, image_bytes: bytes | None = None) -> Portrait:
        """image_bytes replaces the image (a dirty item) but consumes `rnd` the same way."""
        top = rnd.choice(self.labels)
        demo = {"ethnicity": rnd.choice(_ETHNICITIES), "gender": rnd.choice(_GENDERS), "age": rnd.choice(_AGES)}
        data = jpeg(face(top, self.seed, key)) if image_bytes is None else image_bytes
        word = rnd.choice(self.synonyms.get(top) or [top.lower()])
        who = f"{demo['ethnicity']} {demo['gender']} in their {demo['age']}"
        return Portrait(top, demo, data, f"A close-up portrait photo of a {who}, showing {word}.")
