"""Models whose changes appear in the audit trail (who, what, when, from which address).

High-volume append-only tables (accounting, auth log, ledger, stock journal) are not audited
here: they are their own history.
"""

from auditlog.registry import auditlog
from django.apps import apps

AUDITED = {
    "core.Tenant": {},
    "core.TenantDomain": {},
    "core.Organization": {"exclude_fields": ["path", "depth", "numchild"]},
    "core.User": {"exclude_fields": ["password", "last_login"], "m2m_fields": {"roles"}},
    "core.Role": {"m2m_fields": {"permissions"}},
    "settings_hub.GeneralSettings": {},
    "settings_hub.SecuritySettings": {},
    "settings_hub.NotificationSettings": {"mask_fields": ["smtp_password", "sms_api_key"]},
    "settings_hub.NotificationTemplate": {},
    "plans.TaxClass": {},
    "plans.Plan": {},
    "plans.PlanAttribute": {},
    "subscribers.Subscriber": {"exclude_fields": ["password_encrypted"]},
    "subscribers.KycDocument": {},
    "billing.BillingSettings": {},
    "billing.PaymentGateway": {"exclude_fields": ["key_secret_encrypted",
                                                  "webhook_secret_encrypted"]},
    "networking.NasDevice": {"mask_fields": ["secret"]},
    "networking.Ipv4Pool": {},
    "networking.Ipv6Pool": {},
    "inventory.Product": {},
    "inventory.Warehouse": {},
    "support.TicketCategory": {},
    "support.SupportTeam": {},
    "support.SlaPolicy": {},
    "support.BusinessHours": {},
    "support.Holiday": {},
    "support.Ticket": {},
    "support.FieldVisit": {},
    "selfcare.PortalSettings": {},
    "partners.Partner": {},
    "partners.PlanShare": {},
    "partners.CommissionTemplate": {},
    "partners.TopUpRequest": {},
    "partners.Settlement": {},
}


def register_audited_models(extra: dict | None = None) -> None:
    for label, options in {**AUDITED, **(extra or {})}.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        if not auditlog.contains(model):
            auditlog.register(model, **options)
