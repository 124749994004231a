"""Search forgives typos by Meilisearch's documented rule, checked for every typo kind at every position.

A word of 5 to 8 letters is found with one typo, one of 9 or more with two; a typo is a letter
substituted, inserted, deleted or two neighbours swapped; a typo on the first letter counts as
two. The expectations below restate that rule on their own terms (not through the shop's code).
"""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from shop.core.db import new_id, unit_of_work
from shop.core.resources import Resources
from shop.products.models import Product
from shop.products.typos import is_typo_of, typos

# One product per word, each word of another length; none is a typo of another.
WORDS = ["linen", "canvas", "leather", "cashmere", "corduroys", "waterproof", "windbreaker"]


def _other(letter: str) -> str:
    return "z" if letter != "z" else "y"


def one_typo(word: str) -> Iterator[tuple[str, str, int]]:
    """(kind, typed, position) for every single typo of `word`."""
    for i, letter in enumerate(word):
        yield "substituted", word[:i] + _other(letter) + word[i + 1 :], i
        yield "deleted", word[:i] + word[i + 1 :], i
    for i in range(len(word) + 1):
        yield "inserted", word[:i] + "z" + word[i:], i
    for i in range(len(word) - 1):
        if word[i] != word[i + 1]:
            yield "swapped", word[:i] + word[i + 1] + word[i] + word[i + 2 :], i


def two_typos(word: str) -> Iterator[tuple[str, str, bool]]:
    """(description, typed, touches the first letter) for substitutions at two positions."""
    for i in range(len(word)):
        for j in range(i + 2, len(word)):
            typed = word[:i] + _other(word[i]) + word[i + 1 : j] + _other(word[j]) + word[j + 1 :]
            yield f"substituted at {i} and {j}", typed, i == 0


def found_with_one_typo(typed: str, on_first_letter: bool) -> bool:
    if on_first_letter:  # counts as two
        return len(typed) >= 9
    return len(typed) >= 5


@pytest.fixture
async def catalog(resources: Resources) -> None:
    rows = [
        {"id": new_id(), "slug": f"{word}-{index}", "name": word.capitalize(), "description": "", "images": []}
        for index, word in enumerate(WORDS)
    ]
    async with unit_of_work(resources.database) as session:
        await session.execute(insert(Product), rows)


async def search(client: httpx.AsyncClient, q: str, **params: Any) -> list[str]:
    response = await client.get("/api/v1/products", params={"q": q, "limit": 100, **params})
    assert response.status_code == 200, response.text
    return [item["name"].lower() for item in response.json()["items"]]


@pytest.mark.usefixtures("catalog")
class TestTheRule:
    async def test_every_single_typo_at_every_position(self, client: httpx.AsyncClient) -> None:
        wrong = []
        for word in WORDS:
            for kind, typed, position in one_typo(word):
                on_first_letter = position == 0
                expected = found_with_one_typo(typed, on_first_letter)
                if (word in await search(client, typed)) != expected:
                    wrong.append(f"{typed!r} ({kind} at {position} of {word!r}): expected found={expected}")
        assert wrong == []

    async def test_two_typos_only_in_words_of_nine_letters_or_more(self, client: httpx.AsyncClient) -> None:
        wrong = []
        for word in WORDS:
            for description, typed, on_first_letter in two_typos(word):
                expected = len(typed) >= 9 and not on_first_letter  # the first letter's counts two: three
                if (word in await search(client, typed)) != expected:
                    wrong.append(f"{typed!r} ({description} of {word!r}): expected found={expected}")
        assert wrong == []

    async def test_a_substitution_in_the_middle_of_a_ten_letter_name(self, client: httpx.AsyncClient) -> None:
        assert await search(client, "watarproof") == ["waterproof"]

    async def test_words_under_five_letters_are_found_only_as_typed(
        self, client: httpx.AsyncClient, resources: Resources
    ) -> None:
        async with unit_of_work(resources.database) as session:
            await session.execute(insert(Product), [{"id": new_id(), "slug": "silk", "name": "Silk", "images": []}])
        assert await search(client, "silk") == ["silk"]
        assert await search(client, "sulk") == []


class TestRanking:
    async def test_exact_matches_come_first_and_every_word_must_match(
        self, client: httpx.AsyncClient, resources: Resources
    ) -> None:
        names = ["Linen Shorts", "Linen Shirt", "Canvas Shirt"]
        async with unit_of_work(resources.database) as session:
            await session.execute(
                insert(Product),
                [{"id": new_id(), "slug": f"p-{i}", "name": name, "images": []} for i, name in enumerate(names)],
            )
        # "shirts" is no word of the catalog: it may mean "shirt" or "shorts"; "Linen Shirt"
        # matches it as typed (stemmed), so it ranks first.
        assert await search(client, "linen shirts", sort="relevance") == ["linen shirt", "linen shorts"]
        assert await search(client, "lnien shirt", sort="relevance") == ["linen shirt"]
        assert await search(client, "canvas shrit") == ["canvas shirt"]

    async def test_a_search_with_operators_means_exactly_what_it_says(
        self, client: httpx.AsyncClient, resources: Resources
    ) -> None:
        async with unit_of_work(resources.database) as session:
            await session.execute(insert(Product), [{"id": new_id(), "slug": "l", "name": "Linen Shirt", "images": []}])
        assert await search(client, '"linen shrit"') == []
        assert await search(client, "linen -shrit") == ["linen shirt"]


class TestTheRuleItself:
    @pytest.mark.parametrize(
        ("typed", "meant", "count"),
        [
            ("shrit", "shirt", 1),
            ("hsirt", "shirt", 2),
            ("shirt", "shirt", 0),
            ("sirt", "shirt", 1),
            ("xshirt", "shirt", 2),
        ],
    )
    def test_typos_are_counted_with_the_first_letter_as_two(self, typed: str, meant: str, count: int) -> None:
        assert typos(typed, meant) == count

    def test_the_same_word_is_no_typo(self) -> None:
        assert not is_typo_of("linen", "linen")
