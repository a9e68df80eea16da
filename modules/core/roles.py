"""The example roles every new ISP starts with, in operator-facing permission names.

A name ending in `.*` takes every permission of that noun. Names of modules that are not
installed are skipped, so the same table serves every installation.
"""

from __future__ import annotations

from django.contrib.auth.models import Permission

from modules.core.models import Role, Tenant
from modules.core.permissions import operator_name

EXAMPLE_ROLES: dict[str, tuple[str, list[str]]] = {
    "ISP Admin": ("Everything in the ISP.", ["*"]),
    "Billing Agent": ("Invoices, payments and billing reports.", [
        "invoices.view", "payments.view", "payments.create", "proformas.view", "credit-notes.view",
        "subscribers.view", "reports.view", "ledger-entries.view",
    ]),
    "Support Agent": ("Subscribers and tickets.", [
        "subscribers.view", "tickets.view", "tickets.create", "tickets.edit", "tickets.assign",
        "field-visits.view", "field-visits.create", "sessions.view", "auth-log-entries.view",
    ]),
    "NOC": ("Network devices, pools, sessions and RADIUS logs.", [
        "nas-devices.*", "ipv4-pools.*", "ipv6-pools.*", "sessions.view", "sessions.disconnect",
        "auth-log-entries.view", "daily-usage.view", "subscribers.view", "reports.view",
    ]),
    "Technician": ("Field visits and own stock.", [
        "field-visits.view", "field-visits.edit", "tickets.view", "stock-levels.view",
        "serial-units.view", "subscribers.view",
    ]),
    "Read Only": ("Sees every module, changes nothing.", ["*.view"]),
    "Partner Manager": ("Runs a partner: its subscribers, sub-partners, staff and money.", [
        "subscribers.*", "kyc-documents.*", "plans.view", "invoices.view", "payments.view",
        "payments.create", "proformas.view", "wallets.view", "partners.view",
        "partners.create", "partners.edit", "partner-wallets.view", "top-up-requests.*",
        "plan-shares.view", "plan-shares.create", "plan-shares.edit", "commissions.view",
        "tickets.*", "field-visits.*", "organizations.view", "organizations.create",
        "organizations.edit", "users.view", "users.create", "users.edit",
        "sessions.view", "auth-log-entries.view", "reports.view", "stock-levels.view",
        "settlements.view", "settlements.create", "subscribers.import", "subscribers.export",
    ]),
}


def _matches(name: str, pattern: str) -> bool:
    if pattern == "*":
        return True
    if pattern == "*.view":
        return name.endswith(".view")
    if pattern.endswith(".*"):
        return name.startswith(pattern[:-1])
    return name == pattern


def resolve(patterns: list[str]) -> list[Permission]:
    perms = Permission.objects.select_related("content_type")
    return [p for p in perms if any(_matches(operator_name(p), pat) for pat in patterns)]


def ensure_example_roles(tenant: Tenant) -> dict[str, Role]:
    """Create or refresh the example roles of `tenant` (idempotent)."""
    roles = {}
    for name, (description, patterns) in EXAMPLE_ROLES.items():
        role, _ = Role.objects.update_or_create(
            tenant=tenant, name=name, defaults={"description": description}
        )
        role.permissions.set(resolve(patterns))
        roles[name] = role
    return roles
