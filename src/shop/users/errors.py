"""Accounts errors, each with the status and stable code API.md gives it."""

from shop.core.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized


class EmailTaken(Conflict):
    code = "email_taken"

    def __init__(self) -> None:
        super().__init__("An account with this email address already exists.")


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"

    def __init__(self) -> None:
        # One message for an unknown email and a wrong password: neither is revealed.
        super().__init__("The email address or the password is wrong.")


class InvalidToken(Unauthorized):
    code = "invalid_token"

    def __init__(self, detail: str = "The token is invalid or has expired.") -> None:
        super().__init__(detail)


class AccountDisabled(Unauthorized):
    code = "account_disabled"

    def __init__(self) -> None:
        super().__init__("This account has been deactivated.")


class InvalidCurrentPassword(BadRequest):
    code = "invalid_current_password"

    def __init__(self) -> None:
        super().__init__("The current password is wrong.")


class UserNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such user.")


class CannotChangeOwnAccess(Forbidden):
    def __init__(self) -> None:
        super().__init__("Admins cannot change their own role or deactivate themselves; ask another admin.")


class RefreshTokenReused(InvalidToken):
    """A rotated (or revoked) refresh token came back: someone holds a copy of it.

    The whole login is revoked, and that revocation must be committed although the request fails.
    """

    keeps_changes = True
