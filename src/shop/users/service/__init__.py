"""The accounts' business rules, one module per concern; each service is a module singleton."""

from shop.users.service.auth import AuthService, auth_service
from shop.users.service.users import UserService, user_service

__all__ = ["AuthService", "UserService", "auth_service", "user_service"]
