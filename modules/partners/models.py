"""Partners: the business profile of a partner node, its wallet view, top-up requests, plan
shares with their prices, commissions and settlements.

Money never lives here: balances and movements are the billing ledger's (wallets and immutable
entries). These rows hold the partner-side facts that point at ledger entries.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase

from modules.billing.models import LedgerEntry, Payment
from modules.billing.models import Wallet as BillingWallet
from modules.core.models import Organization, Tenant
from modules.notifications.models import DeliveryState
from modules.plans.models import Plan

MONEY = {"max_digits": 14, "decimal_places": 2}
PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class CommissionType(models.TextChoices):
    PERCENT = "percent", "Percentage of the payment"
    FLAT = "flat", "Flat amount per payment"


class CommissionTemplate(models.Model):
    """A reusable commission rule for partners that have no rule on their plan share."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    commission_type = models.CharField(max_length=10, choices=CommissionType.choices,
                                       default=CommissionType.PERCENT)
    value = models.DecimalField(max_digits=12, decimal_places=2,
                                validators=[MinValueValidator(0)],
                                help_text="Percent (0-100) or a flat amount.")
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"],
                                               name="commission_template_name_unique")]

    def __str__(self):
        return self.name


class Partner(models.Model):
    """The business profile of a partner: one per organization node below the ISP."""

    class Type(models.TextChoices):
        LCO = "lco", "LCO"
        RESELLER = "reseller", "Reseller"
        DISTRIBUTOR = "distributor", "Distributor"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"

    organization = models.OneToOneField(Organization, on_delete=models.PROTECT,
                                        related_name="partner_profile")
    partner_type = models.CharField(max_length=12, choices=Type.choices, default=Type.LCO)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    contact_name = models.CharField(max_length=120, blank=True)
    contact_phone = models.CharField(max_length=20, blank=True)
    contact_email = models.EmailField(blank=True)
    tax_number = models.CharField("GSTIN", max_length=15, blank=True)
    billing_state = models.CharField(max_length=80, blank=True)
    address = models.TextField(blank=True)
    default_commission_rate = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, validators=PERCENT,
        help_text="Percent of each subscriber payment when no share rule or template applies.")
    commission_template = models.ForeignKey(CommissionTemplate, on_delete=models.PROTECT,
                                            null=True, blank=True, related_name="partners")
    credit_limit = models.DecimalField(**MONEY, null=True, blank=True,
                                       validators=[MinValueValidator(0)],
                                       help_text="How far below zero the wallet may go.")
    low_balance_threshold = models.DecimalField(**MONEY, null=True, blank=True,
                                                help_text="Alert when the balance falls below.")
    low_balance_since = models.DateTimeField(null=True, blank=True, editable=False)
    access_group = models.OneToOneField(Group, on_delete=models.SET_NULL, null=True, blank=True,
                                        editable=False, related_name="+",
                                        help_text="Holds the object grants shared to this partner.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__path"]

    def __str__(self):
        return self.organization.name

    @property
    def tenant_id(self):
        return self.organization.tenant_id


class PartnerWallet(BillingWallet):
    """The partners' view of billing wallets: only the wallets of organization nodes."""

    class Meta:
        proxy = True
        verbose_name = "partner wallet"


class TopUpRequest(models.Model):
    """A partner asks its parent for wallet money; someone else above approves it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    note = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=255, blank=True)
    ledger_entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+")

    class Meta:
        ordering = ["-id"]
        verbose_name = "top-up request"
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0),
                                              name="topup_amount_positive")]
        indexes = [models.Index(fields=["organization", "-id"], name="topup_org_idx")]

    def __str__(self):
        return f"Top-up {self.amount} for {self.organization}"


class PlanShare(models.Model):
    """A plan shared with a partner: what the partner pays (cost) and what it charges."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="shares")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+",
                                     help_text="The partner the plan is shared with.")
    partner_price = models.DecimalField(**MONEY, validators=[MinValueValidator(0)],
                                        help_text="Debited from the partner's wallet per sale.")
    selling_price = models.DecimalField(**MONEY, validators=[MinValueValidator(0)],
                                        help_text="What the partner charges its subscribers.")
    commission_type = models.CharField(max_length=10, choices=CommissionType.choices,
                                       blank=True, help_text="Empty: template or default rate.")
    commission_value = models.DecimalField(max_digits=12, decimal_places=2, null=True,
                                           blank=True, validators=[MinValueValidator(0)])
    shared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                  null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__path", "plan__name"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "organization"], name="plan_share_unique"),
            models.CheckConstraint(condition=Q(selling_price__gte=models.F("partner_price")),
                                   name="plan_share_selling_covers_cost"),
        ]

    def __str__(self):
        return f"{self.plan} for {self.organization}"


