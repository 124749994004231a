"""deploy/k8s: valid objects for the Kubernetes versions in use, wired to each other and the app."""

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from shop.core.health import router as health_router
from tests.deploy.files import (
    K8S,
    config_map_data,
    kubernetes_files,
    kubernetes_object,
    kubernetes_objects,
    load_yaml,
    pod_specs,
    secret_data,
)

# The oldest Kubernetes still maintained upstream when these files were written, and the newest
# the validator knows. Strict schemas: an unknown or misspelt field is an error, as with
# `kubectl apply --validate=strict`.
KUBERNETES_VERSIONS = ("1.32.0", kubernetes_validate.utils.latest_version())
API_LABELS = {"app.kubernetes.io/name": "shop", "app.kubernetes.io/component": "api"}
NOT_IN_KUSTOMIZATION = {"secret.example.yaml", "migrate-job.yaml"}


def api_container() -> dict[str, Any]:
    container: dict[str, Any] = kubernetes_object("Deployment", "shop-api")["spec"]["template"]["spec"]["containers"][0]
    return container


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", kubernetes_files(), ids=lambda path: path.name)
def test_every_object_matches_the_kubernetes_schema(path: Path, version: str) -> None:
    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        kubernetes_validate.validate(document, version, strict=True)


def test_the_validator_rejects_a_misspelt_field() -> None:
    deployment = kubernetes_object("Deployment", "shop-api")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["livenesProbe"] = container.pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="livenesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_kustomization_lists_every_object_but_the_example_secret_and_the_migration() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    assert listed == {path.name for path in kubernetes_files()} - NOT_IN_KUSTOMIZATION
    assert all((K8S / name).is_file() for name in listed)


def test_kustomization_retags_the_image_every_container_runs() -> None:
    retagged = {image["name"] for image in load_yaml(K8S / "kustomization.yaml")["images"]}
    for name, spec in pod_specs():
        for container in spec["containers"]:
            assert container["image"].rsplit(":", 1)[0] in retagged, name


def test_every_object_is_in_the_shop_namespace() -> None:
    for path, document in kubernetes_objects():
        if document["kind"] == "Namespace":
            assert document["metadata"]["name"] == "shop"
        else:
            assert document["metadata"].get("namespace") == "shop", path.name


class TestApi:
    def test_probes_ask_the_app_s_health_routes(self) -> None:
        health_paths = {route.path for route in health_router.routes if hasattr(route, "path")}
        container = api_container()
        ports = {port["name"] for port in container["ports"]}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["path"] in health_paths, probe
            assert container[probe]["httpGet"]["port"] in ports, probe
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"

    def test_readiness_outwaits_the_app_s_own_dependency_checks(self) -> None:
        from shop.core.health import CHECK_TIMEOUT_SECONDS

        assert api_container()["readinessProbe"]["timeoutSeconds"] > CHECK_TIMEOUT_SECONDS

    def test_termination_grace_covers_pre_stop_drain_and_shutdown(self) -> None:
        pod = kubernetes_object("Deployment", "shop-api")["spec"]["template"]["spec"]
        pre_stop = api_container()["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop[0] == "sleep"
        config = config_map_data()
        drain, shutdown = config["SHOP_SERVER_DRAIN_SECONDS"], config["SHOP_SERVER_SHUTDOWN_TIMEOUT_SECONDS"]
        needed = int(pre_stop[1]) + int(drain) + int(shutdown)
        assert pod["terminationGracePeriodSeconds"] > needed

    def test_a_rollout_never_lowers_capacity(self) -> None:
        strategy = kubernetes_object("Deployment", "shop-api")["spec"]["strategy"]
        assert strategy["type"] == "RollingUpdate"
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0

    def test_service_pdb_and_hpa_point_at_the_api_pods(self) -> None:
        deployment = kubernetes_object("Deployment", "shop-api")
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"] == API_LABELS
        assert API_LABELS.items() <= pod_labels.items()
        service = kubernetes_object("Service", "shop-api")
        assert service["spec"]["selector"] == API_LABELS
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= {
            port["name"] for port in api_container()["ports"]
        }
        assert kubernetes_object("PodDisruptionBudget", "shop-api")["spec"]["selector"]["matchLabels"] == API_LABELS
        hpa = kubernetes_object("HorizontalPodAutoscaler", "shop-api")
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop-api"}
        assert 1 < hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]

    def test_cpu_requests_are_set_for_the_autoscaler(self) -> None:
        # A CPU utilisation target means nothing without a request to be a percentage of.
        assert "cpu" in api_container()["resources"]["requests"]


class TestBackground:
    def test_exactly_one_schedule_runs(self) -> None:
        schedulers = []
        for name, spec in pod_specs():
            for container in spec["containers"]:
                command = container.get("command", [])
                if command[:2] == ["shop", "worker"] and "--no-beat" not in command:
                    schedulers.append(name)
        assert schedulers == ["shop-beat"]
        beat = kubernetes_object("Deployment", "shop-beat")
        assert beat["spec"]["replicas"] == 1
        # RollingUpdate would start the new pod before stopping the old: two schedules at once.
        assert beat["spec"]["strategy"] == {"type": "Recreate"}

    def test_the_migration_runs_once_and_is_not_restarted_in_place(self) -> None:
        job = kubernetes_object("Job", "shop-migrate")
        pod = job["spec"]["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        assert pod["containers"][0]["command"] == ["shop", "migrate"]


class TestPods:
    def test_every_pod_meets_the_restricted_pod_security_standard(self) -> None:
        namespace = kubernetes_object("Namespace", "shop")
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        for name, spec in pod_specs():
            assert spec["securityContext"]["runAsNonRoot"] is True, name
            assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
            assert spec["automountServiceAccountToken"] is False, name
            for container in spec["containers"]:
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False, name
                assert context["capabilities"]["drop"] == ["ALL"], name
                assert context["readOnlyRootFilesystem"] is True, name

    def test_the_writable_folders_the_app_needs_are_mounted(self) -> None:
        # /tmp holds the shared metrics folder of several processes; the data folder the schedule.
        for name, spec in pod_specs():
            volumes = {volume["name"] for volume in spec["volumes"]}
            for container in spec["containers"]:
                mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
                assert {"/tmp", "/var/lib/shop"} <= mounts.keys(), name  # noqa: S108 (a mount path)
                assert set(mounts.values()) <= volumes, name

    def test_every_container_takes_the_settings_and_sets_a_memory_limit(self) -> None:
        for name, spec in pod_specs():
            for container in spec["containers"]:
                sources = [next(iter(source.values()))["name"] for source in container["envFrom"]]
                assert sources == ["shop-config", "shop-secrets"], name
                assert "memory" in container["resources"]["limits"], name

    def test_the_example_secret_holds_only_marked_placeholders(self) -> None:
        for name, value in secret_data().items():
            assert "CHANGE-ME" in value, name
        assert "EXAMPLE ONLY" in (K8S / "secret.example.yaml").read_text(encoding="utf-8")
