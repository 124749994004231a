"""Email delivery counters, exported by the worker that sends them (`shop worker --metrics-port`)."""

from prometheus_client import Counter

email_failures = Counter(
    "shop_email_failures_total",
    "Emails given up on: the delivery was marked failed after its last retry (`shop outbox list` "
    "shows it, `shop outbox retry` sends it again). Counted once per give-up, not per attempt.",
    ["template"],
)


def count_failure(template: str) -> None:
    email_failures.labels(template).inc()
