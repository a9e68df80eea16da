"""`/settings/index`: the settings hub, one card per section the user may open."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from modules.core.navigation import Item, resolve_item

SECTIONS = (
    (Item("settings_hub.generalsettings", "General", "apartment"),
     "Company profile, time zone, currency, formats, support contacts."),
    (Item("billing.billingsettings", "Billing Engine", "receipt_long"),
     "Invoice mode, tax, wallet behaviour, renewal rules, late fees."),
    (Item("selfcare.portalsettings", "Subscriber Portal", "smartphone"),
     "What subscribers can see and do in self-care."),
    (Item("settings_hub.securitysettings", "Security", "lock"),
     "Password policy, sign-in lockout, session timeout."),
    (Item("settings_hub.notificationsettings", "Notifications", "notifications"),
     "Email and SMS channels."),
    (Item("settings_hub.notificationtemplate", "Notification templates", "mail"),
     "Message templates per event and channel."),
    (Item("core.role", "Roles and permissions", "shield_person"),
     "Named permission sets for employees and partners."),
    (Item("core.user", "Staff users", "manage_accounts"), "Admins, employees and partner users."),
    (Item("core.tenantdomain", "Domains", "language"), "Host names that open this portal."),
    (Item("auditlog.logentry", "Audit trail", "history"), "Who changed what, when, from where."),
    (Item("django_celery_beat.periodictask", "Scheduled jobs", "schedule"),
     "Renewals, expiries, reminders and other periodic work."),
    (Item("axes.accessattempt", "Sign-in lockouts", "block"), "Accounts locked after failures."),
)


def visible_sections(request) -> list[dict]:
    sections = []
    for item, description in SECTIONS:
        entry = resolve_item(item, request)
        if entry:
            sections.append({**entry, "description": description})
    return sections


def settings_index(request):
    def view(request):
        sections = visible_sections(request)
        if not sections:
            raise PermissionDenied
        context = {**admin.site.each_context(request), "title": "Settings", "sections": sections}
        return TemplateResponse(request, "settings_hub/index.html", context)

    return admin.site.admin_view(view)(request)
