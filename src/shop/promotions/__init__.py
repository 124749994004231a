"""Promotions: automatic discounts and coupon codes, their conditions, and the redemptions that
count against their usage limits."""
