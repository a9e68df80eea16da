"""Public billing endpoints: gateway webhooks (signed, not session-authenticated)."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from modules.billing import webhooks
from modules.billing.gateways import SignatureError
from modules.billing.models import PaymentGateway
from modules.billing.money import BillingError

MAX_BODY = 256 * 1024


@csrf_exempt
@require_POST
def gateway_webhook(request, gateway_id: int):
    config = PaymentGateway.objects.filter(pk=gateway_id, is_active=True).first()
    if config is None:
        return HttpResponse(status=404)
    body = request.body
    if len(body) > MAX_BODY:
        return HttpResponseBadRequest("Body too large.")
    try:
        outcome = webhooks.handle(config, body, request.headers)
    except SignatureError as exc:
        return HttpResponse(str(exc), status=401)
    except BillingError as exc:
        # Verified but not settleable: answer 200 so the gateway stops retrying; it is logged
        # with the event for the exception queue.
        return JsonResponse({"status": "rejected", "reason": str(exc)}, status=200)
    return JsonResponse({"status": "ok", "outcome": outcome})
