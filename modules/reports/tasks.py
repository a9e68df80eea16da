"""Background report work (celery): export files and the daily roll-ups."""

from celery import shared_task

from modules.reports import services


@shared_task(name="reports.build_export")
def build_export_task(report_id: int) -> str:
    """Write one queued export; a duplicate delivery finds the job no longer queued."""
    report = services.build_export(report_id)
    return report.status if report else "skipped"


@shared_task(name="reports.refresh_rollups")
def refresh_rollups_task(days: int = 2) -> int:
    """Recompute the last `days` days of the roll-ups of every tenant; idempotent."""
    return services.refresh_recent(days)


@shared_task(name="reports.refresh_rollups_nightly")
def refresh_rollups_nightly() -> int:
    """The last 35 days, so late cancellations and back-dated payments reach the reports."""
    return services.refresh_recent(35)
