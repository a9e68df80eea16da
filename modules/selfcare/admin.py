from django.contrib import admin

from modules.selfcare.models import PortalSettings
from modules.settings_hub.admin import TenantSettingsAdmin


@admin.register(PortalSettings)
class PortalSettingsAdmin(TenantSettingsAdmin):
    """Settings -> Subscriber Portal: one row per tenant, opened directly from the list."""

    fieldsets = (
        ("What subscribers can do", {"fields": (
            "allow_renewal", "allow_plan_upgrade", "allow_plan_downgrade", "allow_addon_purchase",
            "allow_password_change", "allow_profile_edit", "allow_ticket_creation",
            "allow_online_payment", "payment_gateway", "allow_invoice_download")}),
        ("What subscribers see", {"fields": (
            "show_data_usage", "show_usage_graph", "show_invoice_history",
            "show_payment_history", "show_expiry_date")}),
        ("Branding", {"fields": ("portal_title", "logo", "primary_colour", "accent_colour",
                                 "welcome_text")}),
        ("Sign-in", {"fields": ("login_with_username", "login_with_mobile", "one_time_code")}),
    )
