"""Report pages. Thin: filters come from the form, rows from the selectors, jobs from services."""

from __future__ import annotations

import json
from decimal import Decimal

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import number_format
from django.views.decorators.http import require_POST

from config.db_routers import replica_reads
from modules.reports import registry, services
from modules.reports.forms import ExportForm, ReportFilterForm
from modules.reports.models import Report
from modules.reports.selectors import zone_of

PAGE_SIZE = 50


class RowWindow:
    """One page of report rows without counting them all: a COUNT over a grouped report of
    millions of rows costs as much as the report itself, so the page reads one row more than
    it shows to know whether there is a next page."""

    def __init__(self, rows, number: str | None):
        self.number = int(number) if number and number.isdigit() and int(number) > 0 else 1
        first = (self.number - 1) * PAGE_SIZE
        found = list(rows[first:first + PAGE_SIZE + 1])
        if not found and self.number > 1:  # past the end: back to the first page
            self.number, first = 1, 0
            found = list(rows[:PAGE_SIZE + 1])
        self.has_next = len(found) > PAGE_SIZE
        self.object_list = found[:PAGE_SIZE]
        self.has_previous = self.number > 1
        self.previous_page_number, self.next_page_number = self.number - 1, self.number + 1
        self.start_index = first + 1 if self.object_list else 0
        self.end_index = first + len(self.object_list)


def _require_reports(request):
    if not request.user.has_perm(registry.REPORT_PERMISSION):
        raise PermissionDenied


def _definition(request, key):
    _require_reports(request)
    definition = registry.get(request.user, key)
    if definition is None:
        raise Http404("Not found.")
    return definition


def _context(request, title, **extra):
    return {**admin.site.each_context(request), "title": title, **extra}


def index(request):
    """The catalog: the reports this user may run, by group, and the user's recent exports."""
    _require_reports(request)
    available = registry.for_user(request.user)
    groups = [{"title": group, "reports": [r for r in available.values() if r.group == group]}
              for group in registry.GROUPS]
    exports = Report.objects.filter(requested_by=request.user).order_by("-id")[:10]
    return TemplateResponse(request, "reports/index.html", _context(
        request, "Reports", groups=[g for g in groups if g["reports"]], exports=exports))


def display(value, kind: str) -> str:
    """A cell as shown on screen."""
    if value is None or value == "":
        return "—"
    if kind == "money":
        return number_format(Decimal(value).quantize(Decimal("0.01")), 2, force_grouping=True)
    if kind == "int":
        return number_format(value, force_grouping=True)
    if kind == "bytes":
        return filesizeformat(value)
    if kind == "seconds":
        return f"{int(value) // 3600:,} h {int(value) % 3600 // 60:02d} m"
    if kind == "month":
        return value.strftime("%b %Y")
    if kind == "datetime":
        return timezone.localtime(value).strftime("%d %b %Y %H:%M")
    if kind == "date":
        return value.strftime("%d %b %Y")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _chart(definition, rows) -> str | None:
    chart = definition.chart
    if chart is None or not rows:
        return None
    columns = {c.key: c for c in definition.columns}
    ordered = list(reversed(rows)) if columns[chart.label].kind in ("date", "month") else rows
    labels = [display(row[chart.label], columns[chart.label].kind) for row in ordered]
    datasets = [{"label": columns[key].label,
                 "data": [float(row[key] or 0) for row in ordered]} for key in chart.series]
    return json.dumps({"labels": labels, "datasets": datasets})


def report(request, key):
    definition = _definition(request, key)
    user = request.user
    today = timezone.localtime(timezone.now(), zone_of(user)).date()
    start, end = definition.default_range(today)
    form = ReportFilterForm(request.GET if "start" in request.GET else None, user=user,
                            initial={"start": start, "end": end})
    page = table = chart = None
    if form.is_bound and form.is_valid():
        params = services.params_from(user, form.cleaned_data)
    elif not form.is_bound:
        params = services.params_from(user, {"start": start, "end": end})
    else:
        params = None
    if params is not None:
        with replica_reads():  # report rows may come from a replica; nothing here writes
            page = RowWindow(definition.rows(user, params), request.GET.get("page"))
            rows = page.object_list
        table = {"headers": [c.label for c in definition.columns],
                 "rows": [[display(row[c.key], c.kind) for c in definition.columns]
                          for row in rows]}
        chart = _chart(definition, rows)
    query = request.GET.copy()
    query.pop("page", None)
    export_form = ExportForm(user=user, initial={
        "start": params.start if params else start, "end": params.end if params else end,
        "organization": params.organization.pk if params and params.organization else None})
    return TemplateResponse(request, "reports/report.html", _context(
        request, definition.title, report=definition, form=form, page=page, table=table,
        chart=chart, query=query.urlencode(), export_form=export_form,
        formats=Report.Format.choices))


@require_POST
def export(request, key):
    definition = _definition(request, key)
    form = ExportForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, "Check the export filters: " + "; ".join(
            e for errors in form.errors.values() for e in errors))
        return redirect("reports:report", key=definition.key)
    try:
        params = services.params_from(request.user, form.cleaned_data)
        job = services.request_export(request.user, definition.key, params,
                                      form.cleaned_data["file_format"])
    except ValidationError as invalid:
        messages.error(request, "; ".join(invalid.messages))
        return redirect("reports:report", key=definition.key)
    messages.success(request, f"{definition.title}: export queued.")
    return redirect("reports:export-status", pk=job.pk)


def export_status(request, pk):
    _require_reports(request)
    job = services.visible_export(request.user, pk)
    if job is None:
        raise Http404("Not found.")
    return TemplateResponse(request, "reports/export.html", _context(
        request, job.title, job=job, running=job.status in (Report.Status.QUEUED,
                                                            Report.Status.RUNNING)))


def download(request, pk):
    """The file, to its requester only; anyone else gets "not found"."""
    _require_reports(request)
    job = services.visible_export(request.user, pk)
    if job is None or job.status != Report.Status.DONE or not job.file:
        raise Http404("Not found.")
    filename = job.file.name.rsplit("/", 1)[-1]
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=filename)
