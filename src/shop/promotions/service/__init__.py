"""The promotions domain's business rules, one module per concern; each service is a module singleton."""
