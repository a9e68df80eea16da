"""Support pages outside the admin's own URLs: the entry URLs operators know (SLA settings,
field visits) and attachment downloads."""

from django.contrib import admin
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from django.views.generic import RedirectView

from modules.support.models import Ticket, TicketAttachment

URL_PREFIX = ""  # two entry URLs: /tickets/... and /field-visits/index
app_name = "support"


def _download(request, pk: int):
    """An attachment, only for users who may view its ticket (else "not found")."""
    ticket_admin = admin.site._registry[Ticket]
    tickets = ticket_admin.get_queryset(request)
    attachment = get_object_or_404(
        TicketAttachment.objects.select_related("ticket").filter(ticket__in=tickets), pk=pk)
    if not ticket_admin.has_view_permission(request, attachment.ticket):
        raise Http404("Not found.")
    return FileResponse(attachment.file.open("rb"), as_attachment=True,
                        filename=attachment.original_name, content_type=attachment.content_type)


urlpatterns = [
    path("tickets/settings/sla",
         RedirectView.as_view(pattern_name="admin:support_slapolicy_changelist"),
         name="sla-settings"),
    path("tickets/attachments/<int:pk>", admin.site.admin_view(_download), name="attachment"),
    path("field-visits/index",
         RedirectView.as_view(pattern_name="admin:support_fieldvisit_changelist"),
         name="field-visits"),
]
