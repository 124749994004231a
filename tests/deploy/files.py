"""The deployment files of `deploy/`, loaded, and what they must agree with in the code.

They cannot run here (no container engine, no cluster), so the tests hold them to the schemas
of their formats and to the names the shop really defines: settings, commands, metrics, routes.
"""

import importlib
import json
import pkgutil
import re
import shlex
from collections.abc import Iterator, Set
from pathlib import Path
from typing import Any

import promql_parser
import typer.main
import yaml
from prometheus_client import REGISTRY

import shop
from shop import cli
from shop.api import api_router
from shop.core.config import Settings
from shop.core.health import SCRAPE_TIME_GAUGES
from shop.core.health import router as health_router
from shop.core.metrics import UNMATCHED_ROUTE

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
ALERTS = DEPLOY / "prometheus" / "alerts.yaml"
DASHBOARD = DEPLOY / "grafana" / "shop.json"
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"

# Series that Prometheus makes itself rather than scraping them from the shop.
PROMETHEUS_SERIES = frozenset({"up"})
# Modules not imported to collect metrics: `shop.worker` reads the settings when imported.
NOT_IMPORTED = frozenset({"shop.worker"})

SETTING_NAME = re.compile(r"\bSHOP_[A-Z0-9_]*[A-Z0-9]\b")
GRAFANA_INTERVAL = re.compile(r"\$__\w+")
GRAFANA_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


# --- loading ---------------------------------------------------------------------------------


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as file:
        return [doc for doc in yaml.safe_load_all(file) if doc is not None]


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as file:
        return yaml.safe_load(file)


def kubernetes_files() -> list[Path]:
    return sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


def kubernetes_objects() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in kubernetes_files() for doc in load_yaml_documents(path)]


def kubernetes_object(kind: str, name: str) -> dict[str, Any]:
    found = [doc for _, doc in kubernetes_objects() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    """(object name, pod spec) of every workload in deploy/k8s."""
    for _, doc in kubernetes_objects():
        if doc["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def config_map_data() -> dict[str, str]:
    data: dict[str, str] = kubernetes_object("ConfigMap", "shop-config")["data"]
    return data


def secret_data() -> dict[str, str]:
    data: dict[str, str] = kubernetes_object("Secret", "shop-secrets")["stringData"]
    return data


def compose() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(COMPOSE)
    return document


def interpolate(value: str) -> str:
    """Compose's `${NAME:-default}` with nothing set: the default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def alerting_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return document


def dashboard_panels() -> list[dict[str, Any]]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


# --- settings --------------------------------------------------------------------------------


def setting_names() -> set[str]:
    """Every SHOP_* variable the settings read."""
    return {f"SHOP_{name.upper()}" for name in Settings.model_fields}


def setting_names_used() -> dict[str, set[str]]:
    """SHOP_* names found in each deploy file and the deployment guide."""
    paths = [*kubernetes_files(), COMPOSE, DOCKERFILE, DEPLOYMENT_DOC]
    return {path.relative_to(ROOT).as_posix(): set(SETTING_NAME.findall(path.read_text("utf-8"))) for path in paths}


# --- commands --------------------------------------------------------------------------------


def shop_command_problem(argv: list[str]) -> str | None:
    """Why `argv` would not run as a `shop` command line, or None when it would.

    The words are parsed by the command's own option parser, so an unknown command, an unknown
    option or a bad value is caught; options passed through to Celery are refused too, since the
    deploy files need none.
    """
    assert argv[0] == "shop", argv
    command: Any = typer.main.get_command(cli.app)
    words = list(argv[1:])
    path = ["shop"]
    while hasattr(command, "commands"):
        if not words or words[0] not in command.commands:
            return f"{shlex.join(argv)}: {' '.join(path)} has no command {words[0] if words else '(none)'!r}"
        path.append(words[0])
        command = command.commands[words.pop(0)]
    try:
        context = command.make_context(" ".join(path), words)
    except Exception as exc:  # the parser's own usage errors, whatever their class
        return f"{shlex.join(argv)}: {exc}"
    if context.args:
        return f"{shlex.join(argv)}: not options of {' '.join(path)}: {context.args}"
    return None


def container_commands() -> dict[str, list[str]]:
    """Every command line the deploy files start a container with, by where it is."""
    commands: dict[str, list[str]] = {}
    for keyword, rest in dockerfile_instructions():
        if keyword in {"CMD", "ENTRYPOINT"}:
            commands[f"Dockerfile {keyword}"] = json.loads(rest)
    for name, service in compose()["services"].items():
        if "command" in service:
            commands[f"compose.yaml {name}"] = service["command"]
    for name, spec in pod_specs():
        for container in spec["containers"]:
            commands[f"k8s {name}/{container['name']}"] = [*container.get("command", []), *container.get("args", [])]
    return commands


# --- metrics and routes ----------------------------------------------------------------------


def _import_every_module() -> None:
    for module in pkgutil.walk_packages(shop.__path__, "shop."):
        if module.name not in NOT_IMPORTED:
            importlib.import_module(module.name)


def exported_series() -> set[str]:
    """The series names the shop's collectors expose (`_total`, `_bucket`, … included)."""
    _import_every_module()
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "gauge": ("",),
        "info": ("_info",),
    }
    names = set()
    for family in REGISTRY.collect():
        if family.name.startswith("shop_"):
            names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
    return names | set(SCRAPE_TIME_GAUGES)


def route_templates() -> set[str]:
    """The values the `route` label can take."""
    routes = [*api_router.routes, *health_router.routes]
    return {route.path for route in routes if hasattr(route, "path")} | {UNMATCHED_ROUTE}


def grafana_to_promql(expression: str) -> str:
    """A dashboard query as Prometheus receives it: intervals and variables filled in."""
    expression = GRAFANA_INTERVAL.sub("5m", expression)
    return GRAFANA_VARIABLE.sub(".*", expression)


def selectors(expression: str) -> list[tuple[str | None, list[tuple[str, str, str]]]]:
    """(metric name, [(label, operator, value)]) of each series selector; raises on bad PromQL."""
    found: list[tuple[str | None, list[tuple[str, str, str]]]] = []

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            matchers = [(m.name, str(m.op).rsplit(".", 1)[-1], m.value) for m in node.matchers.matchers]
            found.append((node.name, matchers))

    promql_parser.walk(promql_parser.parse(expression), visit)
    return found


def metric_problems(expression: str, known: Set[str]) -> list[str]:
    """Series and routes an expression names that the shop does not export."""
    problems = []
    for name, matchers in selectors(expression):
        if name is None:
            problems.append(f"a selector without a metric name in {expression!r}")
        elif name not in known:
            problems.append(f"unknown series {name}")
        for label, op, value in matchers:
            if label == "route" and op == "Equal" and value not in route_templates():
                problems.append(f"{name}: no route {value!r}")
    return problems
