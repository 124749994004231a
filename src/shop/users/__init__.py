"""Accounts: users, authentication and roles."""
