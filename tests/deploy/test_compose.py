"""deploy/compose.yaml: a valid Compose file whose services start in the right order."""

import copy
import json
import re
from importlib.resources import files
from typing import Any

import jsonschema
import pytest

from tests.deploy.files import compose, interpolate

SHOP_SERVICES = ("migrate", "api", "worker", "beat")


def compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON schema, as check-jsonschema ships it for offline use."""
    text = (files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_errors(document: dict[str, Any]) -> list[str]:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def seconds(duration: str) -> int:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert match and duration, duration
    return int(match[1] or 0) * 60 + int(match[2] or 0)


def test_compose_file_matches_the_compose_specification() -> None:
    assert schema_errors(compose()) == []


def test_the_schema_rejects_a_bad_dependency_condition() -> None:
    document = copy.deepcopy(compose())
    document["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_finished"
    assert any("service_finished" in error for error in schema_errors(document))


def test_every_service_the_issue_names_is_there() -> None:
    services = compose()["services"]
    assert {"api", "worker", "beat", "migrate", "postgres", "redis", "rabbitmq"} <= services.keys()
    assert services["rabbitmq"]["profiles"] == ["rabbitmq"]
    assert all("profiles" not in services[name] for name in (*SHOP_SERVICES, "postgres", "redis"))


@pytest.mark.parametrize("name", ["api", "worker", "beat"])
def test_the_shop_starts_after_the_migration_completed(name: str) -> None:
    depends_on = compose()["services"][name]["depends_on"]
    assert depends_on["migrate"] == {"condition": "service_completed_successfully"}
    # The optional broker is waited for only when its profile is on.
    assert depends_on["rabbitmq"]["required"] is False


def test_the_migration_is_one_shot_after_postgres_is_healthy() -> None:
    migrate = compose()["services"]["migrate"]
    assert migrate["command"] == ["shop", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_dependencies_exist_and_those_waited_for_healthy_have_a_health_check() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                assert "test" in services[dependency]["healthcheck"], dependency


def test_every_shop_service_runs_one_image_with_the_same_settings() -> None:
    services = compose()["services"]
    images = {services[name]["image"] for name in SHOP_SERVICES}
    assert len(images) == 1
    environments = [services[name]["environment"] for name in SHOP_SERVICES]
    assert all(environment == environments[0] for environment in environments)


def test_stopping_the_api_outwaits_its_drain_and_shutdown() -> None:
    api = compose()["services"]["api"]
    environment = {name: interpolate(str(value)) for name, value in api["environment"].items()}
    needed = int(environment["SHOP_SERVER_DRAIN_SECONDS"]) + int(environment["SHOP_SERVER_SHUTDOWN_TIMEOUT_SECONDS"])
    assert seconds(api["stop_grace_period"]) > needed


def test_one_worker_runs_the_schedule() -> None:
    services = compose()["services"]
    assert "--beat" in services["beat"]["command"]
    assert "--no-beat" in services["worker"]["command"]
