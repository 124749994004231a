"""Shipping errors, each with its status and stable code."""

from shop.core.errors import Conflict, NotFound


class ShippingZoneNotFound(NotFound):
    pass


class ShippingMethodNotFound(NotFound):
    pass


class CountryInOtherZone(Conflict):
    """A country belongs to one zone at most; `errors` names each one asked for and its zone."""

    code = "country_in_other_zone"


class DefaultZoneExists(Conflict):
    """Only one zone serves the countries no zone names."""

    code = "default_zone_exists"
