"""`shop dev`: the whole shop on one machine with nothing installed but Python.

Starts the embedded servers for any URL that is not configured, migrates, then runs the API
(with reload) and a Celery worker (with the schedule) as child processes until Ctrl-C, and
stops everything it started on the way out.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from email.message import EmailMessage
from pathlib import Path
from types import FrameType

import psutil
import structlog

from shop.core import migrations
from shop.core.config import Settings
from shop.core.embedded import EmbeddedPostgres, EmbeddedValkey, ensure_database
from shop.core.mailsink import Mailbox, start_mail_sink

log = structlog.get_logger()

DEV_DATABASE = "shop"
CHILD_STOP_SECONDS = 10.0


class Shutdown(Exception):
    """Raised by the signal handler to leave the supervision loop."""


def run_dev(settings: Settings, host: str, port: int) -> None:
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        _install_signal_handlers()
        try:
            env = _start_services(settings, data_dir, stack)
            migrations.upgrade(env["SHOP_DATABASE_URL"])
            _seed_demo_catalog(settings, env)
            children = _start_children(env, host, port)
            stack.callback(_stop_children, children)
            _announce(host, port, env)
            _supervise(children)
        except (Shutdown, KeyboardInterrupt):
            print("\nshop dev: stopping…", file=sys.stderr)  # noqa: T201


def _install_signal_handlers() -> None:
    def _raise(signum: int, _frame: FrameType | None) -> None:
        raise Shutdown(signal.Signals(signum).name)

    # SIGINT too: started in the background by a shell, a process inherits SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise)


def _start_services(settings: Settings, data_dir: Path, stack: ExitStack) -> dict[str, str]:
    env = dict(os.environ)
    env["SHOP_ENV"] = settings.env.value
    env["SHOP_DATA_DIR"] = str(data_dir)
    # No load balancer to wait for: Ctrl-C and reloads stop the server at once.
    env.setdefault("SHOP_SERVER_DRAIN_SECONDS", "0")
    if not settings.database_url:
        postgres = EmbeddedPostgres(data_dir / "postgres")
        postgres.start()
        stack.callback(postgres.stop)
        asyncio.run(ensure_database(postgres.url(), DEV_DATABASE))
        env["SHOP_DATABASE_URL"] = postgres.url(DEV_DATABASE)
    else:
        env["SHOP_DATABASE_URL"] = settings.database_url
    if not settings.redis_url:
        valkey_dir = data_dir / "valkey"
        _stop_orphaned_valkey(valkey_dir)
        valkey = EmbeddedValkey(valkey_dir)
        valkey.start()
        stack.callback(valkey.stop)
        env["SHOP_REDIS_URL"] = valkey.url()
    else:
        env["SHOP_REDIS_URL"] = settings.redis_url
    if not settings.smtp_host:
        controller = start_mail_sink(Mailbox(data_dir / "mail", on_message=_show_email))
        stack.callback(controller.stop)
        env.update(SHOP_SMTP_HOST="127.0.0.1", SHOP_SMTP_PORT=str(controller.port), SHOP_SMTP_TLS="false")
        env.setdefault("SHOP_EMAIL_FROM", "shop@localhost")
    return env


def _seed_demo_catalog(settings: Settings, env: dict[str, str]) -> None:
    """On its first run (no product yet) the shop starts with the demo catalog and its EU store set-up."""
    from shop.demo import seed_demo_if_empty

    urls = {"database_url": env["SHOP_DATABASE_URL"], "redis_url": env["SHOP_REDIS_URL"]}
    if seed_demo_if_empty(settings.model_copy(update=urls)):
        print("shop dev: added the demo shop (`shop seed-demo`)", file=sys.stderr)  # noqa: T201


def _show_email(message: EmailMessage) -> None:
    """The dev mailbox prints what the shop sends; the .eml files stay in the data folder."""
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    lines = [
        "",
        f"📧 email to {message['To']}: {message['Subject']}",
        *("   " + line for line in text.splitlines()),
        "",
    ]
    print("\n".join(lines), file=sys.stderr)  # noqa: T201


def _stop_orphaned_valkey(valkey_dir: Path) -> None:
    """A `shop dev` that was killed outright leaves its Valkey running; stop it before reuse."""
    pidfile = valkey_dir / "valkey.pid"
    try:
        process = psutil.Process(int(pidfile.read_text().strip()))
    except (OSError, ValueError, psutil.NoSuchProcess):
        return
    if "valkey" in process.name():
        process.terminate()
        process.wait(timeout=5)


def _start_children(env: dict[str, str], host: str, port: int) -> list[subprocess.Popen[bytes]]:
    shop = [sys.executable, "-m", "shop.cli"]
    commands = [
        [*shop, "serve", "--host", host, "--port", str(port), "--reload"],
        [*shop, "worker", "--concurrency", "2"],
    ]
    # Each child gets its own process group, so stopping it also stops what it spawned.
    return [subprocess.Popen(command, env=env, start_new_session=True) for command in commands]  # noqa: S603


def _announce(host: str, port: int, env: dict[str, str]) -> None:
    base = f"http://{host}:{port}"
    lines = [
        "",
        "shop dev is running — Ctrl-C stops everything.",
        f"  API        {base}/api/v1",
        f"  docs       {base}/docs",
        f"  readiness  {base}/health/ready",
        f"  metrics    {base}/metrics",
        f"  database   {env['SHOP_DATABASE_URL']}",
        f"  redis      {env['SHOP_REDIS_URL']}",
        f"  email      smtp://{env.get('SHOP_SMTP_HOST')}:{env.get('SHOP_SMTP_PORT')}",
        "",
    ]
    print("\n".join(lines), file=sys.stderr)  # noqa: T201


def _supervise(children: list[subprocess.Popen[bytes]]) -> None:
    while True:
        for child in children:
            code = child.poll()
            if code is not None:
                log.error("dev.child_exited", pid=child.pid, code=code)
                return
        time.sleep(0.5)


def _stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + CHILD_STOP_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.wait()
        # Whatever the child spawned and left behind in its group goes too.
        _signal_group(child, signal.SIGKILL)


def _signal_group(child: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, sig)
