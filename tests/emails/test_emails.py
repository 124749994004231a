"""Customer emails end to end: outbox event → broker → real worker → real SMTP server."""

import asyncio
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from shop import events
from shop.core.config import Settings
from shop.core.db import unit_of_work
from shop.core.mailsink import Mailbox
from shop.core.outbox import record_event
from shop.core.resources import Resources
from shop.emails.handlers import templates
from tests.fixtures.emails import by_recipient, order_payload, welcome_payload
from tests.fixtures.settings import settings_env
from tests.fixtures.waiting import eventually
from tests.fixtures.workers import RunningWorker, run_worker


def parts(message: EmailMessage) -> dict[str, str]:
    found = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            found[part.get_content_type()] = part.get_content()
    return found


@pytest.fixture(scope="module")
def worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWorker]:
    with run_worker(settings_env(settings), settings, "mailer", tmp_path_factory.mktemp("logs")) as running:
        yield running


async def test_each_email_of_the_table(resources: Resources, mailbox: Mailbox, worker: RunningWorker) -> None:
    tracking = {"carrier": "DHL", "tracking_number": "JJD0099"}
    cases = [
        (events.USER_REGISTERED, welcome_payload("new@shop.test"), "new@shop.test", ["welcome"]),
        (
            events.PASSWORD_RESET_REQUESTED,
            {**welcome_payload("reset@shop.test"), "token": "tok-reset-123", "expires_minutes": 30},
            "reset@shop.test",
            ["reset"],
        ),
        (events.ORDER_PLACED, order_payload("SO-000101", "placed@shop.test"), "placed@shop.test", ["SO-000101"]),
        (events.ORDER_PAID, order_payload("SO-000102", "paid@shop.test"), "paid@shop.test", ["SO-000102", "paid"]),
        (
            events.ORDER_SHIPPED,
            order_payload("SO-000103", "shipped@shop.test", tracking),
            "shipped@shop.test",
            ["SO-000103", "JJD0099"],
        ),
        (events.ORDER_CANCELLED, order_payload("SO-000104", "cancel@shop.test"), "cancel@shop.test", ["SO-000104"]),
        (events.ORDER_REFUNDED, order_payload("SO-000105", "refund@shop.test"), "refund@shop.test", ["SO-000105"]),
    ]
    ids = {}
    async with unit_of_work(resources.database) as session:
        for event_type, payload, to, _ in cases:
            ids[to] = record_event(session, event_type, payload)

    await eventually(lambda: len(mailbox.messages) >= len(cases), 60, "every email arrives")
    await asyncio.sleep(0.5)
    assert len(mailbox.messages) == len(cases)
    for _, _, to, subject_words in cases:
        (message,) = by_recipient(mailbox, to)
        subject = message["Subject"].lower()
        for word in subject_words:
            assert word.lower() in subject, (to, message["Subject"])
        bodies = parts(message)
        assert set(bodies) == {"text/plain", "text/html"}
        assert message["From"] == "shop@shop.test"
        assert message["Message-ID"].startswith(f"<{ids[to]}.")
    reset_bodies = parts(by_recipient(mailbox, "reset@shop.test")[0])
    assert "tok-reset-123" in reset_bodies["text/plain"]
    assert "tok-reset-123" in reset_bodies["text/html"]
    shipped = parts(by_recipient(mailbox, "shipped@shop.test")[0])
    assert "JJD0099" in shipped["text/plain"]
    assert "DHL" in shipped["text/html"]
    placed = parts(by_recipient(mailbox, "placed@shop.test")[0])
    assert "€44.98" in placed["text/plain"]
    assert "Blue tee" in placed["text/html"]


# What 3998, 500 and 4498 minor units read as, in SHOP_LOCALE's default (en).
AMOUNTS_IN_TEXT = {
    "EUR": ("€39.98", "€5.00", "€44.98"),
    "JPY": ("¥3,998", "¥500", "¥4,498"),  # the yen has no minor unit
    "BHD": ("BHD3.998", "BHD0.500", "BHD4.498"),  # the dinar has 1000 fils
}


