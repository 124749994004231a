"""Promotion codes: one by one, bulk-generated (unique under concurrency), listed, exported as CSV, deleted."""

import asyncio
import csv
import importlib
import io
import re
import secrets
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shop.core.resources import Resources
from shop.promotions.models import PromotionCode
from tests.fixtures.auth import Account
from tests.fixtures.problems import assert_problem
from tests.fixtures.promotion_admin import PROMOTIONS, create_promotion, set_code_uses

CODE_IDS = "/api/v1/admin/promotion-codes"
RANDOM_PART = re.compile(r"^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]+$")
# The module, not the singleton the service package exports under the same name.
generation = importlib.import_module("shop.promotions.service.codes")
repository = importlib.import_module("shop.promotions.repository")


@pytest.fixture
async def promotion(client: httpx.AsyncClient, staff: Account) -> str:
    created = await create_promotion(client, staff.headers)
    return str(created["id"])


async def all_codes(resources: Resources, promotion_id: str) -> list[str]:
    async with resources.database.sessionmaker() as session:
        query = select(PromotionCode.code).where(PromotionCode.promotion_id == uuid.UUID(promotion_id))
        return list(await session.scalars(query))


class TestOneCode:
    async def test_a_code_is_stored_upper_case(self, client: httpx.AsyncClient, staff: Account, promotion: str) -> None:
        response = await client.post(
            f"{PROMOTIONS}/{promotion}/codes", json={"code": "winter-2026_a", "max_uses": 3}, headers=staff.headers
        )
        assert response.status_code == 201, response.text
        code = response.json()
        assert (code["code"], code["max_uses"], code["uses"], code["promotion_id"]) == (
            "WINTER-2026_A",
            3,
            0,
            promotion,
        )

    async def test_a_taken_code_in_any_case_and_any_promotion_is_a_409(
        self, client: httpx.AsyncClient, staff: Account, promotion: str
    ) -> None:
        other = (await create_promotion(client, staff.headers, name="Other"))["id"]
        assert (
            await client.post(f"{PROMOTIONS}/{promotion}/codes", json={"code": "SPRING"}, headers=staff.headers)
        ).status_code == 201
        for target, code in ((promotion, "spring"), (other, "Spring")):
            response = await client.post(f"{PROMOTIONS}/{target}/codes", json={"code": code}, headers=staff.headers)
            assert_problem(response, 409, "code_taken")

    async def test_two_concurrent_creates_of_one_code_give_one_201_and_one_409(
        self, client: httpx.AsyncClient, staff: Account, promotion: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Both requests find the code free before either writes it: the unique index decides.
        both_checked = asyncio.Barrier(2)
        code_exists = repository.code_exists

        async def checked_together(*args: Any, **kwargs: Any) -> bool:
            exists = bool(await code_exists(*args, **kwargs))
            await asyncio.wait_for(both_checked.wait(), 10)
            return exists

        monkeypatch.setattr(repository, "code_exists", checked_together)
        url = f"{PROMOTIONS}/{promotion}/codes"
        responses = await asyncio.gather(
            client.post(url, json={"code": "RACE"}, headers=staff.headers),
            client.post(url, json={"code": "race"}, headers=staff.headers),
        )
        assert sorted(response.status_code for response in responses) == [201, 409], [r.text for r in responses]
        assert_problem(next(r for r in responses if r.status_code == 409), 409, "code_taken")

    async def test_an_automatic_promotion_takes_no_code(self, client: httpx.AsyncClient, staff: Account) -> None:
        automatic = (await create_promotion(client, staff.headers, automatic=True))["id"]
        for path, body in (("codes", {"code": "AUTO"}), ("codes/bulk", {"count": 5})):
            response = await client.post(f"{PROMOTIONS}/{automatic}/{path}", json=body, headers=staff.headers)
            assert_problem(response, 409, "promotion_is_automatic")

    @pytest.mark.parametrize(
        "body",
        [
            {"code": "AB"},
            {"code": "A" * 41},
            {"code": "TWO WORDS"},
            {"code": "ÉTÉ2026"},
            {"code": "PROMO!"},
            {"code": 123456},
            {"code": "VALID", "max_uses": 0},
            {"code": "VALID", "uses": 1},
            {},
            {"code": "-1-1"},
            {"code": "_ABC"},
        ],
        ids=[
            "short",
            "long",
            "space",
            "accent",
            "punctuation",
            "number",
            "max-uses-0",
            "extra",
            "empty",
            "formula",
            "underscore-first",
        ],
    )
    async def test_invalid_codes_are_a_422(
        self, client: httpx.AsyncClient, staff: Account, promotion: str, body: dict[str, Any]
    ) -> None:
        response = await client.post(f"{PROMOTIONS}/{promotion}/codes", json=body, headers=staff.headers)
        assert_problem(response, 422, "validation_error")

    async def test_an_unknown_promotion_is_a_404(self, client: httpx.AsyncClient, staff: Account) -> None:
        some = uuid.uuid4()
        for method, path, body in (
            ("POST", f"{PROMOTIONS}/{some}/codes", {"code": "NOWHERE"}),
            ("POST", f"{PROMOTIONS}/{some}/codes/bulk", {"count": 2}),
            ("GET", f"{PROMOTIONS}/{some}/codes", None),
            ("GET", f"{PROMOTIONS}/{some}/codes.csv", None),
            ("DELETE", f"{CODE_IDS}/{some}", None),
        ):
            assert_problem(await client.request(method, path, json=body, headers=staff.headers), 404, "not_found")

    async def test_a_deleted_code_can_be_added_again(
        self, client: httpx.AsyncClient, staff: Account, promotion: str
    ) -> None:
        url = f"{PROMOTIONS}/{promotion}/codes"
        code = (await client.post(url, json={"code": "AGAIN"}, headers=staff.headers)).json()
        response = await client.delete(f"{CODE_IDS}/{code['id']}", headers=staff.headers)
        assert (response.status_code, response.content) == (204, b"")
        assert_problem(await client.delete(f"{CODE_IDS}/{code['id']}", headers=staff.headers), 404, "not_found")
        assert (await client.post(url, json={"code": "again"}, headers=staff.headers)).status_code == 201


class TestList:
    async def test_newest_first_in_pages(self, client: httpx.AsyncClient, staff: Account, promotion: str) -> None:
        url = f"{PROMOTIONS}/{promotion}/codes"
        for n in range(5):
            await client.post(url, json={"code": f"CODE-{n}"}, headers=staff.headers)
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(url, params=params, headers=staff.headers)).json()
            seen += [item["code"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [f"CODE-{n}" for n in reversed(range(5))]

    async def test_only_the_promotions_own_codes(
        self, client: httpx.AsyncClient, staff: Account, promotion: str
    ) -> None:
        other = (await create_promotion(client, staff.headers, name="Other"))["id"]
        await client.post(f"{PROMOTIONS}/{other}/codes", json={"code": "THEIRS"}, headers=staff.headers)
        await client.post(f"{PROMOTIONS}/{promotion}/codes", json={"code": "MINE"}, headers=staff.headers)
        page = (await client.get(f"{PROMOTIONS}/{promotion}/codes", headers=staff.headers)).json()
        assert [item["code"] for item in page["items"]] == ["MINE"]


class TestBulk:
    async def test_a_thousand_unique_single_use_codes(
        self, client: httpx.AsyncClient, staff: Account, promotion: str, resources: Resources
    ) -> None:
        response = await client.post(
            f"{PROMOTIONS}/{promotion}/codes/bulk", json={"count": 1000, "prefix": "xmas-"}, headers=staff.headers
        )
        assert response.status_code == 201, response.text
        assert response.json() == {"created": 1000, "prefix": "XMAS-"}
        made = await all_codes(resources, promotion)
        assert len(made) == len(set(made)) == 1000
        assert all(code.startswith("XMAS-") and RANDOM_PART.fullmatch(code[5:]) and len(code) == 13 for code in made)
        page = (await client.get(f"{PROMOTIONS}/{promotion}/codes", headers=staff.headers)).json()
        assert {item["max_uses"] for item in page["items"]} == {1}

    async def test_length_and_max_uses(self, client: httpx.AsyncClient, staff: Account, promotion: str) -> None:
        body = {"count": 3, "length": 16, "max_uses": None}
        response = await client.post(f"{PROMOTIONS}/{promotion}/codes/bulk", json=body, headers=staff.headers)
        assert response.json() == {"created": 3, "prefix": None}
        items = (await client.get(f"{PROMOTIONS}/{promotion}/codes", headers=staff.headers)).json()["items"]
        assert [(len(item["code"]), item["max_uses"]) for item in items] == [(16, None)] * 3

    async def test_a_code_that_exists_is_skipped_and_made_up_for(
        self, client: httpx.AsyncClient, staff: Account, promotion: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        other = (await create_promotion(client, staff.headers, name="Other"))["id"]
        await client.post(f"{PROMOTIONS}/{other}/codes", json={"code": "DUP-AAAAAA"}, headers=staff.headers)
        draws = iter(["DUP-AAAAAA", "DUP-BBBBBB", "DUP-CCCCCC", "DUP-DDDDDD"])
        monkeypatch.setattr(generation, "random_code", lambda prefix, length: next(draws))
        body = {"count": 3, "prefix": "DUP-", "length": 6}
        response = await client.post(f"{PROMOTIONS}/{promotion}/codes/bulk", json=body, headers=staff.headers)
        assert response.json() == {"created": 3, "prefix": "DUP-"}
        items = (await client.get(f"{PROMOTIONS}/{promotion}/codes", headers=staff.headers)).json()["items"]
        assert sorted(item["code"] for item in items) == ["DUP-BBBBBB", "DUP-CCCCCC", "DUP-DDDDDD"]

    async def test_a_space_used_up_is_a_409_and_adds_nothing(
        self, client: httpx.AsyncClient, staff: Account, promotion: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await client.post(f"{PROMOTIONS}/{promotion}/codes", json={"code": "ONLY-ONE"}, headers=staff.headers)
        monkeypatch.setattr(generation, "random_code", lambda prefix, length: "ONLY-ONE")
        response = await client.post(f"{PROMOTIONS}/{promotion}/codes/bulk", json={"count": 2}, headers=staff.headers)
        assert_problem(response, 409, "code_taken")
        items = (await client.get(f"{PROMOTIONS}/{promotion}/codes", headers=staff.headers)).json()["items"]
        assert [item["code"] for item in items] == ["ONLY-ONE"]

    async def test_concurrent_runs_on_one_prefix_give_distinct_codes(
        self,
        client: httpx.AsyncClient,
        staff: Account,
        promotion: str,
        resources: Resources,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # A space of 3,000 codes for up to 1,000: the runs collide, with each other and themselves, and top up.
        monkeypatch.setattr(generation, "random_code", lambda prefix, length: f"{prefix}{secrets.randbelow(3000):04d}")
        body = {"count": 500, "prefix": "SAME"}
        url = f"{PROMOTIONS}/{promotion}/codes/bulk"
        first, second = await asyncio.gather(
            client.post(url, json=body, headers=staff.headers), client.post(url, json=body, headers=staff.headers)
        )
        # One run at a time: the other one ran after it, or was refused at once (409, nothing added).
        statuses = [first.status_code, second.status_code]
        assert 201 in statuses and set(statuses) <= {201, 409}, (first.text, second.text)
        made = await all_codes(resources, promotion)
        assert len(made) == len(set(made)) == 500 * statuses.count(201)

    @pytest.mark.parametrize(
        "body",
        [
            {"count": 0},
            {"count": 10_001},
            {"count": "10"},
            {"count": 5, "prefix": "ELEVEN-CHAR"},
            {"count": 5, "prefix": ""},
            {"count": 5, "prefix": "BAD PREFIX"},
            {"count": 5, "length": 5},
            {"count": 5, "length": 17},
            {"count": 5, "max_uses": 0},
            {"count": 5, "alphabet": "AB"},
            {"count": 5, "prefix": "-1-"},
            {"count": 5, "prefix": "_X"},
        ],
        ids=[
            "zero",
            "too-many",
            "string",
            "long-prefix",
            "empty-prefix",
            "space",
            "short",
            "long",
            "max-uses",
            "extra",
            "formula-prefix",
            "underscore-prefix",
        ],
    )
    async def test_invalid_runs_are_a_422(
        self, client: httpx.AsyncClient, staff: Account, promotion: str, body: dict[str, Any]
    ) -> None:
        response = await client.post(f"{PROMOTIONS}/{promotion}/codes/bulk", json=body, headers=staff.headers)
        assert_problem(response, 422, "validation_error")


class TestExport:
    async def test_every_code_as_a_csv_row(
        self, client: httpx.AsyncClient, staff: Account, promotion: str, resources: Resources
    ) -> None:
        url = f"{PROMOTIONS}/{promotion}/codes"
        first = (await client.post(url, json={"code": "FIRST", "max_uses": 5}, headers=staff.headers)).json()
        await client.post(url, json={"code": "SECOND"}, headers=staff.headers)
        await set_code_uses(resources, first["id"], 2)
        response = await client.get(f"{url}.csv", headers=staff.headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == ["code", "max_uses", "uses", "created_at"]
        assert [row[:3] for row in rows[1:]] == [["FIRST", "5", "2"], ["SECOND", "", "0"]]
        assert rows[1][3] == first["created_at"].replace("Z", "+00:00")

    async def test_an_export_spans_several_pages(
        self,
        client: httpx.AsyncClient,
        staff: Account,
        promotion: str,
        resources: Resources,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(generation, "EXPORT_PAGE", 7)
        await client.post(f"{PROMOTIONS}/{promotion}/codes/bulk", json={"count": 30}, headers=staff.headers)
        response = await client.get(f"{PROMOTIONS}/{promotion}/codes.csv", headers=staff.headers)
        rows = list(csv.reader(io.StringIO(response.text)))
        assert len(rows) == 31
        assert sorted(row[0] for row in rows[1:]) == sorted(await all_codes(resources, promotion))

    async def test_a_promotion_without_codes_exports_the_header(
        self, client: httpx.AsyncClient, staff: Account, promotion: str
    ) -> None:
        response = await client.get(f"{PROMOTIONS}/{promotion}/codes.csv", headers=staff.headers)
        assert response.text == "code,max_uses,uses,created_at\n"


def test_the_alphabet_has_no_look_alikes() -> None:
    assert not set("0O1I") & set(generation.ALPHABET)
    drawn = {generation.random_code("PRE-", 16) for _ in range(50)}
    assert len(drawn) == 50
    assert all(code.startswith("PRE-") and RANDOM_PART.fullmatch(code[4:]) and len(code) == 20 for code in drawn)
