"""The deploy files name only real settings and real `shop` commands, and give prod what it needs."""

import pytest

from shop.core.config import PROD_REQUIRED, Settings, load_settings
from tests.deploy.files import (
    DOCKERIGNORE,
    compose,
    config_map_data,
    container_commands,
    dockerfile_instructions,
    interpolate,
    pod_specs,
    secret_data,
    setting_names,
    setting_names_used,
    shop_command_problem,
)


def start_settings(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> Settings:
    """Settings as a container with exactly this environment reads them."""
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return load_settings(_env_file=None)


class TestSettings:
    def test_every_shop_variable_named_is_a_setting(self) -> None:
        known = setting_names()
        unknown = {path: sorted(names - known) for path, names in setting_names_used().items() if names - known}
        assert unknown == {}

    def test_the_checker_would_flag_a_misspelt_setting(self) -> None:
        assert "SHOP_DATABASE_URLS" not in setting_names()
        assert "SHOP_DATABASE_URL" in setting_names()

    def test_config_map_and_secret_give_prod_everything_it_requires(self, monkeypatch: pytest.MonkeyPatch) -> None:
        config, secret = config_map_data(), secret_data()
        assert config.keys().isdisjoint(secret.keys())
        settings = start_settings(monkeypatch, {**config, **secret})
        assert settings.is_prod
        assert all(getattr(settings, name) for name in PROD_REQUIRED)

    def test_secrets_are_in_the_secret_not_the_config_map(self) -> None:
        secret_words = ("URL", "SECRET", "PASSWORD", "USER")
        assert [name for name in config_map_data() if any(word in name for word in secret_words)] == []

    def test_compose_gives_prod_everything_it_requires(self, monkeypatch: pytest.MonkeyPatch) -> None:
        environment = compose()["services"]["api"]["environment"]
        settings = start_settings(monkeypatch, {name: interpolate(str(value)) for name, value in environment.items()})
        assert settings.is_prod
        assert settings.effective_broker_url != settings.redis_url


class TestCommands:
    def test_every_container_runs_a_real_shop_command(self) -> None:
        commands = container_commands()
        problems = {where: shop_command_problem(argv) for where, argv in commands.items() if argv and argv[0] == "shop"}
        assert {where: problem for where, problem in problems.items() if problem} == {}
        # Every container runs the shop itself, through its own command.
        assert {where for where, argv in commands.items() if not argv or argv[0] != "shop"} == set()

    def test_each_role_is_started(self) -> None:
        started = {tuple(argv[:2]) for argv in container_commands().values()}
        assert {("shop", "serve"), ("shop", "worker"), ("shop", "migrate")} <= started

    @pytest.mark.parametrize(
        ("argv", "problem"),
        [
            (["shop", "serv"], "has no command 'serv'"),
            (["shop", "serve", "--wrkers", "2"], "No such option: --wrkers"),
            (["shop", "serve", "--workers", "two"], "'two' is not a valid"),
            (["shop", "worker", "-Q", "emails"], "not options of shop worker"),
            (["shop", "outbox"], "has no command '(none)'"),
        ],
    )
    def test_the_checker_flags_a_wrong_command_line(self, argv: list[str], problem: str) -> None:
        assert problem in (shop_command_problem(argv) or "")

    def test_the_checker_accepts_a_nested_command(self) -> None:
        assert shop_command_problem(["shop", "outbox", "retry", "--all"]) is None


class TestImage:
    def test_the_build_context_lets_through_what_the_image_copies(self) -> None:
        allowed = {
            line[1:].rstrip("/") for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines() if line[:1] == "!"
        }
        copied = set()
        for keyword, rest in dockerfile_instructions():
            if keyword == "COPY" and not rest.startswith("--from"):
                copied.update(source.rstrip("/") for source in rest.split()[:-1])
        assert copied
        assert copied <= allowed

    def test_the_image_runs_as_a_numeric_non_root_user(self) -> None:
        users = [rest for keyword, rest in dockerfile_instructions() if keyword == "USER"]
        assert users[-1].split(":")[0].isdigit()
        assert users[-1].split(":")[0] != "0"
        for name, spec in pod_specs():
            assert str(spec["securityContext"]["runAsUser"]) == users[-1].split(":")[0], name
