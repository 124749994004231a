"""Taxes: the store's tax classes and their rates by country and region, as shop.pricing reads them."""
