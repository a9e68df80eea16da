"""`/health` for load balancers and monitors, `/metrics` for Prometheus."""

from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from modules.ops import metrics as metric_store
from modules.ops.access import may_read_operations
from modules.ops.health import run_checks


@never_cache
@require_safe
def health(request):
    """200 when every required check passes, else 503. Error details only for trusted callers."""
    report = run_checks()
    if not may_read_operations(request):
        for check in report["checks"].values():
            check.pop("detail")
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@never_cache
@require_safe
def metrics(request):
    if not may_read_operations(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    body, content_type = metric_store.render()
    return HttpResponse(body, content_type=content_type)
