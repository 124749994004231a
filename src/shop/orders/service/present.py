"""How an order is shown: its API view, and the payload of its `order.*` outbox events."""

from typing import Any

from shop import events
from shop.core.schemas import Money
from shop.orders import schemas
from shop.orders.models import Order
from shop.pricing.taxes import percent


def money(amount: int, currency: str) -> Money:
    return Money(amount=amount, currency=currency)


def tax_lines(taxes: list[dict[str, Any]], currency: str) -> list[schemas.TaxLine]:
    """The snapshot's rows ({"rate_ppm", "taxable", "tax"}) as the API shows them."""
    return [
        schemas.TaxLine(
            rate=str(percent(row["rate_ppm"])),
            taxable=money(row["taxable"], currency),
            tax=money(row["tax"], currency),
        )
        for row in taxes
    ]


def applied_promotions(promotions: list[dict[str, Any]], currency: str) -> list[schemas.AppliedPromotion]:
    """The snapshot's promotions ({"promotion_id", "name", "code", "lines_discount", "shipping_discount"})."""
    return [
        schemas.AppliedPromotion(
            promotion_id=row["promotion_id"],
            name=row["name"],
            code=row["code"],
            amount=money(row["lines_discount"] + row["shipping_discount"], currency),
        )
        for row in promotions
    ]


def present_order(order: Order) -> schemas.Order:
    """The API view; `order.lines` and `order.history` must be loaded."""
    currency = order.currency
    tracking = (
        schemas.Tracking(carrier=order.carrier, tracking_number=order.tracking_number)
        if order.carrier is not None and order.tracking_number is not None
        else None
    )
    return schemas.Order(
        id=order.id,
        number=order.number,
        status=order.status,
        items=[
            schemas.OrderItem(
                variant_id=line.variant_id,
                sku=line.sku,
                name=line.name,
                unit_price=money(line.unit_price_amount, currency),
                quantity=line.quantity,
                line_total=money(line.unit_price_amount * line.quantity, currency),
                discount=money(line.discount_amount, currency),
                tax_rate=str(percent(line.tax_rate_ppm)),
                tax=money(line.tax_amount, currency),
                total=money(line.total_amount, currency),
            )
            for line in order.lines
        ],
        subtotal=money(order.subtotal_amount, currency),
        discount_total=money(order.discount_amount, currency),
        shipping_total=money(shipping_total(order), currency),
        tax_total=money(order.tax_amount, currency),
        total=money(order.total_amount, currency),
        taxes=tax_lines(order.taxes, currency),
        promotions=applied_promotions(order.promotions, currency),
        coupon_code=order.coupon_code,
        shipping_method=(
            schemas.ShippingMethodRef(id=order.shipping_method_id, name=order.shipping_method_name)
            if order.shipping_method_name is not None
            else None
        ),
        prices_include_tax=order.prices_include_tax,
        currency=currency,
        shipping_address=schemas.Address.model_validate(order.shipping_address),
        email=order.email,
        tracking=tracking,
        history=[
            schemas.HistoryEntry(status=change.status, at=change.at, actor_role=change.actor_role)
            for change in order.history
        ],
        created_at=order.created_at,
        updated_at=order.updated_at,
        paid_at=order.paid_at,
        cancelled_at=order.cancelled_at,
    )


def notice(order: Order) -> events.OrderNotice:
    """The payload every `order.*` event carries."""

    def amount(value: int) -> events.Amount:
        return events.Amount(amount=value, currency=order.currency)

    tracking = (
        events.Tracking(carrier=order.carrier, tracking_number=order.tracking_number)
        if order.carrier is not None and order.tracking_number is not None
        else None
    )
    return events.OrderNotice(
        order_id=order.id,
        number=order.number,
        email=order.email,
        status=order.status.value,
        items=[
            events.OrderLine(
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                line_total=amount(line.unit_price_amount * line.quantity),
            )
            for line in order.lines
        ],
        subtotal=amount(order.subtotal_amount),
        shipping_total=amount(shipping_total(order)),
        total=amount(order.total_amount),
        tracking=tracking,
        discount_total=amount(order.discount_amount),
        tax_total=amount(order.tax_amount),
        prices_include_tax=order.prices_include_tax,
        shipping_method=order.shipping_method_name,
        taxes=[
            events.TaxLine(rate=str(percent(row["rate_ppm"])), taxable=amount(row["taxable"]), tax=amount(row["tax"]))
            for row in order.taxes
        ],
        promotions=[
            events.PromotionLine(
                name=row["name"],
                code=row["code"],
                amount=amount(row["lines_discount"] + row["shipping_discount"]),
            )
            for row in order.promotions
        ],
    )


def shipping_total(order: Order) -> int:
    """What the customer pays for shipping: its tax is on top in a store that enters prices excluding tax."""
    return order.shipping_amount + (0 if order.prices_include_tax else order.shipping_tax_amount)
