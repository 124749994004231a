"""The Celery application of the background workers (`shop worker`)."""

from celery.signals import setup_logging

from shop.core.config import get_settings
from shop.core.logging import configure_logging
from shop.core.queue import create_celery

settings = get_settings()
celery_app = create_celery(settings)


@setup_logging.connect
def _use_structlog(**_: object) -> None:
    # Connecting this signal stops Celery from installing its own logging handlers.
    configure_logging(settings)
