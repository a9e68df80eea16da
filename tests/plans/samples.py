from decimal import Decimal

from modules.plans.models import Plan, TaxClass
from tests.samples import sample

_counter = iter(range(1, 10**9))


def make_plan(org, **fields) -> Plan:
    n = next(_counter)
    values = {"code": f"plan-{n}", "name": f"Fiber {n}", "price": Decimal("499.00"),
              "download_kbps": 50_000, "upload_kbps": 20_000, "validity_value": 30}
    values.update(fields)
    return Plan.objects.create(organization=org, **values)


@sample("plans.plan")
def plan(org):
    return make_plan(org)


@sample("plans.taxclass")
def tax_class(org):
    return TaxClass.objects.create(tenant=org.tenant, name=f"GST {next(_counter)}",
                                   rate=Decimal("18.00"), hsn_sac="998422")
