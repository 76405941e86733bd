"""Parsing what the user typed, shared by both backends.

``custmer orders "pay history"`` → words ``["custmer", "orders"]`` and phrase
``["pay", "history"]``; the last word counts as a prefix while the user is still typing it
(the text does not end with a space), so results appear as you type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_WORDS = 8
_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')
_WORD = re.compile(r"[^\W_]+")


@dataclass
class ParsedQuery:
    words: list[str] = field(default_factory=list)
    phrases: list[list[str]] = field(default_factory=list)
    prefix_last: bool = False

    @property
    def empty(self) -> bool:
        return not self.words and not self.phrases


def parse(text: str) -> ParsedQuery:
    """Split ``text`` into lowercase words (letters and digits; ``_``, ``.`` and punctuation
    separate words) and quoted phrases; at most ``MAX_WORDS`` words in all."""
    parsed = ParsedQuery()
    budget = MAX_WORDS
    last_was_word = False
    for match in _TOKEN.finditer((text or "").lower()):
        phrase, word = match.groups()
        parts = _WORD.findall(phrase if phrase is not None else word)[:budget]
        budget -= len(parts)
        if phrase is not None and len(parts) > 1:
            parsed.phrases.append(parts)
            last_was_word = False
        elif parts:
            parsed.words.extend(parts)
            last_was_word = phrase is None
        if budget <= 0:
            break
    parsed.prefix_last = last_was_word and not (text or "")[-1:].isspace()
    return parsed
