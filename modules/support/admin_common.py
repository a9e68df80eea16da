"""Shared pieces of the support admins: tenant-owned settings, read-only lists, dialog results."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect

from modules.core.admin_base import Scope, ScopedModelAdmin
from modules.support.services import SupportError


def finish(request, url: str) -> HttpResponse:
    """After a dialog action: htmx dialogs need HX-Redirect, plain posts a redirect."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def run(request, url: str, call, success: str) -> HttpResponse:
    """Run a service call from an action, turning its refusal into a message for the operator."""
    try:
        call()
    except SupportError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, success)
    return finish(request, url)


class TenantOwnedAdmin(ScopedModelAdmin):
    """Tenant-level support settings: ISP-level users only; new rows belong to their tenant."""

    scope_kind = Scope.TENANT
    scope_field = "tenant"
    exclude = ["tenant"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        tenant_id = obj.tenant_id if obj is not None else request.user.tenant_id

        class WithTenant(form):
            # `tenant` is not a form field, so Django skips the unique constraints that use
            # it; check them here instead of failing on save.
            def _post_clean(self):
                self.instance.tenant_id = tenant_id
                super()._post_clean()
                for constraint in self._meta.model._meta.constraints:
                    if "tenant" in getattr(constraint, "fields", ()):
                        try:
                            constraint.validate(self._meta.model, self.instance)
                        except ValidationError as error:
                            self.add_error(None, error)

        return WithTenant


class ReadOnlyAdmin(ScopedModelAdmin):
    """Records written only by services (history, outbox, comments): look, never edit here."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline:
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def optional_autocomplete(model, *fields: str) -> list[str]:
    """Fields whose related admin supports autocomplete (the others stay raw-id inputs)."""
    usable = []
    for name in fields:
        related = model._meta.get_field(name).remote_field.model
        related_admin = admin.site._registry.get(related)
        if related_admin is not None and related_admin.search_fields:
            usable.append(name)
    return usable


def register_readonly(model, **options):
    """Register a read-only, scoped admin for `model` with the given class attributes."""
    admin.site.register(model, type(f"{model.__name__}Admin", (ReadOnlyAdmin,), options))
