"""Settings -> Billing Engine: how one ISP invoices, taxes, renews and collects."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from modules.settings_hub.models import TenantSettings


class BillingSettings(TenantSettings):
    class InvoiceMode(models.TextChoices):
        PREPAID = "prepaid", "Prepaid: bill at activation and renewal"
        POSTPAID = "postpaid", "Postpaid: bill on the cycle day"

    class TaxScheme(models.TextChoices):
        GST = "gst", "GST: CGST + SGST within the state, IGST across states"
        SINGLE = "single", "One tax (VAT / sales tax)"

    class TaxRounding(models.TextChoices):
        PER_LINE = "line", "Round tax on each line"
        PER_INVOICE = "invoice", "Round tax once per invoice"

    class Rounding(models.TextChoices):
        HALF_UP = "ROUND_HALF_UP", "Half up (2.345 → 2.35)"
        HALF_EVEN = "ROUND_HALF_EVEN", "Half even, banker's (2.345 → 2.34)"
        UP = "ROUND_UP", "Always up"
        DOWN = "ROUND_DOWN", "Always down"

    class Proration(models.TextChoices):
        NONE = "none", "None: new plan starts now at full price"
        CREDIT_UNUSED = "credit", "Credit the unused part of the old plan"
        CHARGE_DIFFERENCE = "difference", "Charge only the difference for the rest of the cycle"

    class Cycle(models.TextChoices):
        ROLLING = "rolling", "Rolling: from the day of activation"
        CALENDAR = "calendar", "Calendar: aligned to the bill cycle day"

    class UnpaidAccess(models.TextChoices):
        REJECT = "reject", "Reject the login"
        WALLED_GARDEN = "walled_garden", "Walled garden: restricted pool and rate"

    class LateFee(models.TextChoices):
        NONE = "none", "No late fee"
        FLAT = "flat", "Flat amount"
        PERCENT = "percent", "Percent of the amount due"

    class NumberReset(models.TextChoices):
        FISCAL_YEAR = "fiscal_year", "Restart numbering every fiscal year"
        NEVER = "never", "One running sequence"

    # Invoicing
    invoice_mode = models.CharField(
        max_length=10, choices=InvoiceMode.choices, default=InvoiceMode.PREPAID
    )
    bill_cycle_day = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="Postpaid bill run day of the month (1-28).",
    )
    due_days = models.PositiveSmallIntegerField(default=7, help_text="Days from issue to due date.")
    invoice_prefix = models.CharField(max_length=12, default="INV")
    receipt_prefix = models.CharField(max_length=12, default="RCT")
    credit_note_prefix = models.CharField(max_length=12, default="CN")
    proforma_prefix = models.CharField(max_length=12, default="PRO")
    number_reset = models.CharField(
        max_length=12, choices=NumberReset.choices, default=NumberReset.FISCAL_YEAR
    )
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text="4 = April (India); 1 = calendar year.",
    )
    # Tax and rounding
    tax_scheme = models.CharField(max_length=10, choices=TaxScheme.choices, default=TaxScheme.GST)
    single_tax_name = models.CharField(
        max_length=20, default="VAT", help_text="Label of the tax when the scheme is one tax."
    )
    prices_include_tax = models.BooleanField(
        default=False, help_text="Plan prices already contain tax (tax is worked out backwards)."
    )
    tax_rounding = models.CharField(
        max_length=10, choices=TaxRounding.choices, default=TaxRounding.PER_LINE
    )
    rounding = models.CharField(max_length=16, choices=Rounding.choices, default=Rounding.HALF_UP)
    round_total_to_unit = models.BooleanField(
        default=False,
        help_text="Round the invoice total to a whole currency unit (round-off line).",
    )
    default_hsn_sac = models.CharField(
        "default HSN/SAC",
        max_length=12,
        default="998422",
        help_text="Used when a plan's tax class has none.",
    )
    # Wallet
    auto_apply_wallet = models.BooleanField(
        default=True, help_text="Settle new invoices from the subscriber's advance balance."
    )
    allow_negative_balance = models.BooleanField(
        default=False, help_text="Let subscriber wallets go below zero, down to the credit limit."
    )
    subscriber_credit_limit = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="How far below zero a subscriber wallet may go when negative balance is allowed.",
    )
    # Renewals
    auto_renew = models.BooleanField(
        default=True, help_text="Renew due subscribers from their wallet."
    )
    grace_days = models.PositiveSmallIntegerField(
        default=0, help_text="Days after expiry before an unrenewed subscriber is expired."
    )
    expiry_time = models.TimeField(
        null=True, blank=True, help_text="Time of day plans expire; empty: end of the day."
    )
    proration = models.CharField(
        max_length=12, choices=Proration.choices, default=Proration.CREDIT_UNUSED
    )
    cycle = models.CharField(max_length=10, choices=Cycle.choices, default=Cycle.ROLLING)
    unpaid_access_mode = models.CharField(
        max_length=14,
        choices=UnpaidAccess.choices,
        default=UnpaidAccess.REJECT,
        help_text="What the RADIUS server gives a subscriber past expiry (in grace or expired): "
        "a reject, or a walled-garden session (restricted pool and rate) that reaches the "
        "payment page.",
    )
    reminder_days = models.PositiveSmallIntegerField(
        default=3, help_text="Send the expiry reminder this many days before expiry (0: never)."
    )
    # Collections
    late_fee = models.CharField(max_length=10, choices=LateFee.choices, default=LateFee.NONE)
    late_fee_value = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    late_fee_after_days = models.PositiveSmallIntegerField(
        default=0, help_text="Days past the due date."
    )
    suspend_overdue_after_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Suspend postpaid subscribers this many days past due; empty: never.",
    )

    class Meta:
        verbose_name = "billing engine settings"
        verbose_name_plural = "billing engine settings"

    def clean(self):
        if self.late_fee == self.LateFee.PERCENT and self.late_fee_value > 100:
            raise ValidationError({"late_fee_value": "A percentage late fee is at most 100."})
        if self.late_fee != self.LateFee.NONE and self.late_fee_value <= 0:
            raise ValidationError(
                {"late_fee_value": "Set the late fee amount or choose no late fee."}
            )
