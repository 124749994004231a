"""deploy/prometheus and deploy/grafana: valid PromQL over series the shop really exports."""

import re
from functools import cache

import pytest
import yaml

from tests.deploy.files import (
    ALERTS,
    DEPLOYMENT_DOC,
    GRAFANA_VARIABLE,
    PROMETHEUS_SERIES,
    alerting_rules,
    dashboard,
    dashboard_panels,
    exported_series,
    grafana_to_promql,
    load_yaml,
    metric_problems,
)

RULE_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
SEVERITIES = {"critical", "warning", "info"}
DURATION = re.compile(r"^(\d+(ms|[smhdwy]))+$")
# What the issue asks the alerts to watch, by the alert that watches it.
REQUIRED_ALERTS = {
    "ShopHighErrorRatio",  # high 5xx ratio
    "ShopHighLatencyP99",  # high p99 latency
    "ShopDatabasePoolSaturated",  # DB pool saturation
    "ShopCacheHitRatioLow",  # cache hit ratio drop
    "ShopRedisErrors",  # Redis dependency errors
    "ShopOutboxLagging",  # outbox lag (oldest pending age)
    "ShopEmailFailures",  # email failures
    "ShopCheckoutSuccessLow",  # checkout success drop
    "ShopOversellRejectionSpike",  # oversell-rejection spike
    "ShopTargetDown",  # targets down
}
# What the issue asks the dashboard to show.
REQUIRED_PANELS = {
    "Request rate by route",
    "5xx error ratio by route",
    "Latency p50 / p95 / p99",
    "p99 latency by route",
    "DB pool saturation by instance",
    "Cache hit ratio by namespace",
    "Outbox lag (oldest pending event)",
    "Failed emails by template",
    "Checkout success ratio",
    "Checkout rejections by reason",
}


@cache
def known_series() -> frozenset[str]:
    return frozenset(exported_series() | PROMETHEUS_SERIES)


def rule_id(rule: dict[str, str]) -> str:
    return rule["alert"]


class TestAlerts:
    def test_groups_and_rules_have_the_rules_file_shape(self) -> None:
        groups = load_yaml(ALERTS)["groups"]
        assert len({group["name"] for group in groups}) == len(groups)
        names = [rule.get("alert") for rule in alerting_rules()]
        assert len(set(names)) == len(names)
        for group in groups:
            assert set(group) <= {"name", "interval", "rules", "labels", "limit"}, group["name"]
            assert group["rules"], group["name"]
        for rule in alerting_rules():
            assert set(rule) <= RULE_KEYS, rule
            assert DURATION.match(rule.get("for", "0m")), rule["alert"]
            assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
            assert {"summary", "description", "runbook_url"} <= rule["annotations"].keys(), rule["alert"]

    def test_the_issue_s_alerts_are_all_there(self) -> None:
        assert {rule["alert"] for rule in alerting_rules()} >= REQUIRED_ALERTS

    @pytest.mark.parametrize("rule", alerting_rules(), ids=rule_id)
    def test_expression_parses_and_names_only_exported_series(self, rule: dict[str, str]) -> None:
        assert metric_problems(rule["expr"], known_series()) == []

    @pytest.mark.parametrize("rule", alerting_rules(), ids=rule_id)
    def test_runbook_is_a_section_of_the_deployment_guide(self, rule: dict[str, str]) -> None:
        # GitHub's anchor for the heading "### ShopTargetDown" is "#shoptargetdown".
        assert rule["annotations"]["runbook_url"] == f"docs/deployment.md#{rule['alert'].lower()}"
        headings = re.findall(r"^#+ (.+)$", DEPLOYMENT_DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
        assert rule["alert"] in headings


def test_the_guide_s_scrape_config_names_the_jobs_the_alerts_expect() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DEPLOYMENT_DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    configs = [yaml.safe_load(block) for block in blocks if "scrape_configs" in block]
    assert len(configs) == 1
    assert {job["job_name"] for job in configs[0]["scrape_configs"]} == {"shop-api", "shop-worker"}
    assert any('job="shop-api"' in rule["expr"] for rule in alerting_rules())


class TestDashboard:
    def test_the_issue_s_panels_are_all_there(self) -> None:
        assert {panel["title"] for panel in dashboard_panels()} >= REQUIRED_PANELS

    def test_panels_have_unique_ids_and_fit_the_grid(self) -> None:
        panels = dashboard()["panels"]
        ids = [panel["id"] for panel in panels]
        assert len(set(ids)) == len(ids)
        for panel in panels:
            position = panel["gridPos"]
            assert position["x"] + position["w"] <= 24, panel["title"]

    def test_queries_use_only_the_dashboard_s_variables(self) -> None:
        variables = {variable["name"] for variable in dashboard()["templating"]["list"]}
        for panel in dashboard_panels():
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            for target in panel["targets"]:
                expression = re.sub(r"\$__\w+", "", target["expr"])
                used = {a or b for a, b in GRAFANA_VARIABLE.findall(expression)}
                assert used <= variables, panel["title"]

    def test_queries_parse_and_name_only_exported_series(self) -> None:
        problems = []
        for panel in dashboard_panels():
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                problems += metric_problems(grafana_to_promql(target["expr"]), known_series())
        for variable in dashboard()["templating"]["list"]:
            if variable["type"] == "query":
                selector = re.fullmatch(r"label_values\((.+), *\w+\)", variable["definition"])
                assert selector, variable["name"]
                problems += metric_problems(selector[1], known_series())
        assert problems == []


class TestMetricNames:
    def test_the_checker_flags_an_unknown_series_and_route(self) -> None:
        problems = metric_problems('sum(rate(shop_http_request_total{route="/api/v1/order"}[5m]))', known_series())
        assert problems == [
            "unknown series shop_http_request_total",
            "shop_http_request_total: no route '/api/v1/order'",
        ]

    def test_the_checker_refuses_invalid_promql(self) -> None:
        with pytest.raises(ValueError, match="expected type matrix"):
            metric_problems("rate(shop_http_requests_total)", known_series())

    def test_the_app_exports_the_series_the_files_rely_on(self) -> None:
        assert {"shop_http_requests_total", "shop_http_request_duration_seconds_bucket", "shop_task_runs_total"} <= (
            exported_series()
        )
