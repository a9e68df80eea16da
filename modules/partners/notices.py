"""Notices to a partner's contact: rendered from the tenant's notification template for the
event (a built-in text when the tenant has none) and queued in the partner outbox once per key."""

from __future__ import annotations

import logging

from django.template import Context, Template

from modules.partners.models import Partner, PartnerNotice
from modules.settings_hub.models import NotificationTemplate

log = logging.getLogger("partners.notices")
Channel = NotificationTemplate.Channel

LOW_WALLET = NotificationTemplate.Event.LOW_WALLET
DEFAULTS = {
    LOW_WALLET: ("Wallet balance low",
                 "Your wallet balance {{ balance }} is below {{ threshold }}. "
                 "Recharge to keep selling plans."),
}


def _recipients(partner: Partner) -> dict[str, str]:
    found = {Channel.EMAIL: partner.contact_email, Channel.SMS: partner.contact_phone}
    return {channel: to for channel, to in found.items() if to}


def queue(partner: Partner, event: str, context: dict, *, dedupe_key: str) -> list[PartnerNotice]:
    """Queue `event` to every contact channel the partner has; a repeated key is a no-op.

    A channel whose tenant template is switched off gets nothing.
    """
    recipients = _recipients(partner)
    if not recipients:
        log.warning("partner %s has no contact for %s", partner.organization.code, event)
        return []
    templates = {t.channel: t for t in NotificationTemplate.objects.filter(
        tenant_id=partner.organization.tenant_id, event=event)}
    subject, body = DEFAULTS[event]
    notices = []
    for channel, to in recipients.items():
        template = templates.get(channel)
        if template is not None and not template.is_active:
            continue
        ctx = Context({"name": partner.organization.name, **context},
                      autoescape=channel == Channel.EMAIL)
        text_subject = template.subject if template else subject
        notices.append(PartnerNotice(
            partner=partner, event=event, channel=channel, recipient=to,
            subject=Template(text_subject).render(ctx)[:200] if channel == Channel.EMAIL else "",
            body=Template(template.body if template else body).render(ctx),
            dedupe_key=dedupe_key[:120]))
    created = PartnerNotice.objects.bulk_create(notices, ignore_conflicts=True)
    for notice in created:
        log.info("queued %s %s to %s", event, notice.channel, notice.recipient)
    return created


def register_outbox() -> None:
    """Let the notifications module deliver this outbox by email / SMS."""
    from modules.notifications.outbox import MAX_ATTEMPTS, Envelope, Outbox, register

    register(Outbox(
        name="partner notices",
        pending=lambda: PartnerNotice.objects.filter(
            status=PartnerNotice.Status.QUEUED, attempts__lt=MAX_ATTEMPTS,
        ).select_related("partner__organization").order_by("pk"),
        envelope=lambda n: Envelope(n.partner.organization.tenant_id, n.channel, n.recipient,
                                    n.subject, n.body),
    ))
