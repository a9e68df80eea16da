"""Bulk import and export of plans (django-import-export), scoped to the importing user.

Columns: code*, name*, plan_type, price*, tax_class (name), billing_mode, validity_unit,
validity_value, download_kbps, upload_kbps, burst_download_kbps, burst_upload_kbps,
quota_mb, fup_action, fup_download_kbps, fup_upload_kbps, quota_reset, simultaneous_use,
ip_pool_name, visible_in_selfcare, is_active, organization (code; empty: the importer's own).
A row whose (organization, code) exists updates that plan; otherwise it creates one.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from modules.core import scope
from modules.core.models import Organization
from modules.plans.cells import neutralize
from modules.plans.models import Plan, TaxClass

COLUMNS = [
    "code", "name", "plan_type", "price", "tax_class", "billing_mode", "validity_unit",
    "validity_value", "download_kbps", "upload_kbps", "burst_download_kbps",
    "burst_upload_kbps", "quota_mb", "fup_action", "fup_download_kbps", "fup_upload_kbps",
    "quota_reset", "simultaneous_use", "ip_pool_name", "visible_in_selfcare", "is_active",
    "organization",
]


class ScopedOrganizationWidget(widgets.ForeignKeyWidget):
    def __init__(self, user):
        super().__init__(model=Organization, field="code")
        self.user = user

    def get_queryset(self, value, row, *args, **kwargs):
        return scope.allowed_organizations(self.user)

    def clean(self, value, row=None, **kwargs):
        if not value:
            return self.user.organization if self.user is not None else None
        try:
            return super().clean(value, row, **kwargs)
        except Exception as exc:
            raise ValueError(f"“{value}” is not an organization you may manage.") from exc


class TaxClassWidget(widgets.ForeignKeyWidget):
    def __init__(self, user):
        super().__init__(model=TaxClass, field="name")
        self.user = user

    def get_queryset(self, value, row, *args, **kwargs):
        return scope.restrict_to_tenant(TaxClass.objects.all(), self.user, "tenant")

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except Exception as exc:
            raise ValueError(f"“{value}” is not a tax class of this ISP.") from exc


class PlanResource(resources.ModelResource):
    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.fields["organization"] = fields.Field(
            column_name="organization", attribute="organization",
            widget=ScopedOrganizationWidget(user))
        self.fields["tax_class"] = fields.Field(
            column_name="tax_class", attribute="tax_class", widget=TaxClassWidget(user))

    class Meta:
        model = Plan
        fields = COLUMNS
        import_id_fields = ["organization", "code"]
        skip_unchanged = True
        clean_model_instances = True

    def get_queryset(self):
        return scope.restrict_to_scope(Plan.objects.all(), self.user, "organization")

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None  # the organization column reports it, as an error of that column

    def before_import(self, dataset, **kwargs):
        headers = {str(h or "").strip() for h in (dataset.headers or [])}
        missing = {"code", "name", "price"} - headers
        unknown = headers - set(COLUMNS)
        if missing or unknown:
            raise ValidationError(
                f"Wrong headers (missing: {', '.join(sorted(missing)) or '-'}; unknown: "
                f"{', '.join(sorted(unknown)) or '-'}).")

    def export_field(self, field, instance, **kwargs):
        if field.column_name == "organization":
            return neutralize(instance.organization.code)
        if field.column_name == "tax_class":
            return neutralize(instance.tax_class.name if instance.tax_class_id else "")
        value = super().export_field(field, instance, **kwargs)
        return neutralize(value) if isinstance(value, str) else value

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("organization", "tax_class")
