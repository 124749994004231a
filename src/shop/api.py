"""The `/api/v1` router: every domain's router is mounted here.

Staff-only routers of domains that know nothing of accounts (the catalog, taxes, shipping,
promotions) get their role guard here, where the app is wired together: taxes and shipping
are read by staff and changed only by an admin; promotions are managed by staff.
"""

from fastapi import Depends

from shop.core.errors import error_responses
from shop.core.jobs import router as jobs_router
from shop.core.routing import shop_router
from shop.orders.admin import router as orders_admin_router
from shop.orders.router import cart_router, orders_router, payments_router
from shop.products.admin import router as catalog_admin_router
from shop.products.router import router as catalog_router
from shop.promotions.admin import router as promotions_admin_router
from shop.shipping.admin import read_router as shipping_read_router
from shop.shipping.admin import write_router as shipping_write_router
from shop.taxes.admin import read_router as taxes_read_router
from shop.taxes.admin import write_router as taxes_write_router
from shop.users.admin import router as users_admin_router
from shop.users.dependencies import STAFF_ERRORS, require_admin, require_staff
from shop.users.router import auth_router, me_router

api_router = shop_router(prefix="/api/v1")
# Routes are matched in order: the storefront catalogue, most of the traffic, is tried first.
api_router.include_router(catalog_router)
api_router.include_router(auth_router)
api_router.include_router(me_router)
api_router.include_router(users_admin_router)
for staff_router in (
    catalog_admin_router,
    promotions_admin_router,
    jobs_router,
    taxes_read_router,
    shipping_read_router,
):
    api_router.include_router(
        staff_router, dependencies=[Depends(require_staff)], responses=error_responses(*STAFF_ERRORS)
    )
for admin_router in (taxes_write_router, shipping_write_router):
    api_router.include_router(
        admin_router, dependencies=[Depends(require_admin)], responses=error_responses(*STAFF_ERRORS)
    )
api_router.include_router(cart_router)
api_router.include_router(orders_router)
api_router.include_router(orders_admin_router)
api_router.include_router(payments_router)
