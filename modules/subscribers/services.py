"""The subscriber lifecycle: one service function per transition or service action.

Each function checks the rule, refuses an actor without scope on the subscriber, locks the
row, records who/when/why in `StatusChange`, and sends the domain events of `events.py` after
commit.  Money is not handled here: billing wraps these functions (modules/billing).

    new -> active -> expired | suspended | limited -> terminated
    suspended -> active (resume); expired -> active (renew: reactivation); limited -> active
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from modules.core import scope
from modules.core.models import Organization
from modules.plans.models import Plan
from modules.plans.selectors import available_to_organization, can_sell
from modules.plans.services import compute_expiry, expiry_policy
from modules.subscribers import events
from modules.subscribers.models import KycDocument, StatusChange, Subscriber, SubscriberAddon
from modules.subscribers.validation import (
    normalize_email,
    normalize_ip,
    normalize_ipv4,
    normalize_ipv6_prefix,
    normalize_mac,
    normalize_mobile,
    tenant_region,
)

S = Subscriber.Status
ITEM_TYPES = {Plan.Type.ADDON, Plan.Type.TOPUP, Plan.Type.OTT, Plan.Type.BOOSTER}
MAX_EXTENSION_DAYS = 366
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"


class TransitionError(ValueError):
    """A lifecycle rule refused the change; the message says why, in operator words."""


# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "activate": (frozenset({S.NEW}), S.ACTIVE),
    "suspend": (frozenset({S.ACTIVE, S.LIMITED, S.EXPIRED}), S.SUSPENDED),
    "resume": (frozenset({S.SUSPENDED}), S.ACTIVE),
    "limit": (frozenset({S.ACTIVE}), S.LIMITED),
    "unlimit": (frozenset({S.LIMITED}), S.ACTIVE),
    "expire": (frozenset({S.ACTIVE, S.LIMITED}), S.EXPIRED),
    "terminate": (frozenset({S.NEW, S.ACTIVE, S.LIMITED, S.SUSPENDED, S.EXPIRED}), S.TERMINATED),
    "renew": (frozenset({S.ACTIVE, S.LIMITED, S.EXPIRED}), S.ACTIVE),
    "change_plan": (frozenset({S.NEW, S.ACTIVE, S.LIMITED, S.EXPIRED}), S.ACTIVE),
    "extend": (frozenset({S.ACTIVE, S.LIMITED, S.EXPIRED, S.SUSPENDED}), S.ACTIVE),
    "add_plan_item": (frozenset({S.ACTIVE, S.LIMITED}), S.ACTIVE),
}


def allowed_actions(subscriber: Subscriber) -> set[str]:
    """Actions the lifecycle allows from the subscriber's current status (for buttons)."""
    return {name for name, (sources, _) in TRANSITIONS.items() if subscriber.status in sources}


# Internals ------------------------------------------------------------------------------------
def _check_scope(actor, organization: Organization | None) -> None:
    if actor is not None and not scope.in_scope(actor, organization):
        raise PermissionDenied("This subscriber is outside your organizations.")


def _lock(subscriber: Subscriber, actor) -> Subscriber:
    """Lock the row and bring `subscriber` up to date with it (so rules see the real status)."""
    _check_scope(actor, subscriber.organization)
    fresh = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    for field in Subscriber._meta.concrete_fields:
        setattr(subscriber, field.attname, getattr(fresh, field.attname))
    return subscriber


def _require(subscriber: Subscriber, action: str) -> str:
    sources, target = TRANSITIONS[action]
    if subscriber.status not in sources:
        label = action.replace("_", " ")
        raise TransitionError(
            f"Cannot {label} {subscriber.username}: the subscriber is "
            f"{subscriber.get_status_display().lower()}."
        )
    return target


def _actor_or_none(actor):
    return actor if actor is not None and getattr(actor, "pk", None) else None


def _record(subscriber, *, old, new, action, reason, actor, details=None, change=None):
    """Audit row now; events after commit (a rolled-back change tells nobody)."""
    StatusChange.objects.create(subscriber=subscriber, from_status=old, to_status=new,
                                action=action, reason=(reason or "")[:255],
                                actor=_actor_or_none(actor))
    if old != new:
        transaction.on_commit(lambda: events.status_changed.send(
            sender=Subscriber, subscriber=subscriber, old_status=old, new_status=new,
            action=action, reason=reason, actor=actor))
    if change:
        transaction.on_commit(lambda: events.service_changed.send(
            sender=Subscriber, subscriber=subscriber, change=change, details=details or {},
            actor=actor))


def _save(subscriber, *fields):
    subscriber.save(update_fields=[*fields, "updated_at"])


