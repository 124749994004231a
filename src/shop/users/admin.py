"""Staff account routes under `/admin/users`: the user list, roles and activation (API.md, "Accounts")."""

import uuid
from typing import Annotated

from fastapi import Depends, Query

from shop.core.deps import SessionDep
from shop.core.errors import error_responses
from shop.core.routing import shop_router
from shop.core.schemas import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize
from shop.core.security import Role
from shop.users import schemas
from shop.users.dependencies import STAFF_ERRORS, AdminUser, require_admin
from shop.users.errors import CannotChangeOwnAccess, UserNotFound
from shop.users.models import User
from shop.users.service import users

router = shop_router(
    prefix="/admin/users",
    tags=["admin: users"],
    dependencies=[Depends(require_admin)],
    responses=error_responses(*STAFF_ERRORS),
)


@router.get("")
async def list_users(
    session: SessionDep,
    role: Annotated[Role | None, Query(description="Only users with this role.")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Part of the email or the full name.")] = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[schemas.AdminUserView]:
    """Users, newest first, filtered by role and by a search over email and full name."""
    return await users.page(session, limit=limit, cursor=cursor, role=role, search=q)


@router.patch(
    "/{user_id}",
    response_model=schemas.AdminUserView,
    responses=error_responses(UserNotFound, CannotChangeOwnAccess),
)
async def update_user(user_id: uuid.UUID, body: schemas.AdminUserUpdate, admin: AdminUser, session: SessionDep) -> User:
    """Change a user's role, activation or customer groups; deactivation ends their logins and tokens at once."""
    return await users.update_access(session, actor=admin, user_id=user_id, data=body)
