"""Streamed CSV export and the import template.

The admin export of django-import-export collects every primary key and the whole dataset in
memory, and a Python CSV writer spends most of a million-row export formatting cells. Here
PostgreSQL writes the CSV (`COPY (the list's query) TO STDOUT`) and the view passes its blocks
on: no model instance and no Python per row, constant memory. The cells are neutralised
against spreadsheet formula injection in that query (the rule of `plans.cells.neutralize`)
and the password column is never selected.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import tablib
from django.db import connection
from django.db.models import F, Func, TextField
from django.http import HttpResponse, StreamingHttpResponse

from modules.plans.cells import FORMULA_START
from modules.plans.services import tenant_zone
from modules.subscribers.resources import EXPORT_HEADERS, TEMPLATE_HEADERS

COLUMNS = {
    "organization": "organization__code", "plan": "plan__code",
}
EXAMPLE_ROW = {
    "username": "asha.k", "password": "Kothrud@2026", "name": "Asha Kulkarni",
    "mobile": "+91 98220 12345", "email": "asha@example.com",
    "address": "12 Paud Road, Kothrud", "area": "Kothrud", "city": "Pune",
    "state": "Maharashtra", "pincode": "411038", "tax_number": "", "organization": "",
    "plan": "fiber-100", "connection_type": "pppoe", "mac_address": "AA:BB:CC:00:11:22",
    "static_ipv4": "", "ipv6_prefix": "", "nas_ip": "", "simultaneous_use": "",
    "status": "new", "expires_at": "", "notes": "",
}


class Cell(Func):
    """A text cell as the export writes it: empty for NULL or '', and a leading ' before a
    character a spreadsheet would run as a formula (`neutralize`, in SQL)."""

    output_field = TextField()
    template = (
        "NULLIF(CASE WHEN left(%(expressions)s::text, 1) IN (" +
        ", ".join(f"chr({ord(c)})" for c in FORMULA_START) +
        ") THEN chr(39) || %(expressions)s::text ELSE %(expressions)s::text END, '')"
    )


class LocalTime(Func):
    """A timestamp in the tenant's zone, `YYYY-MM-DD HH:MM:SS` (the import reads it back)."""

    output_field = TextField()
    template = "to_char(%(expressions)s AT TIME ZONE %%s, 'YYYY-MM-DD HH24:MI:SS')"

    def __init__(self, expression, zone: str):
        super().__init__(expression)
        self.zone = zone

    def as_sql(self, compiler, connection, **extra):
        sql, params = super().as_sql(compiler, connection, **extra)
        return sql, (*params, self.zone)


def export_columns(zone: str) -> list[Func]:
    cells = []
    for header in EXPORT_HEADERS:
        if header == "expires_at":
            cells.append(LocalTime(F("expires_at"), zone))
        elif header in ("static_ipv4", "nas_ip"):
            cells.append(Func(F(header), function="host", output_field=TextField()))
        else:
            cells.append(Cell(F(COLUMNS.get(header, header))))
    return cells


def iter_csv(queryset, tenant_id: int | None) -> Iterator[bytes]:
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(EXPORT_HEADERS)
    yield header.getvalue().encode()
    rows = queryset.order_by("pk").values_list(*export_columns(tenant_zone(tenant_id).key))
    select = connection.ops.compose_sql(*rows.query.sql_with_params())  # values quoted
    with (connection.cursor() as cursor,
          cursor.copy(f"COPY ({select}) TO STDOUT (FORMAT csv)") as copy):
        for block in copy:
            yield bytes(block)


def stream_csv(queryset, tenant_id: int | None, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(iter_csv(queryset, tenant_id), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def import_template(file_format: str) -> HttpResponse:
    data = tablib.Dataset(headers=TEMPLATE_HEADERS)
    data.append([EXAMPLE_ROW[h] for h in TEMPLATE_HEADERS])
    if file_format == "xlsx":
        content = data.export("xlsx")
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        out = io.StringIO()
        csv.writer(out).writerows([TEMPLATE_HEADERS, data[0]])
        content, kind, file_format = out.getvalue(), "text/csv", "csv"
    response = HttpResponse(content, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="subscribers-template.{file_format}"'
    return response
