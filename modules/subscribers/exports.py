"""Streamed CSV export and the import template.

The admin export of django-import-export collects every primary key and the whole dataset in
memory; this export walks a server-side cursor and writes CSV as it goes, so a million rows
take constant memory. Cells are neutralised against spreadsheet formula injection and the
password column never leaves the database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import tablib
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from modules.plans.cells import neutralize
from modules.plans.services import tenant_zone
from modules.subscribers.resources import EXPORT_HEADERS, TEMPLATE_HEADERS

CHUNK_ROWS = 2000
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


class _Line:
    """A write-only buffer: csv.writer writes a row, we hand the text on."""

    def __init__(self):
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def iter_csv(queryset, tenant_id: int | None) -> Iterator[str]:
    zone = tenant_zone(tenant_id)
    fields = [COLUMNS.get(h, h) for h in EXPORT_HEADERS]
    expiry_at = EXPORT_HEADERS.index("expires_at")
    buffer = _Line()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADERS)
    yield buffer.take()
    rows = queryset.order_by("pk").values_list(*fields).iterator(chunk_size=CHUNK_ROWS)
    for count, values in enumerate(rows, 1):
        row = list(values)
        expiry = row[expiry_at]
        if expiry:
            row[expiry_at] = timezone.localtime(expiry, zone).strftime("%Y-%m-%d %H:%M:%S")
        writer.writerow([neutralize(value) if isinstance(value, str) else
                         ("" if value is None else value) for value in row])
        if count % CHUNK_ROWS == 0:
            yield buffer.take()
    yield buffer.take()


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
