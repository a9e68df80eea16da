"""Billing's daily list on the subscriber page: who owes money."""

from django.db.models import Exists, OuterRef, QuerySet

from modules.billing.models import Invoice
from modules.subscribers.selectors import register_daily_list


def unpaid(subscribers: QuerySet) -> QuerySet:
    """Subscribers with an issued invoice not yet fully paid (one indexed EXISTS per row)."""
    open_invoices = Invoice.objects.filter(
        subscriber_id=OuterRef("pk"),
        status__in=[Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID],
    )
    return subscribers.filter(Exists(open_invoices))


def register() -> None:
    register_daily_list("unpaid", "Unpaid", unpaid)
