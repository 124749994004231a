"""A variant is sold under a tax class: set through the catalog admin, shown in the variant views,
checked against the tax classes (422 `unknown_tax_class`)."""

import uuid
from typing import Any

import httpx
import pytest

from tests.fixtures.auth import Account
from tests.fixtures.catalog import create, eur, new_product
from tests.fixtures.problems import assert_problem


def variant(sku: str, **fields: Any) -> dict[str, Any]:
    return {"sku": sku, "price": eur(1000), **fields}


def unknown_at(problem: dict[str, object], loc: list[object]) -> None:
    assert problem["errors"] == [{"loc": loc, "msg": "Unknown tax class", "type": "value_error"}]


async def test_a_variant_is_standard_unless_told_and_shows_its_class(client: httpx.AsyncClient, staff: Account) -> None:
    product = await create(client, staff, variants=[variant("TC-1"), variant("TC-2", tax_class="reduced")])
    assert [v["tax_class"] for v in product["variants"]] == ["standard", "reduced"]
    storefront = (await client.get(f"/api/v1/products/{product['id']}")).json()
    assert sorted(v["tax_class"] for v in storefront["variants"]) == ["reduced", "standard"]


async def test_add_and_update_a_variant_s_class(client: httpx.AsyncClient, staff: Account) -> None:
    product = await create(client, staff)
    added = await client.post(
        f"/api/v1/admin/products/{product['id']}/variants",
        json=variant("TC-3", tax_class="zero"),
        headers=staff.headers,
    )
    assert added.status_code == 201, added.text
    assert added.json()["tax_class"] == "zero"
    url = f"/api/v1/admin/variants/{added.json()['id']}"
    changed = await client.patch(url, json={"tax_class": "reduced"}, headers=staff.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["tax_class"] == "reduced"
    untouched = await client.patch(url, json={"name": "L"}, headers=staff.headers)
    assert untouched.json()["tax_class"] == "reduced"


async def test_a_product_update_keeps_a_variant_s_class_unless_given(client: httpx.AsyncClient, staff: Account) -> None:
    product = await create(client, staff, variants=[variant("TC-4", tax_class="reduced"), variant("TC-5")])
    url = f"/api/v1/admin/products/{product['id']}"
    body = {"variants": [variant("TC-4", name="renamed"), variant("TC-5", tax_class="zero")]}
    updated = await client.patch(url, json=body, headers=staff.headers)
    assert updated.status_code == 200, updated.text
    assert {v["sku"]: v["tax_class"] for v in updated.json()["variants"]} == {"TC-4": "reduced", "TC-5": "zero"}


async def test_an_unknown_class_is_422(client: httpx.AsyncClient, staff: Account) -> None:
    created = await client.post(
        "/api/v1/admin/products",
        json=new_product(variants=[variant("TC-6"), variant("TC-7", tax_class="luxury")]),
        headers=staff.headers,
    )
    unknown_at(assert_problem(created, 422, "unknown_tax_class"), ["body", "variants", 1, "tax_class"])
    product = await create(client, staff)
    added = await client.post(
        f"/api/v1/admin/products/{product['id']}/variants",
        json=variant("TC-8", tax_class="luxury"),
        headers=staff.headers,
    )
    unknown_at(assert_problem(added, 422, "unknown_tax_class"), ["body", "tax_class"])
    url = f"/api/v1/admin/variants/{product['variants'][0]['id']}"
    patched = await client.patch(url, json={"tax_class": "luxury"}, headers=staff.headers)
    unknown_at(assert_problem(patched, 422, "unknown_tax_class"), ["body", "tax_class"])
    upsert = await client.patch(
        f"/api/v1/admin/products/{product['id']}",
        json={"variants": [variant("TC-9", tax_class="luxury")]},
        headers=staff.headers,
    )
    unknown_at(assert_problem(upsert, 422, "unknown_tax_class"), ["body", "variants", 0, "tax_class"])
    # Nothing was written.
    shown = (await client.get(f"/api/v1/products/{product['id']}")).json()
    assert {v["tax_class"] for v in shown["variants"]} == {"standard"}
    assert "TC-9" not in {v["sku"] for v in shown["variants"]}


@pytest.mark.parametrize("tax_class", ["Standard", "", "x" * 41, 1, None])
async def test_a_malformed_class_is_a_validation_error(
    client: httpx.AsyncClient, staff: Account, tax_class: object
) -> None:
    product = await create(client, staff)
    response = await client.post(
        f"/api/v1/admin/products/{product['id']}/variants",
        json=variant(f"TC-{uuid.uuid4().hex[:6]}", tax_class=tax_class),
        headers=staff.headers,
    )
    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/admin/products", "post"),
        ("/api/v1/admin/products/{product_id}", "patch"),
        ("/api/v1/admin/products/{product_id}/variants", "post"),
        ("/api/v1/admin/variants/{variant_id}", "patch"),
    ],
)
async def test_every_route_taking_a_class_declares_unknown_tax_class(
    client: httpx.AsyncClient, path: str, method: str
) -> None:
    spec = (await client.get("/openapi.json")).json()
    declared = spec["paths"][path][method]["responses"]["422"]["description"]
    assert "unknown_tax_class" in declared.split(", "), declared
