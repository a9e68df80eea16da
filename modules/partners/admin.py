"""Partner pages (/partners/index). Thin: every write goes through the partner services; every
state change is a POST (forms or unfold dialogs) checked for permission and scope."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from unfold.decorators import action, display

from modules.billing.admin import (
    ReadOnlyAdmin,
    ServiceFormAdmin,
    dialog,
    run_service,
    scoped_object,
)
from modules.billing.money import BillingError
from modules.core import scope
from modules.core.admin_base import Scope, ScopedModelAdmin, ScopedTabularInline
from modules.partners import forms, network_access, profiles, selectors, services
from modules.partners.models import (
    Commission,
    CommissionTemplate,
    Partner,
    PartnerNotice,
    PartnerWallet,
    PlanShare,
    Settlement,
    TopUpRequest,
)
from modules.partners.profiles import parent_of

STATUS_COLORS = {"active": "success", "suspended": "warning", "closed": "danger",
                 "pending": "warning", "approved": "success", "rejected": "danger",
                 "requested": "warning", "paid": "success"}


def with_user(form_class, user):
    """The admin's form class, constructed with the acting user (its checks need the actor)."""

    class UserForm(form_class):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("user", user)
            super().__init__(*args, **kwargs)

    return UserForm


@admin.register(Partner)
class PartnerAdmin(ScopedModelAdmin):
    form = forms.PartnerForm
    list_display = ["__str__", "partner_type", "parent", "status_label", "contact_phone",
                    "balance", "low_balance"]
    list_filter = ["partner_type", "status"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "organization__code", "contact_phone", "tax_number"]
    actions_list = ["my_dashboard"]
    actions_detail = ["open_dashboard", "open_network_access"]
    fieldsets = [
        ("Partner", {"fields": ["parent", "name", "code", ("partner_type", "status")]}),
        ("Business profile", {"fields": [("contact_name", "contact_phone", "contact_email"),
                                         ("tax_number", "billing_state"), "address"]}),
        ("Wallet and commission", {"fields": [("credit_limit", "low_balance_threshold"),
                                              ("default_commission_rate", "commission_template")]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.organization_id == request.user.organization_id:
            return ["status", "credit_limit", "default_commission_rate", "commission_template"]
        return []

    def get_fieldsets(self, request, obj=None):
        sets = [list(s) for s in self.fieldsets]
        if obj is not None:
            sets[0] = ("Partner", {"fields": [("partner_type", "status")]})
        return sets

    def get_form(self, request, obj=None, change=False, **kwargs):
        return with_user(super().get_form(request, obj, change=change, **kwargs), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "commission_template":
            kwargs["queryset"] = scope.restrict_to_tenant(CommissionTemplate.objects.all(),
                                                          request.user, "tenant")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @display(description="Parent")
    def parent(self, obj):
        parent = parent_of(obj.organization)
        return parent.name if parent else "-"

    @display(description="Status", label=STATUS_COLORS)
    def status_label(self, obj):
        return obj.status, obj.get_status_display()

    @display(description="Wallet balance")
    def balance(self, obj):
        wallet = getattr(obj.organization, "wallet", None)
        return wallet.balance if wallet else 0

    @display(description="Low balance", boolean=True)
    def low_balance(self, obj):
        return obj.low_balance_since is not None

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization__wallet")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = form.changed_data if change else data
        profile = {k: data[k] for k in profiles.PROFILE_FIELDS if k in fields and k in data}
        try:
            if change:
                saved = services.update_partner(obj, actor=request.user, **profile)
            else:
                saved = services.create_partner(actor=request.user, parent=data["parent"],
                                                name=data["name"], code=data["code"], **profile)
        except (BillingError, PermissionDenied) as exc:
            raise PermissionDenied(str(exc)) from exc
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if k != "_state"})
        obj._state.adding = False

    def has_delete_permission(self, request, obj=None):
        return False  # partners are closed (status), never deleted: their money history stays

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("dashboard/", wrap(self.dashboard_view), name="partners_partner_dashboard"),
                path("<path:object_id>/dashboard/", wrap(self.dashboard_view),
                     name="partners_partner_org_dashboard"),
                path("<path:object_id>/network/", wrap(self.network_view),
                     name="partners_partner_network"),
                *super().get_urls()]

    def dashboard_view(self, request, object_id=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if object_id is not None:
            org = self.get_scoped_object_or_404(request, object_id).organization
        elif request.user.organization_id:
            org = request.user.organization
        else:
            raise Http404("Not found.")
        board = selectors.dashboard(org)
        recent = selectors.statement(board.wallet, limit=10) if board.wallet else None
        context = {**self.admin_site.each_context(request), "title": f"{org.name}: dashboard",
                   "board": board, "opts": self.model._meta, "statement": recent}
        return TemplateResponse(request, "partners/admin/dashboard.html", context)

    def network_view(self, request, object_id):
        """NAS devices and pools above the partner: grant or revoke its use (POST only)."""
        partner = self.get_scoped_object_or_404(request, object_id)
        org = partner.organization
        if (not self.has_change_permission(request, partner)
                or request.user.organization_id == org.pk):
            raise PermissionDenied
        url = reverse("admin:partners_partner_network", args=[partner.pk])
        if request.method == "POST":
            kind, op = request.POST.get("kind"), request.POST.get("op")
            found = network_access.grantable(request.user, org).get(kind)
            if found is None or op not in ("grant", "revoke"):
                raise Http404("Not found.")
            obj = next((o for o, _ in found if str(o.pk) == request.POST.get("object_id")), None)
            if obj is None:
                raise Http404("Not found.")
            if not request.user.has_perm(f"networking.change_{kind}"):
                raise PermissionDenied
            run = network_access.grant if op == "grant" else network_access.revoke
            try:
                run(obj, org, actor=request.user)
            except (BillingError, PermissionDenied) as exc:
                messages.error(request, str(exc))
            else:
                done = "may now use" if op == "grant" else "may no longer use"
                messages.success(request, f"{org.name} {done} {obj}.")
            return HttpResponseRedirect(url)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": f"{org.name}: network access", "partner": partner,
                   "grantable": network_access.grantable(request.user, org)}
        return TemplateResponse(request, "partners/admin/network_access.html", context)

    @action(description="Network access", icon="router", url_path="network-link")
    def open_network_access(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:partners_partner_network", args=[object_id]))

    @action(description="My dashboard", icon="dashboard", url_path="my-dashboard")
    def my_dashboard(self, request):
        return HttpResponseRedirect(reverse("admin:partners_partner_dashboard"))

    @action(description="Dashboard", icon="dashboard", url_path="dashboard-link")
    def open_dashboard(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:partners_partner_org_dashboard",
                                            args=[object_id]))


@admin.register(PartnerWallet)
class PartnerWalletAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "balance", "credit_limit", "low_balance_alert", "currency"]
    list_select_related = ["owner_organization"]
    search_fields = ["owner_organization__name", "owner_organization__code"]
    actions_detail = ["recharge", "open_statement"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(owner_organization__isnull=False)

    def has_recharge_permission(self, request, object_id=None):
        return request.user.has_perm("partners.add_topuprequest") and self._has_scope(request)

    @scoped_object
    @action(description="Recharge", icon="add_card", permissions=["recharge"],
            dialog=dialog("Recharge wallet", forms.AmountDialog,
                          "The parent's wallet pays, unless the parent is the ISP."))
    def recharge(self, request, form, object_id):
        data = form.cleaned_data
        return run_service(self, request, lambda w: services.recharge(
            w.owner_organization, data["amount"].strip(), actor=request.user,
            memo=data["memo"]), "Recharged {obj}.")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("<path:object_id>/statement/", wrap(self.statement_view),
                     name="partners_partnerwallet_statement"), *super().get_urls()]

    def statement_view(self, request, object_id):
        wallet = self.get_scoped_object_or_404(request, object_id)
        if not self.has_view_permission(request, wallet):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": f"Statement: {wallet}", "statement": selectors.statement(wallet)}
        return TemplateResponse(request, "partners/admin/statement.html", context)

    @action(description="Statement", icon="receipt_long", url_path="statement-link")
    def open_statement(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:partners_partnerwallet_statement",
                                            args=[object_id]))


