"""Settings -> Subscriber Portal, and the sign-in failures the self-care login counts."""

from django.core.validators import RegexValidator
from django.db import models

from modules.core.models import Tenant
from modules.settings_hub.models import TenantSettings

colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #0f766e.")


class PortalSettings(TenantSettings):
    """What subscribers can see and do in self-care; every toggle is enforced on the server."""

    class OneTimeCode(models.TextChoices):
        NONE = "none", "No code: password only"
        SMS = "sms", "SMS code after the password"
        EMAIL = "email", "Email code after the password"

    # Toggles (defaults from the product notes).
    allow_renewal = models.BooleanField("renew from self-care", default=True)
    allow_plan_upgrade = models.BooleanField("plan upgrade", default=False)
    allow_plan_downgrade = models.BooleanField("plan downgrade", default=False)
    allow_addon_purchase = models.BooleanField("buy top-ups and boosters", default=True)
    allow_password_change = models.BooleanField("password change", default=True)
    allow_profile_edit = models.BooleanField("profile edit", default=True)
    allow_ticket_creation = models.BooleanField("ticket creation", default=False)
    allow_online_payment = models.BooleanField(
        "online payment", default=False, help_text="Pay renewals, plan changes and top-ups "
                                                   "through the payment gateway below.")
    allow_invoice_download = models.BooleanField("invoice download", default=True)
    # Display options.
    show_data_usage = models.BooleanField("data usage", default=True)
    show_usage_graph = models.BooleanField("usage graph", default=True)
    show_invoice_history = models.BooleanField("invoice history", default=True)
    show_payment_history = models.BooleanField("payment history", default=True)
    show_expiry_date = models.BooleanField("expiry date", default=True)
    # Branding.
    portal_title = models.CharField(max_length=80, blank=True,
                                    help_text="Empty: the company name from Settings -> General.")
    logo = models.ImageField(upload_to="branding/portal/", blank=True)
    primary_colour = models.CharField(max_length=7, default="#0f766e", validators=[colour])
    accent_colour = models.CharField(max_length=7, default="#f59e0b", validators=[colour])
    welcome_text = models.CharField(max_length=200, blank=True)
    # Sign-in rules.
    login_with_username = models.BooleanField(default=True)
    login_with_mobile = models.BooleanField(default=True)
    one_time_code = models.CharField(max_length=5, choices=OneTimeCode.choices,
                                     default=OneTimeCode.NONE)
    payment_gateway = models.ForeignKey(
        "billing.PaymentGateway", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", help_text="The gateway used for online payment.")

    class Meta:
        verbose_name = "subscriber portal settings"
        verbose_name_plural = "subscriber portal settings"

    def clean(self):
        from django.core.exceptions import ValidationError

        errors = {}
        if not (self.login_with_username or self.login_with_mobile):
            errors["login_with_username"] = "Allow sign-in by username, by mobile, or both."
        if self.payment_gateway_id and self.payment_gateway.tenant_id != self.tenant_id:
            errors["payment_gateway"] = "Pick a gateway of this ISP."
        if self.allow_online_payment and not self.payment_gateway_id:
            errors["payment_gateway"] = "Online payment needs a payment gateway."
        if errors:
            raise ValidationError(errors)


class SignInFailure(models.Model):
    """One failed self-care sign-in; recent rows lock the login (and a spraying address)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    login = models.CharField(max_length=150)
    address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "login", "created_at"], name="selfcare_fail_login_idx"),
            models.Index(fields=["tenant", "address", "created_at"], name="selfcare_fail_addr_idx"),
            models.Index(fields=["created_at"], name="selfcare_fail_age_idx"),
        ]

    def __str__(self):
        return f"{self.login} at {self.created_at:%Y-%m-%d %H:%M}"
