"""Tabs that other modules add to the subscriber's page (billing, usage, sessions, equipment,
tickets), so the subscribers module never imports the modules built on top of it.

A tab is a read-only inline of the module's own model with a foreign key to the subscriber; it
shows only to users allowed to view that model, and never on the add form.
"""

from __future__ import annotations

from modules.core.admin_base import ScopedTabularInline

_TABS: list[type] = []


class SubscriberPageInline(ScopedTabularInline):
    """Read-only rows on an existing subscriber's page (absent from the add form)."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    tab = True

    def has_view_permission(self, request, obj=None):
        adding = (getattr(request.resolver_match, "url_name", "") or "").endswith("_add")
        return not adding and super().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def show_on_subscriber_page(*inlines: type) -> None:
    """Add tabs to the subscriber's page, in the order modules register them (idempotent)."""
    _TABS.extend(inline for inline in inlines if inline not in _TABS)


def registered_tabs() -> list[type]:
    return list(_TABS)
