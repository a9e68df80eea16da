"""Third-party models shown in the portal: scheduled jobs and sign-in lockouts.

Their default admins are replaced by themed, scoped ones: only ISP-level users (and the
platform operator) with the model permission see them.
"""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.admin import PeriodicTaskForm
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from modules.core.admin_base import Scope, ScopedModelAdmin

for model in (
    PeriodicTask,
    IntervalSchedule,
    CrontabSchedule,
    SolarSchedule,
    ClockedSchedule,
    AccessAttempt,
    AccessLog,
    AccessFailureLog,
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class PlatformAdmin(ScopedModelAdmin):
    scope_kind = Scope.GLOBAL


@admin.register(PeriodicTask)
class ScheduledJobAdmin(PlatformAdmin, BeatPeriodicTaskAdmin):
    form = PeriodicTaskForm
    list_display = [
        "name",
        "task",
        "enabled",
        "interval",
        "crontab",
        "last_run_at",
        "total_run_count",
    ]
    list_filter = ["enabled"]
    search_fields = ["name", "task"]


@admin.register(IntervalSchedule)
class IntervalScheduleAdmin(PlatformAdmin):
    pass


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(PlatformAdmin):
    list_display = ["__str__", "timezone"]


@admin.register(AccessAttempt)
class SignInLockoutAdmin(PlatformAdmin):
    """Current lockout counters; deleting a row unlocks the account."""

    list_display = ["username", "ip_address", "failures_since_start", "attempt_time"]
    search_fields = ["username", "ip_address"]
    readonly_fields = [
        "username",
        "ip_address",
        "user_agent",
        "failures_since_start",
        "attempt_time",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
