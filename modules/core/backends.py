"""Sign-in and permissions for portal users.

Permissions come from the user's roles (not Django groups), so a role is a per-tenant,
operator-named permission set. Object scope is handled by `modules.core.scope`.
"""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission


class PortalBackend(ModelBackend):
    def _get_group_permissions(self, user_obj):
        return Permission.objects.filter(roles__users=user_obj)

    def get_group_permissions(self, user_obj, obj=None):
        # Role permissions are global (model-level) permissions; object scope is separate.
        if obj is not None:
            return set()
        return self._get_permissions(user_obj, None, "group")

    def has_perm(self, user_obj, perm, obj=None):
        if obj is not None:
            return False
        return super().has_perm(user_obj, perm)
