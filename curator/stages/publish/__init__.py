"""The publish stage: the Hugging Face folder. Read stage.py first; layout.py decides shards and configs,
card.py (+ card_docs.py, card_labels.py, unread.py) writes the card, croissant.py croissant.json."""
