"""The plan catalog: what subscribers buy, and the speeds the network enforces for it."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Upper

from modules.core.models import Organization, Tenant


class TaxClass(models.Model):
    """A tax rate with its HSN/SAC code (e.g. 18 % GST on SAC 998422 for broadband)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    rate = models.DecimalField(
        "rate (%)", max_digits=5, decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    hsn_sac = models.CharField("HSN/SAC code", max_length=12, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "tax classes"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="tax_class_name_unique"),
        ]

    def __str__(self):
        return f"{self.name} ({self.rate} %)"


class Plan(models.Model):
    class Type(models.TextChoices):
        BROADBAND = "broadband", "Broadband"
        ADDON = "addon", "Add-on"
        TOPUP = "topup", "Data top-up"
        OTT = "ott", "OTT"
        BOOSTER = "booster", "Speed booster"

    class ValidityUnit(models.TextChoices):
        DAYS = "days", "Days"
        MONTHS = "months", "Months"
        FIXED_DAY = "fixed_day", "Until a fixed day of the month"

    class FupAction(models.TextChoices):
        THROTTLE = "throttle", "Throttle to the FUP speed"
        BLOCK = "block", "Block until reset or top-up"

    class QuotaReset(models.TextChoices):
        BILLING_CYCLE = "cycle", "Each billing cycle"
        CALENDAR_MONTH = "month", "Each calendar month"

    class BillingMode(models.TextChoices):
        PREPAID = "prepaid", "Prepaid"
        POSTPAID = "postpaid", "Postpaid"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="plans",
        help_text="Owner of the plan: the ISP, or a partner for its own plans.",
    )
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    plan_type = models.CharField(max_length=20, choices=Type.choices, default=Type.BROADBAND)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2,
                                validators=[MinValueValidator(Decimal("0"))])
    tax_class = models.ForeignKey(TaxClass, on_delete=models.PROTECT, null=True, blank=True)
    billing_mode = models.CharField(max_length=10, choices=BillingMode.choices,
                                    default=BillingMode.PREPAID)
    validity_unit = models.CharField(max_length=10, choices=ValidityUnit.choices,
                                     default=ValidityUnit.DAYS)
    validity_value = models.PositiveIntegerField(
        default=30, help_text="Days or months; for a fixed day, the day of the month (1-28)."
    )
    # Speeds in kbit/s; burst is optional (MikroTik-style burst rate, threshold and time).
    download_kbps = models.PositiveIntegerField(default=0)
    upload_kbps = models.PositiveIntegerField(default=0)
    burst_download_kbps = models.PositiveIntegerField(null=True, blank=True)
    burst_upload_kbps = models.PositiveIntegerField(null=True, blank=True)
    burst_threshold_download_kbps = models.PositiveIntegerField(null=True, blank=True)
    burst_threshold_upload_kbps = models.PositiveIntegerField(null=True, blank=True)
    burst_time_seconds = models.PositiveIntegerField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(8)]
    )
    # Fair usage.
    quota_mb = models.PositiveBigIntegerField(
        "data quota (MB)", null=True, blank=True, help_text="Empty means unlimited."
    )
    fup_action = models.CharField(max_length=10, choices=FupAction.choices,
                                  default=FupAction.THROTTLE)
    fup_download_kbps = models.PositiveIntegerField(null=True, blank=True)
    fup_upload_kbps = models.PositiveIntegerField(null=True, blank=True)
    quota_reset = models.CharField(max_length=10, choices=QuotaReset.choices,
                                   default=QuotaReset.BILLING_CYCLE)
    simultaneous_use = models.PositiveSmallIntegerField(default=1,
                                                        validators=[MinValueValidator(1)])
    ip_pool_name = models.CharField(
        "IP pool", max_length=64, blank=True,
        help_text="Framed-Pool name sent to the NAS, or a pool the portal allocates from.",
    )
    # Vendor QoS names for NAS types that enforce named policies instead of rates.
    cisco_policy_in = models.CharField(max_length=64, blank=True)
    cisco_policy_out = models.CharField(max_length=64, blank=True)
    juniper_service = models.CharField(
        max_length=120, blank=True, help_text='ERX-Service-Activate value, e.g. "svc(10m,10m)".'
    )
    huawei_qos_profile = models.CharField(max_length=64, blank=True)
    visible_in_selfcare = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan_type", "price", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="plan_code_unique"),
        ]
        indexes = [models.Index(Upper("name"), name="plan_name_upper_idx")]
        permissions = [("import_plan", "Can import plans"), ("export_plan", "Can export plans")]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.validity_unit == self.ValidityUnit.FIXED_DAY and not 1 <= self.validity_value <= 28:
            errors["validity_value"] = "A fixed day of the month must be between 1 and 28."
        elif self.validity_value == 0:
            errors["validity_value"] = "Validity must be at least 1."
        if self.quota_mb and self.fup_action == self.FupAction.THROTTLE and not (
            self.fup_download_kbps and self.fup_upload_kbps
        ):
            errors["fup_download_kbps"] = (
                "A throttling plan needs the FUP download and upload speeds.")
        if self.plan_type == self.Type.BROADBAND and not (self.download_kbps and self.upload_kbps):
            errors["download_kbps"] = "A broadband plan needs download and upload speeds."
        if errors:
            raise ValidationError(errors)


class PlanAttribute(models.Model):
    """An extra or overriding RADIUS reply attribute for one NAS vendor; may repeat."""

    class Vendor(models.TextChoices):
        ANY = "any", "Any vendor"
        MIKROTIK = "mikrotik", "MikroTik"
        CISCO = "cisco", "Cisco"
        JUNIPER = "juniper", "Juniper"
        HUAWEI = "huawei", "Huawei"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="attributes")
    vendor = models.CharField(max_length=12, choices=Vendor.choices, default=Vendor.ANY)
    attribute = models.CharField(max_length=64, help_text="Dictionary name, e.g. Cisco-AVPair.")
    value = models.CharField(max_length=253)
    replaces_generated = models.BooleanField(
        default=True, help_text="Drop the generated attribute of the same name when present."
    )

    class Meta:
        ordering = ["plan", "vendor", "pk"]

    def __str__(self):
        return f"{self.attribute} = {self.value}"
