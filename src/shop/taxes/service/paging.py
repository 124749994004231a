"""The keyset cursor the tax lists share: the id of a page's last row."""

import uuid

from shop.core.schemas import decode_cursor, encode_cursor, invalid_cursor


def after_id(cursor: str | None) -> uuid.UUID | None:
    if cursor is None:
        return None
    try:
        return uuid.UUID(str(decode_cursor(cursor, {"id"})["id"]))
    except ValueError:
        raise invalid_cursor() from None


def next_cursor(ids: list[uuid.UUID], limit: int) -> str | None:
    """The cursor of the page after one fetched with `limit + 1` rows, or None when it was the last."""
    return encode_cursor({"id": str(ids[limit - 1])}) if len(ids) > limit else None
