"""Self-care sessions, kept apart from operator sessions.

A portal session lives in its own cookie (`selfcare_session`) and stores the subscriber under
its own key; the operator's `sessionid` cookie and `_auth_user_id` are never read here, and a
portal session never carries an operator login. A password change anywhere ends the other
portal sessions (the session remembers a fingerprint of the stored password).
"""

from __future__ import annotations

import hashlib
from functools import wraps
from importlib import import_module
from urllib.parse import quote

from django.conf import settings as django_settings
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone

from modules.plans.services import tenant_zone
from modules.selfcare import selectors
from modules.settings_hub.selectors import security_settings

COOKIE = "selfcare_session"
SUBSCRIBER_KEY = "selfcare:subscriber"
FINGERPRINT_KEY = "selfcare:fingerprint"
PENDING_KEY = "selfcare:pending"  # sign-in waiting for its one-time code
LOGIN_URL = "/portal/login"


def _store_class():
    return import_module(django_settings.SESSION_ENGINE).SessionStore


def fingerprint(subscriber) -> str:
    return hashlib.sha256(f"{subscriber.pk}:{subscriber.password_encrypted}".encode()).hexdigest()


def load(request):
    """Attach the portal session and its subscriber (or None) to the request; dates show in
    the ISP's time zone."""
    timezone.activate(tenant_zone(request.tenant.pk if request.tenant else None))
    store = _store_class()(session_key=request.COOKIES.get(COOKIE))
    request.portal_session = store
    request.portal_settings = selectors.portal_settings(request.tenant)
    subscriber = selectors.signed_in_subscriber(request.tenant, store.get(SUBSCRIBER_KEY))
    if subscriber is not None and store.get(FINGERPRINT_KEY) != fingerprint(subscriber):
        subscriber = None
        store.flush()
    request.subscriber = subscriber
    return subscriber


def sign_in(request, subscriber) -> None:
    store = request.portal_session
    store.cycle_key()  # a new key at sign-in: no session fixation
    store.pop(PENDING_KEY, None)
    store[SUBSCRIBER_KEY] = subscriber.pk
    store[FINGERPRINT_KEY] = fingerprint(subscriber)
    request.subscriber = subscriber


def refresh_fingerprint(request) -> None:
    """Keep this session after the subscriber changed its own password."""
    request.subscriber.refresh_from_db(fields=["password_encrypted"])
    request.portal_session[FINGERPRINT_KEY] = fingerprint(request.subscriber)


def sign_out(request) -> None:
    request.portal_session.flush()
    request.subscriber = None


def save(request, response):
    """Persist the session and set (or delete) its cookie."""
    store = request.portal_session
    if store.is_empty():
        if COOKIE in request.COOKIES:
            response.delete_cookie(COOKIE, path="/portal/")
        return response
    timeout = security_settings(request.tenant).session_timeout_minutes * 60
    store.set_expiry(timeout)
    store["selfcare:seen"] = timezone.now().isoformat(timespec="minutes")
    store.save()
    response.set_cookie(COOKIE, store.session_key, max_age=timeout, path="/portal/",
                        secure=django_settings.SESSION_COOKIE_SECURE, httponly=True,
                        samesite="Lax")
    return response


def portal_page(feature: str | None = None):
    """A page for signed-in subscribers; `feature` names a PortalSettings flag that must be on.

    A disabled feature answers 404 (as if the page did not exist), before anything is read.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                subscriber = load(request)
                if subscriber is None:
                    return save(request, redirect(f"{LOGIN_URL}?next={quote(request.path)}"))
                if feature and not getattr(request.portal_settings, feature):
                    raise Http404("This page is not available.")
                return save(request, view(request, *args, **kwargs))
            finally:
                timezone.deactivate()

        return wrapper

    return decorate


def public_page(view):
    """The sign-in pages: a portal session is loaded but nobody needs to be signed in."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            load(request)
            return save(request, view(request, *args, **kwargs))
        finally:
            timezone.deactivate()

    return wrapper
