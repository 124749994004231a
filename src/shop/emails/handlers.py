"""Outbox handlers that send the customer emails."""

from functools import partial

from jinja2 import pass_context
from jinja2.runtime import Context
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shop import events
from shop.core.config import Settings
from shop.core.email import Email, EmailTemplates, message_id, send_email
from shop.core.money import format_money
from shop.core.outbox import Event, handles
from shop.emails.metrics import count_failure

templates = EmailTemplates("shop.emails")


@pass_context
def money(context: Context, value: events.Amount) -> str:
    """`{{ amount | money }}`: in the currency's own decimals, written the way SHOP_LOCALE writes it."""
    return format_money(value.amount, value.currency, context["locale"])


templates.env.filters["money"] = money


async def _send(settings: Settings, event: Event, template: str, to: str, data: BaseModel) -> None:
    subject, text, html = templates.render(template, data=data, locale=settings.locale)
    email = Email(to=to, subject=subject, text=text, html=html, message_id=message_id(settings, event.id, template))
    await send_email(settings, email)


@handles(events.USER_REGISTERED, "emails.welcome", on_failure=partial(count_failure, "welcome"))
async def welcome(_: AsyncSession, event: Event, settings: Settings) -> None:
    data = events.read(event, events.UserRegistered)
    await _send(settings, event, "welcome", data.email, data)


@handles(events.PASSWORD_RESET_REQUESTED, "emails.password_reset", on_failure=partial(count_failure, "password_reset"))
async def password_reset(_: AsyncSession, event: Event, settings: Settings) -> None:
    data = events.read(event, events.PasswordResetRequested)
    await _send(settings, event, "password_reset", data.email, data)


def _order_email(event_type: str, template: str) -> None:
    async def send(_: AsyncSession, event: Event, settings: Settings) -> None:
        data = events.read(event, events.OrderNotice)
        await _send(settings, event, template, data.email, data)

    handles(event_type, f"emails.{template}", on_failure=partial(count_failure, template))(send)


_order_email(events.ORDER_PLACED, "order_placed")
_order_email(events.ORDER_PAID, "order_paid")
_order_email(events.ORDER_SHIPPED, "order_shipped")
_order_email(events.ORDER_CANCELLED, "order_cancelled")
_order_email(events.ORDER_REFUNDED, "order_refunded")