@admin.register(TopUpRequest)
class TopUpRequestAdmin(ServiceFormAdmin):
    service_form = forms.TopUpForm
    service_title = "Request a top-up"
    list_display = ["organization", "amount", "requested_by", "requested_at", "status_label",
                    "decided_by"]
    list_filter = ["status"]
    list_select_related = ["organization", "requested_by", "decided_by"]
    search_fields = ["organization__name", "organization__code"]
    actions_detail = ["approve", "reject"]

    @display(description="Status", label=STATUS_COLORS)
    def status_label(self, obj):
        return obj.status, obj.get_status_display()

    def perform(self, request, form):
        data = form.cleaned_data
        return services.request_topup(data["organization"], data["amount"].strip(),
                                      actor=request.user, note=data["note"])

    def has_decide_permission(self, request, object_id=None):
        return request.user.has_perm("partners.change_topuprequest") and self._has_scope(request)

    @scoped_object
    @action(description="Approve", icon="check", permissions=["decide"],
            dialog=dialog("Approve top-up", forms.NoteDialog,
                          "The parent recharges the partner's wallet by this amount."))
    def approve(self, request, form, object_id):
        return run_service(self, request, lambda r: services.approve_topup(
            r, actor=request.user, note=form.cleaned_data["note"]), "Top-up approved.")

    @scoped_object
    @action(description="Reject", icon="close", permissions=["decide"],
            dialog=dialog("Reject top-up", forms.RequiredNoteDialog))
    def reject(self, request, form, object_id):
        return run_service(self, request, lambda r: services.reject_topup(
            r, actor=request.user, note=form.cleaned_data["note"]), "Top-up rejected.")


