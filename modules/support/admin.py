"""Support admin: tickets (with their conversation, files and history) and SLA settings.

Thin: every change goes through `services`; row and detail actions are POST dialogs whose
forms load the ticket through this admin's scoped queryset.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.decorators import action, display

from modules.core.admin_base import ScopedModelAdmin, ScopedTabularInline
from modules.subscribers.page_tabs import SubscriberPageInline, show_on_subscriber_page
from modules.support import selectors, services
from modules.support.admin_common import (
    ReadOnlyInline,
    TenantOwnedAdmin,
    optional_autocomplete,
    register_readonly,
    run,
)
from modules.support.forms import (
    AssignTicketForm,
    AttachmentUploadForm,
    TicketCommentForm,
    TicketStatusForm,
)
from modules.support.models import (
    BusinessHours,
    FieldVisit,
    Holiday,
    SlaPolicy,
    SupportNotification,
    SupportTeam,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketComment,
    TicketEvent,
)

STATUS_COLOURS = {"open": "info", "in_progress": "primary", "waiting": "warning",
                  "resolved": "success", "closed": "default"}
SLA_COLOURS = {"on track": "success", "met": "success", "paused": "info",
               "at risk": "warning", "breached": "danger"}
PRIORITY_COLOURS = {"low": "default", "normal": "info", "high": "warning", "urgent": "danger"}


# Settings ------------------------------------------------------------------------------------
@admin.register(TicketCategory)
class TicketCategoryAdmin(TenantOwnedAdmin):
    list_display = ["name", "needs_field_visit", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(TenantOwnedAdmin):
    """`/tickets/settings/sla` lands here."""

    list_display = ["name", "priority", "category", "first_response_minutes",
                    "resolution_minutes", "use_business_hours", "pause_while_waiting",
                    "escalation_role", "is_active"]
    list_filter = ["priority", "is_active"]
    list_select_related = ["category", "escalation_role"]
    search_fields = ["name"]
    fieldsets = (
        (None, {"fields": ("name", "priority", "category", "is_active")}),
        ("Targets (minutes)", {"fields": ("first_response_minutes", "resolution_minutes",
                                          "at_risk_percent")}),
        ("Clock", {"fields": ("use_business_hours", "pause_while_waiting")}),
        ("Escalation", {"fields": ("escalation_role",)}),
    )


@admin.register(BusinessHours)
class BusinessHoursAdmin(TenantOwnedAdmin):
    list_display = ["weekday", "opens_at", "closes_at"]
    list_filter = ["weekday"]


@admin.register(Holiday)
class HolidayAdmin(TenantOwnedAdmin):
    list_display = ["date", "name"]
    search_fields = ["name"]
    date_hierarchy = "date"


@admin.register(SupportTeam)
class SupportTeamAdmin(ScopedModelAdmin):
    list_display = ["name", "organization", "member_count", "is_active"]
    list_filter = ["is_active", "organization"]
    list_select_related = ["organization"]
    search_fields = ["name"]
    autocomplete_fields = ["members"]

    @display(description="Members")
    def member_count(self, obj):
        return obj.members.count()


# Ticket inlines ------------------------------------------------------------------------------
class CommentInline(ReadOnlyInline, ScopedTabularInline):
    model = TicketComment
    fields = ["created_at", "author", "visibility", "body"]
    readonly_fields = fields
    tab = True
    verbose_name_plural = "conversation"


class AttachmentInline(ScopedTabularInline):
    model = TicketAttachment
    form = AttachmentUploadForm
    fields = ["file", "download", "size_display", "uploaded_by", "uploaded_at"]
    readonly_fields = ["download", "size_display", "uploaded_by", "uploaded_at"]
    extra = 0
    can_delete = False
    tab = True

    def get_fields(self, request, obj=None):
        return self.fields

    def has_change_permission(self, request, obj=None):
        return False  # files are added, never replaced

    @display(description="File")
    def download(self, obj):
        if not obj.pk:
            return ""
        url = reverse("support:attachment", args=[obj.pk])
        return format_html('<a href="{}" class="text-primary-600">{}</a>', url, obj.original_name)

    @display(description="Size")
    def size_display(self, obj):
        from django.template.defaultfilters import filesizeformat

        return filesizeformat(obj.size) if obj.pk else ""


class EventInline(ReadOnlyInline, ScopedTabularInline):
    model = TicketEvent
    fields = ["created_at", "kind", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields
    tab = True
    verbose_name_plural = "history"


class VisitInline(ReadOnlyInline, ScopedTabularInline):
    model = FieldVisit
    fields = ["visit_link", "technician", "scheduled_at", "status", "outcome_notes"]
    readonly_fields = fields
    tab = True

    @display(description="Visit")
    def visit_link(self, obj):
        url = reverse("admin:support_fieldvisit_change", args=[obj.pk])
        return format_html('<a href="{}" class="text-primary-600">{}</a>', url, obj)


# Tickets ---------------------------------------------------------------------------------------
class TicketForm(forms.ModelForm):
    class Meta:
        model = Ticket
        fields = ["subscriber", "customer_name", "customer_phone", "customer_email",
                  "organization", "channel", "category", "priority", "summary", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "organization" in self.fields:  # a subscriber's ticket takes its organization
            self.fields["organization"].required = False
            self.fields["organization"].help_text = "For a customer who is not a subscriber."

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("subscriber") and not cleaned.get(
                "customer_name", "").strip():
            raise ValidationError("Pick a subscriber or enter the customer's name.")
        return cleaned


@admin.register(Ticket)
class TicketAdmin(ScopedModelAdmin):
    form = TicketForm
    list_display = ["reference_display", "summary", "customer_display", "status_badge",
                    "priority_badge", "assignee", "team", "sla_badge", "resolution_due_at",
                    "created_at"]
    list_display_links = ["reference_display", "summary"]
    list_filter = ["status", "priority", "category", "team", "organization"]
    list_select_related = ["subscriber", "assignee", "team", "category", "sla_policy"]
    search_fields = ["summary", "customer_name", "customer_phone", "subscriber__username",
                     "subscriber__name", "subscriber__mobile"]
    raw_id_fields = ["subscriber"]
    ordering = ["-created_at", "-id"]
    inlines = [CommentInline, AttachmentInline, EventInline, VisitInline]
    actions_row = ["assign_action", "status_action", "comment_action"]
    actions_detail = ["assign_action", "status_action", "comment_action", "visit_action"]

    # Forms -------------------------------------------------------------------------------
    def get_autocomplete_fields(self, request):
        return optional_autocomplete(Ticket, "subscriber")

    def get_fieldsets(self, request, obj=None):
        about = ("category", "priority", "summary", "description")
        if obj is None:
            return (
                ("Customer", {"fields": ("subscriber", "customer_name", "customer_phone",
                                         "customer_email", "organization", "channel")}),
                ("Issue", {"fields": about}),
            )
        return (
            ("Issue", {"fields": about}),
            ("Customer", {"fields": ("customer_display", "organization", "channel")}),
            ("Work", {"fields": ("status", "blocker", "assignee", "team", "created_by",
                                 "created_at")}),
            ("SLA", {"fields": ("sla_policy", "sla_badge", "first_response_due_at",
                                "first_responded_at", "resolution_due_at", "resolved_at",
                                "closed_at")}),
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["customer_display", "organization", "channel", "status", "blocker", "assignee",
                "team", "created_by", "created_at", "sla_policy", "sla_badge",
                "first_response_due_at", "first_responded_at", "resolution_due_at",
                "resolved_at", "closed_at"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.update_details(obj, actor=request.user, summary=data["summary"],
                                    description=data["description"], category=data["category"],
                                    priority=data["priority"])
            return
        ticket = services.open_ticket(
            actor=request.user, subscriber=data.get("subscriber"),
            customer_name=data.get("customer_name", ""),
            customer_phone=data.get("customer_phone", ""),
            customer_email=data.get("customer_email", ""),
            organization=data.get("organization"), category=data.get("category"),
            priority=data["priority"], summary=data["summary"],
            description=data.get("description", ""), channel=data["channel"],
        )
        obj.pk, obj._state.adding = ticket.pk, False

    def save_formset(self, request, form, formset, change):
        if formset.model is not TicketAttachment:
            formset.save()  # read-only inlines: nothing to write
            return
        added = []
        for row in formset.forms:
            upload = row.cleaned_data.get("file") if row.has_changed() else None
            if upload and not row.instance.pk:
                added.append(services.add_attachment(form.instance, actor=request.user,
                                                     upload=upload))
        # What the admin's change message reads.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = added, [], []

    def get_search_results(self, request, queryset, search_term):
        match = re.fullmatch(r"\s*[Tt]-?0*(\d{1,12})\s*", search_term or "")
        if match:
            return queryset.filter(pk=int(match.group(1))), False
        return super().get_search_results(request, queryset, search_term)

    # Display -----------------------------------------------------------------------------
    @display(description="Ticket", ordering="pk")
    def reference_display(self, obj):
        return obj.reference

    @display(description="Customer")
    def customer_display(self, obj):
        return obj.customer

    @display(description="Status", ordering="status", label=STATUS_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description="Priority", ordering="priority", label=PRIORITY_COLOURS)
    def priority_badge(self, obj):
        return obj.priority, obj.get_priority_display()

    @display(description="SLA", label=SLA_COLOURS)
    def sla_badge(self, obj):
        state = selectors.sla_state(obj, self._now()).replace("_", " ")
        return state or "—"

    def _now(self):
        return timezone.now()

    # Actions -----------------------------------------------------------------------------
    # Unfold passes no object (row actions) or a raw id (detail actions) to these checks; the
    # dialog form then loads the ticket through the scoped queryset ("not found" outside it).
    def _may(self, request, perm: str) -> bool:
        return request.user.has_perm(perm) and self._has_scope(request)

    def has_assign_permission(self, request, object_id=None):
        return self._may(request, "support.assign_ticket")

    def has_work_permission(self, request, object_id=None):
        return self._may(request, "support.change_ticket")

    def has_schedule_visit_permission(self, request, object_id=None):
        return self._may(request, "support.add_fieldvisit")

    def _ticket_url(self, obj):
        return reverse("admin:support_ticket_change", args=[obj.pk])

    @action(description="Assign", icon="person_add", url_path="assign",
            permissions=["assign"],
            dialog={"title": "Assign ticket", "form_class": AssignTicketForm,
                    "form_submit_text": "Assign"})
    def assign_action(self, request, form, object_id):
        data = form.cleaned_data
        return run(request, self._ticket_url(form.obj), lambda: services.assign(
            form.obj, actor=request.user, assignee=data["assignee"], team=data["team"],
            note=data["note"]), f"{form.obj.reference} assigned.")

    @action(description="Change status", icon="swap_horiz", url_path="status",
            permissions=["work"],
            dialog={"title": "Change status", "form_class": TicketStatusForm,
                    "form_submit_text": "Change status"})
    def status_action(self, request, form, object_id):
        data = form.cleaned_data
        return run(request, self._ticket_url(form.obj), lambda: services.transition(
            form.obj, data["status"], actor=request.user, blocker=data["blocker"],
            note=data["note"]), f"{form.obj.reference}: {Ticket.Status(data['status']).label}.")

    @action(description="Add comment", icon="add_comment", url_path="comment",
            permissions=["work"],
            dialog={"title": "Add comment", "form_class": TicketCommentForm,
                    "form_submit_text": "Add"})
    def comment_action(self, request, form, object_id):
        data = form.cleaned_data
        return run(request, self._ticket_url(form.obj), lambda: services.add_comment(
            form.obj, actor=request.user, body=data["body"], visibility=data["visibility"]),
            "Comment added.")

    @action(description="Schedule field visit", icon="engineering", url_path="visit",
            permissions=["schedule_visit"])
    def visit_action(self, request, object_id):
        """Opens the visit form prefilled from the ticket (a GET that only shows a form)."""
        from django.shortcuts import redirect

        ticket = self.get_scoped_object_or_404(request, object_id)
        url = reverse("admin:support_fieldvisit_add")
        return redirect(f"{url}?ticket={ticket.pk}")


class SubscriberTicketInline(SubscriberPageInline):
    """The subscriber's tickets, for the Tickets tab of an existing subscriber's page."""

    model = Ticket
    fk_name = "subscriber"
    fields = ["summary", "status", "priority", "assignee", "created_at"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "tickets"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("assignee")


show_on_subscriber_page(SubscriberTicketInline)


# Records written by services only ------------------------------------------------------------
register_readonly(
    TicketComment, scope_field="ticket__organization",
    list_display=["ticket", "visibility", "author", "created_at"],
    list_filter=["visibility"], list_select_related=["ticket", "author"],
)
register_readonly(
    TicketAttachment, scope_field="ticket__organization",
    list_display=["original_name", "ticket", "content_type", "size", "uploaded_by", "uploaded_at"],
    list_select_related=["ticket", "uploaded_by"], exclude=["file"],
)
register_readonly(
    TicketEvent, scope_field="ticket__organization",
    list_display=["ticket", "kind", "from_status", "to_status", "actor", "created_at"],
    list_filter=["kind"], list_select_related=["ticket", "actor"],
)
register_readonly(
    SupportNotification,
    list_display=["event", "recipient", "ticket", "created_at", "sent_at", "attempts",
                  "last_error"],
    list_filter=["event"], list_select_related=["recipient", "ticket"],
)

from modules.support import admin_visits  # noqa: E402,F401  (field visits)
