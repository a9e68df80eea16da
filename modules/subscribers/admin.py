"""Subscriber pages: the daily lists, the profile with its tabs, and the service actions.

Thin: every change goes through `services`; every action is a POST (unfold dialogs or the
changelist's action form), permission-checked by the decorator and scope-checked here by
loading the object through the scoped queryset (out of scope answers "not found").
"""

from __future__ import annotations

from functools import lru_cache, wraps

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from import_export.admin import ImportExportModelAdmin
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.admin import checkbox as unfold_checkbox
from unfold.contrib.import_export.forms import ExportForm, ImportForm
from unfold.decorators import action, display
from unfold.utils import display_for_label
from unfold.views import ChangeList

from modules.core.admin_base import ScopedModelAdmin, ScopedTabularInline
from modules.plans.models import Plan
from modules.plans.selectors import sellable_plans
from modules.subscribers import exports, forms, page_tabs, selectors, services
from modules.subscribers.filters import AreaFilter, DailyListFilter, NasFilter, PlanFilter
from modules.subscribers.models import KycDocument, StatusChange, Subscriber, SubscriberAddon
from modules.subscribers.paging import (
    IdsFirstPaginator,
    IndexOrderedChangeListMixin,
    page_from_request,
)
from modules.subscribers.resources import SubscriberResource
from modules.subscribers.settings import import_max_bytes

BULK_LIMIT = 1000
STATUS_COLORS = {"new": "info", "active": "success", "limited": "warning", "suspended": "danger",
                 "expired": "warning", "terminated": "danger"}


class SubscriberChangeList(IndexOrderedChangeListMixin, ChangeList):
    pass


_PK_SLOT = "__row_pk__"


@lru_cache(maxsize=1)
def _row_checkbox() -> str:
    """unfold's row checkbox as a `format_html` template with a `{pk}` slot."""
    html = unfold_checkbox.render(helpers.ACTION_CHECKBOX_NAME, _PK_SLOT)
    return html.replace("{", "{{").replace("}", "}}").replace(_PK_SLOT, "{pk}")


@lru_cache(maxsize=32)
def _status_label(status: str, text: str) -> str:
    return display_for_label((status, text), "-", STATUS_COLORS)


def scoped_object(admin_method):
    """Resolve the object through the scoped queryset before anything else (404 outside)."""

    @wraps(admin_method)
    def run(model_admin, request, *args, object_id=None, **kwargs):
        obj = model_admin.get_scoped_object_or_404(request, object_id)
        if not model_admin.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        request._service_object = obj
        return admin_method(model_admin, request, *args, object_id=object_id, **kwargs)

    return run


