"""Base classes every admin in the portal uses, so scope is applied once and everywhere.

Django's admin permission hooks ignore the object, and form choices, filter choices and
lookups are not narrowed by `get_queryset`. `ScopedAdminMixin` closes each of those gaps.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.filters import RelatedFieldListFilter
from django.db import models
from django.http import Http404
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.admin import StackedInline as UnfoldStackedInline
from unfold.admin import TabularInline as UnfoldTabularInline

from modules.core import scope
from modules.core.models import Organization


class Scope:
    ORGANIZATION = "organization"  # rows owned by an organization node; subtree rule
    TENANT = "tenant"  # tenant-level rows; only ISP-level users of that tenant
    GLOBAL = "global"  # deployment-wide rows; only ISP-level users and platform operators
    PLATFORM = "platform"  # the platform operator's own rows (tenants); superusers only


def scoped_queryset(model, request, qs=None):
    """The rows of `model` the request's user may see, using its registered admin's scope."""
    model_admin = admin.site._registry.get(model)
    if isinstance(model_admin, ScopedAdminMixin):
        return model_admin.scope_queryset(
            request, qs if qs is not None else model._default_manager.all()
        )
    qs = qs if qs is not None else model._default_manager.all()
    if model is Organization:
        return scope.restrict_to_scope(qs, request.user, "")
    if any(f.name == "organization" for f in model._meta.get_fields()):
        return scope.restrict_to_scope(qs, request.user, "organization")
    return qs


class ScopedRelatedFilter(RelatedFieldListFilter):
    """Related-field filter whose choices come from the user's scope only."""

    def field_choices(self, field, request, model_admin):
        related = field.remote_field.model
        ordering = self.field_admin_ordering(field, request, model_admin)
        qs = scoped_queryset(related, request)
        if ordering:
            qs = qs.order_by(*ordering)
        return [(obj.pk, str(obj)) for obj in qs[:500]]


class ScopedAdminMixin:
    """Applies organization or tenant scope to querysets, objects, choices, filters and lookups."""

    scope_kind: str = Scope.ORGANIZATION
    scope_field: str = "organization"  # lookup path to Organization (or Tenant for TENANT kind)

    # Querysets -----------------------------------------------------------------------------
    def scope_queryset(self, request, qs):
        user = request.user
        if self.scope_kind == Scope.ORGANIZATION:
            return scope.restrict_to_scope(qs, user, self.scope_field)
        if self.scope_kind == Scope.TENANT:
            return scope.restrict_to_tenant(qs, user, self.scope_field)
        if self.scope_kind == Scope.PLATFORM:
            return qs if user.is_superuser else qs.none()
        return qs if (user.is_superuser or scope.has_root_scope(user)) else qs.none()

    def get_queryset(self, request):
        return self.scope_queryset(request, super().get_queryset(request))

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # get_queryset is scoped: another branch's object is "not found", like a missing one,
        # so ids of other tenants and partners cannot be probed.
        raise Http404("Not found.")

    def get_scoped_object_or_404(self, request, object_id):
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("Not found.")
        return obj

    # Permissions ---------------------------------------------------------------------------
    def _has_scope(self, request, obj=None) -> bool:
        user = request.user
        if self.scope_kind == Scope.ORGANIZATION:
            if not scope.scope_roots(user):
                return False
        elif self.scope_kind == Scope.PLATFORM:
            if not user.is_superuser:
                return False
        elif not (user.is_superuser or scope.has_root_scope(user)):
            return False
        if obj is None:
            return True
        cache = request.__dict__.setdefault("_scope_checked", {})
        key = (obj._meta.label, obj.pk)
        if key not in cache:
            base = self.model._default_manager.filter(pk=obj.pk)
            cache[key] = self.scope_queryset(request, base).exists()
        return cache[key]

    def has_module_permission(self, request):
        return super().has_module_permission(request) and self._has_scope(request)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._has_scope(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._has_scope(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._has_scope(request, obj)

    def has_add_permission(self, request, *args):
        return super().has_add_permission(request, *args) and self._has_scope(request)

    # Form choices --------------------------------------------------------------------------
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scoped_queryset(db_field.remote_field.model, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scoped_queryset(db_field.remote_field.model, request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        org_field = form.base_fields.get("organization")
        if org_field is not None and not change and request.user.organization_id:
            org_field.initial = request.user.organization_id
        return form

    # Filters -------------------------------------------------------------------------------
    def get_list_filter(self, request):
        converted = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and "__" not in item:
                try:
                    field = self.model._meta.get_field(item)
                except Exception:
                    field = None
                if isinstance(field, models.ForeignKey | models.ManyToManyField):
                    item = (item, ScopedRelatedFilter)
            converted.append(item)
        return converted


class ScopedModelAdmin(ScopedAdminMixin, UnfoldModelAdmin):
    """The portal's admin base: scope plus list defaults that hold at a million rows."""

    show_full_result_count = False
    list_per_page = 50
    warn_unsaved_form = True
    compressed_fields = True


class ScopedInlineMixin:
    """Inline rows and their choices follow the parent's scope."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scoped_queryset(db_field.remote_field.model, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedTabularInline(ScopedInlineMixin, UnfoldTabularInline):
    pass


class ScopedStackedInline(ScopedInlineMixin, UnfoldStackedInline):
    pass
