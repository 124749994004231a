"""Cart, checkout, orders and payments."""
