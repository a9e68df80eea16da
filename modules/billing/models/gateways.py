"""Online payment gateways configured per ISP, their webhook deliveries, and the outbox."""

from django.db import models

from modules.core.models import Tenant
from modules.notifications.models import DeliveryState


class PaymentGateway(models.Model):
    class Provider(models.TextChoices):
        RAZORPAY = "razorpay", "Razorpay"
        STRIPE = "stripe", "Stripe"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    name = models.CharField(max_length=80)
    key_id = models.CharField("key id / publishable key", max_length=120, blank=True)
    key_secret_encrypted = models.TextField(editable=False, default="")
    webhook_secret_encrypted = models.TextField(editable=False, default="")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="gateway_name_unique")
        ]

    def __str__(self):
        return self.name


class WebhookEvent(models.Model):
    """Each delivered event id is recorded once: a replay finds its row and changes nothing."""

    gateway = models.ForeignKey(PaymentGateway, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=120)
    event_type = models.CharField(max_length=60)
    payload = models.JSONField()
    outcome = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="webhook_event_once")
        ]

    def __str__(self):
        return f"{self.event_type} {self.event_id}"


class OutboundMessage(DeliveryState):
    """A notification handed to a channel (the record exists even before a channel sends it)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (no template)"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    subscriber = models.ForeignKey(
        "subscribers.Subscriber", on_delete=models.CASCADE, related_name="+"
    )
    event = models.CharField(max_length=40)
    channel = models.CharField(max_length=10)
    recipient = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    dedupe_key = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "dedupe_key", "channel"], name="outbound_once"
            )
        ]
        indexes = [models.Index(fields=["id"], condition=models.Q(status="queued"),
                                name="outbound_queued_idx")]

    def __str__(self):
        return f"{self.event} to {self.recipient}"
