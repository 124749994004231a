"""The `/api/v1` router: every domain's router is mounted here."""

from fastapi import APIRouter

from shop.core.routing import ShopRoute

api_router = APIRouter(prefix="/api/v1", route_class=ShopRoute)
