"""Billing pages. Thin: documents are created and changed only through the services; every
state change is a POST (unfold dialogs or service forms) checked for permission and scope."""

from __future__ import annotations

from functools import wraps

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from unfold.decorators import action, display

from modules.billing import (
    cancellations,
    forms,
    invoicing,
    ledger,
    orchestration,
    payments,
    printing,
    subscriber_admin,
)
from modules.billing.models import (
    BillingSettings,
    CancellationRequest,
    CreditNote,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    OutboundMessage,
    Payment,
    PaymentGateway,
    Proforma,
    Wallet,
    WebhookEvent,
)
from modules.billing.money import BillingError
from modules.core.admin_base import Scope, ScopedModelAdmin, ScopedTabularInline
from modules.settings_hub.admin import TenantSettingsAdmin
from modules.subscribers.models import Subscriber
from modules.subscribers.paging import IdsFirstPaginator, page_from_request
from modules.subscribers.services import TransitionError

STATUS_COLORS = {
    "draft": "info",
    "issued": "warning",
    "partial": "warning",
    "paid": "success",
    "cancelled": "danger",
    "received": "success",
    "pending": "warning",
    "approved": "success",
    "rejected": "danger",
    "open": "info",
    "converted": "success",
}


def scoped_object(method):
    """Load the object through the scoped queryset first: outside scope is "not found"."""

    @wraps(method)
    def run(model_admin, request, *args, object_id=None, **kwargs):
        obj = model_admin.get_scoped_object_or_404(request, object_id)
        if not model_admin.has_view_permission(request, obj):
            raise PermissionDenied
        request._billing_object = obj
        return method(model_admin, request, *args, object_id=object_id, **kwargs)

    return run


def finish(request, url):
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def run_service(model_admin, request, operation, success: str, obj=None):
    obj = obj or request._billing_object
    try:
        result = operation(obj)
    except (BillingError, TransitionError, PermissionDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success.format(obj=obj, result=result))
    opts = model_admin.model._meta
    return finish(
        request, reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    )


def dialog(title, form_class, description="", submit=""):
    return {
        "title": title,
        "description": description,
        "form_class": form_class,
        "form_submit_text": submit or title,
    }


class ReadOnlyAdmin(ScopedModelAdmin):
    """Documents and ledger rows are never edited in a form. Lists grow to millions of rows:
    the count is capped and a page reads its ids first (no full COUNT, no deep OFFSET scan)."""

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        return IdsFirstPaginator(queryset, per_page, orphans=orphans,
                                 allow_empty_first_page=allow_empty_first_page,
                                 current_page=page_from_request(request))

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DocumentSearch:
    """Search a document list by exact number (or payment reference) or subscriber username,
    each through its (tenant, value) unique index: no OR across a join over millions of rows."""

    search_fields = ["=number", "=subscriber__username"]
    search_help_text = "Exact document number or subscriber username."
    extra_search_fields: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        tenant = getattr(request, "tenant", None)
        tenant_id = tenant.pk if tenant else getattr(request.user.organization, "tenant_id", None)
        # Ids first (one indexed lookup), so the OR below stays two index scans.
        subscribers = list(Subscriber.objects.filter(tenant_id=tenant_id, username=term)
                           .values_list("pk", flat=True))
        match = Q(tenant_id=tenant_id, number=term) | Q(subscriber_id__in=subscribers)
        for field in self.extra_search_fields:
            match |= Q(tenant_id=tenant_id, **{field: term})
        return queryset.filter(match), False


class Cancellable:
    """An issued invoice or a payment is undone only through the maker-checker queue."""

    def has_cancel_permission(self, request, object_id=None):
        return request.user.has_perm("billing.add_cancellationrequest") and self._has_scope(request)

    @scoped_object
    @action(
        description="Request cancellation",
        icon="block",
        permissions=["cancel"],
        dialog=dialog(
            "Request cancellation",
            forms.ReasonDialog,
            "Another user with the approve permission must approve it.",
        ),
    )
    def request_cancellation(self, request, form, object_id):
        return run_service(
            self,
            request,
            lambda document: cancellations.request_cancellation(
                document, actor=request.user, reason=form.cleaned_data["reason"]
            ),
            "Cancellation of {obj} requested.",
        )


