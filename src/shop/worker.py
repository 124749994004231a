"""The Celery application of the background workers (`shop worker`).

Importing a domain's handler module registers its outbox handlers and periodic jobs;
`register_tasks` then turns each into a Celery task and builds the beat schedule.
"""

from celery.signals import setup_logging, worker_process_shutdown

import shop.models  # the whole mapper: a job's flush resolves foreign keys to any domain's tables
import shop.subscribers  # noqa: F401  (registers every handler and periodic job)
from shop.core import metrics
from shop.core.config import get_settings
from shop.core.logging import configure_logging
from shop.core.queue import create_celery
from shop.core.tasks import WorkerRuntime, register_tasks

settings = get_settings()
celery_app = create_celery(settings)
runtime = WorkerRuntime(settings, celery_app)
register_tasks(celery_app, runtime)


@setup_logging.connect
def _use_structlog(**_: object) -> None:
    # Connecting this signal stops Celery from installing its own logging handlers.
    configure_logging(settings)


@worker_process_shutdown.connect
def _close_runtime(**_: object) -> None:
    runtime.close()
    metrics.mark_process_dead()
