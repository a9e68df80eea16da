"""Changelist filters for the daily lists; none of them counts a million rows."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from unfold.contrib.filters.admin import TextFilter

from modules.plans.models import Plan
from modules.plans.selectors import sellable_plans
from modules.subscribers import selectors
from modules.subscribers.validation import normalize_ip


class DailyListFilter(admin.SimpleListFilter):
    title = "daily list"
    parameter_name = "list"

    def lookups(self, request, model_admin):
        return [
            ("expiring_1", "Expiring today / tomorrow"),
            ("expiring_3", "Expiring in 3 days"),
            ("expiring_7", "Expiring in 7 days"),
            ("expiring_15", "Expiring in 15 days"),
            ("expiring_30", "Expiring in 30 days"),
            ("overdue", "Validity ended, not yet expired"),
            ("expired", "Expired"),
            ("suspended", "Suspended"),
            ("limited", "Limited (FUP or grace)"),
            ("new", "New, not activated"),
            ("recent", f"Added in the last {selectors.RECENT_DAYS} days"),
            *selectors.extra_lists(),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        valid = {key for key, _ in self.lookup_choices}
        return selectors.daily_list(queryset, value) if value in valid else queryset


class PlanFilter(admin.SimpleListFilter):
    """Plans the user may sell: the catalog it works with (its own scope's plans included)."""

    title = "plan"
    parameter_name = "plan"

    def lookups(self, request, model_admin):
        plans = sellable_plans(request.user, include_inactive=True).filter(
            plan_type=Plan.Type.BROADBAND).order_by("name")
        return [(str(p.pk), p.name) for p in plans[:300]]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(plan_id=value) if value and value.isdigit() else queryset


class AreaFilter(TextFilter):
    title = "zone / area"
    parameter_name = "area"

    def queryset(self, request, queryset):
        return queryset.filter(area__iexact=self.value().strip()) if self.value() else queryset


class NasFilter(TextFilter):
    title = "NAS IP"
    parameter_name = "nas"

    def queryset(self, request, queryset):
        try:
            address = normalize_ip(self.value() or "")
        except ValidationError:
            return queryset.none()
        return queryset.filter(nas_ip=address) if address else queryset
