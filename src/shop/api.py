"""The `/api/v1` router: every domain's router is mounted here."""

from fastapi import APIRouter

from shop.core.routing import ShopRoute
from shop.users.router import admin_router as users_admin_router
from shop.users.router import auth_router, me_router

api_router = APIRouter(prefix="/api/v1", route_class=ShopRoute)
api_router.include_router(auth_router)
api_router.include_router(me_router)
api_router.include_router(users_admin_router)