def finish(request, url):
    """After a dialog POST: htmx follows `HX-Redirect`; a plain POST gets a redirect."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def run_service(model_admin, request, object_id, operation, success: str):
    obj = request._service_object
    try:
        operation(obj)
    except (services.TransitionError, PermissionDenied) as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success.format(obj=obj))
    opts = model_admin.model._meta
    return finish(request, reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                   args=[obj.pk]))


def dialog(title, form_class, description="", submit=""):
    return {"title": title, "description": description, "form_class": form_class,
            "form_submit_text": submit or title}


class DocumentInline(ScopedTabularInline):
    model = KycDocument
    extra = 0
    tab = True
    fields = ["doc_type", "number", "file", "status", "note", "reviewed_by", "reviewed_at"]
    readonly_fields = ["status", "note", "reviewed_by", "reviewed_at"]
    verbose_name_plural = "Documents"


class StatusHistoryInline(ScopedTabularInline):
    model = StatusChange
    extra = 0
    tab = True
    max_num = 0
    can_delete = False
    fields = ["created_at", "action", "from_status", "to_status", "reason", "actor"]
    readonly_fields = fields
    verbose_name_plural = "Status history"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AddonInline(ScopedTabularInline):
    model = SubscriberAddon
    extra = 0
    tab = True
    max_num = 0
    can_delete = False
    fields = ["plan", "kind", "quota_mb", "download_kbps", "starts_at", "expires_at", "actor"]
    readonly_fields = fields
    verbose_name_plural = "Add-ons and top-ups"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Subscriber)
class SubscriberAdmin(ScopedModelAdmin, ImportExportModelAdmin):
    form = forms.SubscriberForm
    import_form_class = ImportForm
    export_form_class = ExportForm
    resource_classes = [SubscriberResource]
    change_list_template = "admin/subscribers/subscriber/change_list.html"  # rows: listing.py
    list_display = ["username", "name", "mobile", "plan", "organization", "status_cell",
                    "expires_at"]
    list_select_related = ["plan", "organization"]
    list_filter = [DailyListFilter, "status", PlanFilter, "organization", "connection_type",
                   AreaFilter, NasFilter]
    list_filter_submit = True
    show_facets = admin.ShowFacets.NEVER
    search_fields = ["username"]  # the real lookup is chosen by get_search_results
    search_help_text = "Username, name, mobile, email, MAC or IP address."
    sortable_by = ["username", "expires_at", "created_at"]
    ordering = ["-created_at", "-id"]
    inlines = [DocumentInline, StatusHistoryInline, AddonInline]
    actions = ["suspend_selected", "extend_selected", "move_selected"]
    actions_detail = ["activate", "renew", "change_plan", "add_plan_item", "suspend", "resume",
                      "terminate", "extend_validity", "reset_mac", "reset_password",
                      "move_to_organization", "reveal_password"]
    actions_row = ["renew", "suspend", "resume", "extend_validity"]
    actions_list = ["download_template", "export_csv"]

    # Lists at a million rows -------------------------------------------------------------
    def scope_queryset(self, request, qs):
        return selectors.visible_to(qs, request.user)

    def get_inlines(self, request, obj):
        return [*self.inlines, *page_tabs.registered_tabs()]

    def get_changelist(self, request, **kwargs):
        return SubscriberChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        return IdsFirstPaginator(queryset, per_page, orphans=orphans,
                                 allow_empty_first_page=allow_empty_first_page,
                                 current_page=page_from_request(request))

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return selectors.search(queryset, search_term, forms.region_of(request.user)), False

    # Per-row cells rendered once per distinct value: unfold renders a template for each
    # row's checkbox and badge, a large part of a 50-row page's time.
    @display(description=UnfoldModelAdmin.action_checkbox.short_description)
    def action_checkbox(self, obj):
        return format_html(_row_checkbox(), pk=obj.pk)

    @display(description="Status", ordering="status")
    def status_cell(self, obj):
        return _status_label(obj.status, obj.get_status_display())

    @display(description="Status", ordering="status", label=STATUS_COLORS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    # The profile -------------------------------------------------------------------------
    def get_fieldsets(self, request, obj=None):
        identity = ("Identity", {"classes": ["tab"], "fields": [
            "name", ("mobile", "email"), "address", ("area", "city"), ("state", "pincode"),
            "tax_number"]})
        connection = ("Connection", {"classes": ["tab"], "fields": [
            "connection_type", ("mac_address", "bind_mac_on_first_login"),
            ("ip_pool_name", "static_ipv4"), "ipv6_prefix", "nas_ip", "cpe"]})
        if obj is None:
            return [("Account", {"classes": ["tab"], "fields": [
                "organization", "username", "password", "plan", "auto_renew"]}),
                identity, connection]
        return [
            ("Overview", {"classes": ["tab"], "fields": [
                ("username", "status_badge"), ("organization", "plan"),
                ("activated_at", "expires_at"), "available_actions"]}),
            identity,
            ("Service", {"classes": ["tab"], "fields": [
                "auto_renew", "simultaneous_use",
                ("speed_override_down_kbps", "speed_override_up_kbps"), "notes"]}),
            connection,
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["username", "organization", "plan", "status_badge", "activated_at",
                "expires_at", "available_actions"]

    @display(description="Next steps")
    def available_actions(self, obj):
        allowed = sorted(a.replace("_", " ") for a in services.allowed_actions(obj))
        return ", ".join(allowed) or "None: the subscriber is terminated."

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "plan":
            kwargs["queryset"] = sellable_plans(request.user).filter(
                plan_type=Plan.Type.BROADBAND)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        data = {k: v for k, v in form.cleaned_data.items()
                if k not in ("organization", "username", "password", "name", "plan")}
        created = services.create_subscriber(
            actor=request.user, organization=form.cleaned_data["organization"],
            username=form.cleaned_data["username"], password=form.cleaned_data["password"],
            name=form.cleaned_data["name"], plan=form.cleaned_data.get("plan"), **data)
        obj.pk, obj.tenant_id, obj.status = created.pk, created.tenant_id, created.status
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        # New KYC documents always start pending; review goes through verify/reject.
        for document in formset.save(commit=False):
            if isinstance(document, KycDocument) and document.pk is None:
                document.status = KycDocument.Status.PENDING
            document.save()
        for document in formset.deleted_objects:
            document.delete()

    # Service actions (detail and row dialogs) ---------------------------------------------
    # Unfold passes no object to these checks; `scoped_object` has already checked the object.
    def has_service_permission(self, request, object_id=None):
        return request.user.has_perm("subscribers.change_subscriber") and self._has_scope(request)

    def has_reveal_permission(self, request, object_id=None):
        return request.user.has_perm("subscribers.reveal_password") and self._has_scope(request)

    @scoped_object
    @action(description="Activate", icon="play_arrow", permissions=["service"],
            dialog=dialog("Activate", forms.ReasonDialog, "Validity starts now, from the plan."))
    def activate(self, request, form, object_id):
        return run_service(self, request, object_id, lambda s: services.activate(
            s, actor=request.user, reason=form.cleaned_data["reason"]), "{obj} is active.")

    @scoped_object
    @action(description="Renew", icon="autorenew", permissions=["service"],
            dialog=dialog("Renew", forms.RenewDialog,
                          "One more validity period from the current expiry (or from now)."))
    def renew(self, request, form, object_id):
        return run_service(self, request, object_id, lambda s: services.renew(
            s, actor=request.user, plan=form.cleaned_data["plan"],
            reason=form.cleaned_data["reason"]), "{obj} renewed until {obj.expires_at:%d %b %Y}.")

    @scoped_object
    @action(description="Change plan", icon="swap_horiz", permissions=["service"],
            dialog=dialog("Change plan", forms.ChangePlanDialog,
                          "A running service restarts its validity on the new plan."))
    def change_plan(self, request, form, object_id):
        return run_service(self, request, object_id, lambda s: services.change_plan(
            s, form.cleaned_data["plan"], actor=request.user,
            reason=form.cleaned_data["reason"]), "{obj} is now on {obj.plan}.")

    @scoped_object
    @action(description="Add top-up / booster / add-on", icon="add_circle", permissions=["service"],
            dialog=dialog("Add top-up, booster or add-on", forms.AddItemDialog, submit="Add"))
    def add_plan_item(self, request, form, object_id):
        return run_service(self, request, object_id, lambda s: services.add_plan_item(
            s, form.cleaned_data["plan"], actor=request.user), "Added to {obj}.")

    @scoped_object
    @action(description="Suspend", icon="pause", permissions=["service"],
            dialog=dialog("Suspend", forms.RequiredReasonDialog,
                          "Logins are refused and live sessions disconnected."))
    def suspend(self, request, form, object_id):
        return run_service(self, request, object_id, lambda s: services.suspend(
            s, actor=request.user, reason=form.cleaned_data["reason"]), "{obj} is suspended.")

    @scoped_object
    @action(description="Resume", icon="play_circle", permissions=["service"],
            dialog=dialog("Resume", forms.ReasonDialog))
    def resume(self, request, form, object_id):
        return run_service(self, request, object_id, lambda s: services.resume(
            s, actor=request.user, reason=form.cleaned_data["reason"]), "{obj} is resumed.")

    @scoped_object
    @action(description="Terminate", icon="block", permissions=["service"],
            dialog=dialog("Terminate", forms.RequiredReasonDialog,
                          "Final: the account cannot be used again."))
    def terminate(self, request, form, object_id):
        return run_service(self, request, object_id, lambda s: services.terminate(
            s, actor=request.user, reason=form.cleaned_data["reason"]), "{obj} is terminated.")

    @scoped_object
    @action(description="Extend validity", icon="event", permissions=["service"],
            dialog=dialog("Extend validity", forms.ExtendDialog, submit="Extend"))
    def extend_validity(self, request, form, object_id):
        return run_service(self, request, object_id, lambda s: services.extend_validity(
            s, actor=request.user, days=form.cleaned_data["days"],
            reason=form.cleaned_data["reason"]), "{obj} now expires {obj.expires_at:%d %b %Y}.")

    @scoped_object
    @action(description="Reset MAC", icon="link_off", permissions=["service"],
            dialog=dialog("Reset MAC", forms.ConfirmDialog,
                          "The bound MAC is cleared; the next device may log in.", "Reset"))
    def reset_mac(self, request, form, object_id):
        return run_service(self, request, object_id, lambda s: services.reset_mac(
            s, actor=request.user), "The MAC of {obj} is cleared.")

    @scoped_object
    @action(description="Reset password", icon="password", permissions=["service"],
            dialog=dialog("Reset password", forms.ResetPasswordDialog, submit="Reset"))
    def reset_password(self, request, form, object_id):
        obj = request._service_object
        try:
            password = services.reset_password(
                obj, actor=request.user, new_password=form.cleaned_data["new_password"] or None)
        except (services.TransitionError, ValidationError) as exc:
            messages.error(request, getattr(exc, "messages", [str(exc)])[0])
            return run_service(self, request, object_id, lambda s: None, "")
        return render(request, "admin/subscribers/secret.html", {
            "title": f"New password of {obj.username}", "secret": password})

    @scoped_object
    @action(description="Move to organization", icon="move_down", permissions=["service"],
            dialog=dialog("Move to another organization", forms.MoveDialog, submit="Move"))
    def move_to_organization(self, request, form, object_id):
        return run_service(self, request, object_id, lambda s: services.move_to_organization(
            s, form.cleaned_data["organization"], actor=request.user,
            reason=form.cleaned_data["reason"]), "{obj} now belongs to {obj.organization}.")

    @scoped_object
    @action(description="Reveal password", icon="visibility",
            permissions=["reveal"],
            dialog=dialog("Reveal password", forms.RevealDialog, submit="Reveal"))
    def reveal_password(self, request, form, object_id):
        obj = request._service_object
        password = services.reveal_password(obj, actor=request.user,
                                            reason=form.cleaned_data["reason"])
        return render(request, "admin/subscribers/secret.html", {
            "title": f"Password of {obj.username}", "secret": password})

    # Bulk actions on a selection ---------------------------------------------------------
    def _bulk(self, request, queryset, form_class, title, operation, **form_kwargs):
        if queryset.count() > BULK_LIMIT:
            self.message_user(request, f"Select at most {BULK_LIMIT} subscribers at a time.",
                              messages.ERROR)
            return None
        form = form_class(request.POST if "apply" in request.POST else None, **form_kwargs)
        if form.is_bound and form.is_valid():
            done, refused = services.run_bulk(
                queryset.select_related("organization", "plan"),
                lambda s, actor: operation(s, actor, form.cleaned_data), actor=request.user)
            self.message_user(request, f"{title}: {done} done.", messages.SUCCESS)
            for line in refused[:20]:
                self.message_user(request, line, messages.WARNING)
            return None
        return TemplateResponse(request, "admin/subscribers/bulk_action.html", {
            **self.admin_site.each_context(request), "title": title, "form": form,
            "queryset": queryset[:20], "count": queryset.count(), "opts": self.model._meta,
            "action": request.POST.get("action"), "ids": request.POST.getlist("_selected_action"),
            "select_across": request.POST.get("select_across", "0"),
        })

    @admin.action(description="Suspend selected subscribers", permissions=["change"])
    def suspend_selected(self, request, queryset):
        return self._bulk(request, queryset, forms.BulkSuspendForm, "Suspend",
                          lambda s, actor, data: services.suspend(s, actor=actor,
                                                                  reason=data["reason"]))

    @admin.action(description="Extend validity of selected subscribers", permissions=["change"])
    def extend_selected(self, request, queryset):
        return self._bulk(request, queryset, forms.BulkExtendForm, "Extend validity",
                          lambda s, actor, data: services.extend_validity(
                              s, actor=actor, days=data["days"], reason=data["reason"]))

    @admin.action(description="Move selected subscribers", permissions=["change"])
    def move_selected(self, request, queryset):
        return self._bulk(request, queryset, forms.BulkMoveForm, "Move",
                          lambda s, actor, data: services.move_to_organization(
                              s, data["organization"], actor=actor, reason=data["reason"]),
                          user=request.user)

    # Import template and streamed export -------------------------------------------------
    @action(description="Import template", icon="download",
            permissions=["import"])
    def download_template(self, request):
        return exports.import_template(request.GET.get("format", "csv"))

    @action(description="Export CSV (all matching)", icon="file_export",
            permissions=["export"])
    def export_csv(self, request):
        if not (self.has_export_permission(request) and self.has_view_permission(request)):
            raise PermissionDenied
        queryset = self.get_export_queryset(request)
        tenant_id = request.user.organization.tenant_id if request.user.organization_id else None
        return exports.stream_csv(queryset, tenant_id, "subscribers.csv")

    def get_export_queryset(self, request):
        """The changelist's filters and search, applied to the scoped queryset, without paging."""
        params = request.GET.copy()
        for key in ("format", "p", "o"):
            params.pop(key, None)
        queryset = self.get_queryset(request)
        daily = params.get("list")
        if daily:
            queryset = selectors.daily_list(queryset, daily)
        for field in ("status", "connection_type"):
            if params.get(f"{field}__exact"):
                queryset = queryset.filter(**{field: params[f"{field}__exact"]})
        if params.get("plan", "").isdigit():
            queryset = queryset.filter(plan_id=params["plan"])
        if params.get("organization__id__exact", "").isdigit():
            queryset = queryset.filter(organization_id=params["organization__id__exact"])
        if params.get("q"):
            queryset = selectors.search(queryset, params["q"], forms.region_of(request.user))
        return queryset

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "user": request.user}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), "user": request.user}

    def get_import_data_kwargs(self, **kwargs):
        # Confirm imports everything or nothing, validation errors included.
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}

    def import_action(self, request, **kwargs):
        upload = request.FILES.get("import_file")
        if request.method == "POST" and upload is not None and upload.size > import_max_bytes():
            limit = import_max_bytes() // (1024 * 1024)
            self.message_user(request, f"The file is {upload.size // (1024 * 1024)} MB; the "
                              f"limit is {limit} MB. Split it into smaller files.",
                              messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().import_action(request, **kwargs)

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            self.message_user(request, "Nothing was imported: the file no longer passes the "
                              "checks. Run the preview again.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:subscribers_subscriber_import"))
        return super().process_result(result, request)


