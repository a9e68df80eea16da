"""Writes for support: every rule about tickets, SLA clocks and field visits lives here.

Each function takes the acting portal user as `actor` (None for system jobs and self-care),
refuses an actor without scope on the ticket's or visit's organization with
`PermissionDenied`, refuses a broken rule with a `SupportError` carrying a clear message, runs
in one transaction and records the ticket's history.
"""

from modules.support.services.attachments import add_attachment, validate_attachment
from modules.support.services.common import (
    AttachmentRefused,
    SupportError,
    TransitionError,
    VisitError,
    notify,
)
from modules.support.services.sla import apply_sla, check_sla
from modules.support.services.tickets import (
    TRANSITIONS,
    add_comment,
    allowed_transitions,
    assign,
    open_ticket,
    transition,
    update_details,
)
from modules.support.services.visits import (
    add_material,
    complete_visit,
    fail_visit,
    remove_material,
    schedule_visit,
    start_visit,
    update_visit,
)

__all__ = [
    "TRANSITIONS", "AttachmentRefused", "SupportError", "TransitionError", "VisitError",
    "add_attachment", "add_comment", "add_material", "allowed_transitions", "apply_sla", "assign",
    "check_sla", "complete_visit", "fail_visit", "notify", "open_ticket", "remove_material",
    "schedule_visit", "start_visit", "transition", "update_details", "update_visit",
    "validate_attachment",
]
