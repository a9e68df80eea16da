"""The one door for billing notifications: render the tenant's template, record an outbox row
(once per dedupe key) and log it. Real channel delivery plugs in behind `deliver`."""

from __future__ import annotations

import logging

from django.template import Context, Template

from modules.billing.models import OutboundMessage
from modules.settings_hub.models import NotificationTemplate

log = logging.getLogger("billing.notify")


# Self-care owns the pages where a subscriber pays; it registers how to link to them (billing
# cannot import it: self-care builds on billing).
_pay_link = None


def register_pay_link(builder) -> None:
    """`builder(tenant_id) -> str`: the absolute URL where the tenant's subscribers pay/renew."""
    global _pay_link
    _pay_link = builder


def pay_link(tenant_id: int) -> str:
    """The self-care payment link for the tenant's messages ("" when there is no portal)."""
    return _pay_link(tenant_id) if _pay_link is not None else ""


def _recipient(subscriber, channel: str) -> str:
    return subscriber.email if channel == NotificationTemplate.Channel.EMAIL else subscriber.mobile


def send(
    subscriber,
    event: str,
    context: dict,
    *,
    dedupe_key: str,
    templates: list[NotificationTemplate] | None = None,
) -> list[OutboundMessage]:
    """Queue `event` for `subscriber` on every active channel template; repeated keys are no-ops."""
    if templates is None:
        templates = list(
            NotificationTemplate.objects.filter(
                tenant_id=subscriber.tenant_id, event=event, is_active=True
            )
        )
    messages = []
    for template in templates:
        ctx = Context(
            {"name": subscriber.name, "username": subscriber.username, **context},
            autoescape=template.channel == NotificationTemplate.Channel.EMAIL,
        )
        messages.append(
            OutboundMessage(
                tenant_id=subscriber.tenant_id,
                subscriber=subscriber,
                event=event,
                channel=template.channel,
                recipient=_recipient(subscriber, template.channel),
                subject=Template(template.subject).render(ctx)[:200] if template.subject else "",
                body=Template(template.body).render(ctx),
                dedupe_key=dedupe_key[:120],
            )
        )
    sent = set(
        OutboundMessage.objects.filter(
            tenant_id=subscriber.tenant_id, dedupe_key=dedupe_key[:120]
        ).values_list("channel", flat=True)
    )
    messages = [m for m in messages if m.channel not in sent]
    if not messages:
        return []
    # The unique (tenant, key, channel) constraint still holds if two runs race past the check.
    created = OutboundMessage.objects.bulk_create(messages, ignore_conflicts=True)
    for message in created:
        log.info("queued %s %s to %s", event, message.channel, message.recipient or "(none)")
    return created


def register_outbox() -> None:
    """Let the notifications module deliver this outbox by email / SMS."""
    from modules.notifications.outbox import MAX_ATTEMPTS, Envelope, Outbox, register

    register(Outbox(
        name="subscriber notices",
        pending=lambda: OutboundMessage.objects.filter(
            status=OutboundMessage.Status.QUEUED, attempts__lt=MAX_ATTEMPTS).order_by("pk"),
        envelope=lambda m: Envelope(m.tenant_id, m.channel, m.recipient, m.subject, m.body),
        secret=lambda m: m.event == NotificationTemplate.Event.ONE_TIME_CODE,
    ))
