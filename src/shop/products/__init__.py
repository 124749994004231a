"""Catalog: categories, products, variants and stock."""