class ServiceFormAdmin(ReadOnlyAdmin):
    """The add page is a service form: the service creates the document (or refuses clearly)."""

    service_form = None
    service_title = ""

    def has_add_permission(self, request, *args):
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.add_{opts.model_name}") and self._has_scope(
            request
        )

    def perform(self, request, form):
        raise NotImplementedError

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = self.service_form(request.user, data=request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    obj = self.perform(request, form)
            except (BillingError, TransitionError, PermissionDenied) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"{obj} recorded.")
                opts = self.model._meta
                return HttpResponseRedirect(
                    reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": self.service_title,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "billing/admin/service_form.html", context)


@admin.register(BillingSettings)
class BillingSettingsAdmin(TenantSettingsAdmin):
    fieldsets = (
        (
            "Invoicing",
            {
                "fields": (
                    "invoice_mode",
                    "bill_cycle_day",
                    "due_days",
                    "invoice_prefix",
                    "receipt_prefix",
                    "credit_note_prefix",
                    "proforma_prefix",
                    "number_reset",
                    "fiscal_year_start_month",
                )
            },
        ),
        (
            "Tax and rounding",
            {
                "fields": (
                    "tax_scheme",
                    "single_tax_name",
                    "prices_include_tax",
                    "tax_rounding",
                    "rounding",
                    "round_total_to_unit",
                    "default_hsn_sac",
                )
            },
        ),
        (
            "Wallet",
            {"fields": ("auto_apply_wallet", "allow_negative_balance", "subscriber_credit_limit")},
        ),
        (
            "Renewals",
            {
                "fields": (
                    "auto_renew",
                    "grace_days",
                    "expiry_time",
                    "proration",
                    "cycle",
                    "reminder_days",
                    "unpaid_access_mode",
                )
            },
        ),
        (
            "Collections",
            {
                "fields": (
                    "late_fee",
                    "late_fee_value",
                    "late_fee_after_days",
                    "suspend_overdue_after_days",
                )
            },
        ),
    )


class InvoiceLineInline(ScopedTabularInline):
    model = InvoiceLine
    extra = 0
    max_num = 0
    can_delete = False
    fields = [
        "description",
        "hsn_sac",
        "quantity",
        "unit_price",
        "taxable_value",
        "tax_rate",
        "tax_amount",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(Cancellable, DocumentSearch, ReadOnlyAdmin):
    list_display = [
        "number_label",
        "bill_to_name",
        "issue_date",
        "due_date",
        "total",
        "amount_paid",
        "status_label",
    ]
    list_filter = ["status", "reason"]
    list_select_related = []
    date_hierarchy = None
    inlines = [InvoiceLineInline]
    readonly_fields = ["tax_breakdown"]
    actions_detail = [
        "print_invoice",
        "download_pdf",
        "issue",
        "record_payment",
        "settle_from_wallet",
        "request_cancellation",
    ]

    @display(description="Number", ordering="-id")
    def number_label(self, obj):
        return str(obj)

    @display(description="Status", label=STATUS_COLORS)
    def status_label(self, obj):
        return obj.status, obj.get_status_display()

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/print/", wrap(self.print_view), name="billing_invoice_print"),
            path("<path:object_id>/pdf/", wrap(self.pdf_view), name="billing_invoice_pdf"),
            *super().get_urls(),
        ]

    def _document(self, request, object_id):
        obj = self.get_scoped_object_or_404(request, object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def print_view(self, request, object_id):
        return HttpResponse(printing.invoice_html(self._document(request, object_id)))

    def pdf_view(self, request, object_id):
        invoice = self._document(request, object_id)
        response = HttpResponse(printing.invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{printing.filename(invoice)}.pdf"'
        return response

    # Detail actions: links for reading, dialogs (POST) for changes.
    def has_collect_permission(self, request, object_id=None):
        return request.user.has_perm("billing.add_payment") and self._has_scope(request)

    def has_issue_permission(self, request, object_id=None):
        return request.user.has_perm("billing.add_invoice") and self._has_scope(request)

    @action(description="Print", icon="print", url_path="print-link")
    def print_invoice(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:billing_invoice_print", args=[object_id]))

    @action(description="PDF", icon="picture_as_pdf", url_path="pdf-link")
    def download_pdf(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:billing_invoice_pdf", args=[object_id]))

    @scoped_object
    @action(
        description="Issue",
        icon="send",
        permissions=["issue"],
        dialog=dialog(
            "Issue invoice", forms.ConfirmDialog, "Numbers the draft; it can no longer be edited."
        ),
    )
    def issue(self, request, form, object_id):
        return run_service(
            self,
            request,
            lambda inv: invoicing.issue_invoice(inv, actor=request.user),
            "Invoice {result} issued.",
        )

    @scoped_object
    @action(
        description="Record payment",
        icon="payments",
        permissions=["collect"],
        dialog=dialog("Record payment", forms.InvoicePaymentDialog, submit="Record"),
    )
    def record_payment(self, request, form, object_id):
        data = form.cleaned_data
        return run_service(
            self,
            request,
            lambda inv: payments.record_payment(
                inv.subscriber,
                data["amount"],
                actor=request.user,
                method=data["method"],
                reference=data["reference"],
                invoices=[inv],
            ),
            "Receipt {result} recorded.",
        )

    @scoped_object
    @action(
        description="Settle from wallet",
        icon="account_balance_wallet",
        permissions=["collect"],
        dialog=dialog(
            "Settle from wallet",
            forms.ConfirmDialog,
            "Applies the subscriber's advance balance (as far as it goes) to this invoice.",
            submit="Settle",
        ),
    )
    def settle_from_wallet(self, request, form, object_id):
        return run_service(
            self,
            request,
            lambda inv: invoicing.apply_advance(inv, actor=request.user),
            "{result} applied from the wallet to {obj}.",
        )


@admin.register(Payment)
class PaymentAdmin(Cancellable, DocumentSearch, ServiceFormAdmin):
    service_form = forms.RecordPaymentForm
    service_title = "Record payment"
    list_display = [
        "number",
        "bill_to_name",
        "received_at",
        "amount",
        "method",
        "reference",
        "status_label",
    ]
    list_filter = ["status", "method"]
    search_fields = ["=number", "=reference", "=subscriber__username"]
    search_help_text = "Exact receipt number, reference (cheque, UTR) or subscriber username."
    extra_search_fields = ("reference",)
    actions_detail = ["print_receipt", "request_cancellation"]

    @display(description="Status", label=STATUS_COLORS)
    def status_label(self, obj):
        return obj.status, obj.get_status_display()

    def perform(self, request, form):
        data = form.cleaned_data
        return payments.record_payment(
            data["subscriber"],
            data["amount"],
            actor=request.user,
            method=data["method"],
            reference=data["reference"],
            note=data["note"],
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/receipt/", wrap(self.receipt_view), name="billing_payment_receipt"
            ),
            *super().get_urls(),
        ]

    def receipt_view(self, request, object_id):
        payment = self.get_scoped_object_or_404(request, object_id)
        if not self.has_view_permission(request, payment):
            raise PermissionDenied
        return HttpResponse(printing.receipt_html(payment))

    @action(description="Receipt", icon="receipt", url_path="receipt-link")
    def print_receipt(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:billing_payment_receipt", args=[object_id]))


@admin.register(Proforma)
class ProformaAdmin(DocumentSearch, ServiceFormAdmin):
    service_form = forms.ProformaForm
    service_title = "New proforma"
    list_display = ["number", "bill_to_name", "plan", "total", "valid_until", "status_label"]
    list_filter = ["status", "purpose"]
    list_select_related = ["plan"]
    actions_detail = ["pay_and_convert"]

    @display(description="Status", label=STATUS_COLORS)
    def status_label(self, obj):
        return obj.status, obj.get_status_display()

    def perform(self, request, form):
        data = form.cleaned_data
        return invoicing.create_proforma(
            data["subscriber"], data["plan"], actor=request.user, purpose=data["purpose"]
        )

    def has_collect_permission(self, request, object_id=None):
        return request.user.has_perm("billing.add_payment") and self._has_scope(request)

    @scoped_object
    @action(
        description="Record payment and convert",
        icon="payments",
        permissions=["collect"],
        dialog=dialog(
            "Record payment and convert",
            forms.ProformaPaymentDialog,
            "Receives the proforma total and carries out the purchase.",
        ),
    )
    def pay_and_convert(self, request, form, object_id):
        data = form.cleaned_data

        @transaction.atomic
        def operation(proforma):
            payments.record_payment(
                proforma.subscriber,
                proforma.total,
                actor=request.user,
                method=data["method"],
                reference=data["reference"],
                auto_allocate=False,
            )
            return orchestration.convert_proforma(proforma, actor=request.user).invoice

        return run_service(self, request, operation, "Paid; invoice {result} issued.")


@admin.register(CreditNote)
class CreditNoteAdmin(DocumentSearch, ServiceFormAdmin):
    service_form = forms.CreditNoteForm
    service_title = "Issue credit note"
    list_display = ["number", "bill_to_name", "invoice", "amount", "reason", "created_at"]
    list_select_related = ["invoice"]

    def perform(self, request, form):
        data = form.cleaned_data
        return invoicing.issue_credit_note(
            data["subscriber"],
            data["amount"],
            actor=request.user,
            reason=data["reason"],
            invoice=data["invoice"],
        )


@admin.register(CancellationRequest)
class CancellationRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "reason",
        "requested_by",
        "requested_at",
        "status_label",
        "decided_by",
    ]
    list_filter = ["status"]
    list_select_related = ["invoice", "payment", "requested_by", "decided_by"]
    actions_detail = ["approve", "reject"]

    @display(description="Status", label=STATUS_COLORS)
    def status_label(self, obj):
        return obj.status, obj.get_status_display()

    def has_decide_permission(self, request, object_id=None):
        return request.user.has_perm(cancellations.APPROVE_PERMISSION) and self._has_scope(request)

    @scoped_object
    @action(
        description="Approve",
        icon="check",
        permissions=["decide"],
        dialog=dialog(
            "Approve cancellation",
            forms.NoteDialog,
            "The document is cancelled and its money reversed in the ledger.",
        ),
    )
    def approve(self, request, form, object_id):
        return run_service(
            self,
            request,
            lambda r: cancellations.approve_cancellation(
                r, actor=request.user, note=form.cleaned_data["note"]
            ),
            "Cancellation approved.",
        )

    @scoped_object
    @action(
        description="Reject",
        icon="close",
        permissions=["decide"],
        dialog=dialog("Reject cancellation", forms.RequiredNoteDialog),
    )
    def reject(self, request, form, object_id):
        return run_service(
            self,
            request,
            lambda r: cancellations.reject_cancellation(
                r, actor=request.user, note=form.cleaned_data["note"]
            ),
            "Cancellation rejected.",
        )


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "organization", "balance", "credit_limit", "currency"]
    list_select_related = ["subscriber", "owner_organization", "organization"]
    search_fields = ["=subscriber__username"]
    actions_detail = ["adjust"]

    def has_adjust_permission(self, request, object_id=None):
        return request.user.has_perm("billing.adjust_wallet") and self._has_scope(request)

    @scoped_object
    @action(
        description="Adjust balance",
        icon="tune",
        permissions=["adjust"],
        dialog=dialog(
            "Adjust balance", forms.AdjustmentDialog, "Posts an adjustment entry to the ledger."
        ),
    )
    def adjust(self, request, form, object_id):
        data = form.cleaned_data

        def operation(wallet):
            amount = data["amount"].strip()
            if amount.startswith("-"):
                return ledger.debit(wallet, amount[1:], actor=request.user, memo=data["memo"])
            return ledger.credit(wallet, amount, actor=request.user, memo=data["memo"])

        return run_service(self, request, operation, "Balance is now {obj.balance}.")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "wallet", "kind", "amount", "balance_after", "memo", "actor"]
    list_filter = ["kind"]
    list_select_related = ["wallet__subscriber", "wallet__owner_organization", "actor"]


@admin.register(PaymentGateway)
class PaymentGatewayAdmin(ScopedModelAdmin):
    scope_kind = Scope.TENANT
    scope_field = "tenant"
    list_display = ["name", "provider", "is_active", "webhook_url"]
    exclude = ["tenant"]

    @display(description="Webhook URL")
    def webhook_url(self, obj):
        return reverse("billing:webhook", args=[obj.pk]) if obj.pk else ""

    form = forms.PaymentGatewayForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change=change, **kwargs)
        tenant_id = request.user.organization.tenant_id if request.user.organization_id else None

        class TenantBoundForm(base):
            def _post_clean(self):
                if self.instance.tenant_id is None:
                    self.instance.tenant_id = tenant_id
                super()._post_clean()

        return TenantBoundForm


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    scope_kind = Scope.TENANT
    scope_field = "gateway__tenant"
    list_display = ["received_at", "gateway", "event_type", "event_id", "outcome"]
    list_select_related = ["gateway"]


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    scope_field = "subscriber__organization"
    list_display = ["created_at", "event", "channel", "recipient", "status", "attempts",
                    "sent_at", "last_error"]
    list_filter = ["event", "channel", "status"]


# The subscriber page's paid service actions go through billing (see subscriber_admin).
subscriber_admin.install()
