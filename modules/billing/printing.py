"""Printable invoices and receipts: one HTML template serves the print view and the PDF.

PDF by xhtml2pdf (pure Python on top of ReportLab, installs from PyPI with no system libraries,
renders the same HTML/CSS subset we print), so the PDF and the print view never disagree.
"""

from __future__ import annotations

import io

from django.template.loader import render_to_string
from xhtml2pdf import pisa

from modules.billing.money import BillingError
from modules.settings_hub.selectors import general_settings


def _company(document):
    return general_settings(document.tenant)


def invoice_context(invoice) -> dict:
    lines = list(invoice.lines.prefetch_related("taxes"))
    return {
        "invoice": invoice,
        "lines": lines,
        "company": _company(invoice),
        "breakdown": invoice.tax_breakdown,
        "copy": invoice.status == invoice.Status.DRAFT,
    }


def invoice_html(invoice) -> str:
    return render_to_string("billing/invoice.html", invoice_context(invoice))


def invoice_pdf(invoice) -> bytes:
    buffer = io.BytesIO()
    result = pisa.CreatePDF(invoice_html(invoice), dest=buffer, encoding="utf-8")
    if result.err:
        raise BillingError("The PDF could not be rendered.")
    return buffer.getvalue()


def receipt_html(payment) -> str:
    allocations = list(payment.allocations.filter(reversed=False).select_related("invoice"))
    return render_to_string(
        "billing/receipt.html",
        {"payment": payment, "allocations": allocations, "company": _company(payment)},
    )


def filename(document) -> str:
    return (document.number or f"draft-{document.pk}").replace("/", "-")
