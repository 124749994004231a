"""The accounts' business rules, one module per concern; each service is a module singleton."""

from shop.users.service.auth import AuthService, auth
from shop.users.service.users import UserService, users

__all__ = ["AuthService", "UserService", "auth", "users"]