class PlanGroupGrant(GroupObjectPermissionBase):
    """Direct-FK guardian table: a partner group's object permissions on shared plans."""

    content_object = models.ForeignKey(Plan, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = "plan group grant"


class Settlement(models.Model):
    """A payout of a partner's wallet money: requested by the partner or started by the ISP."""

    class Method(models.TextChoices):
        BANK = "bank", "Bank transfer"
        UPI = "upi", "UPI"
        CHEQUE = "cheque", "Cheque"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        PAID = "paid", "Paid"
        REJECTED = "rejected", "Rejected"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.BANK)
    reference = models.CharField(max_length=120, blank=True,
                                 help_text="Bank UTR, UPI reference or cheque number.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    note = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+")
    paid_at = models.DateTimeField(null=True, blank=True)
    ledger_entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+")

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0),
                                              name="settlement_amount_positive")]
        indexes = [models.Index(fields=["organization", "-id"], name="settlement_org_idx")]

    def __str__(self):
        return f"Settlement {self.pk} of {self.amount} to {self.organization}"


class Commission(models.Model):
    """One partner's commission on one subscriber payment; its ledger entry points to it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+",
                                     help_text="The partner credited.")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="commissions")
    level = models.PositiveSmallIntegerField(help_text="1: the subscriber's own partner.")
    basis = models.DecimalField(**MONEY, help_text="The payment amount the rule applied to.")
    rule = models.CharField(max_length=120)
    amount = models.DecimalField(**MONEY)
    ledger_entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="+")
    reversal_entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, null=True,
                                       blank=True, related_name="+")
    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="commissions")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "organization"],
                                    name="commission_once_per_payment"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="commission_amount_positive"),
        ]
        indexes = [models.Index(fields=["organization", "-id"], name="commission_org_idx")]

    def __str__(self):
        return f"Commission {self.amount} on {self.payment}"

    @property
    def reversed(self) -> bool:
        return self.reversal_entry_id is not None


class NasGroupGrant(GroupObjectPermissionBase):
    """Direct-FK guardian table: NAS devices a partner's group may use (listed read-only)."""

    content_object = models.ForeignKey("networking.NasDevice", on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = "NAS group grant"


class Ipv4PoolGroupGrant(GroupObjectPermissionBase):
    """Direct-FK guardian table: IPv4 pools assigned to a partner's group."""

    content_object = models.ForeignKey("networking.Ipv4Pool", on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = "IPv4 pool group grant"


class Ipv6PoolGroupGrant(GroupObjectPermissionBase):
    """Direct-FK guardian table: IPv6 prefix pools assigned to a partner's group."""

    content_object = models.ForeignKey("networking.Ipv6Pool", on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = "IPv6 pool group grant"


class PartnerNotice(DeliveryState):
    """Outbox of notices to a partner's contact (email / SMS); delivery reads this table.

    The (partner, key, channel) constraint makes a notice due once: one low-balance alert per
    crossing below the threshold, however many sales or retries follow.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (channel off)"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="notices")
    event = models.CharField(max_length=40)
    channel = models.CharField(max_length=10)
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    dedupe_key = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "dedupe_key", "channel"],
                                    name="partner_notice_once"),
        ]
        indexes = [models.Index(fields=["id"], condition=models.Q(status="queued"),
                                name="partner_notice_queued_idx")]

    def __str__(self):
        return f"{self.event} to {self.recipient}"