def _transition(subscriber, action, *, actor, reason, **updates) -> Subscriber:
    with transaction.atomic():
        _lock(subscriber, actor)
        old = subscriber.status
        new = updates.pop("status", None) or _require(subscriber, action)
        subscriber.status = new
        for name, value in updates.items():
            setattr(subscriber, name, value)
        _save(subscriber, "status", *updates)
        _record(subscriber, old=old, new=new, action=action, reason=reason, actor=actor)
    return subscriber


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _check_plan(actor, subscriber_org: Organization, plan: Plan, *, kinds) -> None:
    if plan.organization.tenant_id != subscriber_org.tenant_id:
        raise TransitionError(f"The plan {plan} belongs to another ISP.")
    if plan.plan_type not in kinds:
        raise TransitionError(f"{plan} is a {plan.get_plan_type_display().lower()} plan, not "
                              f"one that can be used here.")
    if not plan.is_active:
        raise TransitionError(f"The plan {plan} is not active.")
    if not can_sell(actor, plan):
        raise PermissionDenied(f"You may not sell the plan {plan}.")
    if not available_to_organization(subscriber_org).filter(pk=plan.pk).exists():
        raise TransitionError(f"{subscriber_org} may not sell the plan {plan}.")


# Creation -------------------------------------------------------------------------------------
def normalize_identity(fields: dict, tenant_id: int) -> dict:
    """Normalise phone, MAC, email and addresses in `fields` (raises ValidationError per field)."""
    errors = {}
    normalizers = {
        "mobile": lambda v: normalize_mobile(v, tenant_region(tenant_id)),
        "mac_address": normalize_mac, "email": normalize_email, "static_ipv4": normalize_ipv4,
        "nas_ip": normalize_ip, "ipv6_prefix": normalize_ipv6_prefix,
    }
    for name, normalize in normalizers.items():
        if name in fields:
            try:
                fields[name] = normalize(fields[name] or "")
            except ValidationError as exc:
                errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    return fields


def create_subscriber(*, actor, organization: Organization, username: str, password: str,
                      name: str, plan: Plan | None = None, **fields) -> Subscriber:
    """A new subscriber (status new) owned by `organization`; activation is a separate step."""
    _check_scope(actor, organization)
    if plan is not None:
        _check_plan(actor, organization, plan, kinds={Plan.Type.BROADBAND})
    if not password:
        raise ValidationError({"password": "A password is required."})
    fields = normalize_identity(dict(fields), organization.tenant_id)
    subscriber = Subscriber(tenant_id=organization.tenant_id, organization=organization,
                            username=(username or "").strip(), name=name, plan=plan, **fields)
    subscriber.set_password(password)
    subscriber.full_clean(exclude=["password_encrypted"])
    with transaction.atomic():
        subscriber.save()
        _record(subscriber, old=S.NEW, new=subscriber.status, action="create", reason="",
                actor=actor)
    return subscriber


# Lifecycle ------------------------------------------------------------------------------------
def activate(subscriber, *, actor, reason="", now=None) -> Subscriber:
    """new -> active: validity starts now, from the subscriber's plan."""
    now = _now(now)
    with transaction.atomic():
        _lock(subscriber, actor)
        _require(subscriber, "activate")
        if subscriber.plan_id is None:
            raise TransitionError(f"Cannot activate {subscriber.username}: choose a plan first.")
        if not subscriber.password_encrypted:
            raise TransitionError(f"Cannot activate {subscriber.username}: set a password first.")
        return _transition(subscriber, "activate", actor=actor, reason=reason, activated_at=now,
                           expires_at=compute_expiry(subscriber.plan, now))


def renew(subscriber, *, actor, plan=None, reason="", now=None) -> Subscriber:
    """One more validity period from max(now, expiry); expired or limited become active."""
    now = _now(now)
    with transaction.atomic():
        _lock(subscriber, actor)
        target = _require(subscriber, "renew")
        plan = plan or subscriber.plan
        if plan is None:
            raise TransitionError(f"Cannot renew {subscriber.username}: no plan.")
        if plan.pk != subscriber.plan_id:
            _check_plan(actor, subscriber.organization, plan, kinds={Plan.Type.BROADBAND})
        start = now
        if subscriber.expires_at and subscriber.expires_at > now:
            start = subscriber.expires_at + timedelta(seconds=1)
        old, old_expiry = subscriber.status, subscriber.expires_at
        subscriber.plan, subscriber.status = plan, target
        subscriber.expires_at = compute_expiry(plan, start)
        subscriber.activated_at = subscriber.activated_at or now
        _save(subscriber, "plan", "status", "expires_at", "activated_at")
        _record(subscriber, old=old, new=target, action="renew", reason=reason, actor=actor,
                change="renew", details={"plan_id": plan.pk, "old_expires_at": old_expiry,
                                         "expires_at": subscriber.expires_at})
    return subscriber


