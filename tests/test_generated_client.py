"""A typed client generated from the live /openapi.json runs a storefront flow with no hand edits.

openapi-python-client (a common generator) reads the document a real `shop serve` serves, once
for the module, and must not warn about any of it; then every call of the flow goes through the
generated functions and comes back parsed into the generated models. Whatever it receives is
also held to the document by tests/fixtures/contract.py, as every response of the suite is.
"""

import importlib
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from shop.core.config import Settings
from shop.core.resources import Resources
from shop.core.security import Role
from tests.fixtures.auth import create_user
from tests.fixtures.orders import ADDRESS
from tests.fixtures.servers import RunningServer, run_server
from tests.fixtures.settings import settings_env

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "shop_client"
# No formatting of the generated code: nothing here reads it, and ruff need not be on the PATH.
CONFIG = "post_hooks: []\n"


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[RunningServer]:
    with run_server(settings_env(settings, log_level="WARNING")) as running:
        yield running


@pytest.fixture(scope="module")
def generated(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package, generated from what the server serves and imported."""
    workdir = tmp_path_factory.mktemp("generated")
    document = workdir / "openapi.json"
    document.write_bytes(httpx.get(f"{server.base_url}/openapi.json").raise_for_status().content)
    config = workdir / "config.yaml"
    config.write_text(CONFIG)
    command = [str(GENERATOR), "generate", "--path", str(document), "--config", str(config)]
    command += ["--output-path", str(workdir / PACKAGE), "--meta", "none", "--fail-on-warning"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


OpenClient = Callable[..., Awaitable[Any]]


@pytest.fixture
async def opened(generated: ModuleType, server: RunningServer) -> AsyncIterator[OpenClient]:
    """Opens a generated client (authenticated with a token, when given), closed after the test."""
    async with AsyncExitStack() as clients:

        async def open_client(token: str | None = None) -> Any:
            options = {"base_url": server.base_url, "raise_on_unexpected_status": True}
            made = generated.AuthenticatedClient(token=token, **options) if token else generated.Client(**options)
            return await clients.enter_async_context(made)

        yield open_client


def module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


async def test_a_storefront_flow_through_the_generated_client(
    generated: ModuleType, opened: OpenClient, resources: Resources
) -> None:
    def api(name: str) -> Any:
        return module(generated, f"api.{name}")

    models = module(generated, "models")
    client = await opened()

    # Staff: an admin logs in and creates a product.
    admin = await create_user(resources, role=Role.admin)
    admin_tokens = await api("auth.log_in").asyncio(
        client=client, body=models.LogInForm(username=admin.email, password=admin.password)
    )
    assert isinstance(admin_tokens, models.TokenPair)
    staff = await opened(admin_tokens.access_token)
    price = models.Money(amount=3900, currency="EUR")
    variant = models.VariantCreate(sku="LIN-SHIRT-M", name="M", price=price, stock=5)
    product = await api("catalog_admin.create_product").asyncio(
        client=staff, body=models.ProductCreate(name="Linen Shirt", variants=[variant])
    )
    assert isinstance(product, models.Product)
    variant_id = product.variants[0].id

    # A customer registers, logs in and finds it, with a typo.
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    user = await api("auth.register_user").asyncio(
        client=client,
        body=models.UserCreate(email=email, password="correct horse battery", full_name="Ada Lovelace"),
    )
    assert isinstance(user, models.User)
    tokens = await api("auth.log_in").asyncio(
        client=client, body=models.LogInForm(username=email, password="correct horse battery")
    )
    assert isinstance(tokens, models.TokenPair)
    customer = await opened(tokens.access_token)
    found = await api("catalog.list_products").asyncio(client=client, q="linnen shirt")
    assert isinstance(found, models.PageProduct)
    assert [item.id for item in found.items] == [product.id]

    # A copy still current costs a 304, read through the typed response.
    first = await api("catalog.get_product").asyncio_detailed(product.id, client=client)
    assert first.status_code == 200 and isinstance(first.parsed, models.Product)
    etag = first.headers["ETag"]
    unchanged = await api("catalog.get_product").asyncio_detailed(product.id, client=client, if_none_match=etag)
    assert unchanged.status_code == 304
    assert unchanged.parsed is None
    assert unchanged.headers["ETag"] == etag

    # The cart, and a checkout that a retry with the same key replays.
    cart = await api("cart.put_cart_item").asyncio(variant_id, client=customer, body=models.CartItemUpdate(quantity=2))
    assert isinstance(cart, models.Cart) and cart.item_count == 2
    checkout = models.OrderCreate(shipping_address=models.Address.from_dict(ADDRESS))
    placed = await api("orders.place_order").asyncio_detailed(client=customer, body=checkout, idempotency_key="co-1")
    assert placed.status_code == 201 and isinstance(placed.parsed, models.Order)
    assert "Idempotent-Replayed" not in placed.headers
    replayed = await api("orders.place_order").asyncio_detailed(client=customer, body=checkout, idempotency_key="co-1")
    assert replayed.status_code == 201 and isinstance(replayed.parsed, models.Order)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.parsed.id == placed.parsed.id
    order = placed.parsed
    assert order.status == models.OrderStatus.PENDING_PAYMENT
    assert order.total.amount == 2 * 3900

    # Paying, and the order in the customer's list.
    paid = await api("orders.pay_order").asyncio(
        order.id, client=customer, body=models.PaymentRequest(payment_token="tok_success"), idempotency_key="pay-1"
    )
    assert isinstance(paid, models.Order) and paid.status == models.OrderStatus.PAID
    orders = await api("orders.list_orders").asyncio(client=customer)
    assert isinstance(orders, models.PageOrder)
    assert [(listed.id, listed.status) for listed in orders.items] == [(order.id, models.OrderStatus.PAID)]

    # A refusal comes back as the typed problem, its validation errors typed too.
    refused = await api("orders.place_order").asyncio(
        client=customer, body=models.OrderCreate(shipping_address=models.Address.from_dict(ADDRESS))
    )
    assert isinstance(refused, models.Problem)
    assert refused.code == "empty_order"
    invalid = await api("catalog.list_products").asyncio(client=client, limit=0)
    assert isinstance(invalid, models.Problem) and invalid.code == "validation_error"
    assert isinstance(invalid.errors, list)
    assert [(error.loc, error.type_) for error in invalid.errors] == [(["query", "limit"], "greater_than_equal")]
