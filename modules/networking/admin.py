"""Networking pages: NAS devices, address pools, online sessions, the auth log and usage.

Thin: changes go through `services`; state-changing actions are POST dialogs, permission-
checked by unfold and scope-checked by loading the object through the scoped queryset.
Sessions, auth log and usage are written by the RADIUS server only: read-only here.
"""

from __future__ import annotations

import ipaddress
from functools import wraps

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html_join
from guardian.shortcuts import get_objects_for_user
from unfold.decorators import action, display
from unfold.forms import BaseDialogForm

from modules.core import scope
from modules.core.admin_base import ScopedModelAdmin
from modules.networking import selectors, services
from modules.networking.models import (
    AuthLog,
    DailyUsage,
    Ipv4Pool,
    Ipv6Pool,
    NasDevice,
    RadiusSession,
)

REJECT_REASONS = ["unknown_user", "wrong_password", "suspended", "terminated", "expired",
                  "mac_mismatch", "nas_lock", "simultaneous_use", "quota_exhausted",
                  "not_activated", "no_plan", "ip_pool_exhausted"]


class ConfirmDialog(BaseDialogForm):
    pass


class _GrantedToPartnerMixin:
    """Devices and pools granted to a partner (a guardian object permission for its group) are
    listed read-only for that partner's users, besides what their scope owns."""

    def scope_queryset(self, request, qs):
        owned = super().scope_queryset(request, qs)
        if not request.user.is_authenticated:
            return owned
        opts = self.model._meta
        granted = get_objects_for_user(request.user, f"{opts.app_label}.view_{opts.model_name}",
                                       klass=qs, use_groups=True, with_superuser=False,
                                       accept_global_perms=False)
        return owned | granted

    def _owns(self, request, obj) -> bool:
        return obj is None or scope.in_scope(request.user, obj.organization)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._owns(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._owns(request, obj)


def _scoped(admin_method):
    """Load the object through the scoped queryset first: outside the scope is "not found"."""

    @wraps(admin_method)
    def run(model_admin, request, *args, object_id=None, **kwargs):
        request._scoped_object = model_admin.get_scoped_object_or_404(request, object_id)
        return admin_method(model_admin, request, *args, object_id=object_id, **kwargs)

    return run


def _back(request, model_admin, obj):
    opts = model_admin.model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _octets(value: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(value)


@admin.register(NasDevice)
class NasDeviceAdmin(_GrantedToPartnerMixin, ScopedModelAdmin):
    list_display = ["name", "address", "vendor", "organization", "require_message_authenticator",
                    "last_seen_at", "last_test_result", "is_active"]
    list_filter = ["vendor", "is_active", "organization"]
    list_select_related = ["organization"]
    search_fields = ["name", "address", "nas_identifier"]
    readonly_fields = ["last_seen_at", "last_test_at", "last_test_result"]
    fieldsets = [
        (None, {"fields": ["name", "organization", ("address", "nas_identifier"), "secret",
                           "vendor", "is_active", "description"]}),
        ("Ports and hardening", {"fields": [("auth_port", "acct_port", "coa_port"),
                                            "require_message_authenticator"]}),
        ("Status", {"fields": ["last_seen_at", ("last_test_at", "last_test_result")]}),
    ]
    actions_detail = ["test_connection"]

    def has_test_permission(self, request, object_id=None):
        return request.user.has_perm("networking.test_nasdevice") and self._has_scope(request)

    @_scoped
    @action(description="Test (Status-Server)", icon="network_check", permissions=["test"],
            dialog={"title": "Test the NAS", "form_class": ConfirmDialog,
                    "form_submit_text": "Send",
                    "description": "Sends a Status-Server with Message-Authenticator to the "
                                   "NAS's CoA port and waits two seconds for the answer."})
    def test_connection(self, request, form, object_id):
        obj = request._scoped_object
        result = services.test_nas(obj, actor=request.user)
        messages.info(request, f"{obj.name}: {result}.")
        return _back(request, self, obj)


class _PoolAdmin(ScopedModelAdmin):
    list_select_related = ["organization"]
    search_fields = ["name"]
    list_filter = ["is_active", "organization"]
    filter_horizontal = ["nas_devices"]


@admin.register(Ipv4Pool)
class Ipv4PoolAdmin(_GrantedToPartnerMixin, _PoolAdmin):
    list_display = ["name", "organization", "size", "used", "utilization", "is_walled_garden",
                    "is_active"]
    fields = ["name", "organization", "ranges", "exclusions", "nas_devices", "is_walled_garden",
              "is_active", "allocations"]
    readonly_fields = ["allocations"]

    def get_queryset(self, request):
        return selectors.ipv4_utilization(super().get_queryset(request))

    @display(description="Addresses")
    def size(self, obj):
        return obj.size

    @display(description="Leased")
    def used(self, obj):
        return obj.used

    @display(description="Utilization")
    def utilization(self, obj):
        return f"{100 * obj.used / obj.size:.1f} %" if obj.size else "-"

    @display(description="Current allocations (first 200)")
    def allocations(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        rows = selectors.pool_allocations(obj)
        return format_html_join(
            "", "<div>{} &rarr; {} <small>since {}</small></div>",
            ((lease.address, lease.subscriber, f"{lease.leased_at:%d %b %H:%M}") for lease in rows),
        ) or "No address is leased."

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        counts = services.sync_pool_addresses(form.instance)
        if counts["added"] or counts["removed"]:
            messages.info(request, f"{counts['added']} addresses added, {counts['removed']} "
                                   "removed.")


@admin.register(Ipv6Pool)
class Ipv6PoolAdmin(_GrantedToPartnerMixin, _PoolAdmin):
    list_display = ["name", "prefix", "delegated_length", "organization", "used", "capacity",
                    "is_active"]
    fields = ["name", "organization", "prefix", "delegated_length", "nas_devices", "is_active",
              "allocations"]
    readonly_fields = ["allocations"]

    def get_queryset(self, request):
        return selectors.ipv6_utilization(super().get_queryset(request))

    @display(description="Delegated prefixes (first 200)")
    def allocations(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        rows = selectors.prefix_allocations(obj)
        return format_html_join(
            "", "<div>{} &rarr; {} <small>since {}</small></div>",
            ((lease.prefix, lease.subscriber, f"{lease.leased_at:%d %b %H:%M}") for lease in rows),
        ) or "No prefix is delegated."

    @display(description="Delegated")
    def used(self, obj):
        return obj.used

    @display(description="Capacity")
    def capacity(self, obj):
        return obj.capacity


class _ReadOnlyAdmin(ScopedModelAdmin):
    """Rows written by the RADIUS server: viewable, never edited or added here."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OnlineFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "online"

    def lookups(self, request, model_admin):
        return [("yes", "Online"), ("no", "Closed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(stopped_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(stopped_at__isnull=False)
        return queryset


@admin.register(RadiusSession)
class RadiusSessionAdmin(_ReadOnlyAdmin):
    list_display = ["username", "nas", "framed_ip", "started_at", "online", "duration",
                    "download", "upload", "last_coa_result"]
    list_filter = [OnlineFilter, "nas"]
    list_select_related = ["nas"]
    search_fields = ["username"]
    search_help_text = "Exact username, framed IP or Acct-Session-Id."
    actions_detail = ["disconnect"]
    actions_row = ["disconnect"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            ipaddress.ip_address(term)
        except ValueError:
            return queryset.filter(username=term) | queryset.filter(session_id=term), False
        return queryset.filter(framed_ip=term), False

    @display(description="Online", boolean=True)
    def online(self, obj):
        return obj.stopped_at is None

    @display(description="Duration")
    def duration(self, obj):
        hours, rest = divmod(obj.session_time, 3600)
        return f"{hours}h {rest // 60:02d}m"

    @display(description="Download")
    def download(self, obj):
        return _octets(obj.output_octets)

    @display(description="Upload")
    def upload(self, obj):
        return _octets(obj.input_octets)

    def has_disconnect_permission(self, request, object_id=None):
        return (request.user.has_perm("networking.disconnect_radiussession")
                and self._has_scope(request))

    @_scoped
    @action(description="Disconnect", icon="power_settings_new", permissions=["disconnect"],
            dialog={"title": "Disconnect the session", "form_class": ConfirmDialog,
                    "form_submit_text": "Disconnect",
                    "description": "Sends a Disconnect-Request to the NAS; the answer is "
                                   "recorded on the session."})
    def disconnect(self, request, form, object_id):
        obj = request._scoped_object
        try:
            services.request_disconnect(obj, actor=request.user, reason="operator")
        except (services.NetworkingError, PermissionDenied) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Disconnect of {obj.username} sent to the NAS.")
        return _back(request, self, obj)


class ReasonFilter(admin.SimpleListFilter):
    """Fixed choices: a DISTINCT over the whole auth log would be far too slow."""

    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return [(r, r.replace("_", " ")) for r in REJECT_REASONS]

    def queryset(self, request, queryset):
        return queryset.filter(reason=self.value()) if self.value() else queryset


@admin.register(AuthLog)
class AuthLogAdmin(_ReadOnlyAdmin):
    list_display = ["created_at", "username", "nas_ip", "calling_station_id", "auth_method",
                    "outcome", "reason"]
    list_filter = ["outcome", ReasonFilter]
    search_fields = ["=username"]
    search_help_text = "Exact username."
    ordering = ["-id"]
    sortable_by = []


@admin.register(DailyUsage)
class DailyUsageAdmin(_ReadOnlyAdmin):
    list_display = ["day", "subscriber", "download", "upload", "total"]
    list_select_related = ["subscriber"]
    search_fields = ["=subscriber__username"]
    date_hierarchy = "day"

    @display(description="Download")
    def download(self, obj):
        return _octets(obj.output_octets)

    @display(description="Upload")
    def upload(self, obj):
        return _octets(obj.input_octets)

    @display(description="Total")
    def total(self, obj):
        return _octets(obj.total_octets)
