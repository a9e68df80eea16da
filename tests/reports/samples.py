from modules.core.models import User
from modules.reports.models import Report
from tests.samples import sample

_counter = iter(range(1, 10**9))


@sample("reports.report")
def report(org):
    requester = User.objects.create(username=f"analyst{next(_counter)}", organization=org)
    return Report.objects.create(organization=org, requested_by=requester,
                                 report_key="collections-by-day", title="Collections by day",
                                 params={"start": "2026-10-01", "end": "2026-10-15"})
