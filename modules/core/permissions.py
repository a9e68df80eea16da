"""Operator-facing permission names (`subscribers.view`, `payments.create`, ...)."""

from django.contrib.auth.models import Permission
from django.utils.text import slugify

_ACTIONS = {"view": "view", "add": "create", "change": "edit", "delete": "delete"}


def operator_name(permission: Permission) -> str:
    model = permission.content_type.model_class()
    if model is None:
        return f"{permission.content_type.app_label}.{permission.codename}"
    noun = slugify(str(model._meta.verbose_name_plural))
    verb, _, rest = permission.codename.partition("_")
    if rest == model._meta.model_name:
        return f"{noun}.{_ACTIONS.get(verb, verb)}"
    return f"{noun}.{permission.codename.replace('_', '-')}"


def permission_for(operator: str) -> Permission | None:
    """Reverse lookup, used by role fixtures: "subscribers.view" -> the Permission row."""
    for perm in Permission.objects.select_related("content_type"):
        if operator_name(perm) == operator:
            return perm
    return None


def permissions_for(names: list[str]) -> list[Permission]:
    wanted = set(names)
    found = [
        p for p in Permission.objects.select_related("content_type") if operator_name(p) in wanted
    ]
    missing = wanted - {operator_name(p) for p in found}
    if missing:
        raise LookupError(f"Unknown permissions: {', '.join(sorted(missing))}")
    return found
