"""Billing's reactions to subscriber events."""

from django.dispatch import receiver

from modules.billing.models import Wallet
from modules.subscribers import events


@receiver(events.service_changed, dispatch_uid="billing.wallet_follows_subscriber")
def wallet_follows_subscriber(sender, subscriber, change, **kwargs):
    """A subscriber moved to another partner takes its wallet along (scope follows the owner)."""
    if change == "move":
        Wallet.objects.filter(subscriber_id=subscriber.pk).update(
            organization_id=subscriber.organization_id
        )
