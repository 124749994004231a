"""Annotated dependency aliases shared by every domain's routes."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.cache import Cache
from shop.core.config import Settings
from shop.core.resources import Resources

# Where the request's session lives, for `ShopRoute` to commit it.
SESSION_STATE_KEY = "db_session"


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; `ShopRoute` commits it before the response is sent."""
    async with get_resources(request).database.sessionmaker() as session:
        setattr(request.state, SESSION_STATE_KEY, session)
        yield session


def get_cache(request: Request) -> Cache:
    return get_resources(request).cache


def get_settings_dep(request: Request) -> Settings:
    return get_resources(request).settings


SessionDep = Annotated[AsyncSession, Depends(get_session)]
CacheDep = Annotated[Cache, Depends(get_cache)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ResourcesDep = Annotated[Resources, Depends(get_resources)]