def renew_many(subscribers, *, actor, reason="", now=None, policies=None) -> list[Subscriber]:
    """Renew a batch on their own plans with set-based writes (the auto-renewal hot path).

    The caller holds the rows' locks (SELECT ... FOR UPDATE) inside its transaction. Each
    renewal is `renew`'s: one more period from max(now, expiry), limited or expired become
    active. One UPDATE moves the expiries, only of rows still at the expiry the caller read
    (so a repeated or racing call renews nobody twice); one insert writes the audit rows; one
    `services_changed` event after commit tells the network side. `policies` maps tenant id to
    its `ExpiryPolicy` (read once per tenant when missing). Returns the renewed subscribers,
    updated in place; the others are left untouched.
    """
    now = _now(now)
    sources, target = TRANSITIONS["renew"]
    policies = {} if policies is None else policies
    planned = {}
    for sub in subscribers:
        if sub.status not in sources or sub.plan_id is None:
            continue
        _check_scope(actor, sub.organization)
        policy = policies.get(sub.tenant_id)
        if policy is None:
            policy = policies[sub.tenant_id] = expiry_policy(sub.tenant_id)
        start = now
        if sub.expires_at and sub.expires_at > now:
            start = sub.expires_at + timedelta(seconds=1)
        planned[sub.pk] = (sub, compute_expiry(sub.plan, start, policy))
    if not planned:
        return []
    table = Subscriber._meta.db_table
    ids, olds, news = [], [], []
    for pk, (sub, expires) in planned.items():
        ids.append(pk)
        olds.append(sub.expires_at)
        news.append(expires)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            # Table name from model meta, values as parameters only.
            f"UPDATE {table} AS s SET status = %s, expires_at = v.new_expiry, "  # noqa: S608
            "activated_at = COALESCE(s.activated_at, %s), updated_at = %s "
            "FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) "
            "AS v(id, old_expiry, new_expiry) "
            # The status test is wrapped so the planner cannot drive the join from the status
            # index (with stale statistics it hashed every active subscriber per batch); the
            # rows are found by primary key.
            "WHERE s.id = v.id AND s.expires_at IS NOT DISTINCT FROM v.old_expiry "
            "AND COALESCE(s.status = ANY(%s), false) RETURNING s.id",
            [target, now, now, ids, olds, news, list(sources)],
        )
        done = {row[0] for row in cursor.fetchall()}
        renewed, old_statuses, details = [], {}, {}
        for pk in ids:
            if pk not in done:
                continue
            sub, expires = planned[pk]
            old_statuses[pk] = sub.status
            details[pk] = {"plan_id": sub.plan_id, "old_expires_at": sub.expires_at,
                           "expires_at": expires}
            sub.status, sub.expires_at = target, expires
            sub.activated_at, sub.updated_at = sub.activated_at or now, now
            renewed.append(sub)
        if renewed:
            # The audit rows in one statement from arrays (no model instance per row).
            actor_row = _actor_or_none(actor)
            cursor.execute(
                f"INSERT INTO {StatusChange._meta.db_table} "  # noqa: S608
                "(subscriber_id, from_status, to_status, action, reason, actor_id, created_at) "
                "SELECT v.id, v.old, %s, 'renew', %s, %s, %s "
                "FROM unnest(%s::bigint[], %s::text[]) AS v(id, old)",
                [target, (reason or "")[:255], actor_row.pk if actor_row else None,
                 timezone.now(), [sub.pk for sub in renewed],
                 [old_statuses[sub.pk] for sub in renewed]],
            )
        if renewed:
            transaction.on_commit(lambda: events.services_changed.send(
                sender=Subscriber, subscribers=renewed, change="renew", details=details,
                old_statuses=old_statuses, actor=actor))
    return renewed


