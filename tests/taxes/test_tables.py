"""The tax tables hold one rate per class and place, a country's own rate included, within 0-100 %."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop.core.resources import Resources
from shop.taxes.models import TaxClass, TaxRate


async def _add(resources: Resources, *rates: tuple[str, str | None, int]) -> None:
    async with resources.database.sessionmaker() as session:
        # Built in: the migrations create it.
        standard = (await session.execute(select(TaxClass).where(TaxClass.code == "standard"))).scalar_one()
        session.add_all(
            TaxRate(tax_class_id=standard.id, country=country, region=region, rate_ppm=rate)
            for country, region, rate in rates
        )
        await session.commit()


async def test_a_country_and_its_regions_each_have_their_own_rate(resources: Resources) -> None:
    await _add(resources, ("ES", None, 210_000), ("ES", "ES-CN", 0), ("PT", None, 230_000))
    async with resources.database.sessionmaker() as session:
        stored = (await session.execute(select(TaxRate.country, TaxRate.region, TaxRate.rate_ppm))).all()
    assert sorted(stored, key=str) == sorted(
        [("ES", None, 210_000), ("ES", "ES-CN", 0), ("PT", None, 230_000)], key=str
    )


@pytest.mark.parametrize(
    "rates",
    [
        (("ES", None, 210_000), ("ES", None, 100_000)),  # the country's rate twice: NULL regions clash
        (("ES", "ES-CN", 0), ("ES", "ES-CN", 70_000)),
    ],
)
async def test_a_second_rate_for_the_same_class_and_place_is_refused(
    resources: Resources, rates: tuple[tuple[str, str | None, int], ...]
) -> None:
    with pytest.raises(IntegrityError, match="uq_tax_rate_class_place"):
        await _add(resources, *rates)


@pytest.mark.parametrize("rate", [-1, 1_000_001])
async def test_a_rate_outside_0_to_100_percent_is_refused(resources: Resources, rate: int) -> None:
    with pytest.raises(IntegrityError, match="ck_tax_rate_rate_range"):
        await _add(resources, ("DE", None, rate))


async def test_the_builtin_classes_and_the_default_shipping_zone_are_there_from_the_start(
    resources: Resources,
) -> None:
    from shop.shipping.models import ShippingMethod, ShippingZone

    async with resources.database.sessionmaker() as session:
        classes = (await session.execute(select(TaxClass.code).where(TaxClass.builtin))).scalars().all()
        zone = (await session.execute(select(ShippingZone).where(ShippingZone.is_default))).scalar_one()
        method = (await session.execute(select(ShippingMethod).where(ShippingMethod.zone_id == zone.id))).scalar_one()
    assert sorted(classes) == ["reduced", "standard", "zero"]
    assert (zone.name, method.name, method.bands, method.tax_class) == (
        "Everywhere",
        "Standard shipping",
        [{"from_subtotal": 0, "amount": 0}],
        "standard",
    )
