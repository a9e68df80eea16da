"""Dialog forms of the ticket and field-visit row actions, and the attachment upload form.

Each dialog form loads its object through the registered admin's scoped queryset, so an
object outside the user's scope is "not found" even when only the dialog is requested.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from unfold.forms import BaseDialogForm
from unfold.widgets import (
    UnfoldAdminSelectWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
)

from modules.core import scope
from modules.core.models import User
from modules.support import services
from modules.support.models import FieldVisit, SupportTeam, Ticket, TicketAttachment, TicketComment


def _ancestor_paths(org) -> list[str]:
    step = len(org.path) // org.depth
    return [org.path[: step * i] for i in range(1, org.depth + 1)]


class ScopedDialogForm(BaseDialogForm):
    model = None

    def __init__(self, request, object_id=None, *args, **kwargs):
        super().__init__(request, object_id, *args, **kwargs)
        model_admin = admin.site._registry[self.model]
        self.obj = model_admin.get_scoped_object_or_404(request, object_id)


class AssignTicketForm(ScopedDialogForm):
    model = Ticket
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False,
                                      widget=UnfoldAdminSelectWidget, label="Employee")
    team = forms.ModelChoiceField(queryset=SupportTeam.objects.none(), required=False,
                                  widget=UnfoldAdminSelectWidget)
    note = forms.CharField(required=False, max_length=200, widget=UnfoldAdminTextInputWidget)

    def __init__(self, request, object_id=None, *args, **kwargs):
        super().__init__(request, object_id, *args, **kwargs)
        org = self.obj.organization
        # People and teams whose reach covers the ticket, among those the user itself sees.
        reach = {"organization__tenant_id": org.tenant_id,
                 "organization__path__in": _ancestor_paths(org)}
        users = User.objects.filter(is_active=True, **reach).order_by("first_name", "username")
        teams = SupportTeam.objects.filter(is_active=True, **reach)
        user = request.user
        self.fields["assignee"].queryset = scope.restrict_to_scope(users, user, "organization")
        self.fields["team"].queryset = scope.restrict_to_scope(teams, user, "organization")
        self.fields["assignee"].initial = self.obj.assignee_id
        self.fields["team"].initial = self.obj.team_id

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("assignee") and not cleaned.get("team"):
            raise ValidationError("Pick an employee or a team.")
        return cleaned


class TicketStatusForm(ScopedDialogForm):
    model = Ticket
    status = forms.ChoiceField(choices=(), widget=UnfoldAdminSelectWidget, label="New status")
    blocker = forms.CharField(required=False, max_length=255, widget=UnfoldAdminTextInputWidget,
                              help_text="Needed for Waiting: what the ticket waits on.")
    note = forms.CharField(required=False, max_length=300, widget=UnfoldAdminTextareaWidget)

    def __init__(self, request, object_id=None, *args, **kwargs):
        super().__init__(request, object_id, *args, **kwargs)
        labels = dict(Ticket.Status.choices)
        self.fields["status"].choices = [
            (s, "Reopen" if s == Ticket.Status.OPEN else labels[s])
            for s in services.allowed_transitions(self.obj)
        ]

    def clean(self):
        cleaned = super().clean()
        waiting = cleaned.get("status") == Ticket.Status.WAITING
        if waiting and not cleaned.get("blocker", "").strip():
            raise ValidationError({"blocker": "Say what the ticket is waiting on."})
        return cleaned


class TicketCommentForm(ScopedDialogForm):
    model = Ticket
    visibility = forms.ChoiceField(choices=TicketComment.Visibility.choices,
                                   widget=UnfoldAdminSelectWidget)
    body = forms.CharField(widget=UnfoldAdminTextareaWidget, label="Comment")


class VisitConfirmForm(ScopedDialogForm):
    model = FieldVisit


class VisitOutcomeForm(ScopedDialogForm):
    model = FieldVisit
    outcome_notes = forms.CharField(widget=UnfoldAdminTextareaWidget, required=False,
                                    label="Outcome")


class VisitFailureForm(VisitOutcomeForm):
    def clean_outcome_notes(self):
        notes = self.cleaned_data["outcome_notes"].strip()
        if not notes:
            raise ValidationError("Say why the visit failed.")
        return notes


class AttachmentUploadForm(forms.ModelForm):
    """Inline upload row: refusals (size, type, content) come from the service's validator."""

    class Meta:
        model = TicketAttachment
        fields = ["file"]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and hasattr(upload, "size") and not self.instance.pk:
            try:
                services.validate_attachment(upload)
            except services.AttachmentRefused as refused:
                raise ValidationError(str(refused)) from refused
        return upload
