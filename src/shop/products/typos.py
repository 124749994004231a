"""The typo rule of catalogue search, the one Meilisearch documents.

A word of 5 to 8 letters is found with one typo, a word of 9 or more with two, and a shorter one
only as it is typed. A typo is a letter substituted, inserted, deleted, or two neighbours
swapped, anywhere in the word; a typo on the first letter counts as two (people rarely get the
first letter wrong, and a wrong first letter usually means another word).
"""

import re

_WORD = re.compile(r"[^\W_]+")  # letters and digits, as the vocabulary's trigger splits texts
MAX_WORD_LENGTH = 64


def words(text: str) -> list[str]:
    """The words of a search, as the vocabulary holds them (lower case, letters and digits)."""
    return [word for word in _WORD.findall(text.lower()) if len(word) <= MAX_WORD_LENGTH]


def typo_budget(word: str) -> int:
    """How many typos a query word may carry and still find what it means."""
    if len(word) >= 9:
        return 2
    if len(word) >= 5:
        return 1
    return 0


def typos(typed: str, meant: str) -> int:
    """The typos between what was typed and a word, the first letter's counting as two."""
    distance = _optimal_string_alignment(typed, meant)
    if typed[:1] != meant[:1]:
        distance += 1
    return distance


def is_typo_of(typed: str, meant: str) -> bool:
    return typed != meant and typos(typed, meant) <= typo_budget(typed)


def _optimal_string_alignment(a: str, b: str) -> int:
    """Levenshtein distance where swapping two neighbours is one edit (Damerau's restricted form)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]
