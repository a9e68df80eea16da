"""Celery tasks for the billing schedule (see schedules.py); each wraps an idempotent job."""

from celery import shared_task

from modules.billing import jobs, renewals


@shared_task(name="billing.renew_due")
def renew_due():
    return renewals.renew_due(workers=renewals.WORKERS)


@shared_task(name="billing.expire_unrenewed")
def expire_unrenewed():
    return jobs.expire_unrenewed()


@shared_task(name="billing.send_expiry_reminders")
def send_expiry_reminders():
    return jobs.send_expiry_reminders()


@shared_task(name="billing.postpaid_bill_run")
def postpaid_bill_run():
    return jobs.postpaid_bill_run()


@shared_task(name="billing.apply_late_fees")
def apply_late_fees():
    return jobs.apply_late_fees()


@shared_task(name="billing.suspend_overdue")
def suspend_overdue():
    return jobs.suspend_overdue()
