"""Self-care writes. Each one acts for the signed-in subscriber only (no portal user: the
actor is None, like any other customer-initiated change) and goes through the services of
subscribers, billing and support, so no rule is written twice. Toggles are checked here too,
not only in the views."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from modules.billing import orchestration
from modules.billing.gateways import gateway_for
from modules.billing.invoicing import create_proforma
from modules.billing.models import Proforma
from modules.billing.money import BillingError
from modules.plans.models import Plan
from modules.selfcare import selectors
from modules.selfcare.models import PortalSettings, SignInFailure
from modules.settings_hub.models import NotificationTemplate
from modules.settings_hub.selectors import security_settings
from modules.subscribers import services as subscribers
from modules.subscribers.models import Subscriber

REASON = "Self-care"
ADDRESS_LIMIT_FACTOR = 4  # one address may fail this many times the per-login limit
CODE_TTL = timedelta(minutes=5)
CODE_TEXT = "Your sign-in code is {{ code }}. It expires in 5 minutes."


class SelfcareError(ValueError):
    """Refused; the message is shown to the subscriber."""


class LockedOut(SelfcareError):
    pass


# Sign-in ----------------------------------------------------------------------------------------
def _limits(tenant):
    security = security_settings(tenant)
    return security.max_failed_logins, timedelta(minutes=security.lockout_minutes)


def _keys(login: str, subscriber: Subscriber | None) -> set[str]:
    """Failures count against what was typed and against the account it names, so switching
    between username and mobile does not reset the count."""
    keys = {login.strip().lower()[:150]}
    if subscriber is not None:
        keys.add(subscriber.username.lower())
    return keys


def is_locked(tenant, login: str, address: str | None, subscriber=None) -> bool:
    limit, window = _limits(tenant)
    recent = SignInFailure.objects.filter(tenant=tenant, created_at__gte=timezone.now() - window)
    for key in _keys(login, subscriber):
        if recent.filter(login=key).count() >= limit:
            return True
    return bool(address) and recent.filter(address=address).count() >= limit * ADDRESS_LIMIT_FACTOR


def record_failure(tenant, login: str, address: str | None, subscriber=None) -> None:
    typed = login.strip().lower()[:150]
    rows = [SignInFailure(tenant=tenant, login=typed, address=address or None)]
    rows += [SignInFailure(tenant=tenant, login=key)  # the address is counted once
             for key in _keys(login, subscriber) - {typed}]
    SignInFailure.objects.bulk_create(rows)


def clear_failures(tenant, login: str, subscriber=None) -> None:
    SignInFailure.objects.filter(tenant=tenant, login__in=_keys(login, subscriber)).delete()


def forget_old_failures(keep=timedelta(days=1)) -> int:
    """Failures older than any lockout window (at most a day) no longer matter."""
    deleted, _ = SignInFailure.objects.filter(created_at__lt=timezone.now() - keep).delete()
    return deleted


def sign_in(tenant, login: str, password: str, address: str | None) -> Subscriber:
    """The subscriber whose login and password match; counts failures and refuses when locked."""
    settings = selectors.portal_settings(tenant)
    subscriber = selectors.subscriber_for_login(tenant, login, settings)
    if is_locked(tenant, login, address, subscriber):
        raise LockedOut("Too many failed sign-in attempts. Try again later.")
    ok = False
    if subscriber is not None:
        try:
            ok = hmac.compare_digest(subscriber.get_password().encode(), (password or "").encode())
        except ValueError:
            ok = False
    if not ok:
        record_failure(tenant, login, address, subscriber)
        raise SelfcareError("The login or password is not correct.")
    return subscriber


def send_code(subscriber: Subscriber, channel: str) -> str:
    """Send a one-time sign-in code through the notification outbox; returns the code."""
    from modules.billing import notify

    code = f"{secrets.randbelow(10**6):06d}"
    templates = list(NotificationTemplate.objects.filter(
        tenant_id=subscriber.tenant_id, event=NotificationTemplate.Event.ONE_TIME_CODE,
        channel=channel, is_active=True))
    if not templates:  # a sensible message until the ISP writes its own template
        templates = [NotificationTemplate(channel=channel, subject="Sign-in code", body=CODE_TEXT)]
    notify.send(subscriber, NotificationTemplate.Event.ONE_TIME_CODE, {"code": code},
                dedupe_key=f"otp:{subscriber.pk}:{secrets.token_hex(8)}", templates=templates)
    from modules.notifications.tasks import deliver_pending_notices

    # The subscriber is waiting at the sign-in page: deliver now, not at the next minute's run.
    transaction.on_commit(deliver_pending_notices.delay)
    return code


# Purchases --------------------------------------------------------------------------------------
def _require(flag: bool, what: str) -> None:
    if not flag:
        raise PermissionDenied(f"{what} is not available in self-care.")


def _money_errors(call):
    try:
        return call()
    except (BillingError, subscribers.TransitionError) as exc:
        raise SelfcareError(str(exc)) from exc


def renew(subscriber: Subscriber, settings: PortalSettings):
    """Renew the current plan, paid from the wallet (refused, changing nothing, if short)."""
    _require(settings.allow_renewal, "Renewal")
    if subscriber.plan is None:
        raise SelfcareError("There is no plan to renew; contact support.")
    return _money_errors(lambda: orchestration.renew_and_bill(
        subscriber, actor=None, require_paid=True, reason=REASON))


def plan_for_change(subscriber, settings, plan_id) -> Plan:
    plan = selectors.offered_plan(subscriber, plan_id)
    if plan is None or plan.pk == subscriber.plan_id:
        raise SelfcareError("This plan is not offered to you.")
    if selectors.is_upgrade(subscriber, plan):
        _require(settings.allow_plan_upgrade, "Plan upgrade")
    else:
        _require(settings.allow_plan_downgrade, "Plan downgrade")
    return plan


def change_plan(subscriber: Subscriber, settings: PortalSettings, plan_id):
    plan = plan_for_change(subscriber, settings, plan_id)
    return _money_errors(lambda: orchestration.change_plan_and_bill(
        subscriber, plan, actor=None, require_paid=True, reason=REASON))


def _item(subscriber, settings, plan_id) -> Plan:
    _require(settings.allow_addon_purchase, "Buying top-ups and boosters")
    item = selectors.offered_plan(subscriber, plan_id, kinds=selectors.ADDON_TYPES)
    if item is None:
        raise SelfcareError("This top-up is not offered to you.")
    return item


def buy_item(subscriber: Subscriber, settings: PortalSettings, plan_id):
    item = _item(subscriber, settings, plan_id)
    return _money_errors(lambda: orchestration.add_plan_item_and_bill(
        subscriber, item, actor=None, require_paid=True))


def _online_gateway(subscriber: Subscriber, settings: PortalSettings):
    _require(settings.allow_online_payment, "Online payment")
    config = settings.payment_gateway
    if config is None or not config.is_active or config.tenant_id != subscriber.tenant_id:
        raise SelfcareError("Online payment is not set up; contact support.")
    return config


def _open_order(config, proforma: Proforma, return_url: str) -> tuple[Proforma, dict]:
    """The quote is committed before the gateway is called: no lock is held during the call,
    and an unanswered order leaves only an open quote that expires the next day."""
    try:
        order = gateway_for(config).create_order(proforma, return_url=return_url)
    except (OSError, ValueError, NotImplementedError) as exc:
        raise SelfcareError("The payment gateway did not answer; try again later.") from exc
    order_id = str(order.get("id") or "")
    if not order_id:
        raise SelfcareError("The payment gateway did not answer; try again later.")
    Proforma.objects.filter(pk=proforma.pk).update(gateway_order_id=order_id)
    proforma.gateway_order_id = order_id
    return proforma, order


def start_online_payment(subscriber: Subscriber, settings: PortalSettings, purpose: str,
                         plan_id=None, *, return_url: str = "") -> tuple[Proforma, dict]:
    """A proforma for the purchase and a gateway order for it; the gateway's signed webhook
    later records the payment and carries out the purchase (billing.webhooks)."""
    config = _online_gateway(subscriber, settings)
    P = Proforma.Purpose
    if purpose == P.RENEW:
        _require(settings.allow_renewal, "Renewal")
        plan = subscriber.plan
        if plan is None:
            raise SelfcareError("There is no plan to renew; contact support.")
    elif purpose == P.CHANGE_PLAN:
        plan = plan_for_change(subscriber, settings, plan_id)
    elif purpose == P.PLAN_ITEM:
        plan = _item(subscriber, settings, plan_id)
    else:
        raise SelfcareError("Unknown purchase.")
    proforma = create_proforma(subscriber, plan, actor=None, purpose=purpose, valid_days=1)
    return _open_order(config, proforma, return_url)


def start_wallet_recharge(subscriber: Subscriber, settings: PortalSettings, amount, *,
                          return_url: str = "") -> tuple[Proforma, dict]:
    """A recharge quote for the amount and a gateway order for it; the signed webhook credits
    the wallet (billing.webhooks). A bad amount is refused before anything is written."""
    config = _online_gateway(subscriber, settings)
    proforma = _money_errors(lambda: orchestration.create_recharge_proforma(
        subscriber, amount, actor=None))
    return _open_order(config, proforma, return_url)


# Profile, password, tickets ---------------------------------------------------------------------
EDITABLE_FIELDS = ("mobile", "email")
LOCKED_FIELDS = ("username", "name", "address", "area", "city", "state", "pincode", "tax_number",
                 "connection_type", "mac_address", "static_ipv4")


def update_contact(subscriber: Subscriber, settings: PortalSettings, *, mobile: str,
                   email: str) -> Subscriber:
    """Contact details only: billing, KYC and service identity fields stay as the ISP set them."""
    _require(settings.allow_profile_edit, "Profile edit")
    fields = subscribers.normalize_identity({"mobile": mobile, "email": email},
                                            subscriber.tenant_id)
    if not fields["mobile"]:
        raise ValidationError({"mobile": "A mobile number is required."})
    with transaction.atomic():
        locked = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        for name in EDITABLE_FIELDS:
            setattr(locked, name, fields[name])
            setattr(subscriber, name, fields[name])
        locked.save(update_fields=[*EDITABLE_FIELDS, "updated_at"])
    return subscriber


def change_password(subscriber: Subscriber, settings: PortalSettings, *, current: str,
                    new: str) -> None:
    _require(settings.allow_password_change, "Password change")
    try:
        matches = hmac.compare_digest(subscriber.get_password().encode(), current.encode())
    except ValueError:
        matches = False
    if not matches:
        raise ValidationError({"current": "The current password is not correct."})
    if len(new) < 8:
        raise ValidationError({"new": "Use at least 8 characters."})
    if new == current:
        raise ValidationError({"new": "Choose a password different from the current one."})
    subscribers.reset_password(subscriber, actor=None, new_password=new)


def open_ticket(subscriber: Subscriber, settings: PortalSettings, *, summary: str,
                description: str, category=None):
    from modules.support import services as support
    from modules.support.models import Ticket

    _require(settings.allow_ticket_creation, "Opening tickets")
    if category is not None and category.tenant_id != subscriber.tenant_id:
        raise SelfcareError("Pick one of the listed categories.")
    try:
        return support.open_ticket(actor=None, subscriber=subscriber, summary=summary[:200],
                                   description=description, category=category,
                                   channel=Ticket.Channel.SELFCARE)
    except support.SupportError as exc:
        raise SelfcareError(str(exc)) from exc


def reply_ticket(subscriber: Subscriber, ticket, body: str):
    from modules.support import services as support

    if ticket.subscriber_id != subscriber.pk:
        raise PermissionDenied("Not your ticket.")
    try:
        return support.add_comment(ticket, actor=None, body=body, from_customer=True)
    except support.SupportError as exc:
        raise SelfcareError(str(exc)) from exc


def code_digest(code: str) -> str:
    """What the session keeps of a one-time code (never the code itself)."""
    from django.conf import settings

    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), "sha256").hexdigest()
