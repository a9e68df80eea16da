"""Generated report files in the admin: the requester's history of exports and their state."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from unfold.decorators import display

from modules.core.admin_base import ScopedModelAdmin
from modules.reports.models import Report


@admin.register(Report)
class ReportAdmin(ScopedModelAdmin):
    """Scoped by the requester's organization; only the requester may download the file."""

    scope_field = "organization"
    list_display = ["title", "requested_by", "file_format", "state", "rows", "created_at",
                    "download"]
    list_filter = ["status", "file_format"]
    list_select_related = ["requested_by"]
    readonly_fields = ["title", "report_key", "params", "file_format", "status", "rows_total",
                       "rows_done", "error", "requested_by", "organization", "created_at",
                       "finished_at", "download"]
    exclude = ["file"]

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @display(description="status", label={"Ready": "success", "Failed": "danger",
                                          "Running": "info", "Queued": "warning"})
    def state(self, obj):
        return obj.get_status_display()

    @display(description="rows")
    def rows(self, obj):
        return f"{obj.rows_done:,} / {obj.rows_total:,}" if obj.rows_total else "—"

    @display(description="file")
    def download(self, obj):
        """The link is shown for ready files; the download view serves the requester only."""
        if obj.status != Report.Status.DONE:
            return "—"
        return format_html('<a class="text-primary-600" href="{}">Download</a>',
                           reverse("reports:download", args=[obj.pk]))