@admin.register(KycDocument)
class KycDocumentAdmin(ScopedModelAdmin):
    scope_field = "subscriber__organization"
    list_display = ["subscriber", "doc_type", "number", "status", "uploaded_at", "reviewed_by"]
    list_filter = ["status", "doc_type"]
    list_select_related = ["subscriber", "reviewed_by"]
    search_fields = ["=subscriber__username", "=number"]
    autocomplete_fields = ["subscriber"]
    readonly_fields = ["status", "note", "reviewed_by", "reviewed_at", "uploaded_at"]
    actions_detail = ["verify", "reject"]
    actions_row = ["verify", "reject"]
    show_facets = admin.ShowFacets.NEVER

    def has_review_permission(self, request, object_id=None):
        return request.user.has_perm("subscribers.change_kycdocument") and self._has_scope(request)

    def get_readonly_fields(self, request, obj=None):
        fixed = list(self.readonly_fields)
        return [*fixed, "subscriber"] if obj is not None else fixed

    @scoped_object
    @action(description="Verify", icon="verified", permissions=["review"],
            dialog=dialog("Verify document", forms.NoteDialog, submit="Verify"))
    def verify(self, request, form, object_id):
        return run_service(self, request, object_id, lambda d: services.verify_document(
            d, actor=request.user, note=form.cleaned_data["note"]), "{obj} verified.")

    @scoped_object
    @action(description="Reject", icon="cancel", permissions=["review"],
            dialog=dialog("Reject document", forms.RequiredNoteDialog, submit="Reject"))
    def reject(self, request, form, object_id):
        return run_service(self, request, object_id, lambda d: services.reject_document(
            d, actor=request.user, note=form.cleaned_data["note"]), "{obj} rejected.")


@admin.register(StatusChange)
class StatusChangeAdmin(ScopedModelAdmin):
    """The lifecycle audit: read-only for everyone."""

    scope_field = "subscriber__organization"
    list_display = ["created_at", "subscriber", "action", "from_status", "to_status", "actor",
                    "reason"]
    list_filter = ["action", "to_status"]
    list_select_related = ["subscriber", "actor"]
    search_fields = ["=subscriber__username"]
    show_facets = admin.ShowFacets.NEVER

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        return IdsFirstPaginator(queryset, per_page, orphans=orphans,
                                 allow_empty_first_page=allow_empty_first_page,
                                 current_page=page_from_request(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

