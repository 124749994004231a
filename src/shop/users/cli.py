"""`shop create-admin EMAIL`: an admin account made (or an existing user promoted) from a shell.

Heavy imports wait inside the command, so `shop --help` and the other commands stay quick.
"""

import asyncio
import sys
from typing import Annotated, NoReturn

import typer

from shop.core.config import Settings


def create_admin(
    email: Annotated[str, typer.Argument(help="The admin's email address.", show_default=False)],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from one line of standard input.")
    ] = False,
    full_name: Annotated[str, typer.Option(help="The name of a new account.")] = "Administrator",
) -> None:
    """Create an admin account. An existing user is promoted: made admin, reactivated, given this password."""
    from shop.core.config import load_settings
    from shop.core.logging import configure_logging
    from shop.users.schemas import FULL_NAME_MAX_LENGTH, normalise_email

    try:
        address = normalise_email(email)
    except ValueError as exc:
        _fail(f"invalid email address {email!r}: {exc}")
    name = full_name.strip()
    if not 1 <= len(name) <= FULL_NAME_MAX_LENGTH:
        _fail(f"the full name must have 1 to {FULL_NAME_MAX_LENGTH} characters")
    password = _read_password_line() if password_stdin else _prompt_password()
    _check_password(password)
    settings = load_settings()
    configure_logging(settings)
    created = _run(settings, address, password, name)
    typer.echo(f"created admin {address}" if created else f"promoted {address} to admin")


def _prompt_password() -> str:
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _read_password_line() -> str:
    line = sys.stdin.readline()
    if not line:
        _fail("no password on standard input")
    return line.removesuffix("\n").removesuffix("\r")


def _check_password(password: str) -> None:
    from shop.users.schemas import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        _fail(f"the password must have {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters")


def _run(settings: Settings, email: str, password: str, full_name: str) -> bool:
    from sqlalchemy import exc as sa_exc

    try:
        return asyncio.run(_make_admin(settings, email, password, full_name))
    except (OSError, sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError) as exc:
        _fail(f"cannot reach the database ({type(exc).__name__})")


async def _make_admin(settings: Settings, email: str, password: str, full_name: str) -> bool:
    from shop.core.db import Database, unit_of_work
    from shop.users.service import users

    database = Database(settings)
    try:
        async with unit_of_work(database) as session:
            _, created = await users.make_admin(session, email=email, password=password, full_name=full_name)
    finally:
        await database.dispose()
    return created


def _fail(message: str) -> NoReturn:
    typer.echo(f"shop: {message}", err=True)
    raise typer.Exit(2)
