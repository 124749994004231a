"""The storefront listing: filters, full-text and typo-tolerant search, keyset pages.

Every sort ends in the product id, so the order is total and a page continues exactly where the
previous one stopped (no OFFSET: a deep page costs what the first one does).
"""

import functools
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    select,
    tuple_,
)
from sqlalchemy.orm import joinedload, selectinload

from shop.core.schemas import decode_cursor, encode_cursor, invalid_cursor
from shop.products.models import NO_PRICE, Product, Variant
from shop.products.typos import words

_OPERATORS = re.compile(r'"|(?:^|\s)-|\bor\b', re.IGNORECASE)


class Sort(StrEnum):
    relevance = "relevance"
    price = "price"
    price_desc = "-price"
    name = "name"
    newest = "-created_at"


@dataclass(frozen=True, slots=True)
class ListingQuery:
    q: str | None = None
    # None: no category filter; an empty list: a category that does not exist (empty page).
    category_ids: Sequence[uuid.UUID] | None = None
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool | None = None
    sort: Sort = Sort.newest
    limit: int = 20
    cursor: str | None = None


def visible() -> ColumnElement[bool]:
    return and_(Product.is_active.is_(True), Product.archived_at.is_(None))


def is_plain_search(q: str) -> bool:
    """Words only: no "phrase", -exclusion or OR, which mean exactly what they say (no typo)."""
    return not _OPERATORS.search(q)


def _search(q: str, corrections: Mapping[str, Sequence[str]]) -> tuple[ColumnElement[bool], ColumnElement[float]]:
    """Matches by words (stemmed; "phrases", -exclusions and OR as web search engines take them).

    A word of a plain search that is no word of the catalog also matches the words it may be a
    typo of (`corrections`, products/typos.py), and products matching every word as typed rank
    first.
    """
    typed = func.websearch_to_tsquery("english", q)
    if not any(corrections.values()):
        return Product.search.op("@@")(typed), _rank(typed, q)
    query = _all_of([_any_of([word, *corrections.get(word, [])]) for word in words(q)])
    exact_first = case((Product.search.op("@@")(typed), EXACT_MATCH_WEIGHT), else_=0.0)
    return Product.search.op("@@")(query), exact_first + _rank(query, q)


# Above any text rank: a product matching the search as typed comes before a corrected match.
EXACT_MATCH_WEIGHT = 100.0


def _rank(query: ColumnElement[Any], q: str) -> ColumnElement[float]:
    return cast(func.ts_rank_cd(Product.search, query), Float) + func.word_similarity(q, Product.name)


def _any_of(alternatives: Sequence[str]) -> ColumnElement[Any]:
    queries = [func.plainto_tsquery("english", word) for word in alternatives]
    return functools.reduce(lambda left, right: left.op("||")(right), queries)


def _all_of(queries: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    return functools.reduce(lambda left, right: left.op("&&")(right), queries)


def _sort_keys(sort: Sort, rank: ColumnElement[float] | None) -> tuple[list[ColumnElement[Any]], bool]:
    """The ordering expressions (id last) and whether they descend."""
    first: ColumnElement[Any]
    if sort is Sort.relevance:
        assert rank is not None
        first, descending = rank, True
    elif sort is Sort.price:
        first, descending = Product.price_sort.expression, False
    elif sort is Sort.price_desc:
        # Unpriced products (no active variant) last here too.
        first, descending = case((Product.price_sort == NO_PRICE, -1), else_=Product.price_sort), True
    elif sort is Sort.name:
        first, descending = Product.name.expression, False
    else:
        first, descending = Product.created_at.expression, True
    return [first, Product.id.expression], descending


def _cursor_values(sort: Sort, cursor: str) -> list[Any]:
    values = decode_cursor(cursor, {"s", "k"})
    keys = values["k"]
    if values["s"] != sort.value or not isinstance(keys, list) or len(keys) != 2:
        raise invalid_cursor()
    first = keys[0]
    try:
        if sort is Sort.newest:
            first = _instant(first)
        elif not _cursor_key_fits(sort, first):
            raise TypeError
        return [first, uuid.UUID(str(keys[1]))]
    except (TypeError, ValueError, OverflowError):
        raise invalid_cursor() from None


def _instant(value: str) -> datetime:
    """A cursor's creation time, refused unless PostgreSQL can compare it (aware, years 1..9999 in UTC)."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError
    return moment.astimezone(UTC)


# A cursor is opaque but can be forged: its key must fit the column it is compared with, or the
# database refuses the query (a bigint out of range, a NaN rank).
_BIGINT = range(-(2**63), 2**63)


def _cursor_key_fits(sort: Sort, value: object) -> bool:
    if sort is Sort.name:
        return isinstance(value, str)
    if isinstance(value, bool):
        return False
    if sort is Sort.relevance:
        return isinstance(value, int | float) and math.isfinite(value)
    return isinstance(value, int) and value in _BIGINT


def build_listing(
    query: ListingQuery, corrections: Mapping[str, Sequence[str]] | None = None
) -> tuple[Select[Any], list[ColumnElement[Any]]]:
    """The listing's statement and sort keys; `corrections` maps typed words to what they may mean."""
    rank: ColumnElement[float] | None = None
    statement = select(Product).where(visible())
    if query.q:
        matches, rank = _search(query.q, corrections or {})
        statement = statement.where(matches)
    if query.category_ids is not None:
        statement = statement.where(Product.category_id.in_(query.category_ids) if query.category_ids else false())
    statement = _variant_filters(statement, query)

    keys, descending = _sort_keys(query.sort, rank)
    if query.cursor:
        after = _cursor_values(query.sort, query.cursor)
        bound = tuple_(*keys)
        statement = statement.where(bound < tuple_(*after) if descending else bound > tuple_(*after))
    order = [key.desc() for key in keys] if descending else keys
    statement = (
        statement.add_columns(*keys)
        .order_by(*order)
        .limit(query.limit + 1)
        .options(joinedload(Product.category), selectinload(Product.variants))
    )
    return statement, keys


def _variant_filters(statement: Select[Any], query: ListingQuery) -> Select[Any]:
    active = and_(Variant.product_id == Product.id, Variant.is_active.is_(True))
    if query.min_price is not None or query.max_price is not None:
        in_range = [active]
        if query.min_price is not None:
            in_range.append(Variant.price_amount >= query.min_price)
        if query.max_price is not None:
            in_range.append(Variant.price_amount <= query.max_price)
        statement = statement.where(exists().where(*in_range))
    if query.in_stock is not None:
        available = exists().where(active, Variant.stock > 0)
        statement = statement.where(available if query.in_stock else ~available)
    return statement


def next_cursor(sort: Sort, last_keys: Sequence[Any], depth: int | None) -> str:
    """The cursor of the page after one at `depth` (1 for the first; None when unknown)."""
    first = last_keys[0].isoformat() if isinstance(last_keys[0], datetime) else last_keys[0]
    values: dict[str, Any] = {"s": sort.value, "k": [first, str(last_keys[1])]}
    if depth is not None:
        # Which page it leads to: the cache keeps only the first few pages of a listing.
        values["p"] = depth + 1
    return encode_cursor(values)


def page_depth(sort: Sort, cursor: str | None) -> int | None:
    """Which page of its listing `cursor` leads to (1 without one); None when it does not say.

    A cursor that is not valid for `sort` is refused here, before the cache: a load shared by
    concurrent requests for one page must not fail for all of them because one sent a bad cursor.
    """
    if cursor is None:
        return 1
    _cursor_values(sort, cursor)
    depth = decode_cursor(cursor, {"s", "k"}).get("p")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 2:
        return None
    return depth