def change_plan(subscriber, new_plan, *, actor, reason="", now=None) -> Subscriber:
    """Move to another broadband plan; a running service restarts its validity on the new plan."""
    now = _now(now)
    with transaction.atomic():
        _lock(subscriber, actor)
        target = _require(subscriber, "change_plan")
        if new_plan.pk == subscriber.plan_id:
            raise TransitionError(f"{subscriber.username} is already on {new_plan}.")
        _check_plan(actor, subscriber.organization, new_plan, kinds={Plan.Type.BROADBAND})
        old, old_plan_id = subscriber.status, subscriber.plan_id
        subscriber.plan = new_plan
        if old == S.NEW:
            _save(subscriber, "plan")
            target = S.NEW
        else:
            subscriber.status = target
            subscriber.expires_at = compute_expiry(new_plan, now)
            _save(subscriber, "plan", "status", "expires_at")
        _record(subscriber, old=old, new=target, action="change_plan", reason=reason,
                actor=actor, change="change_plan",
                details={"old_plan_id": old_plan_id, "plan_id": new_plan.pk})
    return subscriber


def add_plan_item(subscriber, item_plan, *, actor, now=None) -> SubscriberAddon:
    """A top-up, booster, add-on or OTT item; a top-up or booster lifts an FUP limit."""
    now = _now(now)
    with transaction.atomic():
        _lock(subscriber, actor)
        _require(subscriber, "add_plan_item")
        _check_plan(actor, subscriber.organization, item_plan, kinds=ITEM_TYPES)
        expires = compute_expiry(item_plan, now)
        if item_plan.plan_type in (Plan.Type.TOPUP, Plan.Type.BOOSTER) and subscriber.expires_at:
            expires = min(expires, subscriber.expires_at)  # lives within the current cycle
        addon = SubscriberAddon.objects.create(
            subscriber=subscriber, plan=item_plan, kind=item_plan.plan_type,
            quota_mb=item_plan.quota_mb, download_kbps=item_plan.download_kbps or None,
            upload_kbps=item_plan.upload_kbps or None, starts_at=now, expires_at=expires,
            actor=_actor_or_none(actor),
        )
        old = subscriber.status
        new = S.ACTIVE if old == S.LIMITED and item_plan.plan_type in (
            Plan.Type.TOPUP, Plan.Type.BOOSTER) else old
        if new != old:
            subscriber.status = new
            _save(subscriber, "status")
        _record(subscriber, old=old, new=new, action=item_plan.plan_type,
                reason=f"{item_plan.get_plan_type_display()}: {item_plan}", actor=actor,
                change=item_plan.plan_type, details={"addon_id": addon.pk, "plan_id": item_plan.pk})
    return addon


def suspend(subscriber, *, actor, reason="") -> Subscriber:
    return _transition(subscriber, "suspend", actor=actor, reason=reason)


def resume(subscriber, *, actor, reason="") -> Subscriber:
    """suspended -> active, or straight to expired when the validity ran out meanwhile."""
    with transaction.atomic():
        _lock(subscriber, actor)
        _require(subscriber, "resume")
        lapsed = subscriber.expires_at is not None and subscriber.expires_at <= timezone.now()
        status = S.EXPIRED if lapsed else S.ACTIVE
        return _transition(subscriber, "resume", actor=actor, reason=reason, status=status)


def terminate(subscriber, *, actor, reason="") -> Subscriber:
    return _transition(subscriber, "terminate", actor=actor, reason=reason)


def limit(subscriber, *, actor, reason="") -> Subscriber:
    return _transition(subscriber, "limit", actor=actor, reason=reason)


def unlimit(subscriber, *, actor, reason="") -> Subscriber:
    return _transition(subscriber, "unlimit", actor=actor, reason=reason)


def expire(subscriber, *, actor, reason="") -> Subscriber:
    return _transition(subscriber, "expire", actor=actor, reason=reason)


# Service actions ------------------------------------------------------------------------------
def extend_validity(subscriber, *, actor, days: int, reason="") -> Subscriber:
    """Add days to the expiry (goodwill, outage credit); an expired subscriber comes back."""
    if not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_DAYS:
        raise TransitionError(f"Extend by 1 to {MAX_EXTENSION_DAYS} days.")
    now = timezone.now()
    with transaction.atomic():
        _lock(subscriber, actor)
        _require(subscriber, "extend")
        old, old_expiry = subscriber.status, subscriber.expires_at
        base = subscriber.expires_at or now
        if old == S.EXPIRED:
            base = max(base, now)
        subscriber.expires_at = base + timedelta(days=days)
        subscriber.status = S.ACTIVE if old == S.EXPIRED else old
        _save(subscriber, "expires_at", "status")
        _record(subscriber, old=old, new=subscriber.status, action="extend",
                reason=reason or f"Extended by {days} days", actor=actor, change="extend",
                details={"days": days, "old_expires_at": old_expiry,
                         "expires_at": subscriber.expires_at})
    return subscriber


