"""shop: an e-commerce backend on FastAPI and PostgreSQL."""
