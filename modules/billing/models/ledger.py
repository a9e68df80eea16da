"""Wallets and the append-only ledger: every movement of money is one entry that is never edited."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

from modules.core.models import Organization, Tenant


class Wallet(models.Model):
    """A money account of a subscriber (advance balance) or of an organization node (partner).

    `balance` is a cache of the sum of the wallet's entries, changed only by the ledger service
    while the row is locked. `organization` is the node that owns the wallet for scope: the
    subscriber's organization, or the node itself.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    subscriber = models.OneToOneField(
        "subscribers.Subscriber",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="wallet",
    )
    owner_organization = models.OneToOneField(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="wallet",
        help_text="Set for a partner's (organization's) own wallet.",
    )
    currency = models.CharField(max_length=3)
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=0, editable=False)
    credit_limit = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="How far below zero this wallet may go; empty: the Billing Engine rule.",
    )
    low_balance_alert = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(subscriber__isnull=False, owner_organization__isnull=True)
                    | Q(subscriber__isnull=True, owner_organization__isnull=False)
                ),
                name="wallet_has_exactly_one_owner",
            ),
        ]
        indexes = [models.Index(fields=["organization"], name="wallet_org_idx")]
        permissions = [("adjust_wallet", "Can post wallet adjustments")]

    def __str__(self):
        owner = self.subscriber if self.subscriber_id else self.owner_organization
        return f"Wallet of {owner}"


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment received"
        PAYMENT_REVERSAL = "payment_reversal", "Payment cancelled"
        INVOICE = "invoice", "Invoice settled"
        INVOICE_REVERSAL = "invoice_reversal", "Invoice settlement reversed"
        CREDIT_NOTE = "credit_note", "Credit note"
        TRANSFER = "transfer", "Wallet transfer"
        ADJUSTMENT = "adjustment", "Adjustment"
        COMMISSION = "commission", "Commission"

    # wallet, organization and source type are served by the composite indexes of Meta (they
    # lead with them): no single-column index to maintain on every entry.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+",
                                     db_index=False)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries",
                               db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="Positive credits the wallet, negative debits it.",
    )
    balance_after = models.DecimalField(max_digits=14, decimal_places=2)
    source_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        db_index=False,
    )
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    transfer_group = models.UUIDField(
        null=True, blank=True, help_text="Shared by the entries of one transfer."
    )
    memo = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["wallet", "-id"], name="ledger_wallet_idx"),
            models.Index(fields=["organization", "-id"], name="ledger_org_idx"),
            models.Index(fields=["source_type", "source_id"], name="ledger_source_idx"),
        ]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_nonzero")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Ledger entries are immutable; post a correcting entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Ledger entries are immutable; post a correcting entry instead.")


class DocumentCounter(models.Model):
    """The last number used for one document series in one fiscal year; locked while issuing."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    series = models.CharField(max_length=20)
    fiscal_year = models.CharField(max_length=9)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "series", "fiscal_year"], name="document_counter_unique"
            )
        ]

    def __str__(self):
        return f"{self.series} {self.fiscal_year}: {self.last_number}"