def reset_mac(subscriber, *, actor) -> Subscriber:
    """Forget the bound MAC; with bind-on-first-login the next login binds the new device."""
    with transaction.atomic():
        _lock(subscriber, actor)
        if subscriber.status == S.TERMINATED:
            raise TransitionError(f"{subscriber.username} is terminated.")
        old_mac, subscriber.mac_address = subscriber.mac_address, ""
        _save(subscriber, "mac_address")
        _record(subscriber, old=subscriber.status, new=subscriber.status, action="reset_mac",
                reason=f"MAC {old_mac or '(none)'} cleared", actor=actor, change="reset_mac",
                details={"old_mac": old_mac})
    return subscriber


def generate_password(length: int = 10) -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))


def reset_password(subscriber, *, actor, new_password=None) -> str:
    """Set a new RADIUS password (generated when none is given); returns it once, in clear."""
    password = new_password or generate_password()
    if len(password) < 6:
        raise ValidationError({"password": "Use at least 6 characters."})
    with transaction.atomic():
        _lock(subscriber, actor)
        if subscriber.status == S.TERMINATED:
            raise TransitionError(f"{subscriber.username} is terminated.")
        subscriber.set_password(password)
        _save(subscriber, "password_encrypted")
        _record(subscriber, old=subscriber.status, new=subscriber.status,
                action="reset_password", reason="", actor=actor, change="reset_password")
    return password


def move_to_organization(subscriber, organization, *, actor, reason="") -> Subscriber:
    """Hand the subscriber to another partner (or the ISP) of the same tenant."""
    with transaction.atomic():
        _lock(subscriber, actor)
        _check_scope(actor, organization)
        if organization.tenant_id != subscriber.tenant_id:
            raise TransitionError("A subscriber can only move within its own ISP.")
        if organization.pk == subscriber.organization_id:
            raise TransitionError(f"{subscriber.username} already belongs to {organization}.")
        if not organization.is_active:
            raise TransitionError(f"{organization} is not active.")
        if subscriber.plan_id and not available_to_organization(organization).filter(
                pk=subscriber.plan_id).exists():
            raise TransitionError(f"{organization} may not sell {subscriber.plan}; "
                                  f"change the plan first.")
        old_org = subscriber.organization
        subscriber.organization = organization
        _save(subscriber, "organization")
        _record(subscriber, old=subscriber.status, new=subscriber.status, action="move",
                reason=reason or f"{old_org} → {organization}", actor=actor, change="move",
                details={"from_organization_id": old_org.pk, "organization_id": organization.pk})
    return subscriber


def reveal_password(subscriber, *, actor, reason="") -> str:
    """The cleartext password, for an actor holding `reveal_password`; the reveal is audited."""
    _check_scope(actor, subscriber.organization)
    if actor is not None and not actor.has_perm("subscribers.reveal_password"):
        raise PermissionDenied("You may not reveal subscriber passwords.")
    StatusChange.objects.create(subscriber=subscriber, from_status=subscriber.status,
                                to_status=subscriber.status, action="reveal_password",
                                reason=(reason or "")[:255], actor=_actor_or_none(actor))
    return subscriber.get_password()


# KYC ------------------------------------------------------------------------------------------
def _review_document(document, status, *, actor, note):
    _check_scope(actor, document.subscriber.organization)
    with transaction.atomic():
        locked = KycDocument.objects.select_for_update().get(pk=document.pk)
        if locked.status != KycDocument.Status.PENDING:
            state = locked.get_status_display().lower()
            raise TransitionError(f"This document is already {state}.")
        document.status, document.note = status, (note or "")[:255]
        document.reviewed_by, document.reviewed_at = _actor_or_none(actor), timezone.now()
        document.save(update_fields=["status", "note", "reviewed_by", "reviewed_at"])
    return document


def verify_document(document, *, actor, note="") -> KycDocument:
    return _review_document(document, KycDocument.Status.VERIFIED, actor=actor, note=note)


def reject_document(document, *, actor, note) -> KycDocument:
    """A rejection needs a note telling the subscriber what to upload again."""
    if not (note or "").strip():
        raise ValidationError({"note": "Say why the document is rejected."})
    return _review_document(document, KycDocument.Status.REJECTED, actor=actor, note=note)


# Bulk -----------------------------------------------------------------------------------------
def run_bulk(subscribers, operation, *, actor, **kwargs) -> tuple[int, list[str]]:
    """Apply one service to each subscriber, each in its own transaction; report refusals."""
    done, refused = 0, []
    for subscriber in subscribers:
        try:
            operation(subscriber, actor=actor, **kwargs)
            done += 1
        except (TransitionError, PermissionDenied, ValidationError) as exc:
            message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
            refused.append(f"{subscriber.username}: {message}")
    return done, refused