async def test_amounts_are_written_in_the_decimals_of_their_currency(
    resources: Resources, mailbox: Mailbox, worker: RunningWorker
) -> None:
    async with unit_of_work(resources.database) as session:
        for currency in AMOUNTS_IN_TEXT:
            payload = order_payload(f"SO-{currency}", f"{currency.lower()}@shop.test", currency=currency)
            record_event(session, events.ORDER_PAID, payload)
    await eventually(lambda: len(mailbox.messages) >= len(AMOUNTS_IN_TEXT), 30, "every email arrives")
    for currency, (line, shipping, total) in AMOUNTS_IN_TEXT.items():
        (message,) = by_recipient(mailbox, f"{currency.lower()}@shop.test")
        text, html = parts(message)["text/plain"], parts(message)["text/html"]
        assert f"Blue tee (TEE-1)  {line}" in text
        assert f"Shipping  {shipping}" in text
        assert f"confirmed: {total} paid" in text
        assert f"Your payment of {total} is confirmed" in html


def test_the_locale_decides_how_money_is_written() -> None:
    data = events.OrderNotice.model_validate(order_payload("SO-000200", "de@shop.test", currency="EUR"))
    _, text, html = templates.render("order_paid", data=data, locale="de_DE")
    assert "confirmed: 44,98\xa0€ paid" in text
    assert "39,98\xa0€" in html


async def test_html_escapes_what_customers_typed(resources: Resources, mailbox: Mailbox, worker: RunningWorker) -> None:
    payload = {**welcome_payload("xss@shop.test"), "full_name": "<script>alert(1)</script>"}
    async with unit_of_work(resources.database) as session:
        record_event(session, events.USER_REGISTERED, payload)
    await eventually(lambda: len(by_recipient(mailbox, "xss@shop.test")) == 1, 30, "the email arrives")
    html = parts(by_recipient(mailbox, "xss@shop.test")[0])["text/html"]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def _priced(prices_include_tax: bool) -> events.OrderNotice:
    """Two tees at 19.99 with 10 % off by WELCOME10, DHL Paket at 4.90, German VAT at 19 %."""
    eur = {"currency": "EUR"}
    payload = order_payload("SO-000300", "vat@shop.test") | {
        "discount_total": {"amount": 400, **eur},
        "shipping_total": {"amount": 490 if prices_include_tax else 583, **eur},
        "total": {"amount": 4088 if prices_include_tax else 4865, **eur},
        "tax_total": {"amount": 653 if prices_include_tax else 777, **eur},
        "prices_include_tax": prices_include_tax,
        "shipping_method": "DHL Paket",
        "taxes": [
            {
                "rate": "19",
                "taxable": {"amount": 3435 if prices_include_tax else 4088, **eur},
                "tax": {"amount": 653 if prices_include_tax else 777, **eur},
            }
        ],
        "promotions": [{"name": "Welcome", "code": "WELCOME10", "amount": {"amount": 400, **eur}}],
    }
    return events.OrderNotice.model_validate(payload)


@pytest.mark.parametrize("prices_include_tax", [True, False])
def test_an_order_email_shows_its_discounts_shipping_method_and_vat(prices_include_tax: bool) -> None:
    _, text, html = templates.render("order_placed", data=_priced(prices_include_tax), locale="en")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    vat = "incl. VAT 19 % on €34.35  €6.53" if prices_include_tax else "VAT 19 % on €40.88  €7.77"
    total = "Total     €40.88" if prices_include_tax else "Total     €48.65"
    assert "Welcome (code WELCOME10)  -€4.00" in lines
    assert ("Shipping (DHL Paket)  €4.90" if prices_include_tax else "Shipping (DHL Paket)  €5.83") in lines
    assert vat in lines and total in lines
    # Including tax, the VAT is a note under the total; excluding it, a line the total adds up.
    assert (lines.index(vat) > lines.index(total)) is prices_include_tax
    assert "WELCOME10" in html and "DHL Paket" in html and "VAT 19 %" in html


def test_an_order_event_recorded_before_the_breakdown_still_renders() -> None:
    _, text, _ = templates.render(
        "order_placed", data=events.OrderNotice.model_validate(order_payload("SO-1", "a@b.c")), locale="en"
    )
    assert "Shipping  €5.00" in text and "VAT" not in text
