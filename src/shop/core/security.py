"""Who is calling: the principal every protected route can ask for, whatever its domain.

Core holds no business rules. The users domain authenticates the bearer token and puts a
`Principal` on the request; other domains (the catalog may not import `shop.users`) read it
back from here through `PrincipalDep`.
"""

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request

from shop.core.errors import Unauthorized

PRINCIPAL_STATE_KEY = "principal"


class Role(StrEnum):
    customer = "customer"
    staff = "staff"
    admin = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    role: Role


def principal_of(request: Request) -> Principal:
    """The authenticated caller; 401 when no authentication dependency has run for this request."""
    principal: Principal | None = getattr(request.state, PRINCIPAL_STATE_KEY, None)
    if principal is None:
        raise Unauthorized("Authentication required.")
    return principal


async def get_principal(request: Request) -> Principal:
    return principal_of(request)


def set_principal(request: Request, principal: Principal) -> None:
    setattr(request.state, PRINCIPAL_STATE_KEY, principal)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
