"""The tax domain's business rules, one module per concern; each service is a module singleton."""
