"""Orders: the cart, checkout with stock reservation, payments and the order lifecycle."""
