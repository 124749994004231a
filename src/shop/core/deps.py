"""Annotated dependency aliases shared by every domain's routes.

Every dependency is `async def`: FastAPI runs a plain `def` dependency in a thread pool, a
hop that costs more than these lookups themselves.
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.config import Settings
from shop.core.resources import Resources

# Where the request's session lives, for `ShopRoute` to commit it.
SESSION_STATE_KEY = "db_session"


def resources_of(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def get_resources(request: Request) -> Resources:
    return resources_of(request)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; `ShopRoute` commits it before the response is sent."""
    async with resources_of(request).database.sessionmaker() as session:
        setattr(request.state, SESSION_STATE_KEY, session)
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read-only session for catalogue reads that may lag a little: on the replica when set.

    Only for reads that need not see the client's own writes just made (the storefront
    catalogue); everything else, admin reads included, takes `SessionDep` on the primary.
    """
    async with resources_of(request).database.read_session() as session:
        yield session


async def get_settings_dep(request: Request) -> Settings:
    return resources_of(request).settings


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ResourcesDep = Annotated[Resources, Depends(get_resources)]
