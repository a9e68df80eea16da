"""Self-care money pages: invoices and payments, plans, renewal, plan change, top-ups, wallet
recharge and online payment. Each purchase shows its quote (price, proration, tax, total,
activation time) on GET and is carried out on POST by `services`, from the wallet or through
the gateway."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from modules.billing import printing
from modules.billing.models import Proforma
from modules.billing.money import BillingError
from modules.selfcare import preview, selectors, services, session
from modules.selfcare.views import page


@session.portal_page()
def billing(request):
    settings = request.portal_settings
    if not (settings.show_invoice_history or settings.show_payment_history):
        raise Http404("This page is not available.")
    subscriber = request.subscriber
    context = {"wallet": selectors.wallet(subscriber)}
    if settings.show_invoice_history:
        context["invoices"] = selectors.invoices(subscriber)[:50]
    if settings.show_payment_history:
        context["payments"] = selectors.payments(subscriber)[:50]
    return page(request, "billing.html", context)


@session.portal_page("allow_invoice_download")
def invoice_download(request, invoice_id: int):
    invoice = selectors.invoice(request.subscriber, invoice_id)
    if invoice is None:
        raise Http404("No such invoice.")
    name = printing.filename(invoice)
    if request.GET.get("format") == "pdf":
        try:
            body = printing.invoice_pdf(invoice)
        except BillingError as exc:
            return HttpResponse(str(exc), status=503, content_type="text/plain")
        response = HttpResponse(body, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return response
    return HttpResponse(printing.invoice_html(invoice))


@session.portal_page("show_payment_history")
def receipt(request, payment_id: int):
    payment = selectors.payment(request.subscriber, payment_id)
    if payment is None:
        raise Http404("No such payment.")
    return HttpResponse(printing.receipt_html(payment))


@session.portal_page()
def plans(request):
    settings = request.portal_settings
    subscriber = request.subscriber
    offers = []
    if settings.allow_plan_upgrade or settings.allow_plan_downgrade:
        for plan in selectors.offered_plans(subscriber).exclude(pk=subscriber.plan_id or 0):
            upgrade = selectors.is_upgrade(subscriber, plan)
            if settings.allow_plan_upgrade if upgrade else settings.allow_plan_downgrade:
                offers.append({"plan": plan, "upgrade": upgrade})
    return page(request, "plans.html", {"offers": offers})


def _quote_page(request, quote, *, action_url, title, purpose, plan_id=None):
    return page(request, "quote.html", {"quote": quote, "action_url": action_url, "title": title,
                                        "purpose": purpose, "plan_id": plan_id})


def _done(request, billed, what):
    invoice = getattr(billed, "invoice", None)
    note = f" Invoice {invoice.number}." if invoice else ""
    messages.success(request, f"{what} done.{note}")
    return redirect("/portal/")


@session.portal_page("allow_renewal")
def renew(request):
    subscriber = request.subscriber
    if subscriber.plan is None:
        raise Http404("No plan to renew.")
    if request.method == "POST":
        try:
            billed = services.renew(subscriber, request.portal_settings)
        except services.SelfcareError as exc:
            messages.error(request, str(exc))
        else:
            return _done(request, billed, "Renewal")
    return _quote_page(request, preview.renewal(subscriber), action_url="/portal/renew",
                       title=f"Renew {subscriber.plan.name}", purpose=Proforma.Purpose.RENEW)


@session.portal_page()
def change_plan(request, plan_id: int):
    subscriber, settings = request.subscriber, request.portal_settings
    try:
        plan = services.plan_for_change(subscriber, settings, plan_id)
    except (PermissionDenied, services.SelfcareError) as exc:
        raise Http404("This plan is not offered to you.") from exc
    if request.method == "POST":
        try:
            billed = services.change_plan(subscriber, settings, plan.pk)
        except services.SelfcareError as exc:
            messages.error(request, str(exc))
        else:
            return _done(request, billed, f"Change to {plan.name}")
    quote = preview.plan_change(subscriber, plan)
    return _quote_page(request, quote, action_url=f"/portal/plans/{plan.pk}/change",
                       title=f"{quote.action.title()} to {plan.name}",
                       purpose=Proforma.Purpose.CHANGE_PLAN, plan_id=plan.pk)


@session.portal_page("allow_addon_purchase")
def addons(request):
    items = selectors.offered_plans(request.subscriber, kinds=selectors.ADDON_TYPES)
    return page(request, "addons.html", {"items": items})


@session.portal_page("allow_addon_purchase")
def buy_addon(request, plan_id: int):
    subscriber, settings = request.subscriber, request.portal_settings
    item = selectors.offered_plan(subscriber, plan_id, kinds=selectors.ADDON_TYPES)
    if item is None:
        raise Http404("This top-up is not offered to you.")
    if request.method == "POST":
        try:
            billed = services.buy_item(subscriber, settings, item.pk)
        except services.SelfcareError as exc:
            messages.error(request, str(exc))
        else:
            return _done(request, billed, item.name)
    return _quote_page(request, preview.plan_item(subscriber, item),
                       action_url=f"/portal/addons/{item.pk}", title=f"Buy {item.name}",
                       purpose=Proforma.Purpose.PLAN_ITEM, plan_id=item.pk)


@require_POST
@session.portal_page("allow_online_payment")
def pay_online(request):
    subscriber, settings = request.subscriber, request.portal_settings
    try:
        proforma, order = services.start_online_payment(
            subscriber, settings, request.POST.get("purpose", ""), request.POST.get("plan_id"),
            return_url=request.build_absolute_uri("/portal/billing"))
    except PermissionDenied as exc:
        raise Http404("This purchase is not available.") from exc
    except services.SelfcareError as exc:
        messages.error(request, str(exc))
        return redirect("/portal/")
    return _checkout(request, proforma, order)


def _checkout(request, proforma, order):
    return page(request, "checkout.html", {"proforma": proforma, "order": order,
                                           "gateway": request.portal_settings.payment_gateway})


@session.portal_page("allow_online_payment")
def recharge(request):
    """Put money into the wallet through the gateway: an amount, then the gateway's checkout."""
    subscriber, settings = request.subscriber, request.portal_settings
    amount = ""
    if request.method == "POST":
        amount = request.POST.get("amount", "").strip()
        try:
            proforma, order = services.start_wallet_recharge(
                subscriber, settings, amount,
                return_url=request.build_absolute_uri("/portal/billing"))
        except PermissionDenied as exc:
            raise Http404("Wallet recharge is not available.") from exc
        except services.SelfcareError as exc:
            messages.error(request, str(exc))
        else:
            return _checkout(request, proforma, order)
    return page(request, "recharge.html", {"wallet": selectors.wallet(subscriber),
                                           "amount": amount})
