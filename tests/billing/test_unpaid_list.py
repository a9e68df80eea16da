"""The subscribers' "Unpaid" daily list comes from billing: an issued invoice not fully paid."""

from django.urls import reverse

from modules.billing import payments
from modules.subscribers.models import Subscriber
from modules.subscribers.selectors import daily_list
from tests.billing.test_services import plan_invoice


def test_unpaid_lists_exactly_the_subscribers_who_owe(billing):
    owes, settled, clear = (billing.subscriber() for _ in range(3))
    plan_invoice(billing, owes)
    paid = plan_invoice(billing, settled)
    payments.record_payment(settled, paid.total, actor=billing.admin, method="cash")
    unpaid = set(daily_list(Subscriber.objects.all(), "unpaid"))
    assert owes in unpaid
    assert settled not in unpaid and clear not in unpaid


def test_the_unpaid_list_is_a_scoped_filter_on_the_subscriber_page(client, billing):
    mine, theirs = billing.subscriber("lco1"), billing.subscriber("lco2")
    billing.subscriber("lco1")  # in scope, owes nothing
    plan_invoice(billing, mine)
    plan_invoice(billing, theirs)
    client.force_login(billing.world.users["lco1"])
    page = client.get(reverse("admin:subscribers_subscriber_changelist"), {"list": "unpaid"})
    assert page.status_code == 200
    shown = {s.pk for s in page.context["cl"].result_list}
    assert shown == {mine.pk}
