"""The plan catalog (/plans/index): plans with their RADIUS attributes, and tax classes."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html_join
from import_export.admin import ImportExportModelAdmin
from unfold.contrib.import_export.forms import ExportForm, ImportForm
from unfold.decorators import display

from modules.core import scope
from modules.core.admin_base import Scope, ScopedModelAdmin, ScopedTabularInline
from modules.plans.models import Plan, PlanAttribute, TaxClass
from modules.plans.resources import PlanResource
from modules.plans.selectors import shared_plans_q
from modules.plans.services import VENDORS, rate_text, reply_attributes


class PlanAttributeInline(ScopedTabularInline):
    model = PlanAttribute
    extra = 0
    tab = True
    fields = ["vendor", "attribute", "value", "replaces_generated"]
    verbose_name_plural = "RADIUS attribute overrides"


@admin.register(Plan)
class PlanAdmin(ScopedModelAdmin, ImportExportModelAdmin):
    import_form_class = ImportForm
    export_form_class = ExportForm
    resource_classes = [PlanResource]
    list_display = ["name", "code", "plan_type", "price", "speed", "validity", "quota",
                    "organization", "is_active"]
    list_filter = ["plan_type", "is_active", "billing_mode", "visible_in_selfcare",
                   "organization"]
    list_select_related = ["organization", "tax_class"]
    search_fields = ["name", "code"]
    inlines = [PlanAttributeInline]
    readonly_fields = ["radius_preview"]
    fieldsets = [
        ("Plan", {"classes": ["tab"], "fields": [
            ("organization", "plan_type"), ("code", "name"), "description",
            ("price", "tax_class", "billing_mode"), ("validity_unit", "validity_value"),
            ("visible_in_selfcare", "is_active")]}),
        ("Speed", {"classes": ["tab"], "fields": [
            ("download_kbps", "upload_kbps"), ("burst_download_kbps", "burst_upload_kbps"),
            ("burst_threshold_download_kbps", "burst_threshold_upload_kbps"),
            ("burst_time_seconds", "priority"), ("simultaneous_use", "ip_pool_name")]}),
        ("Fair usage", {"classes": ["tab"], "fields": [
            ("quota_mb", "quota_reset"), "fup_action",
            ("fup_download_kbps", "fup_upload_kbps")]}),
        ("Vendor policies", {"classes": ["tab"], "fields": [
            ("cisco_policy_in", "cisco_policy_out"), "juniper_service", "huawei_qos_profile",
            "radius_preview"]}),
    ]

    @display(description="Speed (down/up)")
    def speed(self, obj):
        return f"{rate_text(obj.download_kbps)} / {rate_text(obj.upload_kbps)}"

    @display(description="Validity")
    def validity(self, obj):
        if obj.validity_unit == Plan.ValidityUnit.FIXED_DAY:
            return f"to day {obj.validity_value}"
        return f"{obj.validity_value} {obj.get_validity_unit_display().lower()}"

    @display(description="Quota")
    def quota(self, obj):
        return f"{obj.quota_mb // 1024} GB" if obj.quota_mb else "Unlimited"

    @display(description="Reply attributes per NAS vendor")
    def radius_preview(self, obj):
        if obj is None or obj.pk is None:
            return "Shown after saving."
        rows = [(vendor, name, value) for vendor in VENDORS
                for name, value in reply_attributes(obj, vendor)]
        return format_html_join("\n", "<div><b>{}</b>: {} = {}</div>", rows) or "None"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("attributes")

    def scope_queryset(self, request, qs):
        """Plans owned in the user's scope, plus plans shared with it (those read-only)."""
        owned = super().scope_queryset(request, qs)
        shared = shared_plans_q(request.user)
        return owned if shared is None else owned | qs.filter(shared)

    def _owns(self, request, obj) -> bool:
        return obj is None or scope.in_scope(request.user, obj.organization)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._owns(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._owns(request, obj)

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "user": request.user}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), "user": request.user}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tax_class":
            kwargs["queryset"] = scope.restrict_to_tenant(
                TaxClass.objects.all(), request.user, "tenant")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(TaxClass)
class TaxClassAdmin(ScopedModelAdmin):
    scope_kind = Scope.TENANT
    scope_field = "tenant"
    list_display = ["name", "rate", "hsn_sac"]
    search_fields = ["name", "hsn_sac"]
    exclude = ["tenant"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.tenant_id = request.user.organization.tenant_id
        obj.save()
