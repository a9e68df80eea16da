from auditlog.models import LogEntry
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from modules.core import scope, services
from modules.core.admin_base import Scope, ScopedModelAdmin
from modules.core.models import Organization, Role, Tenant, TenantDomain, User
from modules.core.permissions import operator_name

admin.site.index_title = "Dashboard"
admin.site.unregister(Group)
if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)


class OperatorPermissionField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{operator_name(obj)} — {obj.name}"


@admin.register(Tenant)
class TenantAdmin(ScopedModelAdmin):
    """Tenants are the platform operator's concern (superusers only)."""

    scope_kind = Scope.PLATFORM
    list_display = ["name", "slug", "is_active", "created_at"]
    search_fields = ["name", "slug"]

    def has_add_permission(self, request):
        return False  # new ISPs are created with services.create_tenant (root node included)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TenantDomain)
class TenantDomainAdmin(ScopedModelAdmin):
    scope_kind = Scope.TENANT
    scope_field = "tenant"
    list_display = ["domain", "tenant", "is_primary"]
    search_fields = ["domain"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tenant":
            kwargs["queryset"] = scope.restrict_to_tenant(Tenant.objects.all(), request.user, "")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OrganizationForm(forms.ModelForm):
    parent = forms.ModelChoiceField(queryset=Organization.objects.none(), required=True)

    class Meta:
        model = Organization
        fields = ["name", "code", "kind", "is_active"]


@admin.register(Organization)
class OrganizationAdmin(ScopedModelAdmin):
    scope_field = ""
    form = OrganizationForm
    list_display = ["indented_name", "code", "kind", "is_active", "depth"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code"]
    ordering = ["path"]

    @admin.display(description="Name", ordering="path")
    def indented_name(self, obj):
        return ("— " * (obj.depth - 1)) + obj.name

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            form.base_fields["parent"].queryset = scope.allowed_organizations(request.user)
            form.base_fields["parent"].initial = request.user.organization_id
        else:
            form.base_fields.pop("parent", None)
        return form

    def get_fields(self, request, obj=None):
        fields = ["name", "code", "kind", "is_active"]
        return (["parent", *fields]) if obj is None else fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        parent = form.cleaned_data["parent"]
        created = services.add_organization(parent, name=obj.name, code=obj.code, kind=obj.kind)
        obj.pk, obj.path, obj.depth = created.pk, created.path, created.depth

    def has_delete_permission(self, request, obj=None):
        # Organizations are deactivated, not deleted: their records must stay traceable.
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.depth == 1 and not scope.has_root_scope(request.user):
            return False
        return super().has_change_permission(request, obj)


class RoleForm(forms.ModelForm):
    permissions = OperatorPermissionField(
        queryset=Permission.objects.select_related("content_type").order_by(
            "content_type__app_label", "codename"
        ),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Role
        fields = ["name", "description", "permissions"]


@admin.register(Role)
class RoleAdmin(ScopedModelAdmin):
    scope_kind = Scope.TENANT
    scope_field = "tenant"
    form = RoleForm
    list_display = ["name", "description", "permission_count"]
    search_fields = ["name"]

    @admin.display(description="Permissions")
    def permission_count(self, obj):
        return obj.permissions.count()

    def save_model(self, request, obj, form, change):
        if not change:
            obj.tenant_id = request.user.organization.tenant_id
        obj.save()


class PortalUserMixin(forms.ModelForm):
    scope_grants = forms.ModelMultipleChoiceField(
        queryset=Organization.objects.none(),
        required=False,
        help_text="Extra organization subtrees this user may act on, besides its home one.",
    )

    def clean(self):
        cleaned = super().clean()
        org = cleaned.get("organization")
        kind = cleaned.get("kind")
        if org is not None and kind == User.Kind.PARTNER and not org.is_partner:
            raise ValidationError(
                {"organization": "A partner user belongs to a partner organization."}
            )
        if org is not None and kind == User.Kind.ISP_ADMIN and org.depth != 1:
            raise ValidationError({"organization": "An ISP admin belongs to the ISP itself."})
        return cleaned


class PortalUserChangeForm(PortalUserMixin, UserChangeForm):
    pass


class PortalUserCreationForm(PortalUserMixin, UserCreationForm):
    pass


@admin.register(User)
class UserAdmin(ScopedModelAdmin, DjangoUserAdmin):
    form = PortalUserChangeForm
    add_form = PortalUserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ["username", "full_name", "kind", "organization", "is_active", "last_login"]
    list_filter = ["kind", "is_active", "organization"]
    list_select_related = ["organization"]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering = ["username"]
    filter_horizontal = []
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email", "phone")}),
        ("Access", {"fields": ("kind", "organization", "roles", "scope_grants", "is_active")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"fields": ("username", "password1", "password2")}),
        ("Access", {"fields": ("kind", "organization", "roles", "scope_grants", "email")}),
    )
    readonly_fields = ["last_login", "date_joined"]

    @admin.display(description="Name")
    def full_name(self, obj):
        return obj.get_full_name()

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "roles":
            kwargs["queryset"] = self._assignable_roles(request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _assignable_roles(self, request):
        """Roles of the user's tenant holding no permission the assigning user lacks."""
        user = request.user
        roles = Role.objects.filter(tenant_id__in=scope.scope_tenant_ids(user))
        if user.is_superuser:
            return roles
        own = [
            p
            for p in Permission.objects.select_related("content_type")
            if user.has_perm(f"{p.content_type.app_label}.{p.codename}")
        ]
        return roles.exclude(permissions__in=Permission.objects.exclude(pk__in=[p.pk for p in own]))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        grants = form.base_fields.get("scope_grants")
        if grants is not None:
            grants.queryset = scope.allowed_organizations(request.user)
            if obj is not None:
                grants.initial = list(
                    Organization.objects.filter(
                        organizationusergrant__user=obj,
                        organizationusergrant__permission__codename=scope.GRANT_CODENAME,
                    ).values_list("pk", flat=True)
                )
        return form

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        allowed = scope.allowed_organizations(request.user)
        keep_outside = Organization.objects.filter(
            organizationusergrant__user=form.instance,
            organizationusergrant__permission__codename=scope.GRANT_CODENAME,
        ).exclude(pk__in=allowed.values("pk"))
        services.set_scope_grants(
            form.instance, [*form.cleaned_data.get("scope_grants", []), *keep_outside]
        )

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if not request.user.is_superuser:
            qs = qs.filter(is_superuser=False)
        return qs

    def has_change_permission(self, request, obj=None):
        # Nobody edits their own roles or scope from this page (no self-escalation).
        if obj is not None and obj.pk == request.user.pk and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)


@admin.register(LogEntry)
class AuditTrailAdmin(ScopedModelAdmin):
    """Who changed what, when and from which address."""

    scope_field = "actor__organization"
    list_display = ["timestamp", "actor", "action", "content_type", "object_repr", "remote_addr"]
    list_filter = ["action", "content_type"]
    list_select_related = ["actor", "content_type"]
    search_fields = ["object_repr", "actor__username"]
    date_hierarchy = None
    readonly_fields = [f.name for f in LogEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


from modules.core import admin_platform  # noqa: E402,F401  (replaces third-party admins)
