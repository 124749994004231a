"""Shipping: zones (sets of countries), the methods offered in each, and what each method costs."""
