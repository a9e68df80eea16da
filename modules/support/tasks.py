"""Scheduled support work (celery)."""

import logging

from celery import shared_task

from modules.support import services

logger = logging.getLogger("modules.support")


@shared_task(name="support.check_sla")
def check_sla() -> dict[str, int]:
    """Flag tickets at risk or past their SLA and notify; safe to run twice or in parallel."""
    counts = services.check_sla()
    if any(counts.values()):
        logger.info("SLA check: %s", counts)
    return counts
