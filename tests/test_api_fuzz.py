"""Property-based fuzzing of the whole HTTP API against its own /openapi.json (schemathesis).

Requests that fit the schema and requests that break it go to a real server on the real
services. No answer may be a 5xx; status codes, content types, bodies and headers must be the
ones the schema declares; a request that breaks the schema must be refused. Two passes:

- random requests to every operation as every caller: anonymous, a customer, staff and an
  admin, `SHOP_FUZZ_MAX_EXAMPLES` of them (default 10) per operation and caller;
- the deterministic boundary cases (each limit, each way to break each field) once per
  operation, as the least privileged caller that may call it (tests/test_access_matrix.py):
  for the others they would all stop at the same 401 or 403.

The module seeds a category, products, a customer's order and the callers once; valid random
requests name those rows about half of the time, so the fuzz reaches past 404. Generation is
derandomized and keeps no example database: a run repeats the previous one.
"""

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode, HookContext
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from shop.app import create_app
from shop.core.config import Settings
from shop.core.db import unit_of_work
from shop.core.resources import Resources, open_resources
from shop.core.security import Role
from shop.products.models import Product, Variant
from shop.promotions.models import Promotion, PromotionCode
from tests.fixtures.access import ACCESS, Access
from tests.fixtures.auth import create_user
from tests.fixtures.catalog import create_category, create_products
from tests.fixtures.database import truncate_all
from tests.fixtures.orders import ADDRESS
from tests.fixtures.servers import RunningServer, run_server
from tests.fixtures.settings import make_settings, settings_env

MAX_EXAMPLES = int(os.environ.get("SHOP_FUZZ_MAX_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
CALLERS = ["anonymous", *Role]
LEAST_ALLOWED = {
    Access.public: "anonymous",
    Access.user: Role.customer,
    Access.staff: Role.staff,
    Access.admin: Role.admin,
}

# Path parameter name → values that exist in the database (see `callers`), for `flatmap_case`.
SEEDED: dict[str, list[str]] = {}


def served_schema() -> dict[str, Any]:
    """The document /openapi.json serves; building it needs the routes only, no database."""
    unused = make_settings("postgresql+asyncpg://shop@127.0.0.1:9/unused", "redis://127.0.0.1:9/0", Path("unused"))
    document: dict[str, Any] = create_app(unused).openapi()
    return document


def schema(**phases: bool) -> schemathesis.BaseSchema:
    generation = {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"}
    phase_config = {name: {"enabled": enabled} for name, enabled in phases.items()}
    return schemathesis.openapi.from_dict(
        served_schema(), config=schemathesis.Config.from_dict({"generation": generation, "phases": phase_config})
    )


RANDOM = schema(coverage=False)
BOUNDARIES = schema(fuzzing=False)


@RANDOM.hook
def flatmap_case(context: HookContext, case: Case) -> st.SearchStrategy[Case]:
    """A valid case names a seeded row instead of a random id about half of the time."""
    names = [name for name in case.path_parameters or {} if SEEDED.get(name)]
    if not names or case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return st.just(case)
    picks = st.fixed_dictionaries({name: st.none() | st.sampled_from(SEEDED[name]) for name in names})
    return picks.map(lambda values: _aimed(case, values))


def _aimed(case: Case, values: dict[str, str | None]) -> Case:
    chosen = {name: value for name, value in values.items() if value is not None}
    case.path_parameters = {**(case.path_parameters or {}), **chosen}
    return case


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[RunningServer]:
    with run_server(settings_env(settings, log_level="WARNING")) as running:
        yield running


@pytest.fixture(scope="module")
async def callers(settings: Settings, server: RunningServer) -> AsyncIterator[dict[str, dict[str, str]]]:
    """Each caller's headers, over rows seeded once for the module and removed after it."""
    async with open_resources(settings) as resources:
        try:
            yield await seed(resources, server)
        finally:
            await truncate_all(resources.database.engine)
            await resources.redis.flushdb()


async def seed(resources: Resources, server: RunningServer) -> dict[str, dict[str, str]]:
    category = await create_category(resources, "Fuzzed goods")
    products = await create_products(resources, 3, prefix="Fuzz", category_id=category)
    async with resources.database.sessionmaker() as session:
        variants = list(await session.scalars(select(Variant.id).where(Variant.product_id.in_(products))))
        slugs = list(await session.scalars(select(Product.slug).where(Product.id.in_(products))))
    accounts = {role: await create_user(resources, role=role) for role in Role}
    async with unit_of_work(resources.database) as session:
        promotion = Promotion(name="Fuzz sale", automatic=False, benefit="percent", percent_ppm=100_000)
        session.add(promotion)
        await session.flush()
        code = PromotionCode(promotion_id=promotion.id, code="FUZZ-CODE")
        session.add(code)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        order = await http.post(
            "/api/v1/orders",
            json={"shipping_address": ADDRESS, "items": [{"variant_id": str(variants[-1]), "quantity": 1}]},
            headers=accounts[Role.customer].headers,
        )
    assert order.status_code == 201, order.text
    SEEDED.update(
        category_id=[str(category)],
        product_id=[str(product) for product in products],
        variant_id=[str(variant) for variant in variants],
        slug=slugs,
        order_id=[order.json()["id"]],
        user_id=[str(account.id) for account in accounts.values()],
        promotion_id=[str(promotion.id)],
        code_id=[str(code.id)],
    )
    return {"anonymous": {}} | {role: account.headers for role, account in accounts.items()}


def test_the_fuzzed_schema_is_the_one_served(server: RunningServer) -> None:
    assert httpx.get(f"{server.base_url}/openapi.json").json() == RANDOM.raw_schema


@RANDOM.parametrize()
@pytest.mark.parametrize("caller", CALLERS, ids=str)
def test_random_requests_as_every_caller(
    case: Case, caller: str, server: RunningServer, callers: dict[str, dict[str, str]]
) -> None:
    case.call_and_validate(base_url=server.base_url, headers=callers[caller], checks=CHECKS)


@BOUNDARIES.parametrize()
def test_boundary_requests_as_the_least_privileged_caller(
    case: Case, server: RunningServer, callers: dict[str, dict[str, str]]
) -> None:
    caller = LEAST_ALLOWED[ACCESS[(case.operation.method.lower(), case.operation.path)]]
    case.call_and_validate(base_url=server.base_url, headers=callers[caller], checks=CHECKS)
