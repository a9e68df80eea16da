"""Report pages: the catalog, each report, export jobs and their downloads."""

from django.contrib import admin
from django.urls import path

from modules.reports import views

URL_PREFIX = "reports/"
app_name = "reports"

# `/reports/index` (the module map) redirects here once the user holds `reports.view_report`.
urlpatterns = [
    path("", admin.site.admin_view(views.index), name="index"),
    path("run/<slug:key>", admin.site.admin_view(views.report), name="report"),
    path("run/<slug:key>/export", admin.site.admin_view(views.export), name="export"),
    path("exports/<int:pk>", admin.site.admin_view(views.export_status), name="export-status"),
    path("exports/<int:pk>/download", admin.site.admin_view(views.download), name="download"),
]
