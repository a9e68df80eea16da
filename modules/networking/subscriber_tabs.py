"""The Usage and Sessions tabs of the subscriber's page, over a recent window so the page stays
fast for subscribers with years of history (the full history is in Networking's lists)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from modules.networking.models import CycleUsage, DailyUsage, RadiusSession
from modules.subscribers.page_tabs import SubscriberPageInline, show_on_subscriber_page

SESSION_DAYS = 30
USAGE_DAYS = 62


class SubscriberSessionInline(SubscriberPageInline):
    model = RadiusSession
    fk_name = "subscriber"
    fields = ["started_at", "stopped_at", "nas", "framed_ip", "calling_station_id",
              "session_time", "input_octets", "output_octets", "terminate_cause"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = f"sessions (last {SESSION_DAYS} days)"

    def get_queryset(self, request):
        since = timezone.now() - timedelta(days=SESSION_DAYS)
        return (super().get_queryset(request).filter(started_at__gte=since)
                .select_related("nas").order_by("-started_at"))


class SubscriberDailyUsageInline(SubscriberPageInline):
    model = DailyUsage
    fk_name = "subscriber"
    fields = ["day", "input_octets", "output_octets"]
    readonly_fields = fields
    verbose_name_plural = f"daily usage (last {USAGE_DAYS} days)"

    def get_queryset(self, request):
        since = timezone.localdate() - timedelta(days=USAGE_DAYS)
        return super().get_queryset(request).filter(day__gte=since).order_by("-day")


class SubscriberCycleUsageInline(SubscriberPageInline):
    model = CycleUsage
    fk_name = "subscriber"
    fields = ["cycle_start", "octets", "quota_octets", "extra_quota_octets", "boosted",
              "exhausted"]
    readonly_fields = fields
    verbose_name_plural = "usage per cycle"

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-cycle_start")


def register() -> None:
    show_on_subscriber_page(SubscriberCycleUsageInline, SubscriberDailyUsageInline,
                            SubscriberSessionInline)