@admin.register(PlanShare)
class PlanShareAdmin(ScopedModelAdmin):
    form = forms.PlanShareForm
    list_display = ["plan", "organization", "partner_price", "selling_price", "commission"]
    list_filter = ["organization"]
    list_select_related = ["plan", "organization"]
    search_fields = ["plan__name", "plan__code", "organization__name"]

    @display(description="Commission rule")
    def commission(self, obj):
        if not obj.commission_type:
            return "template / default"
        return f"{obj.commission_value}{'%' if obj.commission_type == 'percent' else ' flat'}"

    def get_readonly_fields(self, request, obj=None):
        return ["plan", "organization"] if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        return with_user(super().get_form(request, obj, change=change, **kwargs), request.user)

    def _may_share(self, request, obj) -> bool:
        if obj is None:
            return True
        org = obj.organization
        return (org.depth > 1 and scope.in_scope(request.user, parent_of(org))
                and request.user.organization_id != org.pk)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_share(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_share(request, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        plan = obj.plan if change else data["plan"]
        org = obj.organization if change else data["organization"]
        try:
            saved = services.share_plan(
                plan, org, actor=request.user, partner_price=data["partner_price"].strip(),
                selling_price=data["selling_price"].strip(),
                commission_type=data.get("commission_type") or "",
                commission_value=(data.get("commission_value") or "").strip() or None)
        except (BillingError, PermissionDenied) as exc:
            raise PermissionDenied(str(exc)) from exc
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if k != "_state"})
        obj._state.adding = False

    def delete_model(self, request, obj):
        try:
            services.unshare_plan(obj, actor=request.user)
        except BillingError as exc:
            raise PermissionDenied(str(exc)) from exc


@admin.register(CommissionTemplate)
class CommissionTemplateAdmin(ScopedModelAdmin):
    scope_kind = Scope.TENANT
    scope_field = "tenant"
    list_display = ["name", "commission_type", "value", "description"]
    search_fields = ["name"]
    exclude = ["tenant"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.tenant_id = request.user.tenant_id
        super().save_model(request, obj, form, change)


@admin.register(Commission)
class CommissionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "payment", "level", "basis", "rule", "amount",
                    "reversed_label", "settlement"]
    list_filter = ["level"]
    list_select_related = ["organization", "payment", "settlement", "reversal_entry"]
    search_fields = ["=payment__number"]

    @display(description="Reversed", boolean=True)
    def reversed_label(self, obj):
        return obj.reversed


class CommissionTraceInline(ScopedTabularInline):
    model = Commission
    fk_name = "settlement"
    extra = 0
    can_delete = False
    fields = ["payment", "level", "rule", "amount", "created_at"]
    readonly_fields = fields
    verbose_name_plural = "Commissions settled by this payout"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Settlement)
class SettlementAdmin(ServiceFormAdmin):
    service_form = forms.SettlementForm
    service_title = "Request or record a payout"
    list_display = ["__str__", "organization", "amount", "method", "reference", "status_label",
                    "requested_at", "paid_at"]
    list_filter = ["status", "method"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "=reference"]
    inlines = [CommissionTraceInline]
    actions_detail = ["pay", "reject"]

    @display(description="Status", label=STATUS_COLORS)
    def status_label(self, obj):
        return obj.status, obj.get_status_display()

    def perform(self, request, form):
        data = form.cleaned_data
        if data["reference"].strip():
            return services.start_payout(data["organization"], data["amount"].strip(),
                                         actor=request.user, method=data["method"],
                                         reference=data["reference"], note=data["note"])
        return services.request_settlement(data["organization"], data["amount"].strip(),
                                           actor=request.user, method=data["method"],
                                           note=data["note"])

    def has_pay_permission(self, request, object_id=None):
        return request.user.has_perm("partners.change_settlement") and self._has_scope(request)

    @scoped_object
    @action(description="Record payout", icon="payments", permissions=["pay"],
            dialog=dialog("Record payout", forms.PayoutDialog,
                          "Debits the partner's wallet and records the payout reference."))
    def pay(self, request, form, object_id):
        data = form.cleaned_data
        return run_service(self, request, lambda s: services.pay_settlement(
            s, actor=request.user, reference=data["reference"], method=data["method"]),
            "Payout recorded.")

    @scoped_object
    @action(description="Reject", icon="close", permissions=["pay"],
            dialog=dialog("Reject settlement", forms.RequiredNoteDialog))
    def reject(self, request, form, object_id):
        return run_service(self, request, lambda s: services.reject_settlement(
            s, actor=request.user, note=form.cleaned_data["note"]), "Settlement rejected.")


@admin.register(PartnerNotice)
class PartnerNoticeAdmin(ReadOnlyAdmin):
    """Notices queued to partners' contacts (low-balance alerts); delivery reads the outbox."""

    scope_field = "partner__organization"
    list_display = ["created_at", "partner", "event", "channel", "recipient", "status", "attempts",
                    "sent_at", "last_error"]
    list_filter = ["event", "channel", "status"]
    list_select_related = ["partner__organization"]
