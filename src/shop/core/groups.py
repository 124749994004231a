"""Customer groups: the labels an admin gives accounts ("wholesale", "vip") and a promotion may be
limited to. One type for both sides, so an account's groups and a promotion's always compare equal."""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

GROUP_MAX_LENGTH = 40
MAX_GROUPS = 20


def _distinct(groups: list[str]) -> list[str]:
    # The first occurrence keeps its place: what the admin sent, without the repeats.
    return list(dict.fromkeys(groups))


CustomerGroup = Annotated[
    str,
    StringConstraints(min_length=1, max_length=GROUP_MAX_LENGTH, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$"),
    Field(description="A lower-case slug, e.g. `wholesale`."),
]
CustomerGroups = Annotated[
    list[CustomerGroup],
    Field(max_length=MAX_GROUPS, description=f"At most {MAX_GROUPS}; repeats are dropped."),
    AfterValidator(_distinct),
]
