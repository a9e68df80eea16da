from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse

from modules.core.admin_base import Scope, ScopedModelAdmin
from modules.settings_hub.models import (
    GeneralSettings,
    NotificationSettings,
    NotificationTemplate,
    SecuritySettings,
)


class TenantSettingsAdmin(ScopedModelAdmin):
    """One row per tenant: the list opens the current tenant's settings directly."""

    scope_kind = Scope.TENANT
    scope_field = "tenant"
    exclude = ["tenant"]

    def changelist_view(self, request, extra_context=None):
        tenant_id = request.user.organization.tenant_id if request.user.organization_id else None
        row = self.get_queryset(request).filter(tenant_id=tenant_id).first()
        if row is None and tenant_id is not None and self.has_view_or_change_permission(request):
            row, _ = self.model.objects.get_or_create(
                tenant_id=tenant_id, **self.creation_defaults(request)
            )
        if row is None:
            return super().changelist_view(request, extra_context)
        opts = self.model._meta
        return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))

    def creation_defaults(self, request) -> dict:
        return {}

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GeneralSettings)
class GeneralSettingsAdmin(TenantSettingsAdmin):
    fieldsets = (
        (
            "Company profile",
            {
                "fields": (
                    "company_name",
                    "legal_name",
                    "tax_number",
                    "address",
                    "state",
                    "country",
                    "website",
                    "logo",
                )
            },
        ),
        ("Regional", {"fields": ("timezone", "currency", "date_format", "number_format")}),
        ("Support contacts", {"fields": ("support_phone", "support_email")}),
        ("Operations", {"fields": ("maintenance_mode",)}),
    )

    def creation_defaults(self, request):
        return {"company_name": request.user.organization.tenant.name}


@admin.register(SecuritySettings)
class SecuritySettingsAdmin(TenantSettingsAdmin):
    fieldsets = (
        (
            "Password policy",
            {
                "fields": (
                    "min_password_length",
                    "require_uppercase",
                    "require_digit",
                    "require_symbol",
                )
            },
        ),
        ("Sign-in lockout", {"fields": ("max_failed_logins", "lockout_minutes")}),
        ("Sessions", {"fields": ("session_timeout_minutes",)}),
    )


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(TenantSettingsAdmin):
    fieldsets = (
        (
            "Email",
            {
                "fields": (
                    "email_enabled",
                    "email_from",
                    "smtp_host",
                    "smtp_port",
                    "smtp_username",
                    "smtp_password",
                    "smtp_use_tls",
                )
            },
        ),
        ("SMS", {"fields": ("sms_enabled", "sms_gateway_url", "sms_api_key", "sms_sender_id")}),
    )


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(ScopedModelAdmin):
    scope_kind = Scope.TENANT
    scope_field = "tenant"
    exclude = ["tenant"]
    list_display = ["event", "channel", "subject", "is_active"]
    list_filter = ["event", "channel", "is_active"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.tenant_id = request.user.organization.tenant_id
        super().save_model(request, obj, form, change)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        tenant_id = request.user.organization.tenant_id if request.user.organization_id else None

        class TenantBoundForm(form):
            def _post_clean(self):
                if self.instance.tenant_id is None:
                    self.instance.tenant_id = tenant_id
                super()._post_clean()

        return TenantBoundForm
