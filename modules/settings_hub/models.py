"""Per-tenant configuration: one row per tenant for each settings section."""

import zoneinfo

import moneyed
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.template import Template, TemplateSyntaxError

from modules.core.models import Tenant


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone (use a name like Asia/Kolkata).")


def validate_currency(value: str) -> None:
    if value.upper() not in moneyed.CURRENCIES or value.upper() == "XXX":
        raise ValidationError(f"“{value}” is not an ISO 4217 currency code (e.g. INR, USD).")


def validate_template(value: str) -> None:
    try:
        Template(value)
    except TemplateSyntaxError as exc:
        raise ValidationError(f"Template error: {exc}") from exc


class TenantSettings(models.Model):
    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self._meta.verbose_name} — {self.tenant}"


class GeneralSettings(TenantSettings):
    class DateFormat(models.TextChoices):
        DMY = "d/m/Y", "31/12/2026"
        MDY = "m/d/Y", "12/31/2026"
        ISO = "Y-m-d", "2026-12-31"

    class NumberFormat(models.TextChoices):
        INDIAN = "indian", "12,34,567.89"
        INTERNATIONAL = "international", "1,234,567.89"
        EUROPEAN = "european", "1.234.567,89"

    company_name = models.CharField(max_length=150)
    legal_name = models.CharField(max_length=200, blank=True)
    tax_number = models.CharField("tax number (GSTIN / VAT)", max_length=30, blank=True)
    address = models.TextField(blank=True)
    state = models.CharField("billing state", max_length=80, blank=True)
    country = models.CharField(max_length=2, default="IN", help_text="ISO 3166 alpha-2 code.")
    timezone = models.CharField(
        max_length=64, default="Asia/Kolkata", validators=[validate_timezone]
    )
    currency = models.CharField(max_length=3, default="INR", validators=[validate_currency])
    date_format = models.CharField(
        max_length=10, choices=DateFormat.choices, default=DateFormat.DMY
    )
    number_format = models.CharField(
        max_length=20, choices=NumberFormat.choices, default=NumberFormat.INDIAN
    )
    support_phone = models.CharField(max_length=20, blank=True)
    support_email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    logo = models.ImageField(upload_to="branding/", blank=True)
    maintenance_mode = models.BooleanField(
        default=False, help_text="Show a maintenance notice to subscribers in self-care."
    )

    class Meta:
        verbose_name = "general settings"
        verbose_name_plural = "general settings"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        from modules.core.tenancy import forget_cached_hosts

        forget_cached_hosts()  # a new time zone shows on the next page, not 30 s later

    def clean(self):
        self.currency = (self.currency or "").upper()


class SecuritySettings(TenantSettings):
    min_password_length = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(8), MaxValueValidator(128)]
    )
    require_uppercase = models.BooleanField(default=True)
    require_digit = models.BooleanField(default=True)
    require_symbol = models.BooleanField(default=False)
    max_failed_logins = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(3), MaxValueValidator(50)],
        help_text="Failed sign-ins before the account is locked.",
    )
    lockout_minutes = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)]
    )
    session_timeout_minutes = models.PositiveIntegerField(
        default=120,
        validators=[MinValueValidator(5), MaxValueValidator(7 * 24 * 60)],
        help_text="Idle time after which a portal session ends.",
    )

    class Meta:
        verbose_name = "security settings"
        verbose_name_plural = "security settings"


class NotificationSettings(TenantSettings):
    email_enabled = models.BooleanField(default=False)
    email_from = models.EmailField(blank=True)
    smtp_host = models.CharField(max_length=200, blank=True)
    smtp_port = models.PositiveIntegerField(default=587)
    smtp_username = models.CharField(max_length=200, blank=True)
    smtp_password = models.CharField(max_length=200, blank=True)
    smtp_use_tls = models.BooleanField(default=True)
    sms_enabled = models.BooleanField(default=False)
    sms_gateway_url = models.URLField(
        blank=True, help_text="HTTP endpoint of the SMS provider; {to} and {text} are filled in."
    )
    sms_api_key = models.CharField(max_length=200, blank=True)
    sms_sender_id = models.CharField(max_length=11, blank=True)

    class Meta:
        verbose_name = "notification settings"
        verbose_name_plural = "notification settings"

    def clean(self):
        errors = {}
        if self.email_enabled:
            if not self.email_from:
                errors["email_from"] = "A sender address is needed to send email."
            if not self.smtp_host:
                errors["smtp_host"] = "An SMTP server is needed to send email."
        if self.sms_enabled and not self.sms_gateway_url:
            errors["sms_gateway_url"] = "An SMS gateway URL is needed to send SMS."
        if errors:
            raise ValidationError(errors)


class NotificationTemplate(models.Model):
    class Event(models.TextChoices):
        EXPIRY_REMINDER = "expiry_reminder", "Expiry reminder"
        SUBSCRIPTION_EXPIRED = "subscription_expired", "Subscription expired"
        RENEWED = "renewed", "Subscription renewed"
        PAYMENT_RECEIVED = "payment_received", "Payment received"
        INVOICE_ISSUED = "invoice_issued", "Invoice issued"
        FUP_THRESHOLD = "fup_threshold", "Data usage threshold"
        TICKET_CREATED = "ticket_created", "Ticket created"
        TICKET_UPDATED = "ticket_updated", "Ticket updated"
        SLA_BREACH = "sla_breach", "SLA breach"
        LOW_WALLET = "low_wallet", "Low wallet balance"
        ONE_TIME_CODE = "one_time_code", "One-time sign-in code"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=40, choices=Event.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    subject = models.CharField(max_length=200, blank=True, validators=[validate_template])
    body = models.TextField(validators=[validate_template])
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["event", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "event", "channel"], name="one_template_per_event_channel"
            ),
        ]

    def __str__(self):
        return f"{self.get_event_display()} ({self.get_channel_display()})"

    def clean(self):
        if self.channel == self.Channel.SMS and len(self.body) > 480:
            raise ValidationError({"body": "An SMS template may be at most 480 characters."})
        if self.channel == self.Channel.EMAIL and not self.subject:
            raise ValidationError({"subject": "An email template needs a subject."})
