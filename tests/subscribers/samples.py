from modules.subscribers.models import KycDocument, StatusChange, Subscriber
from tests.plans.samples import make_plan
from tests.samples import sample

_counter = iter(range(1, 10**9))


def make_subscriber(org, **fields) -> Subscriber:
    n = next(_counter)
    values = {"username": f"sub{n}", "name": f"Subscriber {n}", "mobile": f"+9198220{n:05d}"}
    values.update(fields)
    password = values.pop("password", "Secret-123")
    subscriber = Subscriber(tenant_id=org.tenant_id, organization=org, **values)
    subscriber.set_password(password)
    subscriber.save()
    return subscriber


@sample("subscribers.subscriber")
def subscriber(org):
    return make_subscriber(org, plan=make_plan(org))


@sample("subscribers.kycdocument")
def kyc_document(org):
    return KycDocument.objects.create(subscriber=make_subscriber(org), doc_type="aadhaar",
                                      number="1234 5678 9012")


@sample("subscribers.statuschange")
def status_change(org):
    return StatusChange.objects.create(subscriber=make_subscriber(org), from_status="new",
                                       to_status="active", action="activate", reason="sample")
