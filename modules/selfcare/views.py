"""Self-care pages: sign-in, dashboard, usage, profile, password, tickets.

Money pages are in `views_billing.py`. Every page runs under `session.portal_page`, which
finds the signed-in subscriber and refuses a switched-off feature before the view runs.
"""

from __future__ import annotations

import hmac
import time
from urllib.parse import quote, urlparse

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from modules.selfcare import forms, selectors, services, session
from modules.selfcare.models import PortalSettings

MAX_CODE_TRIES = 5


def page(request, template: str, context: dict | None = None, status: int = 200):
    """Render with the portal's branding and the navigation the settings allow."""
    settings = request.portal_settings
    base = {"brand": selectors.branding(request.tenant, settings), "portal": settings,
            "subscriber": getattr(request, "subscriber", None),
            "show_billing": settings.show_invoice_history or settings.show_payment_history}
    return render(request, f"selfcare/{template}", {**base, **(context or {})}, status=status)


def _address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/portal/"
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts=None)
    return target if ok and urlparse(target).path.startswith("/portal/") else "/portal/"


def _field_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# Sign-in ----------------------------------------------------------------------------------------
@session.public_page
def sign_in(request):
    if request.subscriber is not None:
        return redirect("/portal/")
    form = forms.SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        login = form.cleaned_data["login"]
        try:
            subscriber = services.sign_in(request.tenant, login, form.cleaned_data["password"],
                                          _address(request))
        except services.LockedOut as exc:
            form.add_error(None, str(exc))
            status = 429
        except services.SelfcareError as exc:
            form.add_error(None, str(exc))
        else:
            channel = request.portal_settings.one_time_code
            if channel == PortalSettings.OneTimeCode.NONE:
                services.clear_failures(request.tenant, login, subscriber)
                session.sign_in(request, subscriber)
                return redirect(_next(request))
            code = services.send_code(subscriber, channel)
            request.portal_session.cycle_key()
            request.portal_session[session.PENDING_KEY] = {
                "id": subscriber.pk, "login": login, "tries": 0,
                "code": services.code_digest(code), "until": time.time() + 300}
            return redirect(f"/portal/code?next={quote(_next(request))}")
    return page(request, "login.html", {"form": form, "next": _next(request)}, status=status)


@session.public_page
def one_time_code(request):
    pending = request.portal_session.get(session.PENDING_KEY)
    if not pending or pending["until"] < time.time():
        request.portal_session.pop(session.PENDING_KEY, None)
        messages.error(request, "The sign-in code expired; sign in again.")
        return redirect(session.LOGIN_URL)
    form = forms.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        given = services.code_digest(form.cleaned_data["code"])
        subscriber = selectors.signed_in_subscriber(request.tenant, pending["id"])
        if subscriber is not None and hmac.compare_digest(given, pending["code"]):
            services.clear_failures(request.tenant, pending["login"], subscriber)
            session.sign_in(request, subscriber)
            return redirect(_next(request))
        services.record_failure(request.tenant, pending["login"], _address(request), subscriber)
        pending["tries"] += 1
        if pending["tries"] >= MAX_CODE_TRIES:
            request.portal_session.pop(session.PENDING_KEY, None)
            return redirect(session.LOGIN_URL)
        request.portal_session[session.PENDING_KEY] = pending
        form.add_error("code", "That code is not correct.")
    channel = request.portal_settings.get_one_time_code_display()
    return page(request, "code.html", {"form": form, "next": _next(request), "channel": channel})


@require_POST
@session.public_page
def sign_out(request):
    session.sign_out(request)
    return redirect(session.LOGIN_URL)


# Pages ------------------------------------------------------------------------------------------
@session.portal_page()
def dashboard(request):
    subscriber = request.subscriber
    settings = request.portal_settings
    context = {"wallet": selectors.wallet(subscriber), "online": selectors.is_online(subscriber)}
    if settings.show_data_usage:
        context["cycle"] = selectors.current_cycle(subscriber)
    return page(request, "dashboard.html", context)


@session.portal_page("show_data_usage")
def usage(request):
    subscriber = request.subscriber
    context = {"cycle": selectors.current_cycle(subscriber)}
    if request.portal_settings.show_usage_graph:
        context["graph"] = usage_graph(selectors.daily_usage(subscriber))
    return page(request, "usage.html", context)


def usage_graph(days, width: int = 300, height: int = 120) -> dict:
    """Bars for an inline SVG: one per day, scaled to the busiest day."""
    peak = max((d.total_octets for d in days), default=0) or 1
    step = width / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        h = round(height * day.total_octets / peak, 1)
        bars.append({"x": round(i * step, 1), "y": round(height - h, 1), "w": max(step - 1, 1),
                     "h": h, "day": day.day, "octets": day.total_octets})
    return {"bars": bars, "width": width, "height": height, "peak": peak}


@session.portal_page()
def profile(request):
    return page(request, "profile.html", {"locked": services.LOCKED_FIELDS})


@session.portal_page("allow_profile_edit")
def profile_edit(request):
    subscriber = request.subscriber
    form = forms.ContactForm(request.POST or None,
                             initial={"mobile": subscriber.mobile, "email": subscriber.email})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_contact(subscriber, request.portal_settings, **form.cleaned_data)
        except ValidationError as exc:
            _field_errors(form, exc)
        else:
            messages.success(request, "Your contact details are saved.")
            return redirect("/portal/profile")
    return page(request, "profile_edit.html", {"form": form})


@session.portal_page("allow_password_change")
def password(request):
    form = forms.PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_password(request.subscriber, request.portal_settings,
                                     current=form.cleaned_data["current"],
                                     new=form.cleaned_data["new"])
        except ValidationError as exc:
            _field_errors(form, exc)
        else:
            session.refresh_fingerprint(request)
            messages.success(request, "Your password is changed; use it for your connection too.")
            return redirect("/portal/profile")
    return page(request, "password.html", {"form": form})


# Tickets ----------------------------------------------------------------------------------------
@session.portal_page()
def tickets(request):
    return page(request, "tickets.html", {"tickets": selectors.tickets(request.subscriber)[:50]})


@session.portal_page("allow_ticket_creation")
def ticket_new(request):
    subscriber = request.subscriber
    form = forms.TicketForm(request.POST or None, tenant_id=subscriber.tenant_id)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.open_ticket(subscriber, request.portal_settings,
                                          **form.cleaned_data)
        except services.SelfcareError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Ticket {ticket.reference} is open; we will reply soon.")
            return redirect(f"/portal/tickets/{ticket.pk}")
    return page(request, "ticket_new.html", {"form": form})


@session.portal_page()
def ticket_detail(request, ticket_id: int):
    from modules.support.selectors import customer_visible_comments

    ticket = selectors.ticket(request.subscriber, ticket_id)
    if ticket is None:
        raise Http404("No such ticket.")
    form = forms.ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reply_ticket(request.subscriber, ticket, form.cleaned_data["body"])
        except services.SelfcareError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(f"/portal/tickets/{ticket.pk}")
    return page(request, "ticket_detail.html", {
        "ticket": ticket, "comments": customer_visible_comments(ticket), "form": form})
