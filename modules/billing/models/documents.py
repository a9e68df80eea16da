"""Billing documents: invoices with lines and tax, payments with allocations, proformas, credit
notes and the maker-checker cancellation queue. Issued documents are never edited."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from modules.core.models import Organization, Tenant

MONEY = {"max_digits": 14, "decimal_places": 2}


class BillTo(models.Model):
    """Who a document is for, copied at issue so later profile edits never change it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    subscriber = models.ForeignKey(
        "subscribers.Subscriber", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    bill_to_name = models.CharField(max_length=150, blank=True)
    bill_to_address = models.TextField(blank=True)
    bill_to_state = models.CharField(max_length=80, blank=True)
    bill_to_tax_number = models.CharField("customer GSTIN", max_length=15, blank=True)
    currency = models.CharField(max_length=3)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class Invoice(BillTo):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PARTIALLY_PAID = "partial", "Partially paid"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    class Reason(models.TextChoices):
        ACTIVATION = "activation", "Activation"
        RENEWAL = "renewal", "Renewal"
        PLAN_CHANGE = "plan_change", "Plan change"
        PLAN_ITEM = "plan_item", "Top-up / booster / add-on"
        POSTPAID = "postpaid", "Postpaid bill"
        LATE_FEE = "late_fee", "Late fee"
        OTHER = "other", "Other charges"

    # Tenant, organization and subscriber are served by the composite indexes of Meta (they
    # lead with them): no single-column index to maintain on every invoice.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+",
                                     db_index=False)
    subscriber = models.ForeignKey(
        "subscribers.Subscriber", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        db_index=False,
    )
    number = models.CharField(max_length=40, blank=True)
    fiscal_year = models.CharField(max_length=9, blank=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    reason = models.CharField(max_length=12, choices=Reason.choices, default=Reason.OTHER)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    supplier_state = models.CharField(max_length=80, blank=True)
    supplier_tax_number = models.CharField(max_length=30, blank=True)
    is_interstate = models.BooleanField(default=False)
    taxable_total = models.DecimalField(**MONEY, default=0)
    tax_total = models.DecimalField(**MONEY, default=0)
    round_off = models.DecimalField(**MONEY, default=0)
    total = models.DecimalField(**MONEY, default=0)
    amount_paid = models.DecimalField(**MONEY, default=0)
    tax_breakdown = models.JSONField(default=list, blank=True, editable=False)
    idempotency_key = models.CharField(max_length=80, null=True, blank=True, editable=False)
    late_fee_for = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="late_fee_invoice"
    )
    notes = models.TextField(blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "number"], condition=~Q(number=""), name="invoice_number_unique"
            ),
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"], name="invoice_idempotency_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__lte=F("total")), name="invoice_not_overpaid"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-id"], name="invoice_org_idx"),
            models.Index(fields=["subscriber", "-id"], name="invoice_sub_idx"),
            models.Index(fields=["status", "due_date"], name="invoice_status_due_idx"),
            models.Index(fields=["tenant", "-id"], name="invoice_tenant_idx"),
        ]

    def __str__(self):
        return self.number or f"Draft invoice #{self.pk}"

    @property
    def amount_due(self):
        return self.total - self.amount_paid

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.ISSUED, self.Status.PARTIALLY_PAID)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    description = models.CharField(max_length=255)
    plan = models.ForeignKey(
        "plans.Plan", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    hsn_sac = models.CharField("HSN/SAC", max_length=12, blank=True)
    quantity = models.DecimalField(max_digits=10, decimal_places=3, default=1)
    unit_price = models.DecimalField(**MONEY)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    taxable_value = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(max_digits=16, decimal_places=4)
    line_total = models.DecimalField(max_digits=16, decimal_places=4)

    class Meta:
        ordering = ["invoice", "position"]

    def __str__(self):
        return self.description


class LineTax(models.Model):
    """One tax component of a line (CGST, SGST, IGST, VAT); unrounded when rounding per invoice."""

    line = models.ForeignKey(InvoiceLine, on_delete=models.CASCADE, related_name="taxes")
    name = models.CharField(max_length=20)
    rate = models.DecimalField(max_digits=5, decimal_places=2)
    amount = models.DecimalField(max_digits=16, decimal_places=4)

    class Meta:
        ordering = ["line", "name"]

    def __str__(self):
        return f"{self.name} {self.rate} %"


class Payment(BillTo):
    class Method(models.TextChoices):
        CASH = "cash", "Cash"
        BANK_TRANSFER = "bank", "Bank transfer"
        CHEQUE = "cheque", "Cheque"
        UPI = "upi", "UPI"
        CARD = "card", "Card"
        NETBANKING = "netbanking", "Net banking"
        GATEWAY = "gateway", "Online gateway"
        PARTNER_COLLECTION = "partner", "Partner collection"
        ADJUSTMENT = "adjustment", "Wallet adjustment"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    wallet = models.ForeignKey("billing.Wallet", on_delete=models.PROTECT, related_name="payments")
    number = models.CharField("receipt number", max_length=40)
    fiscal_year = models.CharField(max_length=9)
    sequence = models.PositiveIntegerField()
    amount = models.DecimalField(**MONEY)
    method = models.CharField(max_length=12, choices=Method.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    reference = models.CharField(
        max_length=120, blank=True, help_text="Cheque number, bank UTR or gateway payment id."
    )
    gateway = models.ForeignKey(
        "billing.PaymentGateway",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
    )
    gateway_payment_id = models.CharField(max_length=120, null=True, blank=True)
    collected_by = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The partner that collected the money.",
    )
    received_at = models.DateTimeField()
    note = models.CharField(max_length=255, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="payment_number_unique"),
            models.UniqueConstraint(
                fields=["gateway", "gateway_payment_id"], name="payment_gateway_id_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["organization", "-id"], name="payment_org_idx"),
            models.Index(fields=["subscriber", "-id"], name="payment_sub_idx"),
        ]

    def __str__(self):
        return self.number


class Allocation(models.Model):
    """Money from a wallet applied to an invoice (from a payment, or from advance balance)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="allocations"
    )
    amount = models.DecimalField(**MONEY)
    reversed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive")
        ]

    def __str__(self):
        return f"{self.amount} to {self.invoice}"


class Proforma(BillTo):
    """A quote; paying it (at the counter or online) turns it into a service change and invoice.
    A wallet recharge quotes only an amount: paying it credits the wallet and nothing more."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONVERTED = "converted", "Converted to invoice"
        CANCELLED = "cancelled", "Cancelled"

    class Purpose(models.TextChoices):
        ACTIVATE = "activate", "Activation"
        RENEW = "renew", "Renewal"
        CHANGE_PLAN = "change_plan", "Plan change"
        PLAN_ITEM = "plan_item", "Top-up / booster / add-on"
        WALLET_RECHARGE = "recharge", "Wallet recharge"

    number = models.CharField(max_length=40)
    fiscal_year = models.CharField(max_length=9)
    sequence = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    purpose = models.CharField(max_length=12, choices=Purpose.choices, default=Purpose.RENEW)
    plan = models.ForeignKey(
        "plans.Plan", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    taxable_total = models.DecimalField(**MONEY, default=0)
    tax_total = models.DecimalField(**MONEY, default=0)
    total = models.DecimalField(**MONEY, default=0)
    tax_breakdown = models.JSONField(default=list, blank=True, editable=False)
    valid_until = models.DateField(null=True, blank=True)
    gateway_order_id = models.CharField(max_length=120, null=True, blank=True, unique=True)
    invoice = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="proforma"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="proforma_number_unique"),
            models.CheckConstraint(
                condition=Q(plan__isnull=False) | Q(purpose="recharge"),
                name="proforma_plan_unless_recharge",
            ),
        ]
        indexes = [models.Index(fields=["organization", "-id"], name="proforma_org_idx")]

    def __str__(self):
        return self.number


class CreditNote(BillTo):
    number = models.CharField(max_length=40)
    fiscal_year = models.CharField(max_length=9)
    sequence = models.PositiveIntegerField()
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=255)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="credit_note_number_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_note_amount_positive"),
        ]
        indexes = [models.Index(fields=["organization", "-id"], name="credit_note_org_idx")]

    def __str__(self):
        return self.number


class CancellationRequest(models.Model):
    """Maker-checker: a cancel waits until a different user with the approve permission decides."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cancellation_requests",
    )
    payment = models.ForeignKey(
        Payment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cancellation_requests",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=255)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("approve", "Can approve or reject cancellations")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(invoice__isnull=False, payment__isnull=True)
                    | Q(invoice__isnull=True, payment__isnull=False)
                ),
                name="cancellation_targets_one_document",
            ),
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status="pending"),
                name="one_pending_cancel_per_invoice",
            ),
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(status="pending"),
                name="one_pending_cancel_per_payment",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status", "-id"], name="cancel_org_idx")]

    def __str__(self):
        return f"Cancel {self.invoice or self.payment}"

    @property
    def document(self):
        return self.invoice or self.payment
