"""The interactive docs, /docs (Swagger UI) and /redoc (ReDoc), in a real headless Chromium.

A real `shop serve` answers; the page may reach 127.0.0.1 and nothing else (any other request is
recorded and aborted), and a console error, a CSP violation among them, fails the test.
"""

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from shop.core.apidocs import REDOC_CSP, SWAGGER_UI_CSP
from shop.core.config import Settings
from shop.core.resources import Resources
from tests.fixtures.browser import chromium, chromium_path, offline_page
from tests.fixtures.catalog import create_products
from tests.fixtures.servers import RunningServer, run_server
from tests.fixtures.settings import settings_env

LIST_PRODUCTS = "listProducts"
PRODUCT_NAME = "Docs 000"  # the first name create_products gives with the prefix "Docs"


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[RunningServer]:
    # No drain on SIGTERM: nothing is in flight when the module ends.
    with run_server(settings_env(settings, server_drain_seconds=0)) as running:
        yield running


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


def operation_count(server: RunningServer) -> int:
    schema = httpx.get(f"{server.base_url}/openapi.json").json()
    return sum(len(operations) for operations in schema["paths"].values())


class TestSwaggerUI:
    async def test_it_lists_every_operation_and_runs_one(
        self, server: RunningServer, browser: Browser, resources: Resources
    ) -> None:
        await create_products(resources, 1, prefix="Docs")
        async with offline_page(browser) as watched:
            page = watched.page
            await page.goto(f"{server.base_url}/docs")
            operation = page.locator(f"#operations-catalog-{LIST_PRODUCTS}")
            await operation.wait_for()
            assert await page.locator(".opblock").count() == operation_count(server)

            await operation.locator(".opblock-summary").click()
            await operation.get_by_role("button", name="Try it out").click()
            await operation.get_by_role("button", name="Execute").click()
            answer = operation.locator(".live-responses-table tbody")
            await expect(answer.locator(".response-col_status")).to_have_text("200")
            await expect(answer.locator(".response-col_description")).to_contain_text(PRODUCT_NAME)


class TestRedoc:
    async def test_it_renders_every_operation(self, server: RunningServer, browser: Browser) -> None:
        async with offline_page(browser) as watched:
            page = watched.page
            await page.goto(f"{server.base_url}/redoc")
            operation = page.locator(f"[id='operation/{LIST_PRODUCTS}']")
            await expect(operation.get_by_role("heading", name="List products")).to_be_visible()
            assert await page.locator("[id^='operation/']").count() == operation_count(server)


class TestContentSecurityPolicy:
    @pytest.mark.parametrize(("path", "policy"), [("/docs", SWAGGER_UI_CSP), ("/redoc", REDOC_CSP)])
    def test_each_page_allows_only_this_origin(self, server: RunningServer, path: str, policy: str) -> None:
        response = httpx.get(server.base_url + path)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == policy
        directives = dict(directive.split(" ", 1) for directive in policy.split("; "))
        assert directives["default-src"] == "'none'"
        assert directives["script-src"] == "'self'"
        assert directives["connect-src"] == "'self'"
        assert response.headers["x-content-type-options"] == "nosniff"

    @pytest.mark.parametrize("path", ["/health/live", "/api/v1/products", "/openapi.json", "/docs/swagger-ui.css"])
    def test_other_answers_are_left_as_they_were(self, server: RunningServer, path: str) -> None:
        response = httpx.get(server.base_url + path)
        assert response.status_code == 200
        assert "content-security-policy" not in response.headers
        assert response.headers["x-content-type-options"] == "nosniff"


class TestTheGuard:
    async def test_a_request_outside_is_refused_and_fails_the_page(self, browser: Browser) -> None:
        # .invalid never resolves (RFC 2606), and the route aborts the request before any lookup.
        outside = "https://cdn.example.invalid/swagger-ui.css"
        with pytest.raises(AssertionError, match=re.escape(outside)):
            async with offline_page(browser) as watched:
                await watched.page.set_content(f'<link rel="stylesheet" href="{outside}">')
        assert watched.outside == [outside]

    async def test_a_csp_violation_fails_the_page(self, browser: Browser) -> None:
        policy = "<meta http-equiv='Content-Security-Policy' content=\"script-src 'none'\">"
        with pytest.raises(AssertionError, match="Content Security Policy"):
            async with offline_page(browser) as watched:
                await watched.page.set_content(f"{policy}<script>document.title = 'ran'</script>")


def test_a_missing_chromium_fails_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        chromium_path()
