"""Reactions to other modules' domain events."""

from django.dispatch import receiver

from modules.subscribers import events


@receiver(events.service_changed, dispatch_uid="reports.plan_change")
def record_plan_change(sender, subscriber, change, details, actor=None, **kwargs):
    """Keep the old and new plan of each plan change for the upgrade/downgrade report."""
    if change != "change_plan":
        return
    from modules.reports.services import record_plan_change as record

    record(subscriber, details.get("old_plan_id"), details.get("plan_id"))
