"""Base schema, money and cursor pages: the shapes every domain's API shares."""

import base64
import binascii
import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from shop.core.errors import UnprocessableEntity

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class Schema(BaseModel):
    """Request and response models: unknown fields are rejected (API.md), ORM rows accepted."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class Money(Schema):
    amount: int = Field(description="Integer amount in minor units (cents).")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")


class MoneyIn(Protocol):
    """An amount of a request body: a Money, or a domain's own bounded copy of one."""

    @property
    def amount(self) -> int: ...

    @property
    def currency(self) -> str: ...


def store_amount(money: MoneyIn, currency: str, loc: Sequence[str | int]) -> int:
    """The minor units of an amount of the body, which must be in the store's currency: another
    currency is a 422 at `loc`'s `currency` (there is no conversion)."""
    if money.currency != currency:
        raise UnprocessableEntity(
            f"Amounts are in {currency}.",
            errors=[{"loc": [*loc, "currency"], "msg": f"Must be {currency}", "type": "value_error"}],
        )
    return money.amount


# An RFC 3339 date-time, as OpenAPI's `date-time` format means it: pydantic alone would also
# take a number of seconds ("0.5") for a Unix time. It is given back in UTC, which also refuses
# the instants a database cannot hold (0001-01-01T00:00:00+01:00 is in year 0).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339_only(value: object) -> object:
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        raise ValueError("Input should be an RFC 3339 date-time with a time zone, e.g. 2026-11-24T09:30:00Z")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("Input should be a date-time between the years 1 and 9999 in UTC") from None


Rfc3339Datetime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only), AfterValidator(_in_utc)]

ItemT = TypeVar("ItemT")


class Page(Schema, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = None


PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page (1..100).")]
Cursor = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page.")]


def encode_cursor(values: dict[str, Any]) -> str:
    """An opaque cursor: the sort key of the last item on a page."""
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, required: set[str]) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, dict) or not required <= values.keys():
        raise invalid_cursor()
    return values


def after_id(cursor: str | None) -> uuid.UUID | None:
    """The id a keyset page on ids (newest first) continues after; None for the first page."""
    if cursor is None:
        return None
    try:
        return uuid.UUID(str(decode_cursor(cursor, {"id"})["id"]))
    except ValueError:
        raise invalid_cursor() from None


def next_id_cursor(ids: Sequence[uuid.UUID], limit: int) -> str | None:
    """The cursor of the page after one fetched with `limit + 1` rows, or None when it was the last."""
    return encode_cursor({"id": str(ids[limit - 1])}) if len(ids) > limit else None


def invalid_cursor() -> UnprocessableEntity:
    return UnprocessableEntity(
        "The cursor is not valid.",
        errors=[{"loc": ["query", "cursor"], "msg": "Invalid cursor", "type": "value_error"}],
    )
